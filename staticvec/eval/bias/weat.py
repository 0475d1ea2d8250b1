"""WEAT (Caliskan, Bryson & Narayanan 2017): association scores, the effect size d, the
statistic S and a one-sided permutation p-value (the conventions are in ``__init__``)."""
import itertools
import math

import numpy as np

from staticvec.errors import BadOptionError
from staticvec.eval.bias.sets import find_words, unit_rows

MIN_SET_SIZE = 2
_CHUNK = 20000


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
        found, found_rows, missing = find_words(vectors, words)
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
    A = unit_rows(vectors, rows["A"])
    B = unit_rows(vectors, rows["B"])
    s_x = association(unit_rows(vectors, rows["X"]), A, B)
    s_y = association(unit_rows(vectors, rows["Y"]), A, B)
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
