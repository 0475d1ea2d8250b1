#!/usr/bin/env python3
"""fastText benchmark: staticvec vs Facebook's fasttext binding vs gensim FastText, same run.

All three train skip-gram with character n-grams on the same cut of the shared corpus
(default: the first 17M tokens of DATA/corpus/text8like.txt.xz, as the word2vec benchmark),
with fastText's settings: minn 3, maxn 6, bucket 2M, dim 100, window 5, 5 epochs,
5 negatives, lr 0.05, sample 1e-4, min-count 5; once per --threads value.

Reported per tool: training wall time and throughput (epochs x corpus tokens / seconds),
CPU seconds of the whole run (all threads; steadier than wall time on a busy machine),
Google analogy accuracy (restrict 30k, 3CosAdd) and Spearman on the similarity sets with
unseen words scored through their n-grams (`--oov`). staticvec's corpus preparation
(count + encode, no cache) is timed separately and also shown end to end; the binding's
time includes its own vocabulary pass, gensim's excludes its build_vocab.

    python scripts/bench_fasttext.py                              # 17M tokens, 2 and 1 threads
    python scripts/bench_fasttext.py --tokens 2000000 --threads 2 # quick look
    python scripts/bench_fasttext.py --peers fasttext --json out.json
    python scripts/bench_fasttext.py --threads 2 --seeds 1,2,3   # quality as a mean of 3 seeds

With several --seeds every tool trains once per seed (staticvec --seed, the binding's seed,
gensim's seed) and the comparison lines use the means over the seeds.
"""
import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

import benchlib  # the corpus cut and options shared with the other benchmarks

SETTINGS = dict(dim=100, window=5, epochs=5, negative=5, alpha=0.05, sample=1e-4, min_count=5,
                minn=3, maxn=6, bucket=2_000_000)


def cpu_seconds():
    """CPU time of this process, all threads: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quality(vectors, eval_dir):
    from staticvec.eval import benchmarks as evaluate

    row = {}
    analogy = evaluate.evaluate_analogies(vectors, os.path.join(eval_dir, "questions-words.txt"),
                                          restrict=30000)
    total = analogy["total"]
    row["analogy"] = 100.0 * (total["accuracy"] if isinstance(total, dict) else total)
    for name in ("wordsim353.tsv", "simlex999.txt"):
        path = os.path.join(eval_dir, name)
        if os.path.exists(path):
            result = evaluate.evaluate_similarity(vectors, path, oov=True)
            row[name.split(".")[0]] = result["spearman"]
    return row


def run_staticvec(corpus, threads, n_tokens, seed):
    from staticvec.text import prepare as encode
    from staticvec.model import subwords
    from staticvec.model.fasttext import FastTextVectors
    from staticvec.train import fasttext as ft

    s = SETTINGS
    start = time.perf_counter()
    vocab, encoded = encode.prepare([corpus], min_count=s["min_count"], cache=False)
    prepare = time.perf_counter() - start
    options = ft.FastTextOptions(model="skipgram", minn=s["minn"], maxn=s["maxn"],
                                 bucket=s["bucket"], dim=s["dim"], window=s["window"],
                                 epochs=s["epochs"], negative=s["negative"], alpha=s["alpha"],
                                 sample=s["sample"], min_count=s["min_count"], threads=threads,
                                 seed=seed)
    start = time.perf_counter()
    wi, wo, lists = ft.train(vocab, encoded, options)
    seconds = time.perf_counter() - start
    vectors = FastTextVectors(vocab.words, subwords.compose(wi, *lists), vocab.counts,
                              input_matrix=wi, output_matrix=wo, minn=s["minn"],
                              maxn=s["maxn"], bucket=s["bucket"])
    return {"train_s": seconds, "prepare_s": prepare, "end_to_end_s": prepare + seconds,
            "words": len(vocab)}, vectors


def run_fasttext(corpus, threads, n_tokens, seed):
    import fasttext_pybind
    from fasttext import FastText

    from staticvec.model import subwords
    from staticvec.model.fasttext import FastTextVectors

    s = SETTINGS
    # train_unsupervised does not pass `seed` on (its C++ args have it): build the args the
    # way it does, with the seed added
    names = ["input", "model", "lr", "dim", "ws", "epoch", "minCount", "minn", "maxn", "neg",
             "bucket", "thread", "t", "verbose", "seed"]
    given = dict(input=corpus, model="skipgram", dim=s["dim"], ws=s["window"],
                 epoch=s["epochs"], neg=s["negative"], lr=s["alpha"], t=s["sample"],
                 minCount=s["min_count"], minn=s["minn"], maxn=s["maxn"], bucket=s["bucket"],
                 thread=threads, seed=seed, verbose=0)
    start = time.perf_counter()
    args, manual = FastText.read_args((), given, names, FastText.unsupervised_default)
    built = FastText._build_args(args, manual)
    model = FastText._FastText(args=built)
    fasttext_pybind.train(model.f, built)
    model.set_args(model.f.getArgs())
    seconds = time.perf_counter() - start
    words = model.words
    wi = model.get_input_matrix()
    lists = subwords.subword_csr(words, s["minn"], s["maxn"], s["bucket"])
    vectors = FastTextVectors(words, subwords.compose(wi, *lists), input_matrix=wi,
                              minn=s["minn"], maxn=s["maxn"], bucket=s["bucket"])
    return {"train_s": seconds, "end_to_end_s": seconds, "words": len(words)}, vectors


def run_gensim(corpus, threads, n_tokens, seed):
    from gensim.models import FastText

    from staticvec.model.fasttext import FastTextVectors

    s = SETTINGS
    model = FastText(vector_size=s["dim"], window=s["window"], min_count=s["min_count"], sg=1,
                     hs=0, negative=s["negative"], sample=s["sample"], alpha=s["alpha"],
                     min_n=s["minn"], max_n=s["maxn"], bucket=s["bucket"], workers=threads,
                     seed=seed)
    start = time.perf_counter()
    model.build_vocab(corpus_file=corpus)
    vocab_s = time.perf_counter() - start
    start = time.perf_counter()
    model.train(corpus_file=corpus, total_words=model.corpus_total_words, epochs=s["epochs"])
    seconds = time.perf_counter() - start
    wv = model.wv
    wi = np.vstack([wv.vectors_vocab, wv.vectors_ngrams]).astype(np.float32)
    vectors = FastTextVectors(list(wv.index_to_key), wv.vectors.astype(np.float32),
                              input_matrix=wi, minn=s["minn"], maxn=s["maxn"],
                              bucket=s["bucket"])
    return {"train_s": seconds, "prepare_s": vocab_s, "end_to_end_s": vocab_s + seconds,
            "words": len(wv.index_to_key)}, vectors


RUNNERS = {"staticvec": run_staticvec, "fasttext": run_fasttext, "gensim": run_gensim}
METRICS = ("words_per_s", "end_to_end_s", "cpu_s", "analogy", "wordsim353", "simlex999")


def mean_row(results, tool, threads):
    """The tool's rows at ``threads``, every metric averaged over the seeds (None if absent)."""
    rows = [r for r in results if r["tool"] == tool and r["threads"] == threads]
    if not rows:
        return None
    return {"tool": tool, **{k: float(np.mean([r[k] for r in rows])) for k in METRICS
                             if all(k in r for r in rows)}}


