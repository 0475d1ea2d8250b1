"""The training commands: train-skipgram, train-cbow, train-glove, train-fasttext."""
import contextlib
import logging
import sys
from typing import List, Optional

import typer

from staticvec.cli.app import (DaskOption, EncodingErrorsOption, MaxSentenceOption,
                               MaxVocabWordsOption, PhrasesOption, QuietOption, app)
from staticvec.cli.display import reporting

JsonSummaryOption = typer.Option(
    None, "--json-summary", metavar="FILE",
    help="Also write a JSON record of the run to FILE (- : one line on stderr): options, "
         "corpus tokens, vocabulary size, loss per epoch, words/s, seconds per stage, peak "
         "memory, outputs. A run that fails after its outputs were checked writes one too, "
         "with \"status\": \"error\".")


@contextlib.contextmanager
def json_summary(path, command):
    """The ``RunSummary`` a training command fills (None without --json-summary), written
    when the command ends: atomically to ``path``, or as one line on stderr for ``-``. A
    failure writes it with the error only once the path has passed the output checks (a
    path refused as an output is never written); a failure to write it then is logged, and
    the run's own error is the one reported."""
    if path is None:
        yield None
        return
    from staticvec import __version__
    from staticvec.cli.main import failure
    from staticvec.train.summary import RunSummary

    summary = RunSummary(path, command=command, version=__version__)
    try:
        yield summary
    except BaseException as exc:
        if summary.checked:
            summary.finish(*failure(exc))
            try:
                _write_summary(summary)
            except Exception as err:  # noqa: BLE001 - the run's own error comes first
                logging.getLogger("staticvec").warning(f"--json-summary: {failure(err)[1]}")
        raise
    summary.finish(0)
    _write_summary(summary)


def _write_summary(summary):
    from staticvec.atomic import atomic_output

    if summary.path == "-":
        print(summary.as_json(), file=sys.stderr, flush=True)
        return
    with atomic_output(summary.path, "w") as out:
        out.write(summary.as_json() + "\n")


# ---------------------------------------------------------------- checkpoints (every trainer)
CheckpointOption = typer.Option(
    None, "--checkpoint", metavar="DIR",
    help="Save the whole training state in DIR at every epoch end, every --checkpoint-every "
         "minutes and on SIGTERM/Ctrl-C (atomically; removed once the output is written).")
CheckpointEveryOption = typer.Option(
    None, "--checkpoint-every", metavar="MINUTES",
    help="Minutes between two checkpoints within an epoch (fractions allowed) [default: 10].")
ResumeOption = typer.Option(
    None, "--resume", metavar="DIR",
    help="Continue from the latest checkpoint in DIR (same options and corpus; --threads 1 "
         "gives the bytes of an uninterrupted run); goes on checkpointing there.")


def _checkpoint_options(checkpoint, checkpoint_every, resume):
    return dict(checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)


# ---------------------------------------------------------------- scale-out (every trainer)
EncodedDirOption = typer.Option(
    None, "--encoded-dir", metavar="DIR|URL",
    help="With --dask: the workers write the encoded corpus here as shards (resumable: a "
         "rerun reuses the shards already written); train from it, or later with --encoded.")
EncodedOption = typer.Option(
    None, "--encoded", metavar="DIR|URL",
    help="Train from a shard set written by --encoded-dir (its vocabulary and encoding; no "
         "CORPUS, and none of the options that change the encoding).")

# the options that decide the vocabulary or the encoding: a shard set has its own
_ENCODING_OPTIONS = {"vocab_path": "--vocab", "min_count": "--min-count",
                     "max_size": "--max-size", "max_vocab_words": "--max-vocab-words",
                     "max_sentence_length": "--max-sentence-length",
                     "encoding_errors": "--encoding-errors", "phrases": "--phrases"}


def _sharded(ctx, corpus, dask, encoded_dir, encoded, continue_from=None):
    """The scale-out options (dict for the trainer's options), once the command line is
    consistent: --encoded with no CORPUS and no option that changes the encoding."""
    from staticvec.errors import BadOptionError

    if continue_from is not None and (encoded is not None or dask is not None):
        raise BadOptionError("--continue cannot be used with --encoded or --dask: a "
                             "continued model changes the vocabulary, and so the encoding")
    if encoded is not None:
        if corpus:
            raise BadOptionError(f"--encoded {encoded} is the corpus: name no corpus files "
                                 f"with it (got {corpus[0]})")
        given = _explicit(ctx) & set(_ENCODING_OPTIONS)
        if given:
            option = _ENCODING_OPTIONS[min(given)]
            raise BadOptionError(f"{option} cannot be used with --encoded: the shard set's "
                                 f"vocabulary and encoding are fixed (set them when writing it "
                                 f"with --encoded-dir)")
    elif not corpus:
        raise BadOptionError("missing CORPUS (or --encoded DIR)")
    return dict(dask=dask, encoded_dir=encoded_dir, encoded=encoded)


