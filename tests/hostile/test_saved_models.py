"""Hostile inputs to --save-model, --continue and --init-vectors: one clean error line, the
documented exit code, nothing written, the model never overwritten."""
import numpy as np
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot


def _text(seed):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, 81)
    draws = rng.choice(80, size=(60, 30), p=p / p.sum())
    return "".join(" ".join(f"w{i}" for i in row) + "\n" for row in draws)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """(folder, corpus, model file) of a 6-dimensional skip-gram model."""
    folder = tmp_path_factory.mktemp("hostile-continue")
    corpus = folder / "corpus.txt"
    corpus.write_text(_text(3))
    path = folder / "m.svmodel"
    result = run_cli("train-skipgram", corpus, "-o", folder / "m.txt", "--save-model", path,
                     "--dim", "6", "--epochs", "1", "--threads", "1", "--no-cache", "-q")
    assert result.returncode == 0, result.stderr
    return folder, corpus, path


def _continue(folder, corpus, source, *extra, command="train-skipgram"):
    return run_cli(command, corpus, "-o", folder / "out.txt", "--continue", source,
                   "--threads", "1", "--no-cache", "-q", *extra)


def _damaged_copy(tmp_path, path, edit):
    raw = bytearray(path.read_bytes())
    edit(raw)
    bad = tmp_path / "bad.svmodel"
    bad.write_bytes(bytes(raw))
    return bad


def _flip_last_byte(raw):
    raw[-1] ^= 0xFF


@pytest.mark.parametrize("make, pattern", [
    (lambda tmp, path: tmp / "missing.svmodel", r".*cannot read \S+missing.svmodel: no such file"),
    (lambda tmp, path: tmp, r".*cannot read \S+: it is a folder"),
    (lambda tmp, path: _damaged_copy(tmp, path, lambda raw: raw.__setitem__(slice(0, 8), b"garbage!")),
     r".*bad.svmodel: not a staticvec model file .*"),
    (lambda tmp, path: _damaged_copy(tmp, path, lambda raw: raw.__delitem__(slice(200, None))),
     r".*bad.svmodel: damaged staticvec model file \(truncated.*"),
    (lambda tmp, path: _damaged_copy(tmp, path, _flip_last_byte),
     r".*bad.svmodel: damaged staticvec model file \(output_negative section checksum mismatch\)"),
    (lambda tmp, path: _damaged_copy(tmp, path, lambda raw: raw.__setitem__(30, raw[30] ^ 1)),
     r".*bad.svmodel: damaged staticvec model file \(header checksum mismatch\)"),
    (lambda tmp, path: _damaged_copy(tmp, path, lambda raw: raw.__setitem__(8, 9)),
     r".*bad.svmodel: staticvec model format version 9, this staticvec reads version 1"),
])
def test_unreadable_models_fail_cleanly(model, tmp_path, make, pattern):
    folder, corpus, path = model
    source = make(tmp_path, path)
    before = snapshot(folder)
    result = _continue(tmp_path, corpus, source)
    assert_fails_cleanly(result, 1, pattern=pattern)
    assert not (tmp_path / "out.txt").exists()
    assert snapshot(folder) == before


def test_a_vectors_file_is_not_a_model(model, tmp_path):
    folder, corpus, _ = model
    result = _continue(tmp_path, corpus, folder / "m.txt")
    assert_fails_cleanly(result, 1, pattern=r".*m\.txt: not a staticvec model file .*")


@pytest.mark.parametrize("extra, message", [
    (["--dim", "50"], "--dim 50 conflicts with --continue {m}, a model trained with --dim 6: "
                      "a continued model keeps its architecture (leave the option out)"),
    (["--hs"], "--hs conflicts with --continue {m}, a model trained with --no-hs: a continued "
               "model keeps its architecture (leave the option out)"),
    (["--negative", "3"], "--negative 3 conflicts with --continue {m}, a model trained with "
                          "--negative 5: a continued model keeps its architecture (leave the "
                          "option out)"),
])
def test_conflicting_architecture_options_are_usage_errors(model, tmp_path, extra, message):
    _, corpus, path = model
    result = _continue(tmp_path, corpus, path, *extra)
    assert_fails_cleanly(result, 2, message.format(m=path))


def test_the_same_value_given_explicitly_is_no_conflict(model, tmp_path):
    _, corpus, path = model
    result = _continue(tmp_path, corpus, path, "--dim", "6", "--negative", "5")
    assert result.returncode == 0, result.stderr


def test_continuing_a_skipgram_model_with_train_cbow_is_refused(model, tmp_path):
    _, corpus, path = model
    result = _continue(tmp_path, corpus, path, command="train-cbow")
    assert_fails_cleanly(result, 2, f"--continue {path}: a skip-gram model; continue it with "
                                    f"train-skipgram")


def test_the_model_is_never_an_output(model):
    folder, corpus, path = model
    before = snapshot(folder)
    result = run_cli("train-skipgram", corpus, "--continue", path, "--threads", "1",
                     "--no-cache", "-q", "-o", folder / "x.txt", "--save-model", path)
    assert_fails_cleanly(result, 2, pattern=r"staticvec: error: --save-model \S+m\.svmodel is "
                                            r"the same file as --continue \S+m\.svmodel")
    assert snapshot(folder) == before


@pytest.mark.parametrize("name, pattern", [
    ("v.txt", r".*--output \S+ and --save-model \S+ are the same file: give each output its "
              r"own name"),
    ("m.svmodel.gz", r".*--save-model \S+m\.svmodel\.gz: cannot be compressed \(\.gz\).*"),
])
def test_bad_save_model_names_are_refused(model, tmp_path, name, pattern):
    _, corpus, _ = model
    result = run_cli("train-skipgram", corpus, "-o", tmp_path / "v.txt", "--save-model",
                     tmp_path / name, "--no-cache", "-q")
    assert_fails_cleanly(result, 2, pattern=pattern)
    assert list(tmp_path.iterdir()) == []


