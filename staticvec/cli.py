"""The ``staticvec`` command: parse options, call the library, print.

No algorithm lives here. Every error raised by the library is a ``StaticvecError``
carrying its exit code; ``main`` is the one place that turns it into one stderr line.
Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 unknown word, 4 gate failed
(bias-audit), 130 interrupted.
"""
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

try:  # typer >= 0.2x vendors its own click
    from typer._click import exceptions as _click_exceptions
    from typer.exceptions import Abort as _Abort
except ImportError:  # older typer runs on click itself
    from click import exceptions as _click_exceptions
    from click.exceptions import Abort as _Abort

from staticvec import __version__
from staticvec.atomic import check_output_path
from staticvec.errors import EXIT_INTERRUPTED, EXIT_USAGE, BadOptionError, StaticvecError

app = typer.Typer(
    name="staticvec",
    help="Train and query static word embeddings: word2vec, GloVe and fastText.",
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
    10000, "--max-sentence-length", min=1,
    help="Split longer sentences (lines) into pieces of this many tokens; never drops any.")


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
    """Train and query static word embeddings: word2vec, GloVe and fastText.

    Add --debug anywhere to see a full traceback on error.
    """


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
    max_vocab_words: int = typer.Option(30_000_000, "--max-vocab-words", min=1,
                                        help="Prune the rarest words while counting once this "
                                             "many distinct words are held (bounds memory)."),
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

    _check_choice("--encoding-errors", encoding_errors, ("strict", "replace", "ignore"))
    check_output_path(output)
    vocabulary = vocab_mod.build_vocab(corpus, min_count=min_count, max_size=max_size,
                                       max_vocab_words=max_vocab_words,
                                       encoding_errors=encoding_errors, quiet=quiet)
    vocabulary.save(output)
    say(vocabulary.summary(), quiet)


# ---------------------------------------------------------------- training: word2vec
# (train-skipgram, train-cbow)

# ---------------------------------------------------------------- training: glove
# (train-glove)

# ---------------------------------------------------------------- training: fasttext
# (train-fasttext)

# ---------------------------------------------------------------- queries
# (nearest, analogy)

# ---------------------------------------------------------------- evaluate
# (evaluate analogy, evaluate similarity)

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
    if fail_above is not None and only not in (None, "weat"):
        raise BadOptionError(f"--fail-above gates on WEAT effect sizes: it cannot be combined "
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


def _print_error(message):
    print(f"staticvec: error: {message}", file=sys.stderr, flush=True)


def main(argv=None):
    """Entry point: run the app, map every failure to one stderr line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("STATICVEC_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    try:
        code = typer.main.get_command(app).main(args=args, prog_name="staticvec", standalone_mode=False)
    except _click_exceptions.UsageError as exc:
        if debug:
            raise
        hint = f" (see 'staticvec {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else \
            " (see 'staticvec --help')"
        _print_error(f"{exc.format_message()}{hint}")
        code = EXIT_USAGE
    except _Abort:
        _print_error("interrupted")
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        if debug:
            raise
        _print_error("interrupted: stopped, no output written")
        code = EXIT_INTERRUPTED
    except StaticvecError as exc:
        if debug:
            raise
        _print_error(str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): not an error worth a traceback
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
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code or 0)


def _silence_stdout():
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
