"""convert streams: the output equals load + save of the same file byte for byte, for every
input format, while holding a block of rows, not the matrix."""
import gzip
import io
import lzma
import tracemalloc

import numpy as np
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from staticvec.io.convert import convert_vectors
from staticvec.io.dispatch import load_vectors, save_vectors
from staticvec.io.sniff import read_head, read_header
from staticvec.io.word2vec_text import read_text, text_blocks


def _vectors(n, dim, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}é" for i in range(n)]
    return words, rng.standard_normal((n, dim)).astype(np.float32)


def _reference(src, dst, **kw):
    """The whole-file path: load, then save (what convert did before it streamed)."""
    v = load_vectors(src, limit=kw.get("limit"))
    save_vectors((v.words, v.unit if kw.get("normalize") else v.matrix), dst)
    return dst.read_bytes()


@pytest.mark.parametrize("src_name,dst_name", [
    ("in.bin", "out.txt"), ("in.txt", "out.bin"), ("in.bin.gz", "out.txt"),
    ("in.txt.xz", "out.bin.gz"), ("in.bin", "out.bin")])
@pytest.mark.parametrize("kw", [{}, {"limit": 7}, {"normalize": True}])
def test_streamed_output_equals_load_and_save(tmp_path, src_name, dst_name, kw):
    words, matrix = _vectors(300, 9)
    matrix[5] = 0  # a zero row stays zero when normalised
    src = tmp_path / src_name
    save_vectors((words, matrix), src)
    count = convert_vectors(src, tmp_path / dst_name, **kw)
    assert count == kw.get("limit", 300)
    got = (tmp_path / dst_name).read_bytes()
    if dst_name.endswith(".gz"):
        got = gzip.decompress(got)
        expected = _reference(src, tmp_path / "ref.bin", **kw)
    else:
        expected = _reference(src, tmp_path / ("ref" + dst_name[3:]), **kw)
    assert got == expected


def test_repeated_words_and_blank_lines_rewrite_the_count(tmp_path):
    # GloVe text (no header) with blank lines and a repeated word: the first count (lines)
    # is too high twice over; the published file has the right one
    src = tmp_path / "glove.txt"
    src.write_text("a 1 2\n\nb 3 4\na 5 6\n\nc 7 8\n")
    assert convert_vectors(src, tmp_path / "o.txt") == 3
    assert (tmp_path / "o.txt").read_text() == "3 2\na 1.0 2.0\nb 3.0 4.0\nc 7.0 8.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glove.txt", "o.txt"]


def test_text_blocks_across_tiny_chunks_equal_read_text(tmp_path):
    words, matrix = _vectors(50, 4)
    buf = io.BytesIO()
    save_vectors((words, matrix), tmp_path / "v.txt")
    data = (tmp_path / "v.txt").read_bytes()
    head = data[:4096]
    header, start = read_header(head, "v.txt")
    whole = read_text(data, "v.txt", header, start, "strict")
    for chunk in (1, 7, 64, 1 << 20):
        stream = io.BytesIO(data)
        read_head(stream)
        blocks = list(text_blocks(stream, head[:len(stream.getvalue()[:4096])], "v.txt", header,
                                  start, "strict", chunk=chunk))
        assert sum((b[0] for b in blocks), []) == whole.words
        assert np.array_equal(np.concatenate([b[1] for b in blocks]), whole.matrix)
    del buf


def test_a_big_file_passes_through_a_few_megabytes(tmp_path):
    words, matrix = _vectors(60000, 200, seed=1)  # 48 MB of floats
    save_vectors((words, matrix), tmp_path / "big.bin")
    tracemalloc.start()
    try:
        convert_vectors(tmp_path / "big.bin", tmp_path / "big.txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak {peak / 2 ** 20:.1f} MB"
    back = load_vectors(tmp_path / "big.txt")
    assert back.words == words and np.array_equal(back.matrix, matrix)


@pytest.mark.parametrize("name,damage,pattern", [
    ("in.bin", lambda b: b[:-30], r".*in\.bin: truncated: the header says 40 words .*"),
    ("in.txt", lambda b: b.replace(b"w3\xc3\xa9", b"w3\xff", 1),
     r".*in\.txt: invalid UTF-8 in the word on line 5 at byte offset \d+ .*"),
    ("in.txt", lambda b: b.replace(b"\nw9\xc3\xa9 ", b"\nw9\xc3\xa9 nan ", 1),
     r".*in\.txt: line 11: 'w9é' has 5 values, expected 4"),
])
def test_damaged_input_fails_cleanly_with_no_output(tmp_path, name, damage, pattern):
    words, matrix = _vectors(40, 4)
    save_vectors((words, matrix), tmp_path / name)
    (tmp_path / name).write_bytes(damage((tmp_path / name).read_bytes()))
    before = snapshot(tmp_path)
    result = run_cli("convert", str(tmp_path / name), str(tmp_path / "out.bin"), "-q")
    assert_fails_cleanly(result, 1, pattern=pattern)
    assert snapshot(tmp_path) == before
    # the same message as load gives
    with pytest.raises(Exception) as loaded:
        load_vectors(tmp_path / name)
    assert str(loaded.value) in result.stderr


def test_utf8_error_offset_is_the_files(tmp_path):
    words, matrix = _vectors(3000, 4)
    save_vectors((words, matrix), tmp_path / "v.txt")
    data = (tmp_path / "v.txt").read_bytes().replace(b"w2900\xc3\xa9", b"w2900\xff", 1)
    (tmp_path / "v.txt").write_bytes(data)
    with pytest.raises(Exception) as streamed:
        convert_vectors(tmp_path / "v.txt", tmp_path / "o.bin")
    offset = data.index(b"w2900\xff") + 5
    assert f"at byte offset {offset} " in str(streamed.value)


def test_compressed_header_claiming_huge_rows_is_refused(tmp_path):
    # a header that claims 10^9 dims: refused when the data ends, before any row is sized
    (tmp_path / "h.bin.xz").write_bytes(lzma.compress(b"3 1000000000\nab " + b"\0" * 64))
    result = run_cli("convert", str(tmp_path / "h.bin.xz"), str(tmp_path / "o.txt"), "-q")
    assert_fails_cleanly(result, 1, pattern=r".*h\.bin\.xz: bad header '3 1000000000'.*")
    assert not (tmp_path / "o.txt").exists()
