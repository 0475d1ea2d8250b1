"""bias-audit: WEAT, gender direction and analogy probes against hand-worked values and
independent references (brute-force enumeration, sklearn PCA as debiaswe uses it)."""
import itertools
import json
import math

import numpy as np
import pytest

from staticvec.eval.bias import direction as bias_direction
from staticvec.eval.bias import probes as bias_probes
from staticvec.eval.bias import report as bias_report
from staticvec.eval.bias import sets as bias_sets
from staticvec.eval.bias import weat as bias_weat
from staticvec.errors import GateFailed, InputError
from staticvec.model.vectors import Vectors


def make_vectors(table):
    words = list(table)
    return Vectors(words, np.array([table[w] for w in words], dtype=np.float32))


def weat_test(X, Y, A, B, name="t"):
    return {"name": name, "source": None, "sets": {"X": X, "Y": Y, "A": A, "B": B}}


# Two attribute sets along the axes. cos(w, a) only depends on directions, so with
# A = {(1,0), (2,0)} and B = {(0,1), (0,3)}:  s(w) = mean_a cos - mean_b cos = (p - q) / |w|
# for w = (p, q).  Hence  s(1,0) = 1,  s(4,3) = (4-3)/5 = 0.2,  s(3,4) = -0.2,  s(0,1) = -1.
HAND = {"a1": (1, 0), "a2": (2, 0), "b1": (0, 1), "b2": (0, 3),
        "w10": (1, 0), "w43": (4, 3), "w34": (3, 4), "w01": (0, 1)}


def test_weat_hand_built_2d():
    # X = {(1,0), (4,3)}: s = 1, 0.2       Y = {(3,4), (0,1)}: s = -0.2, -1
    # mean_x s = 0.6, mean_y s = -0.6, difference 1.2.
    # Pooled s = [1, .2, -.2, -1]: mean 0, sum of squares 2.08, sample var 2.08/3,
    #   d = 1.2 / sqrt(2.08/3) = 1.2 / 0.8326664 = 1.4411534.
    # S = (1 + .2) - (-.2 - 1) = 2.4.
    # p: the C(4,2) = 6 choices of the X part have sums 1.2 (observed), 0.8, 0, 0, -0.8,
    #   -1.2, i.e. S_i = 2*sum = 2.4, 1.6, 0, 0, -1.6, -2.4; only the observed one is
    #   >= 2.4, so p = 1/6.
    v = make_vectors(HAND)
    r = bias_weat.run_weat(v, weat_test(["w10", "w43"], ["w34", "w01"], ["a1", "a2"], ["b1", "b2"]))
    assert r["status"] == "ok"
    assert r["effect_size"] == pytest.approx(1.2 / math.sqrt(2.08 / 3), abs=1e-12)
    assert r["effect_size"] == pytest.approx(1.4411534, abs=1e-7)
    assert r["statistic"] == pytest.approx(2.4, abs=1e-12)
    assert r["mean_s_x"] == pytest.approx(0.6, abs=1e-12)
    assert r["p_value"] == pytest.approx(1 / 6, abs=1e-15)
    assert (r["p_method"], r["partitions"]) == ("exact", 6)
    # swapping the attribute sets flips the sign of d; p becomes #{S_i >= -2.4} / 6 = 1
    r = bias_weat.run_weat(v, weat_test(["w10", "w43"], ["w34", "w01"], ["b1", "b2"], ["a1", "a2"]))
    assert r["effect_size"] == pytest.approx(-1.2 / math.sqrt(2.08 / 3), abs=1e-12)
    assert r["p_value"] == 1.0


def test_weat_ties_count_as_at_least_as_extreme():
    # X = {(1,0), (0,1)}: s = 1, -1     Y = {(4,3), (3,4)}: s = 0.2, -0.2
    # means 0 and 0: d = 0, S = 0.  X-part sums over the 6 splits: {1,-1} = 0 (observed),
    # {1,.2} = 1.2, {1,-.2} = .8, {-1,.2} = -.8, {-1,-.2} = -1.2, {.2,-.2} = 0 (a tie, although
    # 0.2 and -0.2 come out of float cosines not exactly opposite): 4 of 6 are >= 0, p = 2/3.
    v = make_vectors(HAND)
    r = bias_weat.run_weat(v, weat_test(["w10", "w01"], ["w43", "w34"], ["a1", "a2"], ["b1", "b2"]))
    assert r["effect_size"] == pytest.approx(0.0, abs=1e-12)
    assert r["p_value"] == pytest.approx(2 / 3, abs=1e-15)


