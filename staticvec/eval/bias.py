"""Bias checks on a set of vectors: WEAT, the gender direction, analogy probes.

"doctor - man + woman ~ nurse" is a property of the vectors, not of the tool that trained
them, so a release of vectors should be checked for it like any other regression. This
module computes the numbers (as a plain dict, ready for JSON) and formats them; the CLI
only parses options and prints.

Conventions (stated once here, repeated in the report):

* Words are looked up as written, then lower-cased; words not in the vocabulary are
  dropped from their set and counted in the coverage ("found/total"), never imputed.
* Cosines are computed in float64 from the stored rows, independent of the float32
  normalised matrix used for nearest-neighbour queries.
* WEAT (Caliskan, Bryson & Narayanan 2017): s(w,A,B) = mean_a cos(w,a) - mean_b cos(w,b);
  S = sum_x s(x) - sum_y s(y); d = (mean_x s - mean_y s) / std_{X u Y} s with the sample
  standard deviation (ddof=1), as in the paper. The one-sided p-value is the share of
  partitions of X u Y into sets of sizes |X|, |Y| whose X-part has an S at least as large
  as the observed one (the observed partition included, so p > 0). When words are missing
  the two target sets can differ in size; the partition keeps the sizes found.
* Gender direction (Bolukbasi et al. 2016): first principal component of the definitional
  pairs, each pair centred on its own mean (as debiaswe does), on unit vectors; oriented
  so that positive projections are on the male side of the pairs.
"""
import itertools
import json
import math
import os
from importlib import resources

import numpy as np

from staticvec.errors import BadOptionError, GateFailed, InputError

PARTS = ("weat", "direction", "probes")
SET_KEYS = (("targets", "X"), ("targets", "Y"), ("attributes", "A"), ("attributes", "B"))
MIN_SET_SIZE = 2
DEFAULT_PROBE_PAIRS = (("man", "woman"),)
DEFAULT_PROBE_COUNT = 20
_CHUNK = 20000


# ---------------------------------------------------------------- word lists

def _data_text(*parts):
    return resources.files("staticvec.data").joinpath(*parts).read_text(encoding="utf-8")


def shipped_weat_tests():
    """The ten WEAT tests of Caliskan et al. 2017, in order WEAT 1 ... WEAT 10."""
    return [_validate_test(json.loads(_data_text("weat", f"weat{i}.json")), f"weat{i}.json", 1)
            for i in range(1, 11)]


def load_weat_tests(path):
    """Custom WEAT tests: one test object (the shipped schema) or a list of them."""
    data = _read_json(path)
    tests = data if isinstance(data, list) else [data]
    if not tests:
        raise InputError(f"{path}: no WEAT test in the file (expected an object with "
                         "targets.X, targets.Y, attributes.A, attributes.B, or a list of them)")
    stem = os.path.splitext(os.path.basename(path))[0]
    return [_validate_test(obj, path, i, stem if len(tests) == 1 else f"{stem} #{i}")
            for i, obj in enumerate(tests, 1)]


