"""`embed` (one vector per input line) and `search` (the lines nearest to a query)."""
import sys
from typing import List, Optional

import typer

from staticvec.cli.app import EncodingErrorsOption, QuietOption, app
from staticvec.cli.display import reporting
from staticvec.cli.query import LimitOption, ModelFormatOption, QueryModelOption, load_query_model

PoolingOption = typer.Option("mean", "--pooling", metavar="mean|sif",
                             help="mean: the average of the known words' unit vectors; sif: "
                                  "Arora et al. 2017 (frequency weights, first component "
                                  "removed).")
SifAOption = typer.Option(1e-3, "--sif-a", metavar="A", help="SIF's weight a / (a + p(w)).")
VocabOption = typer.Option(None, "--vocab", metavar="FILE",
                           help="Word counts for SIF (the `vocab` command's format); a "
                                "fastText .bin has its own.")
ComponentsOption = typer.Option(None, "--components", metavar="FILE",
                                help="SIF: remove this saved component (from --save-components) "
                                     "instead of computing one.")


def _pooling(vectors, pooling, sif_a, vocab):
    from staticvec.io.embeddings import counts_from_vocab, pooler_for

    counts = None
    if vocab is not None:
        from staticvec.text.vocab import Vocab

        counts = counts_from_vocab(vectors, Vocab.load(vocab))
    return pooler_for(vectors, pooling, sif_a, counts), counts


@app.command()
def embed(
    inputs: Optional[List[str]] = typer.Argument(
        None, metavar="[FILE...]", help="Text, one sentence or document per line (.gz/.bz2/.xz "
                                        "ok); none or - reads stdin."),
    model: Optional[str] = QueryModelOption,
    output: str = typer.Option(..., "--output", "-o", metavar="FILE",
                               help="Vectors: .npy (N x d float32), .bin/.txt/.vec (word2vec, "
                                    "keyed by line number) or .jsonl; - is text on stdout."),
    pooling: str = PoolingOption,
    sif_a: float = SifAOption,
    vocab: Optional[str] = VocabOption,
    components: Optional[str] = ComponentsOption,
    save_components: Optional[str] = typer.Option(
        None, "--save-components", metavar="FILE",
        help="SIF: also write the removed component (.npy), for `search` and later runs."),
    skip_empty: bool = typer.Option(False, "--skip-empty",
                                    help="Leave out lines with no known word (else zero "
                                         "vectors)."),
    json_out: bool = typer.Option(False, "--json", help="JSON Lines: {\"line\", \"vector\"}."),
    fmt: Optional[str] = ModelFormatOption,
    limit: Optional[int] = LimitOption,
    encoding_errors: str = EncodingErrorsOption,
    quiet: bool = QuietOption,
):
    """Sentence vectors: one vector per input line, pooled from its words' vectors.

    Words are the line's whitespace-separated tokens, as in training; unknown words are
    skipped (a fastText .bin gives them their n-gram vectors).

    \b
    Example:
      staticvec embed docs.txt -m vectors.bin -o docs.npy
      staticvec embed docs.txt -m model.bin --pooling sif -o docs.npy --save-components pc.npy
    """
    from staticvec.io.embeddings import check_pooling, embed_lines, embedding_format

    embedding_format(output, json_out)
    check_pooling(pooling)  # refused before the model is loaded
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    _, counts = _pooling(vectors, pooling, sif_a, vocab)
    with reporting(quiet) as progress:
        embed_lines(vectors, inputs or ["-"], output, pooling=pooling, sif_a=sif_a,
                    counts=counts, components=components, save_components=save_components,
                    skip_empty=skip_empty, json_lines=json_out, encoding_errors=encoding_errors,
                    progress=progress)


@app.command()
def search(
    queries: Optional[List[str]] = typer.Argument(
        None, metavar="[QUERY...]", help="Query texts, one each (quote them). None: one query "
                                         "per line of stdin."),
    model: Optional[str] = QueryModelOption,
    index: str = typer.Option(..., "--index", metavar="FILE",
                              help="The .npy that `embed` wrote for --texts."),
    texts: str = typer.Option(..., "--texts", metavar="FILE",
                              help="The text file the index was embedded from."),
    topn: int = typer.Option(10, "--topn", "-k", min=1, help="Lines per query."),
    pooling: str = PoolingOption,
    sif_a: float = SifAOption,
    vocab: Optional[str] = VocabOption,
    components: Optional[str] = ComponentsOption,
    json_out: bool = typer.Option(False, "--json",
                                  help="JSON Lines: {\"query\", \"results\": [{\"line\", "
                                       "\"score\", \"text\"}]} per query."),
    fmt: Optional[str] = ModelFormatOption,
    limit: Optional[int] = LimitOption,
    encoding_errors: str = EncodingErrorsOption,
):
    """The lines of --texts nearest to each query (cosine of their sentence vectors).

    Queries are pooled as `embed` pooled the index (give the same --pooling, and for sif
    the --components it saved). Per query: one "score<TAB>line<TAB>text" line per hit,
    and a blank line after the query's hits.

    \b
    Example:
      staticvec search -m vectors.bin --index docs.npy --texts docs.txt "cheap flights to rome"
    """
    import json

    from staticvec.errors import BadOptionError
    from staticvec.io.embeddings import check_pooling, read_component, read_index, search_lines
    from staticvec.model.sentences import remove_component

    check_pooling(pooling)
    if pooling == "sif" and components is None:
        raise BadOptionError("search --pooling sif needs --components FILE (the component "
                             "embed removed: embed --save-components)")
    if not queries and (sys.stdin is None or sys.stdin.isatty()):
        raise BadOptionError("no queries given: name them on the command line or pipe one "
                             "per line on stdin")
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    pooler, _ = _pooling(vectors, pooling, sif_a, vocab)
    u = read_component(components, vectors.dim) if components is not None else None
    matrix, lines = read_index(index, texts, vectors.dim)
    if not queries:
        from staticvec.text.corpus import iter_line_blocks

        queries = [q for block in iter_line_blocks(["-"], encoding_errors) for q in block]
    pooled, _ = pooler.pool([q.split() for q in queries])
    if u is not None:
        pooled = remove_component(pooled, u)
    for query, hits in zip(queries, search_lines(matrix, pooled, topn)):
        if json_out:
            print(json.dumps({"query": query, "results": [
                {"line": i + 1, "score": round(s, 6), "text": lines[i]} for i, s in hits]},
                ensure_ascii=False, allow_nan=False), flush=True)
        else:
            print("".join(f"{s:.4f}\t{i + 1}\t{lines[i]}\n" for i, s in hits), flush=True)
