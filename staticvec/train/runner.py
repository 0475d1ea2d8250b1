"""What every trainer shares: worker threads over shares of the corpus, progress, Ctrl-C, memory.

A trainer hands ``run_workers`` a function ``work(thread)`` that calls its nogil kernel on that
thread's share; the kernel publishes how many words it has processed into
``counters.progress[thread * PROGRESS_STRIDE]`` and returns when ``counters.stop[0]`` is set.
The main thread only starts the workers, polls the counters for the progress display, and turns
Ctrl-C (and SIGTERM, which the CLI turns into ``SigTerm``, a KeyboardInterrupt) into a stop
request: workers return within one sentence, and ``Interrupted`` (``Terminated`` for SIGTERM)
is raised (the CLI maps them to exit 130 and 143; nothing has been written, since outputs are
written afterwards).

    counters = Counters(threads)
    shares = encode.sentence_shares(corpus.sentence_ends, threads)
    def work(t):
        kernel.train(t, ..., shares[t], counters.progress, counters.stop, ...)
    run_workers(work, threads, counters, total=epochs * corpus.n_tokens,
                description="skip-gram", fields=lambda done: {"alpha": ...}, quiet=quiet)

``check_memory(needed, what)`` refuses early, with one clear line, a job that cannot fit (naming
the option behind its largest buffers); ``check_int``/``check_positive`` give every trainer one
wording for option bounds; a kernel that meets a NaN/inf dot product writes the epoch to the
trainer's ``diverged`` slot and sets the stop flag, and the trainer raises ``diverged_error``
(``check_finite`` checks the final weights the same way before anything is written);
``file_backed(ids)`` tells the kernels whether they may drop the corpus pages they have read
from the resident set (the encoded corpus is a file mapping: without that, every epoch would
leave all of it resident, 4 bytes per token, on top of the model).
"""
import math
import os
import threading
import time

import numpy as np

from staticvec._kernels import PROGRESS_STRIDE
from staticvec.errors import Interrupted, ResourceError, SigTerm, Terminated
from staticvec.progress import Progress, say


class Counters:
    """Shared, kernel-visible state of one run: per-thread progress and the stop flag."""

    def __init__(self, threads):
        self.threads = int(threads)
        self.progress = np.zeros(self.threads * PROGRESS_STRIDE, dtype=np.int64)
        self.stop = np.zeros(1, dtype=np.int32)

    def done(self):
        """Words processed so far by all threads (a racy but monotone read, fine for display)."""
        return int(self.progress[::PROGRESS_STRIDE].sum())


def run_workers(work, threads, counters, *, total, description, quiet=False, fields=None,
                poll=0.1):
    """Run ``work(t)`` for t in range(threads) on threads; show progress; handle Ctrl-C/SIGTERM.

    ``total``: words the whole run will process (for the bar and ETA). ``fields(done)``: extra
    values to show (e.g. epoch, alpha). Re-raises the first worker exception. Returns the list
    of the workers' return values.
    """
    results = [None] * threads
    errors = []

    def target(t):
        try:
            results[t] = work(t)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)
            counters.stop[0] = 1

    pool = [threading.Thread(target=target, args=(t,), name=f"staticvec-worker-{t}", daemon=True)
            for t in range(threads)]
    try:
        with Progress(description, total, unit="words", quiet=quiet) as bar:
            for thread in pool:
                thread.start()
            while any(thread.is_alive() for thread in pool):
                pool[0].join(poll) if pool[0].is_alive() else time.sleep(poll)
                done = counters.done()
                bar.update(min(done, total), **(fields(done) if fields else {}))
            if not errors and counters.stop[0] == 0:
                bar.update(total, **(fields(total) if fields else {}))
    except KeyboardInterrupt as exc:
        counters.stop[0] = 1
        for thread in pool:
            thread.join()
        raise (Terminated() if isinstance(exc, SigTerm) else Interrupted()) from None
    if errors:
        raise errors[0]
    if counters.stop[0]:
        raise Interrupted()
    return results


def file_backed(array):
    """True when ``array`` lies in a read-only shared file mapping (``np.memmap`` mode 'r'),
    the only memory whose pages may be dropped and re-read unchanged; dropping the pages of
    any other array would zero it."""
    a = array
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap):
            return a.mode == "r"
        a = a.base
    return False


def available_memory():
    """Bytes the kernel says can be allocated without swapping (MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def physical_memory():
    """Bytes of RAM in this machine, or None."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def human_bytes(n):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def check_memory(needed, what, quiet=False, hint="a smaller --dim or a larger --min-count"):
    """Say how much memory ``what`` needs; raise ResourceError if it exceeds what is available.

    ``needed``: bytes, or {hint: bytes} per buffer group (e.g. ``{"fewer --threads": ...}``),
    in which case the refusal names the hint of the largest group: the option at fault."""
    if isinstance(needed, dict):
        hint = max(needed.items(), key=lambda item: item[1])[0]
        needed = sum(needed.values())
    available = available_memory()
    if available is not None and needed > available:
        raise ResourceError(f"{what} needs {human_bytes(needed)} but only "
                            f"{human_bytes(available)} is available (try {hint})")
    say(f"{what} needs {human_bytes(needed)} of memory"
        + (f" ({human_bytes(available)} available)" if available is not None else ""), quiet)


# ---------------------------------------------------------------- option bounds, divergence
from staticvec.errors import BadOptionError, StaticvecError  # noqa: E402 (kept with its users)

# The kernels take counts as C ints: anything above this is refused, not wrapped around.
INT_MAX = 2 ** 31 - 1
MAX_DIM = 2 ** 30            # a C int even padded; the memory check refuses far earlier
MAX_EPOCHS = 1_000_000


def max_threads():
    """The most worker threads a trainer starts: 16 per core (at least 64). More only adds
    switching, and every thread holds its own buffers."""
    return max(64, 16 * (os.cpu_count() or 1))


def check_int(name, value, low, high):
    """``name`` (an option such as ``--window``) must be an integer in [low, high]."""
    if not low <= value <= high:
        raise BadOptionError(f"{name} must be an integer in [{low}, {high}] (got {value})")


def check_positive(name, value):
    """``name`` must be a finite number > 0 (inf and nan are refused, never trained with)."""
    if not (math.isfinite(value) and value > 0):
        raise BadOptionError(f"{name} must be a finite number > 0 (got {value})")


def diverged_error(epoch, option="--alpha"):
    return StaticvecError(f"training diverged in epoch {epoch} (non-finite weights); "
                          f"lower {option}")


def check_finite(arrays, epoch, option="--alpha"):
    """Raise the divergence error if any of ``arrays`` holds NaN/inf (read in blocks, so the
    check of a large model needs no model-sized temporary)."""
    for a in arrays:
        flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
        step = max(1, (1 << 22) // max(flat.shape[1], 1))
        for lo in range(0, flat.shape[0], step):
            if not np.isfinite(flat[lo:lo + step]).all():
                raise diverged_error(epoch, option)
