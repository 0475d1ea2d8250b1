"""Vector files: word2vec binary and text, gensim's and GloVe's dialects, fastText delegation.

Writing:
  binary  ``V d\\n``, then per word: UTF-8 word, space, d little-endian float32, ``\\n``:
          byte for byte what word2vec C writes with ``-binary 1``.
  text    ``V d\\n``, then ``word v1 ... vd\\n`` with each value printed as the shortest
          decimal that reads back to the same float32 (gensim's ``save_word2vec_format``
          text output, byte for byte). Lossless, so text -> binary -> text is byte-exact.
Reading also takes gensim's binary dialect (no ``\\n`` after the floats), headerless
GloVe text, word2vec C's text (``%lf`` values, trailing space), ``.gz``/``.bz2``/``.xz``
compressed files, and hands fastText ``.bin`` models (magic 793712314) to
``staticvec.io.fasttext_bin``. The format is sniffed from the content; ``fmt`` forces it.

A binary file is read in 4 MB chunks, each scanned once by a small kernel
(``_kernels/vecio.pyx``) that copies every row's floats into the matrix and takes its
norm while the row is in cache; all words are decoded in one call. Damage is reported as one ``FormatError`` line naming the
file and what is wrong.
"""
import io
import os
import re
import stat
import sys

import numpy as np

from staticvec.atomic import atomic_output, check_output_name
from staticvec.text.corpus import DECOMPRESS_ERRORS, OPENERS, check_encoding_errors
from staticvec.errors import BadOptionError, FormatError, InputError, OutputError
from staticvec.progress import warn
from staticvec.model.vectors import Vectors, row_norms

FASTTEXT_MAGIC = 793712314
FORMATS = ("binary", "text", "fasttext")
_EXTENSIONS = {".bin": "binary", ".txt": "text", ".vec": "text"}
_TEXT_CHUNK_LINES = 20000


def format_from_extension(path):
    """'binary' or 'text' from ``path``'s extension (ignoring .gz/.bz2/.xz), else None."""
    root, ext = os.path.splitext(os.fspath(path))
    if ext.lower() in OPENERS:
        ext = os.path.splitext(root)[1]
    return _EXTENSIONS.get(ext.lower())


def _check_options(fmt, encoding_errors):
    if fmt is not None and fmt not in FORMATS:
        raise BadOptionError(f"invalid value for --format: {fmt!r} (choose from {', '.join(FORMATS)})")
    check_encoding_errors(encoding_errors)


# ---------------------------------------------------------------- reading
_HEAD = 1 << 17          # bytes read first: magic, header, format sniffing
_CHUNK = 4 << 20         # binary files are read in chunks this big (grown for huge rows)


def load_vectors(path, fmt=None, encoding_errors="strict"):
    """Read a vectors file (see the module docstring for the formats) into ``Vectors``."""
    _check_options(fmt, encoding_errors)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a vectors file")
    ext = os.path.splitext(path)[1].lower()
    if ext in OPENERS:
        try:
            with OPENERS[ext](path, "rb") as handle:
                data = handle.read()
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"{path}: damaged {ext} file ({exc})") from None
        return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors)
    try:
        stream = open(path, "rb", buffering=0)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    with stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):  # a FIFO, /dev/stdin, <(...): its size is unknown
            data = stream.readall()
            return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors)
        return _parse(stream, info.st_size, path, fmt, encoding_errors)


def _read_fully(stream, view):
    """Fill ``view`` from ``stream`` as far as the stream goes; bytes read."""
    done = 0
    while done < len(view):
        got = stream.readinto(view[done:])
        if not got:
            break
        done += got
    return done


