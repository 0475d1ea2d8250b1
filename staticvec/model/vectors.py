"""``Vectors``: words, a float32 matrix, and the queries people ask of them.

Scores follow gensim's ``KeyedVectors`` arithmetic (mean of unit query vectors,
renormalised, cosine against every row; 3CosMul with cosines shifted to [0, 1] and
epsilon 1e-6) so answers can be checked against gensim word for word. Row norms are
computed once (the binary loader hands them over for free); a query then costs one
matrix-vector product, with no normalised copy of a multi-GB matrix unless a caller
asks for ``unit``.

Query words are looked up through ``vector()``, so a subclass that can build vectors
for unseen words (fastText n-grams) answers those queries by overriding ``has_vector``
and ``vector``. Zero rows score 0 in ``cosines`` (gensim gives NaN for them) and are
never answers: a row without a direction has no neighbours and is no one's neighbour.
A query whose vector is zero raises ``ZeroVectorError`` rather than rank by zeros.
"""
import bisect

import numpy as np

from staticvec.errors import UnknownWordError

COSMUL_EPSILON = 1e-6
_CHUNK = 65536
_SCAN_LOOKUPS = 32  # lookups answered by a linear scan before the index dict is built


class ZeroVectorError(UnknownWordError):
    """A query word (or a query's combined vector) has norm 0: no direction to rank by."""

    def __init__(self, word, message=None):
        super().__init__(word, message or f"word {word!r} has a zero vector (or one too long "
                                          f"for float32): no cosine similarity is defined")


def row_norms(matrix):
    """L2 norm of every row, float32, bit for bit what ``np.linalg.norm(matrix, axis=1)``
    gives (and so what gensim divides by), without a full-size temporary."""
    norms = np.empty(matrix.shape[0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN rows: the loaders refuse them
        for start in range(0, matrix.shape[0], _CHUNK):
            block = np.asarray(matrix[start:start + _CHUNK], dtype=np.float32)
            norms[start:start + _CHUNK] = np.sqrt(np.add.reduce(block * block, axis=1))
    return norms


def _unitvec(vec):
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


def _names(positive, negative):
    words = [positive] if isinstance(positive, (str, np.ndarray)) else list(positive)
    words += [negative] if isinstance(negative, (str, np.ndarray)) else list(negative)
    return [w if isinstance(w, str) else "<vector>" for w in words]


def mean_query(positive, negative, dim):
    """gensim's 3CosAdd query: mean of the unit vectors (negatives subtracted), renormalised."""
    mean = np.zeros(dim, dtype=np.float32)
    for vec in positive:
        mean += vec
    for vec in negative:
        mean -= vec
    return _unitvec(mean / np.float32(len(positive) + len(negative)))


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
        return float(np.dot(_unitvec(self.vector(a)), _unitvec(self.vector(b))))

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
            raise ZeroVectorError(" ".join(_names(positive, negative)),
                                  "the query vectors cancel out (their sum is zero): no "
                                  "neighbours")
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


# ---------------------------------------------------------------- one-off queries on big files
def stream_queries(path, queries, topn=10, restrict_vocab=None, method="add", block_rows=4096):
    """Answer a few queries straight from a word2vec binary file, without loading it.

    A one-off ``staticvec analogy`` on a multi-GB model would otherwise spend most of its
    time faulting in fresh memory for the whole matrix. Here one pass finds the query
    words (usually near the start of a frequency-sorted file) and a second streams every
    row through a small reused buffer that stays in cache, scoring it on the way (0.3 s
    for 1M x 300 here, against ~1 s to load it): same arithmetic as
    ``Vectors.most_similar`` / ``most_similar_cosmul``, same answers.

    ``queries``: list of ``(positive, negative)`` word lists. Returns one entry per query,
    the result list or the ``UnknownWordError`` it raised; or None when the file cannot
    be streamed (not an uncompressed word2vec binary, it repeats a word, or a word holds a
    newline, which the ``\n``-joined word pieces cannot tell apart): load it then.
    """
    from staticvec.io import dispatch as formats

    needed = list(dict.fromkeys(w for pos, neg in queries for w in list(pos) + list(neg)))
    found = {}
    opened = formats.open_binary_rows(path, block_rows)
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
                answers.append(ZeroVectorError(" ".join(list(pos) + list(neg)),
                                               "the query vectors cancel out (their sum is "
                                               "zero): no neighbours"))
                continue
        else:
            terms = [found[w][1] for w in list(pos) + list(neg)]
        plans.append((len(answers), len(pos), exclude, terms))
        answers.append(None)
    if not plans:
        return answers

    opened = formats.open_binary_rows(path, block_rows)
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
    if not formats._distinct(rows.hashes):
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
