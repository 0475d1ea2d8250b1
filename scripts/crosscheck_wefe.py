#!/usr/bin/env python
"""Cross-check staticvec's WEAT effect sizes against the WEFE package on the same vectors.

    python scripts/crosscheck_wefe.py MODEL [--tests FILE.json] [--tolerance 1e-6]
    python scripts/crosscheck_wefe.py /tmp/mini.bin --train-from data/corpus/mini.txt.xz

The model is read once with ``staticvec.io.dispatch.load_vectors``; WEFE gets the very same
float32 rows through a gensim ``KeyedVectors``, so the two computations differ only in
their code. staticvec computes cosines in float64; by default WEFE gets float64 copies of
the same float32 values too, so only the formulas are compared (agreement ~1e-15).
``--float32`` lets WEFE (sklearn's cosine_similarity) work in float32: differences then
are float32 rounding, a few 1e-7. ``--train-from CORPUS`` first trains quick gensim
skip-gram vectors on a corpus (word2vec binary, written to MODEL) for a check without a
staticvec-trained model.

Convention differences, and how they are matched:

* Effect size: WEFE divides by the population standard deviation (``np.std``, ddof=0);
  Caliskan et al. and staticvec use the sample standard deviation (ddof=1). With n words
  in X u Y, d_staticvec = d_wefe * sqrt((n - 1) / n); the comparison applies that factor.
  The test statistic S has the same definition in both and is compared as is.
* Missing words: both drop the missing words of each set independently (so |X| and |Y|
  may differ) and both then use means over the words found. WEFE by default returns NaN
  once a set loses more than 20% of its words (``lost_vocabulary_threshold=0.2``); here
  it gets 1.0 so that it computes every test staticvec computes. staticvec skips a test
  with fewer than 2 words left in a set; such tests are listed as skipped, not compared.
  The words each side found are compared too.
* Duplicates: WEFE keys a set's vectors by word (duplicates collapse); staticvec removes
  duplicate words from a set as well.
* WEFE's p-value is not compared: it samples permutations with replacement
  (``rng.choice`` of the pool) and has no exact mode.

Exit status: 0 if every compared test agrees within the tolerance, 1 otherwise.
"""
import argparse
import logging
import lzma
import math
import sys
import time
from pathlib import Path

import numpy as np


def train_quick_gensim(corpus, out, max_tokens):
    """Quick skip-gram vectors (gensim, 100 dims, 5 epochs) saved as word2vec binary."""
    from gensim.models import Word2Vec

    opener = lzma.open if str(corpus).endswith(".xz") else open
    sentences, tokens = [], 0
    with opener(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            words = line.split()
            sentences += [words[i:i + 10000] for i in range(0, len(words), 10000)]
            tokens += len(words)
            if max_tokens and tokens >= max_tokens:
                break
    start = time.monotonic()
    model = Word2Vec(sentences, vector_size=100, window=5, min_count=5, sg=1, negative=5,
                     workers=2, epochs=5, seed=1)
    model.wv.save_word2vec_format(str(out), binary=True)
    print(f"trained gensim skip-gram on {tokens:,} tokens of {corpus} in "
          f"{time.monotonic() - start:.0f} s: {len(model.wv):,} words -> {out}", file=sys.stderr)


def wefe_model(vectors, dtype):
    from gensim.models import KeyedVectors
    from wefe.word_embedding_model import WordEmbeddingModel

    kv = KeyedVectors(vectors.dim, dtype=dtype)
    kv.add_vectors(list(vectors.words), vectors.matrix.astype(dtype))
    return WordEmbeddingModel(kv, "staticvec vectors")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="vectors file (any format staticvec reads)")
    parser.add_argument("--tests", help="WEAT tests JSON (default: the ten shipped tests)")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--train-from", metavar="CORPUS",
                        help="first train quick gensim vectors on CORPUS and write them to MODEL")
    parser.add_argument("--max-tokens", type=int, default=8_000_000,
                        help="with --train-from: use at most this many tokens")
    parser.add_argument("--float32", action="store_true",
                        help="let WEFE compute in float32 (default: float64 copies of the same "
                             "float32 values, as staticvec computes)")
    args = parser.parse_args(argv)
    logging.getLogger("wefe").setLevel(logging.ERROR)

    from wefe.metrics import WEAT
    from wefe.preprocessing import get_embeddings_from_query
    from wefe.query import Query

    from staticvec.eval.bias import sets as bias_sets
    from staticvec.eval.bias import weat
    from staticvec.io.dispatch import load_vectors

    if args.train_from:
        train_quick_gensim(args.train_from, Path(args.model), args.max_tokens)
    vectors = load_vectors(args.model)
    tests = bias_sets.load_weat_tests(args.tests) if args.tests else bias_sets.shipped_weat_tests()
    dtype = np.float32 if args.float32 else np.float64
    model = wefe_model(vectors, dtype)
    print(f"{args.model}: {len(vectors):,} words x {vectors.dim}; WEFE computes in "
          f"{np.dtype(dtype).name}; its effect size rescaled by sqrt((n-1)/n) (population -> "
          f"sample std)")
    print(f"{'test':8} {'n':>3} {'staticvec d':>12} {'WEFE d raw':>12} {'WEFE d (ddof=1)':>16} "
          f"{'|diff d|':>9} {'|diff S|':>9}  words")
    worst, compared, failures = 0.0, 0, 0
    for test in tests:
        ours = weat.run_weat(vectors, test, exact_limit=0, permutations=1)
        sets = test["sets"]
        names = [f"{k}:{test['name']}" for k in "XYAB"]  # WEFE keys sets by name
        query = Query([sets["X"], sets["Y"]], [sets["A"], sets["B"]], names[:2], names[2:])
        short = test["name"].split(":")[0]
        if ours["status"] != "ok":
            print(f"{short:8} skipped by staticvec: {ours['reason']}")
            continue
        found = get_embeddings_from_query(model, query, lost_vocabulary_threshold=1.0)
        wefe_found = [sorted(group[name]) for group, pair in zip(found, (names[:2], names[2:]))
                      for name in pair]
        ours_found = [sorted(w for w in sets[k] if w not in ours["coverage"][k]["missing"])
                      for k in "XYAB"]
        result = WEAT().run_query(query, model, lost_vocabulary_threshold=1.0,
                                  return_effect_size=True)
        n = ours["coverage"]["X"]["found"] + ours["coverage"]["Y"]["found"]
        rescaled = result["effect_size"] * math.sqrt((n - 1) / n)
        diff_d = abs(rescaled - ours["effect_size"])
        diff_s = abs(result["weat"] - ours["statistic"])
        same_words = wefe_found == ours_found
        ok = diff_d <= args.tolerance and diff_s <= args.tolerance and same_words
        compared += 1
        failures += not ok
        worst = max(worst, diff_d)
        print(f"{short:8} {n:3d} {ours['effect_size']:+12.7f} {result['effect_size']:+12.7f} "
              f"{rescaled:+16.7f} {diff_d:9.1e} {diff_s:9.1e}  "
              f"{'same' if same_words else 'DIFFERENT'}{'' if ok else '  <-- disagrees'}")
    print(f"{compared} tests compared, {failures} disagree; largest |diff d| = {worst:.1e} "
          f"(tolerance {args.tolerance:g})")
    return 1 if failures or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
