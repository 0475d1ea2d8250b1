/* What every staticvec model kernel shares: the vector arithmetic, the sigmoid table, the RNG,
 * the stop flag and progress slots the worker threads share with Python, and page release.
 *
 * Written with GCC vector extensions (sv_v8: eight floats) so the same source becomes AVX2+FMA
 * code in the avx2 build and SSE2 code in the generic build (see setup.py); the only
 * intrinsics are the three lane operations the extensions cannot express (max, min, the
 * reciprocal square root estimate), each in one place below. No -ffast-math
 * anywhere, so NaN checks in the kernels keep working and results do not depend on
 * reassociation. Declared for Cython in common.pxd; nothing here touches Python.
 */
#ifndef STATICVEC_COMMON_H
#define STATICVEC_COMMON_H

#include <stdint.h>
#include <string.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__AVX__) || defined(__SSE__)
#include <immintrin.h>
#endif

/* ---- eight floats at a time ---- */
typedef float sv_v8 __attribute__((vector_size(32)));

static inline sv_v8 sv_load8(const float *p) { sv_v8 v; memcpy(&v, p, sizeof v); return v; }
static inline void sv_store8(float *p, sv_v8 v) { memcpy(p, &v, sizeof v); }
static inline sv_v8 sv_splat8(float a) { sv_v8 v = {a, a, a, a, a, a, a, a}; return v; }

