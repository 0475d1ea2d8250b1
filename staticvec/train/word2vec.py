"""word2vec training (skip-gram and CBOW): options, tables, threads, learning-rate schedule.

The arithmetic is in ``_kernels/word2vec.pyx`` (see its docstring for the algorithm and where it
deliberately differs from word2vec C). This module builds what the kernel reads: the aligned,
padded matrices (input vectors uniform, output vectors zero), the alias table of the count^0.75
noise distribution, the subsampling keep thresholds and the Huffman tree; then it runs one
worker per thread over an equal share of the encoded corpus (``train/runner.py``).

Differences from word2vec C on the Python side, and why:
- input vectors start uniform in [-1/dim, 1/dim) (gensim's range), not word2vec C's
  [-0.5/dim, 0.5/dim): on a 2M-token text8 cut (3 seeds, 1 thread) C's range lost 0.7 analogy
  points for skip-gram (6.05 vs 6.75) and 0.8 for CBOW (3.81 vs 4.63) against gensim's
  6.68 / 4.60; ``--init-scale 0.5`` restores word2vec C's range;
- they are drawn by numpy's PCG64 from --seed (word2vec C uses its LCG from 1);
- a line longer than --max-sentence-length (10,000) is split, never truncated (word2vec C cuts
  sentences at 1,000 words, gensim at 10,000 and drops the rest);
- the learning rate (``learning_rate``, the kernel's ``scheduled_alpha``) is a function of
  the progress q = words done by all threads / words of all epochs, so it does not depend on
  --threads. --lr-schedule sawtooth (the default) is alpha * (1 - (e + f/2) / E) in epoch e
  (from 0) of E at fraction f of it: each epoch the rate falls by half an epoch's share, then
  jumps to where word2vec C's line is at that epoch's start. That is the curve gensim's
  corpus_file mode gives at 2 workers (each worker counts its own words against the whole
  epoch, so with W workers an epoch ends after only 1/W of its decay), here tied to the words
  of all threads instead of the worker count; it ends at alpha / (2E). On text8like (2
  threads, 3 seeds) it beat word2vec C's line by 1.0 (skip-gram) and 1.6 (CBOW) analogy
  points and 0.016-0.029 WS353 at 5M tokens x 3 epochs; at 17M x 5 the two are level
  within seed noise, and skip-gram scores as gensim does. Raising word2vec C's floor to
  alpha / 10 instead gained nothing (README, "Learning rate and thread count", has the
  table). --lr-schedule word2vec is word2vec C's alpha * (1 - q), bit for bit; both are
  floored at --min-alpha (default alpha * 1e-4, word2vec C's fixed floor);
- the training order: --order shuffled (the default, ``runner.shuffled_blocks``) cuts the
  corpus into blocks of whole sentences of ~--shuffle-block tokens (10,000 skip-gram, 500
  CBOW) and trains them in one random order drawn from --seed, every epoch; thread t takes
  blocks t, t + n, t + 2n, ... of that walk, so the order the model sees is the same at any
  --threads (word2vec C and gensim give each thread a contiguous part of the file, so 1
  thread sees the corpus front to back and 2 threads two distant halves at once). On
  text8like (2 threads, 3 seeds) it beat that order by 0.9 (skip-gram) and 1.2 (CBOW)
  analogy points at 5M tokens x 3 epochs and 0.2 / 1.6 at 17M x 5, with 1 thread within
  seed noise of 2. Finer blocks helped CBOW's analogies at level SimLex; skip-gram's gained
  as much but lost 0.007 SimLex at 17M, hence its 10,000. --order sequential is the old
  order (each share front to back), and --lanes N (``runner.lane_blocks``) interleaves N
  lanes of it (README, "Learning rate and thread count", has the tables).

The encoded corpus arrives as a read-only file mapping (``text/encoded.py``); the kernel drops the
pages each thread has read (``runner.file_backed`` says when that is allowed), so resident
memory during training is the model, not the model plus the corpus.
"""
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from staticvec import _kernels
from staticvec.errors import BadOptionError
from staticvec.train import runner
from staticvec.train.job import VectorsJob, run_job
from staticvec.train.options import (MAX_NEGATIVE, TrainOptions, check_choice, check_int,
                                     check_positive)

