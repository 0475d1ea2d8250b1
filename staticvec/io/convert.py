"""``convert``: any vectors file the loaders read, written as word2vec binary or text,
streamed: a block of rows at a time passes from the reader to the writer, so converting a
multi-GB model needs a few MB for the rows (and its words, to drop repeated ones), not
the whole matrix.

The output's ``V d`` header comes first, so the number of rows must be known before
any is written: the input's header says it (``limit`` caps it); a headerless (GloVe)
file is counted by a quick pass over its lines first. When the rows written turn out
fewer (a repeated word, whose first vector is kept as ``load`` keeps it; blank lines in
a headerless file) the output is written again with the right count: it is never
published with a wrong one. A fastText ``.bin`` is loaded whole (its word vectors are
composed from all its n-gram rows), and stdout or a device, which cannot be written
again, get the loaded model too.
"""
import logging
import os
import stat
from typing import NamedTuple, Optional, Tuple

from staticvec.atomic import atomic_output, check_outputs, writes_in_place
from staticvec.errors import BadOptionError, FormatError, InputError
from staticvec.io.dispatch import (FORMATS, check_limit, check_vectors_path, encode_words,
                                   first_occurrences,
                                   load_vectors, output_format, save_vectors, word2vec_layout)
from staticvec.io.sniff import read_head
from staticvec.io.word2vec_binary import BinaryRows, binary_rows, first_row_head
from staticvec.io.rows import decode_words
from staticvec.io.word2vec_text import text_blocks, text_rows
from staticvec.model.similarity import unit_rows
from staticvec.text.corpus import DECOMPRESS_ERRORS, OPENERS

log = logging.getLogger(__name__)

_BLOCK_BYTES = 4 << 20  # of floats per block of rows (and of text per block of lines)
_WRITE_ROWS = 512       # rows formatted at once (text takes ~80 bytes a value on the way)


def convert_vectors(source, target, *, format_in=None, format_out=None, limit=None,
                    normalize=False, encoding_errors="strict"):
    """Write ``source`` (any format ``load_vectors`` reads; a fastText ``.bin`` gives its
    word vectors) to ``target`` as word2vec binary or text (``format_out``, else by its
    extension; ``.gz``/``.bz2``/``.xz`` compress), atomically and never onto ``source``.
    ``normalize``: unit-length rows (zero rows stay zero). Returns the number of vectors
    written."""
    if format_in is not None and format_in not in FORMATS:
        raise BadOptionError(f"invalid value for --format-in: {format_in!r} (choose from "
                             f"{', '.join(FORMATS)})")
    if format_out is not None and format_out not in ("binary", "text"):
        raise BadOptionError(f"invalid value for --format-out: {format_out!r} (choose from "
                             f"binary, text)")
    check_limit(limit)
    fmt_out = output_format(target, format_out)
    check_outputs([("OUT", target)], [("IN", source)])
    source = os.fspath(source)
    plan = None if writes_in_place(target) else _plan(source, format_in, limit)
    if plan is None:
        vectors = load_vectors(source, fmt=format_in, encoding_errors=encoding_errors,
                               limit=limit)
        save_vectors((vectors.words, vectors.unit if normalize else vectors.matrix), target,
                     format_out)
        count, dim = len(vectors), vectors.dim
    else:
        count = plan.rows
        while True:
            try:
                dim = _write(source, target, fmt_out, plan, count, encoding_errors, normalize)
                break
            except _Recount as exc:
                count = exc.count
    log.info(f"wrote {count:,} {'unit ' if normalize else ''}vectors of {dim} dims to {target}")
    return count


class _Recount(Exception):
    """The output was written with a count the rows did not reach: write it again."""

    def __init__(self, count):
        super().__init__(count)
        self.count = count


class _Plan(NamedTuple):
    """How a file is streamed: its format, header, the rows the output will have (the
    input's header or line count, capped by ``limit``) and the user's ``limit``."""
    fmt: str
    header: Optional[Tuple[int, int]]
    body_start: int
    rows: int
    limit: Optional[int]


