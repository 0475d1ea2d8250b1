"""Hostile option values for the trainers (issue #10, "never crash"): every value gives a
finite model, a clean divergence report or a one-line refusal; never a signal, a traceback,
a hang or a partial output file."""
import lzma
import re

import numpy as np
import pytest

from conftest import MINI_CORPUS, assert_fails_cleanly, run_cli, snapshot
from staticvec import _kernels
from staticvec.errors import ResourceError, StaticvecError
from staticvec.train import options, runner
from staticvec.train import word2vec as w2v

FAST = ["--dim", "8", "--epochs", "1", "--threads", "1", "-q"]
DIVERGED = r"staticvec: error: training diverged in epoch \d+ \(non-finite weights\); lower {}"


def _lines(n):
    with lzma.open(MINI_CORPUS, "rt", encoding="utf-8") as src:
        return "".join(next(src) for _ in range(n))


@pytest.fixture(scope="module")
def corpus_text():
    return _lines(200)   # ~170k tokens


@pytest.fixture
def corpus(tmp_path, corpus_text):
    path = tmp_path / "corpus.txt"
    path.write_text(corpus_text, encoding="utf-8")
    return path


@pytest.fixture
def short_corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(_lines(20), encoding="utf-8")
    return path


def _outputs(command, folder):
    """(what -o gets, the files a success writes, the text file holding the vectors)."""
    if command == "train-fasttext":
        return folder / "out", {"out.bin", "out.vec"}, folder / "out.vec"
    return folder / "out.txt", {"out.txt"}, folder / "out.txt"


def _assert_finite_vectors(path):
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    assert rows
    values = np.array([[float(x) for x in row.split(" ")[1:] if x] for row in rows])
    assert np.isfinite(values).all()


def _train(command, extra, corpus, value, option):
    folder = corpus.parent
    before = snapshot(folder)
    out, written, vectors = _outputs(command, folder)
    result = run_cli(command, corpus, "-o", out, *FAST, *extra, option, value, timeout=120)
    assert result.returncode >= 0, f"killed by signal {-result.returncode}"
    assert "Traceback" not in result.stderr
    after = snapshot(folder)
    assert {k: v for k, v in after.items() if k in before} == before   # input unchanged
    created = set(after) - set(before)
    return result, created, written, vectors


TRAINERS = [
    ("train-skipgram", []),
    ("train-cbow", []),
    ("train-skipgram", ["--hs", "--negative", "0"]),
    ("train-cbow", ["--hs"]),
    ("train-fasttext", ["--model", "skipgram", "--bucket", "20000"]),
    ("train-fasttext", ["--model", "cbow", "--bucket", "20000"]),
    ("train-glove", []),
]
# (trainer, option that sets its step size, the option a divergence message names)
RATES = [(c, e, "--alpha", "--alpha") for c, e in TRAINERS if c != "train-glove"] + [
    ("train-glove", [], "--eta", "--eta"),
    ("train-glove", [], "--alpha", "--eta"),     # GloVe's weighting exponent
    ("train-glove", [], "--x-max", "--eta"),
]


@pytest.mark.parametrize("value", ["1", "10", "1e6", "inf", "nan"])
@pytest.mark.parametrize("command,extra,option,blamed", RATES,
                         ids=[" ".join([c, *e, o]) for c, e, o, _ in RATES])
def test_any_rate_trains_finite_vectors_or_fails_cleanly(corpus, command, extra, option,
                                                         blamed, value):
    result, created, written, vectors = _train(command, extra, corpus, value, option)
    if value in ("inf", "nan"):
        assert_fails_cleanly(result, 2, f"{option} must be a finite number > 0 (got {value})")
        assert created == set()
    elif result.returncode == 0:
        assert created == written, result.stderr
        _assert_finite_vectors(vectors)
    else:
        assert_fails_cleanly(result, 1, pattern=DIVERGED.format(re.escape(blamed)))
        assert created == set()


