#!/usr/bin/env python
"""Benchmark word2vec training: staticvec against gensim, fastText and word2vec C, same run.

Every tool trains on the same plain-text cut of the corpus with the same settings (dim 100,
window 5, negative 5, sample 1e-4, min-count 5, 5 epochs, word2vec C's learning rates), each in
its own subprocess so that wall time and peak RSS are its own. Columns:

  wall s    end to end as a user waits: counting, encoding, training, writing the vectors
  train s   training alone (staticvec: its "trained N words in S s" line; gensim: train();
            fastText: the binding's train_unsupervised, which includes its vocabulary pass;
            word2vec C: from its last words/thread/sec report, which it computes from CPU
            clock(), so on a busy machine it is CPU time per thread, shorter than wall time)
  words/s   tokens x epochs / train s
  RSS MB    peak resident memory of the subprocess
  analogy   Google analogy accuracy, 3CosAdd over the 30k most frequent words (%)
  WS353     Spearman correlation on WordSim-353 (pairs with both words known)
  SimLex    Spearman correlation on SimLex-999 (likewise)

Usage:
  python scripts/bench_train.py                       # 17M tokens of text8like, 2 and 1 threads
  python scripts/bench_train.py --tokens 2000000 --threads 2 --tools staticvec,gensim
  python scripts/bench_train.py --threads 2 --tools staticvec,gensim --seeds 1,2,3
  python scripts/bench_train.py --tokens 5000000 --epochs 3 --threads 2 --tools staticvec \
      --staticvec-args '--lr-schedule word2vec'      # another setting / a staticvec option

With several --seeds, staticvec (--seed) and gensim (seed=) train once per seed; word2vec C has
no seed and the fastText binding's train_unsupervised takes none, so they run once. A summary
per model and thread count follows: seed means, staticvec's speed against the fastest peer
(throughput and wall time) and its quality against gensim's.
"""
import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from benchlib import add_corpus_arguments, measured, prepared_corpus, quality

VENV_BIN = Path(sys.executable).parent
TOOLS = ("staticvec", "gensim", "fasttext", "word2vec-c")
MODELS = ("skipgram", "cbow")
SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-4, min_count=5, epochs=5)
ALPHA = {"skipgram": 0.025, "cbow": 0.05}

GENSIM_RUN = r"""
import json, sys, time
from gensim.models import Word2Vec
corpus, out, sg, threads, dim, window, negative, sample, min_count, epochs, alpha, seed = sys.argv[1:]
m = Word2Vec(vector_size=int(dim), window=int(window), negative=int(negative), sample=float(sample),
             min_count=int(min_count), sg=int(sg), workers=int(threads), alpha=float(alpha),
             seed=int(seed))
m.build_vocab(corpus_file=corpus)
t = time.perf_counter()
m.train(corpus_file=corpus, epochs=int(epochs), total_examples=m.corpus_count,
        total_words=m.corpus_total_words)
train = time.perf_counter() - t
m.wv.save_word2vec_format(out, binary=True)
print(json.dumps({"train": train}))
"""

FASTTEXT_RUN = r"""
import json, sys, time
import fasttext
corpus, out, sg, threads, dim, window, negative, sample, min_count, epochs, alpha = sys.argv[1:]
t = time.perf_counter()
m = fasttext.train_unsupervised(corpus, model="skipgram" if sg == "1" else "cbow", dim=int(dim),
                                ws=int(window), neg=int(negative), t=float(sample),
                                minCount=int(min_count), epoch=int(epochs), lr=float(alpha),
                                thread=int(threads), minn=0, maxn=0, verbose=0)
train = time.perf_counter() - t
words = m.get_words()
with open(out, "w", encoding="utf-8") as f:
    f.write(f"{len(words)} {m.get_dimension()}\n")
    for w in words:
        f.write(w + " " + " ".join(f"{x:.6f}" for x in m.get_word_vector(w)) + "\n")
print(json.dumps({"train": train}))
"""


def run_tool(tool, model, threads, corpus, n_tokens, workdir, seed=1, extra=()):
    sg = model == "skipgram"
    s = SETTINGS
    alpha = ALPHA[model]
    out = Path(workdir) / f"{tool}-{model}-{threads}-{seed}.{'vec' if tool == 'fasttext' else 'bin'}"
    if tool == "staticvec":
        cmd = [sys.executable, "-m", "staticvec", "train-skipgram" if sg else "train-cbow", corpus,
               "-o", out, "--dim", s["dim"], "--window", s["window"], "--negative", s["negative"],
               "--sample", s["sample"], "--min-count", s["min_count"], "--epochs", s["epochs"],
               "--threads", threads, "--seed", seed, "--no-cache", *extra]
        env = dict(os.environ)
        wall, rss, _, err = measured(cmd, env)
        match = re.search(r"trained [\d,]+ words in ([\d.]+) s", err)
        train = float(match.group(1)) if match else float("nan")
    elif tool == "gensim":
        cmd = [sys.executable, "-c", GENSIM_RUN, corpus, out, int(sg), threads, s["dim"],
               s["window"], s["negative"], s["sample"], s["min_count"], s["epochs"], alpha, seed]
        wall, rss, stdout, _ = measured(cmd)
        train = json.loads(stdout.strip().splitlines()[-1])["train"]
    elif tool == "fasttext":
        cmd = [sys.executable, "-c", FASTTEXT_RUN, corpus, out, int(sg), threads, s["dim"],
               s["window"], s["negative"], s["sample"], s["min_count"], s["epochs"], alpha]
        wall, rss, stdout, _ = measured(cmd)
        train = json.loads(stdout.strip().splitlines()[-1])["train"]
    elif tool == "word2vec-c":
        binary = VENV_BIN / "word2vec"
        cmd = [binary, "-train", corpus, "-output", out, "-cbow", int(not sg), "-size", s["dim"],
               "-window", s["window"], "-negative", s["negative"], "-hs", 0, "-sample", s["sample"],
               "-min-count", s["min_count"], "-iter", s["epochs"], "-threads", threads,
               "-binary", 1, "-alpha", alpha]
        wall, rss, stdout, err = measured(cmd)
        rates = re.findall(r"Words/thread/sec:\s*([\d.]+)k", stdout + err)
        train = (n_tokens * s["epochs"] / (float(rates[-1]) * 1e3 * threads)) if rates else float("nan")
    else:
        raise ValueError(tool)
    return {"tool": tool, "model": model, "threads": threads, "seed": seed, "wall": wall,
            "train": train,
            "words_per_s": n_tokens * s["epochs"] / train if train == train else float("nan"),
            "rss_mb": rss, "vectors": str(out)}


