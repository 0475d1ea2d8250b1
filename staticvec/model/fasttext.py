"""``FastTextVectors``: a fastText model's word vectors, plus the n-gram buckets that give
unseen and misspelled words a vector (the scheme itself is in ``subwords.py``)."""
import numpy as np

from staticvec.errors import FormatError, UnknownWordError
from staticvec.model.subwords import compose, ngram_buckets, subword_rows
from staticvec.model.vectors import Vectors


class FastTextVectors(Vectors):
    """Vectors of a fastText model: the composed word vectors, plus the n-gram buckets
    that give unseen and misspelled words a vector.

    ``matrix`` holds the composed vector (mean of word row and n-gram rows) of every
    vocabulary word, so ranking and normalisation work as for any other model;
    ``input_matrix`` (``nwords + bucket`` rows) and ``output_matrix`` are the raw model,
    kept so it can be written back as a Facebook ``.bin``.
    """

    def __init__(self, words, matrix, counts=None, *, input_matrix, output_matrix=None,
                 minn=3, maxn=6, bucket=2_000_000, args=None, norms=None, model_words=None):
        """``model_words``: the model's whole vocabulary when ``words`` is only its first
        part (loaded with a limit); the words left out still get their exact vector."""
        super().__init__(words, matrix, counts, norms=norms)
        self.nwords = len(model_words) if model_words is not None else len(self.words)
        self._model_index = (None if model_words is None
                             else dict(zip(model_words, range(len(model_words)))))
        self.input_matrix = input_matrix
        self.output_matrix = output_matrix
        self.minn = int(minn)
        self.maxn = int(maxn)
        self.bucket = int(bucket)
        self.args = dict(args or {})

    def __repr__(self):
        return (f"FastTextVectors({len(self):,} words x {self.dim}, {self.bucket:,} buckets, "
                f"n-grams {self.minn}-{self.maxn})")

    def ngram_rows(self, word):
        """Input-matrix rows of the n-grams of ``word`` (not its own row)."""
        return [self.nwords + b for b in ngram_buckets(word, self.minn, self.maxn, self.bucket)]

    def has_vector(self, word):
        return (word in self.index or bool(self.ngram_rows(word))
                or (self._model_index is not None and word in self._model_index))

    def vector(self, word, norm=False):
        """In-vocabulary: the composed row. Unseen: the mean of its n-gram rows, as
        fastText's get_word_vector. A word with neither is unknown (fastText would give a
        zero vector, whose "neighbours" would all score 0)."""
        if word in self.index:
            return super().vector(word, norm=norm)
        if self._model_index is not None and word in self._model_index:
            rows = subword_rows(word, self._model_index, self.nwords, self.minn, self.maxn,
                                self.bucket)
        else:
            rows = self.ngram_rows(word)
        if not rows:
            raise UnknownWordError(word, f"unknown word: {word!r} is not in the model's "
                                         f"vocabulary and has no character n-gram (n-grams of "
                                         f"{self.minn}-{self.maxn} characters, {self.bucket:,} "
                                         f"buckets)")
        indptr = np.array([0, len(rows)], dtype=np.int64)
        vec = compose(self.input_matrix, indptr, np.asarray(rows, dtype=np.int32))[0]
        if not np.isfinite(vec).all():
            raise FormatError(f"the n-gram rows of {word!r} hold a non-finite value (the "
                              f"model's input matrix is damaged)")
        if norm:
            length = float(np.sqrt(np.dot(vec.astype(np.float64), vec.astype(np.float64))))
            if length > 0:
                vec = (vec / np.float32(length)).astype(np.float32)
        return vec
