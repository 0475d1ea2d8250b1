"""Analogy and similarity benchmarks: hand-worked cases, a float64 reference, gensim, scipy."""
import math
from pathlib import Path

import numpy as np
import pytest

from staticvec.errors import FormatError, InputError
from staticvec.eval.benchmarks import (evaluate_analogies, evaluate_similarity, pearson, rankdata,
                                spearman)
from staticvec.model.vectors import Vectors

EVAL_DIR = Path(__file__).resolve().parent.parent / "data" / "eval"


def _angles(named):
    words = [w for w, _ in named]
    matrix = np.array([[math.cos(math.radians(d)), math.sin(math.radians(d))] for _, d in named],
                      dtype=np.float32)
    return Vectors(words, matrix)


# man 0, woman 90, king 10, queen 80; "King" (a later case variant of king) sits at 88 so
# that it is the best candidate for man:woman::king:? and must be skipped as a query word
TINY = [("man", 0), ("woman", 90), ("king", 10), ("queen", 80), ("King", 88), ("apple", 200)]
TINY_QUESTIONS = """\
: family
man woman king queen
man woman king paris
man woman apple
: gram1-test
man king woman apple
"""


def test_hand_worked_analogies(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(TINY_QUESTIONS)
    result = evaluate_analogies(_angles(TINY), path, restrict=30000)
    # q1: woman - man + king points at ~90.7 deg: King (88) is skipped (KING is a query word),
    #     queen (80) is next -> correct. q2: paris is OOV. q3: 3 words, not a question.
    # q4: king - man + woman ~ 90.7 deg -> King skipped, queen predicted, apple expected -> wrong
    family, gram = result["sections"]
    assert family == {"section": "family", "correct": 1, "total": 1, "oov": 1, "accuracy": 1.0}
    assert gram == {"section": "gram1-test", "correct": 0, "total": 1, "oov": 0, "accuracy": 0.0}
    assert result["semantic"] == {"correct": 1, "total": 1, "accuracy": 1.0, "oov": 1}
    assert result["syntactic"] == {"correct": 0, "total": 1, "accuracy": 0.0, "oov": 0}
    assert result["total"] == {"correct": 1, "total": 2, "accuracy": 0.5, "oov": 1}
    assert (result["questions"], result["oov_questions"], result["malformed_lines"]) == (3, 1, 1)
    assert result["first_malformed_line"] == 4
    assert result["oov_ratio"] == pytest.approx(1 / 3)  # a fraction, as accuracy
    # restrict 5 drops apple: q4 becomes OOV
    restricted = evaluate_analogies(_angles(TINY), path, restrict=5)
    assert restricted["total"] == {"correct": 1, "total": 1, "accuracy": 1.0, "oov": 2}


def test_hand_worked_analogies_match_gensim(tmp_path):
    pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    path = tmp_path / "q.txt"
    path.write_text(TINY_QUESTIONS)
    vectors = _angles(TINY)
    kv = KeyedVectors(2)
    kv.add_vectors(vectors.words, vectors.matrix)
    score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=30000)
    assert [(s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections] == \
        [("family", 1, 0), ("gram1-test", 0, 1), ("Total accuracy", 1, 1)]
    assert score == evaluate_analogies(vectors, path)["total"]["accuracy"]


def test_oov_scoring_uses_vectors_the_model_can_build(tmp_path):
    class Composed(Vectors):
        def has_vector(self, word):
            return word in self.index or word == "paris"

        def vector(self, word, norm=False):
            if word == "paris":
                return np.array([math.cos(math.radians(75)), math.sin(math.radians(75))], np.float32)
            return super().vector(word, norm)

    path = tmp_path / "q.txt"
    path.write_text(": family\nman woman king queen\nman woman paris queen\nman woman rome queen\n")
    vectors = Composed([w for w, _ in TINY], _angles(TINY).matrix)
    plain = evaluate_analogies(vectors, path)
    assert (plain["total"]["total"], plain["oov_questions"]) == (1, 2)
    scored = evaluate_analogies(vectors, path, oov=True)
    # woman - man + paris(75) points at ~110.6 deg: King (88, not a query word here) beats
    # queen (80) -> wrong; rome has no vector at all -> still OOV
    assert (scored["total"]["correct"], scored["total"]["total"], scored["oov_questions"]) == (1, 2, 1)


def _planted(seed=0, noise=0.35, dim=32):
    """Vectors for the words of a cut of questions-words.txt with the relations planted
    (b = a + r_section + noise, first time a word is seen), so many answers are right and
    many wrong; plus capitalised variants and filler words to exercise case and restrict."""
    rng = np.random.default_rng(seed)
    lines = (EVAL_DIR / "questions-words.txt").read_text().splitlines()
    cut, per_section = [], {}
    for line in lines:
        if line.startswith(": "):
            section = line
            cut.append(line)
            per_section[section] = 0
        elif per_section[section] < 60:
            cut.append(line)
            per_section[section] += 1
    vec, relation = {}, {}
    for line in cut:
        if line.startswith(": "):
            relation = rng.standard_normal(dim)
            continue
        words = [w.lower() for w in line.split()]
        for a, b in ((words[0], words[1]), (words[2], words[3])):
            vec.setdefault(a, rng.standard_normal(dim))
            if b not in vec:
                vec[b] = vec[a] + relation + noise * rng.standard_normal(dim)
    words = list(vec)
    rng.shuffle(words)
    variants = [w.capitalize() for w in words[:40]]
    fillers = [f"filler{i}" for i in range(100)]
    names = words[:300] + variants + fillers + words[300:]
    matrix = np.array([vec[w.lower()] if w.lower() in vec else rng.standard_normal(dim)
                       for w in names], dtype=np.float32)
    return Vectors(names, matrix), "\n".join(cut) + "\n"


def _reference(vectors, text, restrict, method):
    """Straight float64 loop over the questions, gensim's rules."""
    unit = vectors.matrix.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    ok = {}
    for i, w in enumerate(vectors.words[:restrict]):
        ok.setdefault(w.upper(), i)
    counts = {}
    for line in text.splitlines():
        if line.startswith(": "):
            section = line[2:].strip()
            counts[section] = [0, 0]
            continue
        a, b, c, expected = line.upper().split()
        if not all(w in ok for w in (a, b, c, expected)):
            continue
        ua, ub, uc = unit[ok[a]], unit[ok[b]], unit[ok[c]]
        cand = unit[:restrict]
        if method == "add":
            query = ub + uc - ua
            scores = cand @ (query / np.linalg.norm(query))
        else:
            scores = ((1 + cand @ ub) / 2) * ((1 + cand @ uc) / 2) / ((1 + cand @ ua) / 2 + 1e-6)
        scores[[ok[a], ok[b], ok[c]]] = -np.inf
        predicted = None
        for i in np.argsort(-scores, kind="stable")[:5]:
            predicted = vectors.words[i].upper()
            if predicted not in (a, b, c):
                break
        counts[section][0] += predicted == expected
        counts[section][1] += 1
    return counts


@pytest.mark.parametrize("method", ["add", "mul"])
def test_planted_analogies_match_float64_reference(tmp_path, method):
    vectors, text = _planted()
    path = tmp_path / "q.txt"
    path.write_text(text)
    result = evaluate_analogies(vectors, path, restrict=700, method=method)
    reference = _reference(vectors, text, 700, method)
    assert {s["section"]: [s["correct"], s["total"]] for s in result["sections"]} == reference
    assert 0.2 < result["total"]["accuracy"] < 0.95  # the test can tell right from wrong
    assert result["oov_questions"] > 0


def test_planted_analogies_match_gensim(tmp_path):
    pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    vectors, text = _planted(seed=1)
    path = tmp_path / "q.txt"
    path.write_text(text)
    kv = KeyedVectors(vectors.dim)
    kv.add_vectors(vectors.words, vectors.matrix)
    for restrict in (700, 30000):
        score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict,
                                                     case_insensitive=True)
        result = evaluate_analogies(vectors, path, restrict=restrict)
        theirs = [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
                  for s in sections]
        ours = [(s["section"], s["correct"], s["total"]) for s in result["sections"]]
        assert ours + [("Total accuracy", result["total"]["correct"], result["total"]["total"])] == theirs
        assert result["total"]["accuracy"] == score


