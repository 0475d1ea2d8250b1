"""Properties of the word2vec formats over random vocabularies (Hypothesis).

write -> read is the identity (words in order, float32 matrix bit for bit) for binary and
text, with the format forced and sniffed; text -> binary -> text and binary -> text ->
binary are byte-exact; a .gz/.bz2/.xz copy of a written file reads back the same.
The writers have no compressed output yet (``save_vectors`` refuses ``v.bin.gz``), so
compression is applied here and only the reading side is checked.
"""
import bz2
import gzip
import lzma
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from staticvec.io.dispatch import load_vectors, save_vectors

# The formats split on ASCII whitespace (bytes.split): no such byte may be inside a word.
# Every other code point is fair game, Unicode spaces such as U+3000 or U+0085 included.
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_SPECIAL = ["\U0001f600", "\U0001d518", "\U00010348", "e\u0301", "\u0301", "\u200d", "\ufeff",
            "\u3000", "\u0085", "\u2028", "\x00", "\x7f", "</s>", "ß", "İ", "ﬃ"]

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters=_ASCII_SPACE)
_plain_words = st.text(alphabet=_chars, min_size=1, max_size=12)
_special_words = st.lists(st.sampled_from(_SPECIAL) | _chars, min_size=1, max_size=6).map("".join)
_long_words = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "\U0001f600", "\u0301"]),
                        st.integers(200, 3000))
_numeric_words = st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,4})?([eE]-?[0-9]{1,3})?", fullmatch=True) \
    | st.sampled_from(["nan", "inf", "-inf", "-0", "0x1p3", "1_000", "NaN"])
words_strategy = st.lists(_plain_words | _special_words | _long_words | _numeric_words,
                          min_size=1, max_size=12, unique=True)

_values = st.floats(width=32, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38,
     16777217.0, 1e-4, 9.999999e-5])


@st.composite
def vocabularies(draw):
    words = draw(words_strategy)
    dim = draw(st.integers(1, 6))
    values = draw(st.lists(_values, min_size=len(words) * dim, max_size=len(words) * dim))
    return words, np.array(values, dtype=np.float32).reshape(len(words), dim)


_EXT = {"binary": ".bin", "text": ".txt"}
SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _assert_same(vectors, words, matrix):
    assert vectors.words == words
    assert vectors.matrix.dtype == np.float32
    assert vectors.matrix.shape == matrix.shape
    assert vectors.matrix.tobytes() == matrix.tobytes()  # bit for bit: -0.0, subnormals


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


@SETTINGS
@given(vocabularies(), st.sampled_from(["binary", "text"]))
def test_write_then_read_is_identity(vocab, fmt):
    words, matrix = vocab
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v" + _EXT[fmt])
        save_vectors((words, matrix), path, fmt=fmt)
        _assert_same(load_vectors(path, fmt=fmt), words, matrix)
        _assert_same(load_vectors(path), words, matrix)  # the format sniffed from the content


@SETTINGS
@given(vocabularies(), st.sampled_from([("text", "binary"), ("binary", "text")]))
def test_conversion_there_and_back_is_byte_exact(vocab, formats):
    """text -> binary -> text and binary -> text -> binary give the first file's bytes."""
    outer, inner = formats
    with tempfile.TemporaryDirectory() as tmp:
        first, middle, last = (os.path.join(tmp, name + _EXT[fmt])
                               for name, fmt in (("a", outer), ("b", inner), ("c", outer)))
        save_vectors(vocab, first, fmt=outer)
        save_vectors(load_vectors(first, fmt=outer), middle, fmt=inner)
        save_vectors(load_vectors(middle, fmt=inner), last, fmt=outer)
        assert _read(last) == _read(first)


_COMPRESS = {".gz": lambda b: gzip.compress(b, mtime=0), ".bz2": bz2.compress,
             ".xz": lzma.compress}


@settings(SETTINGS, max_examples=30)
@given(vocabularies(), st.sampled_from(["binary", "text"]), st.sampled_from(sorted(_COMPRESS)))
def test_compressed_copy_reads_back_the_same(vocab, fmt, ext):
    words, matrix = vocab
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, "v" + _EXT[fmt])
        save_vectors((words, matrix), plain, fmt=fmt)
        packed = plain + ext
        with open(packed, "wb") as handle:
            handle.write(_COMPRESS[ext](_read(plain)))
        _assert_same(load_vectors(packed, fmt=fmt), words, matrix)
        _assert_same(load_vectors(packed), words, matrix)
