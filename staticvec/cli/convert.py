"""`convert`: any vectors file the loaders read, written as word2vec text or binary."""
from typing import Optional

import typer

from staticvec.cli.app import EncodingErrorsOption, QuietOption, app
from staticvec.cli.display import reporting
from staticvec.cli.query import LimitOption


@app.command()
def convert(
    source: str = typer.Argument(..., metavar="IN",
                                 help="Vectors to read: word2vec .bin/.txt (gensim's dialects "
                                      "too), GloVe .txt, fastText .vec or .bin (its word "
                                      "vectors); .gz/.bz2/.xz ok."),
    target: str = typer.Argument(..., metavar="OUT",
                                 help="File to write: .bin word2vec binary, .txt/.vec text; "
                                      "a .gz/.bz2/.xz ending compresses it."),
    limit: Optional[int] = LimitOption,
    format_in: Optional[str] = typer.Option(None, "--format-in", metavar="FORMAT",
                                            help="Force the input format: binary, text or "
                                                 "fasttext [default: sniffed]."),
    format_out: Optional[str] = typer.Option(None, "--format-out", metavar="FORMAT",
                                             help="binary or text [default: from OUT's "
                                                  "extension]."),
    normalize: bool = typer.Option(False, "--normalize",
                                   help="Write unit-length vectors (zero vectors stay zero)."),
    encoding_errors: str = EncodingErrorsOption,
    quiet: bool = QuietOption,
):
    """Convert vectors to word2vec text or binary (atomic; never onto IN).

    \b
    Example:
      staticvec convert model.bin vectors.txt.gz --limit 100000
      staticvec convert glove.840B.300d.txt glove.bin --normalize
    """
    from staticvec.io.convert import convert_vectors

    with reporting(quiet):
        convert_vectors(source, target, format_in=format_in, format_out=format_out,
                        limit=limit, normalize=normalize, encoding_errors=encoding_errors)
