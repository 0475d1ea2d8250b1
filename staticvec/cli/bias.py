"""`bias-audit`: WEAT, the gender direction and analogy probes, as a report."""
import sys
from typing import Optional

import typer

from staticvec.cli.app import QuietOption, _check_choice, app
from staticvec.cli.query import LimitOption
from staticvec.errors import BadOptionError


# ---------------------------------------------------------------- bias
# (bias-audit)
@app.command("bias-audit")
def bias_audit(
    model: str = typer.Option(..., "--model", "-m", metavar="MODEL", envvar="STATICVEC_MODEL",
                              help="Vectors to audit (word2vec .bin/.txt, GloVe .txt, fastText "
                                   ".bin/.vec); default $STATICVEC_MODEL."),
    only: Optional[str] = typer.Option(None, "--only", metavar="PART",
                                       help="Run one part: weat, direction or probes."),
    tests: Optional[str] = typer.Option(None, "--tests", metavar="FILE",
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
    probes: Optional[str] = typer.Option(None, "--probes", metavar="FILE",
                                         help="Probe JSON {\"words\": [...], \"pairs\": [[\"man\", "
                                              "\"woman\"], ...]}; either key optional (default: "
                                              "the most frequent professions, man/woman)."),
    probe_count: int = typer.Option(20, "--probe-count", min=1,
                                    help="Default probe words: this many most frequent "
                                         "gender-neutral professions."),
    fail_above: Optional[float] = typer.Option(None, "--fail-above", metavar="D", min=0.0,
                                               help="Exit 4 if any WEAT |d| exceeds this (after "
                                                    "printing the report)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    plot: Optional[str] = typer.Option(None, "--plot", metavar="FILE",
                                       help="Also draw the professions along the gender "
                                            "direction (.png/.svg/.pdf; needs matplotlib)."),
    limit: Optional[int] = LimitOption,
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

    from staticvec.eval.bias import report as bias_report
    from staticvec.eval.bias import sets

    if only is not None:
        _check_choice("--only", only, bias_report.PARTS)
    for option, value, part in (("--fail-above", fail_above, "weat"), ("--tests", tests, "weat"),
                                ("--probes", probes, "probes")):
        if value is not None and only not in (None, part):
            raise BadOptionError(f"{option} belongs to the {part} part: it cannot be combined "
                                 f"with --only {only}")
    if plot is not None:
        if only not in (None, "direction"):
            raise BadOptionError(f"--plot draws the gender direction: it cannot be combined "
                                 f"with --only {only}")
        from staticvec.cli.plot import check_picture_output

        check_picture_output(plot, [("--model", model)])
    custom_tests = sets.load_weat_tests(tests) if tests is not None else None
    probe_spec = sets.load_probes(probes) if probes is not None else None
    from staticvec.io.dispatch import load_vectors

    start = time.monotonic()
    vectors = load_vectors(model, limit=limit)
    report = {"model": model}
    report.update(bias_report.audit(vectors, only=only, tests=custom_tests, exact_limit=exact_limit,
                             permutations=permutations, seed=seed, top_k=top, probes=probe_spec,
                             probe_count=probe_count))
    if fail_above is not None:
        bias_report.evaluate_gate(report, fail_above)
    if json_out:
        sys.stdout.write(bias_report.to_json(report))
    elif sys.stdout.isatty():
        from rich.console import Console

        _render_rich(report, Console(file=sys.stdout), model=model)
    else:
        sys.stdout.write(bias_report.render_plain(report, model=model))
    sys.stdout.flush()
    if "weat" in report:
        ran = sum(t["status"] == "ok" for t in report["weat"]["tests"])
        if not quiet:
            print(f"bias-audit: {ran}/{len(report['weat']['tests'])} WEAT tests run "
                  f"({len(report['weat']['tests']) - ran} skipped for missing words), "
                  f"{time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
    if plot is not None:
        _plot_direction(report["direction"], plot, model)
    bias_report.enforce_gate(report)


def _plot_direction(section, path, model):
    from staticvec.errors import StaticvecError
    from staticvec.io.pictures import direction_strip

    if not section["female_side"]:
        raise StaticvecError(f"--plot: nothing to draw: {section['reason']}")
    direction_strip(path, section["female_side"], section["male_side"],
                    title=f"professions along the gender direction ({model})")


def _render_rich(audit, console, model=None):
    """The audit report as rich tables on a terminal (``report.render_plain``: plain text)."""
    from rich.markup import escape
    from rich.table import Table

    from staticvec.eval.bias import report as bias_report

    console.print(f"[bold]bias audit[/] of {escape(str(model or 'the model'))}: "
                  f"{audit['vocab_size']:,} words, {audit['dim']} dims", highlight=False)
    if "weat" in audit:
        header, rows = bias_report.weat_rows(audit["weat"])
        table = Table(title=bias_report.WEAT_TITLE, title_justify="left",
                      caption=bias_report.WEAT_NOTE, caption_justify="left")
        for i, h in enumerate(header):
            table.add_column(h, justify="right" if i in (1, 2, 3) else "left",
                             overflow="fold")
        for t, row in zip(audit["weat"]["tests"], rows):
            table.add_row(*row, style="dim" if t["status"] == "skipped" else None)
        console.print(table)
        for t in audit["weat"]["tests"]:
            if t["status"] == "skipped":
                console.print(f"skipped: {bias_report.short_name(t['name'])}: {t['reason']}",
                              highlight=False, markup=False)
    if "direction" in audit:
        console.print("\n[bold]Gender direction[/] (Bolukbasi et al. 2016): first principal "
                      "component of the centred definitional pairs; projections > 0 = male side",
                      highlight=False)
        for line in bias_report.direction_lines(audit["direction"]):
            console.print(line, highlight=False, markup=False)
    if "probes" in audit:
        for line in bias_report.probe_intro(audit["probes"]):
            console.print(line, highlight=False, markup=False)
        for title, header, rows in bias_report.probe_tables(audit["probes"]):
            table = Table(title=title, title_justify="left", caption=bias_report.PROBE_NOTE,
                          caption_justify="left")
            for i, h in enumerate(header):
                table.add_column(h, justify="right" if i in (2, 3, 5, 6) else "left")
            for row in rows:
                table.add_row(*row)
            console.print(table)
    if "gate" in audit:
        g = audit["gate"]
        console.print(f"\ngate --fail-above {g['fail_above']:g}: " + (
            "[green]passed[/]" if g["passed"] else f"[red]FAILED[/]: {g['reason']}"),
            highlight=False)
