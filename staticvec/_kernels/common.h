/* Arithmetic shared by every staticvec kernel: dot/axpy/scale, the sigmoid table and the RNG.
 *
 * Written with GCC vector extensions so the same source becomes AVX2+FMA code in the avx2
 * build and SSE2 code in the generic build (see setup.py); no -ffast-math anywhere, so NaN
 * checks in the kernels keep working and results do not depend on reassociation.
 * Declared for Cython in common.pxd; nothing here touches Python.
 */
#ifndef STATICVEC_COMMON_H
#define STATICVEC_COMMON_H

#include <stdint.h>
#include <string.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

typedef float sv_v8 __attribute__((vector_size(32)));

static inline sv_v8 sv_load8(const float *p) { sv_v8 v; memcpy(&v, p, sizeof v); return v; }
static inline void sv_store8(float *p, sv_v8 v) { memcpy(p, &v, sizeof v); }

/* x . y over n floats: eight lanes of partial sums, then the lanes in a fixed order,
 * so the result is the same on every run for the same build. */
static inline float sv_dot(const float *x, const float *y, int n) {
    sv_v8 acc = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += sv_load8(x + i) * sv_load8(y + i);
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

/* y += a * x */
static inline void sv_axpy(int n, float a, const float *x, float *y) {
    sv_v8 av = {a, a, a, a, a, a, a, a};
    int i = 0;
    for (; i + 8 <= n; i += 8) sv_store8(y + i, sv_load8(y + i) + av * sv_load8(x + i));
    for (; i < n; i++) y[i] += a * x[i];
}

/* x *= a */
static inline void sv_scale(int n, float a, float *x) {
    sv_v8 av = {a, a, a, a, a, a, a, a};
    int i = 0;
    for (; i + 8 <= n; i += 8) sv_store8(x + i, sv_load8(x + i) * av);
    for (; i < n; i++) x[i] *= a;
}

/* y = x */
static inline void sv_copy(int n, const float *x, float *y) { memcpy(y, x, (size_t)n * sizeof(float)); }

/* x = 0 */
static inline void sv_zero(int n, float *x) { memset(x, 0, (size_t)n * sizeof(float)); }

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

/* non-zero when f is NaN or +-inf: the kernels' divergence test, one compare per dot product */
static inline int sv_nonfinite(float f) { return !(f - f == 0.0f); }

/* log(sigma(f)) for loss reporting, clipped like sv_sigmoid. */
static inline float sv_log_sigmoid(const float *table, float f) {
    float s = sv_sigmoid(table, f);
    return s > 1e-7f ? logf(s) : logf(1e-7f);
}

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

/* an integer in [0, n) */
static inline uint64_t sv_rand_below(uint64_t *state, uint64_t n) {
    return (sv_rand_next(state) >> 16) % n;
}

/* a float in [0, 1) with 24 random bits */
static inline float sv_rand_uniform(uint64_t *state) {
    return (float)((sv_rand_next(state) >> 24) & 0xFFFFFF) / 16777216.0f;
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
