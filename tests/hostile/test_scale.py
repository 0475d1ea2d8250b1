"""Hostile values of the scale-out options (--dask, --encoded-dir, --encoded) and damaged
shard sets: one line on stderr, the documented exit code, no traceback, nothing written.
The refusals that need no cluster run the command in this process (``_cli``)."""
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from test_options import _cli
from test_phrases import corpus_file, refuser

TEXT = "the cat sat on the mat\nthe dog sat on the log\n" * 20


@pytest.fixture
def corpus(tmp_path):
    return corpus_file(tmp_path, TEXT)


@pytest.fixture
def refused(tmp_path, capsys):
    return refuser(tmp_path, capsys, "-q")


@pytest.mark.parametrize("command", ["train-skipgram", "train-cbow", "train-glove",
                                     "train-fasttext"])
def test_every_trainer_refuses_a_bad_dask_value(refused, corpus, tmp_path, command):
    refused(2, command, corpus, "-o", tmp_path / "v.bin", "--dask", "local:0",
            "--encoded-dir", tmp_path / "set",
            pattern=r"staticvec: error: --dask must be local:N .*\(got local:0\)")


@pytest.mark.parametrize("args, message", [
    (["--dask", "local:1"], "--dask needs --encoded-dir DIR (where the workers write the "
                            "encoded shards)"),
    (["--encoded-dir", "SET"], "--encoded-dir needs --dask ADDRESS (the cluster that encodes "
                               "the corpus)"),
])
def test_dask_and_encoded_dir_go_together(refused, corpus, tmp_path, args, message):
    args = [str(tmp_path / "set") if a == "SET" else a for a in args]
    refused(2, "train-skipgram", corpus, "-o", tmp_path / "v.bin", *args, message=message)


@pytest.mark.parametrize("command", ["train-skipgram", "train-glove", "train-fasttext"])
def test_encoded_with_a_corpus_is_refused(refused, corpus, tmp_path, command):
    refused(2, command, corpus, "--encoded", tmp_path, "-o", tmp_path / "v.bin",
            message=f"--encoded {tmp_path} is the corpus: name no corpus files with it "
                    f"(got {corpus})")


@pytest.mark.parametrize("option, value", [
    ("--min-count", "2"), ("--max-size", "10"), ("--max-vocab-words", "100"),
    ("--max-sentence-length", "5"), ("--encoding-errors", "replace"), ("--vocab", "v.txt"),
    ("--phrases", "p.txt"),
])
def test_encoded_with_an_option_that_changes_the_encoding_is_refused(refused, tmp_path,
                                                                     option, value):
    commands = ["train-glove"] if option == "--max-size" else ["train-cbow", "train-glove",
                                                               "train-fasttext"]
    for command in commands:
        refused(2, command, "--encoded", tmp_path, "-o", tmp_path / "v.bin", option, value,
                message=f"{option} cannot be used with --encoded: the shard set's vocabulary "
                        f"and encoding are fixed (set them when writing it with --encoded-dir)")


def test_encoded_with_dask_or_continue_is_refused(refused, tmp_path):
    refused(2, "train-cbow", "--encoded", tmp_path, "-o", tmp_path / "v.bin", "--dask",
            "local:1", message="--dask cannot be used with --encoded: the shard set is "
                               "encoded already")
    (tmp_path / "m.model").write_bytes(b"")
    for command in ("train-cbow", "train-fasttext"):
        refused(2, command, "--encoded", tmp_path / "set", "-o", tmp_path / "v.bin",
                "--continue", tmp_path / "m.model",
                message="--continue cannot be used with --encoded or --dask: a continued "
                        "model changes the vocabulary, and so the encoding")


def test_no_corpus_and_no_encoded(refused, tmp_path):
    for command in ("train-skipgram", "train-fasttext"):
        refused(2, command, "-o", tmp_path / "v.bin", message="missing CORPUS (or --encoded DIR)")


def test_encoded_folder_missing_or_unfinished(refused, tmp_path):
    refused(1, "train-cbow", "--encoded", tmp_path / "none", "-o", tmp_path / "v.bin",
            message=f"cannot read {tmp_path / 'none'}: no such folder")
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "vocab.txt").write_text("</s> 1\nthe 3\n")
    refused(1, "train-cbow", "--encoded", tmp_path / "set", "-o", tmp_path / "v.bin",
            message=f"{tmp_path / 'set'} is not a finished shard set (no manifest; an "
                    f"interrupted --encoded-dir is finished by running it again)")


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory, dask_cluster):
    """A finished shard set written by the session cluster (copied by the tests that harm it)."""
    _, address = dask_cluster
    folder = tmp_path_factory.mktemp("shard-set")
    (folder / "corpus.txt").write_text(TEXT, encoding="utf-8")
    result = run_cli("train-cbow", folder / "corpus.txt", "-o", folder / "v.bin", "-q",
                     "--min-count", "1", "--dim", "4", "--epochs", "1", "--dask", address,
                     "--encoded-dir", folder / "set")
    assert result.returncode == 0, result.stderr
    return folder / "set"