@pytest.mark.parametrize("command,extra,option", [
    ("train-skipgram", [], "--alpha"), ("train-cbow", ["--hs"], "--alpha"),
    ("train-fasttext", ["--bucket", "20000"], "--alpha"), ("train-glove", [], "--eta")])
def test_a_huge_rate_is_reported_as_divergence(corpus, command, extra, option):
    value = "1e30" if command == "train-glove" else "1e6"
    result, created, _, _ = _train(command, extra, corpus, value, option)
    assert_fails_cleanly(result, 1, pattern=DIVERGED.format(re.escape(option)))
    assert created == set()


def test_sigmoid_lookup_is_finite_in_0_1_for_any_input():
    k = _kernels.load("word2vec")
    for f in (np.nan, np.inf, -np.inf, 1e30, -1e30, 3.4e38, -3.4e38, 6.0, -6.0, 5.999, -5.999):
        s = k.sigmoid(f)
        assert np.isfinite(s) and 0.0 <= s <= 1.0, (f, s)
    assert k.sigmoid(np.inf) == 1.0 and k.sigmoid(-np.inf) == 0.0
    assert k.sigmoid(0.0) == pytest.approx(0.5, abs=0.01)


def _word2vec_run(alpha):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 20000).astype(np.uint32)
    ends = np.arange(100, 20001, 100, dtype=np.uint64)
    counts = np.sort(np.bincount(ids, minlength=50))[::-1].astype(np.int64)
    o = w2v.Word2VecOptions(dim=8, epochs=3, alpha=alpha, threads=1, sample=0).resolved()
    counters = runner.Counters(1)
    diverged = np.zeros(1, dtype=np.int32)
    kernel, syn0, _, _ = w2v.build_kernel(counts, o, counters, diverged)
    kernel.train(0, ids, ends, 0, len(ends), o.epochs, 1, o.alpha, o.min_alpha,
                 3 * len(ids), 100)
    return diverged[0], counters, syn0


def test_word2vec_kernel_stops_at_the_first_non_finite_dot_product():
    epoch, counters, _ = _word2vec_run(1e6)
    assert epoch == 1 and counters.stop[0] == 1
    assert counters.done() < 20000          # stopped inside epoch 1, did not grind on NaNs
    epoch, counters, syn0 = _word2vec_run(0.025)
    assert epoch == 0 and counters.stop[0] == 0 and counters.done() == 3 * 20000
    assert np.isfinite(syn0).all()


def test_fasttext_kernel_stops_at_the_first_non_finite_dot_product():
    from staticvec.train import fasttext as ft

    k = _kernels.load("fasttext")
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 20000).astype(np.uint32)
    ends = np.arange(100, 20001, 100, dtype=np.uint64)
    indptr = np.arange(51, dtype=np.int64)
    indices = np.arange(50, dtype=np.int32)
    shift = k.mean_shift(indptr, indices)
    table = ft.noise_table(np.ones(50), size=1000, seed=1)
    keep = np.ones(50, dtype=np.float32)
    for alpha, want in ((1e6, 1), (0.05, 0)):
        wi = ft.init_input(50, 8, 1)
        wo = np.zeros((50, 8), dtype=np.float32)
        counters = runner.Counters(1)
        diverged = np.zeros(1, dtype=np.int32)
        k.train_share(wi, wo, ids, ends, 0, len(ids), indptr, indices, shift, table, keep,
                      True, 5, 5, 2, alpha, 2 * len(ids), counters.progress, counters.stop, 0, 1,
                      False, diverged)
        assert diverged[0] == want and counters.stop[0] == want
        if want:
            assert counters.done() < len(ids)
        else:
            assert counters.done() == 2 * len(ids) and np.isfinite(wi).all()


