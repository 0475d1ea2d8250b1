"""Where a training run starts when it does not start from random: a saved model
(``--continue FILE``) or pretrained vectors (``--init-vectors FILE``).

``--continue FILE`` (a ``--save-model`` file, ``io/model_file.py``):
- the model's stored options are the run's defaults; those that fix the architecture (the
  dimension, skip-gram or CBOW, --negative, --hs, --ns-exponent, --cbow-mean) cannot be
  changed: an explicit conflicting option is a usage error naming it;
- the vocabulary is the model's words, in their order, with the new corpus's counts added
  to theirs, then the new corpus's words that reach --min-count (in the new corpus alone),
  most frequent first; the noise distribution, the subsampling and the Huffman tree come
  from these merged counts;
- every matrix is allocated and initialised as for a new model of the merged vocabulary
  (same seed, same draws), then the model's rows are copied over the first rows, so old
  words keep their input and output weights and new words start as they would in a new
  model. Hierarchical softmax's inner-node weights are kept only when the merged counts
  give the same Huffman tree (otherwise they would belong to other nodes: they restart
  from zero, with a warning);
- the learning rate restarts from --alpha and falls over the new corpus (x --epochs), as
  a second ``train()`` call in gensim does;
- once trained, the outputs (vectors, model file, --save-vocab) list the words by merged
  count again, ties in their training order (``in_frequency_order``), as a new model's
  would: ``--limit N`` and ``evaluate`` (first 30,000 words) keep meaning the most frequent.

``train-fasttext --continue FILE.bin`` (ours or Facebook's, skipgram/cbow with loss ns)
works the same way: the .bin's arguments are the defaults (dim, model, minn, maxn and
bucket fixed; ws, epoch, minCount, neg and t overridable; a .bin keeps no learning rate),
the words' input and output rows and the n-gram bucket rows are kept, new words are added.

``--init-vectors FILE`` (any vectors file ``load_vectors`` reads): words of the vocabulary
that the file holds start from its vectors; the others, and every output weight (a vectors
file holds none), start as in a new model. For train-fasttext (fastText's
``-pretrainedVectors``) the file fills the words' own input rows; the n-gram rows start at
random, so a word's composed vector (the mean of its row and its n-grams) is not the
pretrained one.
"""
import logging

import numpy as np

from staticvec.errors import BadOptionError, FormatError
from staticvec.text.vocab import Vocab

log = logging.getLogger(__name__)

# word2vec option fields that fix a model's architecture
ARCHITECTURE = ("dim", "sg", "negative", "hs", "ns_exponent", "cbow_mean")
# stored in a model file; the defaults of a run that continues it
STORED = ARCHITECTURE + ("window", "sample", "alpha", "min_alpha", "epochs",
                                "min_count", "init_scale")


def stored_options(options):
    """The options a model file keeps (a JSON-able dict)."""
    return {name: getattr(options, name) for name in STORED}


_FLAGS = {"dim": "--dim", "negative": "--negative", "hs": "--hs", "ns_exponent": "--ns-exponent",
          "cbow_mean": "--cbow-mean", "model": "--model", "minn": "--minn", "maxn": "--maxn",
          "bucket": "--bucket"}


def _spelled(field, value):
    if field == "cbow_mean":
        return "--cbow-mean" if value else "--cbow-sum"
    if isinstance(value, bool):
        return _FLAGS[field] if value else f"--no-{_FLAGS[field][2:]}"
    return f"{_FLAGS[field]} {value}"


def _explicit_fields(options, explicit):
    """The fields the user set: ``explicit``, or (None) those that differ from the defaults."""
    import dataclasses

    if explicit is not None:
        return set(explicit)
    defaults = type(options)()
    return {f.name for f in dataclasses.fields(options)
            if getattr(options, f.name) != getattr(defaults, f.name)}


def with_stored(path, stored, options, explicit, architecture, damaged):
    """``options`` with ``stored`` filled in where the user set nothing; an explicit option
    of ``architecture`` that differs from the stored value is a ``BadOptionError`` naming
    it. The stored options must be valid on their own (else ``damaged(reason)`` is raised)."""
    import dataclasses

    merged = dataclasses.replace(options)
    for name, value in stored.items():
        if name in architecture and name in explicit and getattr(options, name) != value:
            raise BadOptionError(
                f"{_spelled(name, getattr(options, name))} conflicts with --continue {path}, "
                f"a model trained with {_spelled(name, value)}: a continued model keeps its "
                f"architecture (leave the option out)")
        if name not in explicit:
            setattr(merged, name, value)
    try:
        dataclasses.replace(type(options)(), **stored).resolved()
    except (BadOptionError, TypeError) as exc:
        raise damaged(f"options: {exc}") from None
    return merged