# ---------------------------------------------------------------- training: word2vec
# (train-skipgram, train-cbow)
def _w2v_options():
    """Options shared by train-skipgram and train-cbow (word2vec C's defaults)."""
    return dict(
        corpus=typer.Argument(None, help="Text files (.gz/.bz2/.xz ok) or - for stdin; one "
                                         "sentence per line (globs and URLs with --dask; "
                                         "none with --encoded)."),
        output=typer.Option(..., "--output", "-o", metavar="FILE",
                            help="Vectors file: .bin word2vec binary, .txt/.vec text."),
        dim=typer.Option(100, "--dim", min=1, help="Vector dimensions."),
        window=typer.Option(5, "--window", min=1, help="Maximum context distance; the window "
                                                       "is drawn in [1, N] per centre word "
                                                       "(never past the sentence)."),
        negative=typer.Option(5, "--negative", min=0,
                              help="Negative samples per prediction (0: none; needs --hs)."),
        hs=typer.Option(False, "--hs/--no-hs", help="Hierarchical softmax over a Huffman tree."),
        sample=typer.Option(1e-3, "--sample", metavar="T", min=0.0,
                            help="Subsampling threshold for frequent words (0: off)."),
        min_count=typer.Option(5, "--min-count", min=1, help="Ignore words seen fewer times."),
        epochs=typer.Option(5, "--epochs", min=1, help="Passes over the corpus."),
        min_alpha=typer.Option(None, "--min-alpha", metavar="RATE", min=0.0,
                               help="Floor of the learning rate [default: alpha x 1e-4]."),
        threads=typer.Option(None, "--threads", min=1, help="Worker threads [default: cores; at "
                                                            "most 16 per core]."),
        seed=typer.Option(1, "--seed", min=0, help="Random seed; with --threads 1 the output "
                                                   "is byte-identical on every run."),
        ns_exponent=typer.Option(0.75, "--ns-exponent", metavar="POWER",
                                 help="Noise distribution: count^x for negative sampling."),
        init_scale=typer.Option(1.0, "--init-scale", metavar="S", min=0.0,
                                help="Input vectors start uniform in [-S/dim, S/dim] (gensim's "
                                     "range; 0.5 is word2vec C's, which scores lower on small "
                                     "corpora)."),
        lr_schedule=typer.Option("sawtooth", "--lr-schedule", metavar="sawtooth|word2vec",
                                 help="Learning-rate curve over the words of all threads: "
                                      "sawtooth (each epoch falls by half its share, then "
                                      "restarts lower; gensim's curve at 2 workers) or word2vec "
                                      "(C's straight line to --min-alpha)."),
        order=typer.Option("shuffled", "--order", metavar="shuffled|sequential",
                           help="Training order: shuffled (blocks of --shuffle-block tokens "
                                "in one random order from --seed, the same at any --threads) "
                                "or sequential (each thread's share of the corpus front to "
                                "back, as word2vec C and gensim read it; see --lanes)."),
        shuffle_block=typer.Option(None, "--shuffle-block", metavar="TOKENS",
                                   help="With --order shuffled: tokens per block (whole "
                                        "sentences) [default: 10,000 skip-gram, 500 CBOW]."),
        lanes=typer.Option(1, "--lanes", metavar="N", min=1,
                           help="With --order sequential: the corpus is cut into N lanes and each "
                                "thread moves on to its next lane every ~10,000 words, so with N "
                                "a multiple of --threads the order hardly depends on them (1: "
                                "each thread's share in corpus order)."),
        vocab_path=typer.Option(None, "--vocab", metavar="FILE", help="Read the vocabulary from this file "
                                                      "(the `vocab` command's format)."),
        save_vocab=typer.Option(None, "--save-vocab", metavar="FILE", help="Also write the vocabulary here."),
        save_model=typer.Option(None, "--save-model", metavar="FILE",
                                help="Also write the whole model here (vocabulary with counts, "
                                     "input and output weights, options), for --continue."),
        continue_from=typer.Option(None, "--continue", metavar="FILE",
                                   help="Train further a --save-model FILE on CORPUS: its words "
                                        "and weights are kept, new words reaching --min-count "
                                        "are added; its options are the defaults."),
        init_vectors=typer.Option(None, "--init-vectors", metavar="FILE",
                                  help="Start the words it holds from these pretrained vectors "
                                       "(any vectors file; same --dim)."),
        max_vocab_words=MaxVocabWordsOption,
        no_cache=typer.Option(False, "--no-cache", help="Do not cache the encoded corpus "
                                                        "(default cache: $XDG_CACHE_HOME/staticvec)."),
        encoding_errors=EncodingErrorsOption,
        max_sentence_length=MaxSentenceOption,
        checkpoint=CheckpointOption,
        checkpoint_every=CheckpointEveryOption,
        resume=ResumeOption,
        phrases=PhrasesOption,
        dask=DaskOption,
        encoded_dir=EncodedDirOption,
        encoded=EncodedOption,
        quiet=QuietOption,
        json_summary=JsonSummaryOption,
    )


