"""What the CPU can run, asked once at import so the right kernel variant is loaded; and the
layout constants that Python shares with every kernel (this is the one module built once,
whatever the variant, so the package exports them from here)."""
from staticvec._kernels.common cimport SV_PROGRESS_STRIDE, SV_LOSS_SLOTS

# int64 slots between two threads' progress counters (common.h): one cache line each
PROGRESS_STRIDE = SV_PROGRESS_STRIDE
LOSS_SLOTS = SV_LOSS_SLOTS

cdef extern from *:
    """
    static int sv_has_avx2_fma(void) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    """
    int sv_has_avx2_fma()


def has_avx2_fma():
    return bool(sv_has_avx2_fma())
