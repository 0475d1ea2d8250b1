"""The ``staticvec`` command: parse options, call the library, render.

No algorithm lives here. One module per command group registers its commands on the typer
``app`` (``app.py``); ``main`` (``main.py``) is the one place that turns every outcome into
one stderr line and an exit code: 0 ok, 1 runtime error, 2 usage error, 3 unknown word,
4 gate failed (bias-audit), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""
# importing the command modules registers their commands, in the order --help lists them
from staticvec.cli import corpus  # noqa: F401,I001
from staticvec.cli import phrases  # noqa: F401
from staticvec.cli import train  # noqa: F401
from staticvec.cli import query  # noqa: F401
from staticvec.cli import evaluate  # noqa: F401
from staticvec.cli import bias  # noqa: F401
from staticvec.cli import cache  # noqa: F401
from staticvec.cli import convert  # noqa: F401
from staticvec.cli import embed  # noqa: F401
from staticvec.cli import store  # noqa: F401
from staticvec.cli import plot  # noqa: F401
from staticvec.cli.app import app
from staticvec.cli.main import main

__all__ = ["app", "main"]
