"""fastText's subword scheme: n-gram lists and hashes against the official implementation,
the kernel's vocabulary-wide lists against the Python reference, and FastTextVectors'
composition of in-vocabulary and unseen words against a float64 numpy recomputation."""
import random

import numpy as np
import pytest

from staticvec.errors import UnknownWordError

from staticvec.model import subwords
from staticvec.model.fasttext import FastTextVectors

# Golden n-grams and 32-bit hashes, produced once with the official binding
# (fasttext-wheel 0.9.2): two skip-gram models were trained on a tiny text with
# minn=3, maxn=6 and bucket=2000000 resp. 1999993; for each word,
# `model.get_subwords(word)` gave the n-grams (in order) and their input-row ids
# (nwords + hash % bucket); the full hash was recovered from the two remainders by the
# Chinese remainder theorem (2000000 and 1999993 are coprime, product > 2^32).
# None of these words was in that model's vocabulary.
GOLDEN = {'computer': [('<co', 1033361509), ('<com', 4262007960), ('<comp', 3494635832),
              ('<compu', 880821303), ('com', 4052603614), ('comp', 4030900202),
              ('compu', 3622690637), ('comput', 611739323), ('omp', 3073336315),
              ('ompu', 3986274442), ('omput', 117323738), ('ompute', 3241263533),
              ('mpu', 3732512791), ('mput', 2625076185), ('mpute', 202885364),
              ('mputer', 2406525682), ('put', 1769118190), ('pute', 2322052561),
              ('puter', 2218979225), ('puter>', 3697230821), ('ute', 932434219),
              ('uter', 3602026267), ('uter>', 538400575), ('ter', 2701248576), ('ter>', 4090404442),
              ('er>', 2962742840)],
 'cat': [('<ca', 1066916747), ('<cat', 453988973), ('<cat>', 3961428137), ('cat', 108289031),
         ('cat>', 1647127995), ('at>', 3848351106)],
 'a': [('<a>', 2359087600)],
 'naïve': [('<na', 1267806890), ('<naï', 785907692), ('<naïv', 1476878190), ('<naïve', 2660933201),
           ('naï', 3249590546), ('naïv', 1297719404), ('naïve', 3440832043), ('naïve>', 4028156687),
           ('aïv', 3608356832), ('aïve', 405223007), ('aïve>', 1723505331), ('ïve', 1813711570),
           ('ïve>', 445788548), ('ve>', 3325088654)],
 'über': [('<üb', 2515793082), ('<übe', 3993664269), ('<über', 964716781), ('<über>', 1478820905),
          ('übe', 924255527), ('über', 238904527), ('über>', 1537599331), ('ber', 1588485366),
          ('ber>', 3564900056), ('er>', 2962742840)],
 '東京': [('<東京', 1770473661), ('<東京>', 2734106169), ('東京>', 3124163715)],
 '日本語テキスト': [('<日本', 3018758587), ('<日本語', 3574004581), ('<日本語テ', 3465355263),
             ('<日本語テキ', 1717034781), ('日本語', 308035559), ('日本語テ', 3482418241),
             ('日本語テキ', 2820377011), ('日本語テキス', 3801491933), ('本語テ', 1397742825),
             ('本語テキ', 3626342811), ('本語テキス', 2594645029), ('本語テキスト', 1457480753),
             ('語テキ', 4258990167), ('語テキス', 1043337721), ('語テキスト', 2514548685),
             ('語テキスト>', 3827717001), ('テキス', 1774473219), ('テキスト', 3142371907),
             ('テキスト>', 1457701575), ('キスト', 4195864509), ('キスト>', 914074425), ('スト>', 2539076623)],
 '😀x': [('<😀x', 2891082798), ('<😀x>', 1438653744), ('😀x>', 2007799594)],
 'café': [('<ca', 1066916747), ('<caf', 151991831), ('<café', 3160794639), ('<café>', 3312017187),
          ('caf', 4168369661), ('café', 1970454601), ('café>', 1520761685), ('afé', 1196960362),
          ('afé>', 2747966012), ('fé>', 3937609697)],
 'straße': [('<st', 1383131652), ('<str', 1036064706), ('<stra', 3656922521),
            ('<straß', 2662000931), ('str', 3259748752), ('stra', 3462102627),
            ('straß', 3649121005), ('straße', 3998610456), ('tra', 2484963910),
            ('traß', 1242733376), ('traße', 3226090303), ('traße>', 3051020947),
            ('raß', 2647840342), ('raße', 2783392329), ('raße>', 2717151573), ('aße', 3392910809),
            ('aße>', 1124031141), ('ße>', 2436679512)],
 'Ωmega': [('<Ωm', 3570713869), ('<Ωme', 1928512184), ('<Ωmeg', 3542664461), ('<Ωmega', 3576613124),
           ('Ωme', 1807046606), ('Ωmeg', 930676491), ('Ωmega', 3178894302), ('Ωmega>', 657279392),
           ('meg', 3232582720), ('mega', 1909381107), ('mega>', 4120754103), ('ega', 1534924012),
           ('ega>', 3622291094), ('ga>', 236373633)],
 'the': [('<th', 1619151151), ('<the', 924409726), ('<the>', 4243648960), ('the', 3020861980),
         ('the>', 2502060934), ('he>', 3098816280)],
 'fox': [('<fo', 1034200152), ('<fox', 707681888), ('<fox>', 3305016826), ('fox', 3069416270),
         ('fox>', 1903237456), ('ox>', 1930339652)]}


