"""What a human sees of a run: progress on stderr, and the library's log lines.

Progress: on a terminal, a rich progress bar on stderr; anywhere else (cron, a pipe, a CI log),
a plain line every few seconds, never a carriage return; with ``--quiet``, nothing at all.
``Display`` is the ``progress(stage, done, total, **fields)`` callback the commands hand to
the library (see ``staticvec/reporting.py``): one ``Progress`` per stage.

Log lines: the library logs on the ``staticvec`` logger; ``LOG_LINES`` (installed by ``main``)
prints INFO records as plain lines unless ``--quiet``, WARNING records as
``staticvec: warning: ...`` even with ``--quiet`` (they are about the result), nothing else.
"""
import contextlib
import logging
import sys
import time


def _rate(n):
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


def _duration(seconds):
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Progress of one job measured in ``unit`` (e.g. words) out of ``total``.

    ``update(done, **fields)`` takes the absolute amount done; extra fields such as
    ``epoch=2`` or ``alpha=0.0213`` are shown next to the rate.
    """

    def __init__(self, description, total, unit="words", quiet=False, stream=None,
                 interval=5.0, force_terminal=None):
        self.description = description
        self.total = max(int(total), 0)
        self.unit = unit
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        tty = force_terminal if force_terminal is not None else _isatty(self.stream)
        self.rich = tty and not quiet
        self._bar = None
        self._task = None
        self._start = None
        self._last_log = 0.0
        self.done = 0
        self.fields = {}

    def __enter__(self):
        self._start = time.monotonic()
        self._last_log = self._start
        if self.rich:
            from rich.console import Console
            from rich.progress import (BarColumn, Progress as RichProgress, TaskProgressColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total or None, info="")
        return self

    def elapsed(self):
        return time.monotonic() - self._start if self._start is not None else 0.0

    def rate(self):
        elapsed = self.elapsed()
        return self.done / elapsed if elapsed > 0 else 0.0

    def _info(self):
        parts = [f"{_rate(self.rate())} {self.unit}/s"]
        for key, value in self.fields.items():
            parts.append(f"{key} {value:.6g}" if isinstance(value, float) else f"{key} {value}")
        return "  ".join(parts)

    def update(self, done, **fields):
        self.done = done
        self.fields.update(fields)
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done, info=self._info())
            return
        now = time.monotonic()
        if now - self._last_log >= self.interval:
            self._last_log = now
            pct = f"{100.0 * done / self.total:5.1f}%  " if self.total else ""
            eta = ""
            if self.total and done:
                eta = f"  ETA {_duration((self.total - done) / max(self.rate(), 1e-9))}"
            self.log(f"{self.description}: {pct}{self._info()}{eta}")

    def log(self, message):
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def __exit__(self, exc_type, exc, tb):
        if self._bar is not None:
            if exc_type is None and self.total:
                self._bar.update(self._task, completed=self.total, info=self._info())
            self._bar.__exit__(exc_type, exc, tb)
        elif not self.quiet and exc_type is None and self.elapsed() >= self.interval:
            self.log(f"{self.description}: done in {_duration(self.elapsed())}, "
                     f"{_rate(self.rate())} {self.unit}/s")
        return False


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Display:
    """The progress callback of one command: a ``Progress`` per stage, shown on ``stream``
    (stderr) unless ``quiet``. A stage that ends without its final call (an error, Ctrl-C)
    is closed without a "done" line."""

    def __init__(self, quiet=False, stream=None, interval=5.0, force_terminal=None):
        self.quiet = quiet
        self.stream = stream
        self.interval = interval
        self.force_terminal = force_terminal
        self.stage = None
        self.bar = None

    def __call__(self, stage, done, total, unit="words", final=False, **fields):
        if self.quiet:
            return
        if self.bar is None or stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = Progress(stage, total, unit=unit, stream=self.stream,
                                interval=self.interval, force_terminal=self.force_terminal)
            self.bar.__enter__()
        self.bar.update(done, **fields)
        if final:
            bar, self.bar, self.stage = self.bar, None, None
            bar.__exit__(None, None, None)

    def close(self):
        """End the stage still shown, if any (it did not finish)."""
        if self.bar is not None:
            bar, self.bar, self.stage = self.bar, None, None
            bar.__exit__(RuntimeError, None, None)


class LogLines(logging.Handler):
    """The library's log records as today's stderr lines (see the module docstring)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.quiet = False

    def emit(self, record):
        if record.levelno == logging.INFO:
            if self.quiet:
                return
            line = record.getMessage()
        elif record.levelno == logging.WARNING:
            line = f"staticvec: warning: {record.getMessage()}"
        else:
            return
        # sys.stderr looked up now: a rich bar on screen has it redirected above the bar
        print(line, file=sys.stderr, flush=True)


LOG_LINES = LogLines()


def install_log_lines():
    """Send the ``staticvec`` logger's records to ``LOG_LINES`` only (main calls this once)."""
    logger = logging.getLogger("staticvec")
    if LOG_LINES not in logger.handlers:
        logger.addHandler(LOG_LINES)
    logger.setLevel(logging.INFO)
    logger.propagate = False


@contextlib.contextmanager
def reporting(quiet=False):
    """What a command shows while it runs: yields its progress callback (None with
    ``quiet``), and sets whether INFO lines are printed."""
    LOG_LINES.quiet = quiet
    display = Display(quiet)
    try:
        yield None if quiet else display
    finally:
        display.close()
