"""What a vectors file is, from its first bytes: fastText magic, a ``V d`` header, text or
binary rows; and the checks that a forced ``--format`` matches the content.

Everything here looks at ``head`` (the first ``HEAD_BYTES`` of the file) only, so a
wrong or damaged file is named before anything is sized from it.
"""
import re

from staticvec.errors import FormatError
from staticvec.io.fasttext_bin import MAGIC as FASTTEXT_MAGIC
from staticvec.io.store import is_store

HEAD_BYTES = 1 << 17  # bytes read first: magic, header, format sniffing
FORMAT_NAMES = {"binary": "word2vec binary", "text": "text", "fasttext": "a fastText .bin model",
                "store": "a staticvec store"}
INTEGER = re.compile(rb"[+-]?[0-9]+")
# bytes that never occur in a text vectors file (control characters but tab, LF, VT, FF, CR)
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32)) + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


def read_head(stream):
    """The first bytes of ``stream``: enough to sniff the format and parse the header."""
    return stream.read(HEAD_BYTES)


def is_fasttext(head):
    """True if ``head`` starts with the fastText ``.bin`` magic number."""
    return len(head) >= 4 and int.from_bytes(head[:4], "little") == FASTTEXT_MAGIC


def is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def is_text(chunk):
    """True if ``chunk`` holds no control byte (binary float data almost always does)."""
    return not chunk.translate(None, _NOT_CONTROL)


def read_header(head, path):
    """``((V, d), offset after the header line)``, or ``(None, 0)`` if line 1 is not ``V d``."""
    end = head.find(b"\n", 0, 4096)
    line = head[:end] if end >= 0 else head[:4096]
    fields = line.split()
    if len(fields) != 2 or not all(INTEGER.fullmatch(f) for f in fields):
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


def sniff_rows(head, start, dim):
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
    if len(tokens) >= dim and all(is_number(t) for t in tokens[-dim:]):
        return "text"
    if tokens and is_text(values) and all(is_number(t) for t in tokens):
        return "text"  # fewer values than the header says: the text reader names the line
    return "binary"


def sniff_format(head, path):
    """'binary', 'text', 'fasttext' or 'store', as the loader would read a file starting
    with ``head``."""
    if is_store(head):
        return "store"
    if is_fasttext(head):
        return "fasttext"
    header, body_start = read_header(head, path)
    return "text" if header is None else sniff_rows(head, body_start, header[1])


def check_header_fits(header, remaining, row_bytes, head, path):
    """A header whose first row alone cannot fit in the file is damage, found before any
    buffer is sized from it (``row_bytes``: the smallest possible row)."""
    words, dim = header
    if row_bytes > remaining + 1:
        end = head.find(b"\n")
        line = head[:end if end >= 0 else len(head)].decode("ascii", "replace").strip()
        raise FormatError(f"{path}: bad header {line!r}: one vector of {dim:,} values cannot "
                          f"fit in the {max(remaining, 0):,} bytes after it")


def not_word2vec_binary(path):
    """The error for a file forced or named as binary that has no ``V d`` header."""
    return FormatError(f"{path}: not a word2vec binary file (the first line should be "
                       f"'WORDS DIM', e.g. '71290 100')")


def _first_row(head, start):
    """The first vector row of ``head`` from ``start`` (blank lines skipped), up to its newline."""
    pos = start
    while pos < len(head) and head[pos] in b"\r\n":
        pos += 1
    end = head.find(b"\n", pos)
    return head[pos:end if end >= 0 else len(head)]


def check_forced_format(fmt, sniffed, head, header, body_start, path):
    """``--format`` that contradicts the content is an error saying what the file is."""
    row = _first_row(head, body_start)
    looks_text = is_text(head[:body_start] + row) and len(row.split()) >= 2 and all(
        is_number(t) for t in row.split()[-1:])
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
        raise not_word2vec_binary(path)
    if fmt == "text" and drop == "binary":
        raise FormatError(f"{path} is a word2vec binary file, not text (drop --format or use "
                          f"--format binary)")
