"""``StoredVectors``: the ``Vectors`` API over a memory-mapped store (``io/store.py``).

Nothing is read at open but the header: the words stay UTF-8 bytes in the file (a lazy,
list-like ``StoredWords`` decodes one on access), a word's row is found through the
store's open-addressing hash table (``position``), and the unit rows, norms and counts
are views of the mapped file, paged in by the queries that touch them.

A query scans the unit rows in blocks (``unit @ q`` per block, no division: the rows are
unit already), so the cosines equal ``Vectors.most_similar``'s to float32 rounding
(``Vectors`` divides ``rows @ q`` by the norms; here the division was done once, when
the store was written). ``v[word]`` is the unit row times the stored norm: the source's
vector to float32 rounding. Damage that only shows when a part of the file is touched
(a word's offsets, a hash slot, a non-finite row) raises ``FormatError`` naming the file.
"""
import math
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from staticvec.errors import UnknownWordError
from staticvec.model.similarity import cancelled_query, mean_query
from staticvec.model.vectors import Vectors, _names

_SCAN_ROWS = 1 << 18    # rows per block of a one-query scan (small blocks cost BLAS time)
_BATCH_ROWS = 1 << 13   # rows per block of a batch scan (queries x rows scores at once)


def word_hash(raw):
    """The store's hash of a word's UTF-8 bytes (its home slot is ``hash & (slots - 1)``)."""
    return zlib.crc32(raw)


def build_table(hashes, slots):
    """An open-addressing (linear probing) table of ``slots`` (a power of two, more than
    ``len(hashes)``) uint32 entries: 0 empty, else row + 1. Built in numpy rounds: each
    round every row not yet placed tries its current slot, the lowest row wins a free
    slot, the others move one slot on. Returns ``(table, longest probe)``: a lookup that
    has not found its word after ``longest probe + 1`` slots stops."""
    table = np.zeros(slots, dtype=np.uint32)
    mask = slots - 1
    pending = np.arange(len(hashes), dtype=np.int64)
    pos = np.asarray(hashes, dtype=np.int64) & mask
    probes = 0
    while len(pending):
        free = table[pos] == 0
        taken, first = np.unique(pos[free], return_index=True)
        winners = pending[free][first]
        table[taken] = (winners + 1).astype(np.uint32)
        placed = np.zeros(len(pending), dtype=bool)
        placed[np.flatnonzero(free)[first]] = True
        pending, pos = pending[~placed], (pos[~placed] + 1) & mask
        if len(pending):
            probes += 1
    return table, probes


class StoredWords(Sequence):
    """The words of a store, decoded from the mapped bytes on access (a read-only list)."""

    def __init__(self, store, count):
        self._store = store
        self._count = count

    def __len__(self):
        return self._count

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._count))]
        i = int(i)
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError("word index out of range")
        return self._store.word(i)

    def __iter__(self):
        word = self._store.word
        return (word(i) for i in range(self._count))

    def __contains__(self, word):
        return self._store.row(word, self._count) is not None

    def index(self, word, *args):
        row = self._store.row(word, self._count) if isinstance(word, str) else None
        if row is None:
            raise ValueError(f"{word!r} is not in the words")
        return row

    def __eq__(self, other):
        return isinstance(other, (list, Sequence)) and len(other) == len(self) and all(
            a == b for a, b in zip(self, other))

    def __repr__(self):
        return f"StoredWords({self._count:,} words)"


class StoredIndex(Mapping):
    """word -> row through the store's hash table: the ``index`` dict, never built."""

    def __init__(self, store, count):
        self._store = store
        self._count = count

    def __getitem__(self, word):
        row = self._store.row(word, self._count) if isinstance(word, str) else None
        if row is None:
            raise KeyError(word)
        return row

    def get(self, word, default=None):
        row = self._store.row(word, self._count) if isinstance(word, str) else None
        return default if row is None else row

    def __contains__(self, word):
        return self.get(word) is not None

    def __len__(self):
        return self._count

    def __iter__(self):
        return iter(StoredWords(self._store, self._count))


class ScaledRows:
    """``matrix`` of a store: unit rows times their norms, computed for the rows asked
    for (``matrix[i]``, ``matrix[a:b]``, ``matrix[[i, j]]``); ``np.asarray(matrix)``
    computes them all."""

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, unit, norms):
        self._unit = unit
        self._norms = norms
        self.shape = unit.shape

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        rows = self._unit[key]
        norms = self._norms[key]
        return (rows * (norms[..., None] if rows.ndim == 2 else norms)).astype(np.float32)

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype)


