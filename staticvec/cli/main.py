"""The entry point: run the app, and turn every outcome into one stderr line and an exit code."""
import io
import os
import sys

try:  # typer >= 0.2x vendors its own click
    from typer._click import exceptions as _click_exceptions
    from typer.exceptions import Abort as _Abort, Exit as _Exit
except ImportError:  # older typer runs on click itself
    from click import exceptions as _click_exceptions
    from click.exceptions import Abort as _Abort, Exit as _Exit

from staticvec.atomic import describe_write_error
from staticvec.cli.app import _print_error, click_command
from staticvec.cli.display import install_log_lines
from staticvec.cli.migrants import first_migrant_hint
from staticvec.errors import (EXIT_USAGE, BadOptionError, Interrupted, OutputError, SigTerm,
                              StaticvecError, Terminated)


def _invoke(args):
    """Run the command line without click's own handling of Ctrl-C, EPIPE and exits, so
    that every outcome reaches ``main``'s one mapping."""
    command = click_command()
    # a shell asking for completions (the script --install-completion installed sets
    # _STATICVEC_COMPLETE): answer and exit, as typer's own entry point would
    command._main_shell_completion({}, "staticvec")
    try:
        with command.make_context("staticvec", args) as ctx:
            return command.invoke(ctx)
    except _Exit as exc:
        return exc.exit_code
    except _click_exceptions.NoArgsIsHelpError as exc:
        print(exc.format_message(), file=sys.stderr)
        return EXIT_USAGE


def main(argv=None):
    """Entry point: run the app, map every failure to one stderr line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("STATICVEC_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    _route_warnings(debug)
    install_log_lines()
    _terminate_like_ctrl_c()
    _guard_stdout()
    try:
        migrant = first_migrant_hint(args)
        if migrant:  # before click, which would misread -size as -s -i -z -e
            raise BadOptionError(migrant)
        code = _invoke(args)
        sys.stdout.flush()  # a full or closed stdout shows here at the latest
    except _click_exceptions.UsageError as exc:
        if debug:
            raise
        hint = f" (see 'staticvec {exc.ctx.command_path.removeprefix('staticvec ')} --help')" \
            if exc.ctx and exc.ctx.parent else " (see 'staticvec --help')"
        _print_error(f"{exc.format_message()}{hint}")
        code = EXIT_USAGE
    except (KeyboardInterrupt, _Abort) as exc:
        if debug:
            raise
        stopped = Terminated() if isinstance(exc, SigTerm) else Interrupted()
        _print_error(str(stopped))
        code = stopped.exit_code
    except _StdoutFailed as exc:
        if debug:
            raise
        _print_error(str(exc))
        _silence_stdout()  # what is still buffered must not fail again at exit
        code = exc.exit_code
    except StaticvecError as exc:
        if debug:
            raise
        _print_error(str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): it wanted no more, not an error worth a
        # line or a failing exit status (a pipeline's real failures are its reader's)
        _silence_stdout()
        code = 0
    except (MemoryError, OSError) as exc:
        if debug:
            raise
        code, message = failure(exc)
        _print_error(message)
    _terminate_like_ctrl_c(settled=True)
    try:
        sys.stdout.flush()
    except (OSError, _StdoutFailed):  # the failure that ended the run was reported already
        _silence_stdout()
    sys.exit(code if isinstance(code, int) else 0)


def failure(exc):
    """(exit code, error message) of an exception that ends a command, as ``main`` reports it
    (also for the --json-summary record of a failed run)."""
    if isinstance(exc, (KeyboardInterrupt, _Abort)):
        exc = Terminated() if isinstance(exc, SigTerm) else Interrupted()
    if isinstance(exc, StaticvecError):
        return exc.exit_code, str(exc)
    if isinstance(exc, MemoryError):
        return 1, "out of memory (try a smaller --dim, --max-size or --memory)"
    if isinstance(exc, OSError):
        return 1, f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
    return 1, f"{type(exc).__name__}: {exc}"


def _silence_stdout():
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _route_warnings(debug):
    """Python warnings (numpy's RuntimeWarning among them) go to the logging module, and are
    printed on stderr only with --debug: a pipeline's stderr holds error lines, not noise."""
    import logging

    logging.captureWarnings(True)
    logger = logging.getLogger("py.warnings")
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.StreamHandler(sys.stderr) if debug else logging.NullHandler())


def _terminate_like_ctrl_c(settled=False):
    """SIGTERM (kill, systemd, a timeout) stops the run as Ctrl-C does: SigTerm is a
    KeyboardInterrupt, so workers stop and temporaries go; main reports it, exit 143.
    ``settled``: the outcome is reported and the exit follows; a SIGTERM now changes nothing."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(_signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut cleanup short
        raise SigTerm()

    signal.signal(signal.SIGTERM, signal.SIG_IGN if settled else handler)


class _StdoutFailed(OutputError):
    """A write to stdout failed for another reason than a reader that went away."""


class _StdoutFile(io.FileIO):
    """File descriptor 1 under sys.stdout: a failed write is one error naming stdout."""

    def write(self, data):
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _StdoutFailed(describe_write_error("to stdout", exc, nothing_written=False)) \
                from None


def _guard_stdout():
    """Put ``_StdoutFile`` under sys.stdout (unless something, e.g. a test, replaced it).

    A stdout closed at start (``>&-``) is held by a read-only /dev/null, so that no file
    opened later becomes descriptor 1 and every write to it fails with EBADF, as on a closed
    descriptor."""
    if sys.stdout is not sys.__stdout__:
        return
    try:
        os.fstat(1)
    except OSError:
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 1:
            os.dup2(fd, 1)
            os.close(fd)
    old = sys.stdout
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_StdoutFile(1, "w", closefd=False)),
        encoding=old.encoding if old else "utf-8", errors=old.errors if old else "strict",
        line_buffering=old.line_buffering if old else False,
        write_through=old.write_through if old else False)
