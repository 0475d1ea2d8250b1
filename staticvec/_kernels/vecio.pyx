# cython: language_level=3
"""word2vec file I/O at memory speed: scanning binary files, printing text values.

A binary row is ``word`` + space + ``dim`` little-endian float32 (+ ``\\n`` from word2vec
C, nothing from gensim). Rows have different byte lengths, so the matrix cannot be a
numpy view of the file; instead one pass over each chunk of bytes read finds each
word, copies its floats into the output matrix and takes the row's norm while the
row is in cache, so the queries that follow need no extra pass to normalise. The
caller decodes the words in one go from the offsets returned here.

For text output, ``format_rows`` prints float32 values exactly as ``str(np.float32)``
does (gensim's text format), a few times faster than numpy's per-scalar Dragon4.
"""
from libc.stdint cimport uint8_t, int64_t, uint64_t
from libc.string cimport memcpy, memchr
from libc.math cimport sqrtf

cdef extern from *:
    """
    /* Sum of squares exactly as numpy's float32 np.linalg.norm(m, axis=1) computes it:
       each square rounded to float32, then numpy's pairwise summation (8 accumulators
       up to 128 items, halves beyond). Bit-identical norms make the unit vectors, and so
       the answers, those of gensim, which normalises with np.linalg.norm. No fused
       multiply-add: it would round differently. */
    #if defined(__GNUC__) && !defined(__clang__)
    #define VECIO_NOFMA __attribute__((optimize("fp-contract=off")))
    #else
    #define VECIO_NOFMA
    #endif
    VECIO_NOFMA static float vecio_pairwise_sq(const float *a, Py_ssize_t n) {
        if (n < 8) {
            float res = 0.0f;
            for (Py_ssize_t i = 0; i < n; i++) { float sq = a[i] * a[i]; res += sq; }
            return res;
        }
        if (n <= 128) {
            float r[8], res;
            Py_ssize_t i;
            for (int j = 0; j < 8; j++) r[j] = a[j] * a[j];
            for (i = 8; i < n - (n % 8); i += 8)
                for (int j = 0; j < 8; j++) { float sq = a[i + j] * a[i + j]; r[j] += sq; }
            res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) { float sq = a[i] * a[i]; res += sq; }
            return res;
        }
        Py_ssize_t n2 = n / 2;
        n2 -= n2 % 8;
        return vecio_pairwise_sq(a, n2) + vecio_pairwise_sq(a + n2, n - n2);
    }
    """
    float vecio_pairwise_sq(const float *a, Py_ssize_t n) nogil

# why scan_binary stopped early (0 = all rows read)
cdef enum:
    C_EOF_BEFORE_WORD = 1
    C_EOF_IN_WORD = 2
    C_EOF_IN_FLOATS = 3

EOF_BEFORE_WORD = C_EOF_BEFORE_WORD
EOF_IN_WORD = C_EOF_IN_WORD
EOF_IN_FLOATS = C_EOF_IN_FLOATS


def scan_binary(const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t n, Py_ssize_t dim,
                float[:, ::1] out, float[::1] norms, int64_t[::1] starts, int64_t[::1] ends):
    """Read up to ``n`` rows starting at byte ``pos``.

    Returns ``(rows_read, pos_after, problem)``; ``problem`` is one of the EOF_* codes
    when the file ended before ``n`` rows (``pos_after`` is then where the damaged row
    starts). Newlines before a word are skipped, so both dialects read alike.
    """
    cdef Py_ssize_t size = buf.shape[0]
    cdef Py_ssize_t nbytes = dim * 4
    cdef Py_ssize_t i = 0, j, wstart
    # bounds checks are compiled out: never write past the arrays, whatever the caller asks
    if dim < 1 or out.shape[1] != dim:
        raise ValueError(f"scan_binary: dim {dim} does not match the matrix ({out.shape[1]} columns)")
    if pos < 0:
        raise ValueError("scan_binary: negative position")
    n = min(n, out.shape[0], norms.shape[0], starts.shape[0], ends.shape[0])
    cdef int problem = 0
    cdef const uint8_t *base = &buf[0] if size > 0 else NULL
    cdef const uint8_t *space
    cdef float *row
    with nogil:
        while i < n:
            while pos < size and base[pos] == 10:
                pos += 1
            if pos >= size:
                problem = C_EOF_BEFORE_WORD
                break
            wstart = pos
            space = <const uint8_t *> memchr(base + pos, 32, size - pos)
            if space == NULL:
                problem = C_EOF_IN_WORD
                break
            pos = space - base
            if pos + 1 + nbytes > size:
                pos = wstart
                problem = C_EOF_IN_FLOATS
                break
            starts[i] = wstart
            ends[i] = pos
            row = &out[i, 0]
            memcpy(row, base + pos + 1, nbytes)
            norms[i] = sqrtf(vecio_pairwise_sq(row, dim))
            pos += 1 + nbytes
            i += 1
    return i, pos, problem


