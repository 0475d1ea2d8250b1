"""train-skipgram / train-cbow / cache clear through the real command in a subprocess."""
import lzma
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from staticvec.io import dispatch as formats

from conftest import MINI_CORPUS, run_cli


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """The first 120 lines (~90k tokens) of the bundled corpus, as plain text."""
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    with lzma.open(MINI_CORPUS, "rt", encoding="utf-8") as src:
        lines = [next(src) for _ in range(120)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_skipgram_writes_vectors_and_vocab_byte_identically_with_one_thread(small_corpus,
                                                                           tmp_path):
    base = ["train-skipgram", small_corpus, "--threads", "1", "--epochs", "1", "--dim", "24", "-q"]
    args = base + ["--seed", "7"]
    first = run_cli(*args, "-o", tmp_path / "a.bin", "--save-vocab", tmp_path / "vocab.txt")
    assert first.returncode == 0, first.stderr
    assert first.stderr == "" and first.stdout == ""
    second = run_cli(*args, "-o", tmp_path / "b.bin")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()
    vectors = formats.load_vectors(tmp_path / "a.bin")
    vocab_words = [line.split()[0] for line in
                   (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()]
    vocab_words = [w for w in vocab_words if w != "</s>"]
    assert list(vectors.words) == vocab_words
    assert vectors.matrix.shape == (len(vocab_words), 24)
    other = run_cli(*base, "--seed", "8", "-o", tmp_path / "c.bin")
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "c.bin").read_bytes() != (tmp_path / "a.bin").read_bytes()


def test_cbow_hs_from_stdin_to_text(small_corpus, tmp_path):
    out = tmp_path / "cbow.txt"
    result = run_cli("train-cbow", "-", "-o", out, "--negative", "0", "--hs", "--epochs", "1",
                     "--dim", "16", "--threads", "2", "--cbow-sum",
                     stdin=small_corpus.read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stderr
    assert "CBOW model (" in result.stderr and "wrote " in result.stderr
    header = out.read_text(encoding="utf-8").split("\n", 1)[0].split()
    assert int(header[1]) == 16 and int(header[0]) > 1000


def test_negative_zero_without_hs_is_a_usage_error(small_corpus, tmp_path):
    result = run_cli("train-skipgram", small_corpus, "-o", tmp_path / "x.bin", "--negative", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == \
        "staticvec: error: --negative 0 needs --hs (nothing would be trained)"
    assert leftovers(tmp_path, set()) == []


def test_model_larger_than_memory_is_refused_before_allocating(small_corpus, tmp_path):
    result = run_cli("train-skipgram", small_corpus, "-o", tmp_path / "x.bin",
                     "--dim", "100000000", "-q")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"staticvec: error: skip-gram model \([\d,]+ words x 100000000 dims\) "
                        r"needs [\d.]+ [GT]B but only [\d.]+ [GMk]B is available "
                        r"\(try a smaller --dim or a larger --min-count\)", lines[0]), lines[0]
    assert leftovers(tmp_path, set()) == []


def test_ctrl_c_stops_training_writes_nothing_and_exits_130(tmp_path):
    out = tmp_path / "never.bin"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "staticvec", "train-skipgram", str(MINI_CORPUS),
                             "-o", str(out), "--epochs", "200", "--threads", "2", "--no-cache"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in proc.stderr:          # wait until the workers are running
            lines.append(line)
            if line.startswith("skip-gram model ("):   # said just before the workers start
                break
        time.sleep(1.5)
        assert proc.poll() is None, "".join(lines)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        proc.wait(timeout=30)
        stopped_after = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert rest.strip().splitlines()[-1] == "staticvec: error: interrupted: stopped, no output written"
    assert stopped_after < 3.0            # workers stop within a second; the rest is exit
    assert leftovers(tmp_path, set()) == []


def test_cache_clear_removes_the_encoded_corpus(small_corpus, tmp_path, _private_cache):
    result = run_cli("train-cbow", small_corpus, "-o", tmp_path / "v.bin", "--epochs", "1",
                     "--dim", "8", "-q")
    assert result.returncode == 0, result.stderr
    folder = _private_cache / "staticvec"
    cached = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    assert cached, "training must leave the encoded corpus in the cache"
    again = run_cli("train-cbow", small_corpus, "-o", tmp_path / "w.bin", "--epochs", "1",
                    "--dim", "8")
    assert "from cache" in again.stderr
    cleared = run_cli("cache", "clear")
    assert cleared.returncode == 0
    assert cleared.stderr.strip() == f"removed {len(cached)} cached files from {folder}"
    assert [p for p in folder.iterdir() if not p.name.startswith(".")] == []


def test_unknown_output_extension_fails_before_any_work(small_corpus, tmp_path):
    result = run_cli("train-cbow", small_corpus, "-o", tmp_path / "vectors.xyz")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"staticvec: error: cannot tell the vectors format of {tmp_path / 'vectors.xyz'} from its "
        "extension: use .bin (word2vec binary) or .txt/.vec (text)"]
    assert leftovers(tmp_path, set()) == []
