"""Queries on a model: `nearest` and `analogy` (one output line per query)."""
import sys
from typing import List, Optional

import typer

from staticvec.cli.app import EncodingErrorsOption, _check_choice, _print_error, app
from staticvec.errors import BadOptionError
from staticvec.text.corpus import check_encoding_errors


# ---------------------------------------------------------------- queries
# (nearest, analogy)
QueryModelOption = typer.Option(
    None, "--model", "-m", metavar="MODEL", envvar="STATICVEC_MODEL", show_envvar=False,
    help="Vectors: word2vec .bin/.txt, GloVe .txt, fastText .bin/.vec, a staticvec store "
         "(format sniffed from the content); default $STATICVEC_MODEL.")
ModelFormatOption = typer.Option(None, "--format", metavar="FORMAT",
                                 help="Force the model format: binary, text, fasttext or store.")
RestrictOption = typer.Option(None, "--restrict", min=1,
                              help="Answer only from the first N words of the model (the most "
                                   "frequent ones, in files sorted by frequency).")
LimitOption = typer.Option(None, "--limit", min=1,
                           help="Read only the first N words of the model (the rest of the "
                                "file is not read).")
JsonLinesOption = typer.Option(False, "--json",
                               help="JSON Lines: {\"query\", \"results\": [{\"word\", \"score\"}]} "
                                    "or {\"query\", \"error\"} per query.")


def _check_model_options(model, fmt, encoding_errors):
    if not model:
        raise BadOptionError("no model: give -m MODEL or set STATICVEC_MODEL")
    if fmt is not None:
        from staticvec.io.dispatch import FORMATS

        _check_choice("--format", fmt, FORMATS)
    check_encoding_errors(encoding_errors)


def _is_plain_store(model, fmt):
    """True if ``model`` is an uncompressed staticvec store that ``fmt`` allows: it opens
    without the other formats' readers (a query on a store imports only what it uses)."""
    import os

    from staticvec.io.store import is_store

    if fmt not in (None, "store") or os.path.splitext(model)[1].lower() in (".gz", ".bz2",
                                                                             ".xz"):
        return False
    try:
        if not os.path.isfile(model):   # never a FIFO: it could be read only once
            return False
        with open(model, "rb") as handle:
            return is_store(handle.read(8))
    except OSError:
        return False   # the full path below says what is wrong


def load_query_model(model, fmt, encoding_errors, limit=None):
    """The model named by -m/--format/--encoding-errors/--limit (options checked first)."""
    _check_model_options(model, fmt, encoding_errors)
    if _is_plain_store(model, fmt):
        from staticvec.io.store import read_store
        from staticvec.model.stored import StoredVectors

        return StoredVectors(read_store(model, limit))
    from staticvec.io.dispatch import load_vectors

    return load_vectors(model, fmt=fmt, encoding_errors=encoding_errors, limit=limit)


def _streamed_answers(model, fmt, encoding_errors, queries, limit=None, **query):
    """The library's streamed answers (for a big binary model), as an iterator, or None
    (always with --limit: the first N words load faster than a whole file streams; and
    for a store, which answers from its map)."""
    if limit is not None or _is_plain_store(model, fmt):
        return None
    from staticvec.io.stream import streamed_answers

    answers = streamed_answers(model, queries, fmt=fmt, encoding_errors=encoding_errors, **query)
    return None if answers is None else iter(answers)


def _replay(answers):
    """An ``answer`` function for _answer_queries that hands out precomputed answers."""
    def answer(_terms):
        result = next(answers)
        if isinstance(result, Exception):
            raise result
        return result
    return answer


def _stdin_queries(what):
    """Queries from stdin, one per line (checked before the model is loaded), as ``(terms,
    problem)``: a blank line is ``([], None)`` (answered by an empty line, so that output
    lines stay aligned with input lines); a line that is not UTF-8 carries its error."""
    if sys.stdin is None or sys.stdin.isatty():
        raise BadOptionError(f"no {what} given: name them on the command line or pipe one query "
                             f"per line on stdin")
    from staticvec.errors import InputError

    def lines():
        for number, raw in enumerate(sys.stdin.buffer, 1):
            try:
                yield raw.decode("utf-8").split(), None
            except UnicodeDecodeError as exc:
                yield (raw.decode("utf-8", "replace").split(),
                       InputError(f"stdin line {number}: invalid UTF-8 at byte {exc.start} "
                                  f"(byte 0x{raw[exc.start]:02x})"))
    return lines()


def _answer_queries(queries, answer, json_out):
    """Print one line per query; failures get one stderr line each. Returns the exit code.

    ``queries``: ``(terms, problem)`` pairs, ``problem`` an exception to report instead of
    answering. Empty ``terms`` (a blank input line) print an empty line (with ``--json``, an
    error object), with no stderr line and no effect on the exit code."""
    import json

    from staticvec.errors import InputError, UnknownWordError

    code = 0
    for terms, problem in queries:
        query = " ".join(terms)
        if not terms and problem is None:
            print(json.dumps({"query": "", "error": "empty line: no query"}) if json_out else "",
                  flush=True)
            continue
        try:
            if problem:
                raise problem
            results = answer(terms)
        except (UnknownWordError, BadOptionError, InputError) as exc:
            _print_error(str(exc))
            code = max(code, exc.exit_code)
            print(json.dumps({"query": query, "error": str(exc)}, ensure_ascii=False) if json_out
                  else query, flush=True)
            continue
        if json_out:
            print(json.dumps({"query": query, "results": [{"word": w, "score": round(s, 6)}
                                                          for w, s in results]},
                             ensure_ascii=False, allow_nan=False), flush=True)
        else:
            print("\t".join([query] + [f"{w} {s:.4f}" for w, s in results]), flush=True)
    return code


