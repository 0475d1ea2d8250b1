"""`bias-audit`: WEAT, the gender direction and analogy probes, as a report."""
import sys
from typing import Optional

import typer

from staticvec.cli.app import QuietOption, _check_choice, app
from staticvec.errors import BadOptionError


# ---------------------------------------------------------------- bias
# (bias-audit)
@app.command("bias-audit")
def bias_audit(
    model: str = typer.Option(..., "--model", "-m", envvar="STATICVEC_MODEL",
                              help="Vectors to audit (word2vec .bin/.txt, GloVe .txt, fastText "
                                   ".bin/.vec); default $STATICVEC_MODEL."),
    only: Optional[str] = typer.Option(None, "--only",
                                       help="Run one part: weat, direction or probes."),
    tests: Optional[str] = typer.Option(None, "--tests",
                                        help="WEAT tests to run instead of the ten shipped ones: "
                                             "JSON, one test or a list, each {\"name\", \"targets\": "
                                             "{\"X\", \"Y\"}, \"attributes\": {\"A\", \"B\"}}."),
    exact_limit: int = typer.Option(100_000, "--exact-limit", min=0,
                                    help="Enumerate every partition of X u Y when there are at "
                                         "most this many; otherwise sample --permutations."),
    permutations: int = typer.Option(100_000, "--permutations", min=1,
                                     help="Random partitions for the p-value of a large test."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled partitions."),
    top: int = typer.Option(10, "--top", "-k", min=1,
                            help="Professions to list on each side of the gender direction."),
    probes: Optional[str] = typer.Option(None, "--probes",
                                         help="Probe JSON {\"words\": [...], \"pairs\": [[\"man\", "
                                              "\"woman\"], ...]}; either key optional (default: "
                                              "the most frequent professions, man/woman)."),
    probe_count: int = typer.Option(20, "--probe-count", min=1,
                                    help="Default probe words: this many most frequent "
                                         "gender-neutral professions."),
    fail_above: Optional[float] = typer.Option(None, "--fail-above", min=0.0,
                                               help="Exit 4 if any WEAT |d| exceeds this (after "
                                                    "printing the report)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    quiet: bool = QuietOption,
):
    """Measure bias in vectors: WEAT tests, the gender direction, analogy probes.

    Prints a table on a terminal, plain text in a pipe, JSON with --json. With
    --fail-above D it is a release gate: exit 4 if any WEAT effect size |d| > D.

    \b
    Example:
      staticvec bias-audit -m vectors.bin
      staticvec bias-audit -m vectors.bin --only weat --fail-above 1.0 --json > audit.json
    """
    import time

    from staticvec.eval import bias
    from staticvec.progress import say

    if only is not None:
        _check_choice("--only", only, bias.PARTS)
    for option, value, part in (("--fail-above", fail_above, "weat"), ("--tests", tests, "weat"),
                                ("--probes", probes, "probes")):
        if value is not None and only not in (None, part):
            raise BadOptionError(f"{option} belongs to the {part} part: it cannot be combined "
                                 f"with --only {only}")
    custom_tests = bias.load_weat_tests(tests) if tests is not None else None
    probe_spec = bias.load_probes(probes) if probes is not None else None
    from staticvec.io.dispatch import load_vectors

    start = time.monotonic()
    vectors = load_vectors(model)
    report = {"model": model}
    report.update(bias.audit(vectors, only=only, tests=custom_tests, exact_limit=exact_limit,
                             permutations=permutations, seed=seed, top_k=top, probes=probe_spec,
                             probe_count=probe_count))
    if fail_above is not None:
        bias.evaluate_gate(report, fail_above)
    if json_out:
        sys.stdout.write(bias.to_json(report))
    elif sys.stdout.isatty():
        from rich.console import Console

        bias.render_rich(report, Console(file=sys.stdout), model=model)
    else:
        sys.stdout.write(bias.render_plain(report, model=model))
    sys.stdout.flush()
    if "weat" in report:
        ran = sum(t["status"] == "ok" for t in report["weat"]["tests"])
        say(f"bias-audit: {ran}/{len(report['weat']['tests'])} WEAT tests run "
            f"({len(report['weat']['tests']) - ran} skipped for missing words), "
            f"{time.monotonic() - start:.1f} s", quiet)
    bias.enforce_gate(report)