def test_final_check_names_the_epoch_and_option():
    a = np.ones((3, 4), dtype=np.float32)
    runner.check_finite([a, a[:, :2]], 5)
    a[2, 3] = np.inf
    with pytest.raises(StaticvecError, match=r"^training diverged in epoch 5 \(non-finite "
                                             r"weights\); lower --eta$"):
        runner.check_finite([a], 5, "--eta")


# ---------------------------------------------------------------- bounds

@pytest.mark.parametrize("command", ["train-skipgram", "train-cbow", "train-fasttext",
                                     "train-glove"])
def test_a_window_past_every_sentence_works_and_one_past_a_c_int_is_refused(short_corpus,
                                                                            command):
    extra = ["--bucket", "20000"] if command == "train-fasttext" else []
    result, created, written, vectors = _train(command, extra, short_corpus, "100000000",
                                               "--window")
    assert result.returncode == 0, result.stderr
    assert created == written
    _assert_finite_vectors(vectors)
    (short_corpus.parent / vectors.name).unlink()
    for path in written - {vectors.name}:
        (short_corpus.parent / path).unlink()
    result, created, _, _ = _train(command, extra, short_corpus, "3000000000", "--window")
    assert_fails_cleanly(result, 2, "--window must be an integer in [1, 2147483647] "
                                    "(got 3000000000)")
    assert created == set()


@pytest.mark.parametrize("exponent", [1000.0, -1000.0, 0.75, 0.0])
def test_noise_distribution_stays_a_distribution_at_any_exponent(exponent):
    counts = np.array([10 ** 9, 5000, 5000, 7, 1, 1], dtype=np.int64)
    p = w2v.noise_distribution(counts, exponent)
    assert np.isfinite(p).all() and p.min() >= 0 and p.sum() == pytest.approx(1.0)
    accept, alias = w2v.alias_table(p)
    np.testing.assert_allclose(w2v.alias_distribution(accept, alias), p, atol=1e-9)
    if exponent == 1000.0:
        assert p[0] == 1.0
    if exponent == -1000.0:
        assert p[4] == p[5] == 0.5


@pytest.mark.parametrize("value", ["1000", "-1000"])
def test_ns_exponent_1000_trains(short_corpus, value):
    result, created, written, vectors = _train("train-skipgram", [], short_corpus, value,
                                               "--ns-exponent")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert created == written
    _assert_finite_vectors(vectors)


@pytest.mark.parametrize("limit", [1, 2])
def test_a_tiny_max_vocab_words_counts_quickly_with_bounded_memory(tmp_path, limit):
    # ~1M tokens, ~50k distinct words: every new word prunes the table
    result = run_cli("vocab", MINI_CORPUS, "-o", tmp_path / "v.txt", "--min-count", "1",
                     "--max-vocab-words", limit, "-q", timeout=30)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert set(snapshot(tmp_path)) == {"v.txt"}
    words = (tmp_path / "v.txt").read_text().splitlines()[1:]
    assert 1 <= len(words) <= limit


def test_tiny_max_vocab_words_pruning_equals_stepwise_pruning():
    """Skipping the thresholds that drop nothing gives word2vec C's ReduceVocab result."""
    from staticvec._kernels.tokenize import WordTable

    rng = np.random.default_rng(3)
    text = " ".join(f"w{int(i)}" for i in rng.zipf(1.3, 30000) % 3000).encode()
    for limit in (1, 2, 50, 400):
        table = WordTable()
        table.count(text, limit)
        words, counts = table.items()
        reference = {}
        min_reduce = 1
        for word in text.split():
            reference[word] = reference.get(word, 0) + 1
            while len(reference) > limit:
                reference = {w: c for w, c in reference.items() if c > min_reduce}
                min_reduce += 1
        assert dict(zip(words, counts.tolist())) == reference
        assert table.min_reduce == min_reduce


def _cli(capsys, *args):
    """The command run in this process (as ``run_cli`` but without a Python start-up each):
    for refusals that happen before any kernel runs."""
    import subprocess

    from staticvec import cli

    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, stop.value.code, out, err)


