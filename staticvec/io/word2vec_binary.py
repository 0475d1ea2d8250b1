"""word2vec binary vectors: ``V d\\n``, then per word: UTF-8 word, space, ``d``
little-endian float32, ``\\n`` (word2vec C's ``-binary 1``; gensim's dialect, without the
``\\n``, reads alike).

A file is read in 4 MB chunks, each scanned once by a small kernel
(``_kernels/vecio.pyx``) that copies every row's floats into the matrix and takes its
norm while the row is in cache; all words are decoded in one call. Damage is reported
as one ``FormatError`` line naming the file and what is wrong.
"""
import sys

import numpy as np

from staticvec.errors import FormatError
from staticvec.io.rows import VectorRows, check_finite, decode_words
from staticvec.io.sniff import check_header_fits
from staticvec.model.similarity import row_norms

_CHUNK = 4 << 20  # files are read in chunks this big (grown for huge rows)
# Why a scan stopped before the rows it was asked for (0: it read them all). The vecio
# kernel's scan_binary returns the same codes (its EOF_* names); they are defined here,
# once, because the pure-Python scanner must produce them when the kernel cannot be
# imported; test_kernel_and_python_scanner_agree holds the two equal.
EOF_BEFORE_WORD = 1
EOF_IN_WORD = 2
EOF_IN_FLOATS = 3


def _scanner():
    """The vecio kernel's (scan_binary, join_words), or the pure-Python reference
    (whose join_words leaves the hashes at 0, so duplicates are checked with a dict)."""
    if sys.byteorder == "little":
        try:
            from staticvec import _kernels
            vecio = _kernels.load("vecio")
            return vecio.scan_binary, vecio.join_words
        except ImportError:
            pass
    return _scan_python, _join_python


def read_binary(stream, head, size, path, header, body_start, encoding_errors, limit=None):
    """All rows (``limit``: the first ``limit``) of a word2vec binary file as ``VectorRows``
    (norms computed on the way)."""
    rows = BinaryRows(stream, head, size, path, header, body_start, whole=True, limit=limit)
    for _ in rows.blocks():
        pass
    words = rows.words(encoding_errors)
    # distinct bytes decode to distinct strings only when decoding is strict
    distinct = encoding_errors == "strict" and distinct_hashes(rows.hashes)
    return VectorRows(words, rows.matrix, rows.norms, distinct)


