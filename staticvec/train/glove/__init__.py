"""GloVe training: co-occurrence counting within a memory budget, shuffle, hogwild AdaGrad.

Stages (Pennington, Socher & Manning 2014; GloVe C's vocab_count / cooccur / shuffle / glove):

1. count (``counting.py``): a symmetric window over the encoded corpus adds 1/d for a pair at
   distance d, within a sentence, into a dense table for frequent pairs and sorted runs
   spilled to disk for the rest. Half of --memory goes to the dense table, a quarter to the
   overflow buffer; the dense table never has more cells than a third of the corpus's pair
   occurrences (tokens x window): beyond that, cache misses cost more than the overflow
   sorting they save.
   With --dask (and no --encoded-dir) the counting is a map-reduce on a Dask cluster that
   gives the same counts (``mapreduce.py``).
2. merge (``counting.py``): the runs are merged with at most ``FAN_IN`` files open.
3. records (``records.py``): both directions of every count, with log x and f(x)
   precomputed, shuffled in memory or on disk (GloVe C's shuffle); ``--save-cooccur`` and
   ``--cooccur`` use GloVe C's cooccurrence.bin layout.
4. train (``fit.py``): AdaGrad, one worker per thread over an equal share of the shuffled
   records, in the same order every epoch, as GloVe C does.

Temporary files live in one folder under ``tmp_dir`` that is removed on success, on error and
on Ctrl-C. This module holds the options and the job that runs the stages.
"""
import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from staticvec.atomic import atomic_output, refuse_compressed, writes_in_place
from staticvec.errors import BadOptionError, InputError
from staticvec.train import runner
from staticvec.train.glove.counting import FAN_IN, CooccurrenceCounts, TempArea
from staticvec.train.glove import fit
from staticvec.train.glove.fit import VECTORS, init_params, output_matrix
from staticvec.train.glove.records import CREC, RecordBuilder, read_cooccur_file
from staticvec.train.job import VectorsJob, run_job
from staticvec.text.vocab import Vocab
from staticvec.train.options import TrainOptions, check_choice, check_positive

log = logging.getLogger(__name__)


@dataclass
class GloveOptions(TrainOptions):
    window: int = 10
    epochs: int = 25
    x_max: float = 100.0
    alpha: float = 0.75          # the weighting exponent (the learning rate is eta)
    eta: float = 0.05
    memory: float = 4.0          # GB for counting and shuffling
    vectors: str = "sum"

    def check_choices(self):
        super().check_choices()
        check_choice("--vectors", self.vectors, VECTORS)

    def check_sharded(self):
        """--dask without --encoded-dir: the co-occurrences are counted on the cluster from
        the text (``mapreduce.py``); with --encoded-dir, the trainers' shared rule (encode on
        the cluster, count here)."""
        if counts_on_cluster(self):
            from staticvec.scale.cluster import check_address

            check_address(self.dask)
            return
        super().check_sharded()

    def check_model(self):
        for name, value in (("--x-max", self.x_max), ("--alpha", self.alpha), ("--eta", self.eta),
                            ("--memory", self.memory)):
            check_positive(name, value)
        ram = runner.physical_memory()
        if ram is not None and self.memory_bytes > ram:
            raise BadOptionError(f"--memory must be a finite number of GB in (0, {ram / 2**30:.1f}]"
                                 f" (got {self.memory}): this machine has "
                                 f"{runner.human_bytes(ram)} of RAM")

    @property
    def memory_bytes(self):
        return int(self.memory * (1 << 30))


def counts_on_cluster(options):
    """train-glove --dask without --encoded-dir: map-reduce co-occurrence counting."""
    return options.dask is not None and options.encoded_dir is None and options.encoded is None


