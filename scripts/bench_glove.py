#!/usr/bin/env python
"""Benchmark GloVe training: staticvec train-glove against its peers, in the same run.

All tools see the same plain-text cut of the corpus with the same settings (dim 100, window 10,
x_max 100, alpha 0.75, eta 0.05, 25 epochs, min-count 5), each in its own subprocess so that
wall time and peak RSS are its own. Rows:

  staticvec   train-glove through the library (the CLI's code path), stage by stage:
              vocab (count + encode, no cache), cooccur (count, spill, merge), shuffle (records
              + shuffle), train (AdaGrad epochs); peak RSS against --memory
  glove-c     GloVe C's vocab_count / cooccur / shuffle / glove, only with --glove-c DIR
              (it is not on PyPI; build stanfordnlp/GloVe yourself and point at its build/)
  glove-python  glove-python (Cython, hogwild AdaGrad) as packaged by the PyPI fork
              `bicleaner-ai-glove` (glove-python-binary has no build for this Python), only with
              --peer-python PY: an interpreter that has it, which may not be .venv, e.g.
              `python3 -m venv /tmp/gv && /tmp/gv/bin/pip install bicleaner-ai-glove mittens`.
              Same vocabulary (min-count, OOV words dropped before windowing); it counts each
              pair once (upper triangle) and has one vector set, so its vectors are W only.
  mittens     the PyPI `mittens` package (numpy GloVe on a dense matrix), also with
              --peer-python. It needs a dense V x V matrix, so it trains on staticvec's counts
              restricted to the --peer-vocab most frequent words: its scores are over that
              small vocabulary, its time is training only.
  skipgram    staticvec train-skipgram with its defaults, as the quality reference

Columns: wall s (end to end), stage seconds, peak RSS MB, Google analogy accuracy (3CosAdd over
the 30k most frequent words, %), WS353 Spearman (pairs with both words known).

Usage:
  python scripts/bench_glove.py                                  # 17M tokens of text8like
  python scripts/bench_glove.py --tokens 2000000 --peer-python /tmp/gv/bin/python
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import add_corpus_arguments, measured, prepared_corpus, quality

STATICVEC_RUN = r"""
import json, sys
from staticvec.train import glove
corpus, out, threads, dim, window, x_max, alpha, eta, epochs, min_count, memory, cooc = sys.argv[1:]
opts = glove.GloveOptions(dim=int(dim), window=int(window), x_max=float(x_max), alpha=float(alpha),
                          eta=float(eta), epochs=int(epochs), threads=int(threads),
                          memory=float(memory), min_count=int(min_count), cache=False)
stats = glove.train_glove([corpus], out, opts,
                          save_cooccur=cooc or None, save_vocab=(cooc + ".vocab") if cooc else None)
print(json.dumps(stats))
"""

GLOVE_PYTHON_RUN = r"""
import json, sys, time
from collections import Counter
from glove import Corpus, Glove
corpus, out, threads, dim, window, epochs, x_max, alpha, eta, min_count = sys.argv[1:]
t0 = time.perf_counter()
counts = Counter()
with open(corpus, encoding="utf-8") as f:
    for line in f:
        counts.update(line.split())
words = sorted((w for w, c in counts.items() if c >= int(min_count)), key=lambda w: (-counts[w], w))
index = {w: i for i, w in enumerate(words)}
def sentences():  # out-of-vocabulary words dropped before windowing, as GloVe C and staticvec do
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            yield [w for w in line.split() if w in index]
t1 = time.perf_counter()
c = Corpus(dictionary=index)
c.fit(sentences(), window=int(window), ignore_missing=True)
t2 = time.perf_counter()
g = Glove(no_components=int(dim), learning_rate=float(eta), alpha=float(alpha),
          max_count=float(x_max), random_state=1)
g.fit(c.matrix, epochs=int(epochs), no_threads=int(threads))
t3 = time.perf_counter()
with open(out, "w", encoding="utf-8") as f:
    f.write(f"{len(words)} {g.word_vectors.shape[1]}\n")
    for w, v in zip(words, g.word_vectors):
        f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")
