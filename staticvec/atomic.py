"""Outputs that appear whole or not at all.

Everything a command writes goes to a temporary file in the target folder and is
renamed over the target only when complete, so a crash, a full disk or Ctrl-C never
leaves a half-written vectors file for a cron job to pick up.
"""
import contextlib
import errno
import os
import sys
import tempfile

from staticvec.errors import OutputError

STDOUT = "-"


def _describe_oserror(path, exc):
    if exc.errno == errno.ENOSPC:
        return f"cannot write {path}: no space left on device (nothing was written)"
    if exc.errno == errno.EDQUOT:
        return f"cannot write {path}: disk quota exceeded (nothing was written)"
    return f"cannot write {path}: {exc.strerror or exc}"


@contextlib.contextmanager
def atomic_output(path, mode="wb", encoding="utf-8"):
    """Yield a file object for ``path`` (``-`` is stdout); publish it only on success."""
    if str(path) == STDOUT:
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(_describe_oserror(path, exc)) from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": encoding})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise OutputError(_describe_oserror(path, exc)) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def check_output_path(path):
    """Fail before long work starts if ``path`` could not be written at the end."""
    if str(path) == STDOUT:
        return
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder")
