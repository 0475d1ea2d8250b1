"""``Vectors``: words, a float32 matrix, and the queries people ask of them.

Row norms are computed once (the binary loader hands them over for free); a query then
costs one matrix-vector product, with no normalised copy of a multi-GB matrix unless a
caller asks for ``unit``. The arithmetic (gensim's, so answers can be checked against it
word for word) is in ``similarity.py``.

Query words are looked up through ``vector()``, so a subclass that can build vectors
for unseen words (fastText n-grams) answers those queries by overriding ``has_vector``
and ``vector``. A query whose vector is zero raises ``ZeroVectorError`` rather than rank
by zeros.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from staticvec.errors import BadOptionError, UnknownWordError
from staticvec.model.similarity import (ZeroVectorError, block_cosines, cancelled_query,
                                        cosmul_scores, mean_query, never_zero_rows, row_norms,
                                        top_indices, unit_rows, unit_vector)

_SCAN_LOOKUPS = 32  # lookups answered by a linear scan before the index dict is built
_BATCH_CELLS = 1 << 25  # query x row scores held at once by the batch queries (128 MB)
# the word2vec writer ``save`` hands over to: registered by io/dispatch.py when it is
# imported (the model layer never imports io)
_WRITER = []

Query = Union[str, np.ndarray, Iterable[Union[str, np.ndarray]]]
Ranked = List[Tuple[str, float]]


def register_writer(write):
    """``write(vectors, path, fmt)``: what ``Vectors.save`` calls."""
    _WRITER[:] = [write]


def _names(positive, negative):
    positive = () if positive is None else positive
    negative = () if negative is None else negative
    words = [positive] if isinstance(positive, (str, np.ndarray)) else list(positive)
    words += [negative] if isinstance(negative, (str, np.ndarray)) else list(negative)
    return [w if isinstance(w, str) else "<vector>" for w in words]



def _best_rows(scores, topn, words):
    """The ``topn`` best (word, score) of each row of ``scores`` (-inf: never an answer), as
    ``top_indices`` ranks them, with one partition of the whole block; a row whose last
    place is tied goes through ``top_indices`` itself (lower index first)."""
    k = min(topn, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(scores, part, axis=1)
    kth = top.min(axis=1)
    tied = (scores >= kth[:, None]).sum(axis=1) > k
    out = []
    for r in range(scores.shape[0]):
        if tied[r] or kth[r] == -np.inf:
            best = top_indices(scores[r], topn)
        else:
            best = part[r][np.lexsort((part[r], -top[r]))].tolist()
        out.append([(words[i], float(scores[r, i])) for i in best])
    return out


class Vectors:
    """words + float32 matrix; norms (and unit rows on request) computed once, lazily."""

    def __init__(self, words, matrix, counts=None, *, norms=None, index=None, unique=False):
        """``norms``/``index``: precomputed by a loader. ``unique=True``: the caller has
        checked that no word repeats, so the index may wait until it is needed (a few
        lookups are answered by scanning ``words``, which is far cheaper than building
        a dict of a million words for one query)."""
        matrix = np.asarray(matrix)
        if matrix.dtype != np.float32:
            matrix = matrix.astype(np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"matrix of shape {matrix.shape} does not match {len(words)} words")
        self.words = words if isinstance(words, list) else list(words)
        self.matrix = matrix
        self.counts = None if counts is None else np.asarray(counts)
        self._index = index
        if index is None and not unique:
            self._index = dict(zip(self.words, range(len(self.words))))
            if len(self._index) != len(self.words):
                raise ValueError("duplicate words: every word must appear once")
        self._scans = 0
        self.dim = int(matrix.shape[1])
        self._norms = None if norms is None else np.asarray(norms, dtype=np.float32)
        self._unit = None

    @property
    def index(self):
        """word -> row, built on first use."""
        if self._index is None:
            self._index = dict(zip(self.words, range(len(self.words))))
        return self._index

    @index.setter
    def index(self, value):
        self._index = value

    def position(self, word):
        """Row of ``word`` in the vocabulary, or None."""
        if self._index is None:
            self._scans += 1
            if self._scans <= _SCAN_LOOKUPS:
                try:
                    return self.words.index(word)
                except ValueError:
                    return None
        return self.index.get(word)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return self.position(word) is not None

    def __getitem__(self, word):
        """The vector of ``word`` (a list of words: their rows as one array); an unknown
        word raises ``UnknownWordError``, a ``KeyError``."""
        if isinstance(word, str):
            return self.get_vector(word)
        return np.stack([self.get_vector(w) for w in word]) if len(word) else \
            np.empty((0, self.dim), dtype=np.float32)

    # ---- gensim's KeyedVectors names, where the meaning is the same
    @property
    def index_to_key(self) -> List[str]:
        """The words, row by row (gensim's name for ``words``)."""
        return self.words

    @property
    def key_to_index(self) -> Dict[str, int]:
        """word -> row (gensim's name for ``index``)."""
        return self.index

    @property
    def vector_size(self) -> int:
        """The dimension (gensim's name for ``dim``)."""
        return self.dim

    @property
    def vectors(self) -> np.ndarray:
        """The float32 matrix, one row per word, as a read-only view."""
        view = self.matrix.view()
        view.flags.writeable = False
        return view

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The vector of ``word`` (unit length with ``norm``), read-only;
        ``UnknownWordError`` (a ``KeyError``) when there is none."""
        vec = self.vector(word, norm=norm)
        if vec.base is not None:
            vec = vec.view()
            vec.flags.writeable = False
        return vec

    def save(self, path, format: Optional[str] = None) -> None:
        """Write the vectors as word2vec binary (``.bin``) or text (``.txt``/``.vec``), by the
        extension unless ``format`` says; ``.gz``/``.bz2``/``.xz`` compress. Atomic: the file
        appears whole or not at all."""
        if not _WRITER:
            raise RuntimeError("no vectors writer: import staticvec.io.dispatch (or staticvec)")
        _WRITER[0](self, path, format)

    def __repr__(self):
        return f"Vectors({len(self):,} words x {self.dim})"

    @property
    def norms(self):
        """L2 norm of each row (float32), cached."""
        if self._norms is None:
            self._norms = row_norms(self.matrix)
        return self._norms

    @property
    def unit(self):
        """L2-normalised float32 rows (zero rows stay zero), cached."""
        if self._unit is None:
            self._unit = unit_rows(self.matrix, self.norms)
        return self._unit

    # ---- lookup
    def has_vector(self, word):
        return self.position(word) is not None

    def vector(self, word, norm=False):
        """The row for ``word`` (unit length with ``norm``); UnknownWordError if there is none."""
        i = self.position(word)
        if i is None:
            raise UnknownWordError(word)
        if not norm:
            return self.matrix[i]
        if self._unit is not None:
            return self._unit[i]
        length = self.norms[i]
        return self.matrix[i] / length if length > 0 else self.matrix[i].copy()

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words (computed as gensim's ``similarity``)."""
        return float(np.dot(unit_vector(self.vector(a)), unit_vector(self.vector(b))))

    # ---- search
    def cosines(self, query, restrict_vocab=None):
        """Cosine of ``query`` (any length) against the first ``restrict_vocab`` rows."""
        end = len(self.words) if not restrict_vocab else min(int(restrict_vocab), len(self.words))
        return block_cosines(self.matrix[:end], self.norms[:end], query)

    def _query_terms(self, words):
        words = [words] if isinstance(words, (str, np.ndarray)) else list(words)
        vecs, exclude = [], []
        for word in words:
            if isinstance(word, np.ndarray):
                vecs.append(np.asarray(word, dtype=np.float32))
                continue
            vec = self.vector(word, norm=True)
            if not vec.any() or not np.isfinite(vec).all():
                raise ZeroVectorError(word)
            vecs.append(vec)
            i = self.position(word)
            if i is not None:
                exclude.append(i)
        return vecs, exclude

    def _both_terms(self, positive, negative):
        """(vectors, excluded rows) of the positive and of the negative terms (None: none)."""
        return (self._query_terms(() if positive is None else positive),
                self._query_terms(() if negative is None else negative))

    def most_similar(self, positive: Query = (), negative: Query = (), topn: Optional[int] = 10,
                     restrict_vocab: Optional[int] = None) -> Ranked:
        """Words nearest the mean of the unit query vectors (3CosAdd), query words excluded.

        ``positive``/``negative``: a word, a vector, or a list of them; ``topn=None``: all
        words, best first; ``restrict_vocab``: only the first N rows are candidates."""
        if topn is not None and topn < 1:
            return []
        (pos, ex_pos), (neg, ex_neg) = self._both_terms(positive, negative)
        if not pos and not neg:
            raise BadOptionError("most_similar needs at least one word")
        mean = mean_query(pos, neg, self.dim)
        if not mean.any():
            raise cancelled_query(_names(positive, negative))
        return self._best(mean, topn, ex_pos + ex_neg, restrict_vocab)

    def _best(self, mean, topn, exclude, restrict_vocab):
        """The ``topn`` (None: all) rows nearest the unit query ``mean``, ``exclude`` left
        out, as ``(word, score)`` best first (ties: lower row first)."""
        scores = never_zero_rows(self.cosines(mean, restrict_vocab), self.norms)
        best = top_indices(scores, topn if topn is not None else len(scores), exclude)
        return [(self.words[i], float(scores[i])) for i in best]

    def most_similar_cosmul(self, positive: Query = (), negative: Query = (),
                            topn: Optional[int] = 10,
                            restrict_vocab: Optional[int] = None) -> Ranked:
        """3CosMul (Levy & Goldberg 2014): product of shifted cosines, query words excluded.

        Unlike gensim (which ignores it here), ``restrict_vocab`` limits the candidates.
        """
        if topn is not None and topn < 1:
            return []
        (pos, ex_pos), (neg, ex_neg) = self._both_terms(positive, negative)
        if not pos:
            raise BadOptionError("most_similar_cosmul needs at least one positive word")
        scores = cosmul_scores([self.cosines(v, restrict_vocab) for v in pos],
                               [self.cosines(v, restrict_vocab) for v in neg])
        scores = never_zero_rows(scores, self.norms)
        best = top_indices(scores, topn if topn is not None else len(scores), ex_pos + ex_neg)
        return [(self.words[i], float(scores[i])) for i in best]

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word farthest from the others: lowest cosine with the renormalised mean of
        the unit vectors of all of them (ties: the alphabetically first)."""
        words = list(words)
        if not words:
            raise BadOptionError("doesnt_match needs at least one word")
        units = np.stack([unit_vector(self.vector(w)) for w in words])
        mean = unit_vector(units.mean(axis=0))
        scores = units @ mean
        return min(zip(scores.tolist(), words))[1]

    def most_similar_batch(self, queries: Sequence[Query], topn: int = 10,
                           restrict_vocab: Optional[int] = None) -> List[Ranked]:
        """``most_similar`` of many queries at once (each a word, or a list of positive
        words): the cosines of a block of queries come from one matrix product, not one
        product per query. Returns one ranked list per query, in order."""
        queries = list(queries)
        if topn is None or topn < 1 or not queries:
            return [[] for _ in queries] if topn is not None else \
                [self.most_similar(q, restrict_vocab=restrict_vocab, topn=None) for q in queries]
        end = len(self.words) if not restrict_vocab else min(int(restrict_vocab), len(self.words))
        rows, norms = self.matrix[:end], self.norms[:end]
        plans = []
        for query in queries:
            pos, exclude = self._query_terms(query)
            mean = mean_query(pos, [], self.dim)
            if not mean.any():
                raise cancelled_query(_names(query, ()))
            plans.append((mean, exclude))
        never = (norms == 0) | ~np.isfinite(norms)  # rows that are never answers
        answers = []
        step = max(1, _BATCH_CELLS // max(end, 1))
        for start in range(0, len(plans), step):
            block = plans[start:start + step]
            scores = np.stack([mean for mean, _ in block]) @ rows.T
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                np.divide(scores, norms, out=scores)
            if never.any():
                scores[:, never] = -np.inf
            for k, (_, exclude) in enumerate(block):
                scores[k, [i for i in exclude if i < end]] = -np.inf
            answers.extend(_best_rows(scores, topn, self.words))
        return answers

    def nearest(self, word, topn=10, restrict_vocab=None):
        """The ``topn`` words most similar to ``word``."""
        return self.most_similar([word], topn=topn, restrict_vocab=restrict_vocab)

    def analogy(self, a, b, c, topn=5, method="add", restrict_vocab=None):
        """Answers to ``a - b + c`` (``analogy("king", "man", "woman")`` -> queen)."""
        if method == "add":
            return self.most_similar([a, c], [b], topn=topn, restrict_vocab=restrict_vocab)
        if method == "mul":
            return self.most_similar_cosmul([a, c], [b], topn=topn, restrict_vocab=restrict_vocab)
        raise ValueError(f"unknown analogy method {method!r} (add or mul)")
