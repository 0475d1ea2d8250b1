"""Build the Cython kernels.

Every arithmetic kernel is compiled twice from the same generated C file: once for
x86-64 with AVX2+FMA (``staticvec._kernels.avx2.<name>``) and once for the baseline
instruction set (``staticvec._kernels.generic.<name>``). ``staticvec._kernels`` picks one
at import time from what the CPU reports, so a wheel built here still runs on an older
CPU instead of dying with SIGILL, which a bare ``-march=native`` build would do.

``STATICVEC_ONLY=word2vec,glove`` limits a development rebuild to the named kernels.
"""
import os
import platform
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = Path("staticvec/_kernels")
# kernels with no float arithmetic worth vectorising: built once, for the baseline ISA
PLAIN = {"cpu", "tokenize"}
BASE_FLAGS = ["-O3", "-fno-strict-aliasing", "-Wno-unused-function", "-Wno-unreachable-code", "-Wno-psabi"]
IS_X86 = platform.machine().lower() in {"x86_64", "amd64"}
VARIANTS = {"avx2": ["-mavx2", "-mfma"], "generic": []} if IS_X86 else {"generic": []}

only = {n for n in os.environ.get("STATICVEC_ONLY", "").split(",") if n}
directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
}

extensions = []
for pyx in sorted(KERNELS.glob("*.pyx")):
    name = pyx.stem
    if only and name not in only and name != "cpu":
        continue
    (generated,) = cythonize(
        [Extension(f"staticvec._kernels.{name}", [str(pyx)], include_dirs=[str(KERNELS)])],
        compiler_directives=directives,
        include_path=["."],
        quiet=True,
    )
    c_file = generated.sources[0]
    if name in PLAIN:
        extensions.append(Extension(f"staticvec._kernels.{name}", [c_file],
                                    include_dirs=[str(KERNELS)], extra_compile_args=BASE_FLAGS))
        continue
    for variant, flags in VARIANTS.items():
        extensions.append(Extension(f"staticvec._kernels.{variant}.{name}", [c_file],
                                    include_dirs=[str(KERNELS)],
                                    extra_compile_args=BASE_FLAGS + flags))

setup(ext_modules=extensions)
