# cython: language_level=3
"""The store's query scan: an int8 preselect with a proven error bound, then the exact
float32 rescoring of every row the bound cannot rule out.

Exact arithmetic. A query's exact score of a row is ``dot32(q, x)``: the float32 dot
product of the float32 query ``q`` and the stored float32 unit row ``x``, in one fixed
order (8 float32 partial sums over i mod 8, added pairwise, then the tail; no fused
multiply-add, so the AVX2 and the generic builds give the same bits). ``dots`` computes
it for a range of rows (the exact path of every query) and ``dots_rows`` for a list of
rows (the rescoring): the same function, so a rescored score is the exact path's score.

Quantisation. ``quantise`` stores each row as ``x^ = s_x * c`` with integer codes
``|c_i| <= L`` (L = 127 for rows, kept offset by +128 as uint8; 63 for queries, so
that AVX2's ``maddubs`` of a uint8 row byte pair and an int8 query byte pair cannot
saturate: 2 x 255 x 63 < 32767). Beside the scale it stores two float32 values rounded
UP: ``e_x >= ||x - x^||_2`` (each difference is exact in float64: ``s_x c_i`` has at
most 24 + 8 bits, and a nonzero code means ``|x_i| >= s_x / 2``, so ``x_i`` and
``s_x c_i`` share their scale; their float64 sum of squares, within a relative
(d + 1) 2^-53 of the real one, is widened by a relative 1e-9, which covers it up to
the store's largest dimension) and ``n_x >= ||x^||_2 = s_x * sqrt(sum c_i^2)``. The query ``q`` gets ``s_q``, ``e_q``,
``n_q`` the same way, and ``r_q >= ||q||_2``.

The bound. With ``D = sum c_i d_i`` (exact: an int32 sum of integer products, at most
stride x 255 x 63 in magnitude, so codes are used only up to ``MAX_DIM`` values) and
``a = s_q s_x D = q^ . x^``::

    q.x - a = q.(x - x^) + (q - q^).x^            (expand q^ = q - (q - q^))
    |q.x - a| <= r_q e_x + e_q n_x                  (Cauchy-Schwarz, twice)

and the float32 dot of d terms, in any order and with or without FMA, is within
``g |q|.|x| <= g r_q (n_x + e_x)`` of the real ``q.x`` with ``g = (d+2)u / (1 - (d+2)u)``,
``u = 2^-24`` (the classical bound for a sum of d rounded products, with slack). So

    |dot32(q, x) - a| <= delta = r_q (1 + g) e_x + (e_q + g r_q) n_x

``a`` and ``delta`` are computed in float64 (a few roundings of relative 2^-53 each) and
widened by a relative 1e-9 of ``|a| + delta``, a margin a million times larger, so that
``lo = a - delta' <= dot32(q, x) <= hi = a + delta'`` holds for the computed numbers too.

The answer. Let k' = k + (rows the query excludes) and T the k'-th largest ``lo`` over
the eligible rows (a row is eligible when its norm is finite and > 0, as in the exact
path; fewer than k' eligible rows: T = -inf). Among the k' rows whose ``lo >= T`` at
least k are not excluded, and their exact scores are >= their ``lo`` >= T: so the k-th
best exact score among non-excluded rows, f_k, is >= T. A row of the exact top k (ties
to the lower row) has score >= f_k >= T, so its ``hi >= T``: it is a candidate.
Rescoring every candidate with ``dot32`` and ranking them (score down, row up, excluded
rows dropped) gives the exact top k, because every row ranked above the k-th answer in
the whole model is among the candidates. A running threshold (the k'-th best ``lo`` seen
so far by one thread, over its own rows) is never above T, so dropping rows with ``hi``
below it at scan time loses none. Non-finite numbers: a row whose ``a`` or ``delta'`` is
NaN gets ``hi = +inf`` (always rescored: a NaN row is then found and refused by the
caller) and no ``lo``; NaN never enters the threshold or an answer.

Scanning. ``Preselect.scan`` takes a range of rows for a block of queries (one query or
a batch): 256 rows at a time, the int dots of two queries against four rows per step
(AVX2: ``maddubs`` + ``madd`` + add per 32 bytes), then the bound per (query, row),
the per-query min-heap of the k' best ``lo``, and the candidates ``(query, row, hi)``
kept in a growing buffer. It runs without the GIL: the caller's threads each own a
``Preselect`` and take chunks of rows from a shared counter.
"""
import numpy as np

