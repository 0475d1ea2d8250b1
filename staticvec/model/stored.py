"""``StoredVectors``: the ``Vectors`` API over a memory-mapped store (``io/store.py``).

Nothing is read at open but the header: the words stay UTF-8 bytes in the file (a lazy,
list-like ``StoredWords`` decodes one on access), a word's row is found through the
store's open-addressing hash table (``position``), and the unit rows, norms and counts
are views of the mapped file, paged in by the queries that touch them.

A query's exact score of a row is the float32 dot product of the query and the unit row
in one fixed order (``_kernels/scan.pyx``'s ``dot32``; no division: the rows are unit
already), so the cosines equal ``Vectors.most_similar``'s to float32 rounding (``Vectors``
divides ``rows @ q`` by the norms; here the division was done once, when the store was
written). A top-k query scans the store's int8 codes instead (two threads over chunks
of rows) and rescores with ``dot32`` every row whose proven upper bound reaches the
k'-th best lower bound: the answer is the exact top k (the proof is in ``scan.pyx``).
A store without codes, and ``topn=None``, scan the float32 rows. ``v[word]`` is the unit row times the stored norm: the source's
vector to float32 rounding. Damage that only shows when a part of the file is touched
(a word's offsets, a hash slot, a non-finite row) raises ``FormatError`` naming the file.
"""
import itertools
import os
import threading
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from staticvec.errors import BadOptionError, UnknownWordError
from staticvec.model.similarity import cancelled_query, mean_query
from staticvec.model.vectors import Vectors, _names

_SCAN_ROWS = 1 << 16    # rows per chunk a thread takes (exact scan and preselect)
_THREADS = 2            # at most this many threads scan (fewer if fewer cores)
_BATCH_QUERIES = 4096   # queries per scan of a batch (their codes: 4096 x 320 bytes)


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


def _scan_kernel():
    from staticvec import _kernels

    return _kernels.load("scan")


def _threads():
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(_THREADS, cores))


def _parallel(end, work, states):
    """Run ``work(state, lo, hi)`` over the chunks of rows ``0..end``, one thread per
    state (the kernels release the GIL); chunks are handed out in order from a counter,
    so a thread that is slowed down (a shared machine) takes fewer of them."""
    chunks = itertools.count()
    failed = []

    def run(state):
        try:
            while True:
                lo = next(chunks) * _SCAN_ROWS
                if lo >= end:
                    return
                work(state, lo, min(end, lo + _SCAN_ROWS))
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    if len(states) == 1 or end <= _SCAN_ROWS:
        run(states[0])
    else:
        pool = [threading.Thread(target=run, args=(state,), daemon=True) for state in states]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    if failed:
        raise failed[0]


