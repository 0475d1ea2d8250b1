import bz2
import gzip
import lzma

import pytest

from staticvec.text import corpus
from staticvec.errors import BadOptionError, InputError

TEXT = "the quick brown fox\njumps over the lazy dog\n\nthe end"


def write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize("suffix,compress", [
    (".txt", lambda b: b), (".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)])
def test_compressed_inputs_read_like_plain_text(tmp_path, suffix, compress):
    path = write(tmp_path / f"c{suffix}", compress(TEXT.encode()))
    assert list(corpus.iter_sentences([str(path)])) == [
        ["the", "quick", "brown", "fox"], ["jumps", "over", "the", "lazy", "dog"], ["the", "end"]]


def test_file_end_ends_a_sentence(tmp_path):
    a = write(tmp_path / "a.txt", "one two")
    b = write(tmp_path / "b.txt", "three four\n")
    assert list(corpus.iter_sentences([str(a), str(b)])) == [["one", "two"], ["three", "four"]]


def test_words_are_never_cut_at_chunk_boundaries(tmp_path):
    words = [f"w{i:05d}" for i in range(5000)]
    path = write(tmp_path / "c.txt", " ".join(words) + "\n")
    chunks = list(corpus.iter_chunks([str(path)], chunk_bytes=97))
    assert len(chunks) > 100
    assert b"".join(chunks).split() == [w.encode() for w in words]
    assert all(c[-1:] in (b" ", b"\n") for c in chunks)


def test_long_sentences_are_split_not_dropped(tmp_path):
    path = write(tmp_path / "c.txt", " ".join(str(i) for i in range(25)) + "\n")
    pieces = list(corpus.iter_sentences([str(path)], max_sentence_length=10))
    assert [len(p) for p in pieces] == [10, 10, 5]
    assert sum(pieces, []) == [str(i) for i in range(25)]


def test_long_words_are_kept_whole(tmp_path):
    long_word = "é" * 80  # 160 bytes: word2vec C would cut it at 100 bytes, mid-character
    path = write(tmp_path / "c.txt", f"a {long_word} b\n")
    assert list(corpus.iter_sentences([str(path)])) == [["a", long_word, "b"]]


def test_strict_utf8_error_names_file_and_offset(tmp_path):
    path = write(tmp_path / "bad.txt", b"good words\nbad \xff byte\n")
    with pytest.raises(InputError) as err:
        list(corpus.iter_chunks([str(path)]))
    assert str(err.value) == (f"{path}: invalid UTF-8 at byte offset 15 (byte 0xff); "
                              "use --encoding-errors replace or ignore")


def test_replace_and_ignore(tmp_path):
    path = write(tmp_path / "bad.txt", b"bad\xffword ok\n")
    assert list(corpus.iter_sentences([str(path)], "replace")) == [["bad\ufffdword", "ok"]]
    assert list(corpus.iter_sentences([str(path)], "ignore")) == [["badword", "ok"]]


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match=r"cannot read .*nope.txt: no such file"):
        list(corpus.iter_chunks([str(tmp_path / "nope.txt")]))
    with pytest.raises(InputError, match="it is a folder"):
        list(corpus.iter_chunks([str(tmp_path)]))
    with pytest.raises(BadOptionError, match="--encoding-errors"):
        list(corpus.iter_chunks([str(tmp_path)], "lenient"))
    bad_xz = write(tmp_path / "damaged.xz", lzma.compress(TEXT.encode() * 50)[:40])
    with pytest.raises(InputError, match="damaged compressed data"):
        list(corpus.iter_chunks([str(bad_xz)]))