def compare(results, threads, n_seeds):
    """staticvec against the fastest peer (speed) and the binding (quality), seed means."""
    ours = mean_row(results, "staticvec", threads)
    peers = [m for m in (mean_row(results, t, threads) for t in RUNNERS if t != "staticvec") if m]
    label = f"threads {threads}" + (f", mean of {n_seeds} seeds" if n_seeds > 1 else "")
    for row in [ours] + peers:
        extra = "".join(f"  {k} {row[k]:.3f}" for k in ("wordsim353", "simlex999") if k in row)
        print(f"{label}: {row['tool']:<10} {row['words_per_s'] / 1e3:6.0f}k words/s  "
              f"analogy {row['analogy']:.2f}%{extra}", flush=True)
    if not peers:
        return
    best = max(peers, key=lambda r: r["words_per_s"])
    print(f"{label}: staticvec / fastest peer ({best['tool']}) = "
          f"{ours['words_per_s'] / best['words_per_s']:.2f}x train, "
          f"{best['end_to_end_s'] / ours['end_to_end_s']:.2f}x end to end, "
          f"{best['cpu_s'] / ours['cpu_s']:.2f}x less cpu", flush=True)
    binding = next((r for r in peers if r["tool"] == "fasttext"), None)
    if binding:
        print(f"{label}: staticvec - fasttext binding: analogy "
              f"{ours['analogy'] - binding['analogy']:+.2f} points"
              + "".join(f", {k} {ours[k] - binding[k]:+.3f}"
                        for k in ("wordsim353", "simlex999") if k in ours), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_corpus_arguments(parser)
    parser.add_argument("--threads", default="2,1", help="comma-separated thread counts")
    parser.add_argument("--peers", default="fasttext,gensim",
                        help="comma-separated peers to run besides staticvec")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds (default: 1)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    eval_dir = args.eval_dir
    tools = ["staticvec"] + [p for p in args.peers.split(",") if p]
    print("command:", " ".join([os.path.basename(sys.executable)] + sys.argv), flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-fasttext-") as tmp:
        corpus, n_tokens, corpus_src = benchlib.prepared_corpus(args, tmp)
        print(f"corpus: {n_tokens:,} tokens from {corpus_src}; settings: {SETTINGS}", flush=True)
        seeds = [int(x) for x in args.seeds.split(",") if x]
        for threads in [int(t) for t in args.threads.split(",")]:
            for seed in seeds:
                for tool in tools:
                    cpu = cpu_seconds()
                    row, vectors = RUNNERS[tool](corpus, threads, n_tokens, seed)
                    row.update(tool=tool, threads=threads, seed=seed, cpu_s=cpu_seconds() - cpu,
                               words_per_s=SETTINGS["epochs"] * n_tokens / row["train_s"])
                    row.update(quality(vectors, eval_dir))
                    del vectors
                    gc.collect()
                    results.append(row)
                    extra = "".join(f"  {k} {row[k]:.3f}" for k in ("wordsim353", "simlex999")
                                    if k in row)
                    prep = f" (+{row['prepare_s']:.1f}s prepare)" if "prepare_s" in row else ""
                    print(f"{tool:<10} threads {threads} seed {seed}: train {row['train_s']:7.1f}s"
                          f"{prep}  {row['words_per_s'] / 1e3:6.0f}k words/s  "
                          f"cpu {row['cpu_s']:6.1f}s  analogy {row['analogy']:.2f}%{extra}",
                          flush=True)
            compare(results, threads, len(seeds))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"tokens": n_tokens, "settings": SETTINGS, "results": results}, out,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