@app.command()
def nearest(
    words: Optional[List[str]] = typer.Argument(
        None, help="Words to look up, one query each. None: read queries from stdin, one per "
                   "line (a line with several words asks for the words nearest their mean)."),
    model: Optional[str] = QueryModelOption,
    topn: int = typer.Option(10, "--topn", "-k", min=1, help="Neighbours per query."),
    restrict: Optional[int] = RestrictOption,
    json_out: bool = JsonLinesOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
    limit: Optional[int] = LimitOption,
):
    """Print the nearest neighbours (cosine similarity) of words.

    One line per query: the query, then TAB-separated "word score" pairs. An unknown word
    gets one stderr line and exit code 3; the other queries are still answered.

    \b
    Example:
      staticvec nearest king paris -m vectors.bin -k 5
      cut -f1 words.tsv | staticvec nearest -m vectors.bin --json
    """
    _check_model_options(model, fmt, encoding_errors)
    streamed = words and _streamed_answers(model, fmt, encoding_errors, [([w], []) for w in words],
                                           limit=limit, topn=topn, restrict_vocab=restrict)
    if streamed:
        code = _answer_queries([([w], None) for w in words], _replay(streamed), json_out)
        if code:
            raise typer.Exit(code)
        return
    queries = (([w], None) for w in words) if words else _stdin_queries("words")
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    code = _answer_queries(queries, lambda terms: vectors.most_similar(
        terms, topn=topn, restrict_vocab=restrict), json_out)
    if code:
        raise typer.Exit(code)


@app.command()
def analogy(
    words: Optional[List[str]] = typer.Argument(
        None, help="A B C: answer A - B + C (king man woman -> queen). None: read one "
                   "'A B C' query per line from stdin."),
    model: Optional[str] = QueryModelOption,
    topn: int = typer.Option(5, "--topn", "-k", min=1, help="Answers per query."),
    method: str = typer.Option("add", "--method", metavar="add|mul",
                               help="add: 3CosAdd (vector offset); mul: 3CosMul (Levy & "
                                    "Goldberg 2014)."),
    restrict: Optional[int] = RestrictOption,
    json_out: bool = JsonLinesOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
    limit: Optional[int] = LimitOption,
):
    """Solve word analogies: A is to B as what is to C, i.e. the words nearest A - B + C.

    One line per query: the query, then TAB-separated "word score" pairs; the three query
    words are never answers. An unknown word gets one stderr line and exit code 3.

    \b
    Example:
      staticvec analogy king man woman -m vectors.bin
      printf 'paris france italy\\nking man woman\\n' | staticvec analogy -m vectors.bin --json
    """
    _check_choice("--method", method, ("add", "mul"))
    if words and len(words) != 3:
        raise BadOptionError(f"analogy takes 3 words A B C (for A - B + C), got {len(words)}")
    _check_model_options(model, fmt, encoding_errors)
    streamed = words and _streamed_answers(model, fmt, encoding_errors,
                                           [([words[0], words[2]], [words[1]])], limit=limit,
                                           topn=topn,
                                           restrict_vocab=restrict, method=method)
    if streamed:
        code = _answer_queries([(words, None)], _replay(streamed), json_out)
        if code:
            raise typer.Exit(code)
        return

    def checked(lines):
        for terms, problem in lines:
            if problem is None and terms and len(terms) != 3:
                problem = BadOptionError(f"analogy query {' '.join(terms)!r}: needs 3 words "
                                         f"A B C, got {len(terms)}")
            yield terms, problem

    queries = [(words, None)] if words else checked(_stdin_queries("analogy queries"))
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    code = _answer_queries(queries, lambda t: vectors.analogy(
        t[0], t[1], t[2], topn=topn, method=method, restrict_vocab=restrict), json_out)
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------- print-vectors
@app.command("print-vectors")
def print_vectors(
    words: Optional[List[str]] = typer.Argument(
        None, metavar="[WORDS]...", help="Words to print. None: read words from stdin (a blank "
                                         "line gives an empty output line)."),
    model: Optional[str] = QueryModelOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
    limit: Optional[int] = LimitOption,
):
    """Print the vectors of words, one "word v1 ... vd" line each, in the order given.

    Values are formatted as in a text vectors file. On a fastText .bin, words outside the
    vocabulary get their n-gram vectors (fastText's print-word-vectors); an unknown word
    gets one stderr line and exit code 3 (its line holds the word alone), and the other
    words are still printed.

    \b
    Example:
      staticvec print-vectors -m model.bin king computr
      cut -f1 words.tsv | staticvec print-vectors -m vectors.bin > subset.txt
    """
    from staticvec.errors import InputError, UnknownWordError
    from staticvec.io.word2vec_text import text_rows

    _check_model_options(model, fmt, encoding_errors)
    lines = ((([w], None) for w in words) if words else _stdin_queries("words"))
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    out = sys.stdout.buffer
    code = 0
    for terms, problem in lines:
        if problem is not None:
            _print_error(str(problem))
            code = max(code, problem.exit_code)
            out.write(b"\n")
        elif not terms:
            out.write(b"\n")
        for word in terms if problem is None else ():
            try:
                vec = vectors.vector(word)
            except (UnknownWordError, InputError) as exc:
                _print_error(str(exc))
                code = max(code, exc.exit_code)
                out.write(word.encode("utf-8") + b"\n")
                continue
            out.write(text_rows([word.encode("utf-8")], vec[None, :]))
        out.flush()
    if code:
        raise typer.Exit(code)
