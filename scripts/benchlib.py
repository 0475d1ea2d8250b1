"""What every benchmark script shares: the corpus cut, measuring a tool in its own process,
and scoring any tool's vectors with one evaluator (staticvec.eval.benchmarks, which matches gensim's
evaluate_word_analogies / evaluate_word_pairs exactly), so the quality columns are comparable.
"""
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
EVAL_DIR = REPO / "data" / "eval"
sys.path.insert(0, str(REPO))


def add_corpus_arguments(parser, tokens=17_000_000):
    """--data, --corpus, --tokens and --eval-dir, the same in every benchmark."""
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="shared data folder (default: ../shared/data)")
    parser.add_argument("--corpus", default=None,
                        help="corpus file [default: DATA/corpus/text8like.txt.xz]")
    parser.add_argument("--tokens", type=int, default=tokens,
                        help="train on the first N tokens (default: text8's size, 17M)")
    parser.add_argument("--eval-dir", default=str(EVAL_DIR),
                        help="folder with questions-words.txt, wordsim353.tsv, simlex999.txt")


def prepared_corpus(args, workdir):
    """Cut the benchmark corpus into ``workdir``; returns (path, tokens, source)."""
    source = args.corpus or os.path.join(args.data, "corpus", "text8like.txt.xz")
    path = os.path.join(workdir, "corpus.txt")
    return path, cut_corpus(source, args.tokens, path), source


def cut_corpus(source, tokens, dest):
    """The first ``tokens`` tokens of ``source`` as plain text, lines kept (the last one cut).

    Returns the number of tokens written."""
    left = tokens
    opener = lzma.open if str(source).endswith(".xz") else open
    with opener(source, "rt", encoding="utf-8") as src, open(dest, "w", encoding="utf-8") as dst:
        for line in src:
            words = line.split()
            if not words:
                continue
            if len(words) >= left:
                dst.write(" ".join(words[:left]) + "\n")
                left = 0
                break
            dst.write(" ".join(words) + "\n")
            left -= len(words)
    return tokens - left


_LAUNCHER = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:])
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write("\n@@BENCH " + json.dumps({"wall": wall, "rss_kb": ru.ru_maxrss, "rc": p.returncode}) + "\n")
sys.exit(p.returncode)
"""


def measured(cmd, env=None):
    """Run ``cmd`` in its own process; returns (wall s, peak RSS MB, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *map(str, cmd)], capture_output=True,
                          env=env)
    err = proc.stderr.decode(errors="replace")
    marker = err.rfind("@@BENCH ")
    if proc.returncode != 0 or marker < 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    info = json.loads(err[marker + 8:].splitlines()[0])
    return info["wall"], info["rss_kb"] / 1024.0, proc.stdout.decode(errors="replace"), err[:marker]


def quality(vectors, eval_dir=EVAL_DIR, oov=False):
    """Google analogy accuracy (%, 3CosAdd, restrict 30k, case-insensitive), the number of
    questions scored, and Spearman on WordSim-353 and SimLex-999, for a path or Vectors."""
    from staticvec.eval import benchmarks as evaluate
    from staticvec.io import dispatch as formats

    if isinstance(vectors, (str, os.PathLike)):
        vectors = formats.load_vectors(vectors)
    eval_dir = Path(eval_dir)
    analogy = evaluate.evaluate_analogies(vectors, eval_dir / "questions-words.txt",
                                          restrict=30000, oov=oov)
    row = {"analogy": 100.0 * analogy["total"]["accuracy"], "questions": analogy["total"]["total"]}
    for name, key in (("wordsim353.tsv", "ws353"), ("simlex999.txt", "simlex")):
        if (eval_dir / name).exists():
            row[key] = evaluate.evaluate_similarity(vectors, eval_dir / name, oov=oov)["spearman"]
    return row
