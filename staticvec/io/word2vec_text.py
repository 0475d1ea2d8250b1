"""word2vec text vectors: ``V d\\n``, then ``word v1 ... vd\\n`` per word.

Written with each value printed as the shortest decimal that reads back to the same
float32 (gensim's ``save_word2vec_format`` text output, byte for byte), so text -> binary
-> text is byte-exact. Read also: headerless GloVe text, word2vec C's text (``%lf``
values, trailing space), words with spaces inside (some GloVe releases).
"""
from typing import NamedTuple

import numpy as np

from staticvec.errors import FormatError
from staticvec.io.rows import VectorRows, check_finite, decode_words
from staticvec.io.sniff import INTEGER, is_number
from staticvec.model.similarity import row_norms

_TEXT_CHUNK_LINES = 20000


def read_text(data, path, header, start, encoding_errors, limit=None):
    """``data``: the whole file (or, with ``limit``, at least its first ``limit`` rows);
    ``start``: where the vectors begin (after a header). Returns ``VectorRows`` (words may
    repeat: the dispatcher keeps the first)."""
    lines = data.split(b"\n")
    if header:
        del lines[0]
    block = _parse_lines(lines, 2 if header else 1, header, 0, path, limit)
    _check_count(len(block.word_bytes), header, limit, path)
    offsets = _LineOffsets(lines, start, block.first_line_no)
    starts = _LazyStarts(offsets, block.line_nos, lines, block.first_line_no)
    return VectorRows(_decode(block, starts, path, encoding_errors), block.matrix, block.norms)


def text_blocks(stream, head, path, header, body_start, encoding_errors, limit=None,
                chunk=4 << 20):
    """The rows of a text vectors file read from ``stream`` (``head``: its first bytes,
    ``body_start``: where the vectors begin) as ``(words, matrix)`` blocks of whole lines,
    so a file of any size passes through a few MB (``convert``). Same checks and messages
    as ``read_text``."""
    pending = head[body_start:]
    line_no, done, dim = (2 if header else 1), 0, (header[1] if header else None)
    offset = body_start  # of the next block's first line
    while limit is None or done < limit:
        more = stream.read(chunk)
        data = pending + more
        cut = data.rfind(b"\n") + 1 if more else len(data)
        if more and cut == 0:
            pending = data  # one line longer than a chunk: read on
            continue
        text, pending = data[:cut], data[cut:]
        lines = text.split(b"\n")
        if more:
            del lines[-1]  # text ends with "\n": nothing after it
        if any(line.strip() for line in lines):
            block = _parse_lines(lines, line_no, (header[0] if header else None, dim), done,
                                 path, None if limit is None else limit - done)
            dim = block.dim
            starts = _LazyStarts(_LineOffsets(lines, offset, line_no), block.line_nos, lines,
                                 line_no)
            yield _decode(block, starts, path, encoding_errors), block.matrix
            done += len(block.word_bytes)
        line_no += len(lines)
        offset += len(text)
        if not more:
            break
    _check_count(done, header, limit, path)


class _Block(NamedTuple):
    word_bytes: list
    line_nos: list
    matrix: np.ndarray
    norms: np.ndarray
    dim: int
    first_line_no: int


def _parse_lines(lines, first_line_no, header, before, path, limit):
    """The rows of ``lines`` (numbered from ``first_line_no``; ``before`` rows came in
    earlier blocks; ``header``: (words announced or None, dim or None))."""
    words_n, dim = header if header else (None, None)
    word_bytes, line_nos, chunks, values = [], [], [], []
    for k, line in enumerate(lines):
        parts = line.split()
        if not parts:
            continue
        line_no = first_line_no + k
        if limit is not None and len(word_bytes) == limit:
            break
        if words_n is not None and before + len(word_bytes) == words_n:
            raise FormatError(f"{path}: line {line_no}: more vectors than the {words_n:,} the "
                              f"header announces (the header or the file is damaged)")
        if dim is None:
            dim = len(parts) - 1
            if dim == 0:
                raise FormatError(f"{path}: line {line_no} has a word and no values (dimension 0)")
        if len(parts) != dim + 1:
            word = parts[0].decode("utf-8", "replace")
            first = lines[line_nos[0] - first_line_no].strip() if line_nos else b""
            if (words_n is None and before == 0 and len(line_nos) == 1
                    and INTEGER.fullmatch(first.split()[-1])):
                first = first.decode("utf-8", "replace")
                raise FormatError(f"{path}: bad header {first!r} (expected 'WORDS DIM', e.g. "
                                  f"'71290 100'; line {line_no} has {len(parts) - 1} values)")
            if len(parts) < dim + 1 or is_number(parts[1]):
                raise FormatError(f"{path}: line {line_no}: {word!r} has {len(parts) - 1} values, "
                                  f"expected {dim}" + (" (fewer floats than the dimension)"
                                                       if len(parts) < dim + 1 else ""))
            # a word with spaces inside (some GloVe releases): the last dim fields are values
            split = line.rsplit(None, dim)
            parts = [split[0].strip()] + split[1:]
        word_bytes.append(parts[0])
        line_nos.append(line_no)
        values.extend(parts[1:])
        if len(line_nos) % _TEXT_CHUNK_LINES == 0:
            chunks.append(_to_floats(values, path, line_nos, dim))
            values = []
    if values:
        chunks.append(_to_floats(values, path, line_nos, dim))
    if not word_bytes:
        return _Block([], [], np.zeros((0, dim or 0), np.float32), np.zeros(0, np.float32),
                      dim, first_line_no)
    matrix = np.concatenate(chunks).reshape(len(word_bytes), dim)
    norms = row_norms(matrix)
    check_finite(norms, matrix, lambda k, w: f"{path} line {line_nos[k]}: word {w!r}", word_bytes,
                  lambda k, col: lines[line_nos[k] - first_line_no].split()[col - dim])
    return _Block(word_bytes, line_nos, matrix, norms, dim, first_line_no)


