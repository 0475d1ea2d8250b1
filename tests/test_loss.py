"""The training loss and the --json-summary record.

The kernels' loss against float64 recomputations (one word2vec step, a fastText replay, a
GloVe pass with frozen weights), its behaviour over epochs and threads, and the record a run
writes, checked against the files it describes."""
import json
import lzma

import numpy as np
import pytest

from staticvec import _kernels
from staticvec.model import subwords
from staticvec.text.encoded import EncodedCorpus
from staticvec.text.vocab import Vocab
from staticvec.train import fasttext as ft
from staticvec.train import word2vec as w2v
from staticvec.train.glove import GloveOptions, fit as glove_fit
from staticvec.train.glove.records import Records
from staticvec.train.summary import SCHEMA

from conftest import MINI_CORPUS, run_cli
from test_fasttext import fasttext_replay
from test_glove import records
from hostile.corpora import tiny_corpus
from test_word2vec import make_state, sigmoid_ref

LN2 = float(np.log(2.0))


def softplus(x):
    """log(1 + e^x) in float64: the loss of a dot product x labelled 0 (label 1: of -x)."""
    return float(np.logaddexp(0.0, x))


# ---------------------------------------------------------------- the loss function

def test_softplus_is_log_one_plus_exp_everywhere_and_nan_safe():
    k = _kernels.load("word2vec")
    xs = np.concatenate([np.linspace(-20, 20, 4001), [-6, 6, -16, 16, 15.999, 1e30, -1e30]])
    got = np.array([k.softplus(x) for x in xs])
    want = np.logaddexp(0.0, xs)
    # the table's interpolation (< 1e-5) and float32 rounding of large values
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-6)
    assert k.softplus(float("nan")) == 0.0           # never indexes the table with NaN
    assert k.softplus(float("inf")) == float("inf") and k.softplus(float("-inf")) == 0.0


# ---------------------------------------------------------------- one word2vec step

def step_loss_ref(l1, syn1neg, syn1, word, negatives, path, alpha, ns=True):
    """The loss of one prediction as the kernel sums it, in float64: HS along the path, then
    NS, each dot product taken after the updates before it (word2vec C's order), at its true
    value even where the gradient is clipped (|f| >= 6)."""
    loss, clipped = 0.0, 0
    for point, code in path:
        f = l1 @ syn1[point]
        loss += softplus(f if code else -f)
        clipped += abs(f) >= 6
        if abs(f) < 6:
            syn1[point] += (1.0 - code - sigmoid_ref(f)) * alpha * l1
    for t, label in ([(word, 1.0)] + [(n, 0.0) for n in negatives if n != word]) * ns:
        f = l1 @ syn1neg[t]
        loss += softplus(-f if label else f)
        clipped += abs(f) >= 6
        syn1neg[t] += (label - sigmoid_ref(f)) * alpha * l1
    return loss, clipped


CASES = {  # (sg, hs, negative, negatives, scale of the input vectors)
    "sg-ns": (True, False, 5, [3, 7, 0, 9, 11], 1.0),
    "sg-ns-repeated": (True, False, 5, [3, 3, 5, 2, 3], 1.0),
    "sg-ns-clipped": (True, False, 5, [3, 7, 0, 9, 11], 8.0),
    "sg-hs": (True, True, 0, [], 1.0),
    "sg-hs-clipped": (True, True, 0, [], 8.0),
    "cbow-ns": (False, False, 5, [0, 5, 1, 8, 10], 1.0),
    "cbow-hs-ns": (False, True, 4, [1, 7, 7, 0], 1.0),
}


