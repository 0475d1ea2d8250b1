"""The similarity arithmetic shared by every query path: loaded ``Vectors``, streamed
queries on a big file (``io/stream.py``) and the benchmarks (``eval/benchmarks.py``).

Scores follow gensim's ``KeyedVectors`` arithmetic (mean of unit query vectors,
renormalised, cosine against every row; 3CosMul with cosines shifted to [0, 1] and
epsilon 1e-6) so answers can be checked against gensim word for word. Zero rows score 0
in the cosines (gensim gives NaN for them) and are never answers: a row without a
direction has no neighbours and is no one's neighbour.
"""
import numpy as np

from staticvec.errors import UnknownWordError

COSMUL_EPSILON = 1e-6
_CHUNK = 65536


class ZeroVectorError(UnknownWordError):
    """A query word (or a query's combined vector) has norm 0: no direction to rank by."""

    def __init__(self, word, message=None):
        super().__init__(word, message or f"word {word!r} has a zero vector (or one too long "
                                          f"for float32): no cosine similarity is defined")


def cancelled_query(words):
    """The error for a query whose vectors sum to zero (``words``: the query's words)."""
    return ZeroVectorError(" ".join(words), "the query vectors cancel out (their sum is zero): "
                                            "no neighbours")


def row_norms(matrix):
    """L2 norm of every row, float32, bit for bit what ``np.linalg.norm(matrix, axis=1)``
    gives (and so what gensim divides by), without a full-size temporary."""
    norms = np.empty(matrix.shape[0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN rows: the loaders refuse them
        for start in range(0, matrix.shape[0], _CHUNK):
            block = np.asarray(matrix[start:start + _CHUNK], dtype=np.float32)
            norms[start:start + _CHUNK] = np.sqrt(np.add.reduce(block * block, axis=1))
    return norms


def unit_rows(matrix, norms=None):
    """``matrix`` with every row divided by its L2 norm (``norms``, if known); zero rows
    stay zero."""
    norms = row_norms(matrix) if norms is None else norms
    safe = np.where(norms > 0, norms, np.float32(1.0)).astype(np.float32)
    return matrix / safe[:, None]


def unit_vector(vec):
    """``vec`` scaled to length 1 as gensim's ``matutils.unitvec`` does it (float64 norm,
    multiplied by its reciprocal, back to float32); a zero vector stays zero."""
    vec = np.asarray(vec, dtype=np.float32)
    v64 = vec.astype(np.float64)
    length = float(np.sqrt(np.dot(v64, v64)))
    return (v64 * (1.0 / length)).astype(np.float32) if length > 0 else vec


def top_indices(scores, topn, exclude=()):
    """Indices of the ``topn`` highest scores (ties: lower index first), skipping ``exclude``."""
    exclude = set(int(i) for i in exclude)
    exclude.update(np.flatnonzero(scores == -np.inf).tolist())  # rows that are never answers
    n = scores.shape[0]
    want = min(topn + len(exclude), n)
    if want <= 0:
        return []
    if want < n:
        candidates = np.argpartition(-scores, want - 1)[:want]
        # every row tied with the last candidate competes, so ties go to the lower index
        kth = scores[candidates].min()
        candidates = np.union1d(candidates[scores[candidates] > kth], np.flatnonzero(scores == kth))
    else:
        candidates = np.arange(n)
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [int(i) for i in order if int(i) not in exclude][:topn]


def block_cosines(rows, norms, query):
    """Cosine of ``query`` with each of ``rows`` (whose norms are given); zero rows score 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dots = rows @ np.asarray(query, dtype=np.float32)
        scores = dots / norms
    scores[norms == 0] = 0.0
    return scores


def never_zero_rows(scores, norms):
    """``scores`` with the zero rows (norm 0, or a norm that overflows float32) set to -inf,
    which ``top_indices`` skips."""
    norms = norms[:len(scores)]
    zero = (norms == 0) | ~np.isfinite(norms)
    if zero.any():
        scores[zero] = -np.inf
    return scores


def mean_query(positive, negative, dim):
    """gensim's 3CosAdd query: mean of the unit vectors (negatives subtracted), renormalised."""
    mean = np.zeros(dim, dtype=np.float32)
    for vec in positive:
        mean += vec
    for vec in negative:
        mean -= vec
    return unit_vector(mean / np.float32(len(positive) + len(negative)))


def cosmul_scores(positive_cosines, negative_cosines):
    """3CosMul from per-term cosines: prod((1+cos)/2) / (prod over negatives + 1e-6)."""
    num = None
    for cos in positive_cosines:
        shifted = (1 + cos) / 2
        num = shifted if num is None else num * shifted
    den = None
    for cos in negative_cosines:
        shifted = (1 + cos) / 2
        den = shifted if den is None else den * shifted
    scores = num / ((den if den is not None else np.float32(1.0)) + np.float32(COSMUL_EPSILON))
    return scores.astype(np.float32, copy=False)