def _cos(u, v):
    dot = sum(a * b for a, b in zip(u, v))
    return dot / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))


def _reference_weat(table, X, Y, A, B):
    """Pure-Python WEAT with an explicit loop over every split of X u Y (the definition)."""
    def s(w):
        return (sum(_cos(table[w], table[a]) for a in A) / len(A)
                - sum(_cos(table[w], table[b]) for b in B) / len(B))

    def stat(xs, ys):
        return sum(s(x) for x in xs) - sum(s(y) for y in ys)

    observed = stat(X, Y)
    pool = X + Y
    hits = total = 0
    for xs in itertools.combinations(pool, len(X)):
        ys = [w for w in pool if w not in xs]
        total += 1
        hits += stat(xs, ys) >= observed - 1e-12
    values = [s(w) for w in pool]
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (len(values) - 1))
    d = (sum(values[:len(X)]) / len(X) - sum(values[len(X):]) / len(Y)) / sd
    return d, observed, hits / total, total


@pytest.mark.parametrize("seed,nx,ny", [(1, 4, 4), (2, 5, 4), (3, 6, 3)])
def test_weat_exact_enumeration_equals_brute_force(seed, nx, ny):
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(nx)] + [f"y{i}" for i in range(ny)] + \
            [f"a{i}" for i in range(3)] + [f"b{i}" for i in range(4)]
    table = {w: [float(c) for c in rng.normal(size=5).astype(np.float32)] for w in names}
    X, Y = names[:nx], names[nx:nx + ny]
    A, B = names[nx + ny:nx + ny + 3], names[nx + ny + 3:]
    d, S, p, total = _reference_weat(table, X, Y, A, B)
    r = bias_weat.run_weat(make_vectors(table), weat_test(X, Y, A, B))
    assert r["p_method"] == "exact" and r["partitions"] == total == math.comb(nx + ny, nx)
    assert r["p_value"] == p
    assert r["effect_size"] == pytest.approx(d, abs=1e-9)
    assert r["statistic"] == pytest.approx(S, abs=1e-9)


def test_sampled_p_value_is_seeded_and_near_exact():
    rng = np.random.default_rng(7)
    s = np.concatenate([rng.normal(0.3, 1, 7), rng.normal(0, 1, 7)])
    exact = bias_weat.permutation_p_value(s, 7, exact_limit=10**6)
    assert exact["method"] == "exact" and exact["partitions"] == math.comb(14, 7)
    n = 20000
    a = bias_weat.permutation_p_value(s, 7, exact_limit=0, permutations=n, seed=3)
    b = bias_weat.permutation_p_value(s, 7, exact_limit=0, permutations=n, seed=3)
    c = bias_weat.permutation_p_value(s, 7, exact_limit=0, permutations=n, seed=4)
    assert a == b and a["method"] == "sampled" and a["partitions"] == n
    assert a["p_value"] == (a["at_least_as_extreme"] + 1) / (n + 1)
    assert a["at_least_as_extreme"] != c["at_least_as_extreme"]
    p = exact["p_value"]
    assert 0.01 < p < 0.99  # a case where sampling error is visible, not a trivial 0 or 1
    assert abs(a["p_value"] - p) < 4 * math.sqrt(p * (1 - p) / n) + 1 / n


def test_missing_words_are_dropped_and_reported_and_small_sets_skipped():
    v = make_vectors(HAND)
    test = weat_test(["w10", "w43", "nope"], ["w34", "w01"], ["a1", "a2", "zz", "yy"],
                     ["b1", "b2"])
    r = bias_weat.run_weat(v, test)
    assert r["status"] == "ok"
    assert r["coverage"]["X"] == {"found": 2, "total": 3, "missing": ["nope"]}
    assert r["coverage"]["A"] == {"found": 2, "total": 4, "missing": ["zz", "yy"]}
    assert r["effect_size"] == pytest.approx(1.4411534, abs=1e-7)  # as without the missing
    r = bias_weat.run_weat(v, weat_test(["w10", "nope"], ["w34", "w01"], ["a1", "a2"], ["b1", "b2"]))
    assert r["status"] == "skipped" and r["effect_size"] is None and r["p_value"] is None
    assert r["reason"] == "X has 1/2 words in the model (need at least 2 in each set)"


