"""`evaluate analogy` and `evaluate similarity`: benchmark scores, as tables or JSON."""
import os
from typing import Optional

import typer

from staticvec.cli.app import EncodingErrorsOption, _check_choice, app
from staticvec.cli.query import (LimitOption, ModelFormatOption, QueryModelOption,
                                 load_query_model)


# ---------------------------------------------------------------- evaluate
# (evaluate analogy, evaluate similarity)
evaluate_app = typer.Typer(help="Score vectors on word-analogy and word-similarity benchmarks "
                                "(numbers as gensim computes them).\n\n\b\nExample:\n"
                                "  staticvec evaluate analogy questions-words.txt -m vectors.bin\n"
                                "  staticvec evaluate similarity wordsim353.tsv -m vectors.bin",
                           no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                           context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(evaluate_app, name="evaluate")
JsonObjectOption = typer.Option(False, "--json", help="Print the results as one JSON object.")
OovOption = typer.Option(False, "--oov",
                         help="Score out-of-vocabulary items with the vectors the model can still "
                              "build (fastText n-grams, words past --restrict) instead of "
                              "skipping them.")


@evaluate_app.command("analogy")
def evaluate_analogy(
    questions: str = typer.Argument(..., help="Analogy questions, questions-words.txt format: "
                                              "': section' lines, then 'a b c d' lines."),
    model: Optional[str] = QueryModelOption,
    restrict: int = typer.Option(30000, "--restrict", min=0,
                                 help="Only the first N words are candidates and only questions "
                                      "within them are scored (0: all words)."),
    method: str = typer.Option("add", "--method", metavar="add|mul", help="add: 3CosAdd; mul: 3CosMul."),
    oov: bool = OovOption,
    json_out: bool = JsonObjectOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
    limit: Optional[int] = LimitOption,
):
    """Accuracy on an analogy set (a : b :: c : ?), per section and in total.

    The rules of gensim's evaluate_word_analogies (case-insensitive, questions with words
    outside the first --restrict words counted as OOV and skipped); semantic/syntactic
    totals for the Google set.

    \b
    Example:
      staticvec evaluate analogy data/eval/questions-words.txt -m vectors.bin
    """
    import json

    from staticvec.eval.benchmarks import evaluate_analogies

    _check_choice("--method", method, ("add", "mul"))
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    result = evaluate_analogies(vectors, questions, restrict=restrict or None, method=method,
                                oov=oov)
    if json_out:
        print(json.dumps(result, ensure_ascii=False, allow_nan=False))
        return
    width = max([len(s["section"]) for s in result["sections"]] + [9])

    def row(name, part):
        return (f"{name:<{width}}  {100 * part['accuracy']:6.2f}%  "
                f"{part['correct']:>6}/{part['total']:<6}  oov {part['oov']}")

    for section in result["sections"]:
        print(row(section["section"], section))
    for name in ("semantic", "syntactic", "total"):
        if name in result:
            print(row(name, result[name]))
    scope = f"the first {restrict:,} words" if restrict else "the vocabulary"
    print(f"questions {result['questions']}, oov {result['oov_questions']} "
          f"({100 * result['oov_ratio']:.1f}%, words outside {scope}; "
          f"{'scored with built vectors' if oov else 'skipped'})" + _malformed_note(result))


def _malformed_note(result):
    """``, N malformed lines skipped (first: line L)`` when the benchmark file had any."""
    count = result["malformed_lines"]
    return (f", {count} malformed line{'s' if count != 1 else ''} skipped (first: line "
            f"{result['first_malformed_line']})") if count else ""


@evaluate_app.command("similarity")
def evaluate_similarity_cmd(
    pairs: str = typer.Argument(..., help="Word pairs with human scores: 'word1 word2 score' "
                                          "lines, TAB- or space-separated, '#' comments."),
    model: Optional[str] = QueryModelOption,
    restrict: int = typer.Option(300000, "--restrict", min=0,
                                 help="Pairs with words outside the first N words count as OOV "
                                      "(gensim's default; 0: all words)."),
    oov: bool = OovOption,
    json_out: bool = JsonObjectOption,
    fmt: Optional[str] = ModelFormatOption,
    encoding_errors: str = EncodingErrorsOption,
    limit: Optional[int] = LimitOption,
):
    """Pearson and Spearman correlation with human similarity scores (WordSim-353, SimLex-999).

    The rules of gensim's evaluate_word_pairs (case-insensitive; pairs with an unknown
    word skipped and reported as the OOV ratio).

    \b
    Example:
      staticvec evaluate similarity data/eval/wordsim353.tsv -m vectors.bin
    """
    import json

    from staticvec.eval.benchmarks import evaluate_similarity

    vectors = load_query_model(model, fmt, encoding_errors, limit)
    result = evaluate_similarity(vectors, pairs, restrict=restrict or None, oov=oov)
    if json_out:
        print(json.dumps(result, ensure_ascii=False, allow_nan=False))
        return

    def corr(value):  # None: undefined (every score equal, or one pair)
        return "n/a" if value is None else f"{value:.4f}"

    print(f"{os.path.basename(pairs)}  pearson {corr(result['pearson'])}  spearman "
          f"{corr(result['spearman'])}  oov {100 * result['oov_ratio']:.1f}% "
          f"({result['oov_pairs']}/{result['pairs']} pairs"
          f"{', ' + str(result['oov_scored_pairs']) + ' scored with built vectors' if oov else ''})"
          + _malformed_note(result))
