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