def _read_json(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{path}: not usable JSON: {str(exc).split(':')[0]}") from None


def _is_word(value):
    """A non-empty string that can be printed (JSON's "\\ud800" escapes make lone surrogates)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate_test(obj, source, number, default_name=None):
    where = f"{source}: test {number}"
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object with targets.X, targets.Y, "
                         "attributes.A, attributes.B")
    name = obj.get("name", default_name or f"test {number}")
    if not _is_word(name):
        raise InputError(f"{where}: 'name' must be a non-empty string")
    if "name" in obj:
        where += f" ({name})"
    sets = {}
    for group, key in SET_KEYS:
        inner = obj.get(group)
        if not isinstance(inner, dict) or key not in inner:
            raise InputError(f"{where}: missing key '{group}.{key}' (each test needs "
                             "targets.X, targets.Y, attributes.A, attributes.B: lists of words)")
        words = inner[key]
        if not isinstance(words, list) or not all(_is_word(w) for w in words):
            raise InputError(f"{where}: '{group}.{key}' must be a list of words")
        sets[key] = list(dict.fromkeys(words))  # duplicates would weigh a word twice
    source = obj.get("source")
    if source is not None and not (_is_word(source) or source == ""):
        raise InputError(f"{where}: 'source' must be a string")
    return {"name": name, "source": source, "sets": sets}


def definitional_pairs():
    """The ten [female, male] pairs of Bolukbasi et al. 2016 (debiaswe)."""
    return [tuple(p) for p in json.loads(_data_text("debiaswe", "definitional_pairs.json"))]


def professions():
    """debiaswe's professions list: [(word, definitional score, stereotypical score)]."""
    return [tuple(p) for p in json.loads(_data_text("debiaswe", "professions.json"))]


def gender_neutral_professions():
    """Professions minus debiaswe's gender-specific words (actress, businessman, dad, ...)."""
    specific = {w.lower() for w in json.loads(_data_text("debiaswe", "gender_specific_full.json"))}
    return [p[0] for p in professions() if p[0].lower() not in specific]


def load_probes(path):
    """A probe file: {"words": [...], "pairs": [[a, b], ...]}; either key may be left out."""
    data = _read_json(path)
    hint = '(expected {"words": ["doctor", ...], "pairs": [["man", "woman"], ...]})'
    if not isinstance(data, dict) or not ({"words", "pairs"} & set(data)):
        raise InputError(f"{path}: needs a 'words' list and/or a 'pairs' list {hint}")
    unknown = set(data) - {"words", "pairs"}
    if unknown:
        raise InputError(f"{path}: unknown key {sorted(unknown)[0]!r} {hint}")
    words = data.get("words")
    if words is not None and (not isinstance(words, list) or not words
                              or not all(_is_word(w) for w in words)):
        raise InputError(f"{path}: 'words' must be a non-empty list of words {hint}")
    pairs = data.get("pairs")
    if pairs is not None:
        if (not isinstance(pairs, list) or not pairs or not all(
                isinstance(p, list) and len(p) == 2 and all(_is_word(w) for w in p)
                for p in pairs)):
            raise InputError(f"{path}: 'pairs' must be a non-empty list of [a, b] word pairs "
                             f"{hint}")
        pairs = [tuple(p) for p in pairs]
    return {"words": words, "pairs": pairs}


# ---------------------------------------------------------------- vector access

def _lookup(vectors, word):
    """Row of ``word``: as written, else lower-cased; None if absent."""
    row = vectors.index.get(word)
    if row is None and word.lower() != word:
        row = vectors.index.get(word.lower())
    return row


def _unit_rows(vectors, rows):
    matrix = np.asarray(vectors.matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _coverage(vectors, words):
    found, rows, missing = [], [], []
    for word in words:
        row = _lookup(vectors, word)
        if row is None:
            missing.append(word)
        else:
            found.append(word)
            rows.append(row)
    return found, rows, missing


# ---------------------------------------------------------------- WEAT

def association(W, A, B):
    """s(w, A, B) for every row w of W (all arguments: unit rows)."""
    return (W @ A.T).mean(axis=1) - (W @ B.T).mean(axis=1)


def effect_size(s_x, s_y):
    """Caliskan's d: difference of means over the sample std of X u Y (nan if it is 0)."""
    pooled = np.std(np.concatenate([s_x, s_y]), ddof=1)
    if not pooled > 0:
        return float("nan")
    return float((np.mean(s_x) - np.mean(s_y)) / pooled)


def weat_statistic(s_x, s_y):
    """Caliskan's S = sum_x s(x, A, B) - sum_y s(y, A, B)."""
    return float(np.sum(s_x) - np.sum(s_y))


def permutation_p_value(s, n_x, exact_limit=100_000, permutations=100_000, seed=0):
    """One-sided p of the observed split s[:n_x] | s[n_x:] among all splits of the same sizes.

    For a fixed pool, S = 2 * sum(X part) - sum(pool) and the difference of means is an
    increasing function of sum(X part) too, so ranking splits by the sum of their X part
    ranks them by S and by d alike; a permutation is then just a sum of indices.
    Exact: every one of C(n, n_x) splits, p = #{S_i >= S} / C(n, n_x). Sampled: ``permutations``
    uniform random splits, p = (1 + #{S_i >= S}) / (permutations + 1) (never 0).
    """
    s = np.asarray(s, dtype=np.float64)
    n = len(s)
    if not 0 < n_x < n:
        raise ValueError("both sides of the split need at least one word")
    observed = s[:n_x].sum()
    tol = 1e-10 * max(float(np.abs(s).sum()), 1e-300)  # float sums in another order: ties
    threshold = observed - tol
    total = math.comb(n, n_x)
    if total <= exact_limit:
        hits = 0
        combos = itertools.combinations(range(n), n_x)
        while True:
            chunk = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, _CHUNK)),
                                dtype=np.intp)
            if chunk.size == 0:
                break
            hits += int(np.count_nonzero(s[chunk.reshape(-1, n_x)].sum(axis=1) >= threshold))
        return {"p_value": hits / total, "method": "exact", "partitions": total,
                "at_least_as_extreme": hits}
    if permutations < 1:
        raise BadOptionError(f"--permutations must be at least 1 (got {permutations})")
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    base = np.arange(n, dtype=np.intp)
    chunk = max(1, min(_CHUNK, 4_000_000 // n))  # bounded memory for large custom sets
    while done < permutations:
        size = min(chunk, permutations - done)
        order = rng.permuted(np.broadcast_to(base, (size, n)), axis=1)
        hits += int(np.count_nonzero(s[order[:, :n_x]].sum(axis=1) >= threshold))
        done += size
    return {"p_value": (hits + 1) / (permutations + 1), "method": "sampled",
            "partitions": permutations, "at_least_as_extreme": hits}


def run_weat(vectors, test, exact_limit=100_000, permutations=100_000, seed=0):
    """One WEAT test on ``vectors``: a JSON-ready dict (status "ok" or "skipped")."""
    coverage, rows = {}, {}
    for key in ("X", "Y", "A", "B"):
        words = test["sets"][key]
        found, found_rows, missing = _coverage(vectors, words)
        coverage[key] = {"found": len(found), "total": len(words), "missing": missing}
        rows[key] = found_rows
    result = {"name": test["name"], "source": test.get("source"), "coverage": coverage,
              "status": "ok", "reason": None, "effect_size": None, "statistic": None,
              "mean_s_x": None, "mean_s_y": None, "std_s": None, "p_value": None,
              "p_method": None, "partitions": None}
    short = [f"{k} has {c['found']}/{c['total']} words in the model" for k, c in coverage.items()
             if c["found"] < MIN_SET_SIZE]
    if short:
        result.update(status="skipped",
                      reason="; ".join(short) + f" (need at least {MIN_SET_SIZE} in each set)")
        return result
    A = _unit_rows(vectors, rows["A"])
    B = _unit_rows(vectors, rows["B"])
    s_x = association(_unit_rows(vectors, rows["X"]), A, B)
    s_y = association(_unit_rows(vectors, rows["Y"]), A, B)
    d = effect_size(s_x, s_y)
    result.update(statistic=weat_statistic(s_x, s_y), mean_s_x=float(s_x.mean()),
                  mean_s_y=float(s_y.mean()),
                  std_s=float(np.std(np.concatenate([s_x, s_y]), ddof=1)))
    if math.isnan(d):
        result.update(status="skipped",
                      reason="every word has the same association score (std 0): d undefined")
        return result
    p = permutation_p_value(np.concatenate([s_x, s_y]), len(s_x), exact_limit, permutations, seed)
    result.update(effect_size=d, p_value=p["p_value"], p_method=p["method"],
                  partitions=p["partitions"])
    return result


# ---------------------------------------------------------------- gender direction

def principal_direction(first, second):
    """First principal component of pairs (first[i], second[i]), each centred on its mean.

    Returns (unit direction pointing from ``first`` towards ``second`` on average, share of
    variance of every component, largest first).
    """
    centre = (first + second) / 2.0
    stacked = np.concatenate([first - centre, second - centre])
    _, singular, vt = np.linalg.svd(stacked, full_matrices=False)
    power = singular ** 2
    ratios = power / power.sum() if power.sum() > 0 else power
    direction = vt[0]
    if np.sum((second - first) @ direction) < 0:
        direction = -direction
    return direction, ratios


def direct_bias(projections, c=1.0):
    """Bolukbasi's DirectBias_c: mean |cos(w, g)|^c over gender-neutral words."""
    return float(np.mean(np.abs(projections) ** c))


def gender_direction(vectors, pairs=None, words=None, top_k=10):
    """The gender direction, its variance share, DirectBias and the most biased professions."""
    pairs = definitional_pairs() if pairs is None else pairs
    words = gender_neutral_professions() if words is None else words
    found_pairs, missing_pairs, female_rows, male_rows = [], [], [], []
    for female, male in pairs:
        f_row, m_row = _lookup(vectors, female), _lookup(vectors, male)
        if f_row is None or m_row is None:
            missing_pairs.append([female, male])
        else:
            found_pairs.append([female, male])
            female_rows.append(f_row)
            male_rows.append(m_row)
    found, rows, missing = _coverage(vectors, words)
    result = {"status": "ok", "reason": None,
              "pairs": {"found": len(found_pairs), "total": len(pairs), "missing": missing_pairs},
              "professions": {"found": len(found), "total": len(words), "missing": missing},
              "variance_explained": None, "direct_bias": None, "female_side": [],
              "male_side": []}
    if len(found_pairs) < 2:
        result.update(status="skipped", reason=f"only {len(found_pairs)}/{len(pairs)} definitional "
                      "pairs in the model (need at least 2 for a principal component)")
        return result, None
    direction, ratios = principal_direction(_unit_rows(vectors, female_rows),
                                            _unit_rows(vectors, male_rows))
    result["variance_explained"] = [float(r) for r in ratios[:10]]
    if not found:
        result.update(status="partial", reason="no profession of the list is in the model")
        return result, direction
    projections = _unit_rows(vectors, rows) @ direction
    order = np.argsort(projections, kind="stable")
    k = min(top_k, len(found))
    result["direct_bias"] = direct_bias(projections)
    result["female_side"] = [[found[i], float(projections[i])] for i in order[:k]]
    result["male_side"] = [[found[i], float(projections[i])] for i in order[::-1][:k]]
    return result, direction


# ---------------------------------------------------------------- analogy probes

def default_probe_words(vectors, count=DEFAULT_PROBE_COUNT):
    """The ``count`` most frequent gender-neutral professions (lowest ids come first)."""
    found = [(row, word) for word in gender_neutral_professions()
             if (row := _lookup(vectors, word)) is not None]
    return [word for _, word in sorted(found)[:count]]


def _score_of(vectors, word, positive, negative):
    """Cosine of ``word`` with the 3CosAdd target (the score most_similar would give it)."""
    target = np.zeros(vectors.dim, dtype=np.float64)
    for w in positive:
        target += vectors.vector(w, norm=True)
    for w in negative:
        target -= vectors.vector(w, norm=True)
    norm = np.linalg.norm(target)
    if not norm:
        return 0.0
    return float(np.asarray(vectors.vector(word, norm=True), dtype=np.float64) @ target / norm)


def analogy_probes(vectors, words=None, pairs=None, count=DEFAULT_PROBE_COUNT):
    """X - a + b and X - b + a for each probe word X and pair (a, b), 3CosAdd, inputs excluded.

    With the inputs excluded the answer can never be X itself, so each answer is also
    compared with X's own score: ``beats_x`` means that even with X allowed the answer
    would differ from X, which is when the probe says something about the vectors.
    """
    pairs = list(DEFAULT_PROBE_PAIRS) if pairs is None else [tuple(p) for p in pairs]
    if words is None:
        words = default_probe_words(vectors, count)
        chosen = f"the {len(words)} most frequent gender-neutral professions in the model"
    else:
        chosen = "from the probe file"
    found, _, missing = _coverage(vectors, words)
    usable_pairs, missing_pairs = [], []
    for a, b in pairs:
        if _lookup(vectors, a) is None or _lookup(vectors, b) is None:
            missing_pairs.append([a, b])
        else:
            usable_pairs.append((a, b))
    results = []
    for a, b in usable_pairs:
        for x in found:
            if x in (a, b):
                continue
            row = {"word": x, "pair": [a, b]}
            for key, pos, neg in (("minus_a_plus_b", b, a), ("minus_b_plus_a", a, b)):
                q_x, q_pos, q_neg = (_as_in_model(vectors, w) for w in (x, pos, neg))
                answers = vectors.most_similar(positive=[q_x, q_pos], negative=[q_neg], topn=1)
                if not answers:
                    row[key] = None
                    continue
                answer, score = answers[0]
                x_score = _score_of(vectors, q_x, [q_x, q_pos], [q_neg])
                row[key] = {"answer": answer, "score": float(score), "x_score": x_score,
                            "beats_x": bool(score > x_score)}
            results.append(row)
    return {"status": "ok" if usable_pairs and found else "skipped",
            "reason": None if usable_pairs and found else
            ("no probe pair has both words in the model" if not usable_pairs
             else "no probe word is in the model"),
            "words": {"found": len(found), "total": len(words), "missing": missing,
                      "chosen": chosen},
            "pairs": {"found": len(usable_pairs), "total": len(pairs), "missing": missing_pairs},
            "results": results}


def _as_in_model(vectors, word):
    row = _lookup(vectors, word)
    return vectors.words[row]


# ---------------------------------------------------------------- the audit

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
        gate["reason"] = (f"{_short(worst['name'])} |d| = {abs(worst['effect_size']):.3f} > "
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


def _short(name):
    return _split_name(name)[0]


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


def _split_name(name):
    short, sep, rest = name.partition(":")
    return (short.strip(), rest.strip()) if sep else (name, "")


def weat_rows(section):
    """(header, rows) of the WEAT table, shared by the plain and the rich output."""
    header = ["test", "d", "p", "S", "p from", "X", "Y", "A", "B", "X vs Y / A vs B"]
    rows = []
    for t in section["tests"]:
        c = t["coverage"]
        short, what = _split_name(t["name"])
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
        out += [f"skipped: {_short(t['name'])}: {t['reason']}" for t in report["weat"]["tests"]
                if t["status"] == "skipped"]
        out.append(WEAT_NOTE)
    if "direction" in report:
        out += ["", "Gender direction (Bolukbasi et al. 2016): first principal component of "
                "the centred definitional pairs; projections > 0 = male side"]
        out += direction_lines(report["direction"])
    if "probes" in report:
        out += _probe_intro(report["probes"])
        for _, header, rows in probe_tables(report["probes"]):
            out += _table(header, rows, right={2, 3, 5, 6})
        if report["probes"]["results"]:
            out.append(PROBE_NOTE)
    if "gate" in report:
        g = report["gate"]
        out += ["", f"gate --fail-above {g['fail_above']:g}: " + (
            "passed" if g["passed"] else f"FAILED: {g['reason']}")]
    return "\n".join(out) + "\n"


def _probe_intro(section):
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


def render_rich(report, console, model=None):
    """The report as rich tables on a terminal."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]bias audit[/] of {escape(str(model or 'the model'))}: "
                  f"{report['vocab_size']:,} words, {report['dim']} dims", highlight=False)
    if "weat" in report:
        header, rows = weat_rows(report["weat"])
        table = Table(title=WEAT_TITLE, title_justify="left", caption=WEAT_NOTE,
                      caption_justify="left")
        for i, h in enumerate(header):
            table.add_column(h, justify="right" if i in (1, 2, 3) else "left",
                             overflow="fold")
        for t, row in zip(report["weat"]["tests"], rows):
            table.add_row(*row, style="dim" if t["status"] == "skipped" else None)
        console.print(table)
        for t in report["weat"]["tests"]:
            if t["status"] == "skipped":
                console.print(f"skipped: {_short(t['name'])}: {t['reason']}", highlight=False,
                              markup=False)
    if "direction" in report:
        console.print("\n[bold]Gender direction[/] (Bolukbasi et al. 2016): first principal "
                      "component of the centred definitional pairs; projections > 0 = male side",
                      highlight=False)
        for line in direction_lines(report["direction"]):
            console.print(line, highlight=False, markup=False)
    if "probes" in report:
        for line in _probe_intro(report["probes"]):
            console.print(line, highlight=False, markup=False)
        for title, header, rows in probe_tables(report["probes"]):
            table = Table(title=title, title_justify="left", caption=PROBE_NOTE,
                          caption_justify="left")
            for i, h in enumerate(header):
                table.add_column(h, justify="right" if i in (2, 3, 5, 6) else "left")
            for row in rows:
                table.add_row(*row)
            console.print(table)
    if "gate" in report:
        g = report["gate"]
        console.print(f"\ngate --fail-above {g['fail_above']:g}: " + (
            "[green]passed[/]" if g["passed"] else f"[red]FAILED[/]: {g['reason']}"),
            highlight=False)


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
