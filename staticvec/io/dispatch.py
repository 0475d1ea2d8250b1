"""The one door to vector files: ``load_vectors``, ``save_vectors``, ``output_format``,
``detect_format`` (``convert.py`` streams one file into another).

Formats: word2vec binary (``word2vec_binary.py``) and text (``word2vec_text.py``), with
gensim's and GloVe's dialects, ``.gz``/``.bz2``/``.xz`` compressed copies, and fastText
``.bin`` models (magic 793712314, ``fasttext_bin.py``), and staticvec stores (``store.py``,
memory-mapped, not read: ``StoredVectors``). The format is sniffed from the
content (``sniff.py``); ``fmt`` forces it, and a forced format that contradicts the
content is an error saying what the file is.

The readers return plain data; this module is the one place that builds ``Vectors`` and
``FastTextVectors`` from it (dropping repeated words, with a warning).
"""
import io
import logging
import os
import stat

import numpy as np

from staticvec.atomic import atomic_output, check_output_name
from staticvec.errors import BadOptionError, FormatError, InputError, OutputError
from staticvec.io.rows import check_finite
from staticvec.io.sniff import (FORMAT_NAMES, check_forced_format, check_header_fits,
                                is_fasttext, not_word2vec_binary, read_head, read_header,
                                sniff_format, sniff_rows)
from staticvec.io.word2vec_binary import read_binary, write_binary
from staticvec.io.word2vec_text import read_text, write_text
from staticvec.io.store import is_store, read_store
from staticvec.model.fasttext import FastTextVectors
from staticvec.model.stored import StoredVectors
from staticvec.model.similarity import row_norms
from staticvec.model.subwords import compose, ngram_count_bound, subword_csr
from staticvec.model.vectors import Vectors, register_writer
from staticvec.text.corpus import DECOMPRESS_ERRORS, OPENERS, check_encoding_errors

log = logging.getLogger(__name__)

FORMATS = ("binary", "text", "fasttext", "store")
_EXTENSIONS = {".bin": "binary", ".txt": "text", ".vec": "text"}


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


def check_limit(limit):
    """``limit`` (``--limit``) must be None or an integer >= 1."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise BadOptionError(f"--limit must be an integer >= 1 (got {limit!r})")


def load_vectors(path, fmt=None, encoding_errors="strict", limit=None):
    """Read a vectors file (see the module docstring for the formats) into ``Vectors``
    (``FastTextVectors`` for a fastText ``.bin``).

    ``limit``: only the first ``limit`` words, the rest of the file unread (a header may
    announce more). A fastText ``.bin`` is read whole (its n-gram rows follow the words):
    there ``limit`` keeps the first words as the vocabulary, and the others keep their
    vectors through ``vector()``, as unseen words do."""
    _check_options(fmt, encoding_errors)
    check_limit(limit)
    path = os.fspath(path)
    check_vectors_path(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in OPENERS and _store_named(path, fmt):
        return StoredVectors(read_store(path, limit))
    if ext in OPENERS:
        try:
            with OPENERS[ext](path, "rb") as handle:
                if limit is None:
                    data = handle.read()
                    return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors)
                return _parse_compressed_prefix(handle, path, fmt, encoding_errors, limit)
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"{path}: damaged {ext} file ({exc})") from None
    try:
        stream = open(path, "rb", buffering=0)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    with stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):  # a FIFO, /dev/stdin, <(...): its size is unknown
            data = stream.readall()
            return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors, limit)
        return _parse(stream, info.st_size, path, fmt, encoding_errors, limit)


def check_vectors_path(path):
    """A vectors file to read must exist and not be a folder (one line naming it)."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a vectors file")


def _store_named(path, fmt):
    """True if ``path`` is a store (by its magic) that ``fmt`` allows; a contradiction
    between the two is an error saying what the file is."""
    magic = b""
    if os.path.isfile(path):  # never open a FIFO or device here: it can be read only once
        try:
            with open(path, "rb") as handle:
                magic = handle.read(8)
        except PermissionError:
            raise InputError(f"{path}: permission denied") from None
    if is_store(magic):
        if fmt in (None, "store"):
            return True
        raise FormatError(f"{path} is a staticvec store, not {FORMAT_NAMES[fmt]} (drop --format "
                          f"or use --format store)")
    if fmt == "store":
        raise FormatError(f"{path}: not a staticvec store (bad magic number)")
    return False