log = logging.getLogger(__name__)

@dataclass
class Word2VecOptions(TrainOptions):
    """The CLI's options, word2vec C's defaults; ``resolved()`` fills and checks them."""

    sg: bool = True
    negative: int = 5
    hs: bool = False
    sample: float = 1e-3
    alpha: float = None          # 0.025 skip-gram, 0.05 CBOW
    min_alpha: float = None      # alpha * 1e-4
    ns_exponent: float = 0.75
    cbow_mean: bool = True
    init_scale: float = 1.0      # input vectors start uniform in [-init_scale/dim, init_scale/dim)
    lr_schedule: str = "sawtooth"  # a name in LR_SCHEDULES (see learning_rate)
    order: str = "shuffled"      # a name in ORDERS: runner.shuffled_blocks / runner.lane_blocks
    shuffle_block: int = None    # tokens per block of the shuffled order: 10,000 sg, 500 CBOW
    lanes: int = 1               # --order sequential: runner.lane_blocks (1: each share in order)

    def check_choices(self):
        super().check_choices()
        check_choice("--lr-schedule", self.lr_schedule, tuple(LR_SCHEDULES))
        check_choice("--order", self.order, ORDERS)

    def check_model(self):
        if self.alpha is None:
            self.alpha = 0.025 if self.sg else 0.05
        if self.min_alpha is None:
            self.min_alpha = self.alpha * 1e-4
        check_int("--negative", self.negative, 0, MAX_NEGATIVE)
        check_int("--lanes", self.lanes, 1, MAX_LANES)
        if self.order != "shuffled":
            if self.shuffle_block is not None:
                raise BadOptionError(f"--shuffle-block {self.shuffle_block} needs --order "
                                     f"shuffled")
        else:
            if self.shuffle_block is None:
                self.shuffle_block = SHUFFLE_BLOCK["skipgram" if self.sg else "cbow"]
            check_int("--shuffle-block", self.shuffle_block, 1, MAX_SHUFFLE_BLOCK)
        if self.lanes > 1 and self.order != "sequential":
            raise BadOptionError(f"--lanes {self.lanes} needs --order sequential (the shuffled "
                                 f"order has no lanes)")
        check_positive("--alpha", self.alpha)
        checks = [
            (self.negative > 0 or self.hs, "--negative 0 needs --hs (nothing would be trained)"),
            (self.sample >= 0 and np.isfinite(self.sample),
             f"--sample must be a finite number >= 0 (got {self.sample})"),
            (0 <= self.min_alpha <= self.alpha,
             f"--min-alpha must be a number in [0, --alpha] (got {self.min_alpha})"),
            (np.isfinite(self.ns_exponent),
             f"--ns-exponent must be a finite number (got {self.ns_exponent})"),
            (0 < self.init_scale < 1e6,
             f"--init-scale must be a number in (0, 1e6) (got {self.init_scale})"),
        ]
        for ok, message in checks:
            if not ok:
                raise BadOptionError(message)


# --lanes: at most this many (a lane of fewer than a block's words is as good as none)
MAX_LANES = 4096

# --order: shuffled (each epoch walks ~10,000-word blocks in a fresh random order, the same at
# any --threads) or sequential (each thread's share front to back, or by --lanes)
ORDERS = ("shuffled", "sequential")

# --shuffle-block defaults (README, "Learning rate and thread count"): finer blocks gave CBOW
# 1.0-1.5 more analogy points at level SimLex; skip-gram gained as much but lost 0.007
# SimLex at 17M tokens, so it keeps 10,000
SHUFFLE_BLOCK = {"skipgram": 10_000, "cbow": 500}
MAX_SHUFFLE_BLOCK = 1 << 30


# ---------------------------------------------------------------- learning rate

# --lr-schedule: name -> the sawtooth factor k of ``learning_rate`` (the kernel's ``lr_saw``)
LR_SCHEDULES = {"sawtooth": 2.0, "word2vec": 1.0}


