"""Issue #10, "never crash": inputs that are not regular files (a FIFO, /dev/stdin, a
``<(...)`` process substitution) are read exactly once, like ``-``: no hang, no second
read finding them empty, and nothing of them in the cache."""
import os
import shlex
import subprocess
import sys
import threading

import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from corpora import TRAIN, cache_names, tiny_corpus, train


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A tiny corpus as a regular file, its vocabulary, and the vectors trained on it."""
    folder = tmp_path_factory.mktemp("reference")
    corpus = tiny_corpus(folder / "corpus.txt", lines=60)
    result = train(corpus, folder / "vectors.txt", "--no-cache", "--save-vocab",
                   folder / "vocab.txt")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return corpus, (folder / "vectors.txt").read_bytes(), folder / "vocab.txt"


def _feed(fifo, data):
    """Write ``data`` into ``fifo`` from a thread (opening blocks until a reader opens it);
    a second open by the reader would then wait forever: the run's timeout catches that."""
    def write():
        with open(fifo, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


def _unblock(fifo, writer):
    """If the run never opened the FIFO, open it for reading so the writer thread ends."""
    if writer.is_alive():
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    writer.join(5)


def test_fifo_is_read_once(tmp_path, reference):
    corpus, expected, _ = reference
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, corpus.read_bytes())
    try:
        result = train(fifo, tmp_path / "v.txt", timeout=60)
    finally:
        _unblock(fifo, writer)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "v.txt").read_bytes() == expected
    assert cache_names() == []
    assert set(os.listdir(tmp_path)) == {"corpus.fifo", "v.txt"}


def test_fifo_beside_a_file_is_read_once(tmp_path, reference):
    """A file and a FIFO: both spooled in order, trained as the two regular files are."""
    corpus, _, _ = reference
    text = corpus.read_bytes()
    head, tail = text[:len(text) // 2], text[len(text) // 2:]
    head = head[:head.rindex(b"\n") + 1]
    tail = text[len(head):]
    (tmp_path / "head.txt").write_bytes(head)
    (tmp_path / "tail.txt").write_bytes(tail)
    both = train([tmp_path / "head.txt", tmp_path / "tail.txt"], tmp_path / "expected.txt",
                 "--no-cache")
    assert both.returncode == 0, both.stderr
    fifo = tmp_path / "tail.fifo"
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    writer = _feed(fifo, tail)
    try:
        result = train([tmp_path / "head.txt", fifo], tmp_path / "v.txt", timeout=60)
    finally:
        _unblock(fifo, writer)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "v.txt").read_bytes() == (tmp_path / "expected.txt").read_bytes()
    assert cache_names() == []
    assert snapshot(tmp_path) == {**before, "v.txt": (tmp_path / "expected.txt").read_bytes()}


def test_fifo_with_a_vocabulary_file_is_read_once(tmp_path, reference):
    """With --vocab nothing is counted: the FIFO is read by the encoder alone, and no cache
    key is computed from it (that would read it)."""
    corpus, expected, vocab = reference
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, corpus.read_bytes())
    try:
        result = train(fifo, tmp_path / "v.txt", "--vocab", vocab, timeout=60)
    finally:
        _unblock(fifo, writer)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "v.txt").read_bytes() == expected
    assert cache_names() == []


def test_dev_stdin_is_read_once(tmp_path, reference):
    corpus, expected, _ = reference
    result = train("/dev/stdin", tmp_path / "v.txt", stdin=corpus.read_text(), timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "v.txt").read_bytes() == expected
    assert cache_names() == []
    assert os.listdir(tmp_path) == ["v.txt"]


def test_process_substitution_is_read_once(tmp_path, reference):
    corpus, expected, _ = reference
    command = " ".join(map(shlex.quote, [sys.executable, "-m", "staticvec", "train-skipgram"])) \
        + f" <(cat {shlex.quote(str(corpus))}) -o {shlex.quote(str(tmp_path / 'v.txt'))} " \
        + " ".join(TRAIN) + " -q"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "v.txt").read_bytes() == expected
    assert cache_names() == []
    assert os.listdir(tmp_path) == ["v.txt"]


@pytest.mark.parametrize("twice", [("fifo", "fifo"), ("-", "/dev/stdin")])
def test_one_stream_named_twice_is_refused(tmp_path, twice):
    """It would be read once and then found empty (or wait forever): refused before any
    work, exit 2."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    names = [str(fifo) if name == "fifo" else name for name in twice]
    result = run_cli("train-skipgram", *names, "-o", tmp_path / "v.txt", *TRAIN, "-q",
                     stdin="a b c\n", timeout=60)
    shown = ["<stdin>" if name == "-" else name for name in names]
    assert_fails_cleanly(result, 2, f"{shown[1]} and {shown[0]} are the same stream, which "
                                    f"can be read only once: name it once")
    assert os.listdir(tmp_path) == ["fifo"]
    assert cache_names() == []
