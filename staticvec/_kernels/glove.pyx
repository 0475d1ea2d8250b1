# GloVe training arithmetic: hogwild AdaGrad over co-occurrence records, nogil.
#
# One record (i, j, log x, f(x)) gives diff = w_i . c_j + b_i + b~_j - log x and fdiff =
# f(x) diff. Every parameter p with gradient g then takes the GloVe C step
#     t = eta * clip(g, -clip, clip);   p -= t / sqrt(G_p);   G_p += t * t
# with G_p (the AdaGrad accumulator) starting at 1 (so the first step is eta * g). g is
# fdiff * c_j for w_i, fdiff * w_i for c_j and fdiff for both biases (rate eta_bias). A record
# whose diff is NaN/Inf means the parameters diverged (log x and f(x) are finite): it changes
# nothing, the epoch is recorded in ``diverged`` and every thread is stopped (GloVe C skips
# such records and goes on, writing NaN vectors at the end). No -ffast-math
# (setup.py): it would let the compiler assume finite numbers and drop exactly these checks.
# 1/sqrt(G) is the CPU's estimate refined by one Newton step (relative error ~1e-7), so
# results are reproducible on one machine but may differ in the last bits between CPU models.
from libc.stdint cimport uint32_t, int32_t, int64_t

import numpy as np

cdef extern from *:
    """
    #include <math.h>
    #include "common.h"
    #if defined(__AVX__)
    #include <immintrin.h>
    typedef __m256 gl_v;
    #define GL_LANES 8
    #define gl_load _mm256_loadu_ps
    #define gl_store _mm256_storeu_ps
    #define gl_set1 _mm256_set1_ps
    #define gl_add _mm256_add_ps
    #define gl_sub _mm256_sub_ps
    #define gl_mul _mm256_mul_ps
    #define gl_min _mm256_min_ps
    #define gl_max _mm256_max_ps
    #define gl_rsqrt0 _mm256_rsqrt_ps
    #elif defined(__SSE2__)
    #include <emmintrin.h>
    typedef __m128 gl_v;
    #define GL_LANES 4
    #define gl_load _mm_loadu_ps
    #define gl_store _mm_storeu_ps
    #define gl_set1 _mm_set1_ps
    #define gl_add _mm_add_ps
    #define gl_sub _mm_sub_ps
    #define gl_mul _mm_mul_ps
    #define gl_min _mm_min_ps
    #define gl_max _mm_max_ps
    #define gl_rsqrt0 _mm_rsqrt_ps
    #else
    #define GL_LANES 0
    #endif

    #if GL_LANES
    /* 1/sqrt(g): the CPU's 12-bit estimate and one Newton step (relative error ~1e-7, a few
     * times cheaper than sqrt + divide, which dominate the update otherwise) */
    static inline gl_v gl_rsqrt(gl_v g) {
        gl_v y = gl_rsqrt0(g);
        return gl_mul(y, gl_sub(gl_set1(1.5f), gl_mul(gl_mul(gl_set1(0.5f), g), gl_mul(y, y))));
    }
    #endif

    /* ask for a row that a coming record will touch, a cache line at a time */
    static inline void gl_prefetch(const float *p, int d) {
        const char *c = (const char *)p;
        for (int off = 0; off < d * 4; off += 64) __builtin_prefetch(c + off, 1, 3);
    }

    static inline float gl_clip(float x, float c) { return x > c ? c : (x < -c ? -c : x); }

    /* One pass over both vectors: t = eta * clip(fdiff * partner) from the values before
     * this step; w -= t / sqrt(G); G += t * t. Given a finite diff (checked by the caller) every
     * w_k, c_k is finite and t is clipped, so the step is finite unless t * t overflows G (an
     * --eta near 1e18): the NaN that leaves is caught by the next diff that reads the row, or
     * by the check of the final vectors, so no second pass is needed here. */
    static inline void gl_step(float *w, float *c, float *gw, float *gc, int d,
                               float fdiff, float eta, float clip) {
        int i = 0;
    #if GL_LANES
        gl_v vf = gl_set1(fdiff), ve = gl_set1(eta), vhi = gl_set1(clip), vlo = gl_set1(-clip);
        for (; i + GL_LANES <= d; i += GL_LANES) {
            gl_v vw = gl_load(w + i), vc = gl_load(c + i);
            gl_v gwv = gl_load(gw + i), gcv = gl_load(gc + i);
            gl_v a = gl_mul(gl_min(gl_max(gl_mul(vf, vc), vlo), vhi), ve);
            gl_v b = gl_mul(gl_min(gl_max(gl_mul(vf, vw), vlo), vhi), ve);
            gl_store(w + i, gl_sub(vw, gl_mul(a, gl_rsqrt(gwv))));
            gl_store(c + i, gl_sub(vc, gl_mul(b, gl_rsqrt(gcv))));
            gl_store(gw + i, gl_add(gwv, gl_mul(a, a)));
            gl_store(gc + i, gl_add(gcv, gl_mul(b, b)));
        }
    #endif
        for (; i < d; i++) {
            float a = gl_clip(fdiff * c[i], clip) * eta;
            float b = gl_clip(fdiff * w[i], clip) * eta;
            w[i] -= a / sqrtf(gw[i]);
            c[i] -= b / sqrtf(gc[i]);
            gw[i] += a * a;
            gc[i] += b * b;
        }
    }
    """
    float gl_clip(float x, float c) nogil
    void gl_prefetch(const float *p, int d) nogil
    void gl_step(float *w, float *c, float *gw, float *gc, int d, float fdiff, float eta,
                 float clip) nogil

