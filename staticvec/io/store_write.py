"""``staticvec store``: any model ``load_vectors`` reads, written as a store (the format
is in ``store.py``). Rows pass a block at a time from a word2vec file's reader to the
store (unit rows first, their int8 codes into an unnamed temporary file beside the
target, then norms, counts, words, the hash table, the codes and their bounds, a
fastText model's n-gram rows, then the header), so a multi-GB model needs memory for
its words, not its matrix."""
import hashlib
import json
import logging
import os
import tempfile
from typing import NamedTuple

import numpy as np

from staticvec.atomic import atomic_output, check_outputs, writes_in_place
from staticvec.errors import BadOptionError, FormatError
from staticvec.io.convert import _blocks, _open, _plan
from staticvec.io.dispatch import FORMATS, check_limit, first_occurrences, load_vectors
from staticvec.io.store import (_ALIGN, _FIELDS, _FIRST, _HAS_CODES, _HAS_COUNTS, _HAS_NGRAMS,
                                _MAX_WORDS, MAGIC, SECTIONS, SUBWORD_HASH, VERSION,
                                code_stride, fingerprint)
from staticvec.model.similarity import row_norms
from staticvec.model.stored import build_table, word_hash

log = logging.getLogger(__name__)


class _Sections:
    """Sections written one after another, each aligned, remembering where they went."""

    def __init__(self, out):
        self.out = out
        self.at = _FIRST
        self.places = {}
        out.write(b"\0" * _FIRST)

    def start(self, name):
        pad = -self.at % _ALIGN
        self.out.write(b"\0" * pad)
        self.at += pad
        self.places[name] = [self.at, 0]

    def write(self, name, data):
        data = memoryview(data).cast("B")
        self.out.write(data)
        self.at += len(data)
        self.places[name][1] += len(data)

    def whole(self, name, data):
        self.start(name)
        self.write(name, data)


class Written(NamedTuple):
    words: int
    dim: int
    bytes: int