@pytest.mark.parametrize("case", CASES)
def test_step_loss_matches_float64_recomputation(case):
    sg, hs, negative, negatives, scale = CASES[case]
    dim, alpha, word = 10, 0.2, 5
    counts, kernel, syn0, syn1neg, syn1 = make_state(sg, hs, negative)
    syn0 *= np.float32(scale)
    contexts = [4] if sg else [4, 6, 6, 9]
    l1 = syn0[contexts, :dim].astype(np.float64).mean(axis=0)
    path = []
    if hs:
        offsets, codes, points = w2v.huffman_tree(counts)
        path = list(zip(points[offsets[word]:offsets[word + 1]],
                        codes[offsets[word]:offsets[word + 1]]))
    want, clipped = step_loss_ref(l1, syn1neg[:, :dim].astype(np.float64),
                                  syn1[:, :dim].astype(np.float64), word, negatives, path, alpha,
                                  ns=negative > 0)
    got = (kernel.step_sg(contexts[0], word, negatives, alpha) if sg
           else kernel.step_cbow(contexts, word, negatives, alpha))
    assert got == pytest.approx(want, rel=1e-5, abs=1e-5)
    if scale > 1:
        assert clipped, "the case must reach dot products beyond the sigmoid table"


# ---------------------------------------------------------------- word2vec over epochs

@pytest.fixture(scope="module")
def small():
    """The first 200 lines of the mini corpus (~165k tokens), encoded without a cache."""
    with lzma.open(MINI_CORPUS, "rt", encoding="utf-8") as source:
        lines = [line.split() for _, line in zip(range(200), source)]
    words = {}
    for line in lines:
        for w in line:
            words[w] = words.get(w, 0) + 1
    vocab = Vocab.from_counts(words, min_count=5)
    index = {w: i for i, w in enumerate(vocab.words)}
    ids = [[index[w] for w in line if w in index] for line in lines]
    corpus = EncodedCorpus.from_arrays([i for line in ids for i in line],
                                       np.cumsum([len(line) for line in ids]))
    return vocab, corpus


def w2v_losses(small, **options):
    vocab, corpus = small
    report = {}
    o = w2v.Word2VecOptions(dim=32, seed=1, **options)
    w2v.train_arrays(vocab.counts, corpus.ids, corpus.sentence_ends, o, report=report)
    return report


def test_loss_falls_over_epochs_and_starts_below_the_untrained_loss(small):
    # at a constant rate the (on-line) loss falls every epoch
    report = w2v_losses(small, threads=1, epochs=4, alpha=0.025, min_alpha=0.025)
    loss = report["loss"]
    assert len(loss) == 4 and all(a > b for a, b in zip(loss, loss[1:])), loss
    # untrained, every prediction costs (1 + 5 negatives) ln 2 (output vectors start at zero)
    assert 2.0 < loss[0] < 6 * LN2
    # one prediction per (context, centre) pair: about 2 * (window + 1) / 2 per kept word
    assert report["predictions"][0] > len(small[1].ids) * 0.5


def test_untrained_loss_is_ln2_per_dot_product(small):
    """With a vanishing rate nothing moves, so every prediction costs exactly (1 + k) ln 2
    (k: the negatives that differ from the positive): the counting and the mean are right."""
    report = w2v_losses(small, threads=1, epochs=1, alpha=1e-30, sample=0)
    assert 5 * LN2 < report["loss"][0] <= 6 * LN2 + 1e-6
    assert report["loss"][0] == pytest.approx(6 * LN2, rel=0.01)


def assert_same_run_loss(two, one):
    """The run's mean loss agrees within 3% (gensim's total depends on the worker count); each
    epoch's within 10%: with 2 threads, how the words of the epochs meet the shared rate
    depends on how evenly the OS runs the threads (on a loaded machine one may be a whole
    epoch ahead), which moves loss between epochs but not out of the run."""
    assert np.mean(two) == pytest.approx(np.mean(one), rel=0.03)
    np.testing.assert_allclose(two, one, rtol=0.10)


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_mean_loss_does_not_depend_on_threads(small, sg):
    one = w2v_losses(small, sg=sg, threads=1, epochs=2)
    two = w2v_losses(small, sg=sg, threads=2, epochs=2)
    assert_same_run_loss(two["loss"], one["loss"])
    # every prediction is counted once, whichever thread makes it (subsampling and windows
    # are random per thread, so the counts agree only on average)
    np.testing.assert_allclose(two["predictions"], one["predictions"], rtol=0.02)


# ---------------------------------------------------------------- fastText

