"""Reading training text: paths or ``-``, transparent decompression, UTF-8 policy, sentences.

The fast path hands the kernels whole byte chunks (never a Python object per token): each
chunk ends on ASCII whitespace so no word or UTF-8 sequence is ever cut, and the end of
every file acts as a newline so a sentence never spans two files. UTF-8 is checked per
chunk (``strict`` names the file and the byte offset) or repaired (``replace``/``ignore``)
before the kernels see it, so the kernels can treat words as opaque bytes.
"""
import bz2
import gzip
import io
import lzma
import os
import stat
import sys
import zlib

from staticvec.atomic import COMPRESSED_SUFFIXES
from staticvec.errors import BadOptionError, InputError, OutputError

STDIN = "-"
CHUNK_BYTES = 1 << 22
ENCODING_ERRORS = ("strict", "replace", "ignore")
WHITESPACE = b" \t\n\r\v\f"
LONG_WORD_BYTES = 100  # word2vec C cuts words here (mid-character); we keep them and count them

# Decoder memory an .xz/.lzma header may ask for: xz -9 needs 65 MiB. A 33-byte legacy .lzma
# file can ask for a 4 GiB dictionary; a header never sizes an allocation by itself.
XZ_MEMLIMIT = 256 << 20


def open_xz(path, mode="rb", **kwargs):
    """``lzma.open``, but reading refuses (LZMAError) a file whose header asks the decoder
    for more than XZ_MEMLIMIT."""
    if "r" not in mode:
        return lzma.open(path, mode, **kwargs)
    handle = lzma.open(path, "rb")
    try:
        import _compression  # the reader lzma.LZMAFile builds, with memlimit added
    except ImportError:  # a Python without it: plain lzma.open
        pass
    else:
        raw = _compression.DecompressReader(handle._fp, lzma.LZMADecompressor,
                                            trailing_error=lzma.LZMAError,
                                            memlimit=XZ_MEMLIMIT)
        handle._buffer = io.BufferedReader(raw)
    return io.TextIOWrapper(handle, **kwargs) if "t" in mode else handle


OPENERS = dict(zip(COMPRESSED_SUFFIXES, (gzip.open, bz2.open, open_xz, open_xz)))
# what reading a damaged .gz/.bz2/.xz stream raises (zlib.error is not an OSError)
DECOMPRESS_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error, ValueError)


def check_encoding_errors(value):
    if value not in ENCODING_ERRORS:
        raise BadOptionError(f"invalid value for --encoding-errors: {value!r} "
                             f"(choose from {', '.join(ENCODING_ERRORS)})")


def is_compressed(path):
    return os.path.splitext(os.fspath(path))[1].lower() in OPENERS


def describe(path):
    return "<stdin>" if str(path) == STDIN else os.fspath(path)


def is_regular(path):
    """True for a regular file: one that can be read twice and cached. Stdin, a FIFO,
    ``/dev/stdin`` or a ``<(...)`` path can be read only once."""
    if str(path) == STDIN:
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _identity(path):
    """(device, inode) of what ``path`` reads, or None."""
    try:
        info = os.fstat(sys.stdin.fileno()) if str(path) == STDIN else os.stat(path)
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_dev, info.st_ino


def check_inputs(paths):
    """Fail fast, naming the file, before any work: missing, a folder, unreadable, or a
    stream (stdin, a pipe) named twice, which would be read once and then found empty."""
    if not paths:
        raise InputError("no input given (name one or more files, or - for stdin)")
    if sum(1 for p in paths if str(p) == STDIN) > 1:
        raise BadOptionError("stdin (-) can be named only once")
    streams = {}
    for path in paths:
        if str(path) != STDIN:
            if not os.path.exists(path):
                raise InputError(f"cannot read {path}: no such file")
            if os.path.isdir(path):
                raise InputError(f"cannot read {path}: it is a folder")
            if not os.access(path, os.R_OK):
                raise InputError(f"cannot read {path}: permission denied")
        if not is_regular(path):
            identity = _identity(path)
            if identity is not None and identity in streams:
                raise BadOptionError(f"{describe(path)} and {describe(streams[identity])} are "
                                     f"the same stream, which can be read only once: name it "
                                     f"once")
            streams[identity] = path