@pytest.mark.parametrize("command", ["train-skipgram", "train-fasttext", "train-glove"])
def test_threads_beyond_what_can_run_are_refused(capsys, short_corpus, command):
    out, _, _ = _outputs(command, short_corpus.parent)
    result = _cli(capsys, command, short_corpus, "-o", out, "-q", "--threads", "100000")
    assert_fails_cleanly(result, 2, f"--threads must be an integer in [1, "
                                    f"{options.max_threads()}] (got 100000)")
    assert set(snapshot(short_corpus.parent)) == {"corpus.txt"}


BOUNDS = [
    ("train-skipgram", ["--dim", "3000000000"], 2, r"--dim must be an integer in \[1, 1073741824\] \(got 3000000000\)"),
    ("train-fasttext", ["--dim", "3000000000"], 2, r"--dim must be an integer in \[1, 1073741824\] \(got 3000000000\)"),
    ("train-glove", ["--dim", "3000000000"], 2, r"--dim must be an integer in \[1, 1073741824\] \(got 3000000000\)"),
    ("train-fasttext", ["--dim", "100000000"], 1, r"fasttext training needs .* \(try a smaller --bucket or --dim\)"),
    ("train-glove", ["--dim", "100000000"], 1, r"glove parameters .* needs .* \(try a smaller --dim or --max-size\)"),
    ("train-skipgram", ["--negative", "100000"], 2, r"--negative must be an integer in \[0, 1000\] \(got 100000\)"),
    ("train-skipgram", ["--lr-schedule", "linear"], 2, r"invalid value for --lr-schedule: 'linear' \(choose from sawtooth, word2vec\)"),
    ("train-cbow", ["--lr-schedule", ""], 2, r"invalid value for --lr-schedule: '' \(choose from sawtooth, word2vec\)"),
    ("train-skipgram", ["--lanes", "5000"], 2, r"--lanes must be an integer in \[1, 4096\] \(got 5000\)"),
    ("train-cbow", ["--lanes", "0"], 2, r".*'--lanes'.*greater than or equal to 1.*"),
    ("train-cbow", ["--lanes", "-3"], 2, r".*'--lanes'.*greater than or equal to 1.*"),
    ("train-skipgram", ["--lanes", "2.5"], 2, r".*'--lanes'.*"),
    ("train-skipgram", ["--order", "random"], 2, r"invalid value for --order: 'random' \(choose from shuffled, sequential\)"),
    ("train-cbow", ["--order", ""], 2, r"invalid value for --order: '' \(choose from shuffled, sequential\)"),
    ("train-cbow", ["--shuffle-block", "0"], 2, r"--shuffle-block must be an integer in \[1, 1073741824\] \(got 0\)"),
    ("train-skipgram", ["--shuffle-block", "2000000000"], 2, r"--shuffle-block must be an integer in \[1, 1073741824\] \(got 2000000000\)"),
    ("train-skipgram", ["--shuffle-block", "x"], 2, r".*'--shuffle-block'.*"),
    ("train-cbow", ["--order", "sequential", "--shuffle-block", "500"], 2, r"--shuffle-block 500 needs --order shuffled"),
    ("train-cbow", ["--lanes", "8"], 2, r"--lanes 8 needs --order sequential \(the shuffled order has no lanes\)"),
    ("train-skipgram", ["--order", "shuffled", "--lanes", "2"], 2, r"--lanes 2 needs --order sequential \(the shuffled order has no lanes\)"),
    ("train-fasttext", ["--negative", "100000"], 2, r"--negative must be an integer in \[1, 1000\] \(got 100000\)"),
    ("train-fasttext", ["--bucket", "3000000000"], 2, r"--bucket must be an integer in \[0, 2147483646\] \(got 3000000000\)"),
    ("train-fasttext", ["--bucket", "2000000000"], 1, r"fasttext training needs .* \(try a smaller --bucket or --dim\)"),
    ("train-skipgram", ["--epochs", "100000000000"], 2, r"--epochs must be an integer in \[1, 1000000\] \(got 100000000000\)"),
    ("train-fasttext", ["--epochs", "100000000000"], 2, r"--epochs must be an integer in \[1, 1000000\] \(got 100000000000\)"),
    ("train-glove", ["--epochs", "100000000000"], 2, r"--epochs must be an integer in \[1, 1000000\] \(got 100000000000\)"),
    ("train-skipgram", ["--min-count", str(10 ** 30)], 1, r"no word occurs at least \d+ times \(lower --min-count\)"),
    ("train-fasttext", ["--min-count", str(10 ** 30)], 2, r"--min-count must be an integer in \[1, 9223372036854775807\] \(got \d+\)"),
    ("train-glove", ["--min-count", str(10 ** 30)], 1, r"no word occurs at least \d+ times \(lower --min-count\)"),
    ("train-skipgram", ["--max-sentence-length", str(10 ** 30)], 2, r".*'--max-sentence-length'.*2147483647.*"),
    ("train-glove", ["--max-vocab-words", str(10 ** 30)], 2, r".*'--max-vocab-words'.*2147483647.*"),
    ("train-glove", ["--memory", "-1"], 2, r"--memory must be a finite number > 0 \(got -1.0\)"),
    ("train-glove", ["--memory", "0"], 2, r"--memory must be a finite number > 0 \(got 0.0\)"),
    ("train-glove", ["--memory", "inf"], 2, r"--memory must be a finite number > 0 \(got inf\)"),
    ("train-glove", ["--memory", "nan"], 2, r"--memory must be a finite number > 0 \(got nan\)"),
    ("train-glove", ["--memory", "1e9"], 2, r"--memory must be a finite number of GB in \(0, [\d.]+\] \(got 1000000000.0\): this machine has .* of RAM"),
    ("train-skipgram", ["--ns-exponent", "nan"], 2, r"--ns-exponent must be a finite number \(got nan\)"),
]