def join_words(const uint8_t[::1] buf, int64_t[::1] starts, int64_t[::1] ends,
               uint8_t[::1] blob, uint64_t[::1] hashes):
    """Copy the words into ``blob`` separated by ``\\n`` (one decode for all of them) and
    FNV-1a hash each one, so duplicates can be ruled out without a Python dict."""
    cdef Py_ssize_t i, j, n = starts.shape[0], k = 0, length, need = 0
    cdef uint64_t h
    if ends.shape[0] < n or hashes.shape[0] < n:
        raise ValueError("join_words: starts, ends and hashes differ in length")
    for i in range(n):
        if starts[i] < 0 or ends[i] < starts[i] or ends[i] > buf.shape[0]:
            raise ValueError(f"join_words: word {i} lies outside the buffer")
        need += ends[i] - starts[i] + (1 if i + 1 < n else 0)
    if need > blob.shape[0]:
        raise ValueError("join_words: blob too small for the words")
    with nogil:
        for i in range(n):
            length = ends[i] - starts[i]
            h = 14695981039346656037ULL
            for j in range(length):
                h = (h ^ buf[starts[i] + j]) * 1099511628211ULL
            hashes[i] = h
            if length > 0:
                memcpy(&blob[k], &buf[starts[i]], length)
            k += length
            if i + 1 < n:
                blob[k] = 10
                k += 1
    return k


