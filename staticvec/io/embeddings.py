"""Sentence vectors on disk: ``embed`` (one vector per input line) and ``search`` (the
lines nearest to a query line), with the arithmetic of ``model/sentences.py``.

``embed`` streams: lines are pooled in blocks into an unnamed temporary file beside the
output (4 x dim bytes a line), then written out in the requested format; so any number
of lines takes a block's memory, SIF's common component can be found over all of them
before any is written, and the output appears whole or not at all. Formats, by the
output's extension: ``.npy`` (float32, N x d: row k is line k + 1), ``.bin`` / ``.txt``
/ ``.vec`` (word2vec binary or text, keyed by line number), ``.jsonl`` or ``--json``
(``{"line": k, "vector": [...]}`` a line).
"""
import json
import logging
import os
import tempfile
import tokenize

import numpy as np

from staticvec.atomic import atomic_output, check_outputs, outputs_together
from staticvec.errors import BadOptionError, FormatError, InputError
from staticvec.io.dispatch import format_from_extension
from staticvec.io.word2vec_binary import binary_rows
from staticvec.io.word2vec_text import text_rows
from staticvec.model.sentences import ComponentSum, Pooler, remove_component, sif_weights
from staticvec.model.similarity import top_indices, unit_rows
from staticvec.reporting import Stage
from staticvec.text.corpus import OPENERS, iter_line_blocks

log = logging.getLogger(__name__)

POOLINGS = ("mean", "sif")
_BLOCK = 8192  # lines pooled at once


def embedding_format(path, json_lines=False):
    """'npy', 'binary', 'text' or 'jsonl' for an ``embed`` output (``-``: text, or JSON
    Lines with ``json_lines``)."""
    if json_lines:
        return "jsonl"
    name = os.fspath(path)
    root, ext = os.path.splitext(name)
    if ext.lower() in OPENERS:
        root, ext = os.path.splitext(root)
    if ext.lower() == ".npy":
        if name != root + ext:
            raise BadOptionError(f"{path}: a .npy file cannot be compressed (numpy maps it)")
        return "npy"
    if ext.lower() == ".jsonl":
        return "jsonl"
    fmt = "text" if name == "-" else format_from_extension(name)
    if fmt is None:
        raise BadOptionError(f"cannot tell the format of {path} from its extension: use .npy, "
                             f".bin, .txt/.vec or .jsonl (or --json)")
    return fmt


def check_pooling(pooling):
    if pooling not in POOLINGS:
        raise BadOptionError(f"invalid value for --pooling: {pooling!r} (choose from "
                             f"{', '.join(POOLINGS)})")


def pooler_for(vectors, pooling="mean", sif_a=1e-3, counts=None):
    """The ``Pooler`` for ``pooling``; SIF's word frequencies come from ``counts`` (one per
    word of ``vectors``), else from the model (a fastText ``.bin`` has them)."""
    check_pooling(pooling)
    if pooling == "mean":
        return Pooler(vectors)
    if counts is None:
        counts = vectors.counts
    if counts is None:
        raise BadOptionError("--pooling sif needs word frequencies, and the model has none (a "
                             "word2vec or GloVe file): give --vocab FILE (from `staticvec "
                             "vocab` or --save-vocab)")
    return Pooler(vectors, sif_weights(counts, sif_a))


def counts_from_vocab(vectors, vocab):
    """The counts of ``vectors``' words in a ``Vocab`` (a word it lacks counts 1: rarer than
    any it has, which is why the model kept it without the file knowing it)."""
    table = dict(zip(vocab.words, vocab.counts.tolist()))
    missing = sum(1 for w in vectors.words if w not in table)
    if missing:
        log.info(f"--vocab: {missing:,} of the model's {len(vectors):,} words are not in it "
                 f"(counted as 1)")
    return np.array([table.get(w, 1) for w in vectors.words], dtype=np.float64)


# np.load meets a damaged header with any of these (its header is a Python literal)
_NPY_ERRORS = (ValueError, OSError, EOFError, OverflowError, SyntaxError, TypeError,
               RecursionError, MemoryError, KeyError, tokenize.TokenError)


