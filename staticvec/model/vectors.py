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
import numpy as np

from staticvec.errors import UnknownWordError
from staticvec.model.similarity import (ZeroVectorError, block_cosines, cancelled_query,
                                        cosmul_scores, mean_query, never_zero_rows, row_norms,
                                        top_indices, unit_vector)

_SCAN_LOOKUPS = 32  # lookups answered by a linear scan before the index dict is built


def _names(positive, negative):
    words = [positive] if isinstance(positive, (str, np.ndarray)) else list(positive)
    words += [negative] if isinstance(negative, (str, np.ndarray)) else list(negative)
    return [w if isinstance(w, str) else "<vector>" for w in words]



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

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return self.position(word) is not None

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
            norms = self.norms
            safe = np.where(norms > 0, norms, np.float32(1.0)).astype(np.float32)
            self._unit = self.matrix / safe[:, None]
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

    def similarity(self, a, b):
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

    def most_similar(self, positive, negative=(), topn=10, restrict_vocab=None):
        """Words nearest the mean of the unit query vectors (3CosAdd), query words excluded."""
        if topn is not None and topn < 1:
            return []
        pos, ex_pos = self._query_terms(positive)
        neg, ex_neg = self._query_terms(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one word")
        mean = mean_query(pos, neg, self.dim)
        if not mean.any():
            raise cancelled_query(_names(positive, negative))
        scores = never_zero_rows(self.cosines(mean, restrict_vocab), self.norms)
        best = top_indices(scores, topn if topn is not None else len(scores), ex_pos + ex_neg)
        return [(self.words[i], float(scores[i])) for i in best]

    def most_similar_cosmul(self, positive, negative=(), topn=10, restrict_vocab=None):
        """3CosMul (Levy & Goldberg 2014): product of shifted cosines, query words excluded.

        Unlike gensim (which ignores it here), ``restrict_vocab`` limits the candidates.
        """
        if topn is not None and topn < 1:
            return []
        pos, ex_pos = self._query_terms(positive)
        neg, ex_neg = self._query_terms(negative)
        if not pos:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        scores = cosmul_scores([self.cosines(v, restrict_vocab) for v in pos],
                               [self.cosines(v, restrict_vocab) for v in neg])
        scores = never_zero_rows(scores, self.norms)
        best = top_indices(scores, topn if topn is not None else len(scores), ex_pos + ex_neg)
        return [(self.words[i], float(scores[i])) for i in best]

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
