# GloVe co-occurrence arithmetic: window counting, sort-and-combine of spilled runs, and the
# record shuffle. Pure arithmetic on typed memoryviews under nogil; the schedule (memory
# budget, spilling, merging, temp files) lives in staticvec/train/glove.py.
#
# Counts are kept as exact integers: a pair at distance d adds units[d] = L / d where
# L = lcm(1..window) (window <= 20), so sums do not depend on the order in which partial
# counts are added and the spill-and-merge path gives the same bits as the in-memory path.
# Only the upper triangle (lo <= hi) is counted; the caller emits both (i, j) and (j, i).
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from libc.math cimport log, pow

from staticvec._kernels.common cimport sv_splitmix64


cdef packed struct Pair:
    uint64_t key      # lo << 32 | hi, lo <= hi
    int64_t units     # co-occurrence weight in units of 1/L


cdef packed struct Rec:
    uint32_t w1
    uint32_t w2
    float logx
    float fx


def count(const uint32_t[::1] ids, const uint64_t[::1] ends, Py_ssize_t pos, Py_ssize_t stop,
          Py_ssize_t sent, int window, const int64_t[::1] units,
          int64_t[::1] dense, const int64_t[::1] row_off, const int64_t[::1] row_len,
          Pair[::1] overflow, Py_ssize_t n_over):
    """Count the pairs ending at tokens [pos, stop); stop early when ``overflow`` has no room
    for one more token's pairs. Returns (next pos, sentence index, overflow entries used).

    Pairs (lo, hi) with lo < len(row_len) and hi - lo < row_len[lo] go to the dense table at
    row_off[lo] + hi - lo; the rest are appended to ``overflow`` (duplicates allowed).
    """
    cdef Py_ssize_t cap = overflow.shape[0]
    cdef uint64_t n_rows = <uint64_t>row_len.shape[0]
    cdef Py_ssize_t k, first, start
    cdef uint64_t a, b, lo, hi
    cdef int64_t u
    with nogil:
        while pos < stop and cap - n_over >= window:
            while <uint64_t>pos >= ends[sent]:
                sent += 1
            start = 0 if sent == 0 else <Py_ssize_t>ends[sent - 1]
            first = pos - window
            if first < start:
                first = start
            b = ids[pos]
            for k in range(first, pos):
                a = ids[k]
                u = units[pos - k]
                if a < b:
                    lo = a
                    hi = b
                elif a > b:
                    lo = b
                    hi = a
                else:  # (a, a) is counted once for each direction, as GloVe C does
                    lo = a
                    hi = a
                    u = u + u
                if lo < n_rows and <int64_t>(hi - lo) < row_len[lo]:
                    dense[row_off[lo] + <Py_ssize_t>(hi - lo)] += u
                else:
                    overflow[n_over].key = (lo << 32) | hi
                    overflow[n_over].units = u
                    n_over += 1
            pos += 1
    return pos, sent, n_over


cdef inline void _swap(Pair *p, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef Pair t = p[i]
    p[i] = p[j]
    p[j] = t


cdef void _sort(Pair *p, Py_ssize_t n) noexcept nogil:
    """In-place quicksort by key (median of three, insertion sort below 24, recursion on the
    smaller side only, so the stack stays O(log n))."""
    cdef Py_ssize_t i, j, mid
    cdef uint64_t pivot
    cdef Pair t
    while n > 24:
        mid = n // 2
        if p[mid].key < p[0].key:
            _swap(p, mid, 0)
        if p[n - 1].key < p[0].key:
            _swap(p, n - 1, 0)
        if p[n - 1].key < p[mid].key:
            _swap(p, n - 1, mid)
        pivot = p[mid].key
        i = 0
        j = n - 1
        while True:
            while p[i].key < pivot:
                i += 1
            while p[j].key > pivot:
                j -= 1
            if i >= j:
                break
            _swap(p, i, j)
            i += 1
            j -= 1
        # [0, j] <= pivot <= [j + 1, n)
        if j + 1 < n - j - 1:
            _sort(p, j + 1)
            p = p + j + 1
            n = n - j - 1
        else:
            _sort(p + j + 1, n - j - 1)
            n = j + 1
    for i in range(1, n):
        t = p[i]
        j = i - 1
        while j >= 0 and p[j].key > t.key:
            p[j + 1] = p[j]
            j -= 1
        p[j + 1] = t


def sort_combine(Pair[::1] pairs, Py_ssize_t n):
    """Sort pairs[:n] by key and add up equal keys in place; returns the number of distinct keys."""
    cdef Py_ssize_t i, m = 0
    if n == 0:
        return 0
    with nogil:
        _sort(&pairs[0], n)
        for i in range(1, n):
            if pairs[i].key == pairs[m].key:
                pairs[m].units += pairs[i].units
            else:
                m += 1
                pairs[m] = pairs[i]
    return m + 1


def shuffle(Rec[::1] recs, uint64_t seed):
    """Fisher-Yates shuffle in place, driven by splitmix64 over a counter (deterministic)."""
    cdef Py_ssize_t i, j, n = recs.shape[0]
    cdef uint64_t state = sv_splitmix64(seed)
    cdef Rec t
    with nogil:
        i = n - 1
        while i > 0:
            state = state + 1
            j = <Py_ssize_t>(sv_splitmix64(state) % <uint64_t>(i + 1))
            t = recs[i]
            recs[i] = recs[j]
            recs[j] = t
            i -= 1


cdef packed struct CRec:  # GloVe C's cooccurrence.bin record: 1-based ids, float64 count
    int32_t w1
    int32_t w2
    double x


cdef inline void _record(Rec *r, uint32_t w1, uint32_t w2, double x, double x_max,
                         double alpha) noexcept nogil:
    r.w1 = w1
    r.w2 = w2
    r.logx = <float>log(x)
    r.fx = 1.0 if x >= x_max else <float>pow(x / x_max, alpha)


def convert(const CRec[::1] crecs, double x_max, double alpha, Rec[::1] out, Py_ssize_t pos):
    """Training records for GloVe C records (validated by the caller), written at out[pos:];
    the same arithmetic as ``expand``. Returns the new end position."""
    cdef Py_ssize_t k, n = crecs.shape[0]
    with nogil:
        for k in range(n):
            _record(&out[pos], <uint32_t>(crecs[k].w1 - 1), <uint32_t>(crecs[k].w2 - 1),
                    crecs[k].x, x_max, alpha)
            pos += 1
    return pos


def expand(const Pair[::1] pairs, double scale, double x_max, double alpha, Rec[::1] out,
           Py_ssize_t pos):
    """Training records for upper-triangle counts, written at out[pos:]: (lo, hi) and, off the
    diagonal, (hi, lo), each with log x and f(x) = min(1, (x / x_max)^alpha), x = units / scale.
    Returns the new end position (the caller makes room for up to 2 * len(pairs))."""
    cdef Py_ssize_t k, n = pairs.shape[0]
    cdef uint64_t lo, hi
    cdef double x
    with nogil:
        for k in range(n):
            lo = pairs[k].key >> 32
            hi = pairs[k].key & 0xFFFFFFFFULL
            x = <double>pairs[k].units / scale
            _record(&out[pos], <uint32_t>lo, <uint32_t>hi, x, x_max, alpha)
            pos += 1
            if lo != hi:
                _record(&out[pos], <uint32_t>hi, <uint32_t>lo, x, x_max, alpha)
                pos += 1
    return pos

