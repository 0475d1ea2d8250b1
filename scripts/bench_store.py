#!/usr/bin/env python
"""The memory-mapped store against gensim and the current paths, on one synthetic model.

    nice -n 5 python scripts/bench_store.py [--words 3000000] [--dim 300] [--folder DIR]
                                            [--batch 1000] [--no-gensim] [--keep]

Writes a synthetic word2vec binary model with a fixed seed (words of realistic lengths,
short ones first as in a frequency-sorted file, king/man/woman/queen planted among the
frequent words so that king - man + woman = queen), converts it with `staticvec store`,
and measures, each in a fresh process unless said:
  - open: staticvec.load(store) with the file in the page cache, and the RSS it adds
    (the imports of staticvec and numpy before, not counted; gensim's neither);
  - lookup: v[word] for 20,000 random words (in-process, mean);
  - nearest / analogy: top-10 over all rows, warm, in-process (median of 5);
  - the CLI: `staticvec analogy king man woman -m STORE` end to end (best of 3);
  - batch: most_similar_batch of --batch words, topn 10, over all rows;
  - cold: the store's pages dropped from the page cache (posix_fadvise DONTNEED, which
    needs no privilege), then open + first query in a fresh process, and the CLI analogy;
  - the current paths on the .bin: the streamed CLI analogy, staticvec.load + analogy;
  - gensim: load_word2vec_format (time, peak RSS), KeyedVectors.load(mmap='r') of its
    own save, most_similar first and warm, and the analogy on both.
Prints one table with the ratios (gensim or current path / store).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANTED = ["the", "king", "man", "woman", "queen"]


def make_model(path, words, dim, seed=0, block=100_000):
    """A word2vec binary file of ``words`` x ``dim``, written a block at a time."""
    from staticvec.io.word2vec_binary import binary_rows

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
    weights = np.linspace(2.0, 0.2, len(letters))
    weights /= weights.sum()
    seen = set(PLANTED)
    gender = rng.standard_normal(dim).astype(np.float32) * 2
    royal = rng.standard_normal(dim).astype(np.float32) * 2
    base = rng.standard_normal(dim).astype(np.float32) * 0.3
    planted = {"the": rng.standard_normal(dim).astype(np.float32), "man": base,
               "woman": base + gender, "king": base + royal, "queen": base + royal + gender}
    with open(path, "wb") as out:
        out.write(f"{words} {dim}\n".encode())
        for lo in range(0, words, block):
            hi = min(words, lo + block)
            ranks = np.arange(lo, hi)
            # Zipf order: the frequent words come first and are short
            lengths = np.clip(np.rint(rng.normal(2.5 + 1.1 * np.log10(ranks + 2), 1.8)), 1, 24)
            names = []
            for k, length in enumerate(lengths.astype(int)):
                rank = lo + k
                if rank < len(PLANTED) * 20 and rank % 20 == 0:
                    names.append(PLANTED[rank // 20])
                    continue
                word = rng.choice(letters, size=length, p=weights).tobytes().decode()
                while word in seen:
                    word += chr(97 + int(rng.integers(26)))
                seen.add(word)
                names.append(word)
            matrix = rng.standard_normal((hi - lo, dim), dtype=np.float32)
            matrix *= rng.uniform(0.5, 3.0, size=(hi - lo, 1)).astype(np.float32)
            for k, name in enumerate(names):
                if name in planted:
                    matrix[k] = planted[name]
            out.write(binary_rows([n.encode() for n in names], matrix))
    return seen


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def in_child(code, timeout=3600):
    """Run ``code`` (which prints one JSON line last) in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=REPO)
    prelude = ("import json, os, sys, time, resource\nimport numpy as np\n"
               "sys.path.insert(0, %r)\nfrom bench_store import rss_mb\n" % os.path.dirname(
                   os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                            text=True, env=env, timeout=timeout)
    if result.returncode:
        raise SystemExit(f"child failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


CLI_CPU = {}


def cli_seconds(args, runs=3):
    """Best wall time of ``runs`` runs of the CLI (its CPU time, user + system, of that
    run goes to ``CLI_CPU``)."""
    import resource

    env = dict(os.environ, PYTHONPATH=REPO)
    best = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "staticvec", *args], capture_output=True,
                                text=True, env=env)
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode:
            raise SystemExit(f"staticvec {' '.join(args)} failed: {result.stderr}")
        if best is None or took < best:
            best = took
            CLI_CPU[" ".join(args)] = (after.ru_utime + after.ru_stime
                                       - before.ru_utime - before.ru_stime)
    return best, result.stdout.strip()


def drop_from_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm_cache(path):
    """Read ``path`` once, so that the "warm" figures find all of it in the page cache
    (other jobs on a shared machine, or gensim's 7 GB, may have pushed it out)."""
    with open(path, "rb", buffering=0) as handle:
        while handle.read(16 << 20):
            pass


