"""Vectors queries against a float64 numpy reference and against gensim itself."""
import numpy as np
import pytest

from staticvec.errors import UnknownWordError
from staticvec.model.similarity import ZeroVectorError, top_indices
from staticvec.model.vectors import Vectors


def _model(n=400, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n)]
    return Vectors(words, rng.standard_normal((n, dim)).astype(np.float32))


def _unit64(matrix):
    m = matrix.astype(np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def _ref_add(vectors, positive, negative, topn, restrict=None):
    unit = _unit64(vectors.matrix)
    idx = vectors.index
    query = unit[[idx[w] for w in positive]].sum(0) - unit[[idx[w] for w in negative]].sum(0)
    query /= np.linalg.norm(query)
    end = restrict or len(unit)
    scores = unit[:end] @ query
    skip = {idx[w] for w in positive + negative}
    order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in skip][:topn]
    return [(vectors.words[i], scores[i]) for i in order]


def _ref_mul(vectors, positive, negative, topn, restrict=None):
    unit = _unit64(vectors.matrix)
    idx = vectors.index
    end = restrict or len(unit)
    shifted = lambda w: (1 + unit[:end] @ unit[idx[w]]) / 2  # noqa: E731
    num = np.prod([shifted(w) for w in positive], axis=0)
    den = np.prod([shifted(w) for w in negative], axis=0) if negative else 1.0
    scores = num / (den + 1e-6)
    skip = {idx[w] for w in positive + negative}
    order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in skip][:topn]
    return [(vectors.words[i], scores[i]) for i in order]


def _same(ours, reference, tol=1e-5):
    assert [w for w, _ in ours] == [w for w, _ in reference]
    assert all(isinstance(s, float) for _, s in ours)
    assert max(abs(a - b) for (_, a), (_, b) in zip(ours, reference)) < tol


def test_most_similar_and_cosmul_match_float64_reference():
    vectors = _model()
    rng = np.random.default_rng(1)
    for _ in range(60):
        a, b, c = (vectors.words[i] for i in rng.choice(len(vectors), 3, replace=False))
        _same(vectors.most_similar([a], topn=10), _ref_add(vectors, [a], [], 10))
        _same(vectors.most_similar([a, c], [b], topn=7), _ref_add(vectors, [a, c], [b], 7))
        _same(vectors.most_similar([a, c], [b], topn=5, restrict_vocab=100),
              _ref_add(vectors, [a, c], [b], 5, restrict=100))
        _same(vectors.most_similar_cosmul([a, c], [b], topn=7), _ref_mul(vectors, [a, c], [b], 7))
        _same(vectors.most_similar_cosmul([a], topn=5, restrict_vocab=50),
              _ref_mul(vectors, [a], [], 5, restrict=50))
        _same(vectors.analogy(a, b, c, topn=5), _ref_add(vectors, [a, c], [b], 5))
        _same(vectors.analogy(a, b, c, topn=5, method="mul"), _ref_mul(vectors, [a, c], [b], 5))
        assert vectors.similarity(a, b) == pytest.approx(_unit64(vectors.matrix)[vectors.index[a]]
                                                         @ _unit64(vectors.matrix)[vectors.index[b]],
                                                         abs=1e-6)


def test_restrict_vocab_only_searches_the_first_words():
    vectors = _model()
    results = vectors.most_similar(["w300"], topn=20, restrict_vocab=30)
    assert len(results) == 20
    assert all(vectors.index[w] < 30 for w, _ in results)
    assert all(vectors.index[w] < 30 for w, _ in vectors.most_similar_cosmul(["w300"], topn=5, restrict_vocab=30))


def test_king_man_woman_is_queen():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((6, 8)).astype(np.float32)
    man, royal, gender = base[0], base[1] * 2, base[2] * 2
    words = ["king", "man", "woman", "queen", "apple", "river"]
    matrix = np.stack([man + royal, man, man + gender, man + royal + gender, base[3], base[4]])
    vectors = Vectors(words, matrix)
    assert vectors.analogy("king", "man", "woman", topn=1)[0][0] == "queen"
    assert vectors.analogy("king", "man", "woman", topn=1, method="mul")[0][0] == "queen"
    # the query words are never answers, even when they are the closest rows
    answers = [w for w, _ in vectors.analogy("king", "man", "woman", topn=3)]
    assert not {"king", "man", "woman"} & set(answers)


def test_unit_rows_norms_and_zero_rows():
    matrix = np.array([[3, 4], [0, 0], [1, 0], [0, -2]], dtype=np.float32)
    vectors = Vectors(["a", "zero", "x", "y"], matrix)
    assert vectors.norms.tolist() == [5.0, 0.0, 1.0, 2.0]
    expected = np.array([[0.6, 0.8], [0, 0], [1, 0], [0, -1]], dtype=np.float32)
    assert vectors.unit.tobytes() == expected.tobytes()
    assert vectors.unit.dtype == np.float32
    assert vectors.unit is vectors.unit  # computed once
    scores = dict(vectors.most_similar(["x"], topn=3))  # a zero row is never an answer
    assert scores == {"a": pytest.approx(0.6), "y": 0.0}
    with pytest.raises(ZeroVectorError, match="'zero' has a zero vector"):
        vectors.most_similar(["zero"])  # nor has it neighbours
    assert vectors.vector("zero", norm=True).tolist() == [0.0, 0.0]
    assert vectors.vector("a", norm=True).tolist() == pytest.approx([0.6, 0.8])