def _parse_compressed_prefix(handle, path, fmt, encoding_errors, limit):
    """The first ``limit`` words of a compressed file, decompressing no more than needed:
    text up to the line that holds them; binary in growing prefixes until they parse."""
    data = handle.read(1 << 20)
    while True:
        more = handle.read(max(len(data), 1 << 20))
        if not more:  # the whole file: parse it as it is (errors and all)
            return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors, limit)
        data += more
        try:
            return _parse(io.BytesIO(data), len(data), path, fmt, encoding_errors, limit,
                          prefix=True)
        except _PrefixTooShort:
            continue


class _PrefixTooShort(Exception):
    """A compressed file's prefix does not hold the words asked for yet."""


def _parse(stream, size, path, fmt, encoding_errors, limit=None, prefix=False):
    """``prefix``: ``stream`` holds only the start of the file (``_PrefixTooShort`` when the
    ``limit`` words are not all in it)."""
    head = read_head(stream)
    layout = word2vec_layout(head, None if prefix else size, path, fmt)
    if layout is None and is_store(head):
        raise FormatError(f"{path}: a staticvec store is mapped: it must be an uncompressed "
                          f"regular file (decompress it first)")
    if layout is None:
        return load_fasttext(path) if limit is None else load_fasttext(path, limit)
    fmt, header, body_start = layout
    if fmt == "binary":
        try:
            rows = read_binary(stream, head, size, path, header, body_start, encoding_errors,
                               limit)
        except FormatError:
            if prefix:
                raise _PrefixTooShort() from None
            raise
    else:
        data = head + (stream.read() if limit is None else _lines_prefix(stream, head, limit
                                                                         + bool(header)))
        if prefix and limit is not None and _rows_in(data) < limit + bool(header):
            raise _PrefixTooShort()
        rows = read_text(data, path, header, body_start if header else 0, encoding_errors,
                         limit)
    return _build_vectors(rows, path)


def word2vec_layout(head, size, path, fmt=None):
    """``(format, header or None, offset of the first row)`` of a file starting with
    ``head`` (``size``: its length, None if unknown), or None for a fastText ``.bin``
    that ``fmt`` allows; damage and contradictions with ``fmt`` raise ``FormatError``."""
    if not head:
        raise FormatError(f"{path}: empty file")
    if is_store(head) or fmt == "store":
        if not is_store(head):
            raise FormatError(f"{path}: not a staticvec store (bad magic number)")
        if fmt in (None, "store"):
            return None
        raise FormatError(f"{path} is a staticvec store, not {FORMAT_NAMES[fmt]} (drop --format "
                          f"or use --format store)")
    if is_fasttext(head):
        if fmt in (None, "fasttext"):
            return None
        raise FormatError(f"{path} is a fastText .bin model, not {FORMAT_NAMES[fmt]} (drop "
                          f"--format or use --format fasttext)")
    header, body_start = read_header(head, path)
    if header is not None and size is not None:
        check_header_fits(header, size - body_start, 2 * header[1] + 1, head, path)
    sniffed = "text" if header is None else sniff_rows(head, body_start, header[1])
    if fmt is None and header is None and format_from_extension(path) == "binary":
        raise not_word2vec_binary(path)
    if fmt is not None:
        check_forced_format(fmt, sniffed, head, header, body_start, path)
    return fmt or sniffed, header, body_start


def _rows_in(data):
    """Complete non-blank lines in ``data``."""
    end = data.rfind(b"\n")
    return sum(1 for line in data[:end].split(b"\n") if line.strip()) if end >= 0 else 0


def _lines_prefix(stream, head, lines):
    """What follows ``head`` in ``stream`` up to the line that completes ``lines`` non-blank
    lines (counting those of ``head``), or to the end of the file: never the rest of it."""
    parts, chunk = [], 1 << 16
    have = _rows_in(head)
    tail = head[head.rfind(b"\n") + 1:]
    while have < lines:
        more = stream.read(chunk)
        if not more:
            break
        parts.append(more)
        have += _rows_in(tail + more)
        tail = (tail + more)[(tail + more).rfind(b"\n") + 1:]
        chunk = min(chunk * 2, 1 << 24)
    return b"".join(parts)


def detect_format(path):
    """'binary', 'text' or 'fasttext', as ``load_vectors`` would read ``path`` (uncompressed)."""
    path = os.fspath(path)
    with open(path, "rb") as handle:
        return sniff_format(read_head(handle), path)


