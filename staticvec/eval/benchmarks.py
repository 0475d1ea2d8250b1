"""Word-analogy and word-similarity benchmarks, scored exactly as gensim scores them.

Analogy (questions-words.txt format): ``a b c expected`` asks for ``b - a + c``; only the
first ``restrict`` words of the model are candidates and only questions whose four words
are among them are scored (case-insensitive: the first case variant of a word wins), the
rest are counted as OOV. The answer is the best candidate that is not one of the three
query words, in any case variant: the rules of gensim's ``evaluate_word_analogies``.
Questions are scored in batches (one matrix product per batch) rather than one by one.

Similarity (WordSim-353 / SimLex-999): Pearson and Spearman (average ranks for ties)
between the human scores and the model's cosines, plus the share of pairs skipped as OOV,
as gensim's ``evaluate_word_pairs`` computes them, in numpy alone.

With ``oov=True`` an item outside the restricted vocabulary is still scored when the model
can give it a vector (``Vectors.has_vector``: fastText n-grams, or a word beyond
``restrict``) instead of being skipped.
"""
import math
import os

import numpy as np

from staticvec.errors import FormatError, InputError
from staticvec.model.similarity import block_cosines, cosmul_scores, mean_query, unit_vector

_BATCH = 256


def _read_lines(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a benchmark file")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: invalid UTF-8 at byte offset {exc.start}") from None
    return text.splitlines()


def _ok_vocab(words, restrict):
    """UPPER-CASED word -> index of its first case variant among the first ``restrict`` words."""
    ok = {}
    for i, word in enumerate(words[:restrict] if restrict else words):
        ok.setdefault(word.upper(), i)
    return ok


class _Malformed:
    """Lines that are neither comments nor well-formed items: counted, first one kept."""

    def __init__(self):
        self.count, self.first = 0, None

    def add(self, line_no):
        self.count += 1
        self.first = self.first or line_no

    def report(self, result):
        result["malformed_lines"] = self.count
        result["first_malformed_line"] = self.first

    def describe(self):
        return f"{self.count} malformed, first at line {self.first}" if self.count else "0 malformed"


class _Lookup:
    """Unit vectors for benchmark words: restricted vocabulary first, then (``oov``) anything
    the model can still give a vector for."""

    def __init__(self, vectors, restrict, oov):
        self.vectors = vectors
        self.ok = _ok_vocab(vectors.words, restrict)
        self.oov = oov
        self._full = None

    def in_vocab(self, upper):
        return upper in self.ok

    def vector(self, word, norm=True):
        """Vector (unit length with ``norm``) for ``word`` as written in the file, or None."""
        i = self.ok.get(word.upper())
        if i is not None:
            return self.vectors.vector(self.vectors.words[i], norm=norm)
        if not self.oov:
            return None
        if self._full is None:
            self._full = _ok_vocab(self.vectors.words, None)
        j = self._full.get(word.upper())
        if j is not None:
            return self.vectors.vector(self.vectors.words[j], norm=norm)
        if self.vectors.has_vector(word):
            vec = self.vectors.vector(word)
            return unit_vector(vec) if norm else vec
        return None


