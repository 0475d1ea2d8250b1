"""Outputs that appear whole or not at all, and never over an input.

Everything a command writes goes to a temporary file in the target folder and is
renamed over the target only when complete, so a crash, a full disk or Ctrl-C never
leaves a half-written vectors file for a cron job to pick up. Inside ``outputs_together()``
the renames wait for the end of the block, so the outputs of one run (fastText's STEM.bin
and STEM.vec, a vectors file and its --save-vocab) appear together or not at all.

An existing output that is not a regular file is never replaced by a rename: a character
device (``/dev/null``, a terminal) or a FIFO is written to directly, as ``sort -o`` does;
a folder, a socket or a block device is refused. A symbolic link is written through: its
file is replaced, the link stays. ``check_outputs`` refuses, before any work,
an output that is one of the run's inputs or another of its outputs.

A name ending in ``.gz``, ``.bz2`` or ``.xz`` (``.lzma``) is written compressed: the bytes are
compressed into the temporary file, which is renamed as usual (gzip with no name and mtime 0,
so the same content gives the same bytes on every run).
"""
import bz2
import contextlib
import contextvars
import errno
import gzip
import io
import lzma
import os
import signal
import stat
import sys
import tempfile
import threading

from staticvec.errors import BadOptionError, OutputError

STDOUT = "-"
# names that say "compressed": read transparently (text.corpus), written compressed here
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma")

# the renames held back by the innermost outputs_together() block (None: rename at once)
_PENDING = contextvars.ContextVar("staticvec_pending_outputs", default=None)


def describe_write_error(path, exc, nothing_written=True):
    """One line for a failed write of ``path`` (``to stdout`` for stdout)."""
    after = " (nothing was written)" if nothing_written else ""
    if exc.errno == errno.ENOSPC:
        return f"cannot write {path}: no space left on device{after}"
    if exc.errno == errno.EDQUOT:
        return f"cannot write {path}: disk quota exceeded{after}"
    if exc.errno == errno.EFBIG:
        return f"cannot write {path}: file too large for the file size limit{after}"
    if exc.errno == errno.EBADF:
        return f"cannot write {path}: it is closed"
    return f"cannot write {path}: {exc.strerror or exc}"


def _kind(mode):
    """What a non-regular file is, in words (for the one error line)."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _written_in_place(mode):
    """Character devices (/dev/null, terminals) and FIFOs take the output directly."""
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def writes_in_place(path):
    """True when ``path`` is stdout, a character device or a FIFO: written directly, so no
    temporary file goes beside it (nor anything else: its folder may well be /dev)."""
    if str(path) == STDOUT:
        return True
    mode = _existing_mode(path)
    return mode is not None and _written_in_place(mode)


def _existing_mode(path):
    try:
        return os.stat(path).st_mode
    except OSError:
        return None


@contextlib.contextmanager
def atomic_output(path, mode="wb", encoding="utf-8"):
    """Yield a file object for ``path`` (``-`` is stdout); publish it only on success."""
    if str(path) == STDOUT:
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    path = os.fspath(path)
    check_output_path(path)
    if compression_of(path):
        with atomic_output(_Raw(path), "wb") as raw, _compressing(raw, path, mode, encoding) as out:
            yield out
        return
    if writes_in_place(path):
        with _in_place(path, mode, encoding) as handle:
            yield handle
        return
    # through a symbolic link, as a shell's > does: the link stays and its file is replaced
    # (and -o /dev/stdout on a file replaces that file, never the /dev entry)
    target = _final(path)
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                   dir=folder)
    except OSError as exc:
        raise OutputError(describe_write_error(path, exc)) from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": encoding})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        pending = _PENDING.get()
        if pending is None:
            os.replace(tmp, target)
        else:
            pending.append((tmp, target, path))
    except OSError as exc:
        _remove_quietly(tmp)
        raise OutputError(describe_write_error(path, exc)) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def compression_of(path):
    """The compressed suffix of an output name (``.gz``, ``.bz2``, ``.xz``, ``.lzma``), or None."""
    if isinstance(path, _Raw) or str(path) == STDOUT:
        return None
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return ext if ext in COMPRESSED_SUFFIXES else None


class _Raw(str):
    """An output name whose bytes are written as given (the compressed stream of its file)."""

    def __fspath__(self):
        return str(self)


@contextlib.contextmanager
def _compressing(raw, path, mode, encoding):
    """A writer that compresses into ``raw`` (closed, so the stream ends, before ``raw`` is
    published)."""
    ext = compression_of(path)
    if ext == ".gz":
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
    elif ext == ".bz2":
        stream = bz2.BZ2File(raw, "wb")
    else:
        stream = lzma.LZMAFile(raw, "wb", format=lzma.FORMAT_ALONE if ext == ".lzma" else
                               lzma.FORMAT_XZ)
    out = stream if "b" in mode else io.TextIOWrapper(stream, encoding=encoding)
    try:
        yield out
        out.close()  # flushes the text layer, ends the compressed stream; ``raw`` stays open
    finally:
        if not stream.closed:
            with contextlib.suppress(Exception):
                stream.close()


@contextlib.contextmanager
def _in_place(path, mode, encoding):
    """Write straight into a character device or FIFO (nothing to rename; no fsync, which
    pipes refuse)."""
    try:
        handle = open(path, mode, **({} if "b" in mode else {"encoding": encoding}))
    except OSError as exc:
        raise OutputError(describe_write_error(path, exc, nothing_written=False)) from None
    try:
        with handle:
            yield handle
            handle.flush()
    except OSError as exc:  # EPIPE too: a FIFO's reader that went away missed the output
        raise OutputError(describe_write_error(path, exc, nothing_written=False)) from None


@contextlib.contextmanager
def outputs_together():
    """Hold back the renames of every ``atomic_output`` inside the block until it ends
    without error, then make them one after another with Ctrl-C and SIGTERM held off, so
    the run's outputs appear together; on any error none of them appears."""
    pending = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _, _ in pending:
            _remove_quietly(tmp)
        raise
    finally:
        _PENDING.reset(token)
    with _signals_held():
        for i, (tmp, target, path) in enumerate(pending):
            try:
                os.replace(tmp, target)
            except OSError as exc:
                for left, _, _ in pending[i:]:
                    _remove_quietly(left)
                raise OutputError(describe_write_error(path, exc, nothing_written=i == 0)) from None


