"""Answering a few queries straight from a big word2vec binary file, without loading it.

A one-off ``staticvec analogy`` on a multi-GB model would otherwise spend most of its
time faulting in fresh memory for the whole matrix. ``streamed_answers`` decides when
streaming pays (an uncompressed binary file of at least ``$STATICVEC_STREAM_MIN_BYTES``,
default 256 MB, and a few queries) and ``stream_queries`` does it, with the arithmetic of
``Vectors.most_similar`` / ``most_similar_cosmul``, so the answers are the same.
"""
import bisect
import os

import numpy as np

from staticvec.errors import UnknownWordError
from staticvec.io.sniff import is_fasttext, is_store, read_head, read_header, sniff_rows
from staticvec.io.word2vec_binary import BinaryRows, distinct_hashes
from staticvec.model.similarity import (ZeroVectorError, block_cosines, cancelled_query,
                                        cosmul_scores, mean_query, never_zero_rows, top_indices)
from staticvec.text.corpus import OPENERS

STREAM_MIN_BYTES = 1 << 28  # default of $STATICVEC_STREAM_MIN_BYTES
MAX_STREAMED_QUERIES = 8


def streamed_answers(path, queries, fmt=None, encoding_errors="strict", **query):
    """Answers to a few queries on a big binary model, read in one stream instead of
    loaded (much faster for one-off queries), or None: load the model instead.

    Files from $STATICVEC_STREAM_MIN_BYTES (default 256 MB) up are streamed. ``queries``
    and ``query`` (topn, restrict_vocab, method) as for ``stream_queries``.
    """
    threshold = int(os.environ.get("STATICVEC_STREAM_MIN_BYTES", STREAM_MIN_BYTES))
    if (fmt not in (None, "binary") or encoding_errors != "strict"
            or len(queries) > MAX_STREAMED_QUERIES
            or not os.path.isfile(path) or os.path.getsize(path) < threshold):
        return None
    return stream_queries(path, queries, **query)


def open_binary_rows(path, block_rows=65536):
    """``(BinaryRows, file)`` for an uncompressed word2vec binary file, else None
    (text, fastText, compressed, or anything not to be streamed); close the file after."""
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() in OPENERS or not os.path.isfile(path):
        return None
    stream = open(path, "rb", buffering=0)
    try:
        head = read_head(stream)
        header, body_start = read_header(head, path)
        if (is_fasttext(head) or is_store(head) or header is None
                or sniff_rows(head, body_start, header[1]) != "binary"):
            stream.close()
            return None
        size = os.fstat(stream.fileno()).st_size
        return BinaryRows(stream, head, size, path, header, body_start, block_rows=block_rows), stream
    except BaseException:
        stream.close()
        raise


def stream_queries(path, queries, topn=10, restrict_vocab=None, method="add", block_rows=4096):
    """Answer a few queries straight from a word2vec binary file, without loading it.

    One pass finds the query words (usually near the start of a frequency-sorted file)
    and a second streams every row through a small reused buffer that stays in cache,
    scoring it on the way (0.3 s for 1M x 300 here, against ~1 s to load it): same
    arithmetic as ``Vectors.most_similar`` / ``most_similar_cosmul``, same answers.

    ``queries``: list of ``(positive, negative)`` word lists. Returns one entry per query,
    the result list or the ``UnknownWordError`` it raised; or None when the file cannot
    be streamed (not an uncompressed word2vec binary, it repeats a word, or a word holds a
    newline, which the ``\n``-joined word pieces cannot tell apart): load it then.
    """
    needed = list(dict.fromkeys(w for pos, neg in queries for w in list(pos) + list(neg)))
    found = {}
    opened = open_binary_rows(path, block_rows)
    if opened is None:
        return None
    rows, stream = opened
    with stream:
        blocks = rows.blocks()
        for first, piece, block, norms in blocks:
            if _splits_wrong(piece, len(block)):
                return None
            padded = b"\n" + bytes(piece) + b"\n"
            for word in needed:
                if word in found or "\n" in word:  # no row of a streamed file has one
                    continue
                k = padded.find(b"\n" + word.encode("utf-8") + b"\n")
                if k >= 0:
                    local = padded.count(b"\n", 0, k)
                    length = norms[local]
                    # a norm of 0, or one that overflows float32: no direction (as in
                    # Vectors._query_terms)
                    usable = 0 < length < np.inf
                    found[word] = (first + local, block[local] / length if usable else None)
            if len(found) == len(needed):
                break
        blocks.close()

    answers, plans = [], []
    for pos, neg in queries:
        # the first word that fails, as Vectors._query_terms meets them
        bad = next((w for w in list(pos) + list(neg) if w not in found or found[w][1] is None),
                   None)
        if bad is not None:
            answers.append(UnknownWordError(bad) if bad not in found else ZeroVectorError(bad))
            continue
        exclude = [found[w][0] for w in list(pos) + list(neg)]
        if method == "add":
            terms = [mean_query([found[w][1] for w in pos], [found[w][1] for w in neg], rows.dim)]
            if not terms[0].any():
                answers.append(cancelled_query(list(pos) + list(neg)))
                continue
        else:
            terms = [found[w][1] for w in list(pos) + list(neg)]
        plans.append((len(answers), len(pos), exclude, terms))
        answers.append(None)
    if not plans:
        return answers

    opened = open_binary_rows(path, block_rows)
    rows, stream = opened
    end = rows.capacity if not restrict_vocab else min(int(restrict_vocab), rows.capacity)
    vectors = [t for _, _, _, terms in plans for t in terms]
    scores = np.zeros((len(vectors), end), dtype=np.float32)
    all_norms = np.ones(end, dtype=np.float32)
    firsts = []
    with stream:
        for first, piece, block, norms in rows.blocks():
            if _splits_wrong(piece, len(block)):
                return None
            firsts.append(first)
            k = min(len(block), end - first)
            if k > 0:
                all_norms[first:first + k] = norms[:k]
            for j, vec in enumerate(vectors):
                if k > 0:
                    scores[j, first:first + k] = block_cosines(block[:k], norms[:k], vec)
    if not distinct_hashes(rows.hashes):
        return None
    try:
        b"\n".join(rows.pieces).decode("utf-8")
    except UnicodeDecodeError:
        rows.words("strict")  # raises the loader's error, naming the byte offset

    split_cache = {}

    def word_at(i):
        b = bisect.bisect_right(firsts, i) - 1
        if b not in split_cache:
            split_cache[b] = bytes(rows.pieces[b]).split(b"\n")
        return split_cache[b][i - firsts[b]].decode("utf-8")

    j = 0
    for slot, n_pos, exclude, terms in plans:
        if method == "add":
            row_scores = scores[j]
        else:
            row_scores = cosmul_scores(list(scores[j:j + n_pos]), list(scores[j + n_pos:j + len(terms)]))
        j += len(terms)
        best = top_indices(never_zero_rows(row_scores, all_norms), topn, exclude)
        answers[slot] = [(word_at(i), float(row_scores[i])) for i in best]
    return answers


def _splits_wrong(piece, rows):
    """True when the ``\n``-joined words of a block do not split into one word per row."""
    return piece.count(b"\n") != rows - 1