# ---------------------------------------------------------------- analogies
def evaluate_analogies(vectors, path, restrict=30000, method="add", oov=False):
    """Per-section and total accuracy on a questions-words.txt style file.

    Returns a dict (JSON-ready): ``sections`` (name, correct, total, accuracy, oov),
    ``semantic`` / ``syntactic`` (Google set: sections named ``gram*`` are syntactic),
    ``total``, ``questions``, ``oov_questions``, ``oov_ratio`` (a fraction, as every
    ratio here: gensim reports it in percent),
    ``malformed_lines`` and ``first_malformed_line`` (question lines without 4 words).
    A file without a single well-formed question, or whose questions are all OOV, is an
    error: an accuracy of 0/0 would read as a result.
    """
    if method not in ("add", "mul"):
        raise ValueError(f"unknown analogy method {method!r} (add or mul)")
    path = os.fspath(path)
    lines = _read_lines(path)
    lookup = _Lookup(vectors, restrict, oov)
    sections, questions, malformed = [], [], _Malformed()
    total_questions = oov_questions = 0
    for line_no, line in enumerate(lines, start=1):
        if line.startswith(": "):
            sections.append({"section": line.lstrip(": ").strip(), "correct": 0, "total": 0, "oov": 0})
            continue
        if not line.strip():
            continue
        if not sections:
            raise FormatError(f"{path}: line {line_no}: question before the first ': section' line")
        fields = line.split()
        if len(fields) != 4:
            malformed.add(line_no)
            continue
        total_questions += 1
        upper = [w.upper() for w in fields]
        if all(lookup.in_vocab(w) for w in upper):
            vecs = [lookup.vector(w) for w in fields[:3]]
        elif oov:
            vecs = [lookup.vector(w) for w in fields]
            vecs = None if any(v is None for v in vecs) else vecs[:3]
        else:
            vecs = None
        if vecs is None:
            oov_questions += 1
            sections[-1]["oov"] += 1
            continue
        exclude = [lookup.ok[w] for w in upper[:3] if w in lookup.ok]
        questions.append((len(sections) - 1, upper, vecs, exclude))

    if not total_questions:
        raise FormatError(f"{path}: no valid 'a b c d' question line ({malformed.describe()})")
    if not questions:
        raise FormatError(f"{path}: no question could be scored: all {total_questions:,} have a "
                          f"word outside " + (f"the first {restrict:,} words of the model"
                                              if restrict else "the model's vocabulary")
                          + (" and without a vector the model can build" if oov else "")
                          + (f" ({malformed.describe()} line(s))" if malformed.count else ""))
    end = min(restrict, len(vectors)) if restrict else len(vectors)
    step = max(1, min(_BATCH, 16_000_000 // max(end, 1)))  # bounds the scores matrix
    for start in range(0, len(questions), step):
        batch = questions[start:start + step]
        predictions = _predict(vectors, batch, end, method)
        for (section, upper, _, _), candidates in zip(batch, predictions):
            a, b, c, expected = upper
            ignore = {a, b, c}
            predicted = None
            for i in candidates:
                predicted = vectors.words[i].upper()
                if predicted in lookup.ok and predicted not in ignore:
                    break
            sections[section]["total"] += 1
            sections[section]["correct"] += int(predicted == expected)

    for section in sections:
        section["accuracy"] = _accuracy(section["correct"], section["total"])
    result = {"file": path, "restrict": restrict, "method": method, "oov_scoring": oov,
              "sections": sections}
    if any(s["section"].startswith("gram") for s in sections):
        for name, pick in (("semantic", lambda s: not s["section"].startswith("gram")),
                           ("syntactic", lambda s: s["section"].startswith("gram"))):
            chosen = [s for s in sections if pick(s)]
            result[name] = _summary(chosen)
    result["total"] = _summary(sections)
    result["questions"] = total_questions
    result["oov_questions"] = oov_questions
    result["oov_ratio"] = oov_questions / total_questions if total_questions else 0.0
    malformed.report(result)
    return result


def _accuracy(correct, total):
    return correct / total if total else 0.0


def _summary(sections):
    correct = sum(s["correct"] for s in sections)
    total = sum(s["total"] for s in sections)
    return {"correct": correct, "total": total, "accuracy": _accuracy(correct, total),
            "oov": sum(s["oov"] for s in sections)}


def _predict(vectors, batch, end, method):
    """Top-5 candidate indices (query words excluded) for each question of the batch.

    One matrix product scores the whole batch; the few candidates near each question's
    top 5 are then rescored one question at a time with the very arithmetic of
    ``Vectors.most_similar`` (gensim's), so a near-tie cannot come out differently from
    the sum order of a matrix-matrix product.
    """
    rows = vectors.matrix[:end]
    norms = vectors.norms[:end]
    zero = (norms == 0) | ~np.isfinite(norms)  # rows without a direction: never answers
    safe = np.where(zero, np.float32(1.0), norms).astype(np.float32)

    def cos(queries):
        with np.errstate(over="ignore", invalid="ignore"):
            scores = (queries @ rows.T) / safe
        scores[:, zero] = 0.0
        return scores

    if method == "add":
        terms = [[mean_query([q[2][1], q[2][2]], [q[2][0]], vectors.dim)] for q in batch]
        scores = cos(np.stack([t[0] for t in terms]))
    else:
        terms = [[q[2][1], q[2][2], q[2][0]] for q in batch]
        va, vb, vc = (np.stack([t[j] for t in terms]) for j in (2, 0, 1))
        scores = cosmul_scores([cos(vb), cos(vc)], [cos(va)])
    scores[:, zero] = -np.inf
    for k, (_, _, _, exclude) in enumerate(batch):
        scores[k, exclude] = -np.inf
    want = min(5, end)
    pool = min(32, end)
    part = np.argpartition(-scores, pool - 1, axis=1)[:, :pool] if pool < end else \
        np.broadcast_to(np.arange(end), (len(batch), end))
    out = []
    for k in range(len(batch)):
        row = scores[k]
        cand = part[k]
        values = row[cand]
        finite = values > -np.inf
        cand, values = cand[finite], values[finite]
        if len(cand) == 0:
            out.append([])
            continue
        kth = np.sort(values)[::-1][min(want, len(values)) - 1]
        floor = kth - (1e-4 + 1e-5 * abs(kth))  # far wider than float32 rounding
        if pool < end and values.min() >= floor:  # a huge block of near-ties: take them all
            cand = np.flatnonzero(row >= floor)
        else:
            cand = cand[values >= floor]
        exact = _exact_scores(rows[cand], norms[cand], terms[k], method)
        order = cand[np.lexsort((cand, -exact))]
        out.append([int(i) for i in order[:want]])
    return out


def _exact_scores(rows, norms, terms, method):
    if method == "add":
        return block_cosines(rows, norms, terms[0])
    b, c, a = (block_cosines(rows, norms, t) for t in terms)
    return cosmul_scores([b, c], [a])


# ---------------------------------------------------------------- similarity
def rankdata(values):
    """Ranks 1..n with ties given their average rank (scipy's ``rankdata`` 'average')."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # start of each run of equal values
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    run_id = np.cumsum(starts) - 1
    run_first = np.flatnonzero(starts)
    run_last = np.r_[run_first[1:], len(values)] - 1
    average = (run_first + run_last) / 2.0 + 1.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = average[run_id]
    return ranks


def pearson(x, y):
    """Pearson's r in float64. Each series is first scaled into [-1, 1] (r does not change):
    human scores near 1e308 would otherwise overflow the mean and the sums of squares."""
    x, y = _scaled(x), _scaled(y)
    xm = x - x.mean()
    ym = y - y.mean()
    denom = np.sqrt(np.dot(xm, xm)) * np.sqrt(np.dot(ym, ym))
    if denom == 0 or not np.isfinite(denom):
        return None  # undefined (a constant series): not NaN, which JSON cannot hold
    return float(np.clip(np.dot(xm, ym) / denom, -1.0, 1.0))


def _scaled(values):
    values = np.asarray(values, dtype=np.float64)
    top = float(np.max(np.abs(values))) if len(values) else 0.0
    return values / top if top > 0 else values


def spearman(x, y):
    """Spearman's rho: Pearson's r of the average ranks."""
    return pearson(rankdata(x), rankdata(y))


def evaluate_similarity(vectors, path, restrict=300000, oov=False):
    """Pearson, Spearman and OOV ratio against human similarity scores.

    Lines are ``word1 word2 score``, tab-separated (or, without tabs, whitespace-
    separated); ``#`` lines are comments. Returns a JSON-ready dict; lines with another
    number of fields, or a score that is not a finite number, are counted as
    ``malformed_lines`` (with ``first_malformed_line``). Correlations that are undefined
    (all scores equal, or a single pair) are None, never NaN.
    """
    path = os.fspath(path)
    lines = _read_lines(path)
    lookup = _Lookup(vectors, restrict, oov)
    gold, model = [], []
    pairs = oov_pairs = subword_pairs = 0
    malformed = _Malformed()
    for line_no, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        try:
            score = float(fields[2]) if len(fields) == 3 else math.nan
        except ValueError:
            score = math.nan
        a, b = fields[0].strip(), fields[1].strip() if len(fields) > 1 else ""
        if not math.isfinite(score) or not a or not b:
            malformed.add(line_no)
            continue
        pairs += 1
        in_vocab = lookup.in_vocab(a.upper()) and lookup.in_vocab(b.upper())
        if not in_vocab and not oov:
            oov_pairs += 1
            continue
        va, vb = lookup.vector(a, norm=False), lookup.vector(b, norm=False)
        if va is None or vb is None:
            oov_pairs += 1
            continue
        subword_pairs += 0 if in_vocab else 1
        gold.append(score)
        model.append(float(np.dot(unit_vector(va), unit_vector(vb))))  # as gensim's similarity()
    if not pairs:
        raise FormatError(f"{path}: no valid 'word1 word2 score' line ({malformed.describe()})")
    if not gold:
        raise FormatError(f"{path}: no scorable word pairs (all {pairs:,} have a word outside "
                          f"the model's vocabulary)")
    result = {
        "file": path,
        "restrict": restrict,
        "oov_scoring": oov,
        "pearson": pearson(gold, model),
        "spearman": spearman(gold, model),
        "pairs": pairs,
        "scored_pairs": len(gold),
        "oov_pairs": oov_pairs,
        "oov_ratio": oov_pairs / pairs if pairs else 0.0,  # a fraction, as accuracy
        "oov_scored_pairs": subword_pairs,
    }
    malformed.report(result)
    return result