_W2V = _w2v_options()


def _run_w2v(sg, corpus, output, dim, window, negative, hs, sample, min_count, epochs, alpha,
             min_alpha, threads, seed, ns_exponent, vocab_path, save_vocab, max_vocab_words,
             no_cache, encoding_errors, max_sentence_length, quiet, cbow_mean=True,
             init_scale=1.0, save_model=None, continue_from=None, init_vectors=None,
             explicit=None, checkpoints=None, summary_path=None, phrases=None,
             lr_schedule="sawtooth", order="shuffled", shuffle_block=None, lanes=1,
             sharded=None):
    from staticvec.train import word2vec as w2v

    options = w2v.Word2VecOptions(sg=sg, dim=dim, window=window, negative=negative, hs=hs,
                                  sample=sample, epochs=epochs, alpha=alpha, min_alpha=min_alpha,
                                  threads=threads, seed=seed, ns_exponent=ns_exponent,
                                  cbow_mean=cbow_mean, init_scale=init_scale,
                                  lr_schedule=lr_schedule, order=order,
                                  shuffle_block=shuffle_block, lanes=lanes,
                                  min_count=min_count, max_vocab_words=max_vocab_words,
                                  encoding_errors=encoding_errors,
                                  max_sentence_length=max_sentence_length, cache=not no_cache,
                                  phrases=phrases, **(checkpoints or {}), **(sharded or {}))
    command = "train-skipgram" if sg else "train-cbow"
    with json_summary(summary_path, command) as summary, reporting(quiet) as progress:
        w2v.train_word2vec(corpus, output, options, vocab_path=vocab_path,
                           save_vocab=save_vocab, progress=progress, save_model=save_model,
                           continue_from=continue_from, init_vectors=init_vectors,
                           explicit=explicit, summary=summary)


def _explicit(ctx):
    """The parameters given on the command line (or the environment), not left to default:
    a --continue run takes the others from the model."""
    defaulted = {None, "DEFAULT", "DEFAULT_MAP"}
    return {name for name in ctx.params
            if getattr(ctx.get_parameter_source(name), "name", None) not in defaulted}


_W2V_DOCS = {
    True: """Train word2vec skip-gram vectors (each word predicts its context).

    Best for rare words and semantic analogies; slower than CBOW per epoch.

    \b
    Example:
      staticvec train-skipgram corpus.txt.xz -o vectors.bin --dim 100 --epochs 5
    """,
    False: """Train word2vec CBOW vectors (the context predicts the word).

    Several times faster than skip-gram; good for frequent words and syntax.

    \b
    Example:
      staticvec train-cbow corpus.txt.xz -o vectors.txt --threads 2 --save-vocab vocab.txt
    """,
}


