#!/usr/bin/env python
"""How long a user waits for a big binary model: load, one analogy, and the CLI end to end.

    python scripts/bench_load.py [--words 1000000] [--dim 300] [--out /tmp/staticvec-bench-1Mx300.bin]
                                 [--gensim] [--keep]

Writes a synthetic word2vec binary model (random vectors, plus king/man/woman/queen
planted so that king - man + woman = queen), then times
  - save_vectors (binary writer),
  - load_vectors (memory-mapped scan, words decoded, index built),
  - one analogy query in-process,
  - `staticvec analogy king man woman -m MODEL` as a subprocess, end to end (best of 3),
    as it runs by default (the file streamed, not loaded) and with the model loaded,
  - optionally gensim's load_word2vec_format on the same file (--gensim; slow),
  - writing and reading a --text-words x 100 text file (and gensim's, with --gensim).
The file is left in place with --keep (re-used on the next run if the size matches).
Times are with the file in the page cache (the second read onwards), which is what a
user running several queries sees.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np


def make_model(path, words, dim, seed=0):
    from staticvec.io.dispatch import save_vectors

    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((words, dim), dtype=np.float32)
    names = ["king", "man", "woman", "queen"] + [f"w{i}" for i in range(4, words)]
    gender = rng.standard_normal(dim).astype(np.float32) * 2
    royal = rng.standard_normal(dim).astype(np.float32) * 2
    matrix[1] = rng.standard_normal(dim) * 0.3          # man
    matrix[2] = matrix[1] + gender                       # woman
    matrix[0] = matrix[1] + royal                        # king
    matrix[3] = matrix[1] + royal + gender               # queen
    start = time.perf_counter()
    save_vectors((names, matrix), path)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--out", default=None)
    parser.add_argument("--gensim", action="store_true", help="also time gensim's loader")
    parser.add_argument("--keep", action="store_true", help="keep the model file")
    parser.add_argument("--text-words", type=int, default=100_000)
    args = parser.parse_args(argv)
    path = args.out or f"/tmp/staticvec-bench-{args.words}x{args.dim}.bin"

    from staticvec.io.dispatch import load_vectors

    header = f"{args.words} {args.dim}\n".encode()
    reuse = os.path.exists(path) and open(path, "rb").read(len(header)) == header
    if not reuse:
        seconds = make_model(path, args.words, args.dim)
        print(f"write  {args.words:,} x {args.dim} binary ({os.path.getsize(path) / 1e9:.2f} GB): "
              f"{seconds:.2f} s")
    load_vectors(path)  # warm the page cache
    times = []
    for _ in range(3):
        start = time.perf_counter()
        vectors = load_vectors(path)
        times.append(time.perf_counter() - start)
        answer = None
        t = time.perf_counter()
        answer = vectors.analogy("king", "man", "woman", topn=1)
        query = time.perf_counter() - t
        del vectors
    print(f"load   staticvec load_vectors: best {min(times):.2f} s of 3 "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    print(f"query  analogy king man woman in-process: {query * 1000:.0f} ms -> {answer}")

    cli = [sys.executable, "-m", "staticvec", "analogy", "king", "man", "woman", "-m", path, "-k", "1"]
    for label, extra in (("streamed (default for a big binary)", {}),
                         ("loaded (STATICVEC_STREAM_MIN_BYTES=huge)",
                          {"STATICVEC_STREAM_MIN_BYTES": str(1 << 60)})):
        env = dict(os.environ, **extra)
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            out = subprocess.run(cli, capture_output=True, text=True, env=env)
            walls.append(time.perf_counter() - start)
        print(f"cli    staticvec analogy king man woman -m MODEL, {label}: best {min(walls):.2f} s "
              f"of 3 ({', '.join(f'{t:.2f}' for t in walls)}) -> {out.stdout.strip()!r} "
              f"(exit {out.returncode})")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import staticvec.cli, numpy"], check=True)
    print(f"       (python start + imports alone: {time.perf_counter() - start:.2f} s)")

    if args.gensim:
        from gensim.models import KeyedVectors

        start = time.perf_counter()
        kv = KeyedVectors.load_word2vec_format(path, binary=True)
        t_load = time.perf_counter() - start
        start = time.perf_counter()
        kv.most_similar(["king", "woman"], ["man"], topn=1)
        print(f"gensim load_word2vec_format: {t_load:.2f} s; first most_similar "
              f"(incl. norms): {time.perf_counter() - start:.2f} s")
    if not args.keep:
        os.unlink(path)
    text_benchmark(args.text_words, args.gensim)
    return 0


def text_benchmark(words, with_gensim):
    from staticvec.io.dispatch import load_vectors, save_vectors

    rng = np.random.default_rng(1)
    names = [f"w{i}" for i in range(words)]
    matrix = (rng.standard_normal((words, 100)) * 0.3).astype(np.float32)
    path = f"/tmp/staticvec-bench-{words}x100.txt"
    start = time.perf_counter()
    save_vectors((names, matrix), path)
    t_write = time.perf_counter() - start
    start = time.perf_counter()
    load_vectors(path)
    t_read = time.perf_counter() - start
    print(f"text   {words:,} x 100 .txt: write {t_write:.2f} s, read {t_read:.2f} s (staticvec)")
    if with_gensim:
        from gensim.models import KeyedVectors

        start = time.perf_counter()
        kv = KeyedVectors.load_word2vec_format(path)
        t_read = time.perf_counter() - start
        start = time.perf_counter()
        kv.save_word2vec_format(path)
        print(f"       gensim: write {time.perf_counter() - start:.2f} s, read {t_read:.2f} s")
    os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