def _parse(stream, size, path, fmt, encoding_errors):
    head = stream.read(_HEAD)
    if not head:
        raise FormatError(f"{path}: empty file")
    fasttext = len(head) >= 4 and int.from_bytes(head[:4], "little") == FASTTEXT_MAGIC
    if fasttext and fmt in (None, "fasttext"):
        return _load_fasttext(path)
    if fasttext:
        raise FormatError(f"{path} is a fastText .bin model, not {_FORMAT_NAMES[fmt]} (drop "
                          f"--format or use --format fasttext)")
    header, body_start = _read_header(head, path)
    if header is not None:
        _check_header_fits(header, size - body_start, 2 * header[1] + 1, head, path)
    sniffed = "text" if header is None else _sniff(head, body_start, header[1])
    if fmt is None and header is None and format_from_extension(path) == "binary":
        raise FormatError(f"{path}: not a word2vec binary file (the first line should be "
                          f"'WORDS DIM', e.g. '71290 100')")
    if fmt is not None:
        _check_forced(fmt, sniffed, head, header, body_start, path)
    fmt = fmt or sniffed
    if fmt == "binary":
        return _read_binary(stream, head, size, path, header, body_start, encoding_errors)
    data = head + stream.read()
    return _read_text(data, path, header, body_start if header else 0, encoding_errors)


_FORMAT_NAMES = {"binary": "word2vec binary", "text": "text", "fasttext": "a fastText .bin model"}
# bytes that never occur in a text vectors file (control characters but tab, LF, VT, FF, CR)
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32)) + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


def _is_text(chunk):
    """True if ``chunk`` holds no control byte (binary float data almost always does)."""
    return not chunk.translate(None, _NOT_CONTROL)


def _first_row(head, start):
    """The first vector row of ``head`` from ``start`` (blank lines skipped), up to its newline."""
    pos = start
    while pos < len(head) and head[pos] in b"\r\n":
        pos += 1
    end = head.find(b"\n", pos)
    return head[pos:end if end >= 0 else len(head)]


def _check_forced(fmt, sniffed, head, header, body_start, path):
    """``--format`` that contradicts the content is an error saying what the file is."""
    row = _first_row(head, body_start)
    looks_text = _is_text(head[:body_start] + row) and len(row.split()) >= 2 and all(
        _is_number(t) for t in row.split()[-1:])
    if looks_text:
        what = "a word2vec text file" if header else "a text vectors file without a header (GloVe style)"
        drop = "text"
    elif header is not None and sniffed == "binary":
        what, drop = "a word2vec binary file", "binary"
    else:
        what = drop = None
    if fmt == "fasttext":
        raise FormatError(f"{path} is {what}, not a fastText .bin model (drop --format or use "
                          f"--format {drop})" if what else
                          f"{path}: not a fastText .bin model (bad magic number)")
    if fmt == "binary" and (header is None or (looks_text and sniffed == "text")):
        if what:
            raise FormatError(f"{path} is {what}, not binary (drop --format or use --format text)")
        raise FormatError(f"{path}: not a word2vec binary file (the first line should be "
                          f"'WORDS DIM', e.g. '71290 100')")
    if fmt == "text" and drop == "binary":
        raise FormatError(f"{path} is a word2vec binary file, not text (drop --format or use "
                          f"--format binary)")


def _check_header_fits(header, remaining, row_bytes, head, path):
    """A header whose first row alone cannot fit in the file is damage, found before any
    buffer is sized from it (``row_bytes``: the smallest possible row)."""
    words, dim = header
    if row_bytes > remaining + 1:
        end = head.find(b"\n")
        line = head[:end if end >= 0 else len(head)].decode("ascii", "replace").strip()
        raise FormatError(f"{path}: bad header {line!r}: one vector of {dim:,} values cannot "
                          f"fit in the {max(remaining, 0):,} bytes after it")


def detect_format(path):
    """'binary', 'text' or 'fasttext', as ``load_vectors`` would read ``path`` (uncompressed)."""
    path = os.fspath(path)
    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
    if len(head) >= 4 and int.from_bytes(head[:4], "little") == FASTTEXT_MAGIC:
        return "fasttext"
    header, body_start = _read_header(head, path)
    return "text" if header is None else _sniff(head, body_start, header[1])


def _load_fasttext(path):
    try:
        from staticvec.io.fasttext_bin import load_model
    except ImportError:
        raise FormatError(f"{path}: a fastText .bin model, but this installation has no fastText "
                          f"reader (staticvec.io.fasttext_bin)") from None
    return load_model(path)


