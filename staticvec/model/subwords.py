"""fastText's subword scheme, bit for bit, and word vectors composed from it.

A model only interoperates with Facebook's fastText (and gensim) if every n-gram lands in
the same bucket, so this module follows the reference implementation exactly: the word is
wrapped as ``<word>``, n-grams are counted in UTF-8 characters (never splitting a
multi-byte character), hashed with 32-bit FNV-1a where each byte is *sign-extended* before
the xor (fastText hashes ``int8_t`` chars), and the bucket is ``hash % bucket``.

The pure-Python functions here are the readable reference; the training kernel
(``_kernels/fasttext.pyx``) computes the same lists for a whole vocabulary at C speed and
the tests hold the two to each other and to golden values from the official binding.
"""
import numpy as np

from staticvec.errors import FormatError, UnknownWordError
from staticvec.model.vectors import Vectors

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619
BOW = "<"
EOW = ">"
EOS = "</s>"  # fastText's end-of-line token: in its vocabulary, never split into n-grams


def fasttext_hash(data):
    """FNV-1a 32 over ``data`` (str or bytes) with fastText's signed-char quirk."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    h = FNV_OFFSET
    for byte in data:
        if byte >= 0x80:  # int8_t(c) sign-extends to 0xFFFFFFxx before the xor
            byte |= 0xFFFFFF00
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


def ngrams(word, minn=3, maxn=6):
    """The character n-grams of ``<word>`` in fastText's order (by start, then length).

    Single characters at the word boundary (``<`` and ``>`` alone) are never n-grams;
    with ``maxn == 0`` (or ``maxn < minn``) a word has none.
    """
    if maxn <= 0 or maxn < minn:
        return []
    wrapped = BOW + word + EOW
    size = len(wrapped)
    out = []
    for i in range(size):
        for n in range(1, maxn + 1):
            j = i + n
            if j > size:
                break
            if n >= minn and not (n == 1 and (i == 0 or j == size)):
                out.append(wrapped[i:j])
    return out


def ngram_buckets(word, minn=3, maxn=6, bucket=2_000_000):
    """Bucket number (``hash % bucket``) of every n-gram of ``word``, in order."""
    if bucket <= 0:
        return []
    return [fasttext_hash(g) % bucket for g in ngrams(word, minn, maxn)]


def subword_rows(word, index, nwords, minn=3, maxn=6, bucket=2_000_000):
    """Rows of the input matrix that make up ``word``: its own row first when it is in the
    vocabulary (``index``), then ``nwords + bucket`` for each n-gram."""
    rows = []
    wid = index.get(word)
    if wid is not None:
        rows.append(wid)
        if word == EOS:
            return rows
    rows.extend(nwords + b for b in ngram_buckets(word, minn, maxn, bucket))
    return rows


def subword_csr(words, minn=3, maxn=6, bucket=2_000_000):
    """Every vocabulary word's input rows as CSR arrays ``(indptr int64, indices int32)``.

    Computed in the kernel; the result equals ``subword_rows`` for each word.
    """
    from staticvec import _kernels

    kernel = _kernels.load("fasttext")
    encoded = [w.encode("utf-8") for w in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8) if offsets[-1] else np.zeros(1, np.uint8)
    eos = words.index(EOS) if EOS in words else -1
    return kernel.subword_csr(buf, offsets, len(words), minn, maxn, bucket, eos)


def compose(input_matrix, indptr, indices):
    """Mean of each word's input rows, summed in float32 row by row as fastText does."""
    from staticvec import _kernels

    kernel = _kernels.load("fasttext")
    out = np.zeros((len(indptr) - 1, input_matrix.shape[1]), dtype=np.float32)
    kernel.compose(input_matrix, indptr, indices, out)
    return out


class FastTextVectors(Vectors):
    """Vectors of a fastText model: the composed word vectors, plus the n-gram buckets
    that give unseen and misspelled words a vector.

    ``matrix`` holds the composed vector (mean of word row and n-gram rows) of every
    vocabulary word, so ranking and normalisation work as for any other model;
    ``input_matrix`` (``nwords + bucket`` rows) and ``output_matrix`` are the raw model,
    kept so it can be written back as a Facebook ``.bin``.
    """

    def __init__(self, words, matrix, counts=None, *, input_matrix, output_matrix=None,
                 minn=3, maxn=6, bucket=2_000_000, args=None):
        super().__init__(words, matrix, counts)
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
        nwords = len(self.words)
        return [nwords + b for b in ngram_buckets(word, self.minn, self.maxn, self.bucket)]

    def has_vector(self, word):
        return word in self.index or bool(self.ngram_rows(word))

    def vector(self, word, norm=False):
        """In-vocabulary: the composed row. Unseen: the mean of its n-gram rows, as
        fastText's get_word_vector. A word with neither is unknown (fastText would give a
        zero vector, whose "neighbours" would all score 0)."""
        if word in self.index:
            return super().vector(word, norm=norm)
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
