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
``staticvec.fasttext_bin``. The format is sniffed from the content; ``fmt`` forces it.

A binary file is read in 4 MB chunks, each scanned once by a small kernel
(``_kernels/vecio.pyx``) that copies every row's floats into the matrix and takes its
norm while the row is in cache; all words are decoded in one call. Damage is reported as one ``FormatError`` line naming the
file and what is wrong.
"""
import lzma
import io
import os
import sys

import numpy as np

from staticvec.atomic import atomic_output
from staticvec.corpus import OPENERS, check_encoding_errors
from staticvec.errors import BadOptionError, FormatError, InputError, OutputError
from staticvec.progress import warn
from staticvec.vectors import Vectors, row_norms

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
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise FormatError(f"{path}: damaged {ext} file ({exc})") from None
        return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors)
    try:
        stream = open(path, "rb", buffering=0)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    with stream:
        return _parse(stream, os.fstat(stream.fileno()).st_size, path, fmt, encoding_errors)


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
    magic = int.from_bytes(head[:4], "little") if len(head) >= 4 else None
    if fmt == "fasttext" or (fmt is None and magic == FASTTEXT_MAGIC):
        return _load_fasttext(path)
    header, body_start = _read_header(head, path)
    if fmt is None:
        if header is None:
            if format_from_extension(path) == "binary":
                raise FormatError(f"{path}: not a word2vec binary file (the first line should be "
                                  f"'WORDS DIM', e.g. '71290 100')")
            fmt = "text"
        else:
            fmt = _sniff(head, body_start, header[1])
    if fmt == "binary":
        if header is None:
            raise FormatError(f"{path}: not a word2vec binary file (the first line should be "
                              f"'WORDS DIM', e.g. '71290 100')")
        return _read_binary(stream, head, size, path, header, body_start, encoding_errors)
    data = head + stream.read()
    return _read_text(data, path, header, body_start if header else 0, encoding_errors)


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
        from staticvec.fasttext_bin import load_model
    except ImportError:
        raise FormatError(f"{path}: a fastText .bin model, but this installation has no fastText "
                          f"reader (staticvec.fasttext_bin)") from None
    return load_model(path)


def _read_header(head, path):
    """``((V, d), offset after the header line)``, or ``(None, 0)`` if line 1 is not ``V d``."""
    end = head.find(b"\n", 0, 4096)
    line = head[:end] if end >= 0 else head[:4096]
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None, 0
    words, dim = int(fields[0]), int(fields[1])
    if dim == 0:
        raise FormatError(f"{path}: dimension 0 in the header ({line.decode('ascii').strip()!r})")
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
    tokens = head[space + 1:line_end if line_end >= 0 else len(head)].split()
    if len(tokens) >= dim and all(_is_number(t) for t in tokens[-dim:]):
        return "text"
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
        # a damaged header must not make us allocate more rows than the file can hold
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
        buf = bytearray(max(_CHUNK, 4 * (4 * dim + 1), len(self.head)))
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
            raise FormatError(_truncation_message(tail, self.path, self.words_n, dim, row, problem))
        if tail.strip(b"\n"):
            warn(f"{self.path}: ignoring {self.size - offset - stop:,} bytes after the "
                 f"{self.words_n:,} words the header announces")

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


def _truncation_message(tail, path, words_n, dim, rows, problem):
    """``tail``: the file from the start of the row that could not be read."""
    base = f"{path}: truncated: the header says {words_n:,} words but the file ends"
    if problem == 3:
        start = len(tail) - len(tail.lstrip(b"\n"))
        space = tail.find(b" ", start)
        word = tail[start:space].decode("utf-8", "replace")
        have = (len(tail) - (space + 1)) // 4
        return (f"{base} in word {rows + 1} ({word!r}), which has {have} of its {dim} floats "
                f"(fewer floats than the dimension)")
    if problem == 2:
        return f"{base} inside word {rows + 1}, before its vector"
    return f"{base} after {rows:,}"


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
    extra_lines = 0
    for k, line in enumerate(lines):
        parts = line.split()
        if not parts:
            continue
        line_no = first_line_no + k
        if words_n is not None and len(word_bytes) == words_n:
            extra_lines += 1
            continue
        if dim is None:
            dim = len(parts) - 1
            if dim == 0:
                raise FormatError(f"{path}: line {line_no} has a word and no values (dimension 0)")
        if len(parts) != dim + 1:
            word = parts[0].decode("utf-8", "replace")
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
    if extra_lines:
        warn(f"{path}: ignoring {extra_lines:,} line(s) after the {words_n:,} words the header "
             f"announces")
    matrix = np.concatenate(chunks).reshape(len(word_bytes), dim)
    lengths = np.fromiter((len(w) for w in word_bytes), dtype=np.int64, count=len(word_bytes))
    offsets = _LineOffsets(lines, start, first_line_no)

    def describe(i):
        return f"the word on line {line_nos[i]}"

    starts = _LazyStarts(offsets, line_nos, lines, first_line_no)
    words = _decode_words(b"\n".join(word_bytes), lengths, starts, path, encoding_errors, describe)
    return _build(words, matrix, None, path)


def _to_floats(values, path, line_nos, dim):
    try:
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
    if fmt is None:
        fmt = "text" if path == "-" else format_from_extension(path)
        if fmt is None:
            raise BadOptionError(f"cannot tell the vectors format of {path} from its extension: "
                                 f"use .bin (binary) or .txt/.vec (text), or --format")
    if fmt not in ("binary", "text"):
        raise BadOptionError(f"invalid vectors format {fmt!r} (binary or text)")
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
