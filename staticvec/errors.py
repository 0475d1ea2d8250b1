"""The project's exception types. Each carries the exit code the CLI turns it into.

Library code raises these deep down with a message fit for one stderr line; only
``cli.main`` prints them, so the library stays usable (and testable) without the CLI.
"""

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_UNKNOWN_WORD = 3
EXIT_BIAS_GATE = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM killed


class StaticvecError(Exception):
    """A failure a user can act on; the message names the file/option/word at fault."""

    exit_code = EXIT_RUNTIME


class InputError(StaticvecError):
    """An input file is missing, unreadable, empty or badly encoded."""


class FormatError(InputError):
    """A vector/model/vocab file is damaged or not in the format it claims."""


class OutputError(StaticvecError):
    """An output cannot be written (no such folder, disk full, permission)."""


class KernelsMissing(StaticvecError, ImportError):
    """The compiled kernels are not there or do not load (a source tree never built, a
    wheel built without them). An ImportError too, so ``import staticvec`` fails as an import
    does, with one line that says how to rebuild."""

    def __init__(self, detail):
        super().__init__(f"the compiled kernels are missing or do not load ({detail}); rebuild "
                         f"them: 'make build' in a checkout, or 'pip install .'")


class ResourceError(StaticvecError):
    """The job would need more memory or disk than the machine has."""


class BadOptionError(StaticvecError):
    """An option value is out of range or inconsistent with another option."""

    exit_code = EXIT_USAGE


class UnknownWordError(StaticvecError, KeyError):
    """A query word is not in the model's vocabulary (and has no subwords to fall back on).

    Also a ``KeyError``, so ``v["word"]`` fails as a mapping (and gensim's KeyedVectors) does."""

    exit_code = EXIT_UNKNOWN_WORD

    def __init__(self, word, message=None):
        self.word = word
        super().__init__(message or f"unknown word: {word!r} is not in the model's vocabulary")

    def __str__(self):
        return Exception.__str__(self)  # the message as is, not KeyError's repr of it


class GateFailed(StaticvecError):
    """A check asked to gate a release (e.g. ``bias-audit --fail-above``) failed."""

    exit_code = EXIT_BIAS_GATE


class Interrupted(StaticvecError):
    """Ctrl-C / SIGINT: work stopped, temporary files removed, nothing written."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message="interrupted: stopped, no output written"):
        super().__init__(message)


class Terminated(Interrupted):
    """SIGTERM (``kill``, systemd, a cron timeout): stopped like Ctrl-C, exit 143."""

    exit_code = EXIT_TERMINATED

    def __init__(self, message="terminated: stopped, no output written"):
        super().__init__(message)


class SigTerm(KeyboardInterrupt):
    """Raised in the main thread by the CLI's SIGTERM handler. A KeyboardInterrupt, so that
    every path that stops workers and removes temporaries on Ctrl-C does so on SIGTERM too;
    ``cli.main`` reports it as ``Terminated``."""
