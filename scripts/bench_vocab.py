#!/usr/bin/env python3
"""Vocabulary pass: staticvec vs the original word2vec C, on the same decompressed file.

word2vec C stops after its vocabulary pass when given ``-save-vocab`` and no ``-output``.
Both tools run in this invocation, on the same file, best of ``--repeat`` runs each.

    python scripts/bench_vocab.py                       # ../shared/data text8like corpus
    python scripts/bench_vocab.py --corpus big.txt --repeat 5
"""
import argparse
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def read_vocab(path):
    with open(path, encoding="utf-8") as handle:
        return {w: int(c) for w, c in (line.split() for line in handle)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"),
                        help="shared data folder (default: ../shared/data)")
    parser.add_argument("--corpus", help="plain-text corpus (default: DATA/corpus/text8like.txt.xz, "
                                         "decompressed to a temp file first)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--word2vec", default=shutil.which("word2vec", path=os.path.dirname(sys.executable))
                        or shutil.which("word2vec"), help="word2vec C binary (the PyPI word2vec package)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-vocab-")
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = os.path.join(tmp, "text8like.txt")
            with lzma.open(os.path.join(args.data, "corpus", "text8like.txt.xz")) as src, \
                    open(corpus, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 24)
        size = os.path.getsize(corpus)
        ours_out, theirs_out = os.path.join(tmp, "ours.txt"), os.path.join(tmp, "theirs.txt")
        staticvec = [sys.executable, "-m", "staticvec", "vocab", corpus, "-o", ours_out, "-q",
                     "--min-count", "5"]
        rows = {"staticvec": min(timed(staticvec) for _ in range(args.repeat))}
        if args.word2vec:
            c_cmd = [args.word2vec, "-train", corpus, "-save-vocab", theirs_out, "-min-count", "5",
                     "-threads", "1"]
            rows["word2vec C"] = min(timed(c_cmd) for _ in range(args.repeat))
            same = read_vocab(ours_out) == read_vocab(theirs_out)
        print(f"corpus: {corpus} ({size / 1e6:.1f} MB), best of {args.repeat}")
        print(f"{'tool':<12} {'seconds':>8} {'MB/s':>8}")
        for name, seconds in rows.items():
            print(f"{name:<12} {seconds:8.2f} {size / 1e6 / seconds:8.1f}")
        if "word2vec C" in rows:
            print(f"speed-up vs word2vec C: {rows['word2vec C'] / rows['staticvec']:.2f}x; "
                  f"identical word counts: {same}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