class StoredVectors(Vectors):
    """``Vectors`` over a store opened by ``io/store.py`` (``store``: its ``StoreData``)."""

    def __init__(self, store):
        self.store = store
        n = store.count
        self.words = StoredWords(store, n)
        self._index = StoredIndex(store, n)
        self._scans = 0
        self.dim = store.dim
        self._unit = store.unit
        self._norms = store.norms
        self.matrix = ScaledRows(store.unit, store.norms)
        self.counts = store.counts

    def __repr__(self):
        return f"StoredVectors({len(self):,} words x {self.dim}, {self.store.path})"

    def position(self, word):
        return self.store.row(word, self.store.count) if isinstance(word, str) else None

    @property
    def vectors(self):
        return self.matrix

    def vector(self, word, norm=False):
        i = self.position(word)
        if i is None:
            raise UnknownWordError(word)
        row, length = self._unit[i], self._norms[i]
        # |sum| <= dim for a unit row: not finite only if a value is not
        if not math.isfinite(np.add.reduce(row)) or not math.isfinite(length):
            raise self.store.damaged(f"row {i + 1} ({word!r}) holds a non-finite value")
        return row if norm else row * length

    def cosines(self, query, restrict_vocab=None):
        """``unit[:end] @ query`` in blocks of rows (the norms are already divided out)."""
        end = self._end(restrict_vocab)
        query = np.asarray(query, dtype=np.float32)
        scores = np.empty(end, dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            for lo in range(0, end, _SCAN_ROWS):
                hi = min(end, lo + _SCAN_ROWS)
                np.dot(self._unit[lo:hi], query, out=scores[lo:hi])
        bad = ~np.isfinite(scores)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.store.damaged(f"row {i + 1} holds a non-finite value")
        return scores

    def _end(self, restrict_vocab):
        return len(self.words) if not restrict_vocab else min(int(restrict_vocab),
                                                               len(self.words))

    def most_similar_batch(self, queries, topn=10, restrict_vocab=None):
        """As ``Vectors.most_similar_batch``, in one pass over the rows: each block of rows
        is scored against all the queries at once (a matrix product), and only the scores
        above each query's running k-th best are kept, so the answer is the exact top
        ``topn`` (ties: lower row first) without holding queries x rows scores."""
        queries = list(queries)
        if topn is None or topn < 1 or not queries:
            return super().most_similar_batch(queries, topn, restrict_vocab)
        end = self._end(restrict_vocab)
        means, excludes = [], []
        for query in queries:
            pos, exclude = self._query_terms(query)
            mean = mean_query(pos, [], self.dim)
            if not mean.any():
                raise cancelled_query(_names(query, ()))
            means.append(mean)
            excludes.append(sorted(set(i for i in exclude if i < end)))
        block = np.stack(means)
        pairs = sorted((i, k) for k, exclude in enumerate(excludes) for i in exclude)
        skip_rows = np.array([i for i, _ in pairs], dtype=np.int64)
        skip_queries = np.array([k for _, k in pairs], dtype=np.int64)
        m = len(queries)
        best_rows = [np.empty(0, np.int64)] * m
        best_scores = [np.empty(0, np.float32)] * m
        floor = np.full(m, -np.inf, dtype=np.float32)
        for lo in range(0, end, _BATCH_ROWS):
            hi = min(end, lo + _BATCH_ROWS)
            with np.errstate(over="ignore", invalid="ignore"):
                scores = block @ self._unit[lo:hi].T
            norms = self._norms[lo:hi]
            never = (norms == 0) | ~np.isfinite(norms)
            if never.any():
                scores[:, never] = -np.inf
            a, b = np.searchsorted(skip_rows, [lo, hi])
            scores[skip_queries[a:b], skip_rows[a:b] - lo] = -np.inf
            # a row of a later block tied with the k-th best ranks after it (higher row):
            # only a strictly higher score can enter; most queries have none in a block
            hit = np.flatnonzero(np.fmax.reduce(scores, axis=1) > floor)
            if not len(hit):
                continue
            qs, cols = np.nonzero(scores[hit] > floor[hit, None])
            picked = scores[hit[qs], cols]
            qs = hit[qs]
            if not np.isfinite(picked).all():
                raise self.store.damaged(f"a row between {lo + 1} and {hi} holds a non-finite "
                                         f"value")
            bounds = np.searchsorted(qs, np.arange(m + 1))
            for k in np.flatnonzero(np.diff(bounds)):
                a, b = bounds[k], bounds[k + 1]
                rows = np.concatenate([best_rows[k], cols[a:b] + lo])
                got = np.concatenate([best_scores[k], picked[a:b]])
                if len(rows) >= topn:
                    keep = np.lexsort((rows, -got))[:topn]
                    rows, got = rows[keep], got[keep]
                    floor[k] = got[-1]
                best_rows[k], best_scores[k] = rows, got
        answers = []
        for k in range(m):
            order = np.lexsort((best_rows[k], -best_scores[k]))[:topn]
            answers.append([(self.words[int(best_rows[k][i])], float(best_scores[k][i]))
                            for i in order])
        return answers
