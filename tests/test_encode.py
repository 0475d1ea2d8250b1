import logging
import os

import numpy as np
import pytest

from staticvec.text import corpus
from staticvec.text import cache, prepare
from staticvec.text import encoded as encoding
from staticvec.train import runner

from conftest import MINI_CORPUS


def reference_encoding(path, vocab, max_sentence_length):
    ids, ends = [], []
    for sentence in corpus.iter_sentences([str(path)], max_sentence_length=max_sentence_length):
        known = [vocab.index[w] for w in sentence if w in vocab.index]
        if known:
            ids += known
            ends.append(len(ids))
    return np.array(ids, dtype=np.uint32), np.array(ends, dtype=np.uint64)


@pytest.mark.parametrize("max_len", [10000, 37])
def test_encoding_equals_python_reference(max_len):
    vocab, encoded = prepare.prepare([str(MINI_CORPUS)], max_sentence_length=max_len)
    ids, ends = reference_encoding(MINI_CORPUS, vocab, max_len)
    assert np.array_equal(encoded.ids, ids)
    assert np.array_equal(encoded.sentence_ends, ends)
    assert encoded.raw_tokens == 1_000_064
    assert (encoded.splits > 0) == (max_len == 37)


def test_shares_cover_every_token_once_at_sentence_ends():
    _, encoded = prepare.prepare([str(MINI_CORPUS)])
    ends = set(int(e) for e in encoded.sentence_ends)
    for n in (1, 2, 3, 7):
        shares = runner.sentence_shares(encoded.sentence_ends, n, tokens=True)
        assert shares[0][0] == 0 and shares[-1][1] == encoded.n_tokens
        assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))
        assert all(start in ends or start == 0 for start, _ in shares)
        sizes = [e - s for s, e in shares]
        assert max(sizes) - min(sizes) < 2 * 1000  # lines have at most 1000 words


def test_cache_is_reused_and_invalidated(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="staticvec")
    path = tmp_path / "c.txt"
    path.write_text("a b c a b a\nb a\n" * 20)
    vocab, first = prepare.prepare([str(path)], min_count=1)
    assert first.source is not None
    assert sorted(os.listdir(first.source)) == ["ends.u64", "ids.u32", "manifest"]
    _, second = prepare.prepare([str(path)], min_count=1)
    assert "from cache" in caplog.text
    assert second.source == first.source and np.array_equal(second.ids, first.ids)
    path.write_text("c c c\n")
    os.utime(path, ns=(1, 1))
    _, third = prepare.prepare([str(path)], min_count=1)
    assert third.source != first.source and third.n_tokens == 3
    assert cache.clear_cache() == 2 * 3 + 2  # two entries of three files, two counts files
    assert os.listdir(cache.cache_dir()) == []
    _, fourth = prepare.prepare([str(path)], min_count=1, cache=False)
    assert fourth.source is None and fourth.n_tokens == 3
    assert os.listdir(cache.cache_dir()) == []


# ------------------------------------------------------------- staleness: the key


