"""How long work tells its caller how far it has come: a ``progress`` callback, never output.

Library functions that take long accept ``progress=None``, a callable
``progress(stage, done, total, **fields)``. A ``Stage`` calls it when the stage starts, at
most ten times a second while it runs (extra ``fields`` such as ``epoch="2/5"`` or
``alpha=0.0213`` ride along), and once more with ``final=True`` when the stage has finished
without an error. ``unit`` names what ``done`` and ``total`` count (``"words"``, ``"bytes"``,
``"records"``). What a human sees of it is the CLI's business (``cli/display.py``).
"""
import time


class Stage:
    """One stage of a job reported to ``progress`` (which may be None: then nothing is done)."""

    def __init__(self, progress, name, total, unit="words", interval=0.1):
        self.progress = progress
        self.name = name
        self.total = max(int(total), 0)
        self.unit = unit
        self.interval = interval
        self.done = 0
        self.fields = {}
        self._last = None

    def __enter__(self):
        self._call()
        return self

    def update(self, done, **fields):
        self.done = done
        self.fields.update(fields)
        if self.progress is None:
            return
        now = time.monotonic()
        if self._last is None or now - self._last >= self.interval:
            self._call()

    def _call(self, **extra):
        if self.progress is not None:
            self._last = time.monotonic()
            self.progress(self.name, self.done, self.total, unit=self.unit, **self.fields, **extra)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._call(final=True)
        return False
