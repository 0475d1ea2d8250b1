"""GloVe's training records: their dtypes, GloVe C's cooccurrence.bin format, building, shuffling.

Every upper-triangle count becomes the records (i, j) and (j, i) with log x and
f(x) = min(1, (x / x_max)^alpha) precomputed; they are shuffled in memory when they fit the
budget, else written as shuffled parts (in a ``counting.TempArea``) and interleaved into one
shuffled file (GloVe C's shuffle), which training then streams. ``--save-cooccur`` writes
GloVe C's record format (int32 word1, int32 word2, float64 count, little-endian, 1-based
vocabulary line numbers), so files move between the two tools.
"""
import os

import numpy as np

from staticvec import _kernels
from staticvec.errors import FormatError, InputError, OutputError
from staticvec.reporting import Stage

REC = np.dtype([("w1", "<u4"), ("w2", "<u4"), ("logx", "<f4"), ("fx", "<f4")])  # training
CREC = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("x", "<f8")])         # GloVe C cooccurrence.bin


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


class RecordBuilder:
    """Collects records (both directions) while they fit the budget, else shuffled parts on
    disk; also writes them in GloVe C's layout to ``save`` (a binary file object) if given."""

    def __init__(self, n_records_bound, opts, budget_bytes, temp, save=None):
        self.opts = opts
        self.temp = temp
        self.save = save
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


def read_cooccur_file(path, vocab_size, builder, progress=None):
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
    with handle, Stage(progress, "reading co-occurrences", n, unit="records") as bar:
        while done < n:
            crecs = np.fromfile(handle, dtype=CREC, count=1 << 20)
            if len(crecs) == 0:
                break
            check_crecs(crecs, vocab_size, path, done)
            builder.add_crecs(crecs)
            done += len(crecs)
            bar.update(done)

