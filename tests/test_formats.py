"""Vector file formats: golden bytes, round trips, dialects, and every kind of damage."""
import bz2
import gzip
import logging
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from staticvec.io import dispatch as formats
from staticvec.io import sniff, word2vec_binary
from staticvec.io.fasttext_bin import MAGIC as FASTTEXT_MAGIC
from staticvec.errors import BadOptionError, FormatError, InputError, OutputError
from staticvec.io.dispatch import detect_format, load_vectors, save_vectors
from staticvec.model.vectors import Vectors

WORDS = ["</s>", "the", "café"]
MATRIX = np.array([[1.0, -2.5], [0.25, 3.0e-3], [-0.0, 1234.5]], dtype=np.float32)


def _golden_binary():
    # word2vec C, -binary 1: fprintf("%lld %lld\n"); per word fprintf("%s ", word),
    # fwrite of each float (little-endian float32 here), fprintf("\n")
    return (b"3 2\n"
            + b"</s> " + struct.pack("<ff", 1.0, -2.5) + b"\n"
            + b"the " + struct.pack("<ff", 0.25, 3.0e-3) + b"\n"
            + "café".encode("utf-8") + b" " + struct.pack("<ff", -0.0, 1234.5) + b"\n")


def test_binary_output_is_word2vec_c_golden_bytes(tmp_path):
    path = tmp_path / "v.bin"
    save_vectors((WORDS, MATRIX), path)
    assert path.read_bytes() == _golden_binary()


def test_text_output_golden_bytes(tmp_path):
    # shortest decimal that reads back to the same float32 (gensim's text writer)
    path = tmp_path / "v.txt"
    save_vectors(Vectors(WORDS, MATRIX), path)
    assert path.read_bytes() == ("3 2\n</s> 1.0 -2.5\nthe 0.25 0.003\ncafé -0.0 1234.5\n").encode()


def test_golden_binary_reads_back(tmp_path):
    path = tmp_path / "golden.bin"
    path.write_bytes(_golden_binary())
    vectors = load_vectors(path)
    assert vectors.words == WORDS
    assert vectors.matrix.dtype == np.float32
    assert vectors.matrix.tobytes() == MATRIX.tobytes()  # -0.0 kept bit for bit
    assert vectors.norms.tobytes() == np.linalg.norm(MATRIX, axis=1).tobytes()


def _awkward_matrix(rng, n=200, dim=7):
    m = rng.standard_normal((n, dim)).astype(np.float32) * 10.0 ** rng.integers(-6, 6, (n, dim))
    m[0, :4] = [np.float32(1e-45), np.float32(3.4e38), -0.0, np.float32(16777217.0)]
    m[1, :3] = [np.float32(1e-5), np.float32(123456.789), np.float32(-1.1754944e-38)]
    return m.astype(np.float32)


def test_round_trips_are_byte_exact(tmp_path):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(200)]
    words[5] = "naïve"
    words[6] = "日本語"
    matrix = _awkward_matrix(rng)
    save_vectors((words, matrix), tmp_path / "a.txt")
    save_vectors(load_vectors(tmp_path / "a.txt"), tmp_path / "b.bin")
    save_vectors(load_vectors(tmp_path / "b.bin"), tmp_path / "c.txt")
    save_vectors(load_vectors(tmp_path / "c.txt"), tmp_path / "d.bin")
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "c.txt").read_bytes()
    assert (tmp_path / "b.bin").read_bytes() == (tmp_path / "d.bin").read_bytes()
    back = load_vectors(tmp_path / "d.bin")
    assert back.words == words
    assert back.matrix.tobytes() == matrix.tobytes()


def test_vec_extension_is_text_and_stdout_is_text(tmp_path, capsysbinary):
    save_vectors((WORDS, MATRIX), tmp_path / "v.vec")
    assert (tmp_path / "v.vec").read_bytes().startswith(b"3 2\n</s> 1.0 -2.5\n")
    save_vectors((WORDS, MATRIX), "-")
    assert capsysbinary.readouterr().out == (tmp_path / "v.vec").read_bytes()


