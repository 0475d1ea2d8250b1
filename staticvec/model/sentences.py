"""Sentence vectors from word vectors: the mean of unit word vectors, or SIF.

Mean: the plain average of the unit vectors of a line's known words (what fastText's
``print-sentence-vectors`` computes). SIF (Arora, Liang & Ma 2017, "A simple but
tough-to-beat baseline for sentence embeddings"): each word's unit vector weighted by
a / (a + p(w)), p(w) its relative frequency, averaged over the line's known words; then
the projection on the first singular vector of all the pooled lines is removed (no
centring, as the paper's code does with a truncated SVD). Unit word vectors in both, so
that a few long vectors of frequent words do not dominate; unknown words are skipped
(a fastText model gives them their n-gram vectors), and a line with no known word is a
zero vector, which stays zero.
"""
import numpy as np

from staticvec.errors import BadOptionError


def sif_weights(counts, a):
    """a / (a + p(w)) for every word, p(w) = count / total (float32)."""
    if not (np.isfinite(a) and a > 0):
        raise BadOptionError(f"--sif-a must be a finite number > 0 (got {a})")
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if not total > 0:
        raise BadOptionError("--pooling sif needs word counts, and every count is 0")
    return (a / (a + counts / total)).astype(np.float32)


class Pooler:
    """Pools lines of tokens into vectors with one model (``weights``: SIF's, by row)."""

    def __init__(self, vectors, weights=None):
        self.vectors = vectors
        self.weights = weights
        self.unit = vectors.unit
        self.extra = {}  # unseen words of a fastText model: (unit vector or None)

    def _row(self, word):
        """(row, None) for a known word, (None, unit vector) for a fastText unseen word,
        (None, None) for a word without a vector."""
        row = self.vectors.position(word)
        if row is not None:
            return row, None
        if word not in self.extra:
            try:
                vec = self.vectors.vector(word, norm=True)
            except KeyError:
                vec = None
            self.extra[word] = vec
        return None, self.extra[word]

    def pool(self, lines):
        """(N x d float32 pooled vectors, N known-word counts) of ``lines`` (token lists)."""
        out = np.zeros((len(lines), self.vectors.dim), dtype=np.float32)
        known = np.zeros(len(lines), dtype=np.int64)
        rows, owners = [], []
        for i, tokens in enumerate(lines):
            for word in tokens:
                row, vec = self._row(word)
                if row is not None:
                    rows.append(row)
                    owners.append(i)
                    known[i] += 1
                elif vec is not None:  # unseen (fastText): no frequency, weight 1
                    out[i] += vec
                    known[i] += 1
        if rows:
            rows = np.asarray(rows, dtype=np.int64)
            owners = np.asarray(owners, dtype=np.int64)
            picked = self.unit[rows]
            if self.weights is not None:
                picked = picked * self.weights[rows][:, None]
            np.add.at(out, owners, picked)
        nonzero = known > 0
        out[nonzero] /= known[nonzero, None].astype(np.float32)
        return out, known


class ComponentSum:
    """X^T X of all pooled rows, summed block by block in float64: its top eigenvector is
    the first right singular vector of X (SIF's common component)."""

    def __init__(self, dim):
        self.gram = np.zeros((dim, dim), dtype=np.float64)

    def add(self, block):
        b = np.asarray(block, dtype=np.float64)
        self.gram += b.T @ b

    def component(self):
        """The unit first singular vector (sign: its largest entry positive), or zeros when
        every row was zero."""
        values, vecs = np.linalg.eigh(self.gram)
        if not values[-1] > 0:
            return np.zeros(self.gram.shape[0], dtype=np.float64)
        u = vecs[:, -1]
        return u if u[np.argmax(np.abs(u))] > 0 else -u


def remove_component(block, u):
    """``block`` minus its projection on the unit vector ``u`` (float64 arithmetic)."""
    b = np.asarray(block, dtype=np.float64)
    return (b - np.outer(b @ u, u)).astype(np.float32)
