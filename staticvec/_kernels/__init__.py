"""Loads each arithmetic kernel in the variant this CPU can run.

``STATICVEC_KERNEL=generic`` forces the baseline build (to compare or to debug). Kernels that
were never compiled (a source checkout before ``make build``) or that do not load raise
``KernelsMissing``: one line saying how to rebuild, never a bare ImportError traceback.
"""
import importlib
import importlib.util
import os

from staticvec.errors import KernelsMissing


def _import(module):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise KernelsMissing(f"{module}: {exc}") from exc


cpu = _import("staticvec._kernels.cpu")

# thread t publishes its progress at progress[t * PROGRESS_STRIDE] (defined in common.h)
PROGRESS_STRIDE = cpu.PROGRESS_STRIDE
# the loss of epoch e is at loss[t, LOSS_SLOTS * e:...]: sum, predictions, finished (common.h)
LOSS_SLOTS = cpu.LOSS_SLOTS


def _pick_variant():
    forced = os.environ.get("STATICVEC_KERNEL", "").strip().lower()
    if forced in {"generic", "avx2"}:
        return forced
    return "avx2" if cpu.has_avx2_fma() else "generic"


VARIANT = _pick_variant()
VARIANT_LABEL = {"avx2": "avx2+fma", "generic": "generic x86-64"}.get(VARIANT, VARIANT)


# imported directly (``from staticvec._kernels.tokenize import WordTable``), not through load():
# looked up here, not loaded, so that --version stays fast
if importlib.util.find_spec("staticvec._kernels.tokenize") is None:
    raise KernelsMissing("staticvec._kernels.tokenize is not built")


def load(name):
    """Import the kernel module ``name`` (e.g. ``"word2vec"``) built for the active variant."""
    try:
        return importlib.import_module(f"staticvec._kernels.{VARIANT}.{name}")
    except ImportError:  # not built for this variant (or not loadable): the baseline build
        return _import(f"staticvec._kernels.generic.{name}")