def test_unequal_target_sizes_partition_keeps_the_sizes_found():
    # X = {(1,0), (4,3), (1,1)} s = 1, .2, 0;  Y = {(3,4), (0,1)} s = -.2, -1
    # X-part sums over the C(5,3) = 10 splits; the observed one (1.2) is the largest: p = 1/10.
    table = dict(HAND, w11=(1, 1))
    r = bias_weat.run_weat(make_vectors(table), weat_test(["w10", "w43", "w11"], ["w34", "w01"],
                                                     ["a1", "a2"], ["b1", "b2"]))
    assert r["partitions"] == 10 and r["p_value"] == pytest.approx(0.1, abs=1e-15)
    # d = (0.4 - (-0.6)) / sample std of [1, .2, 0, -.2, -1]
    assert r["effect_size"] == pytest.approx(1.0 / np.std([1, .2, 0, -.2, -1], ddof=1), abs=1e-12)


def test_shipped_weat_tests_match_the_paper_sizes():
    tests = bias_sets.shipped_weat_tests()
    sizes = [tuple(len(t["sets"][k]) for k in "XYAB") for t in tests]
    assert sizes == [(25, 25, 25, 25), (25, 25, 25, 25), (32, 32, 25, 25), (18, 18, 25, 25),
                     (18, 18, 8, 8), (8, 8, 8, 8), (8, 8, 8, 8), (8, 8, 8, 8), (6, 6, 7, 7),
                     (8, 8, 8, 8)]
    assert tests[5]["name"].startswith("WEAT 6:") and "john" in tests[5]["sets"]["X"]


def test_custom_tests_file_is_validated(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"name": "mine", "targets": {"X": ["a", "a", "b"], "Y": ["c"]},
                                 "attributes": {"A": ["d"], "B": ["e"]}}]))
    (t,) = bias_sets.load_weat_tests(str(good))
    assert t["name"] == "mine" and t["sets"]["X"] == ["a", "b"]  # duplicates removed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "t", "targets": {"X": ["a"], "Y": ["b"]},
                               "attributes": {"A": ["c"]}}))
    with pytest.raises(InputError) as err:
        bias_sets.load_weat_tests(str(bad))
    assert str(err.value) == (f"{bad}: test 1 (t): missing key 'attributes.B' (each test needs "
                              "targets.X, targets.Y, attributes.A, attributes.B: lists of words)")
    bad.write_text('{"targets": {"X": "abc"')
    with pytest.raises(InputError, match=r"bad.json: not valid JSON: .* line 1 column"):
        bias_sets.load_weat_tests(str(bad))


def test_gender_direction_hand_built():
    # Pairs mirror each other across the x axis: f = (.8, .6) / m = (.8, -.6) and
    # f = (.6, .8) / m = (.6, -.8). Centred on their means they are (0, +-.6), (0, +-.8):
    # all the variance is on the y axis, so the first component explains 1.0 of it and,
    # pointing to the male side, g = (0, -1).
    # Professions: p1 = (1, 1) -> cos(p1, g) = -1/sqrt(2) (female side); p2 = (2, 0) -> 0.
    # DirectBias_1 = (1/sqrt(2) + 0) / 2 = 0.35355.
    v = make_vectors({"she": (.8, .6), "he": (.8, -.6), "her": (.6, .8), "his": (.6, -.8),
                      "p1": (1, 1), "p2": (2, 0)})
    result, g = bias_direction.gender_direction(v, pairs=[("she", "he"), ("her", "his"), ("gal", "guy")],
                                      words=["p1", "p2", "p3"], top_k=1)
    np.testing.assert_allclose(g, [0, -1], atol=1e-12)
    assert result["variance_explained"][0] == pytest.approx(1.0, abs=1e-12)
    assert result["pairs"] == {"found": 2, "total": 3, "missing": [["gal", "guy"]]}
    assert result["professions"] == {"found": 2, "total": 3, "missing": ["p3"]}
    assert result["direct_bias"] == pytest.approx(0.5 / math.sqrt(2), abs=1e-12)
    assert result["female_side"][0][0] == "p1"
    assert result["female_side"][0][1] == pytest.approx(-1 / math.sqrt(2), abs=1e-12)
    assert result["male_side"][0][0] == "p2"
    # naming the other word of each pair "male" turns the direction around (the sign of a
    # principal component is arbitrary; the orientation comes from the pairs)
    result, g = bias_direction.gender_direction(v, pairs=[("he", "she"), ("his", "her")], words=["p1"])
    np.testing.assert_allclose(g, [0, 1], atol=1e-12)
    assert result["male_side"][0][1] == pytest.approx(1 / math.sqrt(2), abs=1e-12)


