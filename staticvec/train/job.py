"""The one shape of every training job: refuse early, prepare, train, check, write, report.

    check options, outputs and the output's format  (before any work)
    prepare: vocabulary + encoded corpus            (text/prepare.py, cached)
    train                                           (the model's own step)
    check the weights for NaN/inf                   (a diverged model is never written)
    write every output together                     (atomic.outputs_together)
    summary                                         (one INFO line on the ``staticvec`` logger)

``run_job(job, progress, summary)`` also fills ``summary``, a ``train.summary.RunSummary`` (the
``--json-summary`` record), as it goes; its path is checked with the other outputs.

A trainer subclasses ``Job`` with its model-specific steps (``train``, ``write`` and, where it
differs, ``check``, ``outputs``, ``prepare``, ``workspace``) and calls ``run_job``.
"""
import contextlib
import logging
import time

from staticvec.atomic import check_outputs, outputs_together
from staticvec.errors import BadOptionError
from staticvec.text.prepare import prepare
from staticvec.train.checkpoint import Checkpoints
from staticvec.train.summary import RunSummary
from staticvec.train.runner import check_finite

log = logging.getLogger(__name__)


class Job:
    """One training run; ``options`` are resolved (checked, defaults filled) on creation."""

    #: the option named when the weights diverge
    rate_option = "--alpha"
    #: the command, as a checkpoint records it (None: this job cannot checkpoint)
    trainer = None
    #: train/checkpoint.py's ``Checkpoints`` of a run with --checkpoint or --resume
    checkpoints = None

    def __init__(self, paths, output, options, *, vocab_path=None, save_vocab=None):
        self.paths = list(paths)
        self.output = output
        self.options = options.resolved()
        self.vocab_path = vocab_path
        self.save_vocab = save_vocab
        # what ``train`` measured, for the summary: loss (per epoch), loss_unit, words or
        # records (processed, all epochs), seconds (of training proper), stages (extra times)
        self.report = {}

    def check(self):
        """Refusals that need no work, beyond the options and the outputs."""

    def outputs(self):
        """[(option, path)] the job writes, --save-vocab aside."""
        return [("--output", self.output)]

    def inputs(self):
        """[(option, path)] the job reads, the corpus and --vocab aside."""
        return []

    def workspace(self):
        """A context held from preparing to writing (e.g. a folder for temporary files)."""
        return contextlib.nullcontext()

    def prepare(self, progress):
        o = self.options
        if o.encoded is not None or o.dask is not None:
            from staticvec.scale.encoding import prepare_sharded

            vocab, corpus = prepare_sharded(self.paths, dask=o.dask, encoded_dir=o.encoded_dir,
                                            encoded=o.encoded, vocab_path=self.vocab_path,
                                            progress=progress, **o.reading())
            if o.encoded is not None:  # (what a model file records: the set's, not ours)
                o.min_count = vocab.min_count
            return vocab, corpus
        return prepare(self.paths, vocab_path=self.vocab_path, progress=progress,
                       **self.options.reading())

    def check_sharded(self):
        """A job trained from a shard set (--encoded) reads no corpus and no --vocab; one that
        encodes on a cluster (--dask) cannot adjust the vocabulary of a continued model."""
        o = self.options
        if o.encoded is not None:
            if self.paths:
                raise BadOptionError(f"--encoded {o.encoded} is the corpus: name no corpus "
                                     f"files with it (got {self.paths[0]})")
            if self.vocab_path is not None:
                raise BadOptionError("--vocab cannot be used with --encoded: the shard set "
                                     "holds its vocabulary")
        if (o.encoded is not None or o.dask is not None) and \
                getattr(self, "continue_from", None) is not None:  # (the CLI refuses it first)
            raise BadOptionError("--continue cannot be used with --encoded or --dask: a "
                                 "continued model changes the vocabulary, and so the encoding")

    def train(self, vocab, corpus, progress):
        """Train; returns the arrays to check for NaN/inf before anything is written."""
        raise NotImplementedError

    def write(self, vocab):
        raise NotImplementedError

    def summary(self, vocab):
        """The line said once every output is written (None: nothing)."""
        return None


class VectorsJob(Job):
    """A job whose output is one vectors file, in the format its extension names."""

    def check(self):
        from staticvec.io.dispatch import output_format

        output_format(self.output)  # found out now, not after an hour of training

    def write(self, vocab):
        from staticvec.io.dispatch import save_vectors

        save_vectors((vocab.words, self.vectors), self.output)


def run_job(job, progress=None, summary=None):
    """Run ``job`` (see the module docstring); returns the vocabulary it trained on.
    ``summary``: a ``RunSummary`` to fill (its path, unless ``-``, is checked as an output)."""
    summary = summary if summary is not None else RunSummary()
    summary.job(job)
    job.check()
    job.check_sharded()
    job.checkpoints = Checkpoints.of(job.trainer, job.options)  # a bad --resume: refused now
    outputs = job.outputs() + [("--save-vocab", job.save_vocab)]
    side = [("--json-summary", summary.path)] if summary.path not in (None, "-") else []
    check_outputs(outputs + side,
                  [("the input", job.paths), ("--vocab", job.vocab_path),
                   ("--phrases", job.options.phrases)] + job.inputs())
    summary.checked = True
    # side outputs (--save-vocab, --save-cooccur) appear only beside the model, all or none
    with outputs_together(), job.workspace():
        since = time.monotonic()
        vocab, corpus = job.prepare(progress)
        if job.checkpoints is not None and corpus is not None:
            job.checkpoints.bind(vocab.words, vocab.counts, corpus.ids, corpus.sentence_ends)
        summary.prepared(vocab, corpus)
        since = summary.stage("prepare", since)
        weights = job.train(vocab, corpus, progress)
        summary.trained(job.report)
        since = summary.stage("train", since)
        check_finite(weights, job.options.epochs, job.rate_option)
        job.write(vocab)
        if job.save_vocab is not None:
            vocab.save(job.save_vocab)
    summary.stage("write", since)
    summary.wrote([path for _, path in outputs])
    if job.checkpoints is not None:
        job.checkpoints.remove()  # the outputs are the result now
    line = job.summary(vocab)
    if line:
        log.info(line)
    return vocab