def plain_fnv1a(data):
    """FNV-1a without fastText's sign extension: what a textbook implementation gives."""
    h = 2166136261
    for byte in data:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


@pytest.mark.parametrize("word", list(GOLDEN))
def test_ngrams_and_hashes_equal_fasttext(word):
    assert subwords.ngrams(word, 3, 6) == [g for g, _ in GOLDEN[word]]
    assert [subwords.fasttext_hash(g) for g, _ in GOLDEN[word]] == [h for _, h in GOLDEN[word]]
    assert subwords.ngram_buckets(word, 3, 6, 2_000_000) == [h % 2_000_000 for _, h in GOLDEN[word]]


def test_signed_char_quirk_matters_for_non_ascii_only():
    assert subwords.fasttext_hash("cat") == plain_fnv1a(b"cat")
    # a textbook FNV-1a puts every n-gram with a non-ASCII byte in another bucket
    for gram, h in GOLDEN["naïve"]:
        raw = gram.encode("utf-8")
        assert (h == plain_fnv1a(raw)) == raw.isascii()


def test_ngrams_count_characters_not_bytes():
    # "東京" is 2 characters (6 bytes): <東京> has only 3 n-grams of 3..6 characters
    assert subwords.ngrams("東京", 3, 6) == ["<東京", "<東京>", "東京>"]
    assert subwords.ngrams("ab", 1, 2) == ["<a", "a", "ab", "b", "b>"]  # no lone < or >
    assert subwords.ngrams("word", 3, 0) == []
    assert subwords.ngrams("word", 5, 4) == []


def test_subword_rows_put_the_word_row_first():
    index = {"the": 0, "fox": 1}
    rows = subwords.subword_rows("fox", index, 2, 3, 6, 1000)
    assert rows[0] == 1
    assert rows[1:] == [2 + subwords.fasttext_hash(g) % 1000 for g in subwords.ngrams("fox")]
    assert subwords.subword_rows("foxes", index, 2, 3, 6, 1000)[0] >= 2  # unseen: n-grams only
    assert subwords.subword_rows("</s>", {"</s>": 0}, 1, 3, 6, 1000) == [0]  # never split


def _random_words(rng, n):
    pool = "abcdeé ßΩжж東京😀x".replace(" ", "")
    return list(dict.fromkeys("".join(rng.choice(pool) for _ in range(rng.randint(0, 9)))
                              for _ in range(n)))


@pytest.mark.parametrize("minn,maxn,bucket", [(3, 6, 2_000_000), (1, 3, 97), (2, 2, 10),
                                              (3, 0, 1000), (5, 5, 1)])
def test_kernel_lists_equal_python_reference(minn, maxn, bucket):
    words = _random_words(random.Random(minn * 10 + maxn), 300) + ["</s>"]
    index = {w: i for i, w in enumerate(words)}
    indptr, indices = subwords.subword_csr(words, minn, maxn, bucket)
    assert indptr.dtype == np.int64 and indices.dtype == np.int32
    for i, word in enumerate(words):
        expected = subwords.subword_rows(word, index, len(words), minn, maxn, bucket)
        assert indices[indptr[i]:indptr[i + 1]].tolist() == expected, word


def _model(words, dim=8, minn=3, maxn=6, bucket=50, seed=0):
    rng = np.random.default_rng(seed)
    wi = rng.standard_normal((len(words) + (bucket if maxn else 0), dim)).astype(np.float32)
    indptr, indices = subwords.subword_csr(words, minn, maxn, bucket if maxn else 0)
    matrix = subwords.compose(wi, indptr, indices)
    return FastTextVectors(words, matrix, input_matrix=wi, minn=minn, maxn=maxn,
                                    bucket=bucket), wi


def test_vectors_compose_words_and_unseen_words():
    words = ["computer", "compute", "music", "东西"]
    vectors, wi = _model(words)
    wi64 = wi.astype(np.float64)
    for i, word in enumerate(words):
        rows = [i] + [4 + subwords.fasttext_hash(g) % 50 for g in subwords.ngrams(word)]
        np.testing.assert_allclose(vectors.vector(word), wi64[rows].mean(axis=0), atol=1e-6)
    rows = [4 + subwords.fasttext_hash(g) % 50 for g in subwords.ngrams("computr")]
    expected = wi64[rows].mean(axis=0)
    assert "computr" not in vectors and vectors.has_vector("computr")
    np.testing.assert_allclose(vectors.vector("computr"), expected, atol=1e-6)
    np.testing.assert_allclose(vectors.vector("computr", norm=True),
                               expected / np.linalg.norm(expected), atol=1e-6)
    # queries about an unseen word go through its n-grams; it is not excluded from answers
    unit = vectors.unit.astype(np.float64)
    best = int(np.argmax(unit @ (expected / np.linalg.norm(expected))))
    assert vectors.most_similar("computr", topn=1)[0][0] == words[best]


def test_unseen_word_without_ngrams_is_unknown(capsys):
    vectors, _ = _model(["alpha", "beta"], maxn=0)
    assert not vectors.has_vector("gamma")
    with pytest.raises(UnknownWordError) as err:
        vectors.vector("gamma")
    assert str(err.value) == ("unknown word: 'gamma' is not in the model's vocabulary and has no "
                              "character n-gram (n-grams of 3-0 characters, 50 buckets)")
    with pytest.raises(UnknownWordError):
        vectors.most_similar("gamma")
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(vectors.vector("alpha"), vectors.input_matrix[0])