def _word2vec_command(sg):
    """train-skipgram and train-cbow share every option but the default --alpha (and
    --cbow-mean/--cbow-sum, which only CBOW shows)."""

    def command(
        ctx: typer.Context,
        corpus: Optional[List[str]] = _W2V["corpus"],
        output: str = _W2V["output"],
        dim: int = _W2V["dim"],
        window: int = _W2V["window"],
        negative: int = _W2V["negative"],
        hs: bool = _W2V["hs"],
        sample: float = _W2V["sample"],
        min_count: int = _W2V["min_count"],
        epochs: int = _W2V["epochs"],
        alpha: float = typer.Option(0.025 if sg else 0.05, "--alpha", metavar="RATE",
                                    help="Starting learning rate (too large a rate diverges: "
                                         "exit 1, no output)."),
        min_alpha: Optional[float] = _W2V["min_alpha"],
        threads: Optional[int] = _W2V["threads"],
        seed: int = _W2V["seed"],
        ns_exponent: float = _W2V["ns_exponent"],
        init_scale: float = _W2V["init_scale"],
        lr_schedule: str = _W2V["lr_schedule"],
        order: str = _W2V["order"],
        shuffle_block: Optional[int] = _W2V["shuffle_block"],
        lanes: int = _W2V["lanes"],
        cbow_mean: bool = typer.Option(True, "--cbow-mean/--cbow-sum", hidden=sg,
                                       help="Average the context vectors (word2vec C) or sum them."),
        vocab_path: Optional[str] = _W2V["vocab_path"],
        save_vocab: Optional[str] = _W2V["save_vocab"],
        save_model: Optional[str] = _W2V["save_model"],
        continue_from: Optional[str] = _W2V["continue_from"],
        init_vectors: Optional[str] = _W2V["init_vectors"],
        max_vocab_words: int = _W2V["max_vocab_words"],
        no_cache: bool = _W2V["no_cache"],
        encoding_errors: str = _W2V["encoding_errors"],
        max_sentence_length: int = _W2V["max_sentence_length"],
        checkpoint: Optional[str] = _W2V["checkpoint"],
        checkpoint_every: Optional[float] = _W2V["checkpoint_every"],
        resume: Optional[str] = _W2V["resume"],
        phrases: Optional[str] = _W2V["phrases"],
        dask: Optional[str] = _W2V["dask"],
        encoded_dir: Optional[str] = _W2V["encoded_dir"],
        encoded: Optional[str] = _W2V["encoded"],
        quiet: bool = _W2V["quiet"],
        json_summary_path: Optional[str] = _W2V["json_summary"],
    ):
        sharded = _sharded(ctx, corpus, dask, encoded_dir, encoded, continue_from)
        _run_w2v(sg, corpus or [], output, dim, window, negative, hs, sample, min_count, epochs, alpha,
                 min_alpha, threads, seed, ns_exponent, vocab_path, save_vocab, max_vocab_words,
                 no_cache, encoding_errors, max_sentence_length, quiet, cbow_mean=cbow_mean,
                 init_scale=init_scale, save_model=save_model, continue_from=continue_from,
                 init_vectors=init_vectors, explicit=_explicit(ctx),
                 checkpoints=_checkpoint_options(checkpoint, checkpoint_every, resume),
                 summary_path=json_summary_path, phrases=phrases,
                 lr_schedule=lr_schedule, order=order, shuffle_block=shuffle_block,
                 lanes=lanes, sharded=sharded)

    command.__doc__ = _W2V_DOCS[sg]
    return command


train_skipgram = app.command("train-skipgram")(_word2vec_command(True))
train_cbow = app.command("train-cbow")(_word2vec_command(False))


