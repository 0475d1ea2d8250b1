"""Hostile use of ``train-glove --dask``: bad values and combinations are refused before any
work (exit 2); a corpus file the workers cannot read fails the run with one line naming it and
nothing written; a good run's records equal the single-process run's."""
import numpy as np
import pytest

from tests.conftest import assert_fails_cleanly, run_cli, snapshot

TRAIN = ["--dim", "8", "--epochs", "1", "--threads", "1", "--min-count", "1", "-q"]


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    paths = []
    for f in range(3):
        path = tmp_path / f"c{f}.txt"
        path.write_text("".join(" ".join(rng.choice(words, size=12)) + "\n" for _ in range(80)))
        paths.append(path)
    return paths


@pytest.mark.parametrize("value", ["local:0", "local:x", "local:99999", "local"])
def test_bad_dask_values_are_usage_errors(corpus, tmp_path, value):
    result = run_cli("train-glove", *corpus, "-o", tmp_path / "v.txt", "--dask", value, *TRAIN)
    assert_fails_cleanly(result, 2, pattern=r"staticvec: error: --dask must be local:N .*")
    assert not (tmp_path / "v.txt").exists()


@pytest.mark.parametrize("extra,corpus_args,pattern", [
    (["--cooccur", "x.bin", "--vocab", "v.txt"], False, "--dask with --cooccur"),
    (["--checkpoint", "ck"], True, "--checkpoint/--resume with --dask"),
    ([], "-", r"--dask cannot read stdin \(-\)"),
])
def test_dask_combinations_refused(corpus, tmp_path, extra, corpus_args, pattern):
    args = corpus if corpus_args is True else (["-"] if corpus_args == "-" else [])
    before = snapshot(tmp_path)
    result = run_cli("train-glove", *args, "-o", tmp_path / "v.txt", "--dask", "local:1",
                     *extra, *TRAIN, cwd=tmp_path, stdin="w1 w2\n")
    assert_fails_cleanly(result, 2, pattern=f"staticvec: error: {pattern}: .*")
    assert snapshot(tmp_path) == before


def test_unreadable_shard_fails_on_the_worker_with_one_line(corpus, tmp_path, dask_cluster):
    vocab = tmp_path / "vocab.txt"
    assert run_cli("vocab", *corpus, "-o", vocab, "--min-count", "1", "-q").returncode == 0
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"w1 w2 w3\n\xc3\x28 w4\n")
    before = snapshot(tmp_path)
    # --vocab: the client never reads the corpus, so the worker meets the bad byte first
    result = run_cli("train-glove", corpus[0], bad, corpus[1], "-o", tmp_path / "v.txt",
                     "--vocab", vocab, "--dask", dask_cluster[1], "--save-cooccur",
                     tmp_path / "r.bin", *TRAIN)
    assert_fails_cleanly(result, 1, pattern=r"staticvec: error: .*broken\.txt: invalid UTF-8 "
                                                r"at byte offset 9 .*")
    assert snapshot(tmp_path) == before


def test_dask_records_equal_single_process_records(corpus, tmp_path, dask_cluster):
    crec = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("x", "<f8")])
    found = {}
    for name, extra in (("one", []), ("dask", ["--dask", dask_cluster[1]])):
        result = run_cli("train-glove", *corpus, "-o", tmp_path / f"{name}.txt", "--window", "4",
                         "--save-cooccur", tmp_path / f"{name}.bin", "--no-cache", *extra, *TRAIN)
        assert result.returncode == 0, result.stderr
        found[name] = np.sort(np.fromfile(tmp_path / f"{name}.bin", dtype=crec),
                              order=["w1", "w2"])
    assert len(found["one"]) > 1000
    assert np.array_equal(found["one"][["w1", "w2"]], found["dask"][["w1", "w2"]])
    np.testing.assert_allclose(found["dask"]["x"], found["one"]["x"], rtol=1e-6, atol=0)