def _open(path):
    """(binary stream, size or None when compressed)."""
    check_vectors_path(path)
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in OPENERS:
            return OPENERS[ext](path, "rb"), None
        stream = open(path, "rb")
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    info = os.fstat(stream.fileno())
    return stream, (info.st_size if stat.S_ISREG(info.st_mode) else None)


def _plan(path, fmt, limit):
    """A ``_Plan`` for streaming ``path``, or None: load it whole (a fastText ``.bin``, or
    a file that is not a regular file, which cannot be read twice)."""
    stream, size = _open(path)
    with stream:
        try:
            if size is None and os.path.splitext(path)[1].lower() not in OPENERS:
                return None
            layout = word2vec_layout(read_head(stream), size, path, fmt)
            if layout is None:
                return None
            fmt, header, body_start = layout
            if header is not None:
                count = header[0]
            else:
                stream.seek(0)
                count = _count_lines(stream)
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"{path}: damaged {os.path.splitext(path)[1]} file ({exc})") from None
    return _Plan(fmt, header, body_start, count if limit is None else min(count, limit), limit)


def _count_lines(stream):
    """Lines of a headerless text file (an upper bound on its rows: blank lines count)."""
    lines, last = 0, b""
    for chunk in iter(lambda: stream.read(1 << 22), b""):
        lines += chunk.count(b"\n")
        last = chunk
    return lines + (0 if last.endswith(b"\n") or not last else 1)


def _blocks(path, stream, size, plan, encoding_errors):
    """``(words, matrix)`` blocks of the file, read in one pass."""
    head = read_head(stream)
    if plan.fmt == "text":
        yield from text_blocks(stream, head, path, plan.header, plan.body_start,
                               encoding_errors, limit=plan.limit, chunk=_BLOCK_BYTES)
        return
    if size is None:
        head = first_row_head(stream, head, plan.header, plan.body_start, path)
    rows = BinaryRows(stream, head, size, path, plan.header, plan.body_start, limit=plan.limit,
                      block_rows=max(1, _BLOCK_BYTES // (4 * plan.header[1] + 1)), retain=False)
    for _, piece, matrix, _ in rows.blocks():
        n = len(matrix)
        starts, ends = rows.starts[:n], rows.ends[:n]
        yield decode_words(bytes(piece), ends - starts, starts, path, encoding_errors), matrix


def _write(path, target, fmt, plan, count, encoding_errors, normalize):
    """Stream ``path`` into ``target`` under a header of ``count`` rows; returns the
    dimension. Raises ``_Recount`` (and publishes nothing) when a different number of
    rows was written."""
    seen, written, dim, repeated = set(), 0, None, []
    stream, size = _open(path)
    with stream, atomic_output(target, "wb") as out:
        try:
            for words, matrix in _blocks(path, stream, size, plan, encoding_errors):
                if dim is None:
                    dim = matrix.shape[1]
                    out.write(f"{count} {dim}\n".encode("ascii"))
                keep, again = first_occurrences(words, seen)
                repeated += again
                if len(keep) < len(words):
                    words, matrix = [words[i] for i in keep], matrix[keep]
                if normalize:
                    matrix = unit_rows(matrix)
                encoded = encode_words(words, target)
                rows = binary_rows if fmt == "binary" else text_rows
                for lo in range(0, len(encoded), _WRITE_ROWS):
                    out.write(rows(encoded[lo:lo + _WRITE_ROWS], matrix[lo:lo + _WRITE_ROWS]))
                written += len(words)
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"{path}: damaged {os.path.splitext(path)[1]} file ({exc})") from None
        if written != count:
            raise _Recount(written)
    if repeated:
        log.warning(f"{path}: {len(repeated):,} duplicate word(s), e.g. {repeated[0]!r}: kept "
                    f"the first vector of each")
    return dim
