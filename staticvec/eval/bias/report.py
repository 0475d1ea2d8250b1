"""The audit as one JSON-ready dict, the release gate on it, and its JSON and plain-text
forms (the rich tables for a terminal are drawn by the CLI from the same rows)."""
import json
import math

import numpy as np

from staticvec.errors import BadOptionError, GateFailed
from staticvec.eval.bias.direction import gender_direction
from staticvec.eval.bias.probes import DEFAULT_PROBE_COUNT, analogy_probes
from staticvec.eval.bias.sets import shipped_weat_tests
from staticvec.eval.bias.weat import run_weat

PARTS = ("weat", "direction", "probes")


def audit(vectors, only=None, tests=None, exact_limit=100_000, permutations=100_000, seed=0,
          top_k=10, probes=None, probe_count=DEFAULT_PROBE_COUNT):
    """Every part (or ``only`` one of ``PARTS``) as one JSON-ready dict."""
    if only is not None and only not in PARTS:
        raise BadOptionError(f"invalid value for --only: {only!r} (choose from {', '.join(PARTS)})")
    if exact_limit < 0:
        raise BadOptionError(f"--exact-limit must be at least 0 (got {exact_limit})")
    if permutations < 1:
        raise BadOptionError(f"--permutations must be at least 1 (got {permutations})")
    if top_k < 1:
        raise BadOptionError(f"-k/--top must be at least 1 (got {top_k})")
    parts = PARTS if only is None else (only,)
    report = {"vocab_size": len(vectors.words), "dim": int(vectors.matrix.shape[1])}
    if "weat" in parts:
        tests = shipped_weat_tests() if tests is None else tests
        report["weat"] = {"exact_limit": exact_limit, "permutations": permutations, "seed": seed,
                          "tests": [run_weat(vectors, t, exact_limit, permutations, seed)
                                    for t in tests]}
    if "direction" in parts:
        report["direction"], _ = gender_direction(vectors, top_k=top_k)
    if "probes" in parts:
        probes = probes or {}
        report["probes"] = analogy_probes(vectors, probes.get("words"), probes.get("pairs"),
                                          probe_count)
    return report


def evaluate_gate(report, fail_above):
    """Record in ``report["gate"]`` whether every WEAT |d| is at most ``fail_above``.

    A gate with nothing to check fails: no WEAT test could run, so nothing is known.
    """
    tests = report.get("weat", {}).get("tests", [])
    ran = [t for t in tests if t["status"] == "ok"]
    failing = [t for t in ran if abs(t["effect_size"]) > fail_above]
    gate = {"fail_above": fail_above, "passed": bool(ran) and not failing,
            "failing": [t["name"] for t in failing], "reason": None, "message": None}
    if not ran:
        gate["reason"] = (f"no WEAT test could be run on this model (--fail-above "
                          f"{fail_above:g} needs at least one)")
    elif failing:
        worst = max(failing, key=lambda t: abs(t["effect_size"]))
        more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
        gate["reason"] = (f"{short_name(worst['name'])} |d| = {abs(worst['effect_size']):.3f} > "
                          f"{fail_above:g}{more}")
    if gate["reason"]:
        gate["message"] = f"bias gate failed: {gate['reason']}"
    report["gate"] = gate
    return gate


def enforce_gate(report):
    """Raise GateFailed (exit 4) if the recorded gate failed; call after printing the report."""
    gate = report.get("gate")
    if gate is not None and not gate["passed"]:
        raise GateFailed(gate["message"])


def short_name(name):
    """"WEAT 1" of "WEAT 1: flowers vs insects"."""
    return split_name(name)[0]


# ---------------------------------------------------------------- text output
def _cov(c):
    return f"{c['found']}/{c['total']}"


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _p_text(t):
    if t["p_value"] is None:
        return "-"
    return f"{t['p_value']:.2g}" if t["p_value"] < 0.001 else f"{t['p_value']:.4f}"


def _p_how(t):
    return "" if t["p_method"] is None else f"{t['p_method']} {t['partitions']:,}"


def split_name(name):
    short, sep, rest = name.partition(":")
    return (short.strip(), rest.strip()) if sep else (name, "")


def weat_rows(section):
    """(header, rows) of the WEAT table, shared by the plain and the rich output."""
    header = ["test", "d", "p", "S", "p from", "X", "Y", "A", "B", "X vs Y / A vs B"]
    rows = []
    for t in section["tests"]:
        c = t["coverage"]
        short, what = split_name(t["name"])
        rows.append([short, _fmt(t["effect_size"], "+.3f"), _p_text(t),
                     _fmt(t["statistic"], "+.4f"), _p_how(t),
                     _cov(c["X"]), _cov(c["Y"]), _cov(c["A"]), _cov(c["B"]), what])
    return header, rows


