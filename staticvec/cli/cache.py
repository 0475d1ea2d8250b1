"""`cache clear`: empty the encoded-corpus cache."""
import sys

import typer

from staticvec.cli.app import QuietOption, app


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
    from staticvec.text import cache

    removed = cache.clear_cache()
    if not quiet:
        print(f"removed {removed} cached file{'s' if removed != 1 else ''} from "
              f"{cache.cache_dir()}", file=sys.stderr, flush=True)