def _aligned(shape, dtype, align=64):
    """A zeroed array whose first byte is ``align``-aligned (the kernels load 32 bytes)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    raw = np.zeros(size + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + size].view(dtype).reshape(shape)


def quantised_queries(means, stride, scan):
    """int8 codes (m x stride, aligned) of the float32 queries ``means`` and their
    ``(s_q, 128 * sum of codes, r_q (1 + g), e_q + g r_q)`` (``scan.pyx``'s bound)."""
    means = np.ascontiguousarray(means, dtype=np.float32)
    m, dim = means.shape
    codes = _aligned((m, stride), np.uint8)
    meta = np.empty((m, 3), dtype=np.float32)
    scan.quantise(means, codes, meta, scan.QUERY_LEVELS, False)
    codes = codes.view(np.int8)
    u = 2.0 ** -24
    g = (dim + 2) * u / (1 - (dim + 2) * u)
    r = np.sqrt(np.einsum("ij,ij->i", means.astype(np.float64), means.astype(np.float64)))
    r = r * (1 + 1e-9)      # covers the float64 sum's rounding (scan.pyx)
    params = np.empty((m, 4), dtype=np.float64)
    params[:, 0] = meta[:, 0]
    params[:, 1] = 128.0 * codes.sum(axis=1, dtype=np.int64)
    params[:, 2] = r * (1 + g)
    params[:, 3] = meta[:, 1].astype(np.float64) + g * r
    return codes, params


def _check_finite(queries):
    """A query vector given by the caller must be finite (else every score is NaN)."""
    if not np.isfinite(queries).all():
        raise BadOptionError("a query vector holds a non-finite value (NaN or infinity)")


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
        self.candidates = None   # rows rescored by the last preselect, per query

    def __repr__(self):
        return f"StoredVectors({len(self):,} words x {self.dim}, {self.store.path})"

    def position(self, word):
        return self.store.row(word, self.store.count) if isinstance(word, str) else None

    @property
    def vectors(self):
        return self.matrix

    def has_vector(self, word):
        return self.position(word) is not None or bool(self._ngram_buckets(word))

    def _ngram_buckets(self, word):
        sub = self.store.subwords
        if sub is None or not isinstance(word, str):
            return []
        from staticvec.model.subwords import EOS, ngram_buckets

        return [] if word == EOS else ngram_buckets(word, sub["minn"], sub["maxn"],
                                                    sub["bucket"])

    def get_vector(self, word, norm=False):
        if isinstance(word, str):   # the fast path: one kernel call
            vec = self.store.lookup.get(word, self.store.count, norm)
            self.store.looked_up()
            if vec is not None:
                return vec
        return self.vector(word, norm)   # unseen, unknown or damaged: says which

    def vector(self, word, norm=False):
        i = self.position(word)
        if i is None:
            return self._unseen(word, norm)
        vec = self.store.lookup.vector(i, norm)
        if vec is None:
            raise self.store.damaged(f"row {i + 1} ({word!r}) holds a non-finite value")
        return vec

    def _unseen(self, word, norm):
        """A word outside the vocabulary: the mean of its n-gram rows (a fastText store),
        computed as the ``.bin`` computes it (``subwords.compose``)."""
        buckets = self._ngram_buckets(word)
        if not buckets:
            raise UnknownWordError(word)
        from staticvec.model.subwords import compose

        indptr = np.array([0, len(buckets)], dtype=np.int64)
        vec = compose(self.store.ngrams, indptr, np.asarray(buckets, dtype=np.int32))[0]
        if not np.isfinite(vec).all():
            raise self.store.damaged(f"the n-gram rows of {word!r} hold a non-finite value")
        if norm:
            length = float(np.sqrt(np.dot(vec.astype(np.float64), vec.astype(np.float64))))
            if length > 0:
                vec = (vec / np.float32(length)).astype(np.float32)
        return vec

    def cosines(self, query, restrict_vocab=None):
        """``dot32(unit[i], query)`` for the first rows (the norms are already divided
        out), by the scan threads."""
        end = self._end(restrict_vocab)
        query = np.ascontiguousarray(query, dtype=np.float32)
        _check_finite(query)
        scores = np.empty(end, dtype=np.float32)
        scan = _scan_kernel()
        _parallel(end, lambda _, lo, hi: scan.dots(self._unit, lo, hi, query, scores),
                  [None] * _threads())
        bad = ~np.isfinite(scores)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.store.damaged(f"row {i + 1} holds a non-finite value")
        return scores

    def _end(self, restrict_vocab):
        return len(self.words) if not restrict_vocab else min(int(restrict_vocab),
                                                               len(self.words))

    def _coded(self):
        """True if queries scan the int8 codes (a store has them, its int dots fit)."""
        return self.store.codes is not None and self.dim <= _scan_kernel().MAX_DIM

    def _best(self, mean, topn, exclude, restrict_vocab):
        if topn is None or not self._coded():
            return super()._best(mean, topn, exclude, restrict_vocab)
        return self._preselect(mean[None, :], [exclude], topn, restrict_vocab)[0]

    def _preselect(self, means, excludes, topn, restrict_vocab):
        """The exact top ``topn`` of each query (rows of ``means``), ``excludes[q]`` never
        answers: the int8 scan keeps the candidates that its bound cannot rule out, and
        they are rescored with ``dot32`` (the proof is in ``_kernels/scan.pyx``)."""
        scan = _scan_kernel()
        end = self._end(restrict_vocab)
        m = len(means)
        _check_finite(means)
        excludes = [sorted(set(int(i) for i in ex if 0 <= i < end)) for ex in excludes]
        keep = topn + max(len(ex) for ex in excludes)
        codes, params = quantised_queries(means, self.store.codes.shape[1], scan)
        states = [scan.Preselect(m, keep) for _ in range(_threads())]
        store = self.store

        def work(state, lo, hi):
            state.scan(store.codes, store.bounds, store.norms, lo, hi, codes, params)

        _parallel(end, work, states)
        lower = np.concatenate([state.lower_bounds() for state in states], axis=1)
        floor = -np.sort(-lower, axis=1)[:, keep - 1]   # each thread kept `keep` (or -inf)
        parts = [state.candidates() for state in states]
        qs = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        his = np.concatenate([p[2] for p in parts])
        chosen = his >= floor[qs]
        qs, rows = qs[chosen], rows[chosen]
        order = np.lexsort((rows, qs))
        qs, rows = qs[order], rows[order]
        bounds = np.searchsorted(qs, np.arange(m + 1))
        self.candidates = np.diff(bounds)
        answers = []
        query32 = np.ascontiguousarray(means, dtype=np.float32)
        for q in range(m):
            cand = rows[bounds[q]:bounds[q + 1]]
            if excludes[q]:
                cand = cand[~np.isin(cand, excludes[q])]
            scores = np.empty(len(cand), dtype=np.float32)
            scan.dots_rows(self._unit, cand, query32[q], scores)
            if not np.isfinite(scores).all():
                i = int(cand[np.flatnonzero(~np.isfinite(scores))[0]])
                raise store.damaged(f"row {i + 1} holds a non-finite value")
            best = np.lexsort((cand, -scores))[:topn]
            answers.append([(self.words[int(cand[i])], float(scores[i])) for i in best])
        return answers

    def most_similar_batch(self, queries, topn=10, restrict_vocab=None):
        """As ``Vectors.most_similar_batch``: with the int8 codes, all the queries share
        one scan of them (each block of rows against every query), then each query's
        candidates are rescored; the answers are each query's exact top ``topn`` (ties:
        lower row first), those ``most_similar`` gives one query at a time."""
        queries = list(queries)
        if topn is None or topn < 1 or not queries:
            return super().most_similar_batch(queries, topn, restrict_vocab)
        means, excludes = [], []
        for query in queries:
            pos, exclude = self._query_terms(query)
            mean = mean_query(pos, [], self.dim)
            if not mean.any():
                raise cancelled_query(_names(query, ()))
            means.append(mean)
            excludes.append(exclude)
        if not self._coded():
            return [self._best(mean, topn, ex, restrict_vocab)
                    for mean, ex in zip(means, excludes)]
        answers, counts = [], []
        for lo in range(0, len(means), _BATCH_QUERIES):   # bounded memory for any count
            answers += self._preselect(np.stack(means[lo:lo + _BATCH_QUERIES]),
                                       excludes[lo:lo + _BATCH_QUERIES], topn, restrict_vocab)
            counts.append(self.candidates)
        self.candidates = np.concatenate(counts)
        return answers