def learning_rate(alpha, min_alpha, done, total, epochs, saw=1.0):
    """The learning rate after ``done`` of ``total`` words (all threads, all epochs), as the
    kernel computes it (``scheduled_alpha`` in ``_kernels/word2vec.pyx``, in float32 there).

    q = done / (total + 1) is the progress; saw = k > 1 lets q advance only 1/k of an epoch
    during each epoch, so the rate falls from the epoch's start by 1/k of an epoch's share and
    jumps back up to the next epoch's start (gensim's corpus_file curve at k workers, as a
    function of the words done by all threads). The rate is alpha * (1 - q), at least
    min_alpha."""
    q = done / (total + 1.0)
    if saw != 1.0:
        e = math.floor(q * epochs)
        q = (e + (q * epochs - e) / saw) / epochs
    return max(alpha * (1.0 - q), min_alpha)


# ---------------------------------------------------------------- tables

def noise_distribution(counts, exponent=0.75):
    """P(w) proportional to count^exponent: word2vec C's negative-sampling distribution.

    When count^exponent overflows or underflows as a whole (``--ns-exponent 1000``), the
    weights are taken in log space relative to the largest, so they stay a distribution."""
    counts = np.asarray(counts, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        weights = counts ** exponent
        total = weights.sum()
        if np.isfinite(total) and total > 0:
            return weights / total
        logs = exponent * np.log(counts)
        top = logs.max()
        weights = np.where(logs == top, 1.0, np.exp(logs - top))
        return weights / weights.sum()


def alias_table(probs):
    """Vose's alias table for ``probs``: (accept thresholds out of 2^32, alias ids), uint32.

    Draw i uniform in [0, V) and u uniform 32-bit: the sample is i if u < accept[i], else
    alias[i]. Exactly the distribution ``probs`` up to the 2^-32 rounding of each threshold.
    """
    probs = np.asarray(probs, dtype=np.float64)
    v = len(probs)
    scaled = probs * v
    accept = np.ones(v, dtype=np.float64)
    alias = np.arange(v, dtype=np.int64)
    small = [i for i in range(v) if scaled[i] < 1.0]
    large = [i for i in range(v) if scaled[i] >= 1.0]
    scaled = scaled.tolist()
    while small and large:
        s = small.pop()
        g = large.pop()
        accept[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    # leftovers are 1 up to rounding: always accept
    thresholds = np.minimum(np.round(accept * 2.0 ** 32), 2.0 ** 32 - 1).astype(np.uint32)
    full = accept >= 1.0
    alias[full] = np.arange(v)[full]
    return thresholds, alias.astype(np.uint32)


def alias_distribution(thresholds, alias):
    """The distribution an alias table actually samples (for tests and sanity checks)."""
    v = len(thresholds)
    accept = np.asarray(thresholds, dtype=np.float64) / 2.0 ** 32
    p = accept / v
    np.add.at(p, np.asarray(alias, dtype=np.int64), (1.0 - accept) / v)
    return p


def word2vec_keep_probabilities(counts, sample, total):
    """word2vec C's subsampling: keep w with probability (sqrt(f/(s*T)) + 1) * s*T/f, capped at 1."""
    counts = np.asarray(counts, dtype=np.float64)
    threshold = sample * total
    keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(keep, 1.0)


def keep_thresholds(counts, sample, total):
    """Keep probabilities as thresholds out of 2^24 for the kernel (2^24 = always keep);
    empty when subsampling is off."""
    if sample <= 0:
        return np.zeros(0, dtype=np.uint32)
    return np.round(word2vec_keep_probabilities(counts, sample, total) * 2.0 ** 24
                    ).astype(np.uint32)


def huffman_tree(counts):
    """word2vec C's Huffman tree over ``counts`` (most frequent first).

    Returns (offsets int64 [V+1], codes uint8, points uint32): word w's path from the root is
    points[offsets[w]:offsets[w+1]] (inner-node rows of the HS matrix, root = V-2) with the
    branch bits codes[...] taken at each of them.
    """
    counts = np.asarray(counts, dtype=np.int64)
    v = len(counts)
    if v < 2:
        return np.zeros(v + 1, dtype=np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint32)
    order = np.argsort(-counts, kind="stable")
    if not np.array_equal(order, np.arange(v)):
        raise ValueError("counts must be sorted, most frequent first")
    count = counts.tolist() + [1 << 62] * (v - 1)
    parent = [0] * (2 * v - 1)
    binary = [0] * (2 * v - 1)
    pos1, pos2 = v - 1, v
    for a in range(v - 1):
        picks = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                picks.append(pos1)
                pos1 -= 1
            else:
                picks.append(pos2)
                pos2 += 1
        count[v + a] = count[picks[0]] + count[picks[1]]
        parent[picks[0]] = parent[picks[1]] = v + a
        binary[picks[1]] = 1
    parent = np.asarray(parent, dtype=np.int64)
    binary = np.asarray(binary, dtype=np.uint8)
    root = 2 * v - 2
    # walk every leaf up at once, level by level
    node = np.arange(v, dtype=np.int64)
    levels_code, levels_point = [], []
    active = node != root
    while active.any():
        levels_code.append(np.where(active, binary[node], 0))
        up = np.where(active, parent[node], root)
        levels_point.append(up)
        node = up
        active = node != root
    code_mat = np.stack(levels_code, axis=1)      # [v, L]: bit at leaf, its parent, ...
    point_mat = np.stack(levels_point, axis=1)    # [v, L]: parent, grandparent, ..., root
    depth = np.zeros(v, dtype=np.int64)
    node = np.arange(v, dtype=np.int64)
    for j in range(code_mat.shape[1]):
        depth += (node != root)
        node = point_mat[:, j]
    offsets = np.zeros(v + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(depth)
    codes = np.empty(offsets[-1], dtype=np.uint8)
    points = np.empty(offsets[-1], dtype=np.uint32)
    for w in range(v):
        d = depth[w]
        # root first: reverse the leaf-up walk
        codes[offsets[w]:offsets[w + 1]] = code_mat[w, :d][::-1]
        points[offsets[w]:offsets[w + 1]] = (point_mat[w, :d][::-1] - v)
    return offsets, codes, points


def huffman_paths(counts):
    """``huffman_tree`` for counts in any order (a continued model's vocabulary keeps its old
    words first): the tree of the counts sorted (stably), each word's path in id order."""
    counts = np.asarray(counts, dtype=np.int64)
    order = np.argsort(-counts, kind="stable")
    if np.array_equal(order, np.arange(len(counts))):
        return huffman_tree(counts)
    offsets, codes, points = huffman_tree(counts[order])
    depth = np.empty(len(counts), dtype=np.int64)
    depth[order] = np.diff(offsets)
    starts = np.empty(len(counts), dtype=np.int64)
    starts[order] = offsets[:-1]
    new_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    new_offsets[1:] = np.cumsum(depth)
    take = np.repeat(starts - new_offsets[:-1], depth) + np.arange(new_offsets[-1])
    return new_offsets, codes[take], points[take]


def init_input_vectors(vocab_size, dim, seed, scale=1.0):
    """Uniform in [-scale/dim, scale/dim) in padded, aligned rows (padding zero)."""
    k = _kernels.load("word2vec")
    width = k.padded_width(dim)
    m = k._aligned_zeros(vocab_size, width)
    rng = np.random.default_rng(seed)
    block = 65536
    for lo in range(0, vocab_size, block):
        hi = min(lo + block, vocab_size)
        m[lo:hi, :dim] = ((rng.random((hi - lo, dim), dtype=np.float32) * np.float32(2.0)
                           - np.float32(1.0)) * np.float32(scale / dim))
    return m


def memory_needed(vocab_size, options, threads, max_sentence=10000):
    """Bytes training holds besides the (memory-mapped) corpus, as {hint: bytes} per group of
    buffers (see ``runner.check_memory``): the matrices and tables (--dim, vocabulary size),
    and each worker's buffers, sized by the longest sentence, the window (never past the
    sentence), --negative and --dim (as ``scratch_alloc`` in the kernel sizes them)."""
    width = _kernels.load("word2vec").padded_width(options.dim)
    matrices = 1 + (options.negative > 0) + bool(options.hs)
    tables = vocab_size * (4 + 4 + 4) + (vocab_size * 45 if options.hs else 0)
    rows = max(options.negative + 1, 64 if options.hs else 1)   # a Huffman path is < 64 nodes
    span = min(2 * options.window, max_sentence)
    window_part = 4 * ((span + 1) * rows + rows + span + 2 + span + 1)
    sentence_part = 4 * (max_sentence + 1)
    per_thread = 4 * 3 * width + 16 * rows + window_part + sentence_part
    biggest = "--window" if window_part > sentence_part else "--max-sentence-length"
    return {"a smaller --dim or a larger --min-count": matrices * vocab_size * width * 4 + tables,
            f"fewer --threads or a smaller {biggest}": threads * per_thread}


# ---------------------------------------------------------------- training

def build_kernel(counts, options, counters, diverged=None, start=None):
    """The kernel state for one model: (kernel, syn0, syn1neg, syn1), matrices padded/aligned.

    ``options`` must be resolved. Matrices a mode does not use are one dummy row.
    ``diverged``: int32[1] the kernel sets to the epoch in which the weights went NaN/inf.
    ``start``: called as start(syn0, syn1neg, syn1, counts, tree) once the matrices are
    initialised, to put saved or pretrained rows in (``train/start.py``)."""
    o = options
    counts = np.asarray(counts, dtype=np.int64)
    v = len(counts)
    k = _kernels.load("word2vec")
    syn0 = init_input_vectors(v, o.dim, o.seed, o.init_scale)
    width = syn0.shape[1]
    syn1neg = k._aligned_zeros(v if o.negative else 1, width)
    syn1 = k._aligned_zeros(max(v - 1, 1) if o.hs else 1, width)
    if o.negative:
        accept, alias = alias_table(noise_distribution(counts, o.ns_exponent))
        packed = accept.astype(np.uint64) | (alias.astype(np.uint64) << np.uint64(32))
    else:
        packed = np.zeros(0, np.uint64)
    keep = keep_thresholds(counts, o.sample, int(counts.sum()))
    if o.hs:
        offsets, codes, points = huffman_paths(counts)
    else:
        offsets, codes, points = np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint32)
    if start is not None:
        start(syn0, syn1neg, syn1, counts, (offsets, codes, points))
    kernel = k.Word2VecKernel(syn0, syn1neg, syn1, sg=o.sg, cbow_mean=o.cbow_mean, hs=o.hs,
                              negative=o.negative, window=o.window, keep=keep,
                              alias=packed, code_off=offsets, codes=codes,
                              points=points, progress=counters.progress, stop=counters.stop,
                              diverged=diverged, lr_saw=LR_SCHEDULES[o.lr_schedule],
                              lr_epochs=o.epochs)
    return kernel, syn0, syn1neg, syn1


def train_arrays(counts, ids, sentence_ends, options, progress=None, description=None,
                 check_ram=True, start=None, weights=None, checkpoints=None, report=None):
    """Train on an encoded corpus; return the input vectors as a (V, dim) float32 array
    (the job checks them for NaN/inf before writing them).

    ``start``: see ``build_kernel``; ``weights``: a dict that receives every trained matrix
    (``model_file`` section names: input, output_negative, output_hs), for --save-model.
    ``checkpoints``: train/checkpoint.py's ``Checkpoints`` (bound to this corpus) to resume
    from and write. ``report``: a dict that receives ``loss`` (the mean loss per prediction
    of each epoch), ``predictions``, ``words`` (trained, all epochs, before subsampling) and
    ``seconds``.

    ``counts``: vocabulary counts in the ids' order (most frequent first, except in a continued
    model, whose old words come first); ``ids``: uint32 token
    ids; ``sentence_ends``: uint64 exclusive end offset of each sentence.
    """
    o = options.resolved()
    counts = np.asarray(counts, dtype=np.int64)
    v = len(counts)
    if v == 0:
        raise BadOptionError("the vocabulary is empty (lower --min-count?)")
    ids = np.ascontiguousarray(ids, dtype=np.uint32)
    ends = np.ascontiguousarray(sentence_ends, dtype=np.uint64)
    release = runner.file_backed(ids)
    top = _kernels.load("word2vec").max_id(ids, release)
    if len(ids) and top >= v:
        raise ValueError(f"token id {top} is outside the vocabulary of {v} words")
    if len(ends) and int(ends[-1]) != len(ids):
        raise ValueError("sentence_ends must end at the number of tokens")
    name = description or ("skip-gram" if o.sg else "CBOW")
    lengths = np.diff(ends, prepend=np.uint64(0)) if len(ends) else np.zeros(0, np.uint64)
    max_sentence = int(lengths.max()) if len(lengths) else 1
    if check_ram:
        runner.check_memory(memory_needed(v, o, o.threads, max_sentence),
                            f"{name} model ({v:,} words x {o.dim} dims)")
    if o.window > max_sentence > 1:
        log.info(f"--window {o.window} is longer than the longest sentence ({max_sentence} "
                 f"tokens): every context reaches the whole sentence")
    threads = o.threads
    counters = runner.Counters(threads, o.epochs)
    losses = runner.EpochLoss(counters, name)
    diverged = np.zeros(1, dtype=np.int32)
    kernel, syn0, syn1neg, syn1 = build_kernel(counts, o, counters, diverged, start)
    if weights is not None:
        weights.update(trained_matrices(o, v, syn0, syn1neg, syn1))
    if o.order == "shuffled":
        # every thread may train any block: its "share" is the whole corpus
        orders = runner.shuffled_blocks(ends, threads, o.seed, o.shuffle_block)
        shares = [(0, len(ends))] * threads
    else:
        shares = runner.sentence_shares(ends, threads)
        orders = runner.lane_blocks(ends, threads, o.lanes)
    n_tokens = int(ends[-1]) if len(ends) else 0
    total = o.epochs * n_tokens
    session, states = None, None
    if checkpoints is not None:
        # each thread's position (epoch, sentence, RNG, counters, rate); one epoch per round
        states = np.stack([kernel.initial_state(t, o.seed, int(orders[t].flat[0]), o.alpha)
                           for t in range(threads)])
        arrays = {"syn0": syn0, "syn1neg": syn1neg, "syn1": syn1, "state": states,
                  "loss": counters.loss}
        checkpoints.restore(arrays)
        counters.progress[::runner.PROGRESS_STRIDE] = states[:, 3]
        session = checkpoints.session(arrays, lambda: bool((states[:, 0] >= o.epochs).all()))

    def work(t):
        lo, hi = shares[t]
        until = o.epochs if states is None else min(int(states[t, 0]) + 1, o.epochs)
        trained = kernel.train(t, ids, ends, lo, hi, until, o.seed, o.alpha, o.min_alpha,
                               total, max(max_sentence, 1), release,
                               None if states is None else states[t], loss=counters.loss,
                               blocks=orders[t])
        if diverged[0]:
            raise runner.diverged_error(int(diverged[0]))
        return trained

    def fields(done):
        alpha = learning_rate(o.alpha, o.min_alpha, done, total, o.epochs,
                              LR_SCHEDULES[o.lr_schedule])
        epoch = min(done * o.epochs // max(total, 1) + 1, o.epochs)
        return {"epoch": f"{epoch}/{o.epochs}", "alpha": round(alpha, 6),
                **losses.fields(epoch - 1)}

    started = time.perf_counter()
    runner.run_workers(work, threads, counters, total=total, description=name,
                       progress=progress, fields=fields, checkpoint=session)
    seconds = time.perf_counter() - started
    log.info(f"{name}: trained {total:,} words in {seconds:.2f} s "
             f"({total / max(seconds, 1e-9):,.0f} words/s, "
             f"{threads} thread{'s' if threads > 1 else ''})")
    if report is not None:
        report.update(loss=counters.epoch_losses(), loss_unit="prediction",
                      predictions=counters.predictions(), words=total, seconds=seconds)
    return syn0[:, :o.dim]


def trained_matrices(o, v, syn0, syn1neg, syn1):
    """{model_file section: (rows, dim) view} of the matrices a model has."""
    found = {"input": syn0[:, :o.dim]}
    if o.negative:
        found["output_negative"] = syn1neg[:, :o.dim]
    if o.hs:
        found["output_hs"] = syn1[:max(v - 1, 0), :o.dim]
    return found


class Word2VecJob(VectorsJob):
    """train-skipgram / train-cbow: one vectors file (and the vocabulary, if asked); with
    ``save_model`` a model file too; ``continue_from``/``init_vectors``: see train/start.py."""

    def __init__(self, paths, output, options, *, save_model=None, continue_from=None,
                 init_vectors=None, explicit=None, **kwargs):
        from staticvec.train import start

        self.save_model, self.continue_from, self.init_vectors = (save_model, continue_from,
                                                                 init_vectors)
        self.model = self.pretrained = None
        start.refuse_both(continue_from, init_vectors)
        if continue_from is not None:
            from staticvec.io import model_file

            self.model = model_file.read_model(continue_from)
            options = start.continued_options(continue_from, self.model["kind"],
                                              self.model["options"], options, explicit)
        super().__init__(paths, output, options, **kwargs)
        if init_vectors is not None:
            self.pretrained = start.load_init_vectors(init_vectors, self.options.dim)

    def outputs(self):
        return super().outputs() + [("--save-model", self.save_model)]

    def inputs(self):
        return [("--continue", self.continue_from), ("--init-vectors", self.init_vectors)]

    def check(self):
        super().check()
        if self.save_model is not None:
            from staticvec.atomic import refuse_compressed

            refuse_compressed("--save-model", self.save_model, "a model file is read back in "
                              "place (memory-mapped)")

    def prepare(self, progress):
        if self.model is None:
            return super().prepare(progress)
        from staticvec.train.start import prepare_continued

        return prepare_continued(self, self.model["words"], self.model["counts"], progress)

    @property
    def trainer(self):
        return "train-skipgram" if self.options.sg else "train-cbow"

    def train(self, vocab, corpus, progress):
        from staticvec.train.start import ModelStart, VectorsStart

        begin = None
        if self.model is not None:
            begin = ModelStart(self.continue_from, self.model, huffman_paths)
        elif self.pretrained is not None:
            begin = VectorsStart(self.init_vectors, self.pretrained, vocab.words)
        self.weights = {}
        self.vectors = train_arrays(vocab.counts, corpus.ids, corpus.sentence_ends, self.options,
                                    progress=progress, start=begin, weights=self.weights,
                                    checkpoints=self.checkpoints, report=self.report)
        if self.model is not None:
            from staticvec.train.start import in_frequency_order

            # inner-node rows (output_hs) belong to the tree, which the new order keeps
            names = [k for k in self.weights if k != "output_hs"]
            rows = in_frequency_order(vocab, [self.weights[k] for k in names])
            self.weights.update(zip(names, rows))
            self.vectors = self.weights["input"]
        return [self.vectors]

    def write(self, vocab):
        super().write(vocab)
        if self.save_model is not None:
            from staticvec.io import model_file
            from staticvec.train.start import stored_options

            model_file.save_model(self.save_model, "word2vec", stored_options(self.options),
                                  vocab.words, vocab.counts, self.weights)

    def summary(self, vocab):
        return f"wrote {len(vocab.words):,} vectors of {self.options.dim} dims to {self.output}"


def train_word2vec(paths, output, options, *, vocab_path=None, save_vocab=None, progress=None,
                   save_model=None, continue_from=None, init_vectors=None, explicit=None,
                   summary=None):
    """The whole job behind ``train-skipgram`` / ``train-cbow``: vocabulary, encoded corpus
    (cached), training, and the vectors written atomically to ``output``; returns
    (vocab, vectors). ``save_model``, ``continue_from``, ``init_vectors``: --save-model,
    --continue, --init-vectors (``explicit``: the option fields the user set, which a
    continued model's stored options do not replace; see train/start.py). ``summary``: a
    ``RunSummary`` to fill (see ``run_job``)."""
    job = Word2VecJob(paths, output, options, vocab_path=vocab_path, save_vocab=save_vocab,
                      save_model=save_model, continue_from=continue_from,
                      init_vectors=init_vectors, explicit=explicit)
    vocab = run_job(job, progress, summary)
    return vocab, job.vectors