def test_unknown_word_names_the_word():
    vectors = _model(10)
    with pytest.raises(UnknownWordError) as err:
        vectors.most_similar(["w1", "nope"])
    assert err.value.word == "nope"
    assert str(err.value) == "unknown word: 'nope' is not in the model's vocabulary"
    assert err.value.exit_code == 3
    assert not vectors.has_vector("nope") and "w1" in vectors and len(vectors) == 10


def test_top_indices_ties_and_exclusion():
    scores = np.array([0.5, 0.9, 0.9, 0.1, 0.9], dtype=np.float32)
    assert top_indices(scores, 3) == [1, 2, 4]
    assert top_indices(scores, 3, exclude=[2]) == [1, 4, 0]
    assert top_indices(scores, 10) == [1, 2, 4, 0, 3]
    many = np.zeros(1000, dtype=np.float32)
    many[[990, 5, 700]] = 1.0
    assert top_indices(many, 2) == [5, 700]
    assert top_indices(many, 5) == [5, 700, 990, 0, 1]  # the tie at 0 goes to the lowest rows


def test_subclass_answers_for_unseen_words():
    class Composed(Vectors):
        """Stand-in for fastText: any word made of known letters has a vector."""

        def has_vector(self, word):
            return super().has_vector(word) or all(ch in self.index for ch in word)

        def vector(self, word, norm=False):
            if word in self.index or not self.has_vector(word):
                return super().vector(word, norm)
            vec = sum(self.matrix[self.index[ch]] for ch in word)
            return vec / np.linalg.norm(vec) if norm else vec

    rng = np.random.default_rng(3)
    vectors = Composed(list("abcdef"), rng.standard_normal((6, 5)).astype(np.float32))
    results = vectors.most_similar(["ab"], topn=6)
    assert len(results) == 6  # nothing excluded: "ab" is not a row
    expected = _unit64(vectors.matrix) @ (vectors.vector("ab", norm=True).astype(np.float64))
    assert [w for w, _ in results] == [vectors.words[i] for i in np.argsort(-expected)]
    with pytest.raises(UnknownWordError):
        vectors.nearest("xyz")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_matches_gensim_keyedvectors():
    pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    vectors = _model(n=2000, dim=24, seed=4)
    kv = KeyedVectors(24)
    kv.add_vectors(vectors.words, vectors.matrix)
    rng = np.random.default_rng(5)
    for _ in range(40):
        a, b, c = (vectors.words[i] for i in rng.choice(len(vectors), 3, replace=False))
        _same(vectors.most_similar([a], topn=10), kv.most_similar([a], topn=10))
        _same(vectors.most_similar([b, c], [a], topn=10, restrict_vocab=500),
              kv.most_similar([b, c], [a], topn=10, restrict_vocab=500))
        _same(vectors.most_similar_cosmul([a, c], [b], topn=10),
              kv.most_similar_cosmul([a, c], [b], topn=10))
        _same(vectors.most_similar_cosmul([a], topn=10), kv.most_similar_cosmul([a], topn=10))
        assert vectors.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-6)


def test_streamed_queries_equal_loaded_queries(tmp_path, monkeypatch):
    from staticvec.io import word2vec_binary
    from staticvec.io.dispatch import load_vectors, save_vectors
    from staticvec.io.stream import stream_queries

    monkeypatch.setattr(word2vec_binary, "_CHUNK", 512)  # rows cut across chunks and blocks
    vectors = _model(n=300, dim=8, seed=6)
    vectors.matrix[7] = 0.0  # a zero row is never an answer, either way
    save_vectors(vectors, tmp_path / "v.bin")
    loaded = load_vectors(tmp_path / "v.bin")
    queries = [(["w3", "w250"], ["w17"]), (["w299"], []), (["w1", "nope"], ["w2"]), (["w7"], [])]
    for method in ("add", "mul"):
        for restrict in (None, 100):
            streamed = stream_queries(tmp_path / "v.bin", queries, topn=6, restrict_vocab=restrict,
                                      method=method, block_rows=13)
            call = loaded.most_similar if method == "add" else loaded.most_similar_cosmul
            for (pos, neg), answer in zip(queries, streamed):
                if "nope" in pos:
                    assert isinstance(answer, UnknownWordError) and answer.word == "nope"
                    continue
                if "w7" in pos:  # the zero row: no neighbours either way
                    assert isinstance(answer, ZeroVectorError) and answer.word == "w7"
                    with pytest.raises(ZeroVectorError):
                        call(pos, neg, topn=6, restrict_vocab=restrict)
                    continue
                assert answer == call(pos, neg, topn=6, restrict_vocab=restrict)


def test_streaming_declines_what_it_cannot_answer_alike(tmp_path):
    from staticvec.errors import FormatError
    from staticvec.io.dispatch import save_vectors
    from staticvec.io.stream import stream_queries

    vectors = _model(n=20, dim=4, seed=7)
    save_vectors(vectors, tmp_path / "v.txt")
    assert stream_queries(tmp_path / "v.txt", [(["w1"], [])]) is None  # text: load instead
    data = bytearray(b"3 2\n")
    for word in (b"a", b"b", b"a"):
        data += word + b" " + np.ones(2, "<f4").tobytes() + b"\n"
    (tmp_path / "dup.bin").write_bytes(bytes(data))
    assert stream_queries(tmp_path / "dup.bin", [(["b"], [])]) is None  # duplicates: loader warns
    (tmp_path / "cut.bin").write_bytes(bytes(data[:-3]))
    with pytest.raises(FormatError, match="truncated"):
        stream_queries(tmp_path / "cut.bin", [(["b"], [])])