@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_fasttext_loss_equals_its_update_rule_replay(model):
    """The replay of test_fasttext (two words, window 1: no randomness) also sums the loss."""
    words = ["naïve", "ab"]
    sentences = [[0, 1, 1, 0, 1], [1, 0], [0, 0, 1, 0, 1, 1, 0]]
    ids = [w for s in sentences for w in s]
    vocab = Vocab(words, [ids.count(0), ids.count(1)])
    encoded = EncodedCorpus.from_arrays(ids, np.cumsum([len(s) for s in sentences]))
    options = ft.FastTextOptions(model=model, minn=2, maxn=4, bucket=7, dim=12, window=1,
                                 epochs=3, negative=2, alpha=0.5, sample=0, threads=1, seed=3)
    report = {}
    ft.train(vocab, encoded, options, report=report)
    indptr, indices = subwords.subword_csr(words, 2, 4, 7)
    rows_of = [indices[indptr[i]:indptr[i + 1]].tolist() for i in range(2)]
    want = []
    fasttext_replay(sentences, rows_of, ft.init_input(9, 12, 3), np.zeros((2, 12)),
                    sg=model == "skipgram", alpha=0.5, epochs=3, negative=2, losses=want)
    assert want[0] > want[-1]
    np.testing.assert_allclose(report["loss"], want, rtol=1e-4)


def test_fasttext_mean_loss_does_not_depend_on_threads(small):
    """(With fastText's rate falling to 0 the on-line loss rises in the last epochs: with a
    large rate a centre word's input also adapts to its own window. At a constant rate it
    falls: 2.03, 2.03, 1.96, 1.92, 1.90 over 5 epochs on 500k tokens.)"""
    vocab, corpus = small
    losses = []
    for threads in (1, 2):
        report = {}
        options = ft.FastTextOptions(dim=16, bucket=5000, epochs=2, threads=threads, seed=1)
        ft.train(vocab, corpus, options, report=report)
        losses.append(report["loss"])
    assert all(0 < x < 6 * LN2 for x in losses[0])
    assert_same_run_loss(losses[1], losses[0])


# ---------------------------------------------------------------- GloVe

def test_glove_loss_is_the_weighted_squared_error_of_the_records():
    """With a vanishing rate the weights stay as they start, so each epoch's loss is exactly
    GloVe's cost at the starting weights: the mean over records of 0.5 f(x) (w.c + b + b~ -
    log x)^2 (summed per thread in float64; two threads)."""
    rng = np.random.default_rng(5)
    v, dim = 30, 8
    triples = [(int(i), int(j), float(x)) for i, j, x in
               zip(rng.integers(0, v, 500), rng.integers(0, v, 500), rng.uniform(0.5, 300, 500))]
    recs = records(*triples)
    params = glove_fit.init_params(v, dim, seed=2)
    p64 = {k: a.astype(np.float64) for k, a in params.items()}
    i, j = recs["w1"].astype(int), recs["w2"].astype(int)
    diff = (np.einsum("rd,rd->r", p64["W"][i], p64["C"][j]) + p64["bw"][i] + p64["bc"][j]
            - recs["logx"].astype(np.float64))
    want = float(np.mean(0.5 * recs["fx"].astype(np.float64) * diff ** 2))
    opts = GloveOptions(dim=dim, epochs=2, threads=2, eta=1e-30).resolved()
    cost, skipped = glove_fit.fit(Records(array=recs, n=len(recs)), params, opts)
    assert skipped == 0
    np.testing.assert_allclose(cost, [want, want], rtol=1e-5)


# ---------------------------------------------------------------- --json-summary

@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("summary") / "corpus.txt", lines=40)


FAST = ("--dim", "8", "--epochs", "2", "--threads", "2", "--min-count", "3")


