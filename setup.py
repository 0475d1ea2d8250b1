"""Build the Cython kernels.

Every arithmetic kernel is compiled twice from the same generated C file: once for
x86-64 with AVX2+FMA (``staticvec._kernels.avx2.<name>``) and once for the baseline
instruction set (``staticvec._kernels.generic.<name>``). ``staticvec._kernels`` picks one
at import time from what the CPU reports, so a wheel built here still runs on an older
CPU instead of dying with SIGILL, which a bare ``-march=native`` build would do.

The extensions name their ``.pyx`` sources, so an sdist carries the Cython sources (with the
``.pxd``/``.h`` files MANIFEST.in adds), not generated C; ``build_ext`` cythonizes them only
when it builds, every file at once (one Cython job per core), then compiles them one by one.

``STATICVEC_ONLY=word2vec,glove`` limits a development rebuild to the named kernels;
``STATICVEC_CFLAGS`` is appended to every compile (``-O0`` for a quick throwaway build, as the
sdist test does; ``-march=native`` for a build that only this machine runs).
"""
import os
import platform
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = Path("staticvec/_kernels")
# kernels with no float arithmetic worth vectorising: built once, for the baseline ISA
PLAIN = {"cpu", "tokenize"}
BASE_FLAGS = ["-O3", "-fno-strict-aliasing", "-Wno-unused-function", "-Wno-unreachable-code", "-Wno-psabi"]
IS_X86 = platform.machine().lower() in {"x86_64", "amd64"}
VARIANTS = {"avx2": ["-mavx2", "-mfma"], "generic": []} if IS_X86 else {"generic": []}

USER_FLAGS = os.environ.get("STATICVEC_CFLAGS", "").split()  # passed last, so that they win
only = {n for n in os.environ.get("STATICVEC_ONLY", "").split(",") if n}
directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
}


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class BuildKernels(build_ext):
    """Cythonizes each ``.pyx`` once (the variants share its C file), then compiles.

    The compiles stay sequential (no ``parallel`` default): the avx2 and generic variants of a
    kernel compile the same C file to the same object path, and two jobs writing it at once
    link a broken module ("multiple definition" at link time)."""

    def run(self):
        from Cython.Build import cythonize

        pyx_files = sorted({s for ext in self.extensions for s in ext.sources if s.endswith(".pyx")})
        if pyx_files:
            generated = cythonize(
                [Extension(f"staticvec._kernels.{Path(p).stem}", [p], include_dirs=[str(KERNELS)])
                 for p in pyx_files],
                compiler_directives=directives, include_path=["."], quiet=True,
                nthreads=cores())
            c_file = {pyx: ext.sources[0] for pyx, ext in zip(pyx_files, generated)}
            for ext in self.extensions:
                ext.sources = [c_file.get(s, s) for s in ext.sources]
        super().run()


extensions = []
for pyx in sorted(KERNELS.glob("*.pyx")):
    name = pyx.stem
    if only and name not in only and name != "cpu":
        continue
    if name in PLAIN:
        extensions.append(Extension(f"staticvec._kernels.{name}", [str(pyx)],
                                    include_dirs=[str(KERNELS)], extra_compile_args=BASE_FLAGS + USER_FLAGS))
        continue
    for variant, flags in VARIANTS.items():
        extensions.append(Extension(f"staticvec._kernels.{variant}.{name}", [str(pyx)],
                                    include_dirs=[str(KERNELS)],
                                    extra_compile_args=BASE_FLAGS + flags + USER_FLAGS))

setup(ext_modules=extensions, cmdclass={"build_ext": BuildKernels})
