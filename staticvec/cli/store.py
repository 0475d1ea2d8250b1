"""`store`: any model the loaders read, written as a memory-mapped staticvec store."""
from typing import Optional

import typer

from staticvec.cli.app import EncodingErrorsOption, QuietOption, app
from staticvec.cli.display import reporting
from staticvec.cli.query import LimitOption, ModelFormatOption


@app.command()
def store(
    source: str = typer.Argument(..., metavar="MODEL",
                                 help="Vectors to read: word2vec .bin/.txt, GloVe .txt, "
                                      "fastText .vec or .bin (its word vectors, counts and "
                                      "n-gram buckets)."),
    output: str = typer.Option(..., "--output", "-o", metavar="OUT",
                               help="The store to write (e.g. model.svs; atomic, never onto "
                                    "MODEL)."),
    limit: Optional[int] = LimitOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
    quiet: bool = QuietOption,
):
    """Write a model as a staticvec store: one file that every -m command (and
    staticvec.load) maps instead of reading, so a model of millions of words opens in
    milliseconds and answers queries without being loaded into memory. The store holds
    an int8 copy of the rows that queries scan first (their answers are still the exact
    float32 ones) and, from a fastText .bin, the n-gram buckets for unseen words.

    \b
    Example:
      staticvec store GoogleNews-vectors-negative300.bin -o news.svs
      staticvec analogy king man woman -m news.svs
    """
    from staticvec.io.store_write import write_store

    with reporting(quiet) as progress:
        write_store(source, output, fmt=fmt, limit=limit, encoding_errors=encoding_errors,
                    progress=progress)