def test_shipped_google_set_parses():
    words = ["Athens", "Greece", "Baghdad", "Iraq"]  # 3 questions (all orders)
    vectors = Vectors(words, np.eye(4, dtype=np.float32))
    result = evaluate_analogies(vectors, EVAL_DIR / "questions-words.txt")
    assert result["questions"] == 19544 and result["oov_questions"] == 19541
    assert len(result["sections"]) == 14 and result["total"]["total"] == 3
    assert result["semantic"]["oov"] == 8866 and result["syntactic"]["oov"] == 10675
    assert (result["malformed_lines"], result["first_malformed_line"]) == (0, None)
    # every question OOV: an error, not "0.00% 0/0"
    with pytest.raises(FormatError, match="no question could be scored: all 19,544 have a word "
                                          "outside the first 30,000 words of the model"):
        evaluate_analogies(Vectors(["a"], np.ones((1, 2), np.float32)),
                           EVAL_DIR / "questions-words.txt")


def test_analogy_file_errors(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("man woman king queen\n: s\n")
    with pytest.raises(FormatError) as err:
        evaluate_analogies(_angles(TINY), path)
    assert str(err.value) == f"{path}: line 1: question before the first ': section' line"
    with pytest.raises(InputError, match="no such file"):
        evaluate_analogies(_angles(TINY), tmp_path / "missing.txt")


# ---------------------------------------------------------------- similarity
def test_rankdata_average_ties_hand_worked():
    assert rankdata([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert rankdata([3, 1, 3, 3, 2]).tolist() == [4.0, 1.0, 4.0, 4.0, 2.0]
    # x = 1..4, y = 1,3,2,4: d^2 = 0+1+1+0 -> rho = 1 - 6*2/(4*15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def test_correlations_match_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.integers(0, 8, 60).astype(float)
        y = x + rng.normal(0, 3, 60).round(1)
        assert np.allclose(rankdata(y), stats.rankdata(y))
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
        assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)


def test_hand_worked_similarity(tmp_path):
    vectors = Vectors(["a", "b", "c", "d"], np.array([[1, 0], [0, 1], [1, 1], [1, 0.2]], np.float32))
    path = tmp_path / "pairs.txt"
    path.write_text("# word1 word2 score\na b 1\nA c 5.5\nb\tc\t5\na zz 3\nnot a pair\n\nd b 2\n")
    result = evaluate_similarity(vectors, path)
    model = [0.0, math.sqrt(0.5), math.sqrt(0.5), 0.2 / math.sqrt(1.04)]
    gold = [1, 5.5, 5, 2]
    assert result["pearson"] == pytest.approx(float(np.corrcoef(gold, model)[0, 1]), abs=1e-6)
    # ranks: gold 1,4,3,2 ; model 1,3.5,3.5,2 -> pearson of ranks
    assert result["spearman"] == pytest.approx(float(np.corrcoef([1, 4, 3, 2], [1, 3.5, 3.5, 2])[0, 1]))
    assert (result["pairs"], result["scored_pairs"], result["oov_pairs"], result["malformed_lines"]) == (5, 4, 1, 1)
    assert result["first_malformed_line"] == 6
    assert result["oov_ratio"] == pytest.approx(0.2)


def test_similarity_matches_gensim_on_shipped_sets():
    pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    words = set()
    for name in ("wordsim353.tsv", "simlex999.txt"):
        for line in (EVAL_DIR / name).read_text().splitlines():
            if line and not line.startswith("#"):
                words.update(w.lower() for w in line.split("\t")[:2])
    words = sorted(words)[::2] + ["Tiger", "CAT"]  # half the words OOV, case variants
    rng = np.random.default_rng(8)
    vectors = Vectors(words, rng.standard_normal((len(words), 10)).astype(np.float32))
    kv = KeyedVectors(10)
    kv.add_vectors(vectors.words, vectors.matrix)
    for name in ("wordsim353.tsv", "simlex999.txt"):
        (p, _), (s, _), oov = kv.evaluate_word_pairs(str(EVAL_DIR / name))
        result = evaluate_similarity(vectors, EVAL_DIR / name)
        # same cosines bit for bit (gensim's unitvec arithmetic), so the same correlations
        assert result["pearson"] == pytest.approx(p, abs=1e-12)
        assert result["spearman"] == pytest.approx(s, abs=1e-12)
        assert 100 * result["oov_ratio"] == pytest.approx(oov, abs=1e-12)  # gensim: percent


def test_similarity_with_nothing_scorable(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("x y 1\n")
    with pytest.raises(FormatError, match="no scorable word pairs"):
        evaluate_similarity(_angles(TINY), path)