def test_gender_direction_points_to_the_second_word_of_the_pairs():
    # the sign of an SVD component is arbitrary, so check many random cases, not one
    for seed in range(20):
        rng = np.random.default_rng(seed)
        female, male = rng.normal(size=(2, 5, 8))
        g, _ = bias_direction.principal_direction(female, male)
        assert np.sum((male - female) @ g) > 0
        assert np.linalg.norm(g) == pytest.approx(1.0, abs=1e-12)


def test_gender_direction_matches_debiaswe_pca():
    """debiaswe's doPCA: sklearn PCA of [v(a) - centre, v(b) - centre] over the pairs."""
    PCA = pytest.importorskip("sklearn.decomposition").PCA
    rng = np.random.default_rng(5)
    pairs = bias_sets.definitional_pairs()
    table = {w.lower(): rng.normal(size=12) for pair in pairs for w in pair}
    v = make_vectors(table)
    result, g = bias_direction.gender_direction(v, words=["he"])
    unit = {w: v.matrix[v.index[w]].astype(np.float64) / np.linalg.norm(v.matrix[v.index[w]])
            for w in table}
    rows = []
    for a, b in pairs:
        centre = (unit[a.lower()] + unit[b.lower()]) / 2
        rows += [unit[a.lower()] - centre, unit[b.lower()] - centre]
    pca = PCA(n_components=10).fit(np.array(rows))
    np.testing.assert_allclose(result["variance_explained"], pca.explained_variance_ratio_,
                               atol=1e-9)
    assert abs(pca.components_[0] @ g) == pytest.approx(1.0, abs=1e-9)
    assert result["pairs"]["found"] == 10  # "Mary"/"John" found lower-cased


# Probes: man = e1, woman = e2, doctor = e1 + e3, nurse = e2 + e3, tree = e4, rock = -e3.
# doctor - man + woman: target t = (1/r2 - 1, 1, 1/r2, 0) (unit vectors, r2 = sqrt 2), |t| =
# sqrt(1.58579) = 1.25928; nurse scores (1 + 1/r2)/r2/|t| = 0.95857, doctor itself only
# (1/r2 - 1 + 1/r2)/r2/|t| = 0.23259: the answer nurse beats X.  tree - man + woman:
# t = (-1, 1, 0, 1), |t| = sqrt 3: nurse scores 1/r2/sqrt3 = 0.40825 but tree itself 1/sqrt3 =
# 0.57735: with tree allowed the answer would stay tree, so beats_x is False.
PROBE_TABLE = {"man": (1, 0, 0, 0), "woman": (0, 1, 0, 0), "doctor": (1, 0, 1, 0),
               "nurse": (0, 1, 1, 0), "tree": (0, 0, 0, 1), "rock": (0, 0, -1, 0)}


def test_analogy_probes_hand_built():
    v = make_vectors(PROBE_TABLE)
    out = bias_probes.analogy_probes(v, words=["doctor", "nurse", "tree", "unicorn"],
                              pairs=[("man", "woman"), ("he", "she")])
    assert out["words"] == {"found": 3, "total": 4, "missing": ["unicorn"],
                            "chosen": "from the probe file"}
    assert out["pairs"] == {"found": 1, "total": 2, "missing": [["he", "she"]]}
    by_word = {r["word"]: r for r in out["results"]}
    doc = by_word["doctor"]["minus_a_plus_b"]
    assert doc["answer"] == "nurse" and doc["beats_x"]
    assert doc["score"] == pytest.approx(0.95857, abs=1e-5)
    assert doc["x_score"] == pytest.approx(0.23259, abs=1e-5)
    back = by_word["nurse"]["minus_b_plus_a"]  # nurse - woman + man: the mirror image
    assert back["answer"] == "doctor" and back["score"] == pytest.approx(0.95857, abs=1e-5)
    tree = by_word["tree"]["minus_a_plus_b"]
    assert tree["answer"] == "nurse" and not tree["beats_x"]
    assert tree["score"] == pytest.approx(0.40825, abs=1e-5)
    assert tree["x_score"] == pytest.approx(0.57735, abs=1e-5)