def uptime():
    with open("/proc/loadavg") as handle:
        return handle.read().split()[:3]


STORE_CODE = """
import staticvec, staticvec.api  # imports are not part of opening
base = rss_mb()
start = time.perf_counter()
v = staticvec.load(%(store)r)
opened = time.perf_counter() - start
added = rss_mb() - base
rng = np.random.default_rng(1)
picks = [v.words[int(i)] for i in rng.integers(0, len(v), 20000)]
cpu = {}
start, cpu0 = time.perf_counter(), time.process_time()
for w in picks:
    v[w]
lookup = (time.perf_counter() - start) / len(picks)
cpu["lookup"] = (time.process_time() - cpu0) / len(picks)
v.most_similar("king", topn=10)  # warm the pages
def median(name, fn, runs=5):
    times, cpus = [], []
    for _ in range(runs):
        start, cpu0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu0)
    cpu[name] = sorted(cpus)[len(cpus) // 2]
    return sorted(times)[len(times) // 2]
nearest = median("nearest", lambda: v.most_similar("king", topn=10))
candidates = {"nearest": int(v.candidates.sum())}
analogy = median("analogy", lambda: v.most_similar(["king", "woman"], ["man"], topn=10))
candidates["analogy"] = int(v.candidates.sum())
exact = median("exact float32 scan", lambda: super(type(v), v)._best(
    v.get_vector("king", norm=True), 10, [v.position("king")], None))
answer = v.most_similar(["king", "woman"], ["man"], topn=1)[0][0]
queries = [v.words[int(i)] for i in rng.integers(0, min(len(v), 100000), %(batch)d)]
start, cpu0 = time.perf_counter(), time.process_time()
v.most_similar_batch(queries, topn=10)
batch = time.perf_counter() - start
cpu["batch"] = time.process_time() - cpu0
candidates["batch mean"] = float(v.candidates.mean())
candidates["batch max"] = int(v.candidates.max())
print(json.dumps(dict(open=opened, rss_added=added, lookup=lookup, nearest=nearest, cpu=cpu,
                      analogy=analogy, batch=batch, answer=answer, exact=exact,
                      candidates=candidates, rows=len(v),
                      peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

COLD_CODE = """
import staticvec, staticvec.api
start = time.perf_counter()
v = staticvec.load(%(store)r)
answer = v.most_similar(["king", "woman"], ["man"], topn=10)[0][0]
print(json.dumps(dict(first=time.perf_counter() - start, answer=answer)))
"""

LOAD_CODE = """
import staticvec
start = time.perf_counter()
v = staticvec.load(%(model)r)
loaded = time.perf_counter() - start
start = time.perf_counter()
v.most_similar(["king", "woman"], ["man"], topn=10)
first = time.perf_counter() - start
start = time.perf_counter()
v.most_similar(["king", "woman"], ["man"], topn=10)
warm = time.perf_counter() - start
print(json.dumps(dict(load=loaded, first=first, warm=warm,
                      peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

GENSIM_CODE = """
from gensim.models import KeyedVectors
base = rss_mb()
start = time.perf_counter()
kv = KeyedVectors.load_word2vec_format(%(model)r, binary=True)
loaded = time.perf_counter() - start
added = rss_mb() - base
start = time.perf_counter()
kv.most_similar(positive=["king", "woman"], negative=["man"], topn=10)
first = time.perf_counter() - start
start = time.perf_counter()
kv.most_similar(positive=["king", "woman"], negative=["man"], topn=10)
warm = time.perf_counter() - start
if not os.path.exists(%(kv)r):
    kv.save(%(kv)r)
print(json.dumps(dict(load=loaded, rss_added=added, first=first, warm=warm,
                      peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

GENSIM_MMAP_CODE = """
from gensim.models import KeyedVectors
base = rss_mb()
start = time.perf_counter()
kv = KeyedVectors.load(%(kv)r, mmap="r")
opened = time.perf_counter() - start
added = rss_mb() - base
start = time.perf_counter()
kv.most_similar(positive=["king", "woman"], negative=["man"], topn=10)
first = time.perf_counter() - start
times = []
for _ in range(5):
    start = time.perf_counter()
    kv.most_similar(positive=["king", "woman"], negative=["man"], topn=10)
    times.append(time.perf_counter() - start)
print(json.dumps(dict(open=opened, rss_added=added, first=first, warm=sorted(times)[2])))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=3_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--folder", default="/tmp/staticvec-bench-store")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--no-gensim", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the files (re-used next run)")
    parser.add_argument("--only-store", action="store_true",
                        help="only the in-process store measurements, on an existing store")
    args = parser.parse_args(argv)
    os.makedirs(args.folder, exist_ok=True)
    stem = os.path.join(args.folder, f"synthetic-{args.words}x{args.dim}")
    model, store, kv = stem + ".bin", stem + ".svs", stem + ".kv"
    rows = {}
    print(f"load average at start: {' '.join(uptime())}", flush=True)
    if args.only_store:
        warm_cache(store)
        in_child(COLD_CODE % dict(store=store))
        print(json.dumps(in_child(STORE_CODE % dict(store=store, batch=args.batch))))
        took, out = cli_seconds(["analogy", "king", "man", "woman", "-m", store])
        print(f"CLI analogy {took:.3f} s wall; CPU {json.dumps(CLI_CPU)}; {out}")
        drop_from_cache(store)
        print(f"cold: {in_child(COLD_CODE % dict(store=store))}")
        print(f"load average now: {' '.join(uptime())}")
        return
    if not os.path.exists(model):
        start = time.perf_counter()
        make_model(model + ".tmp", args.words, args.dim)
        os.replace(model + ".tmp", model)
        print(f"model written in {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "staticvec", "store", model, "-o", store, "-q"],
                   check=True, env=dict(os.environ, PYTHONPATH=REPO))
    rows["store build (s)"] = time.perf_counter() - start
    print(f"store built in {rows['store build (s)']:.1f} s", flush=True)

    warm_cache(store)
    in_child(COLD_CODE % dict(store=store))  # the page cache warm
    s = in_child(STORE_CODE % dict(store=store, batch=args.batch))
    cli_store, out = cli_seconds(["analogy", "king", "man", "woman", "-m", store])
    drop_from_cache(store)
    cold = in_child(COLD_CODE % dict(store=store))
    drop_from_cache(store)
    cold_cli, _ = cli_seconds(["analogy", "king", "man", "woman", "-m", store], runs=1)
    print(f"store: {s}; cold {cold}; cold CLI {cold_cli:.2f} s", flush=True)
    in_child(COLD_CODE % dict(store=store))  # warm again for the others' sake
    cli_stream, _ = cli_seconds(["analogy", "king", "man", "woman", "-m", model], runs=2)
    load = in_child(LOAD_CODE % dict(model=model))
    print(f"current: stream CLI {cli_stream:.2f} s, load {load}", flush=True)
    g = gm = None
    if not args.no_gensim:
        g = in_child(GENSIM_CODE % dict(model=model, kv=kv))
        print(f"gensim: {g}", flush=True)
        gm = in_child(GENSIM_MMAP_CODE % dict(kv=kv))
        print(f"gensim mmap: {gm}", flush=True)

    table = [
        ("open (warm)", s["open"], [("gensim load_word2vec_format", g and g["load"]),
                                     ("gensim load(mmap='r')", gm and gm["open"]),
                                     ("staticvec.load(.bin)", load["load"])]),
        ("RSS added by open (MB)", s["rss_added"], [("gensim load_word2vec_format",
                                                     g and g["rss_added"]),
                                                    ("gensim load(mmap='r')",
                                                     gm and gm["rss_added"])]),
        ("v[word] (us)", s["lookup"] * 1e6, []),
        ("nearest top-10 warm", s["nearest"], []),
        ("analogy top-10 warm", s["analogy"], [("gensim most_similar warm", g and g["warm"]),
                                                ("gensim mmap most_similar warm",
                                                 gm and gm["warm"]),
                                                ("staticvec loaded .bin warm", load["warm"])]),
        ("CLI analogy end to end", cli_store, [("CLI on the .bin (streamed)", cli_stream)]),
        (f"batch of {args.batch}", s["batch"], []),
        ("cold open + first query", cold["first"], [("gensim mmap first query (warm file)",
                                                     gm and gm["first"])]),
        ("cold CLI analogy end to end", cold_cli, []),
        ("exact float32 scan, top-10", s["exact"], []),
    ]
    print(f"\n{args.words:,} x {args.dim}, store {os.path.getsize(store) / 1e9:.2f} GB; load "
          f"average now {' '.join(uptime())}; answer {s['answer']!r}; CLI: {out}")
    print(f"{'measure':32} {'store':>10}   others (value, ratio other/store)")
    for name, value, others in table:
        parts = [f"{label} {v:.3f}" + (f" ({v / value:.1f}x)" if value > 0 else "")
                 for label, v in others if v is not None]
        print(f"{name:32} {value:10.4f}   " + "; ".join(parts))
    print(f"CPU seconds: {json.dumps(s['cpu'])}; CLI runs: {json.dumps(CLI_CPU)}")
    print(f"candidates rescored: {json.dumps(s['candidates'])} of {s['rows']:,} rows")
    print(f"peak RSS of the store process: {s['peak_rss']:.0f} MB; gensim load: "
          f"{g['peak_rss'] if g else float('nan'):.0f} MB; staticvec.load(.bin): "
          f"{load['peak_rss']:.0f} MB")
    if not args.keep:
        for path in (model, store, kv, kv + ".vectors.npy"):
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