_INTEGER = re.compile(rb"[+-]?[0-9]+")


def _read_header(head, path):
    """``((V, d), offset after the header line)``, or ``(None, 0)`` if line 1 is not ``V d``."""
    end = head.find(b"\n", 0, 4096)
    line = head[:end] if end >= 0 else head[:4096]
    fields = line.split()
    if len(fields) != 2 or not all(_INTEGER.fullmatch(f) for f in fields):
        return None, 0
    text = line.decode("ascii").strip()
    if not all(f.isdigit() for f in fields):
        # "-3 3" could be a one-value GloVe row, but not when the next row is wider
        second = head[end + 1:head.find(b"\n", end + 1)] if end >= 0 else b""
        if len(second.split()) == 2:
            return None, 0
        raise FormatError(f"{path}: bad header {text!r}: the word count and dimension must be "
                          f"positive integers")
    words, dim = int(fields[0]), int(fields[1])
    if dim == 0:
        raise FormatError(f"{path}: dimension 0 in the header ({text!r})")
    if words == 0:
        raise FormatError(f"{path}: the header says the file holds 0 words")
    return (words, dim), (end + 1 if end >= 0 else len(head))


def _sniff(head, start, dim):
    """'text' if the rest of the first row is ``dim`` decimal numbers, else 'binary'."""
    pos = start
    while pos < len(head) and head[pos] == 10:
        pos += 1
    space = head.find(b" ", pos)
    if space < 0:
        return "text"
    line_end = head.find(b"\n", space + 1)
    values = head[space + 1:line_end if line_end >= 0 else len(head)]
    tokens = values.split()
    if len(tokens) >= dim and all(_is_number(t) for t in tokens[-dim:]):
        return "text"
    if tokens and _is_text(values) and all(_is_number(t) for t in tokens):
        return "text"  # fewer values than the header says: the text reader names the line
    return "binary"


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


