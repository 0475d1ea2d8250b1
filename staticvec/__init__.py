"""staticvec: static word embeddings (word2vec, GloVe, fastText) trained by nogil Cython kernels.

The library (see the README's "Python library"):

    import staticvec
    v = staticvec.load("vectors.bin", limit=100_000)
    v.most_similar("king", topn=5)
    v = staticvec.train_skipgram([["the", "cat", "sat"], ...], dim=50, min_count=1)

Importing ``staticvec`` is cheap: the names below are imported on first use (the CLI's
``--version`` and the kernels are not touched until needed).
"""
from typing import TYPE_CHECKING

from staticvec.errors import (BadOptionError, FormatError, InputError, OutputError,
                              ResourceError, StaticvecError, UnknownWordError)

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and IDEs; at run time ``__getattr__`` imports them
    from staticvec.api import (FastTextVectors, Vectors, convert, load, sentence_vectors,
                               train_cbow, train_fasttext, train_glove, train_skipgram)

_LAZY = ("load", "convert", "sentence_vectors", "train_skipgram", "train_cbow",
         "train_fasttext", "train_glove", "Vectors", "FastTextVectors")

__all__ = list(_LAZY) + ["StaticvecError", "InputError", "FormatError", "OutputError",
                         "ResourceError", "BadOptionError", "UnknownWordError", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        from staticvec import api

        return getattr(api, name)
    raise AttributeError(f"module 'staticvec' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
