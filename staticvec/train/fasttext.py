"""fastText training: options, tables, threads and schedule around the fasttext kernel.

Follows fastText's own choices where they differ from word2vec's, so that a model trained
here behaves like one trained by Facebook's tool: noise words drawn in proportion to
count^0.5, frequent words kept with probability sqrt(t/f) + t/f, a word's input being
the mean of its own row and its character n-gram rows, and the learning rate falling
linearly to zero over all epochs.
"""
import logging
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from staticvec.errors import BadOptionError
from staticvec.train import runner
from staticvec.atomic import check_output_name, refuse_compressed
from staticvec.train.job import Job, run_job
from staticvec.train.options import (INT_MAX, MAX_COUNT, MAX_NEGATIVE, TrainOptions,
                                     check_choice, check_int, check_not_negative,
                                     check_positive)

log = logging.getLogger(__name__)

NEGATIVE_TABLE_SIZE = 10_000_000  # fastText's table size
MODELS = ("skipgram", "cbow")


@dataclass
class FastTextOptions(TrainOptions):
    model: str = "skipgram"
    minn: int = 3
    maxn: int = 6
    bucket: int = 2_000_000
    negative: int = 5
    alpha: float = 0.05
    sample: float = 1e-4

    def check_choices(self):
        check_choice("--model", self.model, MODELS)
        super().check_choices()

    def check_model(self):
        # C ints in the kernel, and finite numbers: inf/nan never reach it
        check_int("--minn", self.minn, 1, INT_MAX)
        check_int("--maxn", self.maxn, 0, INT_MAX)
        if self.maxn and self.minn > self.maxn:
            raise BadOptionError(f"--minn {self.minn} is larger than --maxn {self.maxn} "
                                 f"(use --maxn 0 to turn subwords off)")
        if self.maxn and self.bucket < 1:
            raise BadOptionError(f"--bucket must be at least 1 while --maxn > 0 (got {self.bucket})")
        check_int("--bucket", self.bucket, 0, INT_MAX - 1)
        check_int("--negative", self.negative, 1, MAX_NEGATIVE)
        # STEM.bin records it as an int64 (the other trainers just find no word that often)
        check_int("--min-count", self.min_count, 1, MAX_COUNT)
        check_positive("--alpha", self.alpha)
        check_not_negative("--sample", self.sample)
        # the bucket rows do not depend on the corpus: refuse them before it is read
        runner.check_memory(memory_needed(1, self), "fasttext training", announce=False)

    @property
    def n_buckets(self):
        """Bucket rows actually allocated: none when subwords are off."""
        return self.bucket if self.maxn > 0 else 0


def noise_table(counts, size=NEGATIVE_TABLE_SIZE, seed=None):
    """fastText's unigram table: word i appears ceil(sqrt(c_i) * size / sum sqrt(c)) times,
    shuffled (with ``seed``) because the kernel reads it in order, as fastText does."""
    weights = np.sqrt(np.asarray(counts, dtype=np.float64))
    reps = np.ceil(weights * size / weights.sum()).astype(np.int64)
    table = np.repeat(np.arange(len(weights), dtype=np.int32), reps)
    if seed is not None:
        np.random.default_rng(seed).shuffle(table)
    return table


def fasttext_keep_probabilities(counts, sample, total_tokens):
    """fastText's subsampling: keep a token of frequency f with probability sqrt(t/f) + t/f
    (word2vec C's rule, in ``word2vec.py``, differs)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0 or total_tokens <= 0:
        return np.ones(len(counts), dtype=np.float32)
    ratio = sample / (counts / float(total_tokens))
    return (np.sqrt(ratio) + ratio).astype(np.float32)


def memory_needed(n_words, options):
    """Bytes training will hold, as {hint: bytes} per group of buffers (``runner.check_memory``
    names the largest): word rows in and out plus tables, the n-gram bucket rows, and the
    workers' buffers (a line is at most 1024 tokens, so the window costs no more than that)."""
    dim = options.dim
    reach = min(options.window, 1024)
    per_thread = 4 * 3 * dim + 4 * (2 * reach * 64 + 1) + 4 * 1024
    return {"a smaller --dim or a larger --min-count":
                2 * n_words * dim * 4 + NEGATIVE_TABLE_SIZE * 4 * 2 + n_words * 16,
            "a smaller --bucket or --dim": options.n_buckets * dim * 4,
            "fewer --threads": options.threads * per_thread}


def init_input(rows, dim, seed, threads=1):
    """fastText's start: every row uniform in [-1/dim, 1/dim]. Filled by the kernel from a
    counter-based generator (same matrix for any number of threads), in parallel."""
    from staticvec import _kernels

    kernel = _kernels.load("fasttext")
    wi = np.empty((rows, dim), dtype=np.float32)
    flat = wi.reshape(-1)
    bound = 1.0 / dim
    cuts = np.linspace(0, flat.size, max(1, threads) + 1).astype(np.int64)
    workers = [threading.Thread(target=kernel.uniform_fill,
                                args=(flat, -bound, bound, seed, int(a), int(b)), daemon=True)
               for a, b in zip(cuts[:-1], cuts[1:])]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return wi