def test_init_vectors_dimension_mismatch(model, tmp_path):
    folder, corpus, _ = model
    vectors = folder / "m.txt"      # 6-dimensional
    result = run_cli("train-skipgram", corpus, "-o", tmp_path / "v.txt", "--init-vectors",
                     vectors, "--dim", "10", "--no-cache", "-q")
    assert_fails_cleanly(result, 2, f"--init-vectors: {vectors} has 6-dimensional vectors but "
                                    f"--dim is 10")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [None, b"not vectors at all\x00\xff"])
def test_unreadable_init_vectors(model, tmp_path, content):
    _, corpus, _ = model
    source = tmp_path / "pre.txt"
    if content is not None:
        source.write_bytes(content)
    result = run_cli("train-skipgram", corpus, "-o", tmp_path / "v.txt", "--init-vectors",
                     source, "--dim", "6", "--no-cache", "-q")
    assert_fails_cleanly(result, 1, pattern=r".*pre\.txt.*")
    assert not (tmp_path / "v.txt").exists()


def test_continue_and_init_vectors_cannot_be_combined(model, tmp_path):
    folder, corpus, path = model
    result = _continue(tmp_path, corpus, path, "--init-vectors", folder / "m.txt")
    assert_fails_cleanly(result, 2, "--continue and --init-vectors cannot be combined (a "
                                    "continued model starts from its own vectors)")


def test_init_vectors_is_never_an_output(model, tmp_path):
    folder, corpus, _ = model
    before = snapshot(folder)
    result = run_cli("train-skipgram", corpus, "-o", folder / "m.txt", "--init-vectors",
                     folder / "m.txt", "--dim", "6", "--no-cache", "-q")
    assert_fails_cleanly(result, 2, pattern=r".*--output \S+m\.txt is the same file as "
                                            r"--init-vectors \S+m\.txt")
    assert snapshot(folder) == before


# ---------------------------------------------------------------- train-fasttext

@pytest.fixture(scope="module")
def ft_model(model):
    folder, corpus, _ = model
    result = run_cli("train-fasttext", corpus, "-o", folder / "ft", "--dim", "6", "--bucket",
                     "100", "--epochs", "1", "--threads", "1", "--no-cache", "-q")
    assert result.returncode == 0, result.stderr
    return folder / "ft.bin"


def _ft_continue(tmp_path, corpus, source, *extra):
    return run_cli("train-fasttext", corpus, "-o", tmp_path / "out", "--continue", source,
                   "--threads", "1", "--no-cache", "-q", *extra)


def _hs_fasttext_model(tmp_path):
    from staticvec.io import fasttext_bin

    path = tmp_path / "hs.bin"
    fasttext_bin.save_model(path, ["a", "b"], [3, 2], np.zeros((2 + 10, 4), np.float32),
                            np.zeros((2, 4), np.float32), dim=4, bucket=10, loss="hs")
    return path


@pytest.mark.parametrize("source, extra, code, pattern", [
    ("ft.bin", ["--dim", "7"], 2, r".*: --dim 7 conflicts with --continue \S+ft\.bin, a model "
                                  r"trained with --dim 6: a continued model keeps its "
                                  r"architecture \(leave the option out\)"),
    ("ft.bin", ["--model", "cbow"], 2, r".*: --model cbow conflicts with --continue \S+ft\.bin, "
                                       r"a model trained with --model skipgram: .*"),
    ("m.svmodel", [], 1, r".*m\.svmodel: not a fastText \.bin model \(bad magic number\)"),
    ("hs", [], 2, r".*--continue \S+hs\.bin: a fastText model trained with loss hs: "
                  r"train-fasttext continues negative-sampling \(loss ns\) models only"),
    ("truncated", [], 1, r".*cut\.bin: truncated fastText model .*"),
    ("missing", [], 1, r".*cannot read \S+nothere\.bin: no such file"),
])
def test_fasttext_continue_refusals(model, ft_model, tmp_path, source, extra, code, pattern):
    folder, corpus, _ = model
    if source == "hs":
        path = _hs_fasttext_model(tmp_path)
    elif source == "truncated":
        path = tmp_path / "cut.bin"
        path.write_bytes(ft_model.read_bytes()[:1000])
    elif source == "missing":
        path = tmp_path / "nothere.bin"
    else:
        path = folder / source
    result = _ft_continue(tmp_path, corpus, path, *extra)
    assert_fails_cleanly(result, code, pattern=pattern)
    assert not (tmp_path / "out.bin").exists() and not (tmp_path / "out.vec").exists()


def test_fasttext_continue_never_overwrites_its_model(model, ft_model):
    folder, corpus, _ = model
    before = snapshot(folder)
    result = run_cli("train-fasttext", corpus, "-o", folder / "ft", "--continue", ft_model,
                     "--no-cache", "-q")
    assert_fails_cleanly(result, 2, pattern=r".*--output \S+ft\.bin is the same file as "
                                            r"--continue \S+ft\.bin")
    assert snapshot(folder) == before


def test_fasttext_init_vectors_dimension_mismatch(model, tmp_path):
    folder, corpus, _ = model
    result = run_cli("train-fasttext", corpus, "-o", tmp_path / "o", "--init-vectors",
                     folder / "m.txt", "--dim", "12", "--no-cache", "-q")
    assert_fails_cleanly(result, 2, f"--init-vectors: {folder / 'm.txt'} has 6-dimensional "
                                    f"vectors but --dim is 12")
    assert list(tmp_path.iterdir()) == []
