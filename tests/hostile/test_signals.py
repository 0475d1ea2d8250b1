"""SIGTERM stops a run as Ctrl-C does: workers stop, temporaries go, no output (side outputs
included), one line, exit 143."""
import os
import re
import signal
import subprocess
import sys
import time

from conftest import MINI_CORPUS

TERMINATED = "staticvec: error: terminated: stopped, no output written"


def _start(args, tmp_path, **popen):
    env = dict(os.environ, PYTHONUNBUFFERED="1", TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen([sys.executable, "-m", "staticvec", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, **popen)


def _wait_for_line(proc, prefix):
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(prefix):
            return seen
    raise AssertionError(f"never saw {prefix!r}: {''.join(seen)}")


def _terminate(proc):
    assert proc.poll() is None, "the run ended before the signal"
    proc.send_signal(signal.SIGTERM)
    try:
        out, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return out, rest


def test_sigterm_while_training_word2vec(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(["train-skipgram", MINI_CORPUS, "-o", out / "v.bin", "--save-vocab",
                   out / "vocab.txt", "--epochs", "100", "--threads", "2", "--no-cache"],
                  tmp_path)
    _wait_for_line(proc, "skip-gram model (")  # said just before the workers start
    time.sleep(1.0)
    sent = time.monotonic()
    out_text, rest = _terminate(proc)
    assert proc.returncode == 143, rest
    # besides the per-epoch loss lines of the epochs finished before the signal (how many
    # depends on the machine's speed), the error line alone
    lines = [line for line in rest.strip().splitlines()
             if not re.fullmatch(r"skip-gram: epoch \d+/100  loss \d+\.\d{6}  \(\d+\.\ds\)", line)]
    assert lines == [TERMINATED], rest
    assert time.monotonic() - sent < 5.0  # the workers stop within a sentence
    assert out_text == ""
    assert os.listdir(out) == [] and os.listdir(tmp_path / "tmp") == []


def test_sigterm_while_training_glove_leaves_no_side_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(["train-glove", MINI_CORPUS, "-o", out / "g.txt", "--save-vocab",
                   out / "vocab.txt", "--save-cooccur", out / "co.bin", "--epochs", "200",
                   "--threads", "2", "--dim", "20", "--no-cache"], tmp_path)
    _wait_for_line(proc, "glove: epoch 1/200")
    # the records are complete, but only in a temporary until the vectors are written
    assert [name for name in os.listdir(out) if name.startswith(".co.bin.")]
    _, rest = _terminate(proc)
    assert proc.returncode == 143, rest
    assert "Traceback" not in rest
    errors = [line for line in rest.splitlines() if line.startswith("staticvec: error:")]
    assert errors == [TERMINATED] and rest.strip().splitlines()[-1] == TERMINATED, rest
    assert os.listdir(out) == [] and os.listdir(tmp_path / "tmp") == []


def test_sigterm_while_counting_stdin_removes_the_spool(tmp_path):
    """Stdin is held open, so the run is certainly still counting when the signal comes."""
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(["train-cbow", "-", "-o", out / "v.txt", "--save-vocab", out / "vocab.txt",
                   "-q"], tmp_path, stdin=subprocess.PIPE)
    proc.stdin.write("the quick brown fox jumps over the lazy dog\n" * 1000)
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not os.listdir(tmp_path / "tmp"):  # the stdin spool: counting has begun
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)  # closes stdin too, once the signal is sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == [TERMINATED], err
    assert os.listdir(out) == [] and os.listdir(tmp_path / "tmp") == []
