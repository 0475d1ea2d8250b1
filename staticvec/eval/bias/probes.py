"""Analogy probes: X - a + b for probe words X and pairs (a, b), e.g. doctor - man + woman."""
import numpy as np

from staticvec.eval.bias.sets import find_words, gender_neutral_professions, lookup

DEFAULT_PROBE_PAIRS = (("man", "woman"),)
DEFAULT_PROBE_COUNT = 20


def default_probe_words(vectors, count=DEFAULT_PROBE_COUNT):
    """The ``count`` most frequent gender-neutral professions (lowest ids come first)."""
    found = [(row, word) for word in gender_neutral_professions()
             if (row := lookup(vectors, word)) is not None]
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
    found, _, missing = find_words(vectors, words)
    usable_pairs, missing_pairs = [], []
    for a, b in pairs:
        if lookup(vectors, a) is None or lookup(vectors, b) is None:
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
    row = lookup(vectors, word)
    return vectors.words[row]