def write_store(source, target, *, fmt=None, limit=None, encoding_errors="strict",
                progress=None, codes=True):
    """Write ``source`` (anything ``load_vectors`` reads) as a store at ``target``
    (atomically, never onto ``source``). Rows are streamed a block at a time from word2vec
    files; a fastText ``.bin`` is loaded whole and gives its word vectors, counts and
    n-gram bucket rows (unseen words get their n-gram vectors from the store as from the
    ``.bin``). ``codes``: write the int8 copy that the queries scan (False: every query
    scans the float32 rows)."""
    if fmt is not None and fmt not in FORMATS:
        raise BadOptionError(f"invalid value for --format: {fmt!r} (choose from "
                             f"{', '.join(FORMATS)})")
    check_limit(limit)
    source, target = os.fspath(source), os.fspath(target)
    if target == "-" or writes_in_place(target):
        raise BadOptionError(f"-o must name a regular file (got {target}): a store is written "
                             f"in place and mapped, not streamed")
    check_outputs([("-o", target)], [("MODEL", source)])
    print_ = fingerprint(source)
    blocks, total, counts, model = _source_blocks(source, fmt, limit, encoding_errors)
    seen, norms, encoded, dim = set(), [], [], None
    with atomic_output(target, "wb") as out, \
            tempfile.TemporaryFile(dir=os.path.dirname(os.path.abspath(target))) as spill:
        parts = _Sections(out)
        parts.start("unit")
        bounds = []
        for words, matrix in blocks:
            keep, _ = first_occurrences(words, seen)
            if len(keep) < len(words):
                words, matrix = [words[i] for i in keep], matrix[keep]
            matrix = np.asarray(matrix, dtype=np.float32)
            dim = matrix.shape[1]
            block_norms = row_norms(matrix)
            safe = np.where(block_norms > 0, block_norms, np.float32(1)).astype(np.float32)
            with np.errstate(over="ignore", invalid="ignore"):
                unit = (matrix / safe[:, None]).astype("<f4")
            unit[~np.isfinite(block_norms)] = 0.0
            parts.write("unit", unit)
            if codes:
                bounds.append(_quantise(unit, spill))
            norms.append(block_norms)
            encoded.extend(w.encode("utf-8") for w in words)
            if progress:
                progress("store", len(encoded), max(total, len(encoded)), unit="words")
        n = len(encoded)
        if n == 0 or dim is None:
            raise FormatError(f"{source}: no vectors to store")
        if n > _MAX_WORDS:
            raise FormatError(f"{source}: {n:,} words: a store holds at most {_MAX_WORDS:,}")
        parts.whole("norms", np.concatenate(norms).astype("<f4"))
        flags = 0
        if counts is not None and len(counts) >= n:
            flags |= _HAS_COUNTS
            parts.whole("counts", np.asarray(counts[:n], dtype="<i8"))
        else:
            parts.whole("counts", b"")
        lengths = np.fromiter((len(w) for w in encoded), dtype=np.uint64, count=n)
        parts.whole("ends", np.cumsum(lengths, dtype=np.uint64).astype("<u8"))
        parts.whole("blob", b"".join(encoded))
        slots = 1 << max(1, (2 * n).bit_length())
        hashes = np.fromiter((word_hash(w) for w in encoded), dtype=np.int64, count=n)
        table, probes = build_table(hashes, slots)
        parts.whole("table", table.astype("<u4"))
        meta = {"source": os.path.abspath(source), "fingerprint": print_, "format": fmt}
        if codes:
            flags |= _HAS_CODES
            parts.start("codes")
            spill.seek(0)
            while True:
                chunk = spill.read(16 << 20)
                if not chunk:
                    break
                parts.write("codes", chunk)
            parts.whole("bounds", np.concatenate(bounds).astype("<f4"))
        else:
            parts.whole("codes", b"")
            parts.whole("bounds", b"")
        ngrams = _ngram_rows(model)
        if ngrams is not None:
            flags |= _HAS_NGRAMS
            parts.start("ngrams")
            for lo in range(0, len(ngrams), 1 << 16):
                parts.write("ngrams", np.ascontiguousarray(ngrams[lo:lo + (1 << 16)],
                                                           dtype="<f4"))
            meta["subwords"] = {"minn": model.minn, "maxn": model.maxn,
                                "bucket": len(ngrams), "hash": SUBWORD_HASH}
        else:
            parts.whole("ngrams", b"")
        parts.whole("meta", json.dumps(meta).encode("utf-8"))
        fields = _FIELDS.pack(MAGIC, VERSION, flags, n, dim, slots, probes,
                              *[v for name in SECTIONS for v in parts.places[name]])
        out.seek(0)
        out.write(fields + hashlib.sha256(fields).digest())
        size = parts.at
    log.info(f"stored {n:,} words x {dim} in {target} ({size / 1e6:,.1f} MB)")
    return Written(n, dim, size)


def _quantise(unit, spill):
    """Write the int8 codes of the unit rows ``unit`` to ``spill``; return their bounds."""
    from staticvec import _kernels

    scan = _kernels.load("scan")
    codes = np.empty((len(unit), code_stride(unit.shape[1])), dtype=np.uint8)
    bounds = np.empty((len(unit), 3), dtype=np.float32)
    scan.quantise(np.ascontiguousarray(unit, dtype=np.float32), codes, bounds,
                  scan.ROW_LEVELS, True)
    spill.write(codes.data)
    return bounds


def _ngram_rows(model):
    """A fastText model's n-gram bucket rows (after its words' rows), or None."""
    if model is None or getattr(model, "input_matrix", None) is None or model.bucket <= 0:
        return None
    if model.maxn <= 0 or model.maxn < model.minn:
        return None
    return model.input_matrix[model.nwords:model.nwords + model.bucket]


def _source_blocks(source, fmt, limit, encoding_errors):
    """``(blocks of (words, matrix), rows expected, counts or None, the loaded model or
    None)``: streamed from a word2vec file, else from the loaded model."""
    plan = _plan(source, fmt, limit) if fmt != "store" else None
    if plan is not None:
        def streamed():
            stream, size = _open(source)
            with stream:
                yield from _blocks(source, stream, size, plan, encoding_errors)
        return streamed(), plan.rows, None, None
    vectors = load_vectors(source, fmt=fmt, encoding_errors=encoding_errors, limit=limit)
    step = max(1, (4 << 20) // (4 * vectors.dim))

    def loaded():
        for lo in range(0, len(vectors), step):
            yield vectors.words[lo:lo + step], vectors.matrix[lo:lo + step]
    return loaded(), len(vectors), vectors.counts, vectors