print(json.dumps({"vocab": t1 - t0, "cooccur": t2 - t1, "train": t3 - t2}))
"""

MITTENS_RUN = r"""
import json, sys, time
import numpy as np
from mittens import GloVe
cooc, vocab, top, out, dim, epochs, x_max, alpha, eta = sys.argv[1:]
top = int(top)
words = [l.split()[0] for l in open(vocab, encoding="utf-8") if l.split()[0] != "</s>"][:top]
rec = np.fromfile(cooc, dtype=[("w1", "<i4"), ("w2", "<i4"), ("x", "<f8")])
keep = (rec["w1"] <= top) & (rec["w2"] <= top)
m = np.zeros((top, top))
m[rec["w1"][keep] - 1, rec["w2"][keep] - 1] = rec["x"][keep]
t = time.perf_counter()
g = GloVe(n=int(dim), max_iter=int(epochs), xmax=float(x_max), alpha=float(alpha),
          learning_rate=float(eta), display_progress=0)
emb = g.fit(m)
train = time.perf_counter() - t
with open(out, "w", encoding="utf-8") as f:
    f.write(f"{len(words)} {emb.shape[1]}\n")
    for w, v in zip(words, emb):
        f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")
print(json.dumps({"train": train}))
"""


def run_staticvec(a, corpus, workdir):
    out = workdir / "staticvec.txt"
    cooc = str(workdir / "cooc.bin") if a.peer_python else ""
    wall, rss, stdout, _ = measured([sys.executable, "-c", STATICVEC_RUN, corpus, out, a.threads,
                                  a.dim, a.window, a.x_max, a.alpha, a.eta, a.epochs, a.min_count,
                                  a.memory, cooc])
    s = json.loads(stdout.strip().splitlines()[-1])
    return {"tool": "staticvec", "wall": wall, "rss_mb": rss, "vocab": s["vocab_s"],
            "cooccur": s["cooccur_s"], "shuffle": s["shuffle_s"], "train": s["train_s"],
            "records": s["records"], "runs": s.get("runs", 0),
            "final_cost": s["cost"][-1], "vectors": out}


def run_glove_c(a, corpus, workdir):
    b = Path(a.glove_c)
    w = workdir
    q = shlex.quote
    stages = {
        "vocab": f"{q(str(b / 'vocab_count'))} -min-count {a.min_count} -verbose 0 "
                 f"< {q(corpus)} > {w / 'gc-vocab.txt'}",
        "cooccur": f"{q(str(b / 'cooccur'))} -memory {a.memory} -vocab-file {w / 'gc-vocab.txt'} "
                   f"-verbose 0 -window-size {a.window} < {q(corpus)} > {w / 'gc-cooc.bin'}",
        "shuffle": f"{q(str(b / 'shuffle'))} -memory {a.memory} -verbose 0 "
                   f"< {w / 'gc-cooc.bin'} > {w / 'gc-shuf.bin'}",
        "train": f"{q(str(b / 'glove'))} -save-file {w / 'gc-vectors'} -threads {a.threads} "
                 f"-input-file {w / 'gc-shuf.bin'} -x-max {a.x_max} -alpha {a.alpha} -eta {a.eta} "
                 f"-iter {a.epochs} -vector-size {a.dim} -binary 0 -model 2 "
                 f"-vocab-file {w / 'gc-vocab.txt'} -verbose 0",
    }
    row = {"tool": "glove-c", "wall": 0.0, "rss_mb": 0.0}
    for name, cmd in stages.items():
        wall, rss, _, _ = measured(["sh", "-c", cmd])
        row[name] = wall
        row["wall"] += wall
        row["rss_mb"] = max(row["rss_mb"], rss)
    for name in ("gc-cooc.bin", "gc-shuf.bin"):
        os.unlink(w / name)
    row["vectors"] = w / "gc-vectors.txt"
    return row


def run_mittens(a, workdir):
    out = workdir / "mittens.txt"
    wall, rss, stdout, _ = measured([a.peer_python, "-c", MITTENS_RUN, workdir / "cooc.bin",
                                  str(workdir / "cooc.bin") + ".vocab", a.peer_vocab, out, a.dim,
                                  a.epochs, a.x_max, a.alpha, a.eta])
    train = json.loads(stdout.strip().splitlines()[-1])["train"]
    return {"tool": f"mittens/{a.peer_vocab}", "wall": wall, "rss_mb": rss, "train": train,
            "vectors": out}


def run_glove_python(a, corpus, workdir):
    out = workdir / "glove-python.txt"
    wall, rss, stdout, _ = measured([a.peer_python, "-c", GLOVE_PYTHON_RUN, corpus, out, a.threads,
                                  a.dim, a.window, a.epochs, a.x_max, a.alpha, a.eta,
                                  a.min_count])
    s = json.loads(stdout.strip().splitlines()[-1])
    return {"tool": "glove-python", "wall": wall, "rss_mb": rss, "vectors": out, **s}


def run_skipgram(a, corpus, workdir):
    out = workdir / "skipgram.bin"
    wall, rss, _, _ = measured([sys.executable, "-m", "staticvec", "train-skipgram", corpus, "-o",
                             out, "--threads", a.threads, "--min-count", a.min_count,
                             "--no-cache", "-q"])
    return {"tool": "skipgram", "wall": wall, "rss_mb": rss, "vectors": out}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--x-max", type=float, default=100.0)
    parser.add_argument("--alpha", type=float, default=0.75)
    parser.add_argument("--eta", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--memory", type=float, default=4.0, help="GB, for both GloVe tools")
    parser.add_argument("--glove-c", default=None, help="folder with GloVe C's binaries")
    parser.add_argument("--peer-python", default=None,
                        help="interpreter with bicleaner-ai-glove and mittens (not .venv)")
    parser.add_argument("--peer-vocab", type=int, default=3000,
                        help="mittens: train on the N most frequent words (dense N x N matrix)")
    parser.add_argument("--no-skipgram", action="store_true", help="skip the quality reference")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    a = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-glove-"))
    corpus, n_tokens, source = prepared_corpus(a, workdir)
    print(f"corpus: {n_tokens:,} tokens of {source}; dim {a.dim} window {a.window} x_max "
          f"{a.x_max} alpha {a.alpha} eta {a.eta} epochs {a.epochs} min-count {a.min_count} "
          f"threads {a.threads} memory {a.memory} GB", file=sys.stderr)
    runs = [("staticvec", lambda: run_staticvec(a, corpus, workdir))]
    if a.glove_c:
        runs.append(("glove-c", lambda: run_glove_c(a, corpus, workdir)))
    if a.peer_python:
        runs.append(("glove-python", lambda: run_glove_python(a, corpus, workdir)))
        runs.append(("mittens", lambda: run_mittens(a, workdir)))
    if not a.no_skipgram:
        runs.append(("skipgram", lambda: run_skipgram(a, corpus, workdir)))
    header = (f"{'tool':14} {'wall s':>8} {'vocab s':>8} {'cooc s':>8} {'shuf s':>8} "
              f"{'train s':>8} {'RSS MB':>8} {'analogy%':>9} {'(n)':>6} {'WS353':>7}")
    print(header, flush=True)
    rows = []
    for name, run in runs:
        try:
            row = run()
            scores = quality(row["vectors"], a.eval_dir)
            row.update(scores, analogy_n=scores["questions"])
        except (RuntimeError, OSError, ValueError) as exc:
            print(f"{name:14} failed: {exc}", flush=True)
            continue
        row["vectors"] = str(row["vectors"])
        rows.append(row)
        cells = [f"{row['tool']:14}", f"{row['wall']:8.1f}"]
        for key in ("vocab", "cooccur", "shuffle", "train"):
            cells.append(f"{row[key]:8.1f}" if key in row else f"{'-':>8}")
        cells += [f"{row['rss_mb']:8.0f}", f"{row['analogy']:9.2f}", f"{row['analogy_n']:6d}",
                  f"{row['ws353']:7.3f}"]
        print(" ".join(cells), flush=True)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as handle:
            json.dump({"tokens": n_tokens, "settings": vars(a), "rows": rows}, handle, indent=1)
    if not a.keep:
        for path in sorted(workdir.iterdir(), reverse=True):
            path.unlink()
        workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
