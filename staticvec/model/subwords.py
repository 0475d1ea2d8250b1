"""fastText's subword scheme, bit for bit: n-grams, their buckets, a word's rows, and the
word vector composed from them (``FastTextVectors`` in ``fasttext.py`` answers queries with it).

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


def ngram_count_bound(words, minn, maxn, bucket):
    """An upper bound on the n-grams of all ``words`` (computed from their byte lengths), to
    refuse a damaged model before the n-gram lists are sized from it."""
    if maxn <= 0 or maxn < minn or bucket <= 0:
        return 0
    length = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words)) + 2
    top = np.minimum(length, maxn)
    count = np.where(top >= minn, (top - minn + 1) * (2 * length + 2 - minn - top) // 2, 0)
    return int(count.sum())
