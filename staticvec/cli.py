"""The ``staticvec`` command: parse options, call the library, print.

No algorithm lives here. Every error raised by the library is a ``StaticvecError``
carrying its exit code; ``main`` is the one place that turns it into one stderr line.
Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 unknown word, 4 gate failed
(bias-audit), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""
import io
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

try:  # typer >= 0.2x vendors its own click
    from typer._click import exceptions as _click_exceptions
    from typer.exceptions import Abort as _Abort, Exit as _Exit
except ImportError:  # older typer runs on click itself
    from click import exceptions as _click_exceptions
    from click.exceptions import Abort as _Abort, Exit as _Exit

from staticvec import __version__
from staticvec.atomic import check_outputs, describe_write_error
from staticvec.corpus import check_encoding_errors
from staticvec.errors import (EXIT_USAGE, BadOptionError, Interrupted, OutputError, SigTerm,
                              StaticvecError, Terminated)

app = typer.Typer(
    name="staticvec",
    help="Train and query static word embeddings: word2vec, GloVe and fastText.\n\n"
         "Add --debug anywhere to see a full traceback on error.\n\n\b\nExample:\n"
         "  staticvec train-skipgram corpus.txt.xz -o vectors.bin\n"
         "  staticvec analogy king man woman -m vectors.bin",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

QuietOption = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr.")
EncodingErrorsOption = typer.Option(
    "strict", "--encoding-errors",
    help="What to do with input that is not valid UTF-8: strict (fail, naming file and byte "
         "offset), replace (U+FFFD) or ignore (drop the bad bytes).")
MaxSentenceOption = typer.Option(
    10000, "--max-sentence-length", min=1, max=2 ** 31 - 1,
    help="Split longer sentences (lines) into pieces of this many tokens; never drops any.")
MaxVocabWordsOption = typer.Option(
    30_000_000, "--max-vocab-words", min=1, max=2 ** 31 - 1,
    help="Prune the rarest words while counting once this many distinct words are held "
         "(bounds memory; word2vec C's and fastText's 30M).")


def _version_callback(value: bool):
    if value:
        from staticvec import _kernels

        print(f"staticvec {__version__} (kernels: {_kernels.VARIANT_LABEL})")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and the active kernel variant."),
):
    """The root of every subcommand (its help text is the app's)."""


def _check_choice(name, value, choices):
    if value not in choices:
        raise BadOptionError(f"invalid value for {name}: {value!r} (choose from {', '.join(choices)})")


# ---------------------------------------------------------------- vocab
@app.command()
def vocab(
    corpus: List[str] = typer.Argument(..., help="Text files (.gz/.bz2/.xz ok) or - for stdin."),
    output: str = typer.Option(..., "--output", "-o", help="Vocabulary file to write; - for stdout."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Drop words seen fewer times."),
    max_size: Optional[int] = typer.Option(None, "--max-size", min=1,
                                           help="Keep only the N most frequent words."),
    max_vocab_words: int = MaxVocabWordsOption,
    encoding_errors: str = EncodingErrorsOption,
    quiet: bool = QuietOption,
):
    """Count words and write a `word count` vocabulary (word2vec C -read-vocab compatible).

    \b
    Example:
      staticvec vocab corpus.txt.xz -o vocab.txt --min-count 5
    """
    from staticvec import vocab as vocab_mod
    from staticvec.progress import say

    check_encoding_errors(encoding_errors)
    check_outputs([("--output", output)], [("the input", corpus)])
    vocabulary = vocab_mod.build_vocab(corpus, min_count=min_count, max_size=max_size,
                                       max_vocab_words=max_vocab_words,
                                       encoding_errors=encoding_errors, quiet=quiet)
    vocabulary.save(output)
    say(vocabulary.summary(), quiet)


# ---------------------------------------------------------------- training: word2vec
# (train-skipgram, train-cbow)
def _w2v_options():
    """Options shared by train-skipgram and train-cbow (word2vec C's defaults)."""
    return dict(
        corpus=typer.Argument(..., help="Text files (.gz/.bz2/.xz ok) or - for stdin; one "
                                        "sentence per line."),
        output=typer.Option(..., "--output", "-o",
                            help="Vectors file: .bin word2vec binary, .txt/.vec text."),
        dim=typer.Option(100, "--dim", min=1, help="Vector dimensions."),
        window=typer.Option(5, "--window", min=1, help="Maximum context distance; the window "
                                                       "is drawn in [1, N] per centre word "
                                                       "(never past the sentence)."),
        negative=typer.Option(5, "--negative", min=0,
                              help="Negative samples per prediction (0: none; needs --hs)."),
        hs=typer.Option(False, "--hs/--no-hs", help="Hierarchical softmax over a Huffman tree."),
        sample=typer.Option(1e-3, "--sample", min=0.0,
                            help="Subsampling threshold for frequent words (0: off)."),
        min_count=typer.Option(5, "--min-count", min=1, help="Ignore words seen fewer times."),
        epochs=typer.Option(5, "--epochs", min=1, help="Passes over the corpus."),
        min_alpha=typer.Option(None, "--min-alpha", min=0.0,
                               help="Floor of the learning rate [default: alpha x 1e-4]."),
        threads=typer.Option(None, "--threads", min=1, help="Worker threads [default: cores; at "
                                                            "most 16 per core]."),
        seed=typer.Option(1, "--seed", min=0, help="Random seed; with --threads 1 the output "
                                                   "is byte-identical on every run."),
        ns_exponent=typer.Option(0.75, "--ns-exponent",
                                 help="Noise distribution: count^x for negative sampling."),
        init_scale=typer.Option(1.0, "--init-scale", min=0.0,
                                help="Input vectors start uniform in [-S/dim, S/dim] (gensim's "
                                     "range; 0.5 is word2vec C's, which scores lower on small "
                                     "corpora)."),
        vocab_path=typer.Option(None, "--vocab", help="Read the vocabulary from this file "
                                                      "(the `vocab` command's format)."),
        save_vocab=typer.Option(None, "--save-vocab", help="Also write the vocabulary here."),
        max_vocab_words=MaxVocabWordsOption,
        no_cache=typer.Option(False, "--no-cache", help="Do not cache the encoded corpus "
                                                        "(default cache: $XDG_CACHE_HOME/staticvec)."),
        encoding_errors=EncodingErrorsOption,
        max_sentence_length=MaxSentenceOption,
        quiet=QuietOption,
    )


_W2V = _w2v_options()


def _run_w2v(sg, corpus, output, dim, window, negative, hs, sample, min_count, epochs, alpha,
             min_alpha, threads, seed, ns_exponent, vocab_path, save_vocab, max_vocab_words,
             no_cache, encoding_errors, max_sentence_length, quiet, cbow_mean=True,
             init_scale=1.0):
    from staticvec.train import word2vec as w2v

    check_encoding_errors(encoding_errors)
    options = w2v.Word2VecOptions(sg=sg, dim=dim, window=window, negative=negative, hs=hs,
                                  sample=sample, epochs=epochs, alpha=alpha, min_alpha=min_alpha,
                                  threads=threads, seed=seed, ns_exponent=ns_exponent,
                                  cbow_mean=cbow_mean, init_scale=init_scale)
    w2v.train_word2vec(corpus, output, options, vocab_path=vocab_path, save_vocab=save_vocab,
                       min_count=min_count, max_vocab_words=max_vocab_words,
                       encoding_errors=encoding_errors, max_sentence_length=max_sentence_length,
                       cache=not no_cache, quiet=quiet)


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
        corpus: List[str] = _W2V["corpus"],
        output: str = _W2V["output"],
        dim: int = _W2V["dim"],
        window: int = _W2V["window"],
        negative: int = _W2V["negative"],
        hs: bool = _W2V["hs"],
        sample: float = _W2V["sample"],
        min_count: int = _W2V["min_count"],
        epochs: int = _W2V["epochs"],
        alpha: float = typer.Option(0.025 if sg else 0.05, "--alpha",
                                    help="Starting learning rate (too large a rate diverges: "
                                         "exit 1, no output)."),
        min_alpha: Optional[float] = _W2V["min_alpha"],
        threads: Optional[int] = _W2V["threads"],
        seed: int = _W2V["seed"],
        ns_exponent: float = _W2V["ns_exponent"],
        init_scale: float = _W2V["init_scale"],
        cbow_mean: bool = typer.Option(True, "--cbow-mean/--cbow-sum", hidden=sg,
                                       help="Average the context vectors (word2vec C) or sum them."),
        vocab_path: Optional[str] = _W2V["vocab_path"],
        save_vocab: Optional[str] = _W2V["save_vocab"],
        max_vocab_words: int = _W2V["max_vocab_words"],
        no_cache: bool = _W2V["no_cache"],
        encoding_errors: str = _W2V["encoding_errors"],
        max_sentence_length: int = _W2V["max_sentence_length"],
        quiet: bool = _W2V["quiet"],
    ):
        _run_w2v(sg, corpus, output, dim, window, negative, hs, sample, min_count, epochs, alpha,
                 min_alpha, threads, seed, ns_exponent, vocab_path, save_vocab, max_vocab_words,
                 no_cache, encoding_errors, max_sentence_length, quiet, cbow_mean=cbow_mean,
                 init_scale=init_scale)

    command.__doc__ = _W2V_DOCS[sg]
    return command


train_skipgram = app.command("train-skipgram")(_word2vec_command(True))
train_cbow = app.command("train-cbow")(_word2vec_command(False))


# ---------------------------------------------------------------- training: glove
# (train-glove)
@app.command("train-glove")
def train_glove(
    corpus: Optional[List[str]] = typer.Argument(
        None, help="Text files (.gz/.bz2/.xz ok) or - for stdin; one sentence per line "
                   "(a line ends the context window). Omit with --cooccur."),
    output: str = typer.Option(..., "--output", "-o",
                               help="Vectors file: .bin word2vec binary, .txt/.vec text."),
    dim: int = typer.Option(100, "--dim", min=1, help="Vector dimensions."),
    window: int = typer.Option(10, "--window", min=1,
                               help="Symmetric context distance; a pair at distance d counts "
                                    "1/d (never past the sentence)."),
    x_max: float = typer.Option(100.0, "--x-max", help="Weighting cutoff: f(x) = min(1, (x/x_max)^alpha)."),
    alpha: float = typer.Option(0.75, "--alpha", help="Weighting exponent."),
    eta: float = typer.Option(0.05, "--eta", help="AdaGrad initial learning rate (too large a "
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
    memory: float = typer.Option(4.0, "--memory",
                                 help="GB for counting and shuffling (at most the machine's "
                                      "RAM); beyond it counts spill to sorted runs in --tmp-dir."),
    vectors: str = typer.Option("sum", "--vectors",
                                help="sum: word + context vectors (GloVe C -model 2); word: word "
                                     "vectors only; both: the two side by side (2 x dim)."),
    vocab_path: Optional[str] = typer.Option(None, "--vocab", help="Read the vocabulary from this "
                                             "file (the `vocab` command's or GloVe C's format)."),
    save_vocab: Optional[str] = typer.Option(None, "--save-vocab", help="Also write the vocabulary here."),
    save_cooccur: Optional[str] = typer.Option(None, "--save-cooccur",
                                               help="Also write the co-occurrence records here "
                                                    "(GloVe C's cooccurrence.bin layout)."),
    cooccur: Optional[str] = typer.Option(None, "--cooccur",
                                          help="Train from records written by --save-cooccur (or "
                                               "GloVe C's cooccur) with their --vocab; no CORPUS."),
    tmp_dir: Optional[str] = typer.Option(None, "--tmp-dir",
                                          help="Folder for temporary spill files [default: the "
                                               "folder of OUTPUT]; removed when done."),
    max_vocab_words: int = MaxVocabWordsOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not cache the encoded corpus."),
    encoding_errors: str = EncodingErrorsOption,
    max_sentence_length: int = MaxSentenceOption,
    quiet: bool = QuietOption,
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

    check_encoding_errors(encoding_errors)
    _check_choice("--vectors", vectors, glove.VECTORS)
    options = glove.GloveOptions(dim=dim, window=window, x_max=x_max, alpha=alpha, eta=eta,
                                 epochs=epochs, threads=threads, seed=seed, memory=memory,
                                 vectors=vectors)
    glove.train_glove(corpus or [], output, options, vocab_path=vocab_path, save_vocab=save_vocab,
                      min_count=min_count, max_size=max_size, max_vocab_words=max_vocab_words,
                      save_cooccur=save_cooccur, cooccur=cooccur, tmp_dir=tmp_dir,
                      encoding_errors=encoding_errors, max_sentence_length=max_sentence_length,
                      cache=not no_cache, quiet=quiet)


# ---------------------------------------------------------------- training: fasttext
# (train-fasttext)
@app.command("train-fasttext")
def train_fasttext(
    corpus: List[str] = typer.Argument(..., help="Text files (.gz/.bz2/.xz ok) or - for stdin; "
                                                 "one sentence per line."),
    output: str = typer.Option(..., "--output", "-o",
                               help="Output stem: writes STEM.bin (full model with n-gram "
                                    "buckets, Facebook fastText format) and STEM.vec (text)."),
    model: str = typer.Option("skipgram", "--model", help="skipgram or cbow."),
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
    alpha: float = typer.Option(0.05, "--alpha", help="Starting learning rate (falls linearly "
                                                      "to 0; too large a rate diverges)."),
    sample: float = typer.Option(1e-4, "--sample", min=0.0,
                                 help="Subsampling threshold t: keep with sqrt(t/f) + t/f."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Ignore words seen fewer times."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                          help="Worker threads [default: cores; at most 16 per "
                                               "core]."),
    seed: int = typer.Option(1, "--seed", min=0, help="Random seed; with --threads 1 the output "
                                                      "is identical on every run."),
    vocab_path: Optional[str] = typer.Option(None, "--vocab", help="Read the vocabulary from "
                                                                   "this file."),
    save_vocab: Optional[str] = typer.Option(None, "--save-vocab",
                                             help="Also write the vocabulary here."),
    max_vocab_words: int = MaxVocabWordsOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not cache the encoded corpus."),
    encoding_errors: str = EncodingErrorsOption,
    max_sentence_length: int = MaxSentenceOption,
    quiet: bool = QuietOption,
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

    _check_choice("--model", model, ("skipgram", "cbow"))
    check_encoding_errors(encoding_errors)
    options = ft.FastTextOptions(model=model, minn=minn, maxn=maxn, bucket=bucket, dim=dim,
                                 window=window, epochs=epochs, negative=negative, alpha=alpha,
                                 sample=sample, min_count=min_count, threads=threads or 0,
                                 seed=seed)
    ft.train_fasttext(corpus, output, options, vocab_path=vocab_path, save_vocab=save_vocab,
                      max_vocab_words=max_vocab_words, encoding_errors=encoding_errors,
                      max_sentence_length=max_sentence_length, cache=not no_cache, quiet=quiet)


# ---------------------------------------------------------------- queries
# (nearest, analogy)
QueryModelOption = typer.Option(
    None, "--model", "-m", envvar="STATICVEC_MODEL", show_envvar=False,
    help="Vectors: word2vec .bin/.txt, GloVe .txt, fastText .bin/.vec (format sniffed from "
         "the content); default $STATICVEC_MODEL.")
ModelFormatOption = typer.Option(None, "--format",
                                 help="Force the model format: binary, text or fasttext.")
RestrictOption = typer.Option(None, "--restrict", min=1,
                              help="Answer only from the first N words of the model (the most "
                                   "frequent ones, in files sorted by frequency).")
JsonLinesOption = typer.Option(False, "--json",
                               help="JSON Lines: {\"query\", \"results\": [{\"word\", \"score\"}]} "
                                    "or {\"query\", \"error\"} per query.")


def _check_model_options(model, fmt, encoding_errors):
    from staticvec.formats import FORMATS

    if not model:
        raise BadOptionError("no model: give -m MODEL or set STATICVEC_MODEL")
    if fmt is not None:
        _check_choice("--format", fmt, FORMATS)
    check_encoding_errors(encoding_errors)


def _query_model(model, fmt, encoding_errors):
    from staticvec.formats import load_vectors

    _check_model_options(model, fmt, encoding_errors)
    return load_vectors(model, fmt=fmt, encoding_errors=encoding_errors)


def _streamed_answers(model, fmt, encoding_errors, queries, **query):
    """Answers for a few command-line queries on a big binary model, read in one stream
    instead of loaded (much faster for one-off queries); None: load the model instead.
    Files from $STATICVEC_STREAM_MIN_BYTES (default 256 MB) up are streamed."""
    from staticvec.vectors import stream_queries

    threshold = int(os.environ.get("STATICVEC_STREAM_MIN_BYTES", 1 << 28))
    if (fmt not in (None, "binary") or encoding_errors != "strict" or len(queries) > 8
            or not os.path.isfile(model) or os.path.getsize(model) < threshold):
        return None
    answers = stream_queries(model, queries, **query)
    return None if answers is None else iter(answers)


def _replay(answers):
    """An ``answer`` function for _answer_queries that hands out precomputed answers."""
    def answer(_terms):
        result = next(answers)
        if isinstance(result, Exception):
            raise result
        return result
    return answer


def _stdin_queries(what):
    """Queries from stdin, one per line (checked before the model is loaded), as ``(terms,
    problem)``: a blank line is ``([], None)`` (answered by an empty line, so that output
    lines stay aligned with input lines); a line that is not UTF-8 carries its error."""
    if sys.stdin is None or sys.stdin.isatty():
        raise BadOptionError(f"no {what} given: name them on the command line or pipe one query "
                             f"per line on stdin")
    from staticvec.errors import InputError

    def lines():
        for number, raw in enumerate(sys.stdin.buffer, 1):
            try:
                yield raw.decode("utf-8").split(), None
            except UnicodeDecodeError as exc:
                yield (raw.decode("utf-8", "replace").split(),
                       InputError(f"stdin line {number}: invalid UTF-8 at byte {exc.start} "
                                  f"(byte 0x{raw[exc.start]:02x})"))
    return lines()


def _answer_queries(queries, answer, json_out):
    """Print one line per query; failures get one stderr line each. Returns the exit code.

    ``queries``: ``(terms, problem)`` pairs, ``problem`` an exception to report instead of
    answering. Empty ``terms`` (a blank input line) print an empty line (with ``--json``, an
    error object), with no stderr line and no effect on the exit code."""
    import json

    from staticvec.errors import InputError, UnknownWordError

    code = 0
    for terms, problem in queries:
        query = " ".join(terms)
        if not terms and problem is None:
            print(json.dumps({"query": "", "error": "empty line: no query"}) if json_out else "",
                  flush=True)
            continue
        try:
            if problem:
                raise problem
            results = answer(terms)
        except (UnknownWordError, BadOptionError, InputError) as exc:
            _print_error(str(exc))
            code = max(code, exc.exit_code)
            print(json.dumps({"query": query, "error": str(exc)}, ensure_ascii=False) if json_out
                  else query, flush=True)
            continue
        if json_out:
            print(json.dumps({"query": query, "results": [{"word": w, "score": round(s, 6)}
                                                          for w, s in results]},
                             ensure_ascii=False, allow_nan=False), flush=True)
        else:
            print("\t".join([query] + [f"{w} {s:.4f}" for w, s in results]), flush=True)
    return code


@app.command()
def nearest(
    words: Optional[List[str]] = typer.Argument(
        None, help="Words to look up, one query each. None: read queries from stdin, one per "
                   "line (a line with several words asks for the words nearest their mean)."),
    model: Optional[str] = QueryModelOption,
    topn: int = typer.Option(10, "--topn", "-k", min=1, help="Neighbours per query."),
    restrict: Optional[int] = RestrictOption,
    json_out: bool = JsonLinesOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
):
    """Print the nearest neighbours (cosine similarity) of words.

    One line per query: the query, then TAB-separated "word score" pairs. An unknown word
    gets one stderr line and exit code 3; the other queries are still answered.

    \b
    Example:
      staticvec nearest king paris -m vectors.bin -k 5
      cut -f1 words.tsv | staticvec nearest -m vectors.bin --json
    """
    _check_model_options(model, fmt, encoding_errors)
    streamed = words and _streamed_answers(model, fmt, encoding_errors, [([w], []) for w in words],
                                           topn=topn, restrict_vocab=restrict)
    if streamed:
        code = _answer_queries([([w], None) for w in words], _replay(streamed), json_out)
        if code:
            raise typer.Exit(code)
        return
    queries = (([w], None) for w in words) if words else _stdin_queries("words")
    vectors = _query_model(model, fmt, encoding_errors)
    code = _answer_queries(queries, lambda terms: vectors.most_similar(
        terms, topn=topn, restrict_vocab=restrict), json_out)
    if code:
        raise typer.Exit(code)


@app.command()
def analogy(
    words: Optional[List[str]] = typer.Argument(
        None, help="A B C: answer A - B + C (king man woman -> queen). None: read one "
                   "'A B C' query per line from stdin."),
    model: Optional[str] = QueryModelOption,
    topn: int = typer.Option(5, "--topn", "-k", min=1, help="Answers per query."),
    method: str = typer.Option("add", "--method",
                               help="add: 3CosAdd (vector offset); mul: 3CosMul (Levy & "
                                    "Goldberg 2014)."),
    restrict: Optional[int] = RestrictOption,
    json_out: bool = JsonLinesOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
):
    """Solve word analogies: A is to B as what is to C, i.e. the words nearest A - B + C.

    One line per query: the query, then TAB-separated "word score" pairs; the three query
    words are never answers. An unknown word gets one stderr line and exit code 3.

    \b
    Example:
      staticvec analogy king man woman -m vectors.bin
      printf 'paris france italy\\nking man woman\\n' | staticvec analogy -m vectors.bin --json
    """
    _check_choice("--method", method, ("add", "mul"))
    if words and len(words) != 3:
        raise BadOptionError(f"analogy takes 3 words A B C (for A - B + C), got {len(words)}")
    _check_model_options(model, fmt, encoding_errors)
    streamed = words and _streamed_answers(model, fmt, encoding_errors,
                                           [([words[0], words[2]], [words[1]])], topn=topn,
                                           restrict_vocab=restrict, method=method)
    if streamed:
        code = _answer_queries([(words, None)], _replay(streamed), json_out)
        if code:
            raise typer.Exit(code)
        return

    def checked(lines):
        for terms, problem in lines:
            if problem is None and terms and len(terms) != 3:
                problem = BadOptionError(f"analogy query {' '.join(terms)!r}: needs 3 words "
                                         f"A B C, got {len(terms)}")
            yield terms, problem

    queries = [(words, None)] if words else checked(_stdin_queries("analogy queries"))
    vectors = _query_model(model, fmt, encoding_errors)
    code = _answer_queries(queries, lambda t: vectors.analogy(
        t[0], t[1], t[2], topn=topn, method=method, restrict_vocab=restrict), json_out)
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------- evaluate
# (evaluate analogy, evaluate similarity)
evaluate_app = typer.Typer(help="Score vectors on word-analogy and word-similarity benchmarks "
                                "(numbers as gensim computes them).\n\n\b\nExample:\n"
                                "  staticvec evaluate analogy questions-words.txt -m vectors.bin\n"
                                "  staticvec evaluate similarity wordsim353.tsv -m vectors.bin",
                           no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                           context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(evaluate_app, name="evaluate")
JsonObjectOption = typer.Option(False, "--json", help="Print the results as one JSON object.")
OovOption = typer.Option(False, "--oov",
                         help="Score out-of-vocabulary items with the vectors the model can still "
                              "build (fastText n-grams, words past --restrict) instead of "
                              "skipping them.")


@evaluate_app.command("analogy")
def evaluate_analogy(
    questions: str = typer.Argument(..., help="Analogy questions, questions-words.txt format: "
                                              "': section' lines, then 'a b c d' lines."),
    model: Optional[str] = QueryModelOption,
    restrict: int = typer.Option(30000, "--restrict", min=0,
                                 help="Only the first N words are candidates and only questions "
                                      "within them are scored (0: all words)."),
    method: str = typer.Option("add", "--method", help="add: 3CosAdd; mul: 3CosMul."),
    oov: bool = OovOption,
    json_out: bool = JsonObjectOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
):
    """Accuracy on an analogy set (a : b :: c : ?), per section and in total.

    The rules of gensim's evaluate_word_analogies (case-insensitive, questions with words
    outside the first --restrict words counted as OOV and skipped); semantic/syntactic
    totals for the Google set.

    \b
    Example:
      staticvec evaluate analogy data/eval/questions-words.txt -m vectors.bin
    """
    import json

    from staticvec.evaluate import evaluate_analogies

    _check_choice("--method", method, ("add", "mul"))
    vectors = _query_model(model, fmt, encoding_errors)
    result = evaluate_analogies(vectors, questions, restrict=restrict or None, method=method,
                                oov=oov)
    if json_out:
        print(json.dumps(result, ensure_ascii=False, allow_nan=False))
        return
    width = max([len(s["section"]) for s in result["sections"]] + [9])

    def row(name, part):
        return (f"{name:<{width}}  {100 * part['accuracy']:6.2f}%  "
                f"{part['correct']:>6}/{part['total']:<6}  oov {part['oov']}")

    for section in result["sections"]:
        print(row(section["section"], section))
    for name in ("semantic", "syntactic", "total"):
        if name in result:
            print(row(name, result[name]))
    scope = f"the first {restrict:,} words" if restrict else "the vocabulary"
    print(f"questions {result['questions']}, oov {result['oov_questions']} "
          f"({result['oov_ratio']:.1f}%, words outside {scope}; "
          f"{'scored with built vectors' if oov else 'skipped'})" + _malformed_note(result))


def _malformed_note(result):
    """``, N malformed lines skipped (first: line L)`` when the benchmark file had any."""
    count = result["malformed_lines"]
    return (f", {count} malformed line{'s' if count != 1 else ''} skipped (first: line "
            f"{result['first_malformed_line']})") if count else ""


@evaluate_app.command("similarity")
def evaluate_similarity_cmd(
    pairs: str = typer.Argument(..., help="Word pairs with human scores: 'word1 word2 score' "
                                          "lines, TAB- or space-separated, '#' comments."),
    model: Optional[str] = QueryModelOption,
    restrict: int = typer.Option(300000, "--restrict", min=0,
                                 help="Pairs with words outside the first N words count as OOV "
                                      "(gensim's default; 0: all words)."),
    oov: bool = OovOption,
    json_out: bool = JsonObjectOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
):
    """Pearson and Spearman correlation with human similarity scores (WordSim-353, SimLex-999).

    The rules of gensim's evaluate_word_pairs (case-insensitive; pairs with an unknown
    word skipped and reported as the OOV ratio).

    \b
    Example:
      staticvec evaluate similarity data/eval/wordsim353.tsv -m vectors.bin
    """
    import json

    from staticvec.evaluate import evaluate_similarity

    vectors = _query_model(model, fmt, encoding_errors)
    result = evaluate_similarity(vectors, pairs, restrict=restrict or None, oov=oov)
    if json_out:
        print(json.dumps(result, ensure_ascii=False, allow_nan=False))
        return

    def corr(value):  # None: undefined (every score equal, or one pair)
        return "n/a" if value is None else f"{value:.4f}"

    print(f"{os.path.basename(pairs)}  pearson {corr(result['pearson'])}  spearman "
          f"{corr(result['spearman'])}  oov {result['oov_ratio']:.1f}% "
          f"({result['oov_pairs']}/{result['pairs']} pairs"
          f"{', ' + str(result['oov_scored_pairs']) + ' scored with built vectors' if oov else ''})"
          + _malformed_note(result))


# ---------------------------------------------------------------- bias
# (bias-audit)
@app.command("bias-audit")
def bias_audit(
    model: str = typer.Option(..., "--model", "-m", envvar="STATICVEC_MODEL",
                              help="Vectors to audit (word2vec .bin/.txt, GloVe .txt, fastText "
                                   ".bin/.vec); default $STATICVEC_MODEL."),
    only: Optional[str] = typer.Option(None, "--only",
                                       help="Run one part: weat, direction or probes."),
    tests: Optional[str] = typer.Option(None, "--tests",
                                        help="WEAT tests to run instead of the ten shipped ones: "
                                             "JSON, one test or a list, each {\"name\", \"targets\": "
                                             "{\"X\", \"Y\"}, \"attributes\": {\"A\", \"B\"}}."),
    exact_limit: int = typer.Option(100_000, "--exact-limit", min=0,
                                    help="Enumerate every partition of X u Y when there are at "
                                         "most this many; otherwise sample --permutations."),
    permutations: int = typer.Option(100_000, "--permutations", min=1,
                                     help="Random partitions for the p-value of a large test."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled partitions."),
    top: int = typer.Option(10, "--top", "-k", min=1,
                            help="Professions to list on each side of the gender direction."),
    probes: Optional[str] = typer.Option(None, "--probes",
                                         help="Probe JSON {\"words\": [...], \"pairs\": [[\"man\", "
                                              "\"woman\"], ...]}; either key optional (default: "
                                              "the most frequent professions, man/woman)."),
    probe_count: int = typer.Option(20, "--probe-count", min=1,
                                    help="Default probe words: this many most frequent "
                                         "gender-neutral professions."),
    fail_above: Optional[float] = typer.Option(None, "--fail-above", min=0.0,
                                               help="Exit 4 if any WEAT |d| exceeds this (after "
                                                    "printing the report)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    quiet: bool = QuietOption,
):
    """Measure bias in vectors: WEAT tests, the gender direction, analogy probes.

    Prints a table on a terminal, plain text in a pipe, JSON with --json. With
    --fail-above D it is a release gate: exit 4 if any WEAT effect size |d| > D.

    \b
    Example:
      staticvec bias-audit -m vectors.bin
      staticvec bias-audit -m vectors.bin --only weat --fail-above 1.0 --json > audit.json
    """
    import time

    from staticvec import bias
    from staticvec.progress import say

    if only is not None:
        _check_choice("--only", only, bias.PARTS)
    for option, value, part in (("--fail-above", fail_above, "weat"), ("--tests", tests, "weat"),
                                ("--probes", probes, "probes")):
        if value is not None and only not in (None, part):
            raise BadOptionError(f"{option} belongs to the {part} part: it cannot be combined "
                                 f"with --only {only}")
    custom_tests = bias.load_weat_tests(tests) if tests is not None else None
    probe_spec = bias.load_probes(probes) if probes is not None else None
    from staticvec.formats import load_vectors

    start = time.monotonic()
    vectors = load_vectors(model)
    report = {"model": model}
    report.update(bias.audit(vectors, only=only, tests=custom_tests, exact_limit=exact_limit,
                             permutations=permutations, seed=seed, top_k=top, probes=probe_spec,
                             probe_count=probe_count))
    if fail_above is not None:
        bias.evaluate_gate(report, fail_above)
    if json_out:
        sys.stdout.write(bias.to_json(report))
    elif sys.stdout.isatty():
        from rich.console import Console

        bias.render_rich(report, Console(file=sys.stdout), model=model)
    else:
        sys.stdout.write(bias.render_plain(report, model=model))
    sys.stdout.flush()
    if "weat" in report:
        ran = sum(t["status"] == "ok" for t in report["weat"]["tests"])
        say(f"bias-audit: {ran}/{len(report['weat']['tests'])} WEAT tests run "
            f"({len(report['weat']['tests']) - ran} skipped for missing words), "
            f"{time.monotonic() - start:.1f} s", quiet)
    bias.enforce_gate(report)


# ---------------------------------------------------------------- cache
# (cache clear)
cache_app = typer.Typer(help="The cache of encoded corpora (reused across trainings).\n\n"
                             "\b\nExample:\n  staticvec cache clear",
                        no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                        context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def cache_clear(quiet: bool = QuietOption):
    """Remove every cached encoded corpus (under $XDG_CACHE_HOME/staticvec).

    \b
    Example:
      staticvec cache clear
    """
    from staticvec import encode
    from staticvec.progress import say

    removed = encode.clear_cache()
    say(f"removed {removed} cached file{'s' if removed != 1 else ''} from {encode.cache_dir()}",
        quiet)


def _print_error(message):
    print(f"staticvec: error: {message}", file=sys.stderr, flush=True)


def _invoke(args):
    """Run the command line without click's own handling of Ctrl-C, EPIPE and exits, so
    that every outcome reaches ``main``'s one mapping."""
    command = typer.main.get_command(app)
    try:
        with command.make_context("staticvec", args) as ctx:
            return command.invoke(ctx)
    except _Exit as exc:
        return exc.exit_code
    except _click_exceptions.NoArgsIsHelpError as exc:
        print(exc.format_message(), file=sys.stderr)
        return EXIT_USAGE


def main(argv=None):
    """Entry point: run the app, map every failure to one stderr line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("STATICVEC_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    _route_warnings(debug)
    _terminate_like_ctrl_c()
    _guard_stdout()
    try:
        code = _invoke(args)
        sys.stdout.flush()  # a full or closed stdout shows here at the latest
    except _click_exceptions.UsageError as exc:
        if debug:
            raise
        hint = f" (see 'staticvec {exc.ctx.command_path.removeprefix('staticvec ')} --help')" \
            if exc.ctx and exc.ctx.parent else " (see 'staticvec --help')"
        _print_error(f"{exc.format_message()}{hint}")
        code = EXIT_USAGE
    except (KeyboardInterrupt, _Abort) as exc:
        if debug:
            raise
        stopped = Terminated() if isinstance(exc, SigTerm) else Interrupted()
        _print_error(str(stopped))
        code = stopped.exit_code
    except _StdoutFailed as exc:
        if debug:
            raise
        _print_error(str(exc))
        _silence_stdout()  # what is still buffered must not fail again at exit
        code = exc.exit_code
    except StaticvecError as exc:
        if debug:
            raise
        _print_error(str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): it wanted no more, not an error worth a
        # line or a failing exit status (a pipeline's real failures are its reader's)
        _silence_stdout()
        code = 0
    except MemoryError:
        if debug:
            raise
        _print_error("out of memory (try a smaller --dim, --max-size or --memory)")
        code = 1
    except OSError as exc:
        if debug:
            raise
        _print_error(f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}")
        code = 1
    _terminate_like_ctrl_c(settled=True)
    try:
        sys.stdout.flush()
    except (OSError, _StdoutFailed):  # the failure that ended the run was reported already
        _silence_stdout()
    sys.exit(code if isinstance(code, int) else 0)


def _silence_stdout():
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _route_warnings(debug):
    """Python warnings (numpy's RuntimeWarning among them) go to the logging module, and are
    printed on stderr only with --debug: a pipeline's stderr holds error lines, not noise."""
    import logging

    logging.captureWarnings(True)
    logger = logging.getLogger("py.warnings")
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.StreamHandler(sys.stderr) if debug else logging.NullHandler())


def _terminate_like_ctrl_c(settled=False):
    """SIGTERM (kill, systemd, a timeout) stops the run as Ctrl-C does: SigTerm is a
    KeyboardInterrupt, so workers stop and temporaries go; main reports it, exit 143.
    ``settled``: the outcome is reported and the exit follows; a SIGTERM now changes nothing."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(_signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut cleanup short
        raise SigTerm()

    signal.signal(signal.SIGTERM, signal.SIG_IGN if settled else handler)


class _StdoutFailed(OutputError):
    """A write to stdout failed for another reason than a reader that went away."""


class _StdoutFile(io.FileIO):
    """File descriptor 1 under sys.stdout: a failed write is one error naming stdout."""

    def write(self, data):
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _StdoutFailed(describe_write_error("to stdout", exc, nothing_written=False)) \
                from None


def _guard_stdout():
    """Put ``_StdoutFile`` under sys.stdout (unless something, e.g. a test, replaced it).

    A stdout closed at start (``>&-``) is held by a read-only /dev/null, so that no file
    opened later becomes descriptor 1 and every write to it fails with EBADF, as on a closed
    descriptor."""
    if sys.stdout is not sys.__stdout__:
        return
    try:
        os.fstat(1)
    except OSError:
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 1:
            os.dup2(fd, 1)
            os.close(fd)
    old = sys.stdout
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_StdoutFile(1, "w", closefd=False)),
        encoding=old.encoding if old else "utf-8", errors=old.errors if old else "strict",
        line_buffering=old.line_buffering if old else False,
        write_through=old.write_through if old else False)