def continued_options(path, kind, stored, options, explicit):
    """The options of a word2vec run that continues the model file ``path`` (see the module
    docstring; ``explicit``: the option fields the user set, None: those that differ from
    the defaults)."""
    if kind != "word2vec":
        raise BadOptionError(f"--continue {path}: a {kind} model, not a word2vec model")
    defaults = type(options)()
    explicit = _explicit_fields(options, explicit)

    def damaged(what):
        return FormatError(f"{path}: damaged staticvec model file ({what})")

    for name in STORED:
        kind_of = float if name in ("alpha", "min_alpha") else type(getattr(defaults, name))
        value = stored.get(name)
        ok = (isinstance(value, bool) if kind_of is bool else
              isinstance(value, int) and not isinstance(value, bool) if kind_of is int else
              isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            raise damaged(f"option {name}: {value!r}")
    if bool(stored["sg"]) != bool(options.sg):
        model, command = ("skip-gram", "train-skipgram") if stored["sg"] else ("CBOW", "train-cbow")
        raise BadOptionError(f"--continue {path}: a {model} model; continue it with {command}")
    architecture = set(ARCHITECTURE) - ({"cbow_mean"} if options.sg else set())
    merged = with_stored(path, {k: stored[k] for k in STORED}, options, explicit, architecture,
                         damaged)
    if "alpha" in explicit and "min_alpha" not in explicit:
        merged.min_alpha = options.min_alpha  # the floor follows the new --alpha
    return merged


# fastText: options that fix the model's matrices, and what a .bin stores of the others
FASTTEXT_ARCHITECTURE = ("dim", "model", "minn", "maxn", "bucket")


def fasttext_continued_options(path, record, options, explicit):
    """The options of a train-fasttext run that continues the ``.bin`` ``path`` (ours or
    Facebook's; ``record``: ``fasttext_bin.read_model``'s). The .bin keeps no learning
    rate: --alpha is the command line's."""
    from staticvec.io.fasttext_bin import LOSS_NAMES, MODEL_NAMES

    args = record["args"]
    model = MODEL_NAMES.get(args["model"], str(args["model"]))
    if record["nlabels"] or model not in ("skipgram", "cbow"):
        raise BadOptionError(f"--continue {path}: a {model} fastText model (with labels): only "
                             f"word-vector models (skipgram, cbow) can be continued")
    if args["loss"] != 2:
        raise BadOptionError(f"--continue {path}: a fastText model trained with loss "
                             f"{LOSS_NAMES.get(args['loss'], args['loss'])}: train-fasttext "
                             f"continues negative-sampling (loss ns) models only")
    stored = {"dim": args["dim"], "model": model, "minn": args["minn"], "maxn": args["maxn"],
              "bucket": args["bucket"], "window": args["ws"], "epochs": args["epoch"],
              "min_count": args["min_count"], "negative": args["neg"], "sample": args["t"]}
    if stored["maxn"] == 0:
        stored["minn"] = options.minn    # no subwords: the n-gram options mean nothing
        stored.pop("bucket")

    def damaged(what):
        return FormatError(f"{path}: damaged fastText model ({what})")

    return with_stored(path, stored, options, _explicit_fields(options, explicit),
                       FASTTEXT_ARCHITECTURE, damaged)


def merged_vocab(path, words, counts, new, min_count):
    """The model's ``words`` (their ``counts`` plus the new corpus's) then the words of the
    new corpus's vocabulary ``new`` (counted with min-count 1) seen ``min_count`` times."""
    index = {w: i for i, w in enumerate(words)}
    merged = np.array(counts, dtype=np.int64)
    added_words, added_counts, seen_again = [], [], 0
    for word, count in zip(new.words, new.counts.tolist()):
        i = index.get(word)
        if i is not None:
            merged[i] += count
            seen_again += 1
        elif count >= min_count:
            added_words.append(word)
            added_counts.append(count)
    order = sorted(range(len(added_words)), key=lambda k: (-added_counts[k], added_words[k]))
    log.info(f"--continue: {len(words):,} words from {path} ({seen_again:,} of them in the new "
             f"corpus), {len(order):,} new words seen at least {min_count} times")
    return Vocab(list(words) + [added_words[k] for k in order],
                 np.concatenate([merged, np.asarray([added_counts[k] for k in order],
                                                    dtype=np.int64)]),
                 total_tokens=new.total_tokens, total_lines=new.total_lines,
                 distinct=new.distinct, min_count=min_count)


def refuse_both(continue_from, init_vectors):
    if continue_from is not None and init_vectors is not None:
        raise BadOptionError("--continue and --init-vectors cannot be combined (a "
                             "continued model starts from its own vectors)")


def prepare_continued(job, words, counts, progress):
    """``text.prepare`` for a job that continues a model of ``words`` with ``counts``: every
    word of the new corpus counted (min-count 1, so a rare word of the model still gets its
    count), then the merged vocabulary (``merged_vocab``) encodes the corpus."""
    from staticvec.text.prepare import prepare

    def merge(new):
        return merged_vocab(job.continue_from, words, counts, new, job.options.min_count)

    reading = dict(job.options.reading(), min_count=1, max_size=None)
    return prepare(job.paths, vocab_path=job.vocab_path, progress=progress, adjust=merge,
                   **reading)


def in_frequency_order(vocab, rows):
    """Put a continued model's outputs back in frequency order (most frequent first, ties in
    their training order): ``vocab`` is reordered in place, and every array of ``rows`` (a
    list of word-row matrices) is returned reordered. Nothing moves when already in order.

    Training keeps the model's words first (their ids are its rows); the files written
    after it list words by merged count, as a new model's would, so ``--limit N`` and
    ``evaluate``'s restriction to the first words keep meaning "the N most frequent"."""
    order = np.argsort(-np.asarray(vocab.counts), kind="stable")
    if np.array_equal(order, np.arange(len(order))):
        return rows
    vocab.__init__([vocab.words[i] for i in order], vocab.counts[order],
                   total_tokens=vocab.total_tokens, total_lines=vocab.total_lines,
                   distinct=vocab.distinct, pruned_below=vocab.pruned_below,
                   long_words=vocab.long_words, min_count=vocab.min_count)
    return [np.ascontiguousarray(matrix[order]) for matrix in rows]


class ModelStart:
    """Copies a saved model's rows over the first rows of freshly initialised matrices
    (``tree_of``: the Huffman tree of a vector of counts, to tell whether the merged counts
    keep the model's tree)."""

    def __init__(self, path, model, tree_of):
        self.path = path
        self.model = model
        self.tree_of = tree_of

    def __call__(self, syn0, syn1neg, syn1, counts, tree):
        m = self.model["matrices"]
        n, dim = m["input"].shape
        syn0[:n, :dim] = m["input"]
        if "output_negative" in m:
            syn1neg[:n, :dim] = m["output_negative"]
        if "output_hs" in m and n > 1:
            old = self.tree_of(self.model["counts"])
            if len(counts) == n and all(np.array_equal(a, b) for a, b in zip(old, tree)):
                syn1[:n - 1, :dim] = m["output_hs"]
            else:
                log.warning(f"--continue {self.path}: the merged counts give another Huffman "
                            f"tree, so the hierarchical-softmax weights restart from zero (the "
                            f"word vectors and the negative-sampling weights are kept)")


def load_init_vectors(path, dim):
    """The vectors of ``--init-vectors``, their dimension checked against ``dim``."""
    from staticvec.io.dispatch import load_vectors

    vectors = load_vectors(path)
    if vectors.dim != dim:
        raise BadOptionError(f"--init-vectors: {path} has {vectors.dim}-dimensional vectors "
                             f"but --dim is {dim}")
    return vectors


def matched_rows(path, vectors, words):
    """(rows of the vocabulary, rows of ``vectors``) of the words both hold; logged."""
    index = {w: i for i, w in enumerate(vectors.words)}
    pairs = [(i, index[w]) for i, w in enumerate(words) if w in index]
    log.info(f"--init-vectors: {len(pairs):,} of the {len(words):,} vocabulary words start "
             f"from {path} ({len(vectors.words):,} vectors; the others start at random)")
    rows = np.asarray([p[0] for p in pairs], dtype=np.int64)
    source = np.asarray([p[1] for p in pairs], dtype=np.int64)
    return rows, source


class VectorsStart:
    """Puts pretrained vectors into the input rows of the words they cover."""

    def __init__(self, path, vectors, words):
        self.rows, self.source = matched_rows(path, vectors, words)
        self.vectors = vectors

    def __call__(self, syn0, *_):
        """Fill the input matrix ``syn0`` (a word2vec kernel's call: the rest is unused)."""
        dim = self.vectors.dim
        syn0[self.rows, :dim] = np.asarray(self.vectors.matrix, dtype=np.float32)[self.source]


class FastTextStart:
    """Copies a fastText model's rows into freshly initialised matrices of the merged
    vocabulary: its words' input and output rows first, its n-gram bucket rows after the
    merged vocabulary's words (where the buckets start now)."""

    def __init__(self, record, n_buckets):
        self.record = record
        self.n_buckets = n_buckets

    def __call__(self, wi, wo):
        n = len(self.record["words"])
        source = self.record["input"]
        wi[:n] = source[:n]
        wo[:n] = self.record["output"][:n]
        if self.n_buckets:
            words = wi.shape[0] - self.n_buckets
            wi[words:] = source[n:n + self.n_buckets]
