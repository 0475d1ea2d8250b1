"""GloVe training: co-occurrence counting within a memory budget, shuffle, hogwild AdaGrad.

Stages (Pennington, Socher & Manning 2014; GloVe C's vocab_count / cooccur / shuffle / glove):

1. count: a symmetric window over the encoded corpus adds 1/d for a pair at distance d, within
   a sentence (a line ends the context, as a newline does in GloVe C's cooccur). Counts are exact
   integers in units of 1/lcm(1..window) (see ``weight_units``), so partial counts add up to the
   same bits in any order. Only the upper triangle is counted. Pairs of frequent words
   ((lo+1)(hi+1) <= P) go to a dense table, as in GloVe C; the sparse rest is appended to an
   overflow buffer that is sorted and combined in place when full and spilled to a sorted run
   file once combining no longer frees half of it. Half of --memory goes to the dense table,
   a quarter to the overflow buffer; the dense table never has more cells than a third of the
   corpus's pair occurrences (tokens x window): beyond that, cache misses cost more than the
   overflow sorting they save.
2. merge: the runs are merged with at most ``FAN_IN`` files open (extra passes when there are
   more runs). A merge round takes from every run the records up to the smallest of the runs'
   buffered last keys (no later record can carry a smaller key), sorts and combines them.
3. records: every upper-triangle count becomes the records (i, j) and (j, i) with log x and
   f(x) = min(1, (x / x_max)^alpha) precomputed; they are shuffled in memory when they fit the
   budget, else written as shuffled parts and interleaved into one shuffled file (GloVe C's
   shuffle), which training then streams.
4. train: AdaGrad (``_kernels/glove.pyx``), one worker per thread over an equal share of the
   shuffled records, in the same order every epoch, as GloVe C does.

Temporary files live in one folder under ``tmp_dir`` that is removed on success, on error and
on Ctrl-C. ``--save-cooccur`` writes GloVe C's record format (int32 word1, int32 word2, float64
count, little-endian, 1-based vocabulary line numbers), so files move between the two tools.
"""
import contextlib
import math
import mmap
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from staticvec import _kernels
from staticvec.atomic import atomic_output, check_outputs, outputs_together, writes_in_place
from staticvec.errors import (BadOptionError, FormatError, InputError, OutputError,
                              ResourceError)
from staticvec.progress import Progress, say
from staticvec.train import runner

PAIR = np.dtype([("key", "<u8"), ("units", "<i8")])                  # spilled counts
REC = np.dtype([("w1", "<u4"), ("w2", "<u4"), ("logx", "<f4"), ("fx", "<f4")])  # training
CREC = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("x", "<f8")])         # GloVe C cooccurrence.bin
FAN_IN = 200
GRAD_CLIP = 100.0
EXACT_WINDOW = 20            # lcm(1..20) = 232,792,560: exact units up to this window
APPROX_SCALE = 1 << 30       # beyond it, 1/d is rounded to a multiple of 2^-30
DISK_RESERVE = 64 << 20      # never fill the disk to the last byte
COUNT_STEP = 1 << 20         # tokens per kernel call (Ctrl-C and progress granularity)
VECTORS = ("sum", "word", "both")


@dataclass
class GloveOptions:
    dim: int = 100
    window: int = 10
    x_max: float = 100.0
    alpha: float = 0.75
    eta: float = 0.05
    epochs: int = 25
    threads: int = None
    seed: int = 1
    memory: float = 4.0          # GB for counting and shuffling
    vectors: str = "sum"

    def check(self):
        # C ints in the kernels, and finite numbers: inf/nan never reach them
        runner.check_int("--dim", self.dim, 1, runner.MAX_DIM)
        runner.check_int("--window", self.window, 1, runner.INT_MAX)
        runner.check_int("--epochs", self.epochs, 1, runner.MAX_EPOCHS)
        for name, value in (("--x-max", self.x_max), ("--alpha", self.alpha), ("--eta", self.eta),
                            ("--memory", self.memory)):
            runner.check_positive(name, value)
        ram = runner.physical_memory()
        if ram is not None and self.memory_bytes > ram:
            raise BadOptionError(f"--memory must be a finite number of GB in (0, {ram / 2**30:.1f}]"
                                 f" (got {self.memory}): this machine has "
                                 f"{runner.human_bytes(ram)} of RAM")
        if self.vectors not in VECTORS:
            raise BadOptionError(f"invalid value for --vectors: {self.vectors!r} "
                                 f"(choose from {', '.join(VECTORS)})")
        if self.threads is not None:
            runner.check_int("--threads", self.threads, 1, runner.max_threads())
        return self

    @property
    def n_threads(self):
        return self.threads or os.cpu_count() or 1

    @property
    def memory_bytes(self):
        return int(self.memory * (1 << 30))