from libc.math cimport isfinite, sqrtf
from staticvec._kernels.common cimport sv_dot


cdef packed struct Rec:
    uint32_t w1
    uint32_t w2
    float logx
    float fx


cdef enum:
    PROGRESS_EVERY = 8192
    PREFETCH_AHEAD = 8     # records: rows are random, so fetch them before they are needed


def train(const Rec[::1] recs, Py_ssize_t start, Py_ssize_t end,
          float[:, ::1] W, float[:, ::1] C, float[::1] bw, float[::1] bc,
          float[:, ::1] GW, float[:, ::1] GC, float[::1] gbw, float[::1] gbc,
          float eta, float eta_bias, float clip, int64_t[::1] done, Py_ssize_t slot,
          int32_t[::1] stop, int32_t[::1] diverged=None, int epoch=1):
    """One pass over recs[start:end]; returns (sum of 0.5 f(x) diff^2, records skipped).

    ``done[slot]`` is bumped every few thousand records for the progress display;
    a non-zero ``stop[0]`` (Ctrl-C) ends the pass early. A NaN/inf diff (diverged parameters)
    skips its record, writes ``epoch`` to ``diverged[0]`` if that is still 0, sets ``stop[0]``
    and ends the pass.
    """
    cdef int d = W.shape[1]
    cdef Py_ssize_t r, since = 0
    cdef uint32_t i, j
    cdef float diff, fdiff, t1
    cdef double cost = 0.0
    cdef int64_t skipped = 0
    cdef float *w
    cdef float *c
    if diverged is None:
        diverged = np.zeros(1, dtype=np.int32)
    with nogil:
        for r in range(start, end):
            if r + PREFETCH_AHEAD < end:
                i = recs[r + PREFETCH_AHEAD].w1
                j = recs[r + PREFETCH_AHEAD].w2
                gl_prefetch(&W[i, 0], d)
                gl_prefetch(&C[j, 0], d)
                gl_prefetch(&GW[i, 0], d)
                gl_prefetch(&GC[j, 0], d)
            i = recs[r].w1
            j = recs[r].w2
            w = &W[i, 0]
            c = &C[j, 0]
            diff = sv_dot(w, c, d) + bw[i] + bc[j] - recs[r].logx
            fdiff = recs[r].fx * diff
            if not (isfinite(diff) and isfinite(fdiff)):
                skipped += 1
                if diverged[0] == 0:
                    diverged[0] = epoch
                stop[0] = 1
                break
            else:
                cost += 0.5 * <double>fdiff * <double>diff
                t1 = gl_clip(fdiff, clip) * eta_bias
                gl_step(w, c, &GW[i, 0], &GC[j, 0], d, fdiff, eta, clip)
                bw[i] -= t1 / sqrtf(gbw[i])
                bc[j] -= t1 / sqrtf(gbc[j])
                gbw[i] += t1 * t1
                gbc[j] += t1 * t1
            since += 1
            if since == PROGRESS_EVERY:
                done[slot] += since
                since = 0
                if stop[0]:
                    break
        done[slot] += since
    return cost, skipped