# ---------------------------------------------------------------- training: glove
# (train-glove)
@app.command("train-glove")
def train_glove(
    ctx: typer.Context,
    corpus: Optional[List[str]] = typer.Argument(
        None, help="Text files (.gz/.bz2/.xz ok) or - for stdin; one sentence per line "
                   "(a line ends the context window). Omit with --cooccur."),
    output: str = typer.Option(..., "--output", "-o", metavar="FILE",
                               help="Vectors file: .bin word2vec binary, .txt/.vec text."),
    dim: int = typer.Option(100, "--dim", min=1, help="Vector dimensions."),
    window: int = typer.Option(10, "--window", min=1,
                               help="Symmetric context distance; a pair at distance d counts "
                                    "1/d (never past the sentence)."),
    x_max: float = typer.Option(100.0, "--x-max", metavar="COUNT", help="Weighting cutoff: f(x) = min(1, (x/x_max)^alpha)."),
    alpha: float = typer.Option(0.75, "--alpha", metavar="POWER", help="Weighting exponent."),
    eta: float = typer.Option(0.05, "--eta", metavar="RATE", help="AdaGrad initial learning rate (too large a "
                                                  "rate diverges: exit 1, no output)."),
    epochs: int = typer.Option(25, "--epochs", min=1, help="Passes over the co-occurrence records."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Ignore words seen fewer times."),
    max_size: Optional[int] = typer.Option(None, "--max-size", min=1,
                                           help="Keep only the N most frequent words."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                          help="Worker threads [default: cores; at most 16 per "
                                               "core]."),
    seed: int = typer.Option(1, "--seed", min=0, help="Random seed; with --threads 1 the output "
                                                      "is byte-identical on every run."),
    memory: float = typer.Option(4.0, "--memory", metavar="GB",
                                 help="GB for counting and shuffling (at most the machine's "
                                      "RAM); beyond it counts spill to sorted runs in --tmp-dir."),
    vectors: str = typer.Option("sum", "--vectors", metavar="sum|word|both",
                                help="sum: word + context vectors (GloVe C -model 2); word: word "
                                     "vectors only; both: the two side by side (2 x dim)."),
    vocab_path: Optional[str] = typer.Option(None, "--vocab", metavar="FILE", help="Read the vocabulary from this "
                                             "file (the `vocab` command's or GloVe C's format)."),
    save_vocab: Optional[str] = typer.Option(None, "--save-vocab", metavar="FILE", help="Also write the vocabulary here."),
    save_cooccur: Optional[str] = typer.Option(None, "--save-cooccur", metavar="FILE",
                                               help="Also write the co-occurrence records here "
                                                    "(GloVe C's cooccurrence.bin layout)."),
    cooccur: Optional[str] = typer.Option(None, "--cooccur", metavar="FILE",
                                          help="Train from records written by --save-cooccur (or "
                                               "GloVe C's cooccur) with their --vocab; no CORPUS."),
    tmp_dir: Optional[str] = typer.Option(None, "--tmp-dir", metavar="DIR",
                                          help="Folder for temporary spill files [default: the "
                                               "folder of OUTPUT]; removed when done."),
    max_vocab_words: int = MaxVocabWordsOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not cache the encoded corpus."),
    encoding_errors: str = EncodingErrorsOption,
    max_sentence_length: int = MaxSentenceOption,
    checkpoint: Optional[str] = CheckpointOption,
    checkpoint_every: Optional[float] = CheckpointEveryOption,
    resume: Optional[str] = ResumeOption,
    phrases: Optional[str] = PhrasesOption,
    dask: Optional[str] = DaskOption,
    encoded_dir: Optional[str] = EncodedDirOption,
    encoded: Optional[str] = EncodedOption,
    quiet: bool = QuietOption,
    json_summary_path: Optional[str] = JsonSummaryOption,
):
    """Train GloVe vectors: count co-occurrences (within --memory), shuffle, fit with AdaGrad.

    Defaults follow GloVe C (x_max 100, alpha 0.75, eta 0.05, 25 epochs); the cost of
    each epoch is printed on stderr.

    \b
    Example:
      staticvec train-glove corpus.txt.xz -o glove.txt --dim 100 --window 10 --memory 2
      staticvec train-glove --cooccur counts.bin --vocab vocab.txt -o glove.bin --epochs 50
    """
    from staticvec.train import glove

    sharded = _sharded(ctx, corpus, dask, encoded_dir, encoded) if cooccur is None else \
        dict(dask=dask, encoded_dir=encoded_dir, encoded=encoded)
    options = glove.GloveOptions(dim=dim, window=window, x_max=x_max, alpha=alpha, eta=eta,
                                 epochs=epochs, threads=threads, seed=seed, memory=memory,
                                 vectors=vectors, min_count=min_count, max_size=max_size,
                                 max_vocab_words=max_vocab_words, encoding_errors=encoding_errors,
                                 max_sentence_length=max_sentence_length, cache=not no_cache,
                                 phrases=phrases, **sharded,
                                 **_checkpoint_options(checkpoint, checkpoint_every, resume))
    with json_summary(json_summary_path, "train-glove") as summary, \
            reporting(quiet) as progress:
        glove.train_glove(corpus or [], output, options, vocab_path=vocab_path,
                          save_vocab=save_vocab, save_cooccur=save_cooccur, cooccur=cooccur,
                          tmp_dir=tmp_dir, progress=progress, summary=summary)


# ---------------------------------------------------------------- training: fasttext
# (train-fasttext)
@app.command("train-fasttext")
def train_fasttext(
    ctx: typer.Context,
    corpus: Optional[List[str]] = typer.Argument(
        None, help="Text files (.gz/.bz2/.xz ok) or - for stdin; one sentence per line "
                   "(globs and URLs with --dask; none with --encoded)."),
    output: str = typer.Option(..., "--output", "-o", metavar="STEM",
                               help="Output stem: writes STEM.bin (full model with n-gram "
                                    "buckets, Facebook fastText format) and STEM.vec (text)."),
    model: str = typer.Option("skipgram", "--model", metavar="skipgram|cbow", help="skipgram or cbow."),
    minn: int = typer.Option(3, "--minn", min=1, help="Shortest character n-gram."),
    maxn: int = typer.Option(6, "--maxn", min=0, help="Longest character n-gram (0: no subwords)."),
    bucket: int = typer.Option(2_000_000, "--bucket", min=0,
                               help="Hash buckets shared by all n-grams."),
    dim: int = typer.Option(100, "--dim", min=1, help="Vector dimensions."),
    window: int = typer.Option(5, "--window", min=1, help="Maximum context distance; drawn in "
                                                          "[1, N] per centre word (never past "
                                                          "the sentence)."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Passes over the corpus."),
    negative: int = typer.Option(5, "--negative", min=1, help="Negative samples per prediction."),
    alpha: float = typer.Option(0.05, "--alpha", metavar="RATE", help="Starting learning rate (falls linearly "
                                                      "to 0; too large a rate diverges)."),
    sample: float = typer.Option(1e-4, "--sample", metavar="T", min=0.0,
                                 help="Subsampling threshold t: keep with sqrt(t/f) + t/f."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Ignore words seen fewer times."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                          help="Worker threads [default: cores; at most 16 per "
                                               "core]."),
    seed: int = typer.Option(1, "--seed", min=0, help="Random seed; with --threads 1 the output "
                                                      "is identical on every run."),
    vocab_path: Optional[str] = typer.Option(None, "--vocab", metavar="FILE", help="Read the vocabulary from "
                                                                   "this file."),
    save_vocab: Optional[str] = typer.Option(None, "--save-vocab", metavar="FILE",
                                             help="Also write the vocabulary here."),
    continue_from: Optional[str] = typer.Option(
        None, "--continue", metavar="FILE",
        help="Train further a fastText .bin (ours or Facebook's) on CORPUS: its words, n-gram "
             "buckets and weights are kept, new words reaching --min-count are added; its "
             "options are the defaults."),
    init_vectors: Optional[str] = typer.Option(
        None, "--init-vectors", metavar="FILE",
        help="Start the words' own input rows from these pretrained vectors (fastText's "
             "-pretrainedVectors; any vectors file, same --dim)."),
    max_vocab_words: int = MaxVocabWordsOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not cache the encoded corpus."),
    encoding_errors: str = EncodingErrorsOption,
    max_sentence_length: int = MaxSentenceOption,
    checkpoint: Optional[str] = CheckpointOption,
    checkpoint_every: Optional[float] = CheckpointEveryOption,
    resume: Optional[str] = ResumeOption,
    phrases: Optional[str] = PhrasesOption,
    dask: Optional[str] = DaskOption,
    encoded_dir: Optional[str] = EncodedDirOption,
    encoded: Optional[str] = EncodedOption,
    quiet: bool = QuietOption,
    json_summary_path: Optional[str] = JsonSummaryOption,
):
    """Train fastText vectors: words plus character n-grams, so unseen words get vectors.

    STEM.bin loads in Facebook's fasttext and gensim's load_facebook_model, and in
    `staticvec nearest/analogy/evaluate`, which then answer for misspelled and unseen words.

    \b
    Example:
      staticvec train-fasttext corpus.txt.xz -o model --epochs 5
      staticvec nearest -m model.bin computr
    """
    from staticvec.train import fasttext as ft

    sharded = _sharded(ctx, corpus, dask, encoded_dir, encoded, continue_from)
    options = ft.FastTextOptions(model=model, minn=minn, maxn=maxn, bucket=bucket, dim=dim,
                                 window=window, epochs=epochs, negative=negative, alpha=alpha,
                                 sample=sample, min_count=min_count, threads=threads, seed=seed,
                                 max_vocab_words=max_vocab_words, encoding_errors=encoding_errors,
                                 max_sentence_length=max_sentence_length, cache=not no_cache,
                                 phrases=phrases, **sharded,
                                 **_checkpoint_options(checkpoint, checkpoint_every, resume))
    with json_summary(json_summary_path, "train-fasttext") as summary, \
            reporting(quiet) as progress:
        ft.train_fasttext(corpus or [], output, options, vocab_path=vocab_path,
                          save_vocab=save_vocab, progress=progress, continue_from=continue_from,
                          init_vectors=init_vectors, explicit=_explicit(ctx), summary=summary)
