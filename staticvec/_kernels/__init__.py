"""Loads each arithmetic kernel in the variant this CPU can run.

``STATICVEC_KERNEL=generic`` forces the baseline build (to compare or to debug).
"""
import importlib
import os

from staticvec._kernels import cpu

# thread t publishes its progress at progress[t * PROGRESS_STRIDE] (defined in common.h)
PROGRESS_STRIDE = cpu.PROGRESS_STRIDE


def _pick_variant():
    forced = os.environ.get("STATICVEC_KERNEL", "").strip().lower()
    if forced in {"generic", "avx2"}:
        return forced
    return "avx2" if cpu.has_avx2_fma() else "generic"


VARIANT = _pick_variant()
VARIANT_LABEL = {"avx2": "avx2+fma", "generic": "generic x86-64"}.get(VARIANT, VARIANT)


def load(name):
    """Import the kernel module ``name`` (e.g. ``"word2vec"``) built for the active variant."""
    try:
        return importlib.import_module(f"staticvec._kernels.{VARIANT}.{name}")
    except ImportError:
        if VARIANT == "generic":
            raise
        return importlib.import_module(f"staticvec._kernels.generic.{name}")
