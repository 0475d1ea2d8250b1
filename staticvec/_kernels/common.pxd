# Shared kernel pieces (vector arithmetic, sigmoid table, RNG, the stop flag and progress slots
# shared with Python), declared once for every model. The bodies live in common.h as static
# inline C so that GCC vectorises them for the build variant (AVX2+FMA or baseline); every
# function is nogil and touches no Python.
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

cdef extern from "common.h" nogil:
    enum:
        SV_SIGMOID_SIZE
        SV_MAX_EXP
        SV_RELEASE_EVERY
        SV_PROGRESS_STRIDE
        SV_SOFTPLUS_SIZE
        SV_LOSS_SLOTS
    ctypedef int32_t sv_flag
    float sv_dot(const float *x, const float *y, int n)
    void sv_dots(const float *x, float **rows, int k, int n, float *out)
    void sv_axpy(int n, float a, const float *x, float *y)
    void sv_scale(int n, float a, float *x)
    void sv_zero(int n, float *x)
    void sv_prefetch_row(const float *p, int n, int soon)
    void sv_sigmoid_fill(float *table)
    float sv_sigmoid(const float *table, float f)
    int sv_nonfinite(float f)
    void sv_softplus_fill(float *table)
    float sv_softplus(const float *table, float x)
    void sv_loss_set(double *loss, int64_t stride, int thread, int epoch, double sum,
                     double predictions, double finished)
    uint64_t sv_splitmix64(uint64_t x)
    uint64_t sv_rand_next(uint64_t *state)
    uint32_t sv_rand_below(uint64_t *state, uint32_t n)
    float sv_rand_uniform(uint64_t *state)
    int32_t sv_flag_get(const sv_flag *flag)
    void sv_flag_set(sv_flag *flag, int32_t v)
    void sv_diverged(sv_flag *diverged, sv_flag *stop, int32_t epoch)
    void sv_progress_set(int64_t *progress, int thread, int64_t done)
    void sv_progress_add(int64_t *progress, int thread, int64_t n)
    int64_t sv_progress_total(const int64_t *progress, int threads)
    void sv_release_pages(const void *lo, const void *hi)
