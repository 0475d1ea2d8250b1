"""Issue #10, "keep it so": a training SIGKILLed at any moment (counting, encoding,
training, writing) never leaves the cache in a state that the next run trusts wrongly: the
next run, on the same cache folder, succeeds silently and writes what a --no-cache run
writes, byte for byte."""
import lzma
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from conftest import run_cli
from corpora import cache_folder, cache_names, tiny_corpus
from staticvec.text import cache

KILLS = 20
# ~1 s on an idle machine, a third of it starting Python; an .xz corpus and --dim 48 give
# counting, encoding, training and writing each a share of the rest
ARGS = ("--dim", "48", "--epochs", "1", "--threads", "1", "--seed", "1")
# the summary line each stage ends with, latest first
STAGES = [("wrote ", "done"), ("skip-gram: trained", "writing"), ("encoded corpus:", "training"),
          (" kept (min-count ", "encoding"), ("counting words", "counting")]


def _phase(stderr):
    """The stage a killed run was in, from the summary lines it printed before."""
    for mark, phase in STAGES:
        if mark in stderr:
            return phase
    return "starting"


def _start(corpus, output):
    return subprocess.Popen([sys.executable, "-m", "staticvec", "train-skipgram", str(corpus),
                             "-o", str(output), *ARGS], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _kill_after(corpus, output, mark, delay):
    """Start a run, wait for the stderr line holding ``mark`` (None: do not wait), then
    ``delay`` seconds more, and SIGKILL it; returns (exit code, everything it printed).
    Moments tied to the run's own stage lines reach every stage on a machine of any speed
    (delays measured on one run were all too late once the machine got faster)."""
    job = _start(corpus, output)
    printed = []
    if mark is not None:
        for line in job.stderr:
            printed.append(line)
            if mark in line:
                break
    time.sleep(delay)
    job.send_signal(signal.SIGKILL)
    printed.append(job.stderr.read())
    job.wait(timeout=60)
    return job.returncode, "".join(printed)


def _assert_published_entries_whole():
    """Whatever a kill left, every published name is whole; the rest are temporaries."""
    for name in cache_names():
        path = os.path.join(cache_folder(), name)
        if name.endswith(".counts.json"):
            with open(path, "rb") as handle:
                cache.parse_counts(handle.read())
        elif not name.startswith(".tmp-"):
            with open(os.path.join(path, "manifest"), "rb") as handle:
                cache.parse_manifest(handle.read())


def test_sigkill_at_twenty_moments(tmp_path):
    text = tiny_corpus(tmp_path / "corpus.txt", lines=500).read_bytes()
    corpus = tmp_path / "corpus.txt.xz"
    with lzma.open(corpus, "wb", preset=1) as handle:
        handle.write(text)
    reference = run_cli("train-skipgram", corpus, "-o", tmp_path / "reference.txt", *ARGS,
                        "-q", "--no-cache")
    assert reference.returncode == 0 and reference.stderr == "", reference.stderr
    expected = (tmp_path / "reference.txt").read_bytes()
    # the moments: from the start, and after each stage's first line, plus a random delay
    # (fixed seed: the same moments every time) that lands inside that stage or the next
    marks = [None, "counting words", " kept (min-count ", "encoded corpus:", "skip-gram: trained"]
    rng = random.Random(10)
    moments = [(marks[i % len(marks)], 0.25 * rng.random()) for i in range(KILLS)]
    phases = []
    for mark, delay in moments:
        shutil.rmtree(cache_folder(), ignore_errors=True)
        code, err = _kill_after(corpus, tmp_path / "killed.txt", mark, delay)
        phases.append("done" if code == 0 else _phase(err))
        _assert_published_entries_whole()

        after = run_cli("train-skipgram", corpus, "-o", tmp_path / "after.txt", *ARGS, "-q")
        assert after.returncode == 0 and after.stderr == "", (mark, delay, phases[-1], after.stderr)
        assert (tmp_path / "after.txt").read_bytes() == expected, (mark, delay, phases[-1])
        _assert_published_entries_whole()
    # the moments reached several stages (else the test would prove little)
    assert len(set(phases) - {"done", "starting"}) >= 2, phases
    print("killed while", phases)