def train(vocab, encoded, options, progress=None, start=None, checkpoints=None,
          report=None):
    """Train on an encoded corpus; returns (input matrix, output matrix, CSR subwords) (the
    job checks the matrices for NaN/inf before writing them). ``start``: called as
    start(wi, wo) once the matrices are initialised, to put saved or pretrained rows in
    (``train/start.py``). ``checkpoints``: train/checkpoint.py's ``Checkpoints`` (bound to
    this corpus) to resume from and write. ``report``: a dict that receives ``loss`` (the
    mean loss per prediction of each epoch) and ``predictions``."""
    from staticvec import _kernels
    from staticvec.model import subwords

    options = options.resolved()
    kernel = _kernels.load("fasttext")
    words = vocab.words
    n_words = len(words)
    if n_words + options.n_buckets > INT_MAX:
        raise BadOptionError(f"--bucket must be an integer in [0, {INT_MAX - n_words}] "
                             f"with {n_words:,} words (got {options.bucket}): the rows are "
                             f"counted in 31 bits")
    runner.check_memory(memory_needed(n_words, options), "fasttext training")
    indptr, indices = subwords.subword_csr(words, options.minn, options.maxn, options.n_buckets)
    wi = init_input(n_words + options.n_buckets, options.dim, options.seed, options.threads)
    wo = np.zeros((n_words, options.dim), dtype=np.float32)
    if start is not None:
        start(wi, wo)
    shift = kernel.mean_shift(indptr, indices)
    table = noise_table(vocab.counts, seed=options.seed)
    total_tokens = getattr(vocab, "total_tokens", int(np.sum(vocab.counts)))
    keep = fasttext_keep_probabilities(vocab.counts, options.sample, total_tokens)
    ids = np.ascontiguousarray(encoded.ids, dtype=np.uint32)
    ends = np.ascontiguousarray(encoded.sentence_ends, dtype=np.uint64)
    release = runner.file_backed(ids)

    shares = runner.sentence_shares(encoded.sentence_ends, options.threads, tokens=True)
    counters = runner.Counters(len(shares), options.epochs)
    losses = runner.EpochLoss(counters, f"fasttext {options.model}")
    diverged = np.zeros(1, dtype=np.int32)
    sg = options.model == "skipgram"
    session, states = None, None
    if checkpoints is not None:
        # each thread's position (epoch, token, RNG, noise position, words); an epoch a round
        states = np.stack([kernel.initial_state(options.seed, t, len(table))
                           for t in range(len(shares))])
        arrays = {"wi": wi, "wo": wo, "state": states, "loss": counters.loss}
        checkpoints.restore(arrays)
        counters.progress[::runner.PROGRESS_STRIDE] = states[:, 5]
        session = checkpoints.session(arrays, lambda: bool((states[:, 0] >= options.epochs).all()))

    def work(t):
        start, end = shares[t]
        until = options.epochs if states is None else min(int(states[t, 0]) + 1, options.epochs)
        kernel.train_share(wi, wo, ids, ends, start, end, indptr, indices, shift, table, keep,
                           sg, options.window, options.negative, until, options.alpha,
                           total, counters.progress, counters.stop, t, options.seed, release,
                           diverged, None if states is None else states[t], loss=counters.loss)
        if diverged[0]:
            raise runner.diverged_error(int(diverged[0]))

    total = encoded.n_tokens * options.epochs

    def fields(done):
        epoch = min(options.epochs, 1 + options.epochs * done // max(total, 1))
        return {"epoch": epoch, "alpha": options.alpha * max(0.0, 1.0 - done / max(total, 1)),
                **losses.fields(epoch - 1)}

    runner.run_workers(work, len(shares), counters, total=total,
                       description=f"fasttext {options.model}", progress=progress,
                       fields=fields, checkpoint=session)
    if report is not None:
        report.update(loss=counters.epoch_losses(), loss_unit="prediction",
                      predictions=counters.predictions())
    return wi, wo, (indptr, indices)


def stem_of(output):
    """``-o`` names the stem; a trailing .bin or .vec is taken off so ``-o m.bin`` works."""
    output = os.fspath(output)
    for suffix in (".bin", ".vec"):
        if output.endswith(suffix):
            return output[: -len(suffix)]
    return output


def write_outputs(stem, vocab, wi, wo, subword_lists, options, total_tokens=None):
    """OUT.bin (the full model, with n-gram buckets) and OUT.vec (composed word vectors)."""
    from staticvec.io import fasttext_bin
    from staticvec.io import dispatch as formats
    from staticvec.model import subwords

    indptr, indices = subword_lists
    fasttext_bin.save_model(
        f"{stem}.bin", vocab.words, vocab.counts, wi, wo, model=options.model,
        dim=options.dim, window=options.window, epochs=options.epochs,
        min_count=options.min_count, negative=options.negative, bucket=options.n_buckets,
        minn=options.minn, maxn=options.maxn, sample=options.sample,
        ntokens=total_tokens)
    matrix = subwords.compose(wi, indptr, indices)
    formats.save_vectors((vocab.words, matrix), f"{stem}.vec", fmt="text")
    return matrix


class FastTextJob(Job):
    """train-fasttext: STEM.bin and STEM.vec, whole or none (and the vocabulary, if asked);
    ``continue_from``: a fastText .bin to train further, ``init_vectors``: pretrained vectors
    for the words' own input rows (see train/start.py)."""

    def __init__(self, paths, output, options, *, continue_from=None, init_vectors=None,
                 explicit=None, **kwargs):
        from staticvec.train import start

        self.continue_from, self.init_vectors = continue_from, init_vectors
        self.record = self.pretrained = None
        start.refuse_both(continue_from, init_vectors)
        if continue_from is not None:
            from staticvec.io.fasttext_bin import read_model

            self.record = read_model(continue_from)
            options = start.fasttext_continued_options(continue_from, self.record, options,
                                                       explicit)
        super().__init__(paths, output, options, **kwargs)
        if init_vectors is not None:
            self.pretrained = start.load_init_vectors(init_vectors, self.options.dim)

    def inputs(self):
        return [("--continue", self.continue_from), ("--init-vectors", self.init_vectors)]

    def prepare(self, progress):
        if self.record is None:
            return super().prepare(progress)
        from staticvec.train.start import prepare_continued

        vocab, corpus = prepare_continued(self, self.record["words"], self.record["counts"],
                                          progress)
        # frequencies (subsampling) and STEM.bin's ntokens over every corpus trained on
        vocab.total_tokens = int(vocab.counts.sum())
        return vocab, corpus

    def check(self):
        if str(self.output) == "-":
            raise BadOptionError("train-fasttext writes two files, STEM.bin and STEM.vec: "
                                 "-o needs a file stem, not - (stdout)")
        check_output_name(self.output)
        # -o m.bin.gz: STEM.bin must stay a plain fastText model (fastText reads no other)
        refuse_compressed("--output", self.output, "train-fasttext writes STEM.bin, a plain "
                          "fastText model, and STEM.vec: name a stem (compress STEM.vec "
                          "afterwards, or convert it)")
        self.stem = stem_of(self.output)

    def outputs(self):
        return [("--output", f"{self.stem}.bin"), ("--output", f"{self.stem}.vec")]

    trainer = "train-fasttext"

    def train(self, vocab, corpus, progress):
        from staticvec.train.start import FastTextStart, VectorsStart

        started = time.monotonic()
        begin = None
        if self.record is not None:
            begin = FastTextStart(self.record, self.options.n_buckets)
        elif self.pretrained is not None:
            begin = VectorsStart(self.init_vectors, self.pretrained, vocab.words)
        self.wi, self.wo, self.lists = train(vocab, corpus, self.options, progress, begin,
                                             self.checkpoints, self.report)
        if self.record is not None:
            from staticvec.model.subwords import subword_csr
            from staticvec.train.start import in_frequency_order

            n, o = len(vocab), self.options
            words, self.wo = in_frequency_order(vocab, [self.wi[:n], self.wo])
            self.wi[:n] = words    # the bucket rows stay where they are
            self.lists = subword_csr(vocab.words, o.minn, o.maxn, o.n_buckets)
        seconds = max(time.monotonic() - started, 1e-9)
        self.rate = corpus.n_tokens * self.options.epochs / seconds
        self.report.update(words=corpus.n_tokens * self.options.epochs, seconds=seconds)
        return [self.wi, self.wo]

    def write(self, vocab):
        write_outputs(self.stem, vocab, self.wi, self.wo, self.lists, self.options,
                      total_tokens=vocab.total_tokens)

    def summary(self, vocab):
        o = self.options
        return (f"fasttext: {len(vocab):,} words x {o.dim} dims, {o.n_buckets:,} buckets; "
                f"{self.rate / 1e3:,.0f}k words/s; wrote {self.stem}.bin and {self.stem}.vec")


def train_fasttext(paths, output, options, *, vocab_path=None, save_vocab=None, progress=None,
                   continue_from=None, init_vectors=None, explicit=None, summary=None):
    """What `staticvec train-fasttext` does: prepare the corpus, train, write STEM.bin/.vec;
    returns the stem. ``continue_from``/``init_vectors``: --continue/--init-vectors
    (``explicit``: the option fields the user set; see train/start.py). ``summary``: a
    ``RunSummary`` to fill (see ``run_job``)."""
    job = FastTextJob(paths, output, options, vocab_path=vocab_path, save_vocab=save_vocab,
                      continue_from=continue_from, init_vectors=init_vectors, explicit=explicit)
    run_job(job, progress, summary)
    return job.stem
