"""scale/inputs.py: paths, globs and URLs -> sources -> shards; a shard owns the lines that
start in its byte range, so the shards read one after another give the text
``corpus.iter_chunks`` gives (the independent reference: the single-process reader)."""
import gzip
import lzma
import random

import pytest

pytest.importorskip("fsspec")

from staticvec.errors import BadOptionError, InputError  # noqa: E402
from staticvec.scale import inputs  # noqa: E402
from staticvec.text import corpus  # noqa: E402


def _text(seed, lines, last_newline=True):
    rng = random.Random(seed)
    words = ["a", "bb", "ccc", "déjà", "x" * 30, "</s>"]
    body = "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
                     for _ in range(lines))
    return (body + ("\n" if last_newline else "")).encode("utf-8")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "a.txt").write_bytes(_text(1, 300))
    (tmp_path / "b.txt").write_bytes(_text(2, 250, last_newline=False))
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(_text(3, 100)))
    (tmp_path / "d.txt.xz").write_bytes(lzma.compress(_text(4, 80, last_newline=False)))
    (tmp_path / "e.txt").write_bytes(b"")
    (tmp_path / "f.txt").write_bytes(b"\n\n  \n")
    return tmp_path


def _reference(tmp_path, names):
    return b"".join(corpus.iter_chunks([str(tmp_path / n) for n in names]))


@pytest.mark.parametrize("shard_bytes", [5, 17, 256, 5000, 1 << 30])
def test_shards_read_in_order_give_the_single_process_text(files, shard_bytes):
    names = ["a.txt", "b.txt", "c.txt.gz", "d.txt.xz", "e.txt", "f.txt"]
    sources = inputs.expand([str(files / n) for n in names])
    shards = inputs.plan_shards(sources, shard_bytes)
    assert [s.index for s in shards] == list(range(len(shards)))
    chunks = [c for s in shards for c in inputs.shard_chunks(s, chunk_bytes=7)]
    assert b"".join(chunks) == _reference(files, names)
    # every chunk ends on whitespace, as the kernels need
    assert all(chunk[-1:] in (b" ", b"\n", b"\t", b"\r") for chunk in chunks)


def test_one_byte_shards(tmp_path):
    path = tmp_path / "small.txt"
    path.write_bytes(b"a b\n\nccc d\n e\nf")
    shards = inputs.plan_shards(inputs.expand([str(path)]), 1)
    assert len(shards) == path.stat().st_size
    assert b"".join(c for s in shards for c in inputs.shard_chunks(s)) == \
        _reference(tmp_path, ["small.txt"])


def test_large_files_are_cut_compressed_ones_are_not(files):
    sources = inputs.expand([str(files / "a.txt"), str(files / "c.txt.gz")])
    shards = inputs.plan_shards(sources, 1000)
    size = (files / "a.txt").stat().st_size
    cut = [s for s in shards if s.name.endswith("a.txt")]
    assert len(cut) == -(-size // 1000)
    assert [(s.start, s.end) for s in cut] == [(i, min(i + 1000, size))
                                               for i in range(0, size, 1000)]
    whole = [s for s in shards if s.name.endswith(".gz")]
    assert len(whole) == 1 and whole[0].end is None


def test_a_shard_owns_the_lines_starting_in_its_range(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"aa bb\ncc\n\ndd ee ff\n")  # lines start at 0, 6, 9, 10
    (source,) = inputs.expand([str(path)])

    def lines(start, end):
        shard = inputs.Shard(0, str(path), source.url, start, end, False, "x")
        return b"".join(inputs.shard_chunks(shard))

    assert lines(0, 1) == b"aa bb\n"
    assert lines(1, 6) == b""           # no line starts in [1, 6)
    assert lines(1, 7) == b"cc\n"
    assert lines(6, 10) == b"cc\n\n"    # the empty line at 9 is owned, and ends nothing
    assert lines(10, 11) == b"dd ee ff\n"
    assert lines(11, 19) == b""


def test_globs_urls_and_order(files):
    sources = inputs.expand([str(files / "[ab].txt"), f"file://{files}/c.txt.gz"])
    assert [s.name for s in sources] == [str(files / "a.txt"), str(files / "b.txt"),
                                         f"file://{files}/c.txt.gz"]
    assert [s.compressed for s in sources] == [False, False, True]


def test_fingerprints_change_with_the_content_and_the_range(files):
    path = files / "a.txt"
    first = inputs.plan_shards(inputs.expand([str(path)]), 1000)
    again = inputs.plan_shards(inputs.expand([str(path)]), 1000)
    assert [s.fingerprint for s in first] == [s.fingerprint for s in again]
    assert len({s.fingerprint for s in first}) == len(first)
    data = bytearray(path.read_bytes())
    data[5] = ord("Z")
    path.write_bytes(bytes(data))
    changed = inputs.plan_shards(inputs.expand([str(path)]), 1000)
    assert all(a.fingerprint != b.fingerprint for a, b in zip(first, changed))


@pytest.mark.parametrize("name, message", [
    ("missing.txt", "no such file"),
    ("nothing*.txt", "no file matches it"),
    (".", "it is a folder"),
])
def test_bad_names_are_refused_naming_them(files, name, message):
    with pytest.raises(InputError, match=message) as caught:
        inputs.expand([str(files / name)])
    assert str(files / name.rstrip(".").rstrip("/")) in str(caught.value) or name in str(caught.value)


def test_stdin_is_refused():
    with pytest.raises(BadOptionError, match="stdin"):
        inputs.expand(["-"])


def test_a_source_gone_before_its_shard_is_read_names_it(files):
    (shard,) = inputs.plan_shards(inputs.expand([str(files / "a.txt")]))
    (files / "a.txt").unlink()
    with pytest.raises(InputError, match=f"cannot read {files / 'a.txt'}: no such file"):
        list(inputs.shard_chunks(shard))


def test_bad_utf8_names_the_file_and_its_byte_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good line\n" * 50 + b"bad \xff here\n")
    shards = inputs.plan_shards(inputs.expand([str(path)]), 100)
    with pytest.raises(InputError, match=r"bad.txt: invalid UTF-8 at byte offset 504 "):
        for shard in shards:
            list(inputs.shard_chunks(shard))
    with pytest.raises(InputError, match=r"bad.txt: invalid UTF-8 at byte offset 504 "):
        list(corpus.iter_chunks([str(path)]))  # the same words as the reference reader


def test_damaged_compressed_data_names_the_file(tmp_path):
    path = tmp_path / "broken.txt.gz"
    path.write_bytes(gzip.compress(_text(5, 500))[:-40])
    (shard,) = inputs.plan_shards(inputs.expand([str(path)]))
    with pytest.raises(InputError, match="broken.txt.gz: damaged compressed data"):
        list(inputs.shard_chunks(shard))