SEEDED = ("staticvec", "gensim")  # the tools --seeds reaches


def summary(rows, models, threads, tools, n_seeds):
    """Seed means per model and thread count; staticvec against the fastest peer and gensim."""
    print(f"\nsummary (means over {n_seeds} seed{'s' if n_seeds > 1 else ''} for "
          f"{', '.join(SEEDED)}):")
    for model in models:
        for t in threads:
            means = {}
            for tool in tools:
                mine = [r for r in rows if r["model"] == model and r["threads"] == t
                        and r["tool"] == tool]
                if mine:
                    means[tool] = {k: sum(r[k] for r in mine) / len(mine)
                                   for k in ("wall", "words_per_s", "rss_mb", "analogy", "ws353", "simlex")}
                    m = means[tool]
                    print(f"{model:9} {t:>3} {tool:11} wall {m['wall']:7.1f} s  "
                          f"{m['words_per_s'] / 1e6:6.2f}M words/s  RSS {m['rss_mb']:5.0f} MB  "
                          f"analogy {m['analogy']:6.2f}  WS353 {m['ws353']:.3f}  SimLex {m['simlex']:.3f}")
            ours = means.get("staticvec")
            peers = {k: v for k, v in means.items() if k != "staticvec"}
            if not ours or not peers:
                continue
            fastest = max(peers, key=lambda k: peers[k]["words_per_s"])
            line = (f"{model:9} {t:>3} staticvec / fastest peer ({fastest}): "
                    f"{ours['words_per_s'] / peers[fastest]['words_per_s']:.2f}x words/s, "
                    f"{peers[fastest]['wall'] / ours['wall']:.2f}x wall")
            if "gensim" in peers:
                g = peers["gensim"]
                line += (f"; vs gensim: analogy {ours['analogy'] - g['analogy']:+.2f}, "
                         f"WS353 {ours['ws353'] - g['ws353']:+.3f}, "
                         f"SimLex {ours['simlex'] - g['simlex']:+.3f}, "
                         f"RSS {ours['rss_mb']:.0f} vs {g['rss_mb']:.0f} MB")
            print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--threads", default="2,1", help="comma-separated thread counts")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="1", help="comma-separated seeds (default: 1)")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"],
                        help=f"epochs for every tool (default: {SETTINGS['epochs']})")
    parser.add_argument("--staticvec-args", default="",
                        help="extra options for staticvec, e.g. '--lr-schedule word2vec'")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    SETTINGS["epochs"] = args.epochs
    extra = args.staticvec_args.split()

    tools = [t for t in args.tools.split(",") if t]
    models = [m for m in args.models.split(",") if m]
    threads = [int(t) for t in args.threads.split(",") if t]
    for t in tools:
        if t not in TOOLS:
            parser.error(f"unknown tool {t!r} (choose from {', '.join(TOOLS)})")
    workdir = tempfile.mkdtemp(prefix="bench-train-")
    corpus, n_tokens, source = prepared_corpus(args, workdir)
    print(f"corpus: {n_tokens:,} tokens of {source}; settings {SETTINGS}", file=sys.stderr)
    rows = []
    seeds = [int(x) for x in args.seeds.split(",") if x]
    header = (f"{'model':9} {'thr':>3} {'tool':11} {'seed':>4} {'wall s':>8} {'train s':>8} "
              f"{'words/s':>10} {'RSS MB':>8} {'analogy':>8} {'WS353':>7} {'SimLex':>7}")
    print(header)
    for model in models:
        for t in threads:
            for seed in seeds:
                for tool in tools:
                    if seed != seeds[0] and tool not in SEEDED:
                        continue
                    try:
                        row = run_tool(tool, model, t, corpus, n_tokens, workdir, seed, extra)
                        row.update(quality(row["vectors"], args.eval_dir))
                        os.unlink(row["vectors"])
                    except (RuntimeError, OSError, ImportError) as exc:
                        print(f"{model:9} {t:>3} {tool:11} failed: {exc}", flush=True)
                        continue
                    rows.append(row)
                    print(f"{model:9} {t:>3} {tool:11} {seed:>4} {row['wall']:8.1f} "
                          f"{row['train']:8.1f} {row['words_per_s'] / 1e6:9.2f}M "
                          f"{row['rss_mb']:8.0f} {row['analogy']:8.2f} {row['ws353']:7.3f} "
                          f"{row.get('simlex', float('nan')):7.3f}",
                          flush=True)
    summary(rows, models, threads, tools, len(seeds))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"tokens": n_tokens, "settings": SETTINGS, "rows": rows}, handle, indent=1)
    if not args.keep:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
