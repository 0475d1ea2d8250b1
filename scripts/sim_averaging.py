#!/usr/bin/env python
"""Simulate data-parallel word2vec with periodic parameter averaging (issue 16, part 6).

K simulated workers share one vocabulary (counted on the whole cut, as a cluster would
broadcast it) and one starting point (the same --seed initialisation). The encoded corpus is
cut into K contiguous shares of equal token count; worker k trains only share k. Training
runs in rounds: every round each worker starts from the averaged parameters, trains its next
piece (its whole share per round with --every epoch, a quarter of it with --every quarter),
and the round ends by averaging BOTH matrices (input vectors and negative-sampling output
weights) over the K workers, as Spark MLlib's Word2Vec and parameter-server-free "model
averaging" do. The learning rate follows the global schedule of the whole run: worker k's
rate is the one the single-machine run has at the same fraction of all words (each worker's
progress is its own words / its share's words x epochs, and the shares are equal, so at
every round the K workers sit where a single run would be), with the same --lr-schedule
(sawtooth by default). Each worker keeps its own random stream across rounds.

Workers of a round run one after the other on one thread (the simulation measures
accuracy, not speed). K = 1 is the single-machine run with --threads 1: averaging one model
is a no-op and the rounds continue one another exactly (``train/word2vec.py``'s kernel
resumes from the state it returns), so K = 1 is the reference the others are compared to.

Scores as scripts/bench_train.py: Google analogy (3CosAdd, 30k most frequent words, %),
Spearman on WordSim-353 and SimLex-999.

Usage:
  nice -n 10 python scripts/sim_averaging.py                    # 17M tokens, 5 epochs, K=1,2,4,8
  python scripts/sim_averaging.py --tokens 2000000 --epochs 1 --workers 1,2 --every epoch
"""
import argparse
import json
import sys
import tempfile
import time

import numpy as np

from benchlib import add_corpus_arguments, prepared_corpus, quality

SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-4, min_count=5, sg=True)


def encoded(path, min_count):
    from staticvec.text.prepare import prepare

    vocab, corpus = prepare([path], min_count=min_count, cache=False)
    return vocab, np.asarray(corpus.ids), np.asarray(corpus.sentence_ends)


def simulate(vocab, ids, ends, workers, rounds_per_epoch, epochs, seed, lr_schedule="sawtooth",
             combine="average", alpha=None):
    """Train K = ``workers`` simulated workers with averaging ``rounds_per_epoch`` times per
    epoch; return (input vectors (V, dim) of the averaged model, seconds of training).
    ``combine="sum"``: instead of the mean of the K models, the round's start plus the sum
    of the K workers' changes (what K workers updating one shared model would add up to)."""
    from staticvec.train import runner
    from staticvec.train.word2vec import Word2VecOptions, build_kernel

    o = Word2VecOptions(dim=SETTINGS["dim"], window=SETTINGS["window"],
                        negative=SETTINGS["negative"], sample=SETTINGS["sample"],
                        min_count=SETTINGS["min_count"], sg=SETTINGS["sg"], epochs=epochs,
                        threads=1, seed=seed, lr_schedule=lr_schedule, alpha=alpha).resolved()
    counters = runner.Counters(1, epochs)
    kernel, syn0, syn1neg, _ = build_kernel(vocab.counts, o, counters)
    # K * R contiguous pieces of equal token count: worker k owns pieces k*R .. k*R + R-1
    pieces = runner.sentence_shares(ends, workers * rounds_per_epoch)
    token_start = lambda i: int(ends[i - 1]) if i > 0 else 0  # noqa: E731
    share_tokens = [token_start(pieces[(k + 1) * rounds_per_epoch - 1][1])
                    - token_start(pieces[k * rounds_per_epoch][0]) for k in range(workers)]
    states = [kernel.initial_state(k, seed, pieces[k * rounds_per_epoch][0], o.alpha)
              for k in range(workers)]
    lengths = np.diff(ends, prepend=np.uint64(0))
    max_sentence = int(lengths.max())
    average0, average1 = syn0.copy(), syn1neg.copy()
    sum0 = np.zeros(syn0.shape, np.float64)
    sum1 = np.zeros(syn1neg.shape, np.float64)
    started = time.perf_counter()
    for epoch in range(epochs):
        for r in range(rounds_per_epoch):
            sum0[:] = 0
            sum1[:] = 0
            for k in range(workers):
                lo, hi = pieces[k * rounds_per_epoch + r]
                syn0[:] = average0
                syn1neg[:] = average1
                state = states[k]
                state[0], state[1] = 0, lo          # one pass over this round's piece
                kernel.train(0, ids, ends, lo, hi, 1, seed, o.alpha, o.min_alpha,
                             epochs * share_tokens[k], max_sentence, False, state)
                sum0 += syn0
                sum1 += syn1neg
            if combine == "sum":
                average0[:] = sum0 - (workers - 1) * average0.astype(np.float64)
                average1[:] = sum1 - (workers - 1) * average1.astype(np.float64)
            else:
                average0[:] = sum0 / workers
                average1[:] = sum1 / workers
    seconds = time.perf_counter() - started
    return average0[:, :o.dim].copy(), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", default="1,2,4,8", help="comma-separated K values")
    parser.add_argument("--every", default="epoch,quarter",
                        help="averaging periods: epoch, quarter (comma-separated)")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds")
    parser.add_argument("--combine", default="average", choices=("average", "sum"),
                        help="average the K models (Spark's way), or add up their changes")
    parser.add_argument("--alpha", type=float, default=None,
                        help="starting learning rate (default: skip-gram's 0.025)")
    parser.add_argument("--json", default=None, help="append each row as a JSON line here")
    args = parser.parse_args(argv)
    periods = {"epoch": 1, "quarter": 4}
    workdir = tempfile.mkdtemp(prefix="sim-avg-")
    path, n_tokens, source = prepared_corpus(args, workdir)
    vocab, ids, ends = encoded(path, SETTINGS["min_count"])
    print(f"corpus: {n_tokens:,} tokens of {source}, {len(vocab):,} words; settings "
          f"{SETTINGS}, {args.epochs} epochs", file=sys.stderr)
    print(f"{'K':>3} {args.combine + ' every':>13} {'seed':>4} {'train s':>8} {'analogy':>8} "
          f"{'WS353':>7} {'SimLex':>7}", flush=True)
    from staticvec.model.vectors import Vectors

    for seed in [int(s) for s in args.seeds.split(",") if s]:
        for k in [int(x) for x in args.workers.split(",") if x]:
            for every in [p for p in args.every.split(",") if p]:
                if k == 1 and every != args.every.split(",")[0]:
                    continue            # averaging one model is a no-op: one K=1 run
                matrix, seconds = simulate(vocab, ids, ends, k, periods[every], args.epochs, seed,
                                           combine=args.combine, alpha=args.alpha)
                row = {"workers": k, "every": every if k > 1 else "-", "seed": seed,
                       "combine": args.combine, "alpha": args.alpha or 0.025,
                       "epochs": args.epochs, "tokens": n_tokens, "seconds": seconds,
                       **quality(Vectors(vocab.words, matrix), args.eval_dir)}
                print(f"{k:>3} {row['every']:>13} {seed:>4} {seconds:8.1f} "
                      f"{row['analogy']:8.2f} {row['ws353']:7.3f} {row['simlex']:7.3f}",
                      flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
