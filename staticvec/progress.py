"""Stderr lines from library code not yet converted to logging (io/, cli/bias.py).

Being retired: the library logs on the ``staticvec`` logger instead, and the CLI shows what
a human sees (``cli/display.py``).
"""
import sys


def say(message, quiet=False):
    """One line for the human on stderr (summaries, warnings), unless quiet."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message):
    """A warning line on stderr; shown even with --quiet, since it is about the result."""
    print(f"staticvec: warning: {message}", file=sys.stderr, flush=True)
