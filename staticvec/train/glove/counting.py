"""GloVe's co-occurrence counting within a memory budget: dense table, spilled runs, merge.

A symmetric window over the encoded corpus adds 1/d for a pair at distance d, within a
sentence (a line ends the context, as a newline does in GloVe C's cooccur). Counts are exact
integers in units of 1/lcm(1..window) (see ``weight_units``), so partial counts add up to the
same bits in any order. Only the upper triangle is counted. Pairs of frequent words
((lo+1)(hi+1) <= P) go to a dense table, as in GloVe C; the sparse rest is appended to an
overflow buffer that is sorted and combined in place when full and spilled to a sorted run
file (in a ``TempArea``) once combining no longer frees half of it. The runs are merged with
at most ``FAN_IN`` files open (extra passes when there are more runs): a merge round takes
from every run the records up to the smallest of the runs' buffered last keys (no later
record can carry a smaller key), sorts and combines them.
"""
import math
import mmap
import os
import shutil
import tempfile

import numpy as np

from staticvec import _kernels
from staticvec.errors import OutputError, ResourceError
from staticvec.reporting import Stage
from staticvec.train import runner

PAIR = np.dtype([("key", "<u8"), ("units", "<i8")])                  # spilled counts
FAN_IN = 200
EXACT_WINDOW = 20            # lcm(1..20) = 232,792,560: exact units up to this window
APPROX_SCALE = 1 << 30       # beyond it, 1/d is rounded to a multiple of 2^-30
DISK_RESERVE = 64 << 20      # never fill the disk to the last byte
COUNT_STEP = 1 << 20         # tokens per kernel call (Ctrl-C and progress granularity)


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

    def __init__(self, vocab_size, window, memory_bytes, temp, fan_in=FAN_IN, n_tokens=None,
                 progress=None):
        self.vocab_size = int(vocab_size)
        self.window = int(window)
        self.scale = weight_units(self.window, 1)[1]
        self.memory_bytes = int(memory_bytes)
        self.temp = temp
        self.fan_in = max(int(fan_in), 2)
        self.progress = progress
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
                runner.check_memory(extra, "counting co-occurrences",
                                    hint="a smaller --max-sentence-length or --window",
                                    announce=False)
            grown = np.empty(capacity, dtype=PAIR)
            grown[:self.n_over] = self.overflow[:self.n_over]
            self.overflow = grown
        pos = sent = 0
        k = self._k
        with Stage(self.progress, "counting co-occurrences", n, unit="words") as bar:
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