def _read_binary(stream, head, size, path, header, body_start, encoding_errors):
    rows = BinaryRows(stream, head, size, path, header, body_start, whole=True)
    for _ in rows.blocks():
        pass
    words = rows.words(encoding_errors)
    # distinct bytes decode to distinct strings only when decoding is strict
    unique = encoding_errors == "strict" and _distinct(rows.hashes)
    return _build(words, rows.matrix, rows.norms, path, unique=unique)


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
                 block_rows=65536):
        self.stream, self.head, self.size, self.path = stream, head, size, path
        self.words_n, self.dim = header
        self.body_start = body_start
        row_bytes = 4 * self.dim + 1
        # a damaged header must not make us allocate more than the file can hold
        _check_header_fits(header, size - body_start, row_bytes + 1, head, path)
        self.capacity = min(self.words_n, max(size - body_start, 0) // row_bytes)
        rows = self.capacity if whole else min(self.capacity, block_rows)
        self.whole = whole
        self.matrix = np.empty((rows, self.dim), dtype=np.float32)
        self.norms = np.empty(rows, dtype=np.float32)
        self.starts = np.empty(self.capacity, dtype=np.int64)  # file offsets of the words
        self.ends = np.empty(self.capacity, dtype=np.int64)
        self.hashes = np.zeros(self.capacity, dtype=np.uint64)
        self.pieces = []  # "\n"-joined word bytes of each block
        self.rows_read = 0

    def blocks(self):
        """Yield ``(first_row, words_piece, matrix_block, norms_block)`` per scanned run."""
        scan, join = _scanner()
        dim = self.dim
        buf = bytearray(max(_CHUNK, min(4 * (4 * dim + 1), self.size + 1), len(self.head)))
        view = memoryview(buf)
        view[:len(self.head)] = self.head
        filled = len(self.head) + _read_fully(self.stream, view[len(self.head):])
        offset, pos, row, stop, problem = 0, self.body_start, 0, self.body_start, 0
        block = len(self.norms)
        while row < self.capacity:
            at = row if self.whole else 0
            want = self.capacity - row if self.whole else min(block, self.capacity - row)
            got, stop, problem = scan(view[:filled], pos, want, dim, self.matrix[at:],
                                      self.norms[at:], self.starts[row:], self.ends[row:])
            if got:
                starts, ends = self.starts[row:row + got], self.ends[row:row + got]
                piece = bytearray(int((ends - starts).sum()) + got - 1)
                join(view[:filled], starts, ends, piece, self.hashes[row:row + got])
                _check_finite(self.norms[at:at + got], self.matrix[at:at + got],
                              lambda k, w: f"{self.path} word {row + k + 1} ({w!r})", piece)
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
            raise FormatError(f"{self.path}: {self.size - at:,} unexpected bytes at byte offset "
                              f"{at:,}, after the {self.words_n:,} words the header announces "
                              f"(the header or the file is damaged)")

    def words(self, encoding_errors="strict"):
        """All words, decoded (after ``blocks`` has run to the end)."""
        return _decode_words(b"\n".join(self.pieces), self.ends - self.starts, self.starts,
                             self.path, encoding_errors)


def open_binary_rows(path, block_rows=65536):
    """``(BinaryRows, file)`` for an uncompressed word2vec binary file, else None
    (text, fastText, compressed, or anything not to be streamed); close the file after."""
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() in OPENERS or not os.path.isfile(path):
        return None
    stream = open(path, "rb", buffering=0)
    try:
        head = stream.read(_HEAD)
        header, body_start = _read_header(head, path)
        if (len(head) >= 4 and int.from_bytes(head[:4], "little") == FASTTEXT_MAGIC
                or header is None or _sniff(head, body_start, header[1]) != "binary"):
            stream.close()
            return None
        size = os.fstat(stream.fileno()).st_size
        return BinaryRows(stream, head, size, path, header, body_start, block_rows=block_rows), stream
    except BaseException:
        stream.close()
        raise


def _distinct(hashes):
    """True if no two words share a hash (so no two are equal); False means "check"."""
    if len(hashes) < 2 or not hashes.any():
        return len(hashes) < 2
    ordered = np.sort(hashes)
    return not bool((ordered[1:] == ordered[:-1]).any())


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
            problem = 1
            break
        space = data.find(b" ", pos)
        if space < 0:
            problem = 2
            break
        if space + 1 + nbytes > size:
            problem = 3
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
    if problem == 3:
        space = tail.find(b" ", start)
        word = tail[start:space].decode("utf-8", "replace")
        have = (len(tail) - (space + 1)) // 4
        return (f"{base} in word {rows + 1} ({word!r}), which has {have} of its {dim} floats "
                f"(fewer floats than the dimension; the row starts at byte offset {at + start:,})")
    if problem == 2:
        return f"{base} inside word {rows + 1} (byte offset {at + start:,}), before its vector"
    return f"{base} after {rows:,} (at byte offset {at + len(tail):,})"


def _check_finite(norms, matrix, label, words, raw=None):
    """A NaN/inf value would turn every similarity with its row into NaN: refuse the file,
    naming the row and its word. (Finite values so large that the float32 norm overflows
    are kept: such rows are never answers, see ``vectors.never_zero_rows``.)
    ``words``: the rows' ``\n``-joined word bytes, or a list of words; ``raw(row, col)``:
    the value as written (text files)."""
    ok = np.isfinite(norms)
    if ok.all():
        return
    for k in np.flatnonzero(~ok).tolist():
        row = matrix[k]
        bad = np.flatnonzero(~np.isfinite(row))
        if not len(bad):
            continue
        word = (bytes(words).split(b"\n") if isinstance(words, (bytes, bytearray)) else words)[k]
        if isinstance(word, (bytes, bytearray)):
            word = word.decode("utf-8", "replace")
        written = raw(k, int(bad[0])) if raw is not None else None
        if written is not None and np.isfinite(float(written)):
            what = f"a value out of float32 range ({written.decode('ascii', 'replace')})"
        else:
            what = f"a non-finite value ({float(row[bad[0]])})"
        raise FormatError(f"{label(k, word)} has {what}")


def _decode_words(blob, lengths, starts, path, encoding_errors, describe=None):
    """Decode ``\\n``-joined words; on strict failure name the file byte offset."""
    try:
        text = blob.decode("utf-8", encoding_errors)
    except UnicodeDecodeError as exc:
        seps = np.cumsum(lengths + 1) - 1  # blob offset of the "\n" after each word
        i = int(np.searchsorted(seps, exc.start, side="right"))
        word_offset = exc.start - (int(seps[i - 1]) + 1 if i > 0 else 0)
        where = describe(i) if describe else f"word {i + 1}"
        raise FormatError(f"{path}: invalid UTF-8 in {where} at byte offset "
                          f"{int(starts[i]) + word_offset} (try --encoding-errors replace "
                          f"or ignore)") from None
    words = text.split("\n")
    if len(words) != len(lengths):  # a word with a newline inside: decode one by one
        words, pos = [], 0
        for length in lengths.tolist():
            words.append(bytes(blob[pos:pos + length]).decode("utf-8", encoding_errors))
            pos += length + 1
    return words


def _build(words, matrix, norms, path, unique=False):
    """``Vectors`` without duplicate words (first one kept, with a warning). When the words
    are known to be distinct the index is left to be built on first need: a CLI query
    then never pays for a million-entry dict."""
    if unique:
        return Vectors(words, matrix, norms=norms, unique=True)
    index = dict(zip(words, range(len(words))))
    if len(index) != len(words):
        seen, keep, dups = set(), [], []
        for i, word in enumerate(words):
            if word in seen:
                dups.append(word)
            else:
                seen.add(word)
                keep.append(i)
        warn(f"{path}: {len(dups):,} duplicate word(s), e.g. {dups[0]!r}: kept the first vector of each")
        words = [words[i] for i in keep]
        matrix = matrix[keep]
        norms = norms[keep] if norms is not None else None
        index = dict(zip(words, range(len(words))))
    return Vectors(words, matrix, norms=norms, index=index)


def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def _read_text(data, path, header, start, encoding_errors):
    """``data``: the whole file; ``start``: where the vectors begin (after a header)."""
    words_n, dim = header if header else (None, None)
    lines = data.split(b"\n")
    if header:
        del lines[0]
    first_line_no = 2 if header else 1
    word_bytes, line_nos, chunks, values = [], [], [], []
    for k, line in enumerate(lines):
        parts = line.split()
        if not parts:
            continue
        line_no = first_line_no + k
        if words_n is not None and len(word_bytes) == words_n:
            raise FormatError(f"{path}: line {line_no}: more vectors than the {words_n:,} the "
                              f"header announces (the header or the file is damaged)")
        if dim is None:
            dim = len(parts) - 1
            if dim == 0:
                raise FormatError(f"{path}: line {line_no} has a word and no values (dimension 0)")
        if len(parts) != dim + 1:
            word = parts[0].decode("utf-8", "replace")
            first = lines[line_nos[0] - 1].strip() if line_nos else b""
            if header is None and len(line_nos) == 1 and _INTEGER.fullmatch(first.split()[-1]):
                first = first.decode("utf-8", "replace")
                raise FormatError(f"{path}: bad header {first!r} (expected 'WORDS DIM', e.g. "
                                  f"'71290 100'; line {line_no} has {len(parts) - 1} values)")
            if len(parts) < dim + 1 or _is_number(parts[1]):
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
    if words_n is not None and len(word_bytes) < words_n:
        raise FormatError(f"{path}: truncated: the header says {words_n:,} words but the file "
                          f"has {len(word_bytes):,}")
    if not word_bytes:
        raise FormatError(f"{path}: no vectors in the file")
    matrix = np.concatenate(chunks).reshape(len(word_bytes), dim)
    norms = row_norms(matrix)
    _check_finite(norms, matrix, lambda k, w: f"{path} line {line_nos[k]}: word {w!r}", word_bytes,
                  lambda k, col: lines[line_nos[k] - first_line_no].split()[col - dim])
    lengths = np.fromiter((len(w) for w in word_bytes), dtype=np.int64, count=len(word_bytes))
    offsets = _LineOffsets(lines, start, first_line_no)

    def describe(i):
        return f"the word on line {line_nos[i]}"

    starts = _LazyStarts(offsets, line_nos, lines, first_line_no)
    words = _decode_words(b"\n".join(word_bytes), lengths, starts, path, encoding_errors, describe)
    return _build(words, matrix, norms, path)


def _to_floats(values, path, line_nos, dim):
    try:
        with np.errstate(over="ignore"):  # 1e40 becomes inf, refused by _check_finite
            return np.array(values, dtype=np.float32)
    except ValueError:
        pass
    first_entry = len(line_nos) - len(values) // dim
    for k, token in enumerate(values):
        if not _is_number(token):
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


# ---------------------------------------------------------------- writing
def save_vectors(vectors_or_pair, path, fmt=None):
    """Write ``Vectors`` or ``(words, matrix)`` as word2vec binary or text (atomically).

    ``fmt`` None: by extension (``.bin`` binary, ``.txt``/``.vec`` text; ``-`` = text on stdout).
    """
    if isinstance(vectors_or_pair, Vectors):
        words, matrix = vectors_or_pair.words, vectors_or_pair.matrix
    else:
        words, matrix = vectors_or_pair
    path = os.fspath(path)
    fmt = output_format(path, fmt)
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"matrix of shape {matrix.shape} does not match {len(words)} words")
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float32)
    encoded = _encode_words(words, path)
    with atomic_output(path, "wb") as out:
        out.write(f"{len(words)} {matrix.shape[1]}\n".encode("ascii"))
        if fmt == "binary":
            _write_binary(out, encoded, matrix)
        else:
            _write_text(out, encoded, matrix)


