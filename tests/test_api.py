"""The Python library (``import staticvec``): load, the KeyedVectors-style queries checked
against gensim on the same file, batch queries, training from token lists, convert,
print-vectors against the fastText binding, and the API's errors."""
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

import staticvec
from staticvec.errors import BadOptionError, InputError, StaticvecError, UnknownWordError

from conftest import assert_fails_cleanly, run_cli, snapshot

WORDS = [f"w{i}" for i in range(300)] + ["king", "queen", "man", "woman", "paris", "france"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The same random vectors as word2vec text and binary."""
    folder = tmp_path_factory.mktemp("api")
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(len(WORDS), 16)).astype(np.float32)
    staticvec.Vectors(WORDS, matrix).save(folder / "v.txt")
    staticvec.Vectors(WORDS, matrix).save(folder / "v.bin")
    return folder


@pytest.fixture(scope="module")
def gensim_kv(model):
    kv = pytest.importorskip("gensim.models").KeyedVectors
    return kv.load_word2vec_format(str(model / "v.bin"), binary=True)


def _same(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_import_is_light():
    code = ("import sys, staticvec; assert 'typer' not in sys.modules and 'rich' not in "
            "sys.modules and 'numpy' not in sys.modules; staticvec.load; "
            "assert 'typer' not in sys.modules and 'rich' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mapping_protocol_and_gensim_names(model):
    v = staticvec.load(model / "v.bin")
    assert isinstance(v, staticvec.Vectors) and len(v) == len(WORDS) and "king" in v
    assert "nope" not in v
    assert v.words == v.index_to_key == WORDS and v.key_to_index["king"] == WORDS.index("king")
    assert v.vectors.dtype == np.float32 and v.vectors.shape == (len(WORDS), 16)
    assert v.vector_size == 16
    with pytest.raises(ValueError):
        v.vectors[0, 0] = 1.0  # a read-only view
    assert (v["king"] == v.vectors[WORDS.index("king")]).all()
    assert v[["king", "man"]].shape == (2, 16)
    unit = v.get_vector("king", norm=True)
    assert np.isclose(np.linalg.norm(unit), 1.0, atol=1e-6)
    with pytest.raises(KeyError) as caught:
        v["nope"]
    assert isinstance(caught.value, UnknownWordError) and isinstance(caught.value, StaticvecError)
    assert str(caught.value) == "unknown word: 'nope' is not in the model's vocabulary"


@pytest.mark.parametrize("name", ["v.txt", "v.bin"])
def test_queries_agree_with_gensim(model, gensim_kv, name):
    v = staticvec.load(model / name)
    kv = gensim_kv
    _same(v.most_similar("king", topn=10), kv.most_similar("king", topn=10))
    _same(v.most_similar(positive=["king", "woman"], negative=["man"], topn=5),
          kv.most_similar(positive=["king", "woman"], negative=["man"], topn=5))
    _same(v.most_similar(positive=["paris"], topn=7, restrict_vocab=100),
          kv.most_similar(positive=["paris"], topn=7, restrict_vocab=100))
    _same(v.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=5),
          kv.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=5))
    for a, b in (("king", "queen"), ("man", "paris"), ("w1", "w2")):
        assert abs(v.similarity(a, b) - float(kv.similarity(a, b))) < 1e-5
    for group in (["king", "queen", "man", "paris"], ["w3", "w7", "france", "w9", "woman"]):
        assert v.doesnt_match(group) == kv.doesnt_match(group)


@pytest.mark.parametrize("name", ["v.txt", "v.bin", "v.txt.gz", "v.bin.xz"])
def test_limit_reads_the_same_first_rows_as_gensim(model, gensim_kv, name, tmp_path):
    path = model / name
    if not path.exists():
        staticvec.convert(model / name.rsplit(".", 1)[0], path)
    kv = pytest.importorskip("gensim.models").KeyedVectors.load_word2vec_format(
        str(model / "v.bin"), binary=True, limit=25)
    v = staticvec.load(path, limit=25)
    assert v.words == kv.index_to_key
    assert (v.vectors == kv.vectors).all()
    assert staticvec.load(path, limit=10_000).words == WORDS  # more than the file: all of it


def _lying_header(tmp_path, binary):
    """A file whose header claims 1,000 rows but which holds 3 (as limit may stop early)."""
    rows = [("a", [1.0, 2.0]), ("b", [3.0, 4.0]), ("c", [5.0, 6.0])]
    data = b"1000 2\n" + b"".join(
        w.encode() + b" " + (np.array(x, "<f4").tobytes() if binary
                             else " ".join(map(str, x)).encode()) + b"\n" for w, x in rows)
    path = tmp_path / ("lying.bin" if binary else "lying.txt")
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("binary", [False, True])
def test_limit_stops_before_a_header_that_claims_more(tmp_path, binary):
    path = _lying_header(tmp_path, binary)
    assert staticvec.load(path, limit=2).words == ["a", "b"]
    assert staticvec.load(path, limit=3).words == ["a", "b", "c"]
    with pytest.raises(staticvec.FormatError, match="truncated"):
        staticvec.load(path, limit=4)


def test_limit_does_not_read_the_rest_of_the_file(tmp_path):
    """The tail of a big file is garbage: a limited load never gets to it."""
    path = tmp_path / "big.txt"
    with open(path, "wb") as out:
        out.write(b"100000 2\n" + b"".join(b"w%d 1 2\n" % i for i in range(5))
                  + b"\xff\x00garbage\n" * 2_000_000)
    with pytest.raises(staticvec.FormatError):
        staticvec.load(path, format="text")
    assert staticvec.load(path, limit=5, format="text").words == [f"w{i}" for i in range(5)]


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_a_bad_limit_is_a_bad_option(model, bad):
    with pytest.raises(BadOptionError, match=r"--limit must be an integer >= 1"):
        staticvec.load(model / "v.txt", limit=bad)


def test_batch_most_similar_equals_one_query_at_a_time(model):
    v = staticvec.load(model / "v.bin")
    queries = ["king", "paris", ["king", "woman"], "w5"]
    batch = v.most_similar_batch(queries, topn=6)
    for query, answer in zip(queries, batch):
        _same(answer, v.most_similar(query, topn=6))
    restricted = v.most_similar_batch(["king"], topn=3, restrict_vocab=50)[0]
    _same(restricted, v.most_similar("king", topn=3, restrict_vocab=50))
    with pytest.raises(UnknownWordError):
        v.most_similar_batch(["king", "nope"])


def test_save_is_atomic_by_extension_and_compressed(model, tmp_path):
    v = staticvec.load(model / "v.txt")
    v.save(tmp_path / "out.txt.gz")
    assert gzip.decompress((tmp_path / "out.txt.gz").read_bytes()) == (model / "v.txt").read_bytes()
    with pytest.raises(BadOptionError, match="cannot tell the vectors format"):
        v.save(tmp_path / "out.dat")
    assert os.listdir(tmp_path) == ["out.txt.gz"]


# ---------------------------------------------------------------- training from Python
def _sentences():
    rng = np.random.default_rng(3)
    vocab = [f"t{i}" for i in range(40)]
    return [[vocab[j] for j in rng.integers(0, 40, size=rng.integers(3, 12))]
            for _ in range(400)]


SMALL = dict(dim=12, epochs=2, min_count=1, threads=1, seed=3, no_cache=True)


@pytest.mark.parametrize("trainer, extra", [
    ("train_skipgram", {}), ("train_cbow", {}),
    ("train_glove", {"memory": 0.01, "epochs": 3}),
    ("train_fasttext", {"bucket": 500}),
])
def test_training_from_token_lists_equals_training_from_a_file(tmp_path, trainer, extra):
    sentences = _sentences()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    train = getattr(staticvec, trainer)
    options = dict(SMALL, **extra)
    from_file = train(str(corpus), **options)
    from_lists = train((s for s in sentences), **options)  # a generator: read once
    assert from_file.words == from_lists.words
    assert (from_file.vectors == from_lists.vectors).all()
    assert os.listdir(tmp_path) == ["corpus.txt"]  # nothing left behind
    if trainer == "train_fasttext":
        assert isinstance(from_lists, staticvec.FastTextVectors)
        assert from_lists.get_vector("t1zz").shape == (12,)  # unseen: n-gram vector


def test_training_writes_output_when_asked_and_passes_progress(tmp_path):
    calls = []
    v = staticvec.train_skipgram(_sentences(), output=tmp_path / "v.bin", **SMALL,
                                 progress=lambda stage, done, total, **f: calls.append(stage))
    assert staticvec.load(tmp_path / "v.bin").words == v.words
    assert calls and all(isinstance(stage, str) for stage in calls)


@pytest.mark.parametrize("call, error, message", [
    (lambda: staticvec.train_skipgram([["a"]], dimm=3), BadOptionError,
     "train_skipgram: unknown option 'dimm' (did you mean dim?)"),
    (lambda: staticvec.train_cbow([["a"]], quiet=True), BadOptionError,
     "train_cbow: unknown option 'quiet' (the library prints nothing: see the logging module "
     "and progress=)"),
    (lambda: staticvec.train_glove([["a"]], dim="8"), BadOptionError,
     "--dim must be an integer (got '8')"),
    (lambda: staticvec.train_fasttext([["a"]], min_count=0), BadOptionError,
     "--min-count must be an integer in [1, 9223372036854775807] (got 0)"),
    (lambda: staticvec.train_skipgram([["a"]], window=0), BadOptionError,
     "--window must be an integer in [1, 2147483647] (got 0)"),
    (lambda: staticvec.train_skipgram(["the cat", "sat"] * 0 + [["ok"], "the cat"]), InputError,
     "corpus sentence 2 is a string, not a list of tokens (split it: 'the cat'.split())"),
    (lambda: staticvec.train_skipgram([["a b"]]), InputError,
     "corpus sentence 1: token 'a b' is empty or contains whitespace"),
    (lambda: staticvec.train_skipgram("no-such-file.txt"), InputError,
     "cannot read no-such-file.txt: no such file"),
    (lambda: staticvec.train_skipgram([["a"]], output="-"), BadOptionError, None),
])
def test_api_errors_are_project_errors(call, error, message):
    with pytest.raises(error) as caught:
        call()
    if message is not None:
        assert str(caught.value) == message


# ---------------------------------------------------------------- convert
def test_convert_round_trips_byte_exact(model, tmp_path):
    staticvec.convert(model / "v.txt", tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == (model / "v.bin").read_bytes()
    staticvec.convert(tmp_path / "a.bin", tmp_path / "b.txt")
    assert (tmp_path / "b.txt").read_bytes() == (model / "v.txt").read_bytes()
    result = run_cli("convert", str(tmp_path / "b.txt"), str(tmp_path / "c.bin.gz"), "-q")
    assert result.returncode == 0 and result.stderr == ""
    result = run_cli("convert", str(tmp_path / "c.bin.gz"), str(tmp_path / "d.vec"),
                     "--format-in", "binary", "-q")
    assert (tmp_path / "d.vec").read_bytes() == (model / "v.txt").read_bytes()


def test_convert_limit_and_normalize(model, tmp_path):
    result = run_cli("convert", str(model / "v.bin"), str(tmp_path / "n.txt"), "--limit", "5",
                     "--normalize")
    assert result.returncode == 0
    assert result.stderr == f"wrote 5 unit vectors of 16 dims to {tmp_path / 'n.txt'}\n"
    v = staticvec.load(tmp_path / "n.txt")
    assert v.words == WORDS[:5]
    assert np.allclose(np.linalg.norm(v.vectors, axis=1), 1.0, atol=1e-6)
    result = run_cli("convert", str(model / "v.txt"), str(tmp_path / "t.bin"), "--format-out",
                     "text", "-q")
    assert (tmp_path / "t.bin").read_bytes() == (model / "v.txt").read_bytes()


# ---------------------------------------------------------------- hostile: new options/commands
def test_convert_onto_its_input_is_refused(tmp_path, model):
    (tmp_path / "v.txt").write_bytes((model / "v.txt").read_bytes())
    os.symlink("v.txt", tmp_path / "link.txt")
    before = snapshot(tmp_path)
    for out in ("v.txt", "link.txt"):
        result = run_cli("convert", "v.txt", out, "-q", cwd=tmp_path)
        assert_fails_cleanly(result, 2, f"OUT {out} is the same file as IN v.txt")
        assert result.stdout == ""
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("args, message", [
    (["convert", "v.txt", "o.bin", "--format-out", "hdf5"],
     "invalid value for --format-out: 'hdf5' (choose from binary, text)"),
    (["convert", "v.txt", "o.bin", "--format-in", "glove"],
     "invalid value for --format-in: 'glove' (choose from binary, text, fasttext, store)"),
    (["convert", "v.txt", "o.dat"],
     "cannot tell the vectors format of o.dat from its extension: use .bin (word2vec binary) "
     "or .txt/.vec (text)"),
    (["nearest", "king", "-m", "v.txt", "--limit", "0"],
     "Invalid value for '--limit': Input should be greater than or equal to 1 (see "
     "'staticvec nearest --help')"),
    (["print-vectors", "king", "-m", "v.txt", "--limit", "x"],
     "Invalid value for '--limit': Input should be a valid integer, unable to parse string as "
     "an integer (see 'staticvec print-vectors --help')"),
    (["convert", "v.txt", "o.txt", "--limit", "-1"],
     "Invalid value for '--limit': Input should be greater than or equal to 1 (see "
     "'staticvec convert --help')"),
])
def test_bad_convert_and_limit_options(tmp_path, model, args, message):
    (tmp_path / "v.txt").write_bytes((model / "v.txt").read_bytes())
    before = snapshot(tmp_path)
    result = run_cli(*args, cwd=tmp_path)
    assert_fails_cleanly(result, 2, message)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [
    ["nearest", "king", "-k", "3"], ["analogy", "king", "man", "woman"],
    ["evaluate", "similarity", "pairs.txt"], ["evaluate", "analogy", "questions.txt"],
    ["bias-audit", "--only", "direction", "-q"], ["print-vectors", "king"]])
def test_limit_on_every_command_that_loads_a_model(tmp_path, model, command):
    """--limit 300 keeps only the w* words: the named words are then unknown (or OOV)."""
    (tmp_path / "pairs.txt").write_text("king queen 9\nman woman 8\nw1 w2 1\nw3 w4 2\n")
    (tmp_path / "questions.txt").write_text(": s\nking man queen woman\nw1 w2 w3 w4\n")
    full = run_cli(*command, "-m", str(model / "v.bin"), cwd=tmp_path)
    limited = run_cli(*command, "-m", str(model / "v.bin"), "--limit", "300", cwd=tmp_path)
    if command[0] in ("nearest", "analogy", "print-vectors"):
        assert full.returncode == 0
        assert_fails_cleanly(limited, 3, pattern=r"staticvec: error: unknown word: '(king|man|"
                                                 r"woman)' is not in the model's vocabulary")
    else:
        assert full.returncode == limited.returncode == 0, limited.stderr
        assert full.stdout != limited.stdout


def test_print_vectors_prints_known_words_and_one_line_per_unknown_word(model):
    result = run_cli("print-vectors", "-m", str(model / "v.txt"), "king", "nope", "w1")
    assert_fails_cleanly(result, 3, "unknown word: 'nope' is not in the model's vocabulary")
    lines = result.stdout.splitlines()
    text = (model / "v.txt").read_text().splitlines()
    assert lines == [text[1 + WORDS.index("king")], "nope", text[1 + WORDS.index("w1")]]


def test_print_vectors_reads_stdin_and_keeps_blank_lines(model):
    result = run_cli("print-vectors", "-m", str(model / "v.bin"), stdin="w2\n\nw3 w4\n")
    assert result.returncode == 0, result.stderr
    text = (model / "v.txt").read_text().splitlines()
    assert result.stdout.splitlines() == [text[3], "", text[4], text[5]]


def test_print_vectors_oov_matches_the_fasttext_binding(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(" ".join(s) + "\n" for s in _sentences()), encoding="utf-8")
    staticvec.train_fasttext(str(corpus), output=tmp_path / "m", dim=10, epochs=1, min_count=1,
                             threads=1, bucket=1000, no_cache=True)
    words = ["t1", "t39", "t1x", "zzt3", "éléphant", "tt"]
    result = run_cli("print-vectors", "-m", str(tmp_path / "m.bin"), *words)
    assert result.returncode == 0, result.stderr
    ft = fasttext.load_model(str(tmp_path / "m.bin"))
    for word, line in zip(words, result.stdout.splitlines()):
        fields = line.split(" ")
        assert fields[0] == word
        assert np.allclose(np.array(fields[1:], dtype=np.float32), ft.get_word_vector(word),
                           atol=1e-5)
    # a fastText model loaded with a limit keeps the exact vectors of the words left out
    v = staticvec.load(tmp_path / "m.bin", limit=3)
    assert len(v) == 3 and "t39" not in v.words
    assert np.allclose(v.get_vector("t39"), ft.get_word_vector("t39"), atol=1e-5)