def probe_tables(section):
    """One (title, header, rows) per probe pair, shared by the plain and the rich output."""
    tables = []
    for a, b in [tuple(p) for p in dict.fromkeys(tuple(r["pair"]) for r in section["results"])]:
        header = ["X", f"X - {a} + {b}", "score", "X's own", f"X - {b} + {a}", "score", "X's own"]
        rows = []
        for r in section["results"]:
            if tuple(r["pair"]) != (a, b):
                continue
            cells = [r["word"]]
            for key in ("minus_a_plus_b", "minus_b_plus_a"):
                v = r[key]
                cells += (["-", "-", "-"] if v is None else
                          [v["answer"] + (" *" if v["beats_x"] else ""), f"{v['score']:.3f}",
                           f"{v['x_score']:.3f}"])
            rows.append(cells)
        tables.append((f"pair {a}/{b}", header, rows))
    return tables


def _table(header, rows, right=()):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = []
    for row in [header] + rows:
        cells = [str(x).rjust(w) if i in right else str(x).ljust(w)
                 for i, (x, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


WEAT_TITLE = ("WEAT (Caliskan et al. 2017): effect size d (sample std), one-sided permutation "
              "p; coverage = words found/total per set")
WEAT_NOTE = ("d > 0: X is closer to A (and Y to B); |d| >= 0.8 is conventionally large. "
             "Missing words are dropped, not imputed.")
PROBE_NOTE = ("* = the answer scores higher than X's own score (X's own = cosine of X with "
              "the same target): even with X allowed, the analogy would move away from X")


def direction_lines(section):
    lines = [f"definitional pairs found: {_cov(section['pairs'])}"
             + (f" (missing: {', '.join('/'.join(p) for p in section['pairs']['missing'])})"
                if section["pairs"]["missing"] else "")]
    if section["variance_explained"] is None:
        return lines + [f"skipped: {section['reason']}"]
    share = section["variance_explained"]
    lines.append(f"variance explained by the first component: {share[0]:.3f} "
                 f"(next: {', '.join(f'{r:.3f}' for r in share[1:4])})")
    lines.append(f"gender-neutral professions found: {_cov(section['professions'])}")
    if section["direct_bias"] is None:
        return lines + [f"note: {section['reason']}"]
    lines.append(f"DirectBias (c=1, mean |cos(w, g)|): {section['direct_bias']:.4f}")
    lines.append("female side: " + ", ".join(f"{w} {p:+.3f}" for w, p in section["female_side"]))
    lines.append("male side:   " + ", ".join(f"{w} {p:+.3f}" for w, p in section["male_side"]))
    return lines


def render_plain(report, model=None):
    """The report as plain text (for pipes, logs and CI)."""
    out = [f"bias audit of {model or 'the model'}: {report['vocab_size']:,} words, "
           f"{report['dim']} dims"]
    if "weat" in report:
        out += ["", WEAT_TITLE]
        header, rows = weat_rows(report["weat"])
        out += _table(header, rows, right={1, 2, 3})
        out += [f"skipped: {short_name(t['name'])}: {t['reason']}" for t in report["weat"]["tests"]
                if t["status"] == "skipped"]
        out.append(WEAT_NOTE)
    if "direction" in report:
        out += ["", "Gender direction (Bolukbasi et al. 2016): first principal component of "
                "the centred definitional pairs; projections > 0 = male side"]
        out += direction_lines(report["direction"])
    if "probes" in report:
        out += probe_intro(report["probes"])
        for _, header, rows in probe_tables(report["probes"]):
            out += _table(header, rows, right={2, 3, 5, 6})
        if report["probes"]["results"]:
            out.append(PROBE_NOTE)
    if "gate" in report:
        g = report["gate"]
        out += ["", f"gate --fail-above {g['fail_above']:g}: " + (
            "passed" if g["passed"] else f"FAILED: {g['reason']}")]
    return "\n".join(out) + "\n"


def probe_intro(section):
    lines = ["", "Analogy probes: 3CosAdd, the three input words excluded from the answers"]
    lines.append(f"probe words ({section['words']['chosen']}): {_cov(section['words'])} found"
                 + (f" (missing: {', '.join(section['words']['missing'][:10])}"
                    f"{' ...' if len(section['words']['missing']) > 10 else ''})"
                    if section["words"]["missing"] else ""))
    lines.append(f"pairs found: {_cov(section['pairs'])}"
                 + (f" (missing: {', '.join('/'.join(p) for p in section['pairs']['missing'])})"
                    if section["pairs"]["missing"] else ""))
    if section["status"] != "ok":
        lines.append(f"skipped: {section['reason']}")
    return lines


def to_json(report):
    """JSON text; nan/inf (never expected after the checks above) become null."""
    return json.dumps(_clean(report), indent=1, ensure_ascii=False) + "\n"


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value
