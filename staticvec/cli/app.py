"""The typer app, the options every command group shares, and the one error printer."""
import re
import sys

import typer
from typer.core import TyperArgument, TyperOption

from staticvec import __version__
from staticvec.errors import BadOptionError

app = typer.Typer(
    name="staticvec",
    help="Train and query static word embeddings: word2vec, GloVe and fastText.\n\n"
         "Add --debug anywhere to see a full traceback on error.\n\n\b\nExample:\n"
         "  staticvec train-skipgram corpus.txt.xz -o vectors.bin\n"
         "  staticvec analogy king man woman -m vectors.bin",
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, powershell)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DaskOption = typer.Option(
    None, "--dask", metavar="ADDRESS",
    help="Run on a Dask cluster: local:N starts N worker processes here; else a scheduler "
         "address (tcp://host:8786). Inputs may then be globs and fsspec URLs (s3://...). "
         "Needs the dask extra.")
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr.")
EncodingErrorsOption = typer.Option(
    "strict", "--encoding-errors", metavar="POLICY",
    help="What to do with input that is not valid UTF-8: strict (fail, naming file and byte "
         "offset), replace (U+FFFD) or ignore (drop the bad bytes).")
MaxSentenceOption = typer.Option(
    10000, "--max-sentence-length", min=1, max=2 ** 31 - 1,
    help="Split longer sentences (lines) into pieces of this many tokens; never drops any.")
MaxVocabWordsOption = typer.Option(
    30_000_000, "--max-vocab-words", min=1, max=2 ** 31 - 1,
    help="Prune the rarest words while counting once this many distinct words are held "
         "(bounds memory; word2vec C's and fastText's 30M).")
PhrasesOption = typer.Option(
    None, "--phrases", metavar="FILE",
    help="Join the phrases of this table (the `phrases` command's --save-phrases) while "
         "reading the corpus, so phrases get vectors of their own.")


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


def click_command():
    """The click command tree typer builds from ``app``, in the house style: every argument
    reads as a word (``CORPUS...``, ``[WORDS]...``, not typer's ``{corpus}... <list[str]>``),
    every option value too (``N`` where no word was chosen, never ``<int range>``), and each
    help ends with its example (moved after the options), as the README promises."""
    command = typer.main.get_command(app)
    _house_style(command)
    return command


def _house_style(command):
    example = re.search(r"\x08\n[ \t]*Example:", command.help or "")
    if example and not command.epilog:
        command.epilog = command.help[example.start():]
        command.help = command.help[:example.start()].rstrip()
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _WordArgument
        elif isinstance(param, TyperOption):
            param.__class__ = _WordOption
    for sub in getattr(command, "commands", {}).values():
        _house_style(sub)


class _WordArgument(TyperArgument):
    """An argument shown as click shows one: its word, ``...`` when it repeats, ``[ ]`` when
    optional; no type."""

    def _rich_display_name(self):
        word = self.metavar or self.name.upper()
        return word if self.nargs == 1 or word.endswith("...") else word + "..."

    def _usage_display_name(self):
        word = self._rich_display_name()
        return word if self.required else f"[{word.removesuffix('...')}]" + \
            ("..." if word.endswith("...") else "")

    def display_type_rich(self, ctx):
        return None


class _WordOption(TyperOption):
    """An option whose value has no chosen word (``metavar=``) shows one from its type."""

    TYPE_WORDS = {"int": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER"}

    def display_type_rich(self, ctx):
        shown = super().display_type_rich(ctx)
        if self.metavar is not None or shown is None:
            return shown
        return self.TYPE_WORDS.get(shown.strip("<>"), "VALUE")


def _check_choice(name, value, choices):
    if value not in choices:
        raise BadOptionError(f"invalid value for {name}: {value!r} (choose from {', '.join(choices)})")



def _print_error(message):
    print(f"staticvec: error: {message}", file=sys.stderr, flush=True)
