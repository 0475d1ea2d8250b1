#!/usr/bin/env python3
"""Phrase detection, one pass: staticvec vs word2phrase C vs gensim Phrases + FrozenPhrases.

Each tool runs in its own process on the same decompressed cut of the corpus, with
word2phrase's defaults (min count 5, threshold 100): wall time, peak RSS, and the distinct
phrases (tokens with ``_``) in its output. gensim's default scorer differs from
word2phrase's (it multiplies by the vocabulary size, not the number of words), so its
phrases differ; staticvec's output is also compared with word2phrase's token for token.

    python scripts/bench_phrases.py                       # the 17M-token cut of ../shared/data
    python scripts/bench_phrases.py --tokens 2000000 --skip gensim
"""
import argparse
import os
import shutil
import sys
import tempfile

from benchlib import add_corpus_arguments, measured, prepared_corpus

GENSIM = r"""
import sys
from gensim.models.phrases import FrozenPhrases, Phrases
from gensim.models.word2vec import LineSentence
corpus, output = sys.argv[1], sys.argv[2]
model = Phrases(LineSentence(corpus), min_count=5, threshold=100.0, delimiter="_")
frozen = FrozenPhrases(model)
with open(output, "w", encoding="utf-8") as out:
    for sentence in LineSentence(corpus):
        out.write(" ".join(frozen[sentence]) + "\n")
"""


def tokens_of(path):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield line.split()


def distinct_phrases(path):
    return len({t for line in tokens_of(path) for t in line if "_" in t})


def word2phrase_cut(word):
    """What word2phrase makes of a word: of 59 bytes or more, the first 58."""
    return word[:58]


def differences(ours, theirs):
    """(lines compared, tokens that differ, of which word2phrase's cutting of a long word
    explains); lines that differ in their number of tokens count all their tokens."""
    lines = differ = cut = 0
    with open(ours, "rb") as a, open(theirs, "rb") as b:
        for x, y in zip(a, b):
            lines += 1
            xs, ys = x.split(), y.split()
            if xs == ys:
                continue
            if len(xs) != len(ys):
                differ += max(len(xs), len(ys))
                continue
            for p, q in zip(xs, ys):
                if p != q:
                    differ += 1
                    cut += word2phrase_cut(p) == q
    return lines, differ, cut


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser)
    parser.add_argument("--word2phrase", default=shutil.which(
        "word2phrase", path=os.path.dirname(sys.executable)) or shutil.which("word2phrase"),
        help="word2phrase C binary (the PyPI word2vec package builds it)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["word2phrase", "gensim"], help="leave a peer out")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-phrases-")
    try:
        corpus, tokens, source = prepared_corpus(args, tmp)
        outputs = {name: os.path.join(tmp, f"{name}.txt")
                   for name in ("staticvec", "word2phrase", "gensim")}
        commands = {"staticvec": [sys.executable, "-m", "staticvec", "phrases", corpus, "-o",
                                  outputs["staticvec"], "-q"]}
        if args.word2phrase and "word2phrase" not in args.skip:
            # word2phrase keeps file names in 60 bytes: run it in the folder, short names
            commands["word2phrase"] = [args.word2phrase, "-train", "corpus.txt", "-output",
                                       "word2phrase.txt", "-debug", "0"]
        if "gensim" not in args.skip:
            commands["gensim"] = [sys.executable, "-c", GENSIM, corpus, outputs["gensim"]]
        rows = {}
        cwd = os.getcwd()
        for name, cmd in commands.items():
            os.chdir(tmp)
            try:
                wall, rss, _, _ = measured(cmd)
            finally:
                os.chdir(cwd)
            rows[name] = (wall, rss, distinct_phrases(outputs[name]))
        print(f"corpus: {source}, first {tokens:,} tokens; one pass, min count 5, "
              f"threshold 100")
        print(f"{'tool':<12} {'wall s':>8} {'peak RSS MB':>12} {'phrases':>9}")
        for name, (wall, rss, found) in rows.items():
            print(f"{name:<12} {wall:8.1f} {rss:12.0f} {found:9,}")
        peers = [rows[n][0] for n in rows if n != "staticvec"]
        if peers:
            print(f"speed-up vs the fastest peer: {min(peers) / rows['staticvec'][0]:.1f}x")
        if "word2phrase" in rows:
            lines, differ, cut = differences(outputs["staticvec"], outputs["word2phrase"])
            print(f"staticvec vs word2phrase, {lines:,} lines: {differ:,} tokens differ, "
                  f"{cut:,} of them words of 59+ bytes that word2phrase cuts to 58")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