def weight_units(window, reach=None):
    """(units, scale): a pair at distance d adds units[d] / scale; exact 1/d up to EXACT_WINDOW.
    ``reach``: the largest distance that can occur (the longest sentence - 1), if smaller than
    the window: units stop there, the scale is still the window's."""
    reach = window if reach is None else max(1, min(reach, window))
    if window <= EXACT_WINDOW:
        scale = math.lcm(*range(1, window + 1))
        units = [0] + [scale // d for d in range(1, reach + 1)]
    else:
        scale = APPROX_SCALE
        units = [0] + [round(scale / d) for d in range(1, reach + 1)]
    return np.array(units, dtype=np.int64), scale


def dense_layout(vocab_size, budget_bytes):
    """Rows of the dense upper-triangle table: row lo holds hi in [lo, lo + row_len[lo]) for
    (lo + 1)(hi + 1) <= P, with the largest P whose table fits ``budget_bytes`` (8 bytes/cell).
    Returns (row_off, row_len) with row_off[-1] = number of cells."""
    v = int(vocab_size)
    a = np.arange(v, dtype=np.int64)

    def lengths(p):
        return np.clip(np.minimum(v, p // (a + 1)) - a, 0, None)

    cells_max = budget_bytes // 8
    lo, hi = 0, v * v
    if int(lengths(hi).sum()) <= cells_max:
        lo = hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(lengths(mid).sum()) <= cells_max:
            lo = mid
        else:
            hi = mid - 1
    row_len = lengths(lo)
    n_rows = int(np.count_nonzero(row_len))
    row_len = np.ascontiguousarray(row_len[:n_rows])
    row_off = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(row_len, out=row_off[1:])
    return row_off, row_len


class TempArea:
    """One private folder for spilled runs and shuffle parts, removed whatever happens."""

    def __init__(self, parent):
        self.parent = parent
        self.path = None

    def __enter__(self):
        if not os.path.isdir(self.parent):
            raise OutputError(f"cannot use --tmp-dir {self.parent}: no such folder")
        try:
            self.path = tempfile.mkdtemp(prefix=".staticvec-glove-", dir=self.parent)
        except OSError as exc:
            raise OutputError(f"cannot create temporary files in {self.parent}: "
                              f"{exc.strerror or exc} (see --tmp-dir)") from None
        self._n = 0
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False

    def new(self, stem):
        self._n += 1
        return os.path.join(self.path, f"{stem}-{self._n:06d}.bin")

    def reserve(self, nbytes, what):
        """Refuse to write ``nbytes`` more when the disk cannot take them (plus a reserve)."""
        free = shutil.disk_usage(self.path).free
        if free < nbytes + DISK_RESERVE:
            raise ResourceError(
                f"not enough free disk space in {self.parent} for {what}: need {runner.human_bytes(nbytes)}, "
                f"{runner.human_bytes(free)} free (use --tmp-dir on a larger disk, or a larger --memory)")

    def write(self, array, stem, what):
        path = self.new(stem)
        self.reserve(array.nbytes, what)
        try:
            array.tofile(path)
        except OSError as exc:
            raise OutputError(f"cannot write {what} to {self.parent}: "
                              f"{exc.strerror or exc}") from None
        return path


def _anonymous(nbytes):
    """Zero-filled memory whose pages can be handed back early (madvise) while it is read."""
    if nbytes == 0:
        return None, np.zeros(0, dtype=np.int64)
    area = mmap.mmap(-1, nbytes)
    return area, np.frombuffer(area, dtype=np.int64)


class CooccurrenceCounts:
    """Upper-triangle co-occurrence counts of an encoded corpus, counted within a budget."""

    def __init__(self, vocab_size, window, memory_bytes, temp, fan_in=FAN_IN, quiet=False,
                 n_tokens=None):
        self.vocab_size = int(vocab_size)
        self.window = int(window)
        self.scale = weight_units(self.window, 1)[1]
        self.memory_bytes = int(memory_bytes)
        self.temp = temp
        self.fan_in = max(int(fan_in), 2)
        self.quiet = quiet
        dense_bytes = self.memory_bytes // 2
        if n_tokens is not None:
            # at most a third as many cells as pair occurrences: the table is read at random,
            # and a larger one costs more in cache misses than it saves in overflow sorting
            # (17M tokens, window 10: 1.3 GB table 9.6 s, 0.45 GB 6 s, 0.08 GB 6.4 s)
            dense_bytes = min(dense_bytes, 8 * int(n_tokens) * self.window // 3)
        self.row_off, self.row_len = dense_layout(self.vocab_size, dense_bytes)
        self._area, self.dense = _anonymous(int(self.row_off[-1]) * 8)
        # the overflow buffer is sized in count(), once the longest sentence is known
        self.overflow = np.empty(0, dtype=PAIR)
        self.n_over = 0
        self.runs = []
        self.spilled_bytes = 0
        self.merge_passes = 0
        self._k = _kernels.load("cooccur")

    def count(self, ids, sentence_ends):
        ids = np.ascontiguousarray(ids, dtype=np.uint32)
        ends = np.ascontiguousarray(sentence_ends, dtype=np.uint64)
        n = len(ids)
        if n and (len(ends) == 0 or int(ends[-1]) != n):
            raise ValueError("sentence_ends must end at len(ids)")
        # no pair is further apart than the longest sentence: a --window beyond it counts the
        # same pairs, with buffers (and a units table) sized by the sentence, not the window
        longest = int(np.diff(ends, prepend=np.uint64(0)).max()) if len(ends) else 1
        reach = max(1, min(self.window, longest - 1))
        units, _ = weight_units(self.window, reach)
        capacity = max(self.memory_bytes // 4 // PAIR.itemsize, 64 * reach)
        if len(self.overflow) < capacity:
            extra = (capacity - len(self.overflow)) * PAIR.itemsize
            if extra > self.memory_bytes // 4:
                runner.check_memory(extra, "counting co-occurrences", quiet=True,
                                    hint="a smaller --max-sentence-length or --window")
            grown = np.empty(capacity, dtype=PAIR)
            grown[:self.n_over] = self.overflow[:self.n_over]
            self.overflow = grown
        pos = sent = 0
        k = self._k
        with Progress("counting co-occurrences", n, unit="words", quiet=self.quiet) as bar:
            while pos < n:
                stop = min(n, pos + COUNT_STEP)
                pos, sent, self.n_over = k.count(ids, ends, pos, stop, sent, reach,
                                                 units, self.dense, self.row_off,
                                                 self.row_len, self.overflow, self.n_over)
                if len(self.overflow) - self.n_over < reach:
                    self._make_room()
                bar.update(pos, runs=len(self.runs))
        return self

    def _make_room(self):
        self.n_over = self._k.sort_combine(self.overflow, self.n_over)
        if self.n_over > len(self.overflow) // 2:
            self._spill()

    def _spill(self):
        if self.n_over:
            run = self.overflow[:self.n_over]
            self.runs.append(self.temp.write(run, "run", "co-occurrence counts"))
            self.spilled_bytes += run.nbytes
        self.n_over = 0

    def upper_bound(self):
        """At most this many distinct upper-triangle pairs (exact without spilled runs)."""
        dense = int(np.count_nonzero(self.dense)) if len(self.dense) else 0
        spilled = sum(os.path.getsize(p) for p in self.runs) // PAIR.itemsize
        return dense + spilled + self.n_over

    def finish_counting(self):
        """Combine what is left in the overflow buffer (spilling it if there are runs)."""
        self.n_over = self._k.sort_combine(self.overflow, self.n_over)
        if self.runs:
            self._spill()
            self.overflow = np.empty(0, dtype=PAIR)
        else:
            self.overflow = self.overflow[:self.n_over].copy()

    def chunks(self, cells=None):
        """Every distinct pair once, as combined PAIR arrays: dense table, then the rest.
        The dense table's pages are released as they are read."""
        k = self._k
        # each scanned cell may need ~64 bytes of temporaries: stay within a quarter budget
        cells = cells or max(self.memory_bytes // 256, 1 << 14)
        row_off = self.row_off
        n_rows = len(self.row_len)
        r = 0
        page = mmap.PAGESIZE
        while r < n_rows:
            r_end = int(np.searchsorted(row_off, row_off[r] + cells, side="right")) - 1
            r_end = min(max(r_end, r + 1), n_rows)
            base = int(row_off[r])
            seg = self.dense[base:int(row_off[r_end])]
            nz = np.flatnonzero(seg)
            if len(nz):
                cell = nz + base
                lo = np.searchsorted(row_off, cell, side="right") - 1
                hi = lo + (cell - row_off[lo])
                out = np.empty(len(nz), dtype=PAIR)
                out["key"] = (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)
                out["units"] = seg[nz]
                yield out
            if self._area is not None:
                start = (base * 8) // page * page
                stop = (int(row_off[r_end]) * 8) // page * page
                if stop > start:
                    self._area.madvise(mmap.MADV_DONTNEED, start, stop - start)
            r = r_end
        seg = nz = None
        self.dense = np.zeros(0, dtype=np.int64)
        self._area = None  # the mapping goes with its last view
        if not self.runs:
            if self.n_over:
                yield self.overflow[:self.n_over]
            return
        runs = self.runs
        buffer_records = max(self.memory_bytes // 4 // PAIR.itemsize // min(len(runs), self.fan_in),
                             1024)
        while len(runs) > self.fan_in:  # extra passes: merge groups into longer runs
            self.merge_passes += 1
            merged = []
            for g in range(0, len(runs), self.fan_in):
                group = runs[g:g + self.fan_in]
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                path = self.temp.new("merged")
                self.temp.reserve(sum(os.path.getsize(p) for p in group), "merging counts")
                try:
                    with open(path, "wb") as out:
                        for part in merge_runs(group, buffer_records, k):
                            part.tofile(out)
                except OSError as exc:
                    raise OutputError(f"cannot write merged counts to {self.temp.parent}: "
                                      f"{exc.strerror or exc}") from None
                for p in group:
                    os.unlink(p)
                merged.append(path)
            runs = merged
        self.runs = runs
        self.merge_passes += 1
        yield from merge_runs(runs, buffer_records, k)


class _RunReader:
    def __init__(self, path, records):
        self.handle = open(path, "rb")
        self.records = records
        self.buf = np.empty(0, dtype=PAIR)
        self.pos = 0

    def fill(self):
        """True while records remain; refills the buffer once it is used up."""
        if self.pos < len(self.buf):
            return True
        self.buf = np.fromfile(self.handle, dtype=PAIR, count=self.records)
        self.pos = 0
        return len(self.buf) > 0

    def take_upto(self, key):
        keys = self.buf["key"][self.pos:]
        cut = int(np.searchsorted(keys, key, side="right"))
        part = self.buf[self.pos:self.pos + cut]
        self.pos += cut
        return part


def merge_runs(paths, buffer_records, kernel):
    """Yield the combined, key-sorted contents of sorted run files (at most len(paths) open)."""
    readers = []
    try:
        for path in paths:
            readers.append(_RunReader(path, buffer_records))
        active = [r for r in readers if r.fill()]
        while active:
            bound = min(int(r.buf["key"][-1]) for r in active)
            batch = np.concatenate([r.take_upto(bound) for r in active])
            n = kernel.sort_combine(batch, len(batch))
            yield batch[:n]
            active = [r for r in active if r.fill()]
    finally:
        for r in readers:
            r.handle.close()


def pairs_to_crecs(pairs, scale):
    """GloVe C records (1-based ids) for upper-triangle counts: (lo, hi) then, off the diagonal,
    (hi, lo), pair after pair: the order in which ``expand`` makes training records, so that
    training from a saved file repeats the run that saved it."""
    lo = (pairs["key"] >> np.uint64(32)).astype(np.int64)
    hi = (pairs["key"] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    x = pairs["units"].astype(np.float64) / scale
    idx = np.repeat(np.arange(len(pairs)), 1 + (lo != hi))
    second = np.zeros(len(idx), dtype=bool)
    second[1:] = idx[1:] == idx[:-1]
    out = np.empty(len(idx), dtype=CREC)
    out["w1"] = np.where(second, hi[idx], lo[idx]) + 1
    out["w2"] = np.where(second, lo[idx], hi[idx]) + 1
    out["x"] = x[idx]
    return out


def check_crecs(crecs, vocab_size, path, first):
    bad = (crecs["w1"] < 1) | (crecs["w1"] > vocab_size) | (crecs["w2"] < 1) | \
          (crecs["w2"] > vocab_size)
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(f"{path}: record {first + i + 1} has word ids "
                          f"({int(crecs['w1'][i])}, {int(crecs['w2'][i])}) outside 1..{vocab_size}:"
                          f" was it counted with another vocabulary (--vocab)?")
    bad = ~(np.isfinite(crecs["x"]) & (crecs["x"] > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(f"{path}: record {first + i + 1} has count {float(crecs['x'][i])!r} "
                          f"(must be finite and > 0): not a co-occurrence file")


class Records:
    """The shuffled training records: one array in memory, or one shuffled file streamed."""

    def __init__(self, array=None, path=None, n=0, chunk=0):
        self.array = array
        self.path = path
        self.n = int(n) if array is None else len(array)
        self.chunk = chunk

    def share(self, t, threads):
        return self.n * t // threads, self.n * (t + 1) // threads


class RecordBuilder:
    """Collects records (both directions) while they fit the budget, else shuffled parts on
    disk; also writes them in GloVe C's layout to ``save`` (a binary file object) if given."""

    def __init__(self, n_records_bound, opts, budget_bytes, temp, save=None, quiet=False):
        self.opts = opts
        self.temp = temp
        self.save = save
        self.quiet = quiet
        self.seed = opts.seed
        self.in_memory = n_records_bound * REC.itemsize <= budget_bytes
        size = n_records_bound if self.in_memory else max(budget_bytes // REC.itemsize, 1 << 16)
        self.buf = np.empty(size, dtype=REC)  # untouched pages cost nothing
        self.n = 0
        self.parts = []

    def add_pairs(self, pairs, scale):
        """Upper-triangle counts (both directions become records)."""
        if self.save is not None:
            self._save(pairs_to_crecs(pairs, scale))
        k = _kernels.load("cooccur")
        self._fill(pairs, 2, lambda part, pos: k.expand(part, scale, self.opts.x_max,
                                                        self.opts.alpha, self.buf, pos))

    def add_crecs(self, crecs):
        """GloVe C records, already validated."""
        if self.save is not None:
            self._save(crecs)
        k = _kernels.load("cooccur")
        self._fill(crecs, 1, lambda part, pos: k.convert(part, self.opts.x_max, self.opts.alpha,
                                                         self.buf, pos))

    def _save(self, crecs):
        try:
            crecs.tofile(self.save)
        except OSError as exc:
            raise OutputError(f"cannot write --save-cooccur: {exc.strerror or exc}") from None

    def _fill(self, items, per_item, convert):
        start = 0
        while start < len(items):
            room = (len(self.buf) - self.n) // per_item
            if room == 0:
                if self.in_memory:
                    raise AssertionError("record count bound exceeded")
                self._flush_part()
                continue
            take = min(room, len(items) - start)
            self.n = convert(items[start:start + take], self.n)
            start += take

    def _flush_part(self):
        part = self.buf[:self.n]
        _kernels.load("cooccur").shuffle(part, self.seed + 7919 * (len(self.parts) + 1))
        self.parts.append((self.temp.write(part, "shuffle", "shuffled records"), self.n))
        self.n = 0

    def finish(self):
        shuffle = _kernels.load("cooccur").shuffle
        if self.in_memory:
            recs = self.buf[:self.n]
            shuffle(recs, self.seed)
            self.buf = None
            return Records(array=recs)
        if self.n:
            self._flush_part()
        self.buf = None
        # GloVe C's second pass: interleave equal fractions of every part, shuffled again
        total = sum(n for _, n in self.parts)
        chunk = max(self.opts.memory_bytes // 4 // REC.itemsize, 1 << 16)
        rounds = max(1, -(-total // chunk))
        final = self.temp.new("records")
        self.temp.reserve(total * REC.itemsize, "shuffled records")
        offsets = [0] * len(self.parts)
        try:
            with open(final, "wb") as out:
                for r in range(rounds):
                    pieces = []
                    for i, (path, n) in enumerate(self.parts):
                        end = n * (r + 1) // rounds
                        count = end - offsets[i]
                        if count:
                            with open(path, "rb") as handle:
                                handle.seek(offsets[i] * REC.itemsize)
                                pieces.append(np.fromfile(handle, dtype=REC, count=count))
                        offsets[i] = end
                    block = np.concatenate(pieces) if pieces else np.empty(0, dtype=REC)
                    shuffle(block, self.seed + 104729 * (r + 1))
                    block.tofile(out)
        except OSError as exc:
            raise OutputError(f"cannot write shuffled records to {self.temp.parent}: "
                              f"{exc.strerror or exc}") from None
        for path, _ in self.parts:
            os.unlink(path)
        return Records(path=final, n=total, chunk=chunk)


def read_cooccur_file(path, vocab_size, builder, quiet=False):
    """Feed a GloVe C co-occurrence file to ``builder`` (validated, in chunks)."""
    try:
        size = os.path.getsize(path)
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size % CREC.itemsize:
        handle.close()
        raise FormatError(f"{path}: size {size} is not a multiple of {CREC.itemsize} bytes: "
                          f"not a co-occurrence record file")
    n = size // CREC.itemsize
    done = 0
    with handle, Progress("reading co-occurrences", n, unit="records", quiet=quiet) as bar:
        while done < n:
            crecs = np.fromfile(handle, dtype=CREC, count=1 << 20)
            if len(crecs) == 0:
                break
            check_crecs(crecs, vocab_size, path, done)
            builder.add_crecs(crecs)
            done += len(crecs)
            bar.update(done)


def init_params(vocab_size, dim, seed):
    """W, C uniform in [-0.5, 0.5) / dim, biases likewise; AdaGrad accumulators at 1 (GloVe C)."""
    rng = np.random.default_rng(seed)
    v, d = int(vocab_size), int(dim)
    params = {
        "W": ((rng.random((v, d), dtype=np.float32) - 0.5) / d).astype(np.float32),
        "C": ((rng.random((v, d), dtype=np.float32) - 0.5) / d).astype(np.float32),
        "bw": ((rng.random(v, dtype=np.float32) - 0.5) / d).astype(np.float32),
        "bc": ((rng.random(v, dtype=np.float32) - 0.5) / d).astype(np.float32),
        "GW": np.ones((v, d), dtype=np.float32),
        "GC": np.ones((v, d), dtype=np.float32),
        "gbw": np.ones(v, dtype=np.float32),
        "gbc": np.ones(v, dtype=np.float32),
    }
    return params


def fit(records, params, opts, quiet=False):
    """Epochs of hogwild AdaGrad; returns the cost per epoch (mean 0.5 f(x) diff^2) and skips
    (0: a NaN/inf diff means diverged parameters and ends training with an error, naming
    the epoch; the final parameters are checked for NaN/inf too)."""
    k = _kernels.load("glove")
    threads = max(1, min(opts.n_threads, max(records.n, 1)))
    epochs = opts.epochs
    counters = runner.Counters(threads)
    diverged = np.zeros(1, dtype=np.int32)
    costs = np.zeros((threads, epochs), dtype=np.float64)
    skipped = np.zeros((threads, epochs), dtype=np.int64)
    finished = np.zeros(threads, dtype=np.int64)
    p = params
    eta, clip = float(opts.eta), GRAD_CLIP
    # GloVe C since 1.2 steps the biases with rate 1 instead of eta; the 2014 release and the
    # paper use eta for every parameter. No measurable difference (2M-token cut, 25 epochs:
    # analogy 3.2% vs 2.9%, WS353 0.315 vs 0.312), so one rate for all.
    eta_bias = eta
    reported = [0]
    start_time = time.monotonic()

    def one_pass(t, recs, lo, hi, e):
        return k.train(recs, lo, hi, p["W"], p["C"], p["bw"], p["bc"], p["GW"], p["GC"],
                       p["gbw"], p["gbc"], eta, eta_bias, clip, counters.progress,
                       t * runner.PROGRESS_STRIDE, counters.stop, diverged, e + 1)

    def work(t):
        lo, hi = records.share(t, threads)
        for e in range(epochs):
            cost = 0.0
            skips = 0
            if records.array is not None:
                cost, skips = one_pass(t, records.array, lo, hi, e)
            else:
                with open(records.path, "rb") as handle:
                    handle.seek(lo * REC.itemsize)
                    pos = lo
                    step = max(records.chunk // threads, 1)
                    while pos < hi and not counters.stop[0]:
                        block = np.fromfile(handle, dtype=REC, count=min(step, hi - pos))
                        c, s = one_pass(t, block, 0, len(block), e)
                        cost += c
                        skips += s
                        pos += len(block)
            if diverged[0]:
                raise runner.diverged_error(int(diverged[0]), "--eta")
            if counters.stop[0]:
                return
            costs[t, e] = cost
            skipped[t, e] = skips
            finished[t] = e + 1

    def fields(done):
        complete = int(finished.min())
        while reported[0] < complete:
            e = reported[0]
            say(f"glove: epoch {e + 1}/{epochs}  cost {costs[:, e].sum() / max(records.n, 1):.6f}"
                f"  ({time.monotonic() - start_time:.1f}s)", quiet)
            reported[0] += 1
        out = {"epoch": min(complete + 1, epochs)}
        if complete:
            out["cost"] = float(costs[:, complete - 1].sum() / max(records.n, 1))
        return out

    runner.run_workers(work, threads, counters, total=epochs * records.n,
                       description="training glove", quiet=quiet, fields=fields)
    runner.check_finite([p["W"], p["C"], p["bw"], p["bc"]], epochs, "--eta")
    fields(epochs * records.n)
    return costs.sum(axis=0) / max(records.n, 1), int(skipped.sum())


def output_matrix(params, vectors):
    if vectors == "sum":
        return params["W"] + params["C"]
    if vectors == "word":
        return params["W"]
    return np.hstack([params["W"], params["C"]])


def train_glove(paths, output, opts, *, vocab_path=None, save_vocab=None, min_count=5,
                max_size=None, max_vocab_words=30_000_000, save_cooccur=None, cooccur=None,
                tmp_dir=None, encoding_errors="strict", max_sentence_length=10000, cache=True,
                fan_in=FAN_IN, quiet=False):
    """The whole pipeline; writes ``output`` and returns a dict of stage times and sizes."""
    from staticvec.text import encoded as encode
    from staticvec.io import dispatch as formats
    from staticvec.text.vocab import Vocab

    opts.check()
    if cooccur is not None and paths:
        raise BadOptionError("give either CORPUS files or --cooccur, not both")
    if cooccur is None and not paths:
        raise BadOptionError("missing CORPUS (or --cooccur FILE with --vocab)")
    if cooccur is not None and save_cooccur is not None:
        raise BadOptionError("--save-cooccur with --cooccur: the records are already in "
                             f"{cooccur}")
    if cooccur is not None and vocab_path is None:
        raise BadOptionError("--cooccur needs --vocab: the vocabulary the records were counted with")
    if save_cooccur is not None and str(save_cooccur) == "-":
        raise BadOptionError("--save-cooccur cannot be - (stdout): it is a binary file")
    formats.output_format(output)  # found out now, not after the counting and training
    check_outputs([("--output", output), ("--save-cooccur", save_cooccur),
                   ("--save-vocab", save_vocab)],
                  [("the input", paths), ("--vocab", vocab_path), ("--cooccur", cooccur)])
    if tmp_dir is None:
        tmp_dir = tempfile.gettempdir() if writes_in_place(output) else \
            os.path.dirname(os.path.abspath(output))
    stats = {}
    t0 = time.monotonic()
    # the records of --save-cooccur are written while counting, but published (with
    # --save-vocab) only beside the vectors, when the whole run has succeeded
    with TempArea(tmp_dir) as temp, outputs_together():
        if cooccur is None:
            vocab, corpus = encode.prepare(paths, vocab_path=vocab_path,
                                           min_count=min_count, max_size=max_size,
                                           max_vocab_words=max_vocab_words,
                                           encoding_errors=encoding_errors,
                                           max_sentence_length=max_sentence_length,
                                           cache=cache, quiet=quiet)
        else:
            # the records' ids are line numbers of this file: keep every line, in order
            vocab = Vocab.load(vocab_path)
            corpus = None
        v = len(vocab)
        t1 = time.monotonic()
        stats["vocab_s"] = t1 - t0
        stats["vocab_size"] = v
        budget = opts.memory_bytes
        save_ctx = atomic_output(save_cooccur, "wb") if save_cooccur is not None else \
            contextlib.nullcontext()
        with save_ctx as save:
            if corpus is not None:
                counts = CooccurrenceCounts(v, opts.window, budget, temp, fan_in, quiet,
                                            n_tokens=corpus.n_tokens)
                counts.count(corpus.ids, corpus.sentence_ends)
                counts.finish_counting()
                stats["runs"] = len(counts.runs)
                stats["spilled_bytes"] = counts.spilled_bytes
                bound = 2 * counts.upper_bound()
                held = counts.overflow.nbytes
                t2 = time.monotonic()
                stats["cooccur_s"] = t2 - t1
                # merging spilled runs needs buffers of its own while records are collected
                room = max(budget - held, 0) // (2 if counts.runs else 1)
                builder = RecordBuilder(bound, opts, room, temp, save, quiet)
                for pairs in counts.chunks():
                    builder.add_pairs(pairs, counts.scale)
                stats["merge_passes"] = counts.merge_passes
                del counts
            else:
                t2 = time.monotonic()
                stats["cooccur_s"] = 0.0
                try:
                    bound = os.path.getsize(cooccur) // CREC.itemsize
                except OSError as exc:
                    raise InputError(f"cannot read {cooccur}: {exc.strerror or exc}") from None
                builder = RecordBuilder(bound, opts, budget, temp, None, quiet)
                read_cooccur_file(cooccur, v, builder, quiet)
            records = builder.finish()
            del builder
        t3 = time.monotonic()
        stats["shuffle_s"] = t3 - t2
        stats["records"] = records.n
        stats["records_in_memory"] = records.array is not None
        if records.n == 0:
            raise InputError("no word pair co-occurs within the window: nothing to train on")
        say(f"glove: {records.n:,} co-occurrence records"
            f" ({'in memory' if records.array is not None else 'streamed from disk'})"
            + (f", counted in {stats['runs']} spilled runs" if stats.get("runs") else ""), quiet)
        param_bytes = 2 * 2 * v * (opts.dim + 1) * 4
        runner.check_memory(param_bytes, "glove parameters (vectors and AdaGrad state)", quiet,
                            hint="a smaller --dim or --max-size")
        params = init_params(v, opts.dim, opts.seed)
        cost, skipped = fit(records, params, opts, quiet)
        del records
        t4 = time.monotonic()
        stats["train_s"] = t4 - t3
        stats["cost"] = [float(c) for c in cost]
        stats["skipped"] = skipped
        formats.save_vectors((vocab.words, output_matrix(params, opts.vectors)), output)
        if save_vocab is not None:
            vocab.save(save_vocab)
        stats["total_s"] = time.monotonic() - t0
    return stats