def _copy(shard_set, tmp_path):
    import shutil

    return shutil.copytree(shard_set, tmp_path / "set")


def _forge(folder, ids=None, ends=None, vocab=None):
    """Rewrite the first shard's arrays or vocab.txt, and reseal the manifest with their
    SHA-256 and sizes: a set whose hashes agree is still a user's file, checked as one."""
    import hashlib
    import json

    from staticvec.text.cache import seal, unseal
    record = unseal("shards", (folder / "manifest").read_bytes())
    shard = record["shards"][0]
    for suffix, data, field in ((".ids.u32", ids, "ids_sha256"),
                                (".ends.u64", ends, "ends_sha256")):
        if data is not None:
            (folder / f"{shard['key']}{suffix}").write_bytes(data)
            shard[field] = hashlib.sha256(data).hexdigest()
    if vocab is not None:
        (folder / "vocab.txt").write_bytes(vocab)
        record["vocab"]["sha256"] = hashlib.sha256(vocab).hexdigest()
    (folder / "manifest").write_bytes(seal("shards", json.dumps(record, sort_keys=True).encode()))


def _forge_first(folder, change, suffix, dtype):
    import numpy as np

    from staticvec.text.cache import unseal
    key = unseal("shards", (folder / "manifest").read_bytes())["shards"][0]["key"]
    data = np.fromfile(folder / f"{key}{suffix}", dtype=dtype)
    change(data)
    _forge(folder, **{"ids" if suffix == ".ids.u32" else "ends": data.tobytes()})


def _set_last(value):
    def change(array):
        array[-1] = value
    return change


@pytest.mark.parametrize("harm, message", [
    (lambda d: _forge_first(d, _set_last(10 ** 6), ".ids.u32", "<u4"),
     "{set}: the shard set is damaged (token id 1,000,000 is outside the vocabulary of 7 words)"),
    (lambda d: _forge_first(d, _set_last(0), ".ends.u64", "<u8"),
     "{set}: the shard set is damaged (its sentence ends decrease)"),
    (lambda d: _forge(d, ids=b"\0" * 4),
     "{set}/{key}.ids.u32 holds 4 bytes, the manifest says {tokens} bytes: the shard set is "
     "damaged"),
    (lambda d: _forge(d, vocab=b"</s> 2\nthe 3\ncat 1e308\n"),
     "{set}/vocab.txt: line 3: expected 'word count', got 'cat 1e308'"),
    (lambda d: _forge(d, vocab=b"</s> 2\nthe 3\n\xff 1\n"),
     "{set}/vocab.txt: line 3: invalid UTF-8 (byte 0xff)"),
    (lambda d: (d / "manifest").write_bytes(b"garbage\n"),
     "{set}/manifest: damaged (not a whole shards (no staticvec-shards header line))"),
    (lambda d: (d / "manifest").write_bytes((d / "manifest").read_bytes()[:-7]),
     "{set}/manifest: damaged (the shards does not match its checksum)"),
    (lambda d: (d / "vocab.txt").write_text("</s> 1\nthe 99\n"),
     "{set}/vocab.txt does not match the manifest (SHA-256)"),
    (lambda d: [p.unlink() for p in d.glob("*.ends.u64")],
     "cannot read {set}/{key}.ends.u64: no such file (the shard set is incomplete)"),
])
def test_a_damaged_shard_set_is_one_error(capsys, shard_set, tmp_path, harm, message):
    folder = _copy(shard_set, tmp_path)
    from staticvec.text.cache import unseal
    first = unseal("shards", (folder / "manifest").read_bytes())["shards"][0]
    key = first["key"] if "{key}.ids" in message else next(folder.glob("*.json")).name[:-5]
    harm(folder)
    before = snapshot(tmp_path)
    result = _cli(capsys, "train-cbow", "--encoded", folder, "-o", tmp_path / "v.bin", "-q")
    assert_fails_cleanly(result, 1, message.format(set=folder, key=key,
                                                   tokens=f"{4 * first['n_tokens']:,}"))
    assert snapshot(tmp_path) == before


def test_ctrl_c_stops_a_local_cluster_with_one_line(tmp_path):
    """Ctrl-C reaches the whole process group: the worker processes of --dask local:N must
    not each print a traceback; the job stops with exit 130, one line, nothing written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pytest.importorskip("distributed")
    big = tmp_path / "big.txt"
    big.write_bytes(b"the cat sat on the mat and the dog sat on the log\n" * 2_000_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "staticvec", "vocab", big, big, "-o", tmp_path / "v.txt", "-q",
         "--dask", "local:1"], stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the worker process runs
        out = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
        if len(out.stdout.split()) >= 3:  # this process, its nanny's worker, the spawn helper
            break
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(process.args, process.returncode, "", err)
    assert_fails_cleanly(result, 130, "interrupted: stopped, no output written")
    assert not (tmp_path / "v.txt").exists()