def test_key_changes_when_only_the_content_changes(tmp_path, monkeypatch):
    """The stat fields mocked to be identical: only the content sample tells the versions
    apart, in a small file (hashed whole) and a large one (64 blocks spread over it)."""
    monkeypatch.setattr(cache, "_stat_fields", lambda info: (1, 2, 3, 4, 5))
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_bytes(b"the cat sat on the mat\n" * 100)
    large.write_bytes(b"the cat sat on the mat\n" * 40_000)  # 920 kB: sampled
    size = large.stat().st_size
    span = size - cache.SAMPLE_BLOCK_BYTES
    for path, offsets in ((small, [0, 1000, small.stat().st_size - 3]),
                          (large, [0, span * 17 // 63 + 5, size - 3])):
        key = lambda: cache._inputs_digest("counts", [str(path)], "strict").hexdigest()  # noqa
        before = key()
        assert key() == before  # the mock holds: same content, same key
        for offset in offsets:
            with open(path, "r+b") as handle:
                handle.seek(offset)
                old = handle.read(3)
                handle.seek(offset)
                handle.write(b"qqq")
            assert key() != before, (path.name, offset)
            with open(path, "r+b") as handle:
                handle.seek(offset)
                handle.write(old)
            assert key() == before


def test_key_covers_the_stat_fields(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c\n")
    key = lambda: cache._inputs_digest("counts", [str(path)]).hexdigest()  # noqa: E731
    before = key()
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
    assert key() != before
    copy = tmp_path / "copy.txt"
    copy.write_text("a b c\n")
    os.replace(copy, path)  # same content and size, another inode
    assert key() != before


# ------------------------------------------------------------- integrity: the parsers


def _manifest(**changes):
    record = {"key": "0" * 32, "ids_bytes": 40, "ends_bytes": 16, "n_tokens": 10,
              "n_sentences": 2, "vocab_size": 5, "raw_tokens": 12, "splits": 0,
              "ids_sample": "a" * 64, "ends_sample": "b" * 64, "inputs": ["/x"]}
    record.update(changes)
    return cache._seal_record("manifest", record)


def test_parse_manifest_accepts_a_whole_manifest():
    record = cache.parse_manifest(_manifest())
    assert record["n_tokens"] == 10 and record["inputs"] == ["/x"]


@pytest.mark.parametrize("data, reason", [
    (b"", "header"),
    (_manifest()[:-5], "checksum"),
    (_manifest().replace(b"manifest 2 ", b"manifest 1 "), "version '1'"),
    (_manifest().replace(b"manifest", b"counts"), "header"),
    (cache.seal("manifest", b"{not json"), "not valid JSON"),
    (cache.seal("manifest", b"[" * 100_000), "not valid JSON"),
    (cache.seal("manifest", b"[1, 2]"), "not a JSON object"),
    (_manifest(n_tokens=-1), "n_tokens is not a count"),
    (_manifest(n_tokens=True), "n_tokens is not a count"),
    (_manifest(n_tokens=10.0), "n_tokens is not a count"),
    (_manifest(vocab_size=2 ** 64), "vocab_size is not a count"),
    (_manifest(ids_bytes=44), "array sizes"),
    (_manifest(ends_bytes=2 ** 62), "array sizes"),
    (_manifest(raw_tokens=3), "inconsistent"),
    (_manifest(key="../../etc"), "key is not"),
    (_manifest(inputs=[1]), "inputs"),
    (b"x" * (cache.MANIFEST_MAX_BYTES + 1), "too large"),
])
def test_parse_manifest_rejects_damage(data, reason):
    with pytest.raises(cache.CacheDamaged, match=reason):
        cache.parse_manifest(data)


def test_parse_counts_rejects_damage():
    good = {"key": "1" * 32, "counts": {"a": 3, "b": 1},
            "stats": {"total_tokens": 4, "total_lines": 1, "long_words": 0, "distinct": 2,
                      "pruned_below": 0}}
    assert cache.parse_counts(cache._seal_record("counts", good))[1] == {"a": 3, "b": 1}
    for change in ({"counts": {"a": 0, "b": 1}}, {"counts": {"a": "3", "b": 1}},
                   {"counts": {"a": 30, "b": 1}}, {"stats": {"total_tokens": 4}},
                   {"counts": []}, {"key": 5}):
        with pytest.raises(cache.CacheDamaged):
            cache.parse_counts(cache._seal_record("counts", {**good, **change}))
    with pytest.raises(cache.CacheDamaged, match="checksum"):
        cache.parse_counts(cache._seal_record("counts", good)[:-1])


# ------------------------------------------------------------- writing the cache


def _failing_open(folder, only=None):
    """``open`` whose files under ``folder`` (those named ``only``, if given) fail to write
    with ENOSPC, as on a full disk."""
    import builtins
    import errno

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def fake(file, mode="r", *args, **kwargs):
        handle = builtins.open(file, mode, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else str(file)
        if "w" in mode and name.startswith(str(folder)) and (only is None or only in name):
            return Full(handle)
        return handle

    return fake


@pytest.mark.parametrize("only", [None, "ids.u32"])
def test_full_cache_disk_warns_once_and_trains_without_it(tmp_path, monkeypatch, caplog,
                                                           only):
    path = tmp_path / "c.txt"
    path.write_text("a b c a b a\nb a\n" * 20)
    _, expected = prepare.prepare([str(path)], min_count=1, cache=False)
    folder = tmp_path / "cache"
    monkeypatch.setattr(cache, "open", _failing_open(folder, only), raising=False)
    monkeypatch.setattr(encoding, "open", _failing_open(folder, only), raising=False)
    _, encoded = prepare.prepare([str(path)], min_count=1, cache=str(folder))
    err = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(err) == 1 and err[0].startswith("cannot write to the cache "
                                               "folder") and "No space left" in err[0], err
    assert np.array_equal(encoded.ids, expected.ids)
    assert np.array_equal(encoded.sentence_ends, expected.sentence_ends)
    assert encoded.source is None
    # no temporary left; the counts were published when only the arrays failed
    assert [n.endswith(".counts.json") for n in os.listdir(folder)] == ([True] if only else [])


def test_second_publisher_keeps_the_first_entry(tmp_path, monkeypatch):
    """Two jobs encoding the same corpus at once: the one that renames second finds the entry
    there, keeps it, uses its own (equal) arrays and leaves no temporary behind."""
    path = tmp_path / "c.txt"
    path.write_text("a b c a b a\nb a\n" * 20)
    vocab, first = prepare.prepare([str(path)], min_count=1)
    monkeypatch.setattr(cache, "_load_entry", lambda *args: None)
    second = encoding.encode_corpus([str(path)], vocab)
    assert first.source is not None and second.source is None
    assert np.array_equal(first.ids, second.ids)
    names = os.listdir(cache.cache_dir())
    assert sorted(n.endswith(".counts.json") for n in names) == [False, True], names
    assert cache.parse_manifest(open(os.path.join(first.source, "manifest"), "rb").read())


def test_stale_temporaries_are_swept(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c a b a\nb a\n" * 20)
    folder = tmp_path / "cache"
    folder.mkdir()
    old, young, trash = folder / ".tmp-old", folder / ".tmp-young", folder / ".trash-x"
    for item in (old, young, trash):
        item.mkdir()
        (item / "ids.u32").write_bytes(b"1234")
    os.utime(old, (1, 1))
    prepare.prepare([str(path)], min_count=1, cache=str(folder))
    assert not old.exists() and not trash.exists() and young.exists()
