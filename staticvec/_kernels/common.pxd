# Shared kernel pieces (dot/axpy, sigmoid table, RNG), declared once for every model.
# The bodies live in common.h as static inline C so that GCC vectorises them for the
# build variant (AVX2+FMA or baseline); every function is nogil and touches no Python.
from libc.stdint cimport uint64_t

cdef extern from "common.h" nogil:
    enum:
        SV_SIGMOID_SIZE
        SV_MAX_EXP
        SV_RELEASE_EVERY
    float sv_dot(const float *x, const float *y, int n)
    void sv_axpy(int n, float a, const float *x, float *y)
    void sv_scale(int n, float a, float *x)
    void sv_copy(int n, const float *x, float *y)
    void sv_zero(int n, float *x)
    void sv_sigmoid_fill(float *table)
    float sv_sigmoid(const float *table, float f)
    float sv_log_sigmoid(const float *table, float f)
    int sv_nonfinite(float f)
    uint64_t sv_splitmix64(uint64_t x)
    uint64_t sv_rand_next(uint64_t *state)
    uint64_t sv_rand_below(uint64_t *state, uint64_t n)
    float sv_rand_uniform(uint64_t *state)
    void sv_release_pages(const void *lo, const void *hi)