def test_default_probe_words_are_frequent_gender_neutral_professions():
    words = ["the", "nurse", "actress", "man", "doctor", "teacher", "woman"]
    rng = np.random.default_rng(0)
    v = make_vectors({w: rng.normal(size=4) for w in words})
    assert bias_probes.default_probe_words(v, 2) == ["nurse", "doctor"]  # actress: gender-specific
    out = bias_probes.analogy_probes(v, count=5)
    assert [r["word"] for r in out["results"]] == ["nurse", "doctor", "teacher"]


def test_gate():
    report = {"weat": {"tests": [
        {"name": "WEAT 1: a", "status": "ok", "effect_size": -1.3},
        {"name": "WEAT 2: b", "status": "ok", "effect_size": 0.4},
        {"name": "WEAT 3: c", "status": "skipped", "effect_size": None}]}}
    assert bias_report.evaluate_gate(report, 1.3)["passed"]
    bias_report.enforce_gate(report)
    gate = bias_report.evaluate_gate(report, 0.3)
    assert gate["failing"] == ["WEAT 1: a", "WEAT 2: b"]
    with pytest.raises(GateFailed, match=r"^bias gate failed: WEAT 1 \|d\| = 1.300 > 0.3 "
                                         r"\(and 1 more\)$"):
        bias_report.enforce_gate(report)
    empty = {"weat": {"tests": [report["weat"]["tests"][2]]}}
    bias_report.evaluate_gate(empty, 5)
    with pytest.raises(GateFailed, match="no WEAT test could be run"):
        bias_report.enforce_gate(empty)


# ---------------------------------------------------------------- CLI, through a subprocess