cdef extern from *:
    """
    /* The shortest decimal that reads back to the same float32, in numpy's positional
       style (what str(np.float32(x)) and so gensim's text writer print), for
       1e-4 <= |x| < 1e6 and zero (where numpy 1.x and 2.x print the same);
       anything else returns -1 and is left to the installed numpy.
       Exact: x = m * 2**-K = X / 10**K with X = m * 5**K held in 128 bits; scaled by
       2 * 10**(K+1) the neighbour midpoints are integers too, so the shortest digit
       string inside the rounding interval (closest to x among equals) is found with
       integer arithmetic only. */
    typedef unsigned __int128 vecio_u128;
    static vecio_u128 vecio_pow5[48], vecio_pow10[40];
    static int vecio_tables_ready = 0;

    static void vecio_tables(void) {
        vecio_pow5[0] = 1; vecio_pow10[0] = 1;
        for (int i = 1; i < 48; i++) vecio_pow5[i] = vecio_pow5[i - 1] * 5;
        for (int i = 1; i < 40; i++) vecio_pow10[i] = vecio_pow10[i - 1] * 10;
        vecio_tables_ready = 1;
    }

    static int vecio_format_f32(float f, char *out) {
        uint32_t bits;
        memcpy(&bits, &f, 4);
        int neg = bits >> 31;
        uint32_t expf = (bits >> 23) & 0xff, frac = bits & 0x7fffff;
        char *p = out;
        if (expf == 0 && frac == 0) {
            if (neg) *p++ = '-';
            memcpy(p, "0.0", 3);
            return (int)(p - out) + 3;
        }
        if (expf == 0 || expf == 255) return -1;
        double a = fabs((double)f);
        if (!(a >= 1e-4 && a < 1e6)) return -1;
        uint64_t m = frac | 0x800000u;
        int K = 150 - (int)expf;               /* x = m * 2**-K, K >= 0 here */
        if (K < 0 || K > 45) return -1;
        vecio_u128 V = 20 * (vecio_u128)m * vecio_pow5[K];      /* x * 2 * 10**(K+1) */
        vecio_u128 hh = 2 * vecio_pow5[K + 1];                   /* half ulp above */
        vecio_u128 hl = (frac == 0 && expf > 1) ? vecio_pow5[K + 1] : hh;  /* below */
        int even = (m & 1) == 0;
        vecio_u128 lo = V - hl, hi = V + hh;
        /* a multiple of 10u is a multiple of u: if no candidate has n digits, none has
           fewer. So walk up from 9 significant digits (or x's exact expansion, which is
           always a candidate) and keep the last digit position that still fits. */
        int jl = (int)floor(log10(a));
        int j, jbest = 0, found = 0;
        vecio_u128 best_lo = 0, best_hi = 0, best_u = 1;
        j = jl - 8;
        if (j < -K) j = -K;
        for (; j <= jl + 1; j++) {
            int t = K + 1 + j;
            if (t < 0 || t >= 40) return -1;
            vecio_u128 u = 2 * vecio_pow10[t];
            vecio_u128 qlo = (lo + u - 1) / u, qhi = hi / u;
            if (!even && qlo * u == lo) qlo++;
            if (!even && qhi * u == hi) qhi--;
            if (qlo > qhi) break;
            jbest = j; best_lo = qlo; best_hi = qhi; best_u = u; found = 1;
        }
        if (!found) return -1;
        j = jbest;
        vecio_u128 qq = V / best_u, r = V - qq * best_u;
        if (2 * r > best_u || (2 * r == best_u && (qq & 1))) qq++;
        if (qq < best_lo) qq = best_lo;
        if (qq > best_hi) qq = best_hi;
        uint64_t q = (uint64_t)qq;
        char digits[24];
        int nd = 0;
        do { digits[nd++] = (char)('0' + q % 10); q /= 10; } while (q);
        if (neg) *p++ = '-';
        int intdigits = nd + j;                 /* digits before the point */
        if (j >= 0) {
            for (int i = nd - 1; i >= 0; i--) *p++ = digits[i];
            for (int i = 0; i < j; i++) *p++ = '0';
            *p++ = '.'; *p++ = '0';
            return (int)(p - out);
        }
        if (intdigits <= 0) {
            *p++ = '0'; *p++ = '.';
            for (int i = 0; i < -intdigits; i++) *p++ = '0';
            for (int i = nd - 1; i >= 0; i--) *p++ = digits[i];
        } else {
            for (int i = nd - 1; i >= nd - intdigits; i--) *p++ = digits[i];
            *p++ = '.';
            for (int i = nd - intdigits - 1; i >= 0; i--) *p++ = digits[i];
        }
        while (p[-1] == '0' && p[-2] != '.') p--;   /* no trailing zeros after the point */
        return (int)(p - out);
    }
    """
    int vecio_format_f32(float f, char *out) nogil
    void vecio_tables() nogil

vecio_tables()

# widest value the fast path writes ("-0.000" + 9 digits, "-16777215.0") plus a space
FORMAT_WIDTH = 24


def format_rows(const float[:, ::1] m, uint8_t[::1] out, int64_t[::1] ends, uint8_t[::1] fallback):
    """Write each row's values, space-separated, as str(np.float32) would, into ``out``
    (row i ends at ``ends[i]``). Rows holding a value outside the fast path's range get
    ``fallback[i] = 1`` and are left for the caller to format."""
    cdef Py_ssize_t i, j, k = 0, rows = m.shape[0], dim = m.shape[1], start
    cdef int n
    cdef char *base = <char *> &out[0]
    with nogil:
        for i in range(rows):
            start = k
            fallback[i] = 0
            for j in range(dim):
                if j:
                    base[k] = 32
                    k += 1
                n = vecio_format_f32(m[i, j], base + k)
                if n < 0:
                    fallback[i] = 1
                    k = start
                    break
                k += n
            ends[i] = k
    return k