def _map_npy(path, what):
    """``path`` memory-mapped (a header claiming more data than the file holds is refused
    by the mapping, never allocated)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except _NPY_ERRORS as exc:
        raise FormatError(f"{path}: not a .npy {what} ({str(exc)[:100]})") from None


def read_component(path, dim):
    """A saved SIF component (``--components``): a finite float vector of ``dim`` values."""
    u = _map_npy(path, "component file")
    if u.dtype.kind not in "fi" or u.size != dim:
        raise FormatError(f"{path}: expected {dim} finite values (the model's dimension), got "
                          f"an array of shape {u.shape}")
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    if not np.isfinite(u).all():
        raise FormatError(f"{path}: the component holds a non-finite value")
    top = np.abs(u).max()
    if not top > 0:
        return u
    u = u / top  # no overflow in the norm of huge values
    return u / np.linalg.norm(u)


def embed_lines(vectors, sources, target, *, pooling="mean", sif_a=1e-3, counts=None,
                components=None, save_components=None, skip_empty=False, json_lines=False,
                encoding_errors="strict", progress=None):
    """Write one vector per line of ``sources`` (paths, ``-`` for stdin) to ``target``; see
    the module docstring. Returns {"lines", "empty", "written", "dim"}."""
    fmt = embedding_format(target, json_lines)
    pooler = pooler_for(vectors, pooling, sif_a, counts)
    u = read_component(components, vectors.dim) if components is not None else None
    if save_components is not None and pooling != "sif":
        raise BadOptionError("--save-components needs --pooling sif (mean pooling removes "
                             "no component)")
    check_outputs([("--output", target), ("--save-components", save_components)],
                  [("the input", list(sources)), ("--components", components)])
    folder = os.path.dirname(os.path.abspath(target)) if str(target) != "-" else None
    gram = ComponentSum(vectors.dim) if pooling == "sif" and u is None else None
    lines = empty = 0
    known = []
    with tempfile.TemporaryFile(dir=folder) as spool:
        with Stage(progress, "pooling", 0, unit="lines") as bar:
            for block in iter_line_blocks(sources, encoding_errors, _BLOCK):
                pooled, count = pooler.pool([line.split() for line in block])
                spool.write(pooled.tobytes())
                if gram is not None:
                    gram.add(pooled)
                known.append(count > 0)
                lines += len(block)
                bar.update(lines)
        known = np.concatenate(known) if known else np.zeros(0, dtype=bool)
        empty = int((~known).sum())
        if gram is not None:
            u = gram.component()
        written = lines - (empty if skip_empty else 0)
        spool.seek(0)
        with outputs_together():
            if save_components is not None:
                with atomic_output(save_components, "wb") as out:
                    np.save(out, u.astype(np.float64))
            with atomic_output(target, "wb") as out:
                _write(out, fmt, _spooled(spool, vectors.dim, known, u, skip_empty),
                       written, vectors.dim)
    log.info(f"embedded {lines:,} lines into {written:,} vectors of {vectors.dim} dims "
             f"({pooling}); {empty:,} line(s) had no known word"
             + (" (skipped)" if skip_empty else " (zero vectors)"))
    return {"lines": lines, "empty": empty, "written": written, "dim": vectors.dim}


def _spooled(spool, dim, known, u, skip_empty):
    """(line numbers, vectors) blocks read back, the component removed."""
    first = 0
    while first < len(known):
        n = min(_BLOCK, len(known) - first)
        block = np.frombuffer(spool.read(4 * dim * n), dtype=np.float32).reshape(n, dim)
        if u is not None:
            block = remove_component(block, u)
        numbers = np.arange(first + 1, first + n + 1)
        if skip_empty:
            keep = known[first:first + n]
            block, numbers = block[keep], numbers[keep]
        yield numbers, block
        first += n


def _write(out, fmt, blocks, count, dim):
    if fmt == "npy":
        np.lib.format.write_array_header_1_0(
            out, {"descr": "<f4", "fortran_order": False, "shape": (count, dim)})
    elif fmt in ("binary", "text"):
        out.write(f"{count} {dim}\n".encode("ascii"))
    for numbers, block in blocks:
        if fmt == "npy":
            out.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
        elif fmt == "jsonl":
            out.write("".join(json.dumps({"line": int(k), "vector": [float(x) for x in row]})
                              + "\n" for k, row in zip(numbers.tolist(), block)).encode("ascii"))
        else:
            keys = [str(k).encode("ascii") for k in numbers.tolist()]
            out.write((binary_rows if fmt == "binary" else text_rows)(keys, block))


# ---------------------------------------------------------------- search
def read_index(index, texts, dim):
    """The embedded lines (``.npy``, memory-mapped) and the texts they came from (one
    line each: the counts must agree)."""
    matrix = _map_npy(index, "file of embedded lines")
    if matrix.ndim != 2 or matrix.shape[1] != dim or matrix.dtype.kind != "f":
        raise FormatError(f"{index}: expected an N x {dim} float array (the model's "
                          f"dimension), got {matrix.dtype} {matrix.shape}")
    for lo in range(0, matrix.shape[0], 1 << 16):
        bad = ~np.isfinite(np.asarray(matrix[lo:lo + (1 << 16)])).all(axis=1)
        if bad.any():
            raise FormatError(f"{index}: row {lo + int(np.argmax(bad)) + 1} holds a non-finite "
                              f"value")
    lines = [line for block in iter_line_blocks([texts]) for line in block]
    if len(lines) != matrix.shape[0]:
        raise FormatError(f"{texts} has {len(lines):,} lines but {index} holds "
                          f"{matrix.shape[0]:,} vectors: embed the texts again (without "
                          f"--skip-empty)")
    return matrix, lines


def search_lines(index_matrix, queries, k=10):
    """For each query vector, the ``k`` most cosine-similar index rows as [(row, score)]
    (ties: lower row first); a zero query (no known word) gets none. The index is read
    in blocks, so a memory-mapped one is never copied whole."""
    unit_queries = unit_rows(np.asarray(queries, dtype=np.float32)).T
    parts = [unit_rows(np.asarray(index_matrix[lo:lo + (1 << 16)], dtype=np.float32))
             @ unit_queries for lo in range(0, index_matrix.shape[0], 1 << 16)]
    scores = (np.concatenate(parts) if parts else np.zeros((0, len(queries)), np.float32)).T
    return [[(int(i), float(row[i])) for i in top_indices(row, k)] if query.any() else []
            for row, query in zip(scores, queries)]