@pytest.mark.parametrize("variant", ["avx2", "generic"])
def test_kernel_and_python_scanner_agree(tmp_path, variant):
    import importlib

    from staticvec import _kernels

    if variant == "avx2" and _kernels.VARIANT != "avx2":
        pytest.skip("this CPU has no AVX2+FMA")
    vecio = importlib.import_module(f"staticvec._kernels.{variant}.vecio")
    rng = np.random.default_rng(2)
    words = [f"w{i}" * (i % 5 + 1) for i in range(300)]
    matrix = rng.standard_normal((300, 9)).astype(np.float32)
    save_vectors((words, matrix), tmp_path / "v.bin")
    data = (tmp_path / "v.bin").read_bytes()
    body = data.index(b"\n") + 1
    last = data.rindex(b"\nw299w299") + 1  # the last row starts here
    expected = {len(data): (300, 0), len(data) - 1: (300, 0),  # gensim dialect: no final "\n"
                last: (299, vecio.EOF_BEFORE_WORD), last + 3: (299, vecio.EOF_IN_WORD),
                last + 20 + 1 + 8: (299, vecio.EOF_IN_FLOATS), body + 5: (0, vecio.EOF_IN_FLOATS), body + 1: (0, vecio.EOF_IN_WORD)}
    for cut in expected:
        results = []
        for scanner in (vecio.scan_binary, word2vec_binary._scan_python):
            out = np.zeros((300, 9), np.float32)
            norms = np.zeros(300, np.float32)
            starts = np.zeros(300, np.int64)
            ends = np.zeros(300, np.int64)
            status = scanner(memoryview(data[:cut]), body, 300, 9, out, norms, starts, ends)
            results.append((status, out.tobytes(), starts.tobytes(), ends.tobytes(), norms))
        assert results[0][:4] == results[1][:4]
        rows = results[0][0][0]
        # both give np.linalg.norm's float32 bits (what gensim divides by)
        assert results[0][4][:rows].tobytes() == results[1][4][:rows].tobytes()
        assert results[0][4][:rows].tobytes() == np.linalg.norm(matrix[:rows], axis=1).tobytes()
        rows, _, problem = results[0][0]
        assert (rows, problem) == expected[cut], cut