class GloveJob(VectorsJob):
    """train-glove: count (or read --cooccur), shuffle, fit; ``stats`` holds stage times and
    sizes."""

    rate_option = "--eta"
    trainer = "train-glove"

    def __init__(self, paths, output, options, *, vocab_path=None, save_vocab=None,
                 save_cooccur=None, cooccur=None, tmp_dir=None, fan_in=FAN_IN):
        super().__init__(paths, output, options, vocab_path=vocab_path, save_vocab=save_vocab)
        self.save_cooccur = save_cooccur
        self.cooccur = cooccur
        self.tmp_dir = tmp_dir
        self.fan_in = fan_in
        self.stats = {}

    def check(self):
        cooccur, save_cooccur = self.cooccur, self.save_cooccur
        if cooccur is not None and self.paths:
            raise BadOptionError("give either CORPUS files or --cooccur, not both")
        if cooccur is None and not self.paths and self.options.encoded is None:
            raise BadOptionError("missing CORPUS (or --cooccur FILE with --vocab)")
        if cooccur is not None and self.options.encoded is not None:
            raise BadOptionError("give either --encoded or --cooccur, not both")
        if counts_on_cluster(self.options):
            from staticvec.train.glove.mapreduce import check_dask_job

            check_dask_job(self)
        if cooccur is not None and save_cooccur is not None:
            raise BadOptionError("--save-cooccur with --cooccur: the records are already in "
                                 f"{cooccur}")
        if cooccur is not None and self.options.phrases is not None:
            raise BadOptionError("--phrases with --cooccur: the records were counted already "
                                 "(give --phrases when counting them)")
        if cooccur is not None and self.vocab_path is None:
            raise BadOptionError("--cooccur needs --vocab: the vocabulary the records were "
                                 "counted with")
        if save_cooccur is not None and str(save_cooccur) == "-":
            raise BadOptionError("--save-cooccur cannot be - (stdout): it is a binary file")
        refuse_compressed("--save-cooccur", save_cooccur, "the records are read back in place "
                          "(GloVe C's cooccurrence.bin layout)")
        super().check()

    def outputs(self):
        return [("--output", self.output), ("--save-cooccur", self.save_cooccur)]

    def inputs(self):
        return [("--cooccur", self.cooccur)]

    @contextlib.contextmanager
    def workspace(self):
        tmp_dir = self.tmp_dir
        if tmp_dir is None:
            tmp_dir = tempfile.gettempdir() if writes_in_place(self.output) else \
                os.path.dirname(os.path.abspath(self.output))
        self.started = time.monotonic()
        # (--dask: the cluster's client lives as long as the workspace; mapreduce.py)
        with TempArea(tmp_dir) as self.temp, contextlib.ExitStack() as self.scope:
            yield

    def prepare(self, progress):
        if counts_on_cluster(self.options):  # the workers read and encode the text themselves
            from staticvec.train.glove.mapreduce import dask_vocab

            return dask_vocab(self, progress), None
        if self.cooccur is None:
            return super().prepare(progress)
        # the records' ids are line numbers of this file: keep every line, in order
        return Vocab.load(self.vocab_path), None

    def train(self, vocab, corpus, progress):
        opts, stats, temp = self.options, self.stats, self.temp
        v = len(vocab)
        if corpus is None and self.checkpoints is not None:  # --cooccur: its bytes, then
            self.checkpoints.bind(vocab.words, vocab.counts, _file_bytes(self.cooccur), [])
        t1 = time.monotonic()
        stats["vocab_s"] = t1 - self.started
        stats["vocab_size"] = v
        budget = opts.memory_bytes
        # the records of --save-cooccur are written while counting, but published (with
        # --save-vocab) only beside the vectors, when the whole run has succeeded
        save_ctx = atomic_output(self.save_cooccur, "wb") if self.save_cooccur is not None \
            else contextlib.nullcontext()
        with save_ctx as save:
            if corpus is not None:
                counts = CooccurrenceCounts(v, opts.window, budget, temp, self.fan_in,
                                            n_tokens=corpus.n_tokens, progress=progress)
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
                builder = RecordBuilder(bound, opts, room, temp, save)
                for pairs in counts.chunks():
                    builder.add_pairs(pairs, counts.scale)
                stats["merge_passes"] = counts.merge_passes
                del counts
            elif counts_on_cluster(opts):
                from staticvec.train.glove.mapreduce import dask_records

                builder = dask_records(self, vocab, save, progress)
                t2 = time.monotonic()
                stats["cooccur_s"] = t2 - t1
            else:
                t2 = time.monotonic()
                stats["cooccur_s"] = 0.0
                try:
                    bound = os.path.getsize(self.cooccur) // CREC.itemsize
                except OSError as exc:
                    raise InputError(f"cannot read {self.cooccur}: "
                                     f"{exc.strerror or exc}") from None
                builder = RecordBuilder(bound, opts, budget, temp, None)
                read_cooccur_file(self.cooccur, v, builder, progress)
            records = builder.finish()
            del builder
        t3 = time.monotonic()
        stats["shuffle_s"] = t3 - t2
        stats["records"] = records.n
        stats["records_in_memory"] = records.array is not None
        if records.n == 0:
            raise InputError("no word pair co-occurs within the window: nothing to train on")
        log.info(f"glove: {records.n:,} co-occurrence records"
                 f" ({'in memory' if records.array is not None else 'streamed from disk'})"
                 + (f", counted in {stats['runs']} spilled runs" if stats.get("runs") else ""))
        param_bytes = 2 * 2 * v * (opts.dim + 1) * 4
        runner.check_memory(param_bytes, "glove parameters (vectors and AdaGrad state)",
                            hint="a smaller --dim or --max-size")
        params = init_params(v, opts.dim, opts.seed)
        cost, skipped = fit.fit(records, params, opts, progress, self.checkpoints)
        stats["train_s"] = time.monotonic() - t3
        stats["cost"] = [float(c) for c in cost]
        stats["skipped"] = skipped
        self.report.update(loss=stats["cost"], loss_unit="record", seconds=stats["train_s"],
                           records=records.n * opts.epochs,
                           stages={"cooccur": stats["cooccur_s"], "shuffle": stats["shuffle_s"],
                                   "fit": stats["train_s"]})
        del records
        self.vectors = output_matrix(params, opts.vectors)
        return [params["W"], params["C"], params["bw"], params["bc"]]

    def write(self, vocab):
        super().write(vocab)
        self.stats["total_s"] = time.monotonic() - self.started


def _file_bytes(path):
    """The bytes of ``path`` as a read-only uint8 mapping (what a --cooccur run trains on)."""
    try:
        if os.path.getsize(path) == 0:
            return np.zeros(0, dtype=np.uint8)
        return np.memmap(path, dtype=np.uint8, mode="r")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def train_glove(paths, output, options, *, vocab_path=None, save_vocab=None, save_cooccur=None,
                cooccur=None, tmp_dir=None, fan_in=FAN_IN, progress=None, summary=None):
    """The whole pipeline; writes ``output`` and returns a dict of stage times and sizes.
    ``summary``: a ``RunSummary`` to fill (see ``run_job``)."""
    job = GloveJob(paths, output, options, vocab_path=vocab_path, save_vocab=save_vocab,
                   save_cooccur=save_cooccur, cooccur=cooccur, tmp_dir=tmp_dir, fan_in=fan_in)
    run_job(job, progress, summary)
    return job.stats