def open_binary(path):
    """A binary stream of the (decompressed) text of ``path``; ``-`` is stdin."""
    if str(path) == STDIN:
        return sys.stdin.buffer
    check_inputs([path])
    opener = OPENERS.get(os.path.splitext(os.fspath(path))[1].lower(), open)
    try:
        return opener(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _validate(chunk, path, offset, encoding_errors):
    try:
        chunk.decode("utf-8")
        return chunk
    except UnicodeDecodeError as exc:
        if encoding_errors == "strict":
            bad = chunk[exc.start]
            raise InputError(
                f"{describe(path)}: invalid UTF-8 at byte offset {offset + exc.start} "
                f"(byte 0x{bad:02x}); use --encoding-errors replace or ignore") from None
    return chunk.decode("utf-8", encoding_errors).encode("utf-8")


def iter_chunks(paths, encoding_errors="strict", chunk_bytes=CHUNK_BYTES, tee=None):
    """Yield UTF-8 byte chunks that end on whitespace, over all ``paths`` in order.

    ``tee``, if given, receives every raw chunk too (used to spool stdin to disk while
    counting, so it can be read a second time for encoding).
    """
    check_encoding_errors(encoding_errors)
    check_inputs(paths)
    for path in paths:
        stream = open_binary(path)
        try:
            yield from stream_chunks(stream.read, path, encoding_errors, chunk_bytes, tee)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def stream_chunks(read, path, encoding_errors="strict", chunk_bytes=CHUNK_BYTES, tee=None,
                  offset=0):
    """The chunks of one stream (``read(n)`` gives its next bytes, b"" at its end), as
    ``iter_chunks`` yields them for one input: ending on whitespace, UTF-8 checked (errors
    name ``path`` and the byte offset, counted from ``offset``), the end of the stream ending
    its last sentence."""
    tail = b""
    ended = True  # an empty file, or one ending in a newline, needs no extra one
    while True:
        try:
            block = read(chunk_bytes)
        except DECOMPRESS_ERRORS as exc:
            raise InputError(f"cannot read {describe(path)}: damaged compressed data "
                             f"({exc})") from None
        if not block:
            break
        data = tail + block
        cut = max(data.rfind(c) for c in (b"\n", b" ", b"\t", b"\r")) + 1
        if cut <= 0:  # one word longer than the chunk: keep reading
            tail = data
            continue
        tail = data[cut:]
        chunk = _validate(data[:cut], path, offset, encoding_errors)
        offset += cut
        ended = chunk.endswith(b"\n")
        if tee is not None:
            tee.write(chunk)
        yield chunk
    if tail or not ended:  # the end of a file ends its last sentence
        chunk = _validate(tail + b"\n", path, offset, encoding_errors)
        if tee is not None:
            tee.write(chunk)
        yield chunk


def iter_sentences(paths, encoding_errors="strict", max_sentence_length=10000):
    """Sentences as lists of str: the simple reference path (tests, small inputs)."""
    words = []
    for chunk in iter_chunks(paths, encoding_errors):
        lines = chunk.split(b"\n")
        for number, line in enumerate(lines):
            for word in line.split():
                if len(words) == max_sentence_length:
                    yield words
                    words = []
                words.append(word.decode("utf-8"))
            if number < len(lines) - 1 and words:  # a newline ends the sentence
                yield words
                words = []
    if words:
        yield words


class SpoolWriter:
    """A ``tee`` for ``iter_chunks`` that copies every validated chunk of every input to the
    spool file, so stdin or a pipe (and the files named beside it) are read only once."""

    def __init__(self, spool):
        self.spool = spool

    def write(self, chunk):
        try:
            self.spool.write(chunk)
        except OSError as exc:
            raise OutputError(f"cannot spool the input to {self.spool.name}: "
                              f"{exc.strerror or exc}") from None


def iter_line_blocks(paths, encoding_errors="strict", block_lines=8192):
    """Lists of up to ``block_lines`` lines (str, newline dropped, blank lines kept: line
    k of the input is item k), over all ``paths`` in order."""
    block, tail = [], ""
    for chunk in iter_chunks(paths, encoding_errors):
        lines = (tail + chunk.decode("utf-8")).split("\n")
        tail = lines.pop()
        block += lines
        while len(block) >= block_lines:
            yield block[:block_lines]
            block = block[block_lines:]
    if tail:
        block.append(tail)
    if block:
        yield block