@contextlib.contextmanager
def _signals_held():
    """Defer SIGINT and SIGTERM until the block ends (their handlers then run as usual).

    Python runs signal handlers between bytecodes of the main thread, so a Ctrl-C between
    two renames would publish half of a run's outputs; here the signal is only recorded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
                for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def _final(path):
    """The absolute name ``path`` stands for once symbolic links are followed."""
    return os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def check_output_name(path):
    """Refuse an output name that cannot mean what it says: an empty one."""
    if str(path) == STDOUT:
        return
    if not os.fspath(path):
        raise BadOptionError("an output file name is empty")


def refuse_compressed(option, path, why):
    """For an output that must stay plain (a fastText ``.bin``, GloVe's co-occurrence
    records, which are read back in place): refuse a compressed name, saying ``why``."""
    ext = compression_of(path) if path is not None else None
    if ext:
        raise BadOptionError(f"{option} {path}: cannot be compressed ({ext}): {why}")


def check_output_path(path):
    """Fail before long work starts if ``path`` could not be written at the end."""
    if str(path) == STDOUT:
        return
    check_output_name(path)
    folder = os.path.dirname(_final(os.fspath(path)))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    existing = _existing_mode(path)
    if existing is not None and not stat.S_ISREG(existing):
        if _written_in_place(existing):
            return  # written directly: the folder need not be writable
        raise OutputError(f"cannot write {path}: it is {_kind(existing)}")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")


# ---------------------------------------------------------------- outputs vs inputs
def check_outputs(outputs, inputs=()):
    """Refuse, before any work, outputs that would overwrite an input or each other.

    ``outputs``: (option, path) pairs, e.g. ("--output", "v.bin"), ("--save-vocab", None);
    ``inputs``: (label, path or list of paths) pairs, e.g. ("the input", corpus_paths),
    ("--vocab", "v.txt"). None paths are skipped; ``-`` is stdin/stdout. Two names are the
    same file when they have the same device and inode or the same real path; character
    devices never count (writing to /dev/null destroys nothing). Also runs
    ``check_output_path`` on each output.
    """
    outs = [(option, os.fspath(p)) for option, p in outputs if p is not None]
    ins = [(label, os.fspath(p)) for label, paths in inputs if paths is not None
           for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    for i, (option, path) in enumerate(outs):
        for other_option, other in outs[:i]:
            if path == STDOUT and other == STDOUT:
                raise BadOptionError(f"{other_option} - and {option} - both write to stdout: "
                                     f"name a file for one of them")
            if _same_file(path, other, 1):
                raise BadOptionError(f"{other_option} {_named(other, 1)} and {option} "
                                     f"{_named(path, 1)} are the same file: give each output "
                                     f"its own name")
        for label, source in ins:
            if _same_file(path, source, 0):
                raise BadOptionError(f"{option} {_named(path, 1)} is the same file as {label} "
                                     f"{_named(source, 0)}")
    for _, path in outs:
        check_output_path(path)


def _named(name, fd):
    return name if name != STDOUT else f"- ({'stdin' if fd == 0 else 'stdout'})"


def _identity(name, fd):
    """(stat or None, real path or None) of a file name; ``-`` is the open file ``fd``."""
    try:
        if name == STDOUT:
            info = os.fstat(fd)
            # a pipe or terminal on both stdin and stdout is not one file to protect
            return (info if stat.S_ISREG(info.st_mode) else None), None
        info = os.stat(name)
    except OSError:
        info = None
    if info is not None and stat.S_ISCHR(info.st_mode):
        return None, None
    return info, os.path.realpath(name) if name != STDOUT else None


def _same_file(output, source, source_fd):
    """Would writing ``output`` overwrite ``source`` (an input, ``-`` being fd 0, or another
    output, ``-`` being fd 1)?"""
    a, a_real = _identity(output, 1)
    b, b_real = _identity(source, source_fd)
    if a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return True
    return a_real is not None and a_real == b_real
