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
    shares = sentence_shares(corpus.sentence_ends, threads)
    def work(t):
        kernel.train(t, ..., shares[t], counters.progress, counters.stop, ...)
    run_workers(work, threads, counters, total=epochs * corpus.n_tokens,
                description="skip-gram", fields=lambda done: {"alpha": ...}, progress=progress)

With ``--checkpoint`` (``run_workers(checkpoint=...)``, see ``train/checkpoint.py``) training
runs in rounds: each worker trains from its saved state to the end of the epoch, or until
``stop[0]`` is ``PAUSE`` (a checkpoint is due, or Ctrl-C/SIGTERM), and returns at a sentence
boundary with its state (position, RNG, counters) written back; with every worker stopped the
main thread writes a checkpoint and starts the next round. With ``--threads 1`` the rounds
change nothing: the output is byte for byte that of one uninterrupted call.

``sentence_shares`` cuts work into contiguous shares between threads (sentences of the encoded
corpus, or GloVe's records); ``shuffled_blocks`` the blocks a word2vec thread trains by
default (--order shuffled: its part of one random walk over the corpus's ``corpus_blocks``);
``lane_blocks`` the order in which it walks its share with --order sequential (--lanes: block
by block across the lanes its share holds); ``check_memory(needed, what)`` refuses early, with one clear line,
a job that cannot fit (naming the option behind its largest buffers); a kernel that meets a NaN/inf dot product writes the epoch to the
trainer's ``diverged`` slot and sets the stop flag, and the trainer raises ``diverged_error``
(``check_finite`` checks the final weights the same way before anything is written);
``file_backed(ids)`` tells the kernels whether they may drop the corpus pages they have read
from the resident set (the encoded corpus is a file mapping: without that, every epoch would
leave all of it resident, 4 bytes per token, on top of the model).
"""
import logging
import os
import threading
import time

import numpy as np

from staticvec._kernels import LOSS_SLOTS, PROGRESS_STRIDE
from staticvec.errors import Interrupted, ResourceError, SigTerm, StaticvecError, Terminated
from staticvec.reporting import Stage

log = logging.getLogger(__name__)


class Counters:
    """Shared, kernel-visible state of one run: per-thread progress, the stop flag, and the
    loss slots (``loss[t, LOSS_SLOTS * e:]``: thread t's summed float64 loss in epoch e, the
    predictions it was summed over, 1 once finished; common.h ``sv_loss_set``)."""

    def __init__(self, threads, epochs=1):
        self.threads = int(threads)
        self.epochs = int(epochs)
        self.progress = np.zeros(self.threads * PROGRESS_STRIDE, dtype=np.int64)
        self.stop = np.zeros(1, dtype=np.int32)
        # rows a whole number of cache lines apart (8 doubles), plus one: no false sharing
        self.loss = np.zeros((self.threads, -(-LOSS_SLOTS * self.epochs // 8) * 8 + 8),
                             dtype=np.float64)

    def done(self):
        """Words processed so far by all threads (a racy but monotone read, fine for display)."""
        return int(self.progress[::PROGRESS_STRIDE].sum())

    def _slots(self, k):
        return self.loss[:, k:LOSS_SLOTS * self.epochs:LOSS_SLOTS]   # (threads, epochs)

    def epoch_loss(self, epoch):
        """Mean loss per prediction of ``epoch`` (from 0) over all threads, so far (racy
        reads, fine for display); None before any prediction."""
        sums, predictions = self._slots(0)[:, epoch].sum(), self._slots(1)[:, epoch].sum()
        return float(sums / predictions) if predictions else None

    def epoch_losses(self):
        """[mean loss per prediction] of every epoch (None where nothing was predicted)."""
        return [self.epoch_loss(e) for e in range(self.epochs)]

    def predictions(self):
        """[predictions] of every epoch, summed over the threads."""
        return [int(n) for n in self._slots(1).sum(axis=0)]

    def epochs_finished(self):
        """How many epochs every thread has finished."""
        done = self._slots(2).min(axis=0) if self.threads else np.ones(self.epochs)
        return int(np.argmin(done)) if (done == 0).any() else self.epochs

    def finish(self, thread):
        """A worker returned without a stop: it has finished every epoch (a thread with an
        empty share may never have written its row)."""
        self._slots(2)[thread] = 1


def sentence_shares(sentence_ends, n, *, tokens=False):
    """``n`` contiguous ranges of sentence indices [lo, hi) with about equal token counts.

    Threads train one share each per epoch: cut at sentence boundaries, the shares cover every
    sentence exactly once, so every token is trained exactly once per epoch. A share is empty
    when there are fewer sentences than ``n``. ``tokens=True``: the same shares as token
    offsets [start, end). ``sentence_ends`` may be a count N instead of an array: N units of
    one token each (GloVe's records), cut into equal shares.
    """
    n = max(int(n), 1)
    if isinstance(sentence_ends, (int, np.integer)):
        count = int(sentence_ends)
        return [(count * i // n, count * (i + 1) // n) for i in range(n)]
    ends = np.asarray(sentence_ends, dtype=np.uint64)
    if len(ends) == 0:
        return [(0, 0)] * n
    total = int(ends[-1])
    targets = [total * i // n for i in range(1, n)]
    cuts = [0] + [int(np.searchsorted(ends, t, side="left")) + 1 if t else 0 for t in targets]
    cuts.append(len(ends))
    cuts = np.minimum(np.maximum.accumulate(cuts), len(ends))
    shares = [(int(cuts[i]), int(cuts[i + 1])) for i in range(n)]
    if not tokens:
        return shares
    start_of = lambda i: int(ends[i - 1]) if i > 0 else 0  # noqa: E731
    return [(start_of(lo), start_of(hi)) for lo, hi in shares]


# tokens of one block of a lane (--lanes): a thread moves to its next lane every ~10,000 words
LANE_BLOCK = 10_000


def lane_blocks(sentence_ends, n, lanes, block=LANE_BLOCK):
    """The order in which each of ``n`` threads trains its share: per thread, an int64 (k, 2)
    array of sentence ranges [lo, hi), trained one after the other every epoch.

    The corpus is cut into ``lanes`` equal lanes (``sentence_shares(ends, lanes)``) and into
    the threads' shares (``sentence_shares(ends, n)``, as before). A thread's share is cut
    where a lane starts; each of its pieces is cut into the same number of blocks (the
    longest piece's blocks hold about ``block`` tokens; a block is whole sentences), and the
    thread trains block 0 of every piece, then block 1 of every piece, and so on. With
    ``lanes`` a multiple of ``n``, a thread's share is ``lanes / n`` whole lanes, so at any
    point of an epoch the same early part of every lane has been trained whatever ``n`` is.
    ``lanes=1`` (or one piece per share) is one range per thread: the share in corpus order.
    """
    ends = np.asarray(sentence_ends, dtype=np.uint64)
    shares = sentence_shares(ends, n)
    cuts = sorted({lo for lo, _ in sentence_shares(ends, lanes)})
    start_of = lambda i: int(ends[i - 1]) if i > 0 else 0  # noqa: E731
    orders = []
    for lo, hi in shares:
        bounds = [lo] + [c for c in cuts if lo < c < hi] + [hi]
        pieces = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
        if len(pieces) < 2:
            orders.append(np.array([[lo, hi]], dtype=np.int64))
            continue
        longest = max(start_of(b) - start_of(a) for a, b in pieces)
        rounds = max(1, -(-longest // max(int(block), 1)))
        split = []
        for a, b in pieces:
            first, last = start_of(a), start_of(b)
            targets = [first + (last - first) * r // rounds for r in range(1, rounds)]
            # the block of target t ends with the sentence holding token t - 1 (as in
            # sentence_shares); a sentence longer than a block leaves an empty block
            inner = np.searchsorted(ends, np.asarray(targets, dtype=np.uint64), side="left") + 1
            edges = np.clip(np.maximum.accumulate(np.r_[a, inner, b]), a, b)
            split.append(list(zip(edges.tolist(), edges[1:].tolist())))
        order = [piece[r] for r in range(rounds) for piece in split if piece[r][1] > piece[r][0]]
        orders.append(np.array(order, dtype=np.int64).reshape(-1, 2))
    return orders


# --order shuffled: at most this many blocks (a corpus that would have more gets bigger
# blocks), so the walk and the threads' parts of it stay under ~200 MB however large it is
MAX_SHUFFLED_BLOCKS = 1 << 22


def corpus_blocks(sentence_ends, block=LANE_BLOCK):
    """The corpus cut into blocks of about ``block`` tokens of whole sentences: an int64 (m, 2)
    array of sentence ranges [lo, hi), none empty, in corpus order (a sentence longer than a
    block is a block of its own)."""
    ends = np.asarray(sentence_ends, dtype=np.uint64)
    if len(ends) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    total = int(ends[-1])
    block = max(int(block), -(-total // MAX_SHUFFLED_BLOCKS), 1)
    m = max(1, -(-total // block))
    targets = (np.arange(1, m, dtype=np.uint64) * np.uint64(total)) // np.uint64(m)
    # as in sentence_shares: the block of target t ends with the sentence holding token t - 1
    cuts = np.searchsorted(ends, targets, side="left").astype(np.int64) + 1
    cuts = np.unique(np.r_[0, np.minimum(cuts, len(ends)), len(ends)])
    return np.stack([cuts[:-1], cuts[1:]], axis=1)


def shuffled_blocks(sentence_ends, n, seed, block=LANE_BLOCK):
    """--order shuffled: per thread, an int64 (k, 2) array of the blocks (sentence ranges
    [lo, hi) of ~``block`` tokens) it trains, in that order, every epoch.

    The corpus's blocks are put in one random order drawn from ``seed`` (the walk, the same at
    any thread count), and thread t takes blocks t, t + n, t + 2n, ... of it: one thread
    trains the walk in sequence, n threads train it n blocks at a time, so the order the
    model sees does not depend on ``n``, and every block is trained exactly once per epoch.
    A thread with no block gets one empty range.
    """
    n = max(int(n), 1)
    blocks = corpus_blocks(sentence_ends, block)
    walk = blocks[np.random.default_rng(int(seed)).permutation(len(blocks))]
    return [np.ascontiguousarray(walk[t::n]) if t < len(walk) else np.zeros((1, 2), np.int64)
            for t in range(n)]


# stop[0] values: 1 stops the run (Ctrl-C, a diverged worker); PAUSE asks every worker to
# return at its next sentence with its state saved, for a checkpoint (kernels stop on either)
PAUSE = 2


def run_workers(work, threads, counters, *, total, description, progress=None, fields=None,
                poll=0.1, checkpoint=None):
    """Run ``work(t)`` for t in range(threads) on threads; show progress; handle Ctrl-C/SIGTERM.

    ``total``: words the whole run will process (for the bar and ETA). ``fields(done)``: extra
    values to show (e.g. epoch, alpha). Re-raises the first worker exception. Returns the list
    of the workers' return values.

    ``checkpoint`` (``train/checkpoint.py``'s ``Checkpointing``): ``work(t)`` then trains from
    its thread's saved state to the end of the current epoch, or until ``stop[0]`` is PAUSE,
    and is called again, round after round, until ``checkpoint.finished()``. Between rounds
    (every thread stopped) ``checkpoint.save()`` writes a checkpoint: at each epoch end and
    when ``checkpoint.due()``; on Ctrl-C/SIGTERM too, before ``Interrupted``/``Terminated``.
    """
    results = [None] * threads
    errors = []
    # "worker t has returned", set by the worker itself: Thread.join is not used, since after
    # a KeyboardInterrupt inside it (Python < 3.13) it may return while the thread still runs
    returned = []

    def target(t):
        try:
            results[t] = work(t)
            if not counters.stop[0] and checkpoint is None:
                counters.finish(t)  # (in rounds, the kernels flag each epoch they finish)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)
            counters.stop[0] = 1
        finally:
            returned[t].set()

    pool = []
    try:
        with Stage(progress, description, total, unit="words") as bar:
            while True:
                returned[:] = [threading.Event() for _ in range(threads)]
                pool = [threading.Thread(target=target, args=(t,), daemon=True,
                                         name=f"staticvec-worker-{t}") for t in range(threads)]
                for thread in pool:
                    thread.start()
                while not all(event.is_set() for event in returned):
                    next(e for e in returned if not e.is_set()).wait(poll)
                    done = counters.done()
                    bar.update(min(done, total), **(fields(done) if fields else {}))
                    if checkpoint is not None and checkpoint.due() and counters.stop[0] == 0:
                        counters.stop[0] = PAUSE
                if checkpoint is None or errors or counters.stop[0] not in (0, PAUSE):
                    break
                counters.stop[0] = 0
                if checkpoint.finished():
                    break
                checkpoint.save()
            if not errors and counters.stop[0] == 0:
                for t in range(threads):
                    counters.finish(t)
                bar.update(total, **(fields(total) if fields else {}))
    except KeyboardInterrupt as exc:
        stopped = Terminated() if isinstance(exc, SigTerm) else Interrupted()
        counters.stop[0] = PAUSE if checkpoint is not None else 1
        for thread, event in zip(pool, returned):
            if thread.ident is not None:
                event.wait()
        if checkpoint is not None and not errors and counters.stop[0] == PAUSE:
            checkpoint.save()
            stopped = type(stopped)(f"{stopped.args[0]}; {checkpoint.describe()}")
        raise stopped from None
    if errors:
        raise errors[0]
    if counters.stop[0]:
        raise Interrupted()
    return results


class EpochLoss:
    """The loss a trainer shows and logs: ``fields()`` gives the running mean of the epoch
    under way (``loss``) for the progress display, and an INFO line is logged once every
    thread has finished an epoch (``{name}: epoch E/N  loss L  (S s)``)."""

    def __init__(self, counters, name):
        self.counters, self.name = counters, name
        self.reported = 0
        self.started = time.monotonic()

    def fields(self, epoch=None):
        """Log the epochs finished since the last call; the display's ``loss`` field: the
        running mean of ``epoch`` (from 0; default: the first one some thread is still in)."""
        c = self.counters
        finished = c.epochs_finished()
        while self.reported < finished:
            e = self.reported
            value = c.epoch_loss(e)
            log.info(f"{self.name}: epoch {e + 1}/{c.epochs}  loss "
                     f"{'-' if value is None else f'{value:.6f}'}"
                     f"  ({time.monotonic() - self.started:.1f}s)")
            self.reported += 1
        current = c.epoch_loss(min(finished if epoch is None else epoch, c.epochs - 1))
        return {} if current is None else {"loss": round(current, 6)}


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


def check_memory(needed, what, hint="a smaller --dim or a larger --min-count", announce=True):
    """Raise ResourceError if ``what`` needs more memory than is available; else log how much
    it needs (unless ``announce`` is False: a check made early, before the real one).

    ``needed``: bytes, or {hint: bytes} per buffer group (e.g. ``{"fewer --threads": ...}``),
    in which case the refusal names the hint of the largest group: the option at fault."""
    if isinstance(needed, dict):
        hint = max(needed.items(), key=lambda item: item[1])[0]
        needed = sum(needed.values())
    available = available_memory()
    if available is not None and needed > available:
        raise ResourceError(f"{what} needs {human_bytes(needed)} but only "
                            f"{human_bytes(available)} is available (try {hint})")
    if announce:
        log.info(f"{what} needs {human_bytes(needed)} of memory"
                 + (f" ({human_bytes(available)} available)" if available is not None else ""))


# ---------------------------------------------------------------- divergence
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
