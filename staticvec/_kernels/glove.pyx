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
# 1/sqrt(G) is the CPU's estimate refined by one Newton step (common.h sv_rsqrt8, relative
# error ~1e-7) for all but the last dim % 8 floats, so results are reproducible on one machine
# but may differ in the last bits between CPU models.
from libc.stdint cimport uint32_t, int32_t, int64_t

import numpy as np

cdef extern from *:
    """
    #include <math.h>
    #include "common.h"

    static inline float gl_clip(float x, float c) { return x > c ? c : (x < -c ? -c : x); }

    /* One pass over both vectors: t = eta * clip(fdiff * partner) from the values before
     * this step; w -= t / sqrt(G); G += t * t. Given a finite diff (checked by the caller) every
     * w_k, c_k is finite and t is clipped, so the step is finite unless t * t overflows G (an
     * --eta near 1e18): the NaN that leaves is caught by the next diff that reads the row, or
     * by the check of the final vectors, so no second pass is needed here. Eight floats at a
     * time with 1/sqrt from sv_rsqrt8, the rest exactly. */
    static inline void gl_step(float *w, float *c, float *gw, float *gc, int d,
                               float fdiff, float eta, float clip) {
        int i = 0;
        sv_v8 vf = sv_splat8(fdiff), ve = sv_splat8(eta);
        sv_v8 vhi = sv_splat8(clip), vlo = sv_splat8(-clip);
        for (; i + 8 <= d; i += 8) {
            sv_v8 vw = sv_load8(w + i), vc = sv_load8(c + i);
            sv_v8 gwv = sv_load8(gw + i), gcv = sv_load8(gc + i);
            sv_v8 a = sv_min8(sv_max8(vf * vc, vlo), vhi) * ve;
            sv_v8 b = sv_min8(sv_max8(vf * vw, vlo), vhi) * ve;
            sv_store8(w + i, vw - a * sv_rsqrt8(gwv));
            sv_store8(c + i, vc - b * sv_rsqrt8(gcv));
            sv_store8(gw + i, gwv + a * a);
            sv_store8(gc + i, gcv + b * b);
        }
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
    void gl_step(float *w, float *c, float *gw, float *gc, int d, float fdiff, float eta,
                 float clip) nogil

from libc.math cimport isfinite, sqrtf
from staticvec._kernels.common cimport (sv_dot, sv_prefetch_row, sv_flag, sv_flag_get,
                                        sv_diverged, sv_progress_add, SV_PROGRESS_STRIDE)


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
          float eta, float eta_bias, float clip, int64_t[::1] progress, int thread,
          int32_t[::1] stop, int32_t[::1] diverged=None, int epoch=1,
          int64_t[::1] position=None):
    """One pass over recs[start:end]; returns (sum of 0.5 f(x) diff^2, records skipped).

    The records done are added to thread ``thread``'s progress slot (common.h) every few
    thousand records, for the progress display; a non-zero ``stop[0]`` (Ctrl-C) ends the pass
    early. A NaN/inf diff (diverged parameters) skips its record, writes ``epoch`` to
    ``diverged[0]`` if that is still 0, sets ``stop[0]`` and ends the pass.
    ``position[0]`` (checkpoints): set on return to the first record not trained (``end``
    unless stopped), where a later call continues the pass exactly.
    """
    cdef int d = W.shape[1]
    cdef Py_ssize_t r, since = 0
    cdef uint32_t i, j
    cdef float diff, fdiff, t1
    cdef double cost = 0.0
    cdef int64_t skipped = 0
    cdef Py_ssize_t reached = end
    cdef float *w
    cdef float *c
    if diverged is None:
        diverged = np.zeros(1, dtype=np.int32)
    if thread < 0 or thread >= progress.shape[0] // SV_PROGRESS_STRIDE:
        raise ValueError("thread id out of range")
    cdef int64_t *slots = &progress[0]
    cdef sv_flag *stopped = &stop[0]
    with nogil:
        for r in range(start, end):
            if r + PREFETCH_AHEAD < end:
                i = recs[r + PREFETCH_AHEAD].w1
                j = recs[r + PREFETCH_AHEAD].w2
                sv_prefetch_row(&W[i, 0], d, 1)
                sv_prefetch_row(&C[j, 0], d, 1)
                sv_prefetch_row(&GW[i, 0], d, 1)
                sv_prefetch_row(&GC[j, 0], d, 1)
            i = recs[r].w1
            j = recs[r].w2
            w = &W[i, 0]
            c = &C[j, 0]
            diff = sv_dot(w, c, d) + bw[i] + bc[j] - recs[r].logx
            fdiff = recs[r].fx * diff
            if not (isfinite(diff) and isfinite(fdiff)):
                skipped += 1
                sv_diverged(&diverged[0], stopped, epoch)
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
                sv_progress_add(slots, thread, since)
                since = 0
                if sv_flag_get(stopped):
                    reached = r + 1
                    break
        sv_progress_add(slots, thread, since)
    if position is not None:
        position[0] = reached
    return cost, skipped
