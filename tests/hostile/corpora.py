"""Small corpora and the one deterministic training that the cache, input and kill tests
compare byte for byte (``--threads 1 --seed 1``)."""
import lzma
import os

from conftest import MINI_CORPUS, run_cli

TRAIN = ("--dim", "8", "--epochs", "1", "--threads", "1", "--seed", "1")


def tiny_corpus(path, lines=200):
    """The first ``lines`` lines of the mini corpus as a plain text file (200 lines: 1 MB,
    large enough that the cache key samples it rather than hashing it whole)."""
    with lzma.open(MINI_CORPUS, "rt", encoding="utf-8") as source:
        text = "".join(line for _, line in zip(range(lines), source))
    path.write_text(text, encoding="utf-8")
    return path


def train(corpus, output, *extra, quiet=True, **kwargs):
    """``train-skipgram`` with the deterministic settings; ``extra`` options appended."""
    return run_cli("train-skipgram", *([corpus] if isinstance(corpus, (str, os.PathLike))
                                       else corpus),
                   "-o", output, *TRAIN, *(("-q",) if quiet else ()), *extra, **kwargs)


def cache_folder():
    return os.path.join(os.environ["XDG_CACHE_HOME"], "staticvec")


def cache_names():
    folder = cache_folder()
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
