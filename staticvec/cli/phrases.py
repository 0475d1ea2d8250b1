"""`phrases`: join frequent word pairs into phrases (word2phrase), write the phrase table."""
import sys
from typing import List, Optional

import typer

from staticvec.atomic import check_outputs
from staticvec.cli.app import DaskOption, EncodingErrorsOption, QuietOption, app
from staticvec.cli.display import reporting
from staticvec.text.corpus import check_encoding_errors


@app.command()
def phrases(
    corpus: List[str] = typer.Argument(..., help="Text files (.gz/.bz2/.xz ok) or - for stdin."),
    output: str = typer.Option(..., "--output", "-o", metavar="FILE",
                               help="The text with its phrases joined by _ (.gz/.bz2/.xz "
                                    "compressed); - for stdout."),
    threshold: float = typer.Option(100.0, "--threshold", metavar="NUMBER",
                                    help="Join pairs scoring above this (higher: fewer "
                                         "phrases; npmi: in [-1, 1])."),
    min_count: int = typer.Option(5, "--min-count", metavar="N",
                                  help="Ignore words and pairs seen fewer times."),
    passes: int = typer.Option(1, "--passes", metavar="N",
                               help="Passes; each joins pairs of the previous one's output "
                                    "(longer phrases)."),
    scorer: str = typer.Option("word2phrase", "--scorer", metavar="word2phrase|npmi",
                               help="word2phrase: (count(ab) - min_count) / count(a) / "
                                    "count(b) x words; npmi: gensim's normalised PMI."),
    save_phrases: Optional[str] = typer.Option(None, "--save-phrases", metavar="FILE",
                                               help="Also write the phrase table (`phrase "
                                                    "score count` lines) for the trainers' "
                                                    "--phrases."),
    max_vocab_words: int = typer.Option(
        30_000_000, "--max-vocab-words", min=1, max=2 ** 31 - 1,
        help="Prune the rarest words and pairs while counting once this many are held "
             "(bounds memory; word2phrase prunes past 350M, with 2 GB of hash table)."),
    encoding_errors: str = EncodingErrorsOption,
    dask: Optional[str] = DaskOption,
    quiet: bool = QuietOption,
):
    """Join frequent word pairs into phrases (new york -> new_york), as word2phrase does.

    With the defaults the output equals word2phrase C's, word for word.

    \b
    Example:
      staticvec phrases corpus.txt.xz -o phrased.txt.xz --save-phrases phrases.txt
      staticvec train-skipgram corpus.txt.xz --phrases phrases.txt -o vectors.bin
    """
    from staticvec.text import phrases as phrases_mod

    phrases_mod.check_options(min_count=min_count, threshold=threshold, passes=passes,
                              scorer=scorer, max_vocab_words=max_vocab_words)
    check_encoding_errors(encoding_errors)
    options = dict(min_count=min_count, threshold=threshold, passes=passes, scorer=scorer,
                   max_vocab_words=max_vocab_words, encoding_errors=encoding_errors,
                   save_phrases=save_phrases)
    outputs = [("--output", output), ("--save-phrases", save_phrases)]
    if dask is not None:
        from staticvec.scale import cluster, counting, inputs

        cluster.check_address(dask)
        sources = inputs.expand(corpus)
        check_outputs(outputs, [("the input", inputs.local_paths(sources))])
        with reporting(quiet) as progress, cluster.connect(dask) as client:
            summary = counting.find_phrases(client, inputs.plan_shards(sources), output,
                                            progress=progress, **options)
    else:
        check_outputs(outputs, [("the input", corpus)])
        with reporting(quiet) as progress:
            summary = phrases_mod.find_phrases(corpus, output, progress=progress, **options)
    if not quiet:
        print(phrases_mod.summary_line(summary), file=sys.stderr, flush=True)