def read_summary(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    assert list(record) == list(SCHEMA)        # every documented field, in the documented order
    return record


def test_json_summary_describes_the_run_and_its_files(tmp_path, corpus_file):
    out, vocab, summary = tmp_path / "v.txt", tmp_path / "vocab.txt", tmp_path / "run.json"
    r = run_cli("train-skipgram", corpus_file, "-o", out, *FAST, "--save-vocab", vocab,
                "--json-summary", summary)
    assert r.returncode == 0, r.stderr
    s = read_summary(summary)
    text = corpus_file.read_text(encoding="utf-8")
    header = out.read_text(encoding="utf-8").split("\n", 1)[0].split()
    kept = Vocab.load(vocab)
    assert s["status"] == "ok" and s["exit_code"] == 0 and s["error"] is None
    assert s["command"] == "train-skipgram" and s["staticvec"]
    assert s["vocab_size"] == int(header[0]) == len(kept)
    assert s["corpus_tokens"] == len(text.split())
    assert s["trained_tokens"] == sum(kept.counts)
    assert s["inputs"] == {"corpus": [str(corpus_file)], "vocab": None, "continue": None,
                           "init-vectors": None}
    assert s["options"]["threads"] == 2 and s["options"]["alpha"] == 0.025
    assert s["options"]["min_alpha"] == pytest.approx(0.025e-4)     # resolved, not null
    assert len(s["loss"]) == 2 and all(0 < x < 6 * LN2 for x in s["loss"])
    assert s["loss_unit"] == "prediction"
    assert s["words_per_second"] > 0 and s["records_per_second"] is None
    assert set(s["seconds"]) == {"prepare", "train", "write", "total"}
    assert s["seconds"]["total"] >= s["seconds"]["train"] > 0
    assert s["peak_rss_bytes"] > 10 << 20
    assert s["outputs"] == [str(out), str(vocab)]
    # the per-epoch INFO lines show the same numbers
    shown = [float(line.split("loss")[1].split()[0]) for line in r.stderr.splitlines()
             if ": epoch " in line]
    np.testing.assert_allclose(shown, s["loss"], rtol=1e-5)


def test_json_summary_dash_goes_to_stderr_and_stdout_stays_clean(corpus_file):
    r = run_cli("train-cbow", corpus_file, "-o", "-", *FAST, "--json-summary", "-", "-q")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr                   # -q: the record is the only line
    record = json.loads(lines[0])
    assert record["command"] == "train-cbow" and record["outputs"] == ["-"]
    assert "{" not in r.stdout and int(r.stdout.split()[0]) == record["vocab_size"]


def test_json_summary_of_glove_and_fasttext(tmp_path, corpus_file):
    r = run_cli("train-glove", corpus_file, "-o", tmp_path / "g.txt", *FAST, "--memory",
                "0.05", "--json-summary", tmp_path / "g.json", "-q")
    assert r.returncode == 0, r.stderr
    g = read_summary(tmp_path / "g.json")
    assert g["loss_unit"] == "record" and len(g["loss"]) == 2 and g["loss"][0] > g["loss"][1]
    assert g["records_per_second"] > 0 and g["words_per_second"] is None
    assert {"cooccur", "shuffle", "fit"} <= set(g["seconds"])
    r = run_cli("train-fasttext", corpus_file, "-o", tmp_path / "m", *FAST, "--bucket", "1000",
                "--json-summary", tmp_path / "f.json", "-q")
    assert r.returncode == 0, r.stderr
    f = read_summary(tmp_path / "f.json")
    assert f["outputs"] == [str(tmp_path / "m.bin"), str(tmp_path / "m.vec")]
    assert len(f["loss"]) == 2 and f["options"]["bucket"] == 1000


def test_a_failed_run_writes_an_error_summary_and_nothing_else(tmp_path, corpus_file):
    out, summary = tmp_path / "v.bin", tmp_path / "run.json"
    r = run_cli("train-skipgram", corpus_file, "-o", out, *FAST, "--alpha", "1e6",
                "--json-summary", summary, "-q")
    assert r.returncode == 1
    s = read_summary(summary)
    assert s["status"] == "error" and s["exit_code"] == 1 and s["outputs"] == []
    assert r.stderr.strip() == f"staticvec: error: {s['error']}"
    assert "diverged" in s["error"] and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_python_api_returns_the_record_with_the_vectors(corpus_file):
    import staticvec

    v = staticvec.train_skipgram(str(corpus_file), dim=8, epochs=2, min_count=3, threads=1)
    record = v.training
    assert record["status"] == "ok" and record["command"] == "train_skipgram"
    assert record["vocab_size"] == len(v) and len(record["loss"]) == 2