def load_fasttext(path, limit=None):
    """A fastText ``.bin`` (ours or Facebook's) as ``FastTextVectors``: the record read by
    ``fasttext_bin.read_model``, with every vocabulary word's vector composed (``limit``:
    the vocabulary is the first ``limit`` words; see ``load_vectors``)."""
    try:
        from staticvec.io.fasttext_bin import read_model
    except ImportError:
        raise FormatError(f"{path}: a fastText .bin model, but this installation has no fastText "
                          f"reader (staticvec.io.fasttext_bin)") from None
    model = read_model(path)
    args = model["args"]
    words = model["words"]
    minn, maxn, bucket = args["minn"], args["maxn"], args["bucket"]
    budget = 16 * os.path.getsize(path) + (1 << 24)
    if ngram_count_bound(words, minn, maxn, bucket) > budget:
        raise FormatError(f"{path}: damaged fastText model (n-grams of {minn}-{maxn} characters "
                          f"of its words would need more memory than a model of this size can)")
    indptr, indices = subword_csr(words, minn, maxn, bucket)
    matrix = compose(model["input"], indptr, indices)
    norms = row_norms(matrix)
    check_finite(norms, matrix, lambda k, w: f"{path} word {k + 1} ({words[k]!r})", words)
    model_words = None
    if limit is not None and limit < len(words):
        model_words = words
        words, matrix, norms = words[:limit], matrix[:limit], norms[:limit]
    return FastTextVectors(
        words, matrix, model["counts"][:len(words)], input_matrix=model["input"],
        output_matrix=model["output"], minn=minn, maxn=maxn, bucket=bucket,
        args=dict(args, ntokens=model["ntokens"]), norms=norms, model_words=model_words)


def first_occurrences(words, seen):
    """(indices of the words not in ``seen`` nor earlier in ``words``, the repeated
    words); ``seen`` grows by the new ones (so a stream of blocks can share it)."""
    keep, repeated = [], []
    for i, word in enumerate(words):
        if word in seen:
            repeated.append(word)
        else:
            seen.add(word)
            keep.append(i)
    return keep, repeated


def _build_vectors(rows, path):
    """``Vectors`` without duplicate words (first one kept, with a warning). When the words
    are known to be distinct the index is left to be built on first need: a CLI query
    then never pays for a million-entry dict."""
    words, matrix, norms, distinct = rows
    if distinct:
        return Vectors(words, matrix, norms=norms, unique=True)
    index = dict(zip(words, range(len(words))))
    if len(index) != len(words):
        keep, dups = first_occurrences(words, set())
        log.warning(f"{path}: {len(dups):,} duplicate word(s), e.g. {dups[0]!r}: kept the "
                    f"first vector of each")
        words = [words[i] for i in keep]
        matrix = matrix[keep]
        norms = norms[keep] if norms is not None else None
        index = dict(zip(words, range(len(words))))
    return Vectors(words, matrix, norms=norms, index=index)


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
    encoded = encode_words(words, path)
    with atomic_output(path, "wb") as out:
        (write_binary if fmt == "binary" else write_text)(out, encoded, matrix)


register_writer(lambda vectors, path, fmt: save_vectors(vectors, path, fmt))


def output_format(path, fmt=None):
    """The format a vectors file ``path`` is written in: ``fmt``, else from its extension
    (``-`` is text on stdout; ``v.bin.gz`` is compressed binary). A trainer calls it before
    any work, so a name that tells no format is refused in a second, not after an hour of
    training."""
    check_output_name(path)
    if fmt is None:
        fmt = "text" if str(path) == "-" else format_from_extension(path)
        if fmt is None:
            raise BadOptionError(f"cannot tell the vectors format of {path} from its extension: "
                                 f"use .bin (word2vec binary) or .txt/.vec (text)")
    if fmt not in ("binary", "text"):
        raise BadOptionError(f"invalid vectors format {fmt!r} (binary or text)")
    return fmt


def encode_words(words, path):
    """The words as UTF-8, refusing one the word2vec formats cannot store."""
    blob = "\n".join(words).encode("utf-8")
    encoded = blob.split(b"\n")
    if len(blob.split()) != len(words) or len(encoded) != len(words):
        for word in words:
            raw = word.encode("utf-8")
            if not raw or len(raw.split()) != 1 or raw.split()[0] != raw:
                raise OutputError(f"cannot write {path}: word {word!r} is empty or contains "
                                  f"whitespace, which the word2vec format cannot store")
    return encoded
