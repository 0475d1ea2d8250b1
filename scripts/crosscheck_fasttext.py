#!/usr/bin/env python3
"""fastText .bin compatibility, both ways: our model in Facebook's fasttext and in gensim,
and Facebook's model in staticvec, word vectors compared for seen and unseen words.

1. `staticvec train-fasttext` writes OUT.bin; `fasttext.load_model` and gensim's
   `load_facebook_model` read it, and their `get_word_vector` / `wv[word]` must equal
   ours to 1e-6 for every vocabulary word and for a list of unseen words.
2. The fasttext binding trains its own model and saves it; staticvec reads it and must
   give the same vectors (1e-6), and writing it back must reproduce the file byte for byte.

    python scripts/crosscheck_fasttext.py                      # bundled mini corpus
    python scripts/crosscheck_fasttext.py --corpus text.txt --dim 100 --bucket 2000000

Exit status 0 when every check holds, 1 otherwise.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
UNSEEN = ["computr", "goverment", "philosopy", "naïve", "東京", "qqqzzx", "xylophonist",
          "anarchisms", "a", "zz"]


def max_diff(get_ours, get_theirs, words):
    return max(float(np.abs(np.asarray(get_ours(w)) - np.asarray(get_theirs(w))).max())
               for w in words)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO / "data" / "corpus" / "mini.txt.xz"))
    parser.add_argument("--dim", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--bucket", type=int, default=200000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()

    import fasttext
    from gensim.models.fasttext import load_facebook_model

    from staticvec.io import fasttext_bin
    from staticvec.io import dispatch as formats

    failures = []

    def report(what, diff):
        ok = diff <= args.tolerance
        print(f"{what:<58} max |diff| {diff:.3g}  {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory(prefix="crosscheck-fasttext-") as tmp:
        stem = os.path.join(tmp, "ours")
        subprocess.run([sys.executable, "-m", "staticvec", "train-fasttext", args.corpus, "-o",
                        stem, "--dim", str(args.dim), "--epochs", str(args.epochs), "--bucket",
                        str(args.bucket), "--threads", str(args.threads), "--no-cache", "-q"],
                       check=True)
        ours = formats.load_vectors(stem + ".bin")
        print(f"ours: {ours!r}")
        theirs = fasttext.load_model(stem + ".bin")
        gensim_model = load_facebook_model(stem + ".bin")
        if theirs.get_words() != ours.words:
            failures.append("fasttext reads a different vocabulary")
        report(f"ours -> fasttext, {len(ours):,} vocabulary words",
               max_diff(ours.vector, theirs.get_word_vector, ours.words))
        report(f"ours -> fasttext, {len(UNSEEN)} unseen words",
               max_diff(ours.vector, theirs.get_word_vector, UNSEEN))
        report(f"ours -> gensim, {len(ours):,} vocabulary words",
               max_diff(ours.vector, lambda w: gensim_model.wv[w], ours.words))
        report(f"ours -> gensim, {len(UNSEEN)} unseen words",
               max_diff(ours.vector, lambda w: gensim_model.wv[w], UNSEEN))

        # Facebook's own model into staticvec
        text = args.corpus
        if text.endswith(".xz"):
            import lzma
            import shutil
            text = os.path.join(tmp, "corpus.txt")
            with lzma.open(args.corpus) as src, open(text, "wb") as dst:
                shutil.copyfileobj(src, dst)
        facebook = fasttext.train_unsupervised(text, model="skipgram", dim=args.dim, epoch=1,
                                               minCount=5, bucket=args.bucket, thread=args.threads,
                                               verbose=0)
        fb_path = os.path.join(tmp, "facebook.bin")
        facebook.save_model(fb_path)
        loaded = formats.load_vectors(fb_path)
        report(f"fasttext -> ours, {len(loaded):,} vocabulary words (incl. </s>)",
               max_diff(loaded.vector, facebook.get_word_vector, loaded.words))
        report(f"fasttext -> ours, {len(UNSEEN)} unseen words",
               max_diff(loaded.vector, facebook.get_word_vector, UNSEEN))
        model = fasttext_bin.read_model(fb_path)
        a = model["args"]
        again = os.path.join(tmp, "again.bin")
        fasttext_bin.save_model(
            again, model["words"], model["counts"], model["input"], model["output"],
            model=fasttext_bin.MODEL_NAMES[a["model"]], dim=a["dim"], window=a["ws"],
            epochs=a["epoch"], min_count=a["min_count"], negative=a["neg"], bucket=a["bucket"],
            minn=a["minn"], maxn=a["maxn"], sample=a["t"], ntokens=model["ntokens"],
            lr_update_rate=a["lr_update_rate"], word_ngrams=a["word_ngrams"],
            loss=fasttext_bin.LOSS_NAMES[a["loss"]])
        same = Path(again).read_bytes() == Path(fb_path).read_bytes()
        print(f"{'fasttext .bin read and written back by staticvec':<58} "
              f"{'byte-identical  ok' if same else 'DIFFERENT  FAIL'}")
        if not same:
            failures.append("round trip")
    print("all checks passed" if not failures else f"FAILED: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
