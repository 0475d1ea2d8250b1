"""The machine-readable record of one training run (``--json-summary``).

``run_job`` fills a ``RunSummary`` as the job goes: the resolved options, the inputs, the
corpus and vocabulary sizes, the loss of every epoch, the training rate, the wall time of
each stage, the peak resident memory and the outputs. The caller adds who ran it (the CLI:
the command and version) and how it ended (``finish``), and writes ``as_json()`` where it
likes (the library writes nothing: the CLI writes the file atomically, or the line on
stderr). Field by field (``SCHEMA``, in the README too):
"""
import dataclasses
import json
import math
import resource
import sys
import time

# every field of the record, in the order written, with its meaning (the README lists these)
SCHEMA = {
    "staticvec": "version of staticvec that ran (null in the Python API's record)",
    "command": "train-skipgram, train-cbow, train-glove or train-fasttext (Python: "
               "train_skipgram, ...)",
    "status": '"ok", or "error" (then "error" holds the message)',
    "exit_code": "the process's exit status (0 when ok)",
    "error": "the error line without its 'staticvec: error: ' prefix, or null",
    "options": "every option of the run, resolved (defaults filled, --threads a number)",
    "inputs": "corpus: the CORPUS paths; vocab: --vocab or null; cooccur: --cooccur or null",
    "corpus_tokens": "tokens read from the corpus (all words, before --min-count), or null",
    "trained_tokens": "in-vocabulary tokens of the corpus: what one epoch trains on, or null",
    "vocab_size": "words in the vocabulary (= the vectors file's count), or null",
    "loss": "the mean loss of each epoch, a list of --epochs numbers (null where none was "
            "measured: the whole list when the run failed before training ended)",
    "loss_unit": '"prediction" (word2vec, fastText) or "record" (GloVe): what each loss is '
                 "the mean over",
    "words_per_second": "trained tokens x epochs / training seconds (null for GloVe)",
    "records_per_second": "GloVe: co-occurrence records x epochs / fitting seconds",
    "seconds": "wall seconds per stage: prepare, train, write, total (GloVe: also cooccur, "
               "shuffle, fit inside train)",
    "peak_rss_bytes": "the process's peak resident memory (getrusage ru_maxrss)",
    "outputs": "the files written (empty when the run failed: nothing was written)",
}


def peak_rss_bytes():
    """This process's peak resident set size in bytes (Linux reports kB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class RunSummary:
    """The record of one run; ``path`` is where the caller will write it (``-``: stderr),
    given so that ``run_job`` can refuse it with the other outputs before any work.
    ``checked`` is True once those checks passed: only then may a failed run write it (a
    path refused as an output must not be written)."""

    def __init__(self, path=None, *, command=None, version=None):
        self.path = path
        self.checked = False
        self.record = dict.fromkeys(SCHEMA)
        self.record.update(staticvec=version, command=command, seconds={}, outputs=[])
        self.started = time.monotonic()

    @property
    def seconds(self):
        return self.record["seconds"]

    def stage(self, name, since):
        """Record the wall seconds of stage ``name``, which began at ``since`` (monotonic);
        returns now, the start of the next stage."""
        now = time.monotonic()
        self.seconds[name] = round(now - since, 3)
        return now

    def job(self, job):
        """What is known before any work: the options and inputs."""
        self.record["options"] = dataclasses.asdict(job.options)
        self.record["inputs"] = {"corpus": list(job.paths), "vocab": job.vocab_path,
                                 **{option.lstrip("-"): path for option, path in job.inputs()}}

    def prepared(self, vocab, corpus):
        self.record["vocab_size"] = len(vocab)
        if corpus is not None:
            self.record["corpus_tokens"] = int(corpus.raw_tokens)
            self.record["trained_tokens"] = int(corpus.n_tokens)

    def trained(self, report):
        """The trainer's report: loss per epoch, its unit, words or records, seconds."""
        r = self.record
        r["loss"] = [None if x is None else float(x) for x in report.get("loss", [])]
        r["loss_unit"] = report.get("loss_unit")
        seconds = report.get("seconds")
        if seconds and report.get("words") is not None:
            r["words_per_second"] = round(report["words"] / seconds, 1)
        if seconds and report.get("records") is not None:
            r["records_per_second"] = round(report["records"] / seconds, 1)
        for name, value in report.get("stages", {}).items():
            self.seconds[name] = round(value, 3)

    def wrote(self, paths):
        self.record["outputs"] = [p for p in paths if p is not None]

    def finish(self, exit_code=0, error=None):
        """How the run ended: the status, and the total time and peak memory until now."""
        self.record.update(status="ok" if exit_code == 0 else "error", exit_code=exit_code,
                           error=error, peak_rss_bytes=peak_rss_bytes())
        self.seconds["total"] = round(time.monotonic() - self.started, 3)
        if exit_code:
            self.record["outputs"] = []
        return self.record

    def as_json(self):
        """The record as one line of JSON (NaN and inf, which JSON has not, as null)."""
        return json.dumps(_finite(self.record), separators=(", ", ": "))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