from libc.stdint cimport int8_t, uint8_t, int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcmp
from libc.stdlib cimport malloc, realloc, free
from libc.math cimport sqrt, fabs, INFINITY, isfinite, nextafterf, HUGE_VALF

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__AVX2__)
    #include <immintrin.h>
    #endif
    #if defined(__GNUC__) && !defined(__clang__)
    #define SCAN_NOFMA __attribute__((optimize("fp-contract=off")))
    #else
    #define SCAN_NOFMA
    #endif

    /* dot32: the one float32 dot product of every exact score (see the module doc) */
    SCAN_NOFMA static float scan_dot32(const float *a, const float *b, Py_ssize_t n) {
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        Py_ssize_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) { float p = a[i + j] * b[i + j]; acc[j] += p; }
        float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; i < n; i++) { float p = a[i] * b[i]; s += p; }
        return s;
    }

    /* int dots of queries q0 (and q1, if not NULL) with `rows` uint8 rows (codes + 128) of
       `stride` bytes (a multiple of 32): out0[r] = sum u[r][i] * q0[i] (the caller takes
       off 128 * sum q0). */
    static void scan_idots(const uint8_t *rows, Py_ssize_t stride, Py_ssize_t nrows,
                           const int8_t *q0, const int8_t *q1, int32_t *out0, int32_t *out1) {
        Py_ssize_t r = 0;
    #if defined(__AVX2__)
        const __m256i ones = _mm256_set1_epi16(1);
        for (; r + 4 <= nrows; r += 4) {
            const uint8_t *p = rows + r * stride;
            __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
            __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (Py_ssize_t i = 0; i < stride; i += 32) {
                __m256i x0 = _mm256_load_si256((const __m256i *)(p + i));
                __m256i x1 = _mm256_load_si256((const __m256i *)(p + stride + i));
                __m256i x2 = _mm256_load_si256((const __m256i *)(p + 2 * stride + i));
                __m256i x3 = _mm256_load_si256((const __m256i *)(p + 3 * stride + i));
                __m256i y = _mm256_load_si256((const __m256i *)(q0 + i));
                a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, y), ones));
                a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(_mm256_maddubs_epi16(x1, y), ones));
                a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(_mm256_maddubs_epi16(x2, y), ones));
                a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(_mm256_maddubs_epi16(x3, y), ones));
                if (q1) {
                    y = _mm256_load_si256((const __m256i *)(q1 + i));
                    a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, y), ones));
                    a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(_mm256_maddubs_epi16(x1, y), ones));
                    a12 = _mm256_add_epi32(a12, _mm256_madd_epi16(_mm256_maddubs_epi16(x2, y), ones));
                    a13 = _mm256_add_epi32(a13, _mm256_madd_epi16(_mm256_maddubs_epi16(x3, y), ones));
                }
            }
            __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a00, a01), _mm256_hadd_epi32(a02, a03));
            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            _mm_storeu_si128((__m128i *)(out0 + r), s);
            if (q1) {
                h = _mm256_hadd_epi32(_mm256_hadd_epi32(a10, a11), _mm256_hadd_epi32(a12, a13));
                s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
                _mm_storeu_si128((__m128i *)(out1 + r), s);
            }
        }
    #endif
        for (; r < nrows; r++) {
            const uint8_t *p = rows + r * stride;
            int32_t s0 = 0, s1 = 0;
            for (Py_ssize_t i = 0; i < stride; i++) s0 += (int32_t)p[i] * q0[i];
            out0[r] = s0;
            if (q1) {
                for (Py_ssize_t i = 0; i < stride; i++) s1 += (int32_t)p[i] * q1[i];
                out1[r] = s1;
            }
        }
    }

    /* hi[r] = the upper bound of query (sq, bias, A, B) on row r of a block, from its int
       dot d[r] and the block's per-row sx, ex, nx and pen (0, or -inf for a row that is
       never an answer); returns whether any hi is not below thr (NaN counts).
       Branch-free, so it vectorises; the survivors are looked at one by one. */
    static int scan_his(const int32_t *d, Py_ssize_t n, double sq, double bias, double A,
                        double B, double slack, const double *sx, const double *ex,
                        const double *nx, const double *pen, double thr, double *hi) {
        int any = 0;
        for (Py_ssize_t r = 0; r < n; r++) {
            double a = sq * sx[r] * ((double)d[r] - bias);
            double de = A * ex[r] + B * nx[r];
            de = de + slack * (fabs(a) + de);
            double h = a + de + pen[r];
            hi[r] = h;
            any |= !(h < thr);
        }
        return any;
    }
    """
    float scan_dot32(const float *a, const float *b, Py_ssize_t n) nogil
    int scan_his(const int32_t *d, Py_ssize_t n, double sq, double bias, double A,
                 double B, double slack, const double *sx, const double *ex,
                 const double *nx, const double *pen, double thr, double *hi) nogil
    void scan_idots(const uint8_t *rows, Py_ssize_t stride, Py_ssize_t nrows,
                    const int8_t *q0, const int8_t *q1, int32_t *out0, int32_t *out1) nogil

cdef enum:
    C_ALIGN = 32    # bytes per code row: a multiple of this (padded with code 0)
    C_BLOCK = 256   # rows scored per step (their codes stay in cache for every query)
cdef double SLACK = 1e-9

ROW_LEVELS = 127
QUERY_LEVELS = 63
MAX_DIM = 1 << 17   # 2**17 x 255 x 63 < 2**31: the int dots cannot overflow
ALIGN = C_ALIGN


def stride_of(Py_ssize_t dim):
    """Bytes per code row for vectors of ``dim`` values."""
    return (dim + ALIGN - 1) // ALIGN * ALIGN


cdef inline float _up(double v) noexcept nogil:
    """``v`` as float32, rounded up."""
    cdef float f = <float>v
    if f < v:
        f = nextafterf(f, HUGE_VALF)
    return f


def quantise(const float[:, ::1] rows, uint8_t[:, ::1] codes, float[:, ::1] meta, int levels,
             bint offset):
    """Codes of each row (``levels`` 127 or 63; ``offset``: stored + 128 as uint8, else
    as int8 bits) and ``meta[i] = (s, e, n)``: scale, ``||x - s c|| <= e``, ``||s c|| <= n``
    (e and n rounded up). A zero row: (0, 0, 0); a non-finite one: (0, inf, inf)."""
    cdef Py_ssize_t i, j, n = rows.shape[0], dim = rows.shape[1]
    cdef double m, s, v, err, sq
    cdef float s32
    cdef int c, bad
    if codes.shape[0] < n or codes.shape[1] < dim or meta.shape[0] < n or meta.shape[1] < 3:
        raise ValueError("quantise: output arrays too small")
    if not 1 <= levels <= 127:
        raise ValueError("quantise: levels must be 1..127")
    with nogil:
        for i in range(n):
            m = 0.0
            bad = 0
            for j in range(dim):
                v = fabs(rows[i, j])
                if not isfinite(v):
                    bad = 1
                elif v > m:
                    m = v
            if bad:
                m = INFINITY
            for j in range(codes.shape[1]):
                codes[i, j] = 128 if offset else 0
            if m == 0.0 or not isfinite(m):
                meta[i, 0] = 0.0
                meta[i, 1] = 0.0 if m == 0.0 else INFINITY
                meta[i, 2] = 0.0 if m == 0.0 else INFINITY
                continue
            s32 = <float>(m / levels)
            if s32 == 0.0:   # subnormal scale: leave the row to the bound alone
                s32 = nextafterf(0.0, 1.0)
            s = s32
            err = 0.0
            sq = 0.0
            for j in range(dim):
                v = rows[i, j] / s
                c = <int>(v + 0.5) if v >= 0 else -<int>(0.5 - v)
                if c > levels:
                    c = levels
                elif c < -levels:
                    c = -levels
                codes[i, j] = <uint8_t>((c + 128) if offset else (c & 0xff))
                v = rows[i, j] - s * c      # exact in float64 (see the module doc)
                err += v * v
                sq += <double>c * c
            meta[i, 0] = s32
            meta[i, 1] = _up(sqrt(err * (1.0 + 1e-9)))
            meta[i, 2] = _up(s * sqrt(sq) * (1.0 + 1e-9))


def dots(const float[:, ::1] unit, Py_ssize_t lo, Py_ssize_t hi, const float[::1] query,
         float[::1] out):
    """``out[i] = dot32(unit[i], query)`` for rows ``lo <= i < hi`` (without the GIL)."""
    cdef Py_ssize_t i, dim = unit.shape[1]
    if not 0 <= lo <= hi <= unit.shape[0] or out.shape[0] < hi or query.shape[0] != dim:
        raise ValueError("dots: rows out of range")
    with nogil:
        for i in range(lo, hi):
            out[i] = scan_dot32(&unit[i, 0], &query[0], dim)


def dots_rows(const float[:, ::1] unit, const int64_t[::1] rows, const float[::1] query,
              float[::1] out):
    """``out[k] = dot32(unit[rows[k]], query)`` (the rescoring)."""
    cdef Py_ssize_t k, dim = unit.shape[1], n = rows.shape[0]
    if out.shape[0] < n or query.shape[0] != dim:
        raise ValueError("dots_rows: sizes differ")
    for k in range(n):
        if not 0 <= rows[k] < unit.shape[0]:
            raise ValueError("dots_rows: row out of range")
    with nogil:
        for k in range(n):
            out[k] = scan_dot32(&unit[rows[k], 0], &query[0], dim)


cdef class Preselect:
    """One thread's share of a preselect: per query the ``keep`` best lower bounds seen
    (a min-heap) and the candidates ``(query, row, hi)`` not ruled out when seen."""
    cdef double *heaps
    cdef int32_t *sizes
    cdef int64_t *cand_rows
    cdef int32_t *cand_queries
    cdef double *cand_hi
    cdef Py_ssize_t ncand, cap
    cdef int32_t *idots
    cdef double *blk        # the current block's sx, ex, nx, pen, then his
    cdef Py_ssize_t m, keep

    def __cinit__(self, Py_ssize_t queries, Py_ssize_t keep):
        if queries < 1 or keep < 1:
            raise ValueError("Preselect: needs queries and keep >= 1")
        self.m = queries
        self.keep = keep
        self.heaps = <double *> malloc(queries * keep * sizeof(double))
        self.sizes = <int32_t *> malloc(queries * sizeof(int32_t))
        self.idots = <int32_t *> malloc(2 * C_BLOCK * sizeof(int32_t))
        self.blk = <double *> malloc(5 * C_BLOCK * sizeof(double))
        self.cap = 1024
        self.ncand = 0
        self.cand_rows = <int64_t *> malloc(self.cap * sizeof(int64_t))
        self.cand_queries = <int32_t *> malloc(self.cap * sizeof(int32_t))
        self.cand_hi = <double *> malloc(self.cap * sizeof(double))
        if (not self.heaps or not self.sizes or not self.idots or not self.blk or not self.cand_rows
                or not self.cand_queries or not self.cand_hi):
            raise MemoryError()
        for i in range(queries):
            self.sizes[i] = 0

    def __dealloc__(self):
        free(self.heaps)
        free(self.sizes)
        free(self.idots)
        free(self.blk)
        free(self.cand_rows)
        free(self.cand_queries)
        free(self.cand_hi)

    cdef int _grow(self) noexcept nogil:
        cdef Py_ssize_t cap = self.cap * 2
        cdef int64_t *r = <int64_t *> realloc(self.cand_rows, cap * sizeof(int64_t))
        if not r:
            return -1
        self.cand_rows = r
        cdef int32_t *qs = <int32_t *> realloc(self.cand_queries, cap * sizeof(int32_t))
        if not qs:
            return -1
        self.cand_queries = qs
        cdef double *h = <double *> realloc(self.cand_hi, cap * sizeof(double))
        if not h:
            return -1
        self.cand_hi = h
        self.cap = cap
        return 0

    cdef inline void _push(self, Py_ssize_t q, double lo) noexcept nogil:
        """Add ``lo`` to query ``q``'s min-heap of its ``keep`` largest lower bounds."""
        cdef double *heap = self.heaps + q * self.keep
        cdef Py_ssize_t n = self.sizes[q], i, child
        cdef double t
        if n < self.keep:
            i = n
            heap[i] = lo
            while i > 0 and heap[(i - 1) // 2] > heap[i]:
                t = heap[i]
                heap[i] = heap[(i - 1) // 2]
                heap[(i - 1) // 2] = t
                i = (i - 1) // 2
            self.sizes[q] = n + 1
            return
        if lo <= heap[0]:
            return
        heap[0] = lo
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and heap[child + 1] < heap[child]:
                child += 1
            if heap[child] >= heap[i]:
                break
            t = heap[i]
            heap[i] = heap[child]
            heap[child] = t
            i = child

    cdef void _block(self, Py_ssize_t lo, Py_ssize_t n, const float[:, ::1] rmeta,
                     const float[::1] norms) noexcept nogil:
        """The per-row terms of rows ``lo..lo+n``, once for every query."""
        cdef Py_ssize_t r
        cdef double nrm
        for r in range(n):
            nrm = norms[lo + r]
            self.blk[r] = rmeta[lo + r, 0]
            self.blk[C_BLOCK + r] = rmeta[lo + r, 1]
            self.blk[2 * C_BLOCK + r] = rmeta[lo + r, 2]
            # never an answer (as in the exact path): a zero or non-finite norm
            self.blk[3 * C_BLOCK + r] = 0.0 if nrm > 0.0 and nrm <= 3.4028234663852886e38 \
                else -INFINITY

    cdef int _score(self, Py_ssize_t q, const int32_t *d, Py_ssize_t lo, Py_ssize_t n,
                    const double[:, ::1] qp) noexcept nogil:
        """Bounds of query ``q`` against rows ``lo..lo+n`` (``_block``) from their int dots."""
        cdef double sq = qp[q, 0], bias = qp[q, 1], A = qp[q, 2], B = qp[q, 3]
        cdef double a, delta, hi, low, thr
        cdef Py_ssize_t r, keep = self.keep
        cdef double *blk = self.blk
        cdef double *his = self.blk + 4 * C_BLOCK
        thr = self.heaps[q * keep] if self.sizes[q] == keep else -INFINITY
        if not scan_his(d, n, sq, bias, A, B, SLACK, blk, blk + C_BLOCK, blk + 2 * C_BLOCK,
                        blk + 3 * C_BLOCK, thr, his):
            return 0
        for r in range(n):
            if his[r] < thr or blk[3 * C_BLOCK + r] != 0.0:
                continue
            thr = self.heaps[q * keep] if self.sizes[q] == keep else -INFINITY
            a = sq * blk[r] * (<double>d[r] - bias)
            delta = A * blk[C_BLOCK + r] + B * blk[2 * C_BLOCK + r]
            delta = delta + SLACK * (fabs(a) + delta)
            hi = a + delta
            if hi != hi or delta != delta:
                hi = INFINITY
                low = -INFINITY
            else:
                low = a - delta
                if hi < thr:
                    continue
            if low > -INFINITY:
                self._push(q, low)
            if self.ncand == self.cap and self._grow() < 0:
                return -1
            self.cand_rows[self.ncand] = lo + r
            self.cand_queries[self.ncand] = <int32_t>q
            self.cand_hi[self.ncand] = hi
            self.ncand += 1
        return 0

    def scan(self, const uint8_t[:, ::1] codes, const float[:, ::1] rmeta,
             const float[::1] norms, Py_ssize_t lo, Py_ssize_t hi, const int8_t[:, ::1] queries,
             const double[:, ::1] qparams):
        """Scan rows ``lo <= row < hi`` for every query. ``codes``: the rows' uint8 codes
        (rows x stride, 32-byte aligned); ``rmeta``: their (s, e, n); ``queries``: int8
        codes (m x stride, 32-byte aligned); ``qparams[q] = (s_q, 128 * sum of codes,
        r_q (1 + g), e_q + g r_q)``."""
        cdef Py_ssize_t stride = codes.shape[1], m = self.m, q, b, n
        cdef const uint8_t *base
        cdef int32_t *d0 = self.idots
        cdef int32_t *d1 = self.idots + C_BLOCK
        cdef int failed = 0
        if (queries.shape[0] != m or queries.shape[1] != stride or qparams.shape[0] != m
                or qparams.shape[1] < 4 or not 0 <= lo <= hi <= codes.shape[0]
                or rmeta.shape[0] < hi or rmeta.shape[1] < 3 or norms.shape[0] < hi
                or stride % C_ALIGN or stride > MAX_DIM):
            raise ValueError("Preselect.scan: arrays of the wrong shape (or rows too long for "
                             "int32 dots)")
        if hi == lo:
            return
        if (<size_t>&codes[0, 0]) % C_ALIGN or (<size_t>&queries[0, 0]) % C_ALIGN:
            raise ValueError("Preselect.scan: codes must be 32-byte aligned")
        with nogil:
            b = lo
            while b < hi and not failed:
                n = min(<Py_ssize_t>C_BLOCK, hi - b)
                base = &codes[b, 0]
                self._block(b, n, rmeta, norms)
                q = 0
                while q < m and not failed:
                    if q + 1 < m:
                        scan_idots(base, stride, n, &queries[q, 0], &queries[q + 1, 0], d0, d1)
                        failed = (self._score(q, d0, b, n, qparams) < 0 or
                                  self._score(q + 1, d1, b, n, qparams) < 0)
                        q += 2
                    else:
                        scan_idots(base, stride, n, &queries[q, 0], NULL, d0, NULL)
                        failed = self._score(q, d0, b, n, qparams) < 0
                        q += 1
                b += n
        if failed:
            raise MemoryError("Preselect: no memory for the candidates")

    def lower_bounds(self):
        """``(m, keep)`` float64: each query's best lower bounds (-inf where fewer)."""
        out = np.full((self.m, self.keep), -np.inf)
        cdef double[:, ::1] o = out
        cdef Py_ssize_t q, i
        for q in range(self.m):
            for i in range(self.sizes[q]):
                o[q, i] = self.heaps[q * self.keep + i]
        return out

    def candidates(self):
        """``(queries int32, rows int64, hi float64)`` of the candidates kept."""
        cdef Py_ssize_t n = self.ncand, i
        qs = np.empty(n, dtype=np.int32)
        rows = np.empty(n, dtype=np.int64)
        his = np.empty(n, dtype=np.float64)
        cdef int32_t[::1] qv = qs
        cdef int64_t[::1] rv = rows
        cdef double[::1] hv = his
        for i in range(n):
            qv[i] = self.cand_queries[i]
            rv[i] = self.cand_rows[i]
            hv[i] = self.cand_hi[i]
        return qs, rows, his


cdef extern from *:
    """
    /* zlib's crc32 (reflected polynomial 0xEDB88320, initial and final xor ~0): the
       store's word hash, equal to Python's zlib.crc32 */
    static uint32_t scan_crc_table[256];
    static int scan_crc_ready = 0;
    static void scan_crc_init(void) {
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            scan_crc_table[n] = c;
        }
        scan_crc_ready = 1;
    }
    static uint32_t scan_crc32(const uint8_t *p, Py_ssize_t n) {
        uint32_t c = 0xFFFFFFFFu;
        for (Py_ssize_t i = 0; i < n; i++) c = scan_crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
    """
    void scan_crc_init() nogil
    uint32_t scan_crc32(const uint8_t *p, Py_ssize_t n) nogil

scan_crc_init()


def crc32(const uint8_t[::1] data):
    """The word hash ``StoreLookup.find`` uses (zlib's crc32)."""
    return scan_crc32(&data[0] if data.shape[0] else NULL, data.shape[0])


cdef extern from "<unistd.h>" nogil:
    ssize_t pread(int fd, void *buf, size_t count, long offset)


cdef class StoreLookup:
    """A store's word -> row lookup and ``v[word]`` in one call each: the hash of the
    word's UTF-8 bytes, the probe of the mapped hash table, the comparison with the
    mapped word bytes, then the row scaled by its norm (checked finite). With a file
    descriptor, a row is copied with ``pread`` instead of through the map: one system
    call instead of a page fault on a page of the multi-GB rows the first time it is
    touched (a fault costs several times more, and maps pages nobody asked for)."""
    cdef const uint32_t[::1] table
    cdef const uint64_t[::1] ends
    cdef const uint8_t[::1] blob
    cdef const float[:, ::1] unit
    cdef const float[::1] norms
    cdef uint64_t mask
    cdef Py_ssize_t probes, total
    cdef int fd
    cdef long unit_offset

    def __init__(self, const uint32_t[::1] table, const uint64_t[::1] ends,
                 const uint8_t[::1] blob, const float[:, ::1] unit, const float[::1] norms,
                 Py_ssize_t probes, int fd=-1, long unit_offset=0):
        if table.shape[0] == 0 or table.shape[0] & (table.shape[0] - 1):
            raise ValueError("StoreLookup: the table size must be a power of two")
        if unit.shape[0] > ends.shape[0] or norms.shape[0] < unit.shape[0]:
            raise ValueError("StoreLookup: fewer offsets or norms than rows")
        self.table, self.ends, self.blob = table, ends, blob
        self.unit, self.norms = unit, norms
        self.mask = table.shape[0] - 1
        self.probes = probes
        self.total = ends.shape[0]
        self.fd = fd
        self.unit_offset = unit_offset

    def find(self, bytes raw):
        """The row of the word ``raw`` (UTF-8), -1 if absent; damage found on the way:
        ``-2 - 2 * slot`` (a slot naming a row beyond the words) or ``-3 - 2 * row`` (a
        word's offsets outside the word bytes)."""
        cdef const uint8_t *p = <const uint8_t *> raw
        cdef Py_ssize_t n = len(raw), k, row
        cdef uint64_t slot = scan_crc32(p, n) & self.mask, start, end
        cdef uint32_t entry
        cdef uint64_t size = self.blob.shape[0]
        for k in range(self.probes):
            entry = self.table[slot]
            if entry == 0:
                return -1
            if entry > self.total:
                return -2 - 2 * <Py_ssize_t>slot
            row = entry - 1
            start = self.ends[row - 1] if row else 0
            end = self.ends[row]
            if not (start <= end <= size):
                return -3 - 2 * row
            if end - start == <uint64_t>n and (n == 0 or memcmp(&self.blob[start], p, n) == 0):
                return row
            slot = (slot + 1) & self.mask
        return -1

    def vector(self, Py_ssize_t row, bint unit):
        """Row ``row`` (< the rows given) as a new float32 array: the unit row, or times its
        norm; None if a value (or the norm) is not finite."""
        if not 0 <= row < self.unit.shape[0]:
            raise IndexError("StoreLookup.vector: row out of range")
        cdef Py_ssize_t j, dim = self.unit.shape[1]
        cdef float length = 1.0 if unit else self.norms[row]
        out = np.empty(dim, dtype=np.float32)
        cdef float[::1] o = out
        cdef float x
        cdef int bad = not isfinite(self.norms[row])
        cdef ssize_t got
        if self.fd >= 0:
            with nogil:
                got = pread(self.fd, &o[0], dim * 4, self.unit_offset + row * dim * 4)
            if got != dim * 4:
                return None     # the file was cut after it was opened: the slow path says
            for j in range(dim):
                x = o[j]
                bad |= not isfinite(x)
                o[j] = x * length
            return None if bad else out
        for j in range(dim):
            x = self.unit[row, j]
            bad |= not isfinite(x)
            o[j] = x * length
        return None if bad else out

    def get(self, str word, Py_ssize_t count, bint unit):
        """``v[word]`` in one call: the vector of ``word`` if it is among the first
        ``count`` rows and finite, else None (the caller's slower path says why)."""
        try:
            raw = word.encode("utf-8")
        except UnicodeEncodeError:
            return None
        row = self.find(raw)
        if not 0 <= row < count:
            return None
        return self.vector(row, unit)