@pytest.mark.parametrize("command,args,code,pattern", BOUNDS,
                         ids=[f"{c} {' '.join(a)}"[:60] for c, a, _, _ in BOUNDS])
def test_option_bounds(capsys, short_corpus, command, args, code, pattern):
    out, _, _ = _outputs(command, short_corpus.parent)
    result = _cli(capsys, command, short_corpus, "-o", out, "--threads", "1", "-q", *args)
    assert_fails_cleanly(result, code, pattern="staticvec: error: " + pattern)
    assert set(snapshot(short_corpus.parent)) == {"corpus.txt"}


def test_memory_refusal_names_the_largest_contributor(monkeypatch):
    monkeypatch.setattr(runner, "available_memory", lambda: 1 << 20)
    o = w2v.Word2VecOptions(dim=100, threads=64).resolved()
    # 64 threads, each holding a 100M-token sentence: the threads are at fault, not --dim
    with pytest.raises(ResourceError, match=r"\(try fewer --threads or a smaller "
                                            r"--max-sentence-length\)$"):
        runner.check_memory(w2v.memory_needed(10, o, 64, max_sentence=10 ** 8), "model")
    with pytest.raises(ResourceError, match=r"\(try a smaller --dim or a larger --min-count\)$"):
        runner.check_memory(w2v.memory_needed(10 ** 6, o, 1), "model")
    o = w2v.Word2VecOptions(dim=8, threads=64, negative=1000, window=10 ** 8).resolved()
    with pytest.raises(ResourceError, match=r"\(try fewer --threads or a smaller --window\)$"):
        runner.check_memory(w2v.memory_needed(10, o, 64, max_sentence=10 ** 4), "model")
    # the window never costs more than the longest sentence
    small = w2v.memory_needed(10, o, 1, max_sentence=100)
    assert sum(small.values()) < 1 << 20
