"""staticvec: static word embeddings (word2vec, GloVe, fastText) trained by nogil Cython kernels."""

__version__ = "0.1.0"