# ---------------------------------------------------------------- other writers' dialects
def test_reads_gensim_binary_dialect_and_matches_gensim_text(tmp_path):
    pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(50)] + ["straße", "ℕ"]
    matrix = rng.standard_normal((52, 6)).astype(np.float32)
    kv = KeyedVectors(6)
    kv.add_vectors(words, matrix)
    kv.save_word2vec_format(str(tmp_path / "g.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "g.txt"), binary=False)
    # gensim's dialect: no "\n" after the floats
    expected_size = len(b"52 6\n") + sum(len(w.encode()) + 1 + 24 for w in words)
    assert (tmp_path / "g.bin").stat().st_size == expected_size
    for name in ("g.bin", "g.txt"):
        vectors = load_vectors(tmp_path / name)
        assert vectors.words == words
        assert vectors.matrix.tobytes() == matrix.tobytes()
    save_vectors((words, matrix), tmp_path / "ours.txt")
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "g.txt").read_bytes()
    save_vectors((words, matrix), tmp_path / "ours.bin")
    back = KeyedVectors.load_word2vec_format(str(tmp_path / "ours.bin"), binary=True)
    assert back.index_to_key == words and back.vectors.tobytes() == matrix.tobytes()


def _word2vec_c():
    exe = Path(sys.executable).parent / "word2vec"
    return exe if exe.exists() else shutil.which("word2vec")


@pytest.mark.skipif(_word2vec_c() is None, reason="word2vec C binary not installed (bench extra)")
def test_word2vec_c_output_reads_and_rewrites_byte_identical(tmp_path):
    rng = np.random.default_rng(4)
    vocab = [f"tok{i}" for i in range(40)]
    text = "\n".join(" ".join(rng.choice(vocab, 12)) for _ in range(300)) + "\n"
    (tmp_path / "corpus.txt").write_text(text)
    for binary, name in ((1, "c.bin"), (0, "c.txt")):
        subprocess.run([str(_word2vec_c()), "-train", str(tmp_path / "corpus.txt"), "-output",
                        str(tmp_path / name), "-size", "8", "-min-count", "1", "-iter", "1",
                        "-threads", "1", "-binary", str(binary)],
                       check=True, capture_output=True)
    c_bin = load_vectors(tmp_path / "c.bin")
    c_txt = load_vectors(tmp_path / "c.txt")  # "%lf " values with a trailing space
    assert c_bin.words[0] == "</s>" and c_bin.words == c_txt.words
    assert np.allclose(c_bin.matrix, c_txt.matrix, atol=1e-6)
    save_vectors(c_bin, tmp_path / "ours.bin")
    assert (tmp_path / "ours.bin").read_bytes() == (tmp_path / "c.bin").read_bytes()


def test_headerless_glove_text_crlf_and_word_with_spaces(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_bytes(b"the 0.5 -1\r\n, 2 3e-2\r\n\r\n. . . 1.5 2.5\r\nna\xc3\xafve -0 4\r\n")
    vectors = load_vectors(path)
    assert vectors.words == ["the", ",", ". . .", "naïve"]
    expected = np.array([[0.5, -1.0], [2.0, 0.03], [1.5, 2.5], [-0.0, 4.0]], dtype=np.float32)
    assert vectors.matrix.tobytes() == expected.tobytes()
    assert detect_format(path) == "text"


def test_compressed_files_and_forced_format(tmp_path):
    save_vectors((WORDS, MATRIX), tmp_path / "v.bin")
    save_vectors((WORDS, MATRIX), tmp_path / "v.txt")
    (tmp_path / "v.bin.gz").write_bytes(gzip.compress((tmp_path / "v.bin").read_bytes()))
    (tmp_path / "v.vec.bz2").write_bytes(bz2.compress((tmp_path / "v.txt").read_bytes()))
    (tmp_path / "noext").write_bytes((tmp_path / "v.bin").read_bytes())
    for name in ("v.bin.gz", "v.vec.bz2", "noext"):
        vectors = load_vectors(tmp_path / name)
        assert vectors.words == WORDS and vectors.matrix.tobytes() == MATRIX.tobytes()
    assert detect_format(tmp_path / "noext") == "binary"
    assert load_vectors(tmp_path / "v.txt", fmt="text").words == WORDS
    with pytest.raises(BadOptionError, match="--format"):
        load_vectors(tmp_path / "v.txt", fmt="glove")
    with pytest.raises(BadOptionError, match="--encoding-errors"):
        load_vectors(tmp_path / "v.txt", encoding_errors="loose")


def test_fasttext_magic_is_delegated(tmp_path, monkeypatch):
    path = tmp_path / "model.bin"
    path.write_bytes(struct.pack("<ii", FASTTEXT_MAGIC, 12) + b"\0" * 64)
    real = formats.load_fasttext
    monkeypatch.setattr(formats, "load_fasttext", lambda p: ("fasttext model", str(p)))
    assert load_vectors(path) == ("fasttext model", str(path))
    assert detect_format(path) == "fasttext"
    monkeypatch.setattr(formats, "load_fasttext", real)
    monkeypatch.setitem(sys.modules, "staticvec.io.fasttext_bin", None)  # import fails
    with pytest.raises(FormatError, match=r"model\.bin: a fastText \.bin model, but this "
                                          r"installation has no fastText reader"):
        load_vectors(path)


# ---------------------------------------------------------------- damage
def _binary(words, dim, seed=5):
    rng = np.random.default_rng(seed)
    out = f"{len(words)} {dim}\n".encode()
    for word in words:
        out += word + b" " + rng.standard_normal(dim).astype("<f4").tobytes() + b"\n"
    return out


def test_truncated_binary_header_larger_than_entries(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(b"5" + _binary([b"a", b"b", b"c"], 4)[1:])
    with pytest.raises(FormatError) as err:
        load_vectors(path)
    assert str(err.value) == (f"{path}: truncated: the header says 5 words but the file ends after "
                              f"3 (at byte offset {path.stat().st_size})")


def test_binary_row_with_fewer_floats_than_dimension(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(_binary([b"a", b"b", b"c"], 4)[:-9])  # last row loses 2 floats + "\n"
    with pytest.raises(FormatError) as err:
        load_vectors(path)
    assert str(err.value) == (f"{path}: truncated: the header says 3 words but the file ends in "
                              f"word 3 ('c'), which has 2 of its 4 floats (fewer floats than the "
                              f"dimension; the row starts at byte offset 42)")


def test_huge_header_count_does_not_allocate(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(b"999999999999 300" + _binary([b"a"], 300)[len(b"1 300"):])
    with pytest.raises(FormatError, match="truncated: the header says 999,999,999,999 words"):
        load_vectors(path)


def test_text_damage(tmp_path):
    cases = {
        "short.txt": (b"2 3\na 1 2 3\nb 1 2\n", "line 3: 'b' has 2 values, expected 3 (fewer floats than the dimension)"),
        "long.txt": (b"2 3\na 1 2 3\nb 1 2 3 4\n", "line 3: 'b' has 4 values, expected 3"),
        "nan.txt": (b"2 3\na 1 2 3\nb 1 x2 3\n", "line 3: non-numeric value 'x2'"),
        "trunc.txt": (b"3 2\na 1 2\nb 1 2\n", "truncated: the header says 3 words but the file has 2"),
        "dim0.txt": (b"2 0\na\nb\n", "dimension 0 in the header ('2 0')"),
        "glove0.txt": (b"a\nb\n", "line 1 has a word and no values (dimension 0)"),
        "empty.txt": (b"", "empty file"),
        "blank.txt": (b"\n\n", "no vectors in the file"),
        "zero.bin": (b"0 5\n", "the header says the file holds 0 words"),
        "noheader.bin": (b"\x01\x02garbage", "not a word2vec binary file (the first line should "
                                            "be 'WORDS DIM', e.g. '71290 100')"),
    }
    for name, (data, problem) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FormatError) as err:
            load_vectors(path)
        assert str(err.value) == f"{path}: {problem}", name


def test_missing_and_folder_are_input_errors(tmp_path):
    with pytest.raises(InputError) as err:
        load_vectors(tmp_path / "nope.bin")
    assert str(err.value) == f"{tmp_path / 'nope.bin'}: no such file"
    assert not isinstance(err.value, FormatError)
    with pytest.raises(InputError, match="is a folder"):
        load_vectors(tmp_path)


def test_invalid_utf8_strict_names_byte_offset(tmp_path):
    data = _binary([b"ok", b"ba\xffd", b"fine"], 2)
    offset = data.index(b"ba\xffd") + 2
    path = tmp_path / "u.bin"
    path.write_bytes(data)
    with pytest.raises(FormatError) as err:
        load_vectors(path)
    assert str(err.value) == (f"{path}: invalid UTF-8 in word 2 at byte offset {offset} "
                              f"(try --encoding-errors replace or ignore)")
    assert load_vectors(path, encoding_errors="replace").words == ["ok", "ba\ufffdd", "fine"]
    assert load_vectors(path, encoding_errors="ignore").words == ["ok", "bad", "fine"]
    text = b"2 1\nok 1\n  caf\xe9 2\n"
    (tmp_path / "u.txt").write_bytes(text)
    with pytest.raises(FormatError) as err:
        load_vectors(tmp_path / "u.txt")
    offset = text.index(b"\xe9")
    assert str(err.value) == (f"{tmp_path / 'u.txt'}: invalid UTF-8 in the word on line 3 at byte "
                              f"offset {offset} (try --encoding-errors replace or ignore)")


def test_duplicate_words_keep_first_and_warn(tmp_path, capsys):
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((4, 3)).astype(np.float32)
    path = tmp_path / "d.bin"
    data = b"4 3\n" + b"".join(w + b" " + matrix[i].astype("<f4").tobytes() + b"\n"
                               for i, w in enumerate([b"a", b"b", b"a", b"c"]))
    path.write_bytes(data)
    # the library logs the warning (the CLI's handler prints it as "staticvec: warning: ...");
    # a handler on the module's own logger sees it whatever the CLI set up in this process
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("staticvec.io.dispatch")
    logger.addHandler(handler)
    try:
        vectors = load_vectors(path)
    finally:
        logger.removeHandler(handler)
    assert vectors.words == ["a", "b", "c"]
    assert vectors.matrix.tobytes() == matrix[[0, 1, 3]].tobytes()
    assert np.allclose(vectors.norms, np.linalg.norm(matrix[[0, 1, 3]], axis=1))
    assert capsys.readouterr().err == ""
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", f"{path}: 1 duplicate word(s), e.g. 'a': kept the first vector of each")]


def test_trailing_data_after_header_count_is_an_error(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"1 2\na 1 2\nb 3 4\n")
    with pytest.raises(FormatError) as err:
        load_vectors(path)
    assert str(err.value) == (f"{path}: line 3: more vectors than the 1 the header announces "
                              f"(the header or the file is damaged)")


def test_save_rejects_unwritable_words_and_leaves_no_file(tmp_path):
    with pytest.raises(OutputError, match="word 'two words' is empty or contains whitespace"):
        save_vectors((["ok", "two words"], np.zeros((2, 2), np.float32)), tmp_path / "v.bin")
    with pytest.raises(BadOptionError, match="cannot tell the vectors format of .*v.dat"):
        save_vectors((["ok"], np.zeros((1, 2), np.float32)), tmp_path / "v.dat")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("chunk", [8, 64, 1000])
@pytest.mark.parametrize("python_scanner", [False, True])
def test_chunked_reading_across_row_boundaries(tmp_path, monkeypatch, chunk, python_scanner):
    # rows are cut by every chunk boundary, and 8 bytes is smaller than any row (buffer grows)
    monkeypatch.setattr(word2vec_binary, "_CHUNK", chunk)
    monkeypatch.setattr(sniff, "HEAD_BYTES", 16)
    if python_scanner:
        monkeypatch.setattr(word2vec_binary, "_scanner",
                            lambda: (word2vec_binary._scan_python, word2vec_binary._join_python))
    rng = np.random.default_rng(9)
    words = [f"{'x' * (i % 7)}w{i}é" for i in range(97)]
    matrix = rng.standard_normal((97, 5)).astype(np.float32)
    save_vectors((words, matrix), tmp_path / "v.bin")
    vectors = load_vectors(tmp_path / "v.bin")
    assert vectors.words == words and vectors.matrix.tobytes() == matrix.tobytes()
    assert vectors.norms.tobytes() == np.linalg.norm(matrix, axis=1).tobytes()
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:-10])
    with pytest.raises(FormatError, match=r"ends in word 97 \('xxxxxw96é'\), which has 2 of its 5"):
        load_vectors(tmp_path / "cut.bin")
    bad = data.replace("w50é".encode(), b"w50\xff\xff", 1)
    (tmp_path / "bad.bin").write_bytes(bad)
    with pytest.raises(FormatError) as err:
        load_vectors(tmp_path / "bad.bin")
    offset = data.index("w50é".encode()) + 3  # float bytes may hold 0xff too: not bad.index
    assert str(err.value) == (f"{tmp_path / 'bad.bin'}: invalid UTF-8 in word 51 at byte offset "
                              f"{offset} (try --encoding-errors replace or ignore)")


def test_round_trip_any_words_and_floats(tmp_path_factory):
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st

    word = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"),
                   min_size=1, max_size=12).filter(lambda w: len(w.encode()) == len(w.encode().strip())
                                                   and len(w.encode().split()) == 1)
    floats = st.floats(width=32, allow_nan=False, allow_infinity=False)  # refused on reading

    @settings(max_examples=60, deadline=None)
    @given(st.lists(word, min_size=1, max_size=8, unique=True), st.integers(1, 5), st.data())
    def check(words, dim, data):
        folder = tmp_path_factory.mktemp("rt")
        values = data.draw(st.lists(floats, min_size=len(words) * dim, max_size=len(words) * dim))
        matrix = np.array(values, dtype=np.float32).reshape(len(words), dim)
        for name in ("v.bin", "v.txt"):
            save_vectors((words, matrix), folder / name)
            back = load_vectors(folder / name)
            assert back.words == words
            assert back.matrix.tobytes() == matrix.tobytes()
        save_vectors(load_vectors(folder / "v.txt"), folder / "w.bin")
        assert (folder / "w.bin").read_bytes() == (folder / "v.bin").read_bytes()

    check()


@pytest.mark.parametrize("variant", ["avx2", "generic"])
def test_text_values_are_numpy_shortest_repr(tmp_path, variant):
    """The kernel formatter against str(np.float32) (gensim's text writer prints repr,
    the same string): every float32 of one whole binade, random bit patterns, edges."""
    import importlib

    from staticvec import _kernels

    if variant == "avx2" and _kernels.VARIANT != "avx2":
        pytest.skip("this CPU has no AVX2+FMA")
    vecio = importlib.import_module(f"staticvec._kernels.{variant}.vecio")
    rng = np.random.default_rng(10)
    start = np.float32(0.25).view(np.uint32)
    values = np.concatenate([
        np.arange(start, start + (1 << 23), 64, dtype=np.uint32).view(np.float32),  # [0.25, 0.5)
        rng.integers(0, 1 << 32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32),
        np.array([0.0, -0.0, 1e-4, 9.9999e-5, 16777215.0, 16777216.0, -1.5, 0.1, 1e-45, 3e38,
                  np.inf, -np.inf, np.nan], dtype=np.float32),
    ]).reshape(-1, 1)
    out = np.empty(len(values) * vecio.FORMAT_WIDTH + 1, np.uint8)
    ends = np.empty(len(values), np.int64)
    fallback = np.empty(len(values), np.uint8)
    vecio.format_rows(values, out, ends, fallback)
    data = out.tobytes()
    starts = np.r_[0, ends[:-1]]
    handled = [data[s:e].decode() for s, e, f in zip(starts, ends, fallback) if not f]
    expected = [str(v) for v, f in zip(values[:, 0], fallback) if not f]
    assert handled == expected
    assert len(handled) > 150_000
    with np.errstate(invalid="ignore"):  # random bits include signalling NaNs
        absolute = np.abs(values[:, 0].astype(np.float64))
    in_range = ((absolute >= 1e-4) & (absolute < 1e6)) | (absolute == 0)
    assert (fallback == 0).tolist() == in_range.tolist()  # everything else goes to numpy

    # whole files: rows with out-of-range values are formatted by numpy, in place
    matrix = np.array([[0.5, 1e-7], [3e30, -2.0], [0.1, 0.2]], dtype=np.float32)
    save_vectors((["a", "b", "c"], matrix), tmp_path / "v.txt")
    assert (tmp_path / "v.txt").read_text() == "3 2\na 0.5 1e-07\nb 3e+30 -2.0\nc 0.1 0.2\n"
