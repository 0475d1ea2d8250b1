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
  a second ``train()`` call in gensim does.

``--init-vectors FILE`` (any vectors file ``load_vectors`` reads): words of the vocabulary
that the file holds start from its vectors; the others, and every output weight (a vectors
file holds none), start as in a new model.
"""
import logging

import numpy as np

from staticvec.errors import BadOptionError, FormatError
from staticvec.text.vocab import Vocab

log = logging.getLogger(__name__)

# option field -> how the CLI spells it; these fix a model's architecture
ARCHITECTURE = {"dim": "--dim", "sg": None, "negative": "--negative", "hs": "--hs",
                "ns_exponent": "--ns-exponent", "cbow_mean": "--cbow-mean"}
# stored in a model file; the defaults of a run that continues it
STORED = tuple(ARCHITECTURE) + ("window", "sample", "alpha", "min_alpha", "epochs",
                                "min_count", "init_scale")


def stored_options(options):
    """The options a model file keeps (a JSON-able dict)."""
    return {name: getattr(options, name) for name in STORED}


def _spelled(field, value):
    flag = ARCHITECTURE[field]
    if isinstance(value, bool):
        return flag if value else f"--no-{flag[2:]}" if field == "hs" else "--cbow-sum"
    return f"{flag} {value}"


def continued_options(path, kind, stored, options, explicit):
    """``options`` with the model's stored options filled in where the user gave none.

    ``explicit``: the option fields the user set (None: those that differ from the
    defaults). A conflicting architecture option is a ``BadOptionError`` naming it."""
    import dataclasses

    if kind != "word2vec":
        raise FormatError(f"{path}: a {kind} model, not a word2vec model")
    defaults = type(options)()
    if explicit is None:
        explicit = {f.name for f in dataclasses.fields(options)
                    if getattr(options, f.name) != getattr(defaults, f.name)}
    for name in STORED:
        kind_of = type(getattr(defaults, name, None) if name != "alpha" and name != "min_alpha"
                       else 0.0)
        value = stored.get(name)
        ok = (isinstance(value, bool) if kind_of is bool else
              isinstance(value, int) and not isinstance(value, bool) if kind_of is int else
              isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            raise FormatError(f"{path}: damaged staticvec model file (option {name}: "
                              f"{value!r})")
    if bool(stored["sg"]) != bool(options.sg):
        model, command = ("skip-gram", "train-skipgram") if stored["sg"] else ("CBOW", "train-cbow")
        raise BadOptionError(f"--continue {path}: a {model} model; continue it with {command}")
    merged = dataclasses.replace(options)
    for name in STORED:
        value = stored[name]
        if name in ARCHITECTURE and name in explicit and getattr(options, name) != value:
            if name == "cbow_mean" and options.sg:
                continue  # skip-gram ignores it
            raise BadOptionError(
                f"{_spelled(name, getattr(options, name))} conflicts with --continue {path}, "
                f"a model trained with {_spelled(name, value)}: a continued model keeps its "
                f"architecture (leave the option out)")
        if name not in explicit:
            setattr(merged, name, value)
    if "alpha" in explicit and "min_alpha" not in explicit:
        merged.min_alpha = options.min_alpha  # the floor follows the new --alpha
    try:
        stored_alone = dataclasses.replace(defaults, **{k: stored[k] for k in STORED})
        stored_alone.resolved()
    except (BadOptionError, TypeError) as exc:
        raise FormatError(f"{path}: damaged staticvec model file (options: {exc})") from None
    return merged


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

    def __call__(self, syn0, syn1neg, syn1, counts, tree):
        dim = self.vectors.dim
        syn0[self.rows, :dim] = np.asarray(self.vectors.matrix, dtype=np.float32)[self.source]
