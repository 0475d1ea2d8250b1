"""Telling a human how long work is going to take, without polluting logs.

On a terminal: a rich progress bar on stderr. Anywhere else (cron, a pipe, a CI log): a
plain line every few seconds, never a carriage return. ``quiet=True``: nothing at all.
"""
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


def say(message, quiet=False):
    """One line for the human on stderr (summaries, warnings), unless quiet."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message):
    """A warning line on stderr; shown even with --quiet, since it is about the result."""
    print(f"staticvec: warning: {message}", file=sys.stderr, flush=True)
