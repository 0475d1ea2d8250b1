"""`vocab`: count the words of a corpus without training."""
import sys
from typing import List, Optional

import typer

from staticvec.atomic import check_outputs
from staticvec.cli.app import (DaskOption, EncodingErrorsOption, MaxVocabWordsOption,
                               QuietOption, app)
from staticvec.cli.display import reporting
from staticvec.text.corpus import check_encoding_errors


# ---------------------------------------------------------------- vocab
@app.command()
def vocab(
    corpus: List[str] = typer.Argument(..., help="Text files (.gz/.bz2/.xz ok) or - for stdin."),
    output: str = typer.Option(..., "--output", "-o", metavar="FILE", help="Vocabulary file to write; - for stdout."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Drop words seen fewer times."),
    max_size: Optional[int] = typer.Option(None, "--max-size", min=1,
                                           help="Keep only the N most frequent words."),
    max_vocab_words: int = MaxVocabWordsOption,
    encoding_errors: str = EncodingErrorsOption,
    dask: Optional[str] = DaskOption,
    quiet: bool = QuietOption,
):
    """Count words and write a `word count` vocabulary (word2vec C -read-vocab compatible).

    \b
    Example:
      staticvec vocab corpus.txt.xz -o vocab.txt --min-count 5
    """
    from staticvec.text import vocab as vocab_mod

    # before the outputs are checked, as every trainer's options are
    check_encoding_errors(encoding_errors)
    if dask is not None:
        vocabulary = _vocab_on_cluster(corpus, output, dask, min_count, max_size,
                                       max_vocab_words, encoding_errors, quiet)
        if not quiet:
            print(vocabulary.summary(), file=sys.stderr, flush=True)
        return
    check_outputs([("--output", output)], [("the input", corpus)])
    with reporting(quiet) as progress:
        vocabulary = vocab_mod.build_vocab(corpus, min_count=min_count, max_size=max_size,
                                           max_vocab_words=max_vocab_words,
                                           encoding_errors=encoding_errors, progress=progress)
    vocabulary.save(output)
    if not quiet:
        print(vocabulary.summary(), file=sys.stderr, flush=True)


def _vocab_on_cluster(patterns, output, address, min_count, max_size, max_vocab_words,
                      encoding_errors, quiet):
    from staticvec.scale import cluster, counting, inputs

    cluster.check_address(address)
    sources = inputs.expand(patterns)
    check_outputs([("--output", output)], [("the input", inputs.local_paths(sources))])
    shards = inputs.plan_shards(sources)
    with reporting(quiet) as progress, cluster.connect(address) as client:
        vocabulary = counting.build_vocab(client, shards, min_count=min_count,
                                          max_size=max_size, max_vocab_words=max_vocab_words,
                                          encoding_errors=encoding_errors, progress=progress)
    vocabulary.save(output)
    return vocabulary
