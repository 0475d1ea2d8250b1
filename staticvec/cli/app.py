"""The typer app, the options every command group shares, and the one error printer."""
import sys

import typer

from staticvec import __version__
from staticvec.errors import BadOptionError

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



def _print_error(message):
    print(f"staticvec: error: {message}", file=sys.stderr, flush=True)