def output_format(path, fmt=None):
    """The format a vectors file ``path`` is written in: ``fmt``, else from its extension
    (``-`` is text on stdout). A trainer calls it before any work, so a name that tells no
    format, or a compressed one, is refused in a second, not after an hour of training."""
    check_output_name(path)
    if fmt is None:
        fmt = "text" if str(path) == "-" else format_from_extension(path)
        if fmt is None:
            raise BadOptionError(f"cannot tell the vectors format of {path} from its extension: "
                                 f"use .bin (word2vec binary) or .txt/.vec (text)")
    if fmt not in ("binary", "text"):
        raise BadOptionError(f"invalid vectors format {fmt!r} (binary or text)")
    return fmt


def _encode_words(words, path):
    blob = "\n".join(words).encode("utf-8")
    encoded = blob.split(b"\n")
    if len(blob.split()) != len(words) or len(encoded) != len(words):
        for word in words:
            raw = word.encode("utf-8")
            if not raw or len(raw.split()) != 1 or raw.split()[0] != raw:
                raise OutputError(f"cannot write {path}: word {word!r} is empty or contains "
                                  f"whitespace, which the word2vec format cannot store")
    return encoded


def _write_binary(out, encoded, matrix):
    little = matrix.astype("<f4", copy=False)
    step = 8192
    for start in range(0, len(encoded), step):
        parts = []
        for i in range(start, min(start + step, len(encoded))):
            parts += (encoded[i], b" ", little[i].tobytes(), b"\n")
        out.write(b"".join(parts))


def _write_text(out, encoded, matrix):
    """Values as ``str(np.float32)`` prints them (shortest round-trip decimal): by the
    vecio kernel (checked against numpy on every float32 of several whole binades) for
    1e-4 <= |x| < 2**24 and zero, by numpy for the rare rest."""
    formatter = _text_formatter()
    step = 2048
    for start in range(0, len(encoded), step):
        block = np.ascontiguousarray(matrix[start:start + step], dtype=np.float32)
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
            lines.append(encoded[start + k] + b" " + values + b"\n")
        out.write(b"".join(lines))


def _text_formatter():
    """(format_rows, bytes per value) from the vecio kernel, or None (numpy formats all)."""
    try:
        from staticvec import _kernels
        vecio = _kernels.load("vecio")
        return vecio.format_rows, vecio.FORMAT_WIDTH
    except ImportError:
        return None