class BinaryRows:
    """One pass over the rows of a word2vec binary file, block by block.

    The file is read in chunks; each chunk is scanned in place and a row cut by the
    chunk end is moved to the front and completed by the next read. (Reading beats
    memory-mapping here: mapping a multi-GB file costs more page-table work than
    copying it through a small buffer.) With ``whole=True`` the rows land in one matrix
    for the whole file; otherwise in a reused block of ``block_rows`` rows, so a
    one-off query can stream a file bigger than memory without touching fresh pages.
    Damage is raised as ``FormatError`` when the pass reaches it.
    """

    def __init__(self, stream, head, size, path, header, body_start, whole=False,
                 block_rows=65536, limit=None, retain=True):
        """``limit``: read only the first ``limit`` rows (the rest of the file stays unread).
        ``size`` None: a stream of unknown length (decompressed on the fly), whose ``head``
        must already hold the first row (``first_row_head``) and is read in blocks of at
        most ``_CHUNK`` bytes of floats. ``retain=False``: keep nothing of a block once
        the next is read (no word offsets, hashes or pieces for the whole file)."""
        self.stream, self.head, self.size, self.path = stream, head, size, path
        self.words_n, self.dim = header
        self.wanted = self.words_n if limit is None else min(self.words_n, limit)
        self.body_start = body_start
        row_bytes = 4 * self.dim + 1
        if size is None:  # the head holds a whole first row: a block of rows as big as it
            self.capacity = self.wanted
            block_rows = max(1, min(block_rows, _CHUNK // row_bytes))
        else:
            # a damaged header must not make us allocate more than the file can hold
            check_header_fits(header, size - body_start, row_bytes + 1, head, path)
            self.capacity = min(self.wanted, max(size - body_start, 0) // row_bytes)
        rows = self.capacity if whole else min(self.capacity, block_rows)
        self.whole, self.retain = whole, retain
        self.matrix = np.empty((rows, self.dim), dtype=np.float32)
        self.norms = np.empty(rows, dtype=np.float32)
        offsets = self.capacity if retain else rows
        self.starts = np.empty(offsets, dtype=np.int64)  # file offsets of the words
        self.ends = np.empty(offsets, dtype=np.int64)
        self.hashes = np.zeros(offsets, dtype=np.uint64)
        self.pieces = []  # "\n"-joined word bytes of each block
        self.rows_read = 0

    def blocks(self):
        """Yield ``(first_row, words_piece, matrix_block, norms_block)`` per scanned run."""
        scan, join = _scanner()
        dim = self.dim
        size = self.size if self.size is not None else len(self.head)
        buf = bytearray(max(_CHUNK, min(4 * (4 * dim + 1), size + 1), len(self.head)))
        view = memoryview(buf)
        view[:len(self.head)] = self.head
        filled = len(self.head) + _read_fully(self.stream, view[len(self.head):])
        offset, pos, row, stop, problem = 0, self.body_start, 0, self.body_start, 0
        block = len(self.norms)
        while row < self.capacity:
            at = row if self.whole else 0
            first = row if self.retain else 0  # where this block's offsets go
            want = self.capacity - row if self.whole else min(block, self.capacity - row)
            got, stop, problem = scan(view[:filled], pos, want, dim, self.matrix[at:],
                                      self.norms[at:], self.starts[first:], self.ends[first:])
            if got:
                starts, ends = self.starts[first:first + got], self.ends[first:first + got]
                piece = bytearray(int((ends - starts).sum()) + got - 1)
                join(view[:filled], starts, ends, piece, self.hashes[first:first + got])
                check_finite(self.norms[at:at + got], self.matrix[at:at + got],
                              lambda k, w: f"{self.path} word {row + k + 1} ({w!r})", piece)
                if self.retain:
                    self.pieces.append(piece)
                starts += offset
                ends += offset
                row += got
                self.rows_read = row
                yield row - got, piece, self.matrix[at:at + got], self.norms[at:at + got]
            pos = stop
            if not problem:
                continue  # the block is full; more rows may follow in this chunk
            if filled < len(buf):
                break  # the file itself ends inside a row
            keep = filled - stop  # the unfinished row moves to the front
            if stop == 0:
                view.release()
                buf = buf + bytearray(len(buf))  # a row longer than the buffer
                view = memoryview(buf)
            else:
                view[:keep] = bytes(view[stop:filled])
            offset += stop
            filled = keep + _read_fully(self.stream, view[keep:])
            pos = stop = 0
            if filled == 0:
                break
        if row == self.wanted < self.words_n:
            view.release()
            return  # the rows asked for: the rest of the file is not read
        tail = bytes(view[stop:filled]) + self.stream.read(65536)
        view.release()
        if row < self.words_n:
            if not problem and tail:  # stopped at capacity: see what is wrong with the next row
                _, _, problem = _scan_python(tail, 0, 1, dim, np.empty((1, dim), np.float32),
                                             np.empty(1, np.float32), np.empty(1, np.int64),
                                             np.empty(1, np.int64))
            raise FormatError(_truncation_message(tail, self.path, self.words_n, dim, row, problem,
                                                  offset + stop))
        extra = tail.strip(b"\n")
        if extra:
            at = offset + stop + tail.index(extra[:1])
            size = self.size
            if size is None:  # counted, not held: it may be anything
                size = offset + stop + len(tail) + sum(
                    map(len, iter(lambda: self.stream.read(1 << 20), b"")))
            raise FormatError(f"{self.path}: {size - at:,} unexpected bytes at byte offset "
                              f"{at:,}, after the {self.words_n:,} words the header announces "
                              f"(the header or the file is damaged)")

    def words(self, encoding_errors="strict"):
        """All words, decoded (after ``blocks`` has run to the end)."""
        return decode_words(b"\n".join(self.pieces), self.ends - self.starts, self.starts,
                             self.path, encoding_errors)


def first_row_head(stream, head, header, body_start, path):
    """``head`` extended, from ``stream`` of unknown length, until it holds the smallest
    possible first row: read as the data arrives, so a damaged header that claims huge
    rows costs no more memory than the file really has (and is refused when it ends)."""
    need = body_start + 4 * header[1] + 2
    parts, have = [head], len(head)
    while have < need:
        more = stream.read(min(need - have, 1 << 20))
        if not more:
            break
        parts.append(more)
        have += len(more)
    head = b"".join(parts)
    check_header_fits(header, len(head) - body_start, 4 * header[1] + 2, head, path)
    return head


def distinct_hashes(hashes):
    """True if no two words share a hash (so no two are equal); False means "check"."""
    if len(hashes) < 2 or not hashes.any():
        return len(hashes) < 2
    ordered = np.sort(hashes)
    return not bool((ordered[1:] == ordered[:-1]).any())


def _read_fully(stream, view):
    """Fill ``view`` from ``stream`` as far as the stream goes; bytes read."""
    done = 0
    while done < len(view):
        got = stream.readinto(view[done:])
        if not got:
            break
        done += got
    return done



def _scan_python(buf, pos, n, dim, matrix, norms, starts, ends):
    """Reference (and fallback) for the vecio kernel: same rows, same stopping codes."""
    data = bytes(buf)
    size = len(data)
    nbytes = 4 * dim
    rows, problem = 0, 0
    while rows < n:
        while pos < size and data[pos] == 10:
            pos += 1
        if pos >= size:
            problem = EOF_BEFORE_WORD
            break
        space = data.find(b" ", pos)
        if space < 0:
            problem = EOF_IN_WORD
            break
        if space + 1 + nbytes > size:
            problem = EOF_IN_FLOATS
            break
        starts[rows], ends[rows] = pos, space
        matrix[rows] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + nbytes
        rows += 1
    norms[:rows] = row_norms(matrix[:rows])
    return rows, pos, problem


def _join_python(buf, starts, ends, blob, hashes=None):
    data = bytes(buf)
    blob[:] = b"\n".join(data[s:e] for s, e in zip(starts.tolist(), ends.tolist()))
    return len(blob)


def _truncation_message(tail, path, words_n, dim, rows, problem, at):
    """``tail``: the file from the start (byte offset ``at``) of the row that could not be read."""
    base = f"{path}: truncated: the header says {words_n:,} words but the file ends"
    start = len(tail) - len(tail.lstrip(b"\n"))
    if problem == EOF_IN_FLOATS:
        space = tail.find(b" ", start)
        word = tail[start:space].decode("utf-8", "replace")
        have = (len(tail) - (space + 1)) // 4
        return (f"{base} in word {rows + 1} ({word!r}), which has {have} of its {dim} floats "
                f"(fewer floats than the dimension; the row starts at byte offset {at + start:,})")
    if problem == EOF_IN_WORD:
        return f"{base} inside word {rows + 1} (byte offset {at + start:,}), before its vector"
    return f"{base} after {rows:,} (at byte offset {at + len(tail):,})"


def write_binary(out, encoded, matrix):
    """The ``V d`` header, then per word its UTF-8 bytes (``encoded``), a space, ``d``
    little-endian float32 and ``\n``: byte for byte what word2vec C writes."""
    out.write(f"{len(encoded)} {matrix.shape[1]}\n".encode("ascii"))
    step = 8192
    for start in range(0, len(encoded), step):
        out.write(binary_rows(encoded[start:start + step], matrix[start:start + step]))


def binary_rows(encoded, matrix):
    """The rows of ``write_binary`` for the words ``encoded`` (UTF-8) and ``matrix``."""
    little = matrix.astype("<f4", copy=False)
    parts = []
    for i, word in enumerate(encoded):
        parts += (word, b" ", little[i].tobytes(), b"\n")
    return b"".join(parts)