/* the lanes of a, summed in one fixed order (so a dot product is the same on every run) */
static inline float sv_hsum8(sv_v8 a) {
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

/* ---- the lane operations vector extensions cannot express: GCC's C front end has no ?: on
 * vectors (a select by mask costs a compare and a blend) and no reciprocal square root. Each
 * is one instruction (AVX: on all eight lanes; SSE: on each half); elsewhere plain C. ---- */
#if defined(__AVX__)
static inline sv_v8 sv_max8(sv_v8 a, sv_v8 b) { return (sv_v8)_mm256_max_ps((__m256)a, (__m256)b); }
static inline sv_v8 sv_min8(sv_v8 a, sv_v8 b) { return (sv_v8)_mm256_min_ps((__m256)a, (__m256)b); }
static inline sv_v8 sv_rsqrt_estimate8(sv_v8 g) { return (sv_v8)_mm256_rsqrt_ps((__m256)g); }
#elif defined(__SSE__)
static inline __m128 sv_lo4(sv_v8 v) { __m128 h; memcpy(&h, &v, sizeof h); return h; }
static inline __m128 sv_hi4(sv_v8 v) { __m128 h; memcpy(&h, (const char *)&v + sizeof h, sizeof h); return h; }
static inline sv_v8 sv_join4(__m128 lo, __m128 hi) {
    sv_v8 v;
    memcpy(&v, &lo, sizeof lo);
    memcpy((char *)&v + sizeof lo, &hi, sizeof hi);
    return v;
}
static inline sv_v8 sv_max8(sv_v8 a, sv_v8 b) {
    return sv_join4(_mm_max_ps(sv_lo4(a), sv_lo4(b)), _mm_max_ps(sv_hi4(a), sv_hi4(b)));
}
static inline sv_v8 sv_min8(sv_v8 a, sv_v8 b) {
    return sv_join4(_mm_min_ps(sv_lo4(a), sv_lo4(b)), _mm_min_ps(sv_hi4(a), sv_hi4(b)));
}
static inline sv_v8 sv_rsqrt_estimate8(sv_v8 g) {
    return sv_join4(_mm_rsqrt_ps(sv_lo4(g)), _mm_rsqrt_ps(sv_hi4(g)));
}
#else
static inline sv_v8 sv_max8(sv_v8 a, sv_v8 b) {
    sv_v8 r;
    for (int i = 0; i < 8; i++) r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
}
static inline sv_v8 sv_min8(sv_v8 a, sv_v8 b) {
    sv_v8 r;
    for (int i = 0; i < 8; i++) r[i] = a[i] < b[i] ? a[i] : b[i];
    return r;
}
static inline sv_v8 sv_rsqrt_estimate8(sv_v8 g) {
    sv_v8 r;
    for (int i = 0; i < 8; i++) r[i] = 1.0f / sqrtf(g[i]);
    return r;
}
#endif

/* 1/sqrt(g) per lane: the CPU's 12-bit estimate refined by one Newton step (relative error
 * ~1e-7, a few times cheaper than sqrt + divide); its last bits may differ between CPU
 * models. */
static inline sv_v8 sv_rsqrt8(sv_v8 g) {
    sv_v8 y = sv_rsqrt_estimate8(g);
    return y * (sv_splat8(1.5f) - (sv_splat8(0.5f) * g) * (y * y));
}

/* x . y over n floats: eight lanes of partial sums, then the lanes in a fixed order and the
 * tail, so the result is the same on every run for the same build. */
static inline float sv_dot(const float *x, const float *y, int n) {
    sv_v8 acc = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += sv_load8(x + i) * sv_load8(y + i);
    float s = sv_hsum8(acc);
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

/* out[d] = x . rows[d] for d < k, each exactly sv_dot(x, rows[d], n): up to four rows at a
 * time, so four independent FMA chains share each load of x (a lone dot product waits on FMA
 * latency). For the 1 + negative dots that one input vector takes before any update. */
static inline void sv_dots(const float *x, float *const *rows, int k, int n, float *out) {
    int d = 0, i, j;
    for (; d + 4 <= k; d += 4) {
        const float *r0 = rows[d], *r1 = rows[d + 1], *r2 = rows[d + 2], *r3 = rows[d + 3];
        sv_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (i = 0; i + 8 <= n; i += 8) {
            sv_v8 xv = sv_load8(x + i);
            a0 += xv * sv_load8(r0 + i);
            a1 += xv * sv_load8(r1 + i);
            a2 += xv * sv_load8(r2 + i);
            a3 += xv * sv_load8(r3 + i);
        }
        float s0 = sv_hsum8(a0), s1 = sv_hsum8(a1), s2 = sv_hsum8(a2), s3 = sv_hsum8(a3);
        for (j = i; j < n; j++) {
            s0 += x[j] * r0[j]; s1 += x[j] * r1[j]; s2 += x[j] * r2[j]; s3 += x[j] * r3[j];
        }
        out[d] = s0; out[d + 1] = s1; out[d + 2] = s2; out[d + 3] = s3;
    }
    for (; d + 2 <= k; d += 2) {
        const float *r0 = rows[d], *r1 = rows[d + 1];
        sv_v8 a0 = {0}, a1 = {0};
        for (i = 0; i + 8 <= n; i += 8) {
            sv_v8 xv = sv_load8(x + i);
            a0 += xv * sv_load8(r0 + i);
            a1 += xv * sv_load8(r1 + i);
        }
        float s0 = sv_hsum8(a0), s1 = sv_hsum8(a1);
        for (j = i; j < n; j++) { s0 += x[j] * r0[j]; s1 += x[j] * r1[j]; }
        out[d] = s0; out[d + 1] = s1;
    }
    for (; d < k; d++) out[d] = sv_dot(x, rows[d], n);
}

/* y += a * x */
static inline void sv_axpy(int n, float a, const float *x, float *y) {
    sv_v8 av = sv_splat8(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) sv_store8(y + i, sv_load8(y + i) + av * sv_load8(x + i));
    for (; i < n; i++) y[i] += a * x[i];
}

/* x *= a */
static inline void sv_scale(int n, float a, float *x) {
    sv_v8 av = sv_splat8(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) sv_store8(x + i, sv_load8(x + i) * av);
    for (; i < n; i++) x[i] *= a;
}

/* x = 0 */
static inline void sv_zero(int n, float *x) { memset(x, 0, (size_t)n * sizeof(float)); }

/* ask for the n floats at p, a cache line at a time, ahead of an update (rows are random, so
 * the hardware prefetcher cannot guess them). `soon`: the row is used within a few hundred
 * cycles, keep it in every cache level; 0: it is one of many (fastText's n-gram and noise
 * rows), keep it out of L1 so it does not evict what is being used now (measured: fastText
 * trains ~20% faster than with locality 3).
 * Always called with a constant, so the branch is folded away. */
static inline void sv_prefetch_row(const float *p, int n, int soon) {
    for (int i = 0; i < n; i += 16) {
        if (soon) __builtin_prefetch(p + i, 1, 3);
        else __builtin_prefetch(p + i, 1, 1);
    }
}

/* ---- sigmoid: a table over [-SV_MAX_EXP, SV_MAX_EXP], as word2vec C's expTable ---- */
#define SV_SIGMOID_SIZE 1000
#define SV_MAX_EXP 6

static inline void sv_sigmoid_fill(float *table) {
    for (int i = 0; i < SV_SIGMOID_SIZE; i++) {
        double e = exp(((double)i / SV_SIGMOID_SIZE * 2.0 - 1.0) * SV_MAX_EXP);
        table[i] = (float)(e / (e + 1.0));
    }
}

/* sigma(f) from the table; exactly 0 or 1 beyond +-SV_MAX_EXP (word2vec C's clipping).
 * The index is computed only from f in (-SV_MAX_EXP, SV_MAX_EXP): NaN fails both `f >= MAX`
 * and `f > -MAX`, so it returns 0 instead of indexing memory with garbage (a diverged run is
 * caught by the kernels' finiteness checks, not here). Same results as before for every
 * other f. */
static inline float sv_sigmoid(const float *table, float f) {
    if (f >= SV_MAX_EXP) return 1.0f;
    if (!(f > -SV_MAX_EXP)) return 0.0f;
    return table[(int)((f + SV_MAX_EXP) * (SV_SIGMOID_SIZE / SV_MAX_EXP / 2))];
}

/* ---- the training loss: softplus(x) = log(1 + e^x) = -log sigma(-x), the loss of a dot
 * product x whose label is 0 (label 1: softplus(-x)). The true value at every x (no clipping
 * at +-SV_MAX_EXP): max(x, 0) + log1p(e^-|x|), the second term from a table over
 * [0, SV_SOFTPLUS_MAX] read with linear interpolation (error < 1e-5; beyond the table it is
 * < 1.2e-7 and taken as 0). Measured on skip-gram (dim 100, 5 negatives): +7% instructions,
 * a time difference within the noise; log1pf(expf()) instead: +36% instructions, +26-33%
 * time. NaN gives 0 and never indexes the table. */
#define SV_SOFTPLUS_SIZE 1024
#define SV_SOFTPLUS_MAX 16

static inline void sv_softplus_fill(float *table) {   /* SV_SOFTPLUS_SIZE + 1 entries */
    for (int i = 0; i <= SV_SOFTPLUS_SIZE; i++)
        table[i] = (float)log1p(exp(-(double)i * SV_SOFTPLUS_MAX / SV_SOFTPLUS_SIZE));
}

static inline float sv_softplus(const float *table, float x) {
    float u = fabsf(x), pos = x > 0 ? x : 0.0f;
    if (!(u < SV_SOFTPLUS_MAX)) return pos;
    float s = u * ((float)SV_SOFTPLUS_SIZE / SV_SOFTPLUS_MAX);
    int i = (int)s;
    return pos + table[i] + (s - (float)i) * (table[i + 1] - table[i]);
}

/* Loss slots: thread t owns row t of a float64 (threads, stride) array; epoch e (from 0) has
 * the three doubles at 3e: the loss summed so far, the predictions it was summed over, and 1
 * once the thread has finished the epoch. Written with relaxed atomic stores (never torn) for
 * the Python thread's running mean; only the owner writes its row. */
#define SV_LOSS_SLOTS 3

static inline void sv_loss_set(double *loss, int64_t stride, int thread, int epoch,
                               double sum, double predictions, double finished) {
    double *slot = loss + (size_t)thread * stride + (size_t)SV_LOSS_SLOTS * epoch;
    __atomic_store(slot, &sum, __ATOMIC_RELAXED);
    __atomic_store(slot + 1, &predictions, __ATOMIC_RELAXED);
    __atomic_store(slot + 2, &finished, __ATOMIC_RELAXED);
}

/* non-zero when f is NaN or +-inf: the kernels' divergence test, one compare per dot product */
static inline int sv_nonfinite(float f) { return !(f - f == 0.0f); }

/* ---- RNG ---- */
/* splitmix64: turns (seed + thread id) into well-mixed, independent starting states */
static inline uint64_t sv_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* word2vec C's linear congruential step: cheap, and good enough for negatives and windows */
static inline uint64_t sv_rand_next(uint64_t *state) {
    *state = *state * 25214903917ULL + 11ULL;
    return *state;
}

/* an integer in [0, n), n < 2^32, from 32 bits of the LCG by multiply-shift: no 64-bit
 * division (a modulo costs ~30 cycles) in an inner loop */
static inline uint32_t sv_rand_below(uint64_t *state, uint32_t n) {
    uint64_t r = (sv_rand_next(state) >> 16) & 0xFFFFFFFFULL;
    return (uint32_t)((r * (uint64_t)n) >> 32);
}

/* a float in [0, 1) with 24 random bits */
static inline float sv_rand_uniform(uint64_t *state) {
    return (float)((sv_rand_next(state) >> 24) & 0xFFFFFF) / 16777216.0f;
}

/* ---- state shared by the worker threads and the Python thread that watches them ----
 * Every shared word is read and written with relaxed atomics: each is a single value with no
 * ordering to keep with other memory, but it must be read afresh every time (the compiler may
 * not keep it in a register across a loop) and never torn. */

/* A flag (an int32 array of one element on the Python side): `stop` (non-zero: every worker
 * returns at its next check; set by Ctrl-C or by a worker) and `diverged` (0, or the epoch,
 * from 1, in which a worker met non-finite weights). */
typedef int32_t sv_flag;
static inline int32_t sv_flag_get(const sv_flag *flag) { return __atomic_load_n(flag, __ATOMIC_RELAXED); }
static inline void sv_flag_set(sv_flag *flag, int32_t v) { __atomic_store_n(flag, v, __ATOMIC_RELAXED); }

/* A worker met non-finite weights in `epoch` (from 1): record the first such epoch and stop
 * every worker, so none goes on training on NaNs. */
static inline void sv_diverged(sv_flag *diverged, sv_flag *stop, int32_t epoch) {
    if (sv_flag_get(diverged) == 0) sv_flag_set(diverged, epoch);
    sv_flag_set(stop, 1);
}

/* Progress: thread t owns the int64 slot progress[t * SV_PROGRESS_STRIDE] (one cache line per
 * thread, no false sharing) and publishes there the work it has done (words or records, summed
 * over epochs). Only the owner writes a slot; anyone may read the total. */
#define SV_PROGRESS_STRIDE 8

static inline void sv_progress_set(int64_t *progress, int thread, int64_t done) {
    __atomic_store_n(progress + (size_t)thread * SV_PROGRESS_STRIDE, done, __ATOMIC_RELAXED);
}

/* the owner adds n to its slot (a plain load and store suffice: no one else writes it) */
static inline void sv_progress_add(int64_t *progress, int thread, int64_t n) {
    int64_t *slot = progress + (size_t)thread * SV_PROGRESS_STRIDE;
    __atomic_store_n(slot, __atomic_load_n(slot, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* the work done by all `threads` workers so far: what the learning-rate schedules decay by */
static inline int64_t sv_progress_total(const int64_t *progress, int threads) {
    int64_t total = 0;
    for (int t = 0; t < threads; t++)
        total += __atomic_load_n(progress + (size_t)t * SV_PROGRESS_STRIDE, __ATOMIC_RELAXED);
    return total;
}

/* ---- resident memory ---- */
/* Token ids consumed between two calls of sv_release_pages (4 MB of uint32): the most of a
 * file-backed corpus a thread keeps resident while it walks its share. */
#define SV_RELEASE_EVERY (1 << 20)

/* Drop from this process's resident set the pages from the one holding lo up to, not
 * including, the one holding hi: a page goes once the reader has passed its end. Only for
 * read-only shared file mappings (the encoded corpus): a page comes back from the page cache, with the
 * same bytes, the next time it is touched, so another thread still reading it loses nothing.
 * On an anonymous or private mapping this would zero the data: callers must know. */
static inline void sv_release_pages(const void *lo, const void *hi) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)lo & ~(page - 1);
    uintptr_t b = (uintptr_t)hi & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

#endif
