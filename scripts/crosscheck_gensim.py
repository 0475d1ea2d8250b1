#!/usr/bin/env python
"""Show that staticvec's queries and benchmarks agree with gensim on a real model file.

    python scripts/crosscheck_gensim.py MODEL [--queries 200] [--eval-dir data/eval]

Loads MODEL with both libraries (word2vec binary or text), then compares:
  - the vocabulary and matrix as loaded;
  - most_similar and most_similar_cosmul for random query words and random analogies:
    same words in the same order, scores to 1e-5;
  - evaluate_word_analogies (restrict 30000, case-insensitive): the same questions right
    and wrong in every section, same total and OOV ratio;
  - evaluate_word_pairs on WordSim-353 and SimLex-999: Pearson, Spearman, OOV ratio.
Exit status 1 if anything disagrees. Needs gensim (the `bench` extra).
"""
import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _compare_lists(ours, theirs, tol):
    """(same words in the same order up to exact ties, max score difference).

    Candidates with bit-identical float32 scores come out of gensim's argsort in an
    arbitrary order (staticvec puts the lower index first), so a swap is accepted when
    gensim scores the two words within 1e-6 of each other.
    """
    diff = max((abs(a - b) for (_, a), (_, b) in zip(ours, theirs)), default=0.0)
    if len(ours) != len(theirs) or diff > tol:
        return False, diff
    their_score = dict(theirs)
    for (word, score), (their_word, their_at_i) in zip(ours, theirs):
        if word == their_word:
            continue
        other = their_score.get(word, score)
        if abs(other - their_at_i) > 1e-6:
            return False, diff
    return True, diff


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--topn", type=int, default=10)
    parser.add_argument("--restrict", type=int, default=30000)
    parser.add_argument("--eval-dir", default=os.path.join(ROOT, "data", "eval"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from gensim.models import KeyedVectors

    from staticvec.eval.benchmarks import evaluate_analogies, evaluate_similarity
    from staticvec.io.dispatch import detect_format, load_vectors

    failures = 0
    t = time.perf_counter()
    ours = load_vectors(args.model)
    t_ours = time.perf_counter() - t
    binary = detect_format(args.model) == "binary"
    t = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(args.model, binary=binary)
    t_gensim = time.perf_counter() - t
    print(f"model {args.model}: {len(ours):,} words x {ours.dim}; load {t_ours:.2f} s (staticvec) "
          f"vs {t_gensim:.2f} s (gensim)")
    same_vocab = ours.words == kv.index_to_key and np.array_equal(ours.matrix, kv.vectors)
    print(f"  vocabulary and matrix identical: {same_vocab}")
    failures += not same_vocab

    rng = np.random.default_rng(args.seed)
    pool = min(len(ours), args.restrict)
    worst = {"most_similar": 0.0, "cosmul": 0.0, "analogy add": 0.0, "analogy mul": 0.0}
    bad = {k: 0 for k in worst}
    for _ in range(args.queries):
        a, b, c = (ours.words[i] for i in rng.choice(pool, 3, replace=False))
        checks = {
            "most_similar": (ours.most_similar([a], topn=args.topn),
                             kv.most_similar([a], topn=args.topn)),
            "cosmul": (ours.most_similar_cosmul([a, b], [c], topn=args.topn),
                       kv.most_similar_cosmul([a, b], [c], topn=args.topn)),
            "analogy add": (ours.most_similar([b, c], [a], topn=args.topn, restrict_vocab=args.restrict),
                            kv.most_similar([b, c], [a], topn=args.topn, restrict_vocab=args.restrict)),
            "analogy mul": (ours.analogy(a, b, c, topn=args.topn, method="mul"),
                            kv.most_similar_cosmul([a, c], [b], topn=args.topn)),
        }
        for name, (mine, theirs) in checks.items():
            ok, diff = _compare_lists(mine, theirs, 1e-5)
            worst[name] = max(worst[name], diff)
            bad[name] += not ok
    for name in worst:
        print(f"  {name:<13} {args.queries} queries: {args.queries - bad[name]} same word lists "
              f"(up to exact ties), max score difference {worst[name]:.2e}")
        failures += bad[name]

    questions = os.path.join(args.eval_dir, "questions-words.txt")
    if os.path.exists(questions):
        t = time.perf_counter()
        result = evaluate_analogies(ours, questions, restrict=args.restrict)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=args.restrict,
                                                     case_insensitive=True)
        t_gensim = time.perf_counter() - t
        theirs = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
                  for s in sections}
        mismatched = [s["section"] for s in result["sections"]
                      if theirs.get(s["section"]) != (s["correct"], s["total"])]
        total_same = (result["total"]["correct"], result["total"]["total"]) == theirs["Total accuracy"]
        print(f"  analogies ({os.path.basename(questions)}, restrict {args.restrict}): staticvec "
              f"{result['total']['accuracy']:.4%} ({result['total']['correct']}/{result['total']['total']}, "
              f"{t_ours:.1f} s), gensim {score:.4%} ({t_gensim:.1f} s); sections differing: "
              f"{mismatched or 'none'}; totals identical: {total_same}")
        failures += len(mismatched) + (not total_same)

    for name in ("wordsim353.tsv", "simlex999.txt"):
        pairs = os.path.join(args.eval_dir, name)
        if not os.path.exists(pairs):
            continue
        mine = evaluate_similarity(ours, pairs)
        pearson, spearman, oov_ratio = kv.evaluate_word_pairs(pairs)
        diffs = (abs(mine["pearson"] - pearson[0]), abs(mine["spearman"] - spearman[0]),
                 abs(100 * mine["oov_ratio"] - oov_ratio))
        ok = max(diffs) < 1e-6
        print(f"  {name}: pearson {mine['pearson']:.6f} vs {pearson[0]:.6f}, spearman "
              f"{mine['spearman']:.6f} vs {spearman[0]:.6f}, oov {100 * mine['oov_ratio']:.2f}% vs "
              f"{oov_ratio:.2f}%: {'agree' if ok else 'DIFFER'} (max diff {max(diffs):.1e})")
        failures += not ok

    print("all agree" if not failures else f"{failures} disagreement(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
