"""Sentence vectors: `embed` and `search` against float64 numpy references, print-vectors,
and a retrieval sanity check on the shipped corpus."""
import json
import lzma
import random
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from staticvec.io.dispatch import load_vectors

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Skip-gram vectors and their vocabulary from 400 lines of the shipped corpus, and 60
    of its lines (their first 40 tokens) as documents."""
    folder = tmp_path_factory.mktemp("embed")
    with lzma.open(REPO / "data" / "corpus" / "mini.txt.xz", "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(400)]
    (folder / "corpus.txt").write_text("".join(lines), encoding="utf-8")
    result = run_cli("train-skipgram", str(folder / "corpus.txt"), "-o", str(folder / "v.bin"),
                     "--dim", "40", "--epochs", "2", "--threads", "1", "--min-count", "3",
                     "--save-vocab", str(folder / "vocab.txt"), "-q")
    assert result.returncode == 0, result.stderr
    docs = [" ".join(line.split()[:40]) for line in lines[:200:3] if len(line.split()) >= 40]
    (folder / "docs.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")
    return folder


def _reference(vectors, docs, weights=None, remove=False):
    """float64: the (weighted) mean of unit vectors of known words; SIF's first singular
    vector removed."""
    m = vectors.matrix.astype(np.float64)
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    out = np.zeros((len(docs), m.shape[1]))
    for i, doc in enumerate(docs):
        rows = [vectors.index[w] for w in doc.split() if w in vectors.index]
        if rows:
            w = np.ones(len(rows)) if weights is None else weights[rows]
            out[i] = (unit[rows] * w[:, None]).sum(0) / len(rows)
    if remove:
        u = np.linalg.svd(out, full_matrices=False)[2][0]
        out = out - np.outer(out @ u, u)
    return out


def test_mean_pooling_matches_float64_reference_and_print_vectors(trained, tmp_path):
    out = tmp_path / "d.npy"
    result = run_cli("embed", str(trained / "docs.txt"), "-m", str(trained / "v.bin"), "-o",
                     str(out), "-q")
    assert result.returncode == 0, result.stderr
    got = np.load(out)
    v = load_vectors(trained / "v.bin")
    docs = (trained / "docs.txt").read_text().splitlines()
    assert got.dtype == np.float32 and got.shape == (len(docs), 40)
    np.testing.assert_allclose(got, _reference(v, docs), atol=2e-6)
    # the first document: the mean of its words' unit vectors as print-vectors prints them
    known = [w for w in docs[0].split() if w in v]
    printed = run_cli("print-vectors", "-m", str(trained / "v.bin"), *known)
    rows = np.array([[float(x) for x in line.split()[1:]] for line in printed.stdout.splitlines()])
    expected = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).mean(0)
    np.testing.assert_allclose(got[0], expected, atol=2e-6)


def test_sif_weights_and_component_match_float64_reference(trained, tmp_path):
    out, pc = tmp_path / "s.npy", tmp_path / "pc.npy"
    result = run_cli("embed", str(trained / "docs.txt"), "-m", str(trained / "v.bin"), "-o",
                     str(out), "--pooling", "sif", "--sif-a", "1e-3", "--vocab",
                     str(trained / "vocab.txt"), "--save-components", str(pc), "-q")
    assert result.returncode == 0, result.stderr
    v = load_vectors(trained / "v.bin")
    counts = {}
    for line in (trained / "vocab.txt").read_text().splitlines()[1:]:
        word, count = line.split()
        counts[word] = int(count)
    c = np.array([counts[w] for w in v.words], dtype=np.float64)
    weights = 1e-3 / (1e-3 + c / c.sum())
    docs = (trained / "docs.txt").read_text().splitlines()
    np.testing.assert_allclose(np.load(out), _reference(v, docs, weights, remove=True),
                               atol=2e-6)
    u = np.load(pc)
    ref = np.linalg.svd(_reference(v, docs, weights), full_matrices=False)[2][0]
    assert abs(abs(float(u @ ref)) - 1) < 1e-9
    # the same component given back: the same vectors (queries and documents share it)
    again = tmp_path / "again.npy"
    result = run_cli("embed", str(trained / "docs.txt"), "-m", str(trained / "v.bin"), "-o",
                     str(again), "--pooling", "sif", "--vocab", str(trained / "vocab.txt"),
                     "--components", str(pc), "-q")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(again), np.load(out), atol=1e-6)


def test_output_formats_agree_and_stdin_works(trained, tmp_path):
    docs = (trained / "docs.txt").read_text()
    text = "\n".join(docs.splitlines()[:5]) + "\nzzzunknown qqqunknown\n"
    (tmp_path / "few.txt").write_text(text)
    model = str(trained / "v.bin")
    for name in ("a.npy", "a.txt", "a.bin", "a.jsonl"):
        result = run_cli("embed", "-m", model, "-o", str(tmp_path / name), "-q", stdin=text)
        assert result.returncode == 0, result.stderr
    npy = np.load(tmp_path / "a.npy")
    assert npy.shape == (6, 40) and not npy[5].any()  # no known word: a zero vector
    w2v = load_vectors(tmp_path / "a.txt")
    assert w2v.words == ["1", "2", "3", "4", "5", "6"]
    np.testing.assert_array_equal(w2v.matrix, npy)
    np.testing.assert_array_equal(load_vectors(tmp_path / "a.bin").matrix, npy)
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(np.array([r["vector"] for r in records], np.float32), npy)
    result = run_cli("embed", str(tmp_path / "few.txt"), "-m", model, "-o",
                     str(tmp_path / "s.txt"), "--skip-empty")
    assert result.returncode == 0 and "6 lines into 5 vectors" in result.stderr
    assert load_vectors(tmp_path / "s.txt").words == ["1", "2", "3", "4", "5"]


def test_fasttext_unseen_words_use_their_ngrams(tmp_path):
    import staticvec

    sentences = [["kingdom", "queen", "castle", "crown"], ["kingdoms", "rule", "lands"]] * 30
    ft = staticvec.train_fasttext(sentences, output=str(tmp_path / "m"), dim=8, min_count=1,
                                  epochs=1, bucket=1000, threads=1)
    (tmp_path / "d.txt").write_text("castles crowns\n")
    result = run_cli("embed", str(tmp_path / "d.txt"), "-m", str(tmp_path / "m.bin"), "-o",
                     str(tmp_path / "d.npy"), "-q")
    assert result.returncode == 0, result.stderr
    a, b = ft.get_vector("castles"), ft.get_vector("crowns")
    expected = (a / np.linalg.norm(a) + b / np.linalg.norm(b)) / 2
    np.testing.assert_allclose(np.load(tmp_path / "d.npy")[0], expected, atol=1e-6)


def test_retrieval_sanity(trained, tmp_path):
    """Every document is its own nearest line; a paraphrase (words swapped for their nearest
    neighbours) is nearer its source than random other lines."""
    model, docs_path = str(trained / "v.bin"), trained / "docs.txt"
    assert run_cli("embed", str(docs_path), "-m", model, "-o", str(tmp_path / "i.npy"),
                   "-q").returncode == 0
    docs = docs_path.read_text().splitlines()
    result = run_cli("search", "-m", model, "--index", str(tmp_path / "i.npy"), "--texts",
                     str(docs_path), "-k", "1", "--json", stdin="\n".join(docs) + "\n")
    assert result.returncode == 0, result.stderr
    firsts = [json.loads(line)["results"][0]["line"] for line in result.stdout.splitlines()]
    assert firsts == list(range(1, len(docs) + 1))
    v = load_vectors(trained / "v.bin")
    rng = random.Random(0)
    paraphrases = []
    for doc in docs:
        words = doc.split()
        for k in rng.sample(range(len(words)), len(words) // 3):
            if words[k] in v:
                words[k] = v.most_similar(words[k], topn=1)[0][0]
        paraphrases.append(" ".join(words))
    result = run_cli("search", "-m", model, "--index", str(tmp_path / "i.npy"), "--texts",
                     str(docs_path), "-k", str(len(docs)), "--json",
                     stdin="\n".join(paraphrases) + "\n")
    ranks = []
    for i, line in enumerate(result.stdout.splitlines()):
        order = [hit["line"] for hit in json.loads(line)["results"]]
        ranks.append(order.index(i + 1))
    # above random lines: the source ranks in the top tenth for nearly every paraphrase
    assert sum(r < len(docs) // 10 for r in ranks) >= 0.9 * len(docs), ranks


@pytest.mark.parametrize("args,code,pattern", [
    (["--pooling", "max"], 2, r"invalid value for --pooling: 'max' \(choose from mean, sif\)"),
    (["--pooling", "sif"], 2, r"--pooling sif needs word frequencies, and the model has none .*"),
    (["--pooling", "sif", "--vocab", "{vocab}", "--sif-a", "0"], 2,
     r"--sif-a must be a finite number > 0 \(got 0.0\)"),
    (["--save-components", "pc.npy"], 2, r"--save-components needs --pooling sif .*"),
    (["-o", "out.dat"], 2, r"cannot tell the format of out.dat from its extension: .*"),
    (["-o", "out.npy.gz"], 2, r"out.npy.gz: a .npy file cannot be compressed .*"),
    (["-o", "{docs}"], 2, r".*same file.*"),
    (["--pooling", "sif", "--vocab", "{vocab}", "--components", "bad.npy"], 1,
     r"bad.npy: expected 40 finite values \(the model's dimension\), got an array of shape "
     r"\(3,\)"),
    (["--components", "missing.npy", "--pooling", "sif", "--vocab", "{vocab}"], 1,
     r"missing.npy: no such file"),
])
def test_embed_refusals(trained, tmp_path, args, code, pattern):
    np.save(tmp_path / "bad.npy", np.ones(3))
    (tmp_path / "docs.txt").write_bytes((trained / "docs.txt").read_bytes())
    fill = {"vocab": str(trained / "vocab.txt"), "docs": "docs.txt"}
    full = ["embed", "docs.txt", "-m", str(trained / "v.bin"), "-q"]
    if not any(a == "-o" for a in args):
        full += ["-o", "out.npy"]
    before = snapshot(tmp_path)
    result = run_cli(*full, *[a.format(**fill) for a in args], cwd=tmp_path)
    assert_fails_cleanly(result, code, pattern=r"staticvec: error: " + pattern)
    assert snapshot(tmp_path) == before


def test_search_refusals(trained, tmp_path):
    model = str(trained / "v.bin")
    (tmp_path / "t.txt").write_text("a b\nc d\n")
    np.save(tmp_path / "i.npy", np.ones((3, 40), np.float32))
    result = run_cli("search", "-m", model, "--index", str(tmp_path / "i.npy"), "--texts",
                     str(tmp_path / "t.txt"), "the")
    assert_fails_cleanly(result, 1, pattern=r".*t.txt has 2 lines but .*i.npy holds 3 vectors: "
                                            r"embed the texts again .*")
    np.save(tmp_path / "i.npy", np.ones((2, 7), np.float32))
    result = run_cli("search", "-m", model, "--index", str(tmp_path / "i.npy"), "--texts",
                     str(tmp_path / "t.txt"), "the")
    assert_fails_cleanly(result, 1, pattern=r".*i.npy: expected an N x 40 float array .*")
    nan = np.ones((2, 40), np.float32)
    nan[1, 3] = np.nan
    np.save(tmp_path / "i.npy", nan)
    result = run_cli("search", "-m", model, "--index", str(tmp_path / "i.npy"), "--texts",
                     str(tmp_path / "t.txt"), "the")
    assert_fails_cleanly(result, 1, pattern=r".*i.npy: row 2 holds a non-finite value")
    result = run_cli("search", "-m", model, "--index", str(tmp_path / "i.npy"), "--texts",
                     str(tmp_path / "t.txt"), "--pooling", "sif", "the")
    assert_fails_cleanly(result, 2, pattern=r".*search --pooling sif needs --components FILE .*")