def _check_count(have, header, limit, path):
    """The file's end: as many rows (``have``) as the header announces (or ``limit``)."""
    words_n = header[0] if header else None
    if words_n is not None and have < min(words_n, limit or words_n):
        raise FormatError(f"{path}: truncated: the header says {words_n:,} words but the file "
                          f"has {have:,}")
    if not have:
        raise FormatError(f"{path}: no vectors in the file")


def _decode(block, starts, path, encoding_errors):
    lengths = np.fromiter((len(w) for w in block.word_bytes), dtype=np.int64,
                          count=len(block.word_bytes))

    def describe(i):
        return f"the word on line {block.line_nos[i]}"

    return decode_words(b"\n".join(block.word_bytes), lengths, starts, path, encoding_errors,
                        describe)


def _to_floats(values, path, line_nos, dim):
    try:
        with np.errstate(over="ignore"):  # 1e40 becomes inf, refused by _check_finite
            return np.array(values, dtype=np.float32)
    except ValueError:
        pass
    first_entry = len(line_nos) - len(values) // dim
    for k, token in enumerate(values):
        if not is_number(token):
            line_no = line_nos[first_entry + k // dim]
            raise FormatError(f"{path}: line {line_no}: non-numeric value "
                              f"{token.decode('utf-8', 'replace')!r}")
    raise FormatError(f"{path}: unreadable values near line {line_nos[first_entry]}")


class _LineOffsets:
    """File offset of a line, computed only when an error needs it."""

    def __init__(self, lines, start, first_line_no):
        self.lines, self.start, self.first = lines, start, first_line_no

    def __call__(self, line_no):
        k = line_no - self.first
        return self.start + sum(len(line) + 1 for line in self.lines[:k])


class _LazyStarts:
    """``starts[i]`` = file offset of word i (only looked up for an error message)."""

    def __init__(self, offsets, line_nos, lines, first_line_no):
        self.offsets, self.line_nos, self.lines, self.first = offsets, line_nos, lines, first_line_no

    def __getitem__(self, i):
        line_no = self.line_nos[i]
        line = self.lines[line_no - self.first]
        return self.offsets(line_no) + (len(line) - len(line.lstrip()))


def write_text(out, encoded, matrix):
    """The ``V d`` header, then ``word v1 ... vd`` lines (``encoded``: the words as UTF-8).

    Values as ``str(np.float32)`` prints them (shortest round-trip decimal): by the vecio
    kernel (checked against numpy on every float32 of several whole binades) for
    1e-4 <= |x| < 1e6 and zero, by numpy for the rare rest."""
    out.write(f"{len(encoded)} {matrix.shape[1]}\n".encode("ascii"))
    step = 2048
    for start in range(0, len(encoded), step):
        out.write(text_rows(encoded[start:start + step], matrix[start:start + step]))


def text_rows(encoded, matrix):
    """``word v1 ... vd\n`` for each of ``encoded`` (UTF-8 words) and the rows of ``matrix``,
    the values formatted as ``write_text`` formats them (``print-vectors`` uses it too)."""
    formatter = _text_formatter()
    block = np.ascontiguousarray(matrix, dtype=np.float32)
    rows = block.shape[0]
    if formatter is not None:
        format_rows, width = formatter
        buf = np.empty(rows * block.shape[1] * width + 1, dtype=np.uint8)
        ends = np.empty(rows, dtype=np.int64)
        fallback = np.empty(rows, dtype=np.uint8)
        raw = bytes(buf[:format_rows(block, buf, ends, fallback)])
        ends, fallback = ends.tolist(), fallback.tolist()
    lines = []
    begin = 0
    for k in range(rows):
        if formatter is not None and not fallback[k]:
            values = raw[begin:ends[k]]
        else:
            values = " ".join(map(str, block[k])).encode("ascii")
        if formatter is not None:
            begin = ends[k]
        lines.append(encoded[k] + b" " + values + b"\n")
    return b"".join(lines)


def _text_formatter():
    """(format_rows, bytes per value) from the vecio kernel, or None (numpy formats all)."""
    try:
        from staticvec import _kernels
        vecio = _kernels.load("vecio")
        return vecio.format_rows, vecio.FORMAT_WIDTH
    except ImportError:
        return None
