"""The gender direction (Bolukbasi et al. 2016): first principal component of the centred
definitional pairs, DirectBias, and the professions furthest along it."""
import numpy as np

from staticvec.eval.bias.sets import (definitional_pairs, find_words,
                                      gender_neutral_professions, lookup, unit_rows)


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
        f_row, m_row = lookup(vectors, female), lookup(vectors, male)
        if f_row is None or m_row is None:
            missing_pairs.append([female, male])
        else:
            found_pairs.append([female, male])
            female_rows.append(f_row)
            male_rows.append(m_row)
    found, rows, missing = find_words(vectors, words)
    result = {"status": "ok", "reason": None,
              "pairs": {"found": len(found_pairs), "total": len(pairs), "missing": missing_pairs},
              "professions": {"found": len(found), "total": len(words), "missing": missing},
              "variance_explained": None, "direct_bias": None, "female_side": [],
              "male_side": []}
    if len(found_pairs) < 2:
        result.update(status="skipped", reason=f"only {len(found_pairs)}/{len(pairs)} definitional "
                      "pairs in the model (need at least 2 for a principal component)")
        return result, None
    direction, ratios = principal_direction(unit_rows(vectors, female_rows),
                                            unit_rows(vectors, male_rows))
    result["variance_explained"] = [float(r) for r in ratios[:10]]
    if not found:
        result.update(status="partial", reason="no profession of the list is in the model")
        return result, direction
    projections = unit_rows(vectors, rows) @ direction
    order = np.argsort(projections, kind="stable")
    k = min(top_k, len(found))
    result["direct_bias"] = direct_bias(projections)
    result["female_side"] = [[found[i], float(projections[i])] for i in order[:k]]
    result["male_side"] = [[found[i], float(projections[i])] for i in order[::-1][:k]]
    return result, direction