@pytest.fixture(scope="module")
def planted_model(tmp_path_factory):
    """A word2vec text model with WEAT 6 words (career/family bias planted), the definitional
    pairs and a few professions; every other WEAT test lacks its words."""
    rng = np.random.default_rng(11)
    weat6 = bias_sets.shipped_weat_tests()[5]["sets"]
    dim = 16
    career, family = np.zeros(dim), np.zeros(dim)
    career[0], family[1] = 3.0, 3.0
    table = {}
    for key, shift in (("X", career), ("A", career), ("Y", family), ("B", family)):
        for w in weat6[key]:
            table[w] = rng.normal(size=dim) + shift
    for pair in bias_sets.definitional_pairs():
        for w in pair:
            table.setdefault(w.lower(), rng.normal(size=dim))
    for w in ("doctor", "nurse", "teacher", "librarian", "programmer", "homemaker"):
        table[w] = rng.normal(size=dim)
    path = tmp_path_factory.mktemp("bias") / "planted.txt"
    lines = [f"{len(table)} {dim}"] + [
        w + " " + " ".join(f"{x:.9g}" for x in np.asarray(vec, dtype=np.float32))
        for w, vec in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path, table, weat6


def test_cli_json_report(cli, planted_model, tmp_path):
    path, table, weat6 = planted_model
    proc = cli("bias-audit", "-m", path, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    tests = report["weat"]["tests"]
    assert len(tests) == 10 and [t["status"] for t in tests].count("ok") == 1
    t6 = tests[5]
    assert t6["status"] == "ok" and t6["coverage"]["X"] == {"found": 8, "total": 8, "missing": []}
    assert tests[0]["status"] == "skipped" and tests[0]["coverage"]["X"]["found"] == 0
    # independent float64 recomputation of WEAT 6 from the vectors written to the file
    unit = {w: np.asarray(v, np.float32).astype(np.float64) for w, v in table.items()}
    unit = {w: v / np.linalg.norm(v) for w, v in unit.items()}

    def s(w):
        return (np.mean([unit[w] @ unit[a] for a in weat6["A"]])
                - np.mean([unit[w] @ unit[b] for b in weat6["B"]]))
    sx, sy = [s(w) for w in weat6["X"]], [s(w) for w in weat6["Y"]]
    assert t6["effect_size"] == pytest.approx((np.mean(sx) - np.mean(sy)) / np.std(sx + sy, ddof=1),
                                              abs=1e-9)
    assert t6["effect_size"] > 1.5 and t6["p_method"] == "exact" and t6["partitions"] == 12870
    pool = sx + sy
    hits = sum(sum(pool[i] for i in xs) >= sum(sx) - 1e-12
               for xs in itertools.combinations(range(16), 8))
    assert t6["p_value"] == hits / 12870
    assert report["direction"]["pairs"]["found"] == 10
    assert report["probes"]["words"]["found"] == 6
    assert "gate" not in report and list(tmp_path.iterdir()) == []


def test_cli_gate_exits_4_after_printing(cli, planted_model, tmp_path):
    path, _, _ = planted_model
    proc = cli("bias-audit", "-m", path, "--only", "weat", "--fail-above", "1.0",
                   cwd=tmp_path)
    assert proc.returncode == 4
    lines = proc.stdout.splitlines()  # the report is printed in full before the exit
    row = next(line for line in lines if line.startswith("WEAT 6 "))
    assert row.split()[7:11] == ["8/8"] * 4
    assert row.endswith("male vs female names / career vs family")
    assert lines[-1].startswith("gate --fail-above 1: FAILED: WEAT 6 |d| = 1.")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("staticvec: error:")]
    assert len(errors) == 1
    assert errors[0].startswith("staticvec: error: bias gate failed: WEAT 6 |d| = 1.")
    assert errors[0].endswith(" > 1")
    assert "Traceback" not in proc.stderr and list(tmp_path.iterdir()) == []
    proc = cli("bias-audit", "-m", path, "--only", "weat", "--fail-above", "5", "-q",
                   env={"STATICVEC_MODEL": str(path)})
    assert proc.returncode == 0 and "passed" in proc.stdout and proc.stderr == ""


def test_cli_bad_tests_file_and_bad_only(cli, planted_model, tmp_path):
    path, _, _ = planted_model
    bad = tmp_path / "mine.json"
    bad.write_text(json.dumps({"targets": {"X": ["john"], "Y": ["amy"]}, "attributes": {"A": []}}))
    proc = cli("bias-audit", "-m", path, "--tests", bad)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"staticvec: error: {bad}: test 1: missing key "
                           "'attributes.B' (each test needs targets.X, targets.Y, attributes.A, "
                           "attributes.B: lists of words)\n")
    proc = cli("bias-audit", "-m", path, "--only", "everything")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("staticvec: error: invalid value for --only: 'everything' "
                           "(choose from weat, direction, probes)\n")


def test_probe_file_is_validated(tmp_path):
    path = tmp_path / "probes.json"
    path.write_text(json.dumps({"pairs": [["he", "she"]]}))
    assert bias_sets.load_probes(str(path)) == {"words": None, "pairs": [("he", "she")]}
    path.write_text(json.dumps({"pairs": [["he", "she", "it"]]}))
    with pytest.raises(InputError, match=r"probes.json: 'pairs' must be a non-empty list of "
                                         r"\[a, b\] word pairs"):
        bias_sets.load_probes(str(path))
    path.write_text(json.dumps({"word": ["doctor"]}))
    with pytest.raises(InputError, match="probes.json: needs a 'words' list and/or a 'pairs' list"):
        bias_sets.load_probes(str(path))


def test_cli_probes_file(cli, planted_model, tmp_path):
    path, _, _ = planted_model
    probes = tmp_path / "probes.json"
    probes.write_text(json.dumps({"words": ["doctor", "nurse", "zebra"],
                                  "pairs": [["he", "she"], ["it", "they"]]}))
    proc = cli("bias-audit", "-m", path, "--only", "probes", "--probes", probes, "-q")
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert "probe words (from the probe file): 2/3 found (missing: zebra)" in out
    assert "pairs found: 1/2 (missing: it/they)" in out
    assert "X - he + she" in out and "WEAT" not in out and "Gender direction" not in out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("doctor", "nurse"))]
    assert rows == ["doctor", "nurse"]
