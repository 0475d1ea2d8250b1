"""Hostile stores and `store` options: a truncated, foreign, version-mismatched or lying
store is one error line and exit 1 (before any allocation sized by it); damage found by a
query names the file; a stale store is used with one warning line; the output never
overwrites the input and is never stdout."""
import gzip
import hashlib
import os

import numpy as np
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot

from staticvec.errors import FormatError
from staticvec.io import store as store_format
from staticvec.io.dispatch import load_vectors, save_vectors
from staticvec.io.store_write import write_store

WORDS = ["king", "queen", "man", "woman", "void", "apple"]
ROWS = np.array([[1, 2, 3], [1, 2, 4], [1, 0, 0], [0, 1, 0], [0, 0, 0], [-1, -2, -3]],
                dtype=np.float32)


@pytest.fixture
def model(tmp_path):
    save_vectors((WORDS, ROWS), tmp_path / "m.bin")
    write_store(tmp_path / "m.bin", tmp_path / "m.svs")
    return tmp_path


def _fields(path):
    head = path.read_bytes()[:store_format._HEADER.size]
    return list(store_format._HEADER.unpack(head)[:-1])


def _rewrite(path, values, sign=True):
    """The store with its header fields replaced (and a valid checksum when ``sign``)."""
    data = bytearray(path.read_bytes())
    fields = store_format._FIELDS.pack(*values)
    digest = hashlib.sha256(fields).digest() if sign else b"\0" * 32
    data[:store_format._HEADER.size] = fields + digest
    path.write_bytes(bytes(data))


def _query(path, *extra):
    return run_cli("nearest", "king", "-m", str(path), *extra)


def _fails(result, code, pattern=".*"):
    return assert_fails_cleanly(result, code, pattern="staticvec: error: " + pattern + ".*")


def _refused(path, pattern, query="king"):
    """In process: opening (and querying) ``path`` raises one FormatError matching ``pattern``."""
    with pytest.raises(FormatError, match=pattern):
        load_vectors(path).most_similar(query)


def test_truncated_store(model):
    data = (model / "m.svs").read_bytes()
    (model / "t.svs").write_bytes(data[:-1])
    _fails(_query(model / "t.svs"), 1, r".*t\.svs: truncated staticvec store")
    for keep in (8, 100, 4100):
        (model / "t.svs").write_bytes(data[:keep])
        _refused(model / "t.svs", "truncated staticvec store")


def test_other_version_says_rebuild(model):
    values = _fields(model / "m.svs")
    values[1] = 1   # a store written before the int8 codes and n-gram buckets
    _rewrite(model / "m.svs", values)
    _fails(_query(model / "m.svs"), 1, r".*m\.svs: staticvec store version 1, but this "
                                       r"staticvec reads version 2: rebuild it with")


def test_damaged_header_checksum(model):
    data = bytearray((model / "m.svs").read_bytes())
    data[20] ^= 1
    (model / "m.svs").write_bytes(bytes(data))
    _refused(model / "m.svs", "header checksum does not match")


@pytest.mark.parametrize("field,value,message", [
    (3, 10 ** 12, r"truncated staticvec store|header says"),   # words: a TB of rows
    (4, 2 ** 40, r"header says dimension"),                     # dim
    (4, 4, r"section unit of .* bytes \(should be"),            # dim that does not match
    (5, 6, r"hash slots"),                                      # slots not a power of two
    (6, 1 << 20, r"hash slots"),                                # probes beyond the table
    (7, 4095, r"misaligned|overlaps"),                          # unit offset
    (20, 1 << 40, r"bytes of metadata"),                        # meta size
    (19, 1 << 40, r"truncated staticvec store"),                # meta offset
    (2, 8, r"header says flags 0x8"),                           # an unknown flag
    (22, 7, r"section codes of 7 bytes \(should be 192\)"),      # codes size
    (24, 12, r"section bounds of 12 bytes \(should be 72\)"),    # bounds size
    (26, 12, r"n-gram section of 12 bytes"),                    # buckets without the flag
    (21, 1 << 40, r"truncated staticvec store"),                # codes offset
])
def test_header_that_lies_about_sizes(model, field, value, message):
    values = _fields(model / "m.svs")
    values[field] = value
    _rewrite(model / "m.svs", values)
    _refused(model / "m.svs", message)


def test_damage_found_by_a_query_is_one_line(model):
    path = model / "m.svs"
    values = _fields(path)
    sections = dict(zip(store_format.SECTIONS, zip(values[7::2], values[8::2])))
    data = bytearray(path.read_bytes())
    ends_at = sections["ends"][0]
    bad = bytearray(data)
    bad[ends_at:ends_at + 8] = (10 ** 9).to_bytes(8, "little")  # word 1 ends far outside
    path.write_bytes(bytes(bad))
    _fails(_query(path), 1, r".*damaged staticvec store: the offsets")
    bad = bytearray(data)
    unit = sections["unit"][0]
    bad[unit + 12:unit + 16] = np.float32(np.nan).tobytes()  # queen's first value
    path.write_bytes(bytes(bad))
    _refused(path, r"damaged staticvec store: row 2 holds a non-finite value", "man")
    with pytest.raises(FormatError, match=r"row 2 \('queen'\) holds a non-finite value"):
        load_vectors(path)["queen"]
    with pytest.raises(FormatError, match=r"row 2 holds a non-finite value"):
        load_vectors(path).most_similar_batch(["man"], topn=5)  # NaN: never an answer
    bad = bytearray(data)
    table = sections["table"][0]
    slots = values[5]
    entries = np.frombuffer(bytes(data[table:table + 4 * slots]), "<u4").copy()
    entries[entries > 0] = 99  # every slot names a row that does not exist
    bad[table:table + 4 * slots] = entries.tobytes()
    path.write_bytes(bytes(bad))
    _refused(path, r"hash slot \d+ names row 99 of 6")


def test_truncated_or_mismatched_new_sections(model, tmp_path):
    """The int8 codes and the n-gram rows: cut short, or sized for other counts, refused
    before anything is mapped; a fastText store whose subword parameters do not match
    its n-gram rows is refused too."""
    from staticvec.io.fasttext_bin import save_model

    path = model / "m.svs"
    values = _fields(path)
    sections = dict(zip(store_format.SECTIONS, zip(values[7::2], values[8::2])))
    data = path.read_bytes()
    codes_end = sum(sections["codes"])
    (model / "t.svs").write_bytes(data[:codes_end - 1])   # cut inside the codes
    _fails(_query(model / "t.svs"), 1, r".*t\.svs: truncated staticvec store")
    rng = np.random.default_rng(3)
    words = ["</s>", "the", "cat"]
    save_model(tmp_path / "ft.bin", words, [5, 4, 3],
               rng.standard_normal((len(words) + 7, 4)).astype(np.float32),
               rng.standard_normal((len(words), 4)).astype(np.float32), bucket=7, minn=2,
               maxn=3)
    write_store(tmp_path / "ft.bin", tmp_path / "ft.svs")
    values = _fields(tmp_path / "ft.svs")
    good = list(values)
    values[26] -= 4          # n-gram rows that are not whole rows
    _rewrite(tmp_path / "ft.svs", values)
    _refused(tmp_path / "ft.svs", r"n-gram section of 108 bytes for dimension 4", "cat")
    values[26] -= 12         # one row fewer than the metadata's 7 buckets
    _rewrite(tmp_path / "ft.svs", values)
    _refused(tmp_path / "ft.svs", r"subword parameters do not match its 6 n-gram rows", "cat")
    _rewrite(tmp_path / "ft.svs", good)
    want = load_vectors(tmp_path / "ft.svs").most_similar("cat", topn=2)
    values = list(good)
    values[2] &= ~store_format._HAS_CODES    # no codes: the float32 scan answers alike
    values[22] = values[24] = 0
    _rewrite(tmp_path / "ft.svs", values)
    assert load_vectors(tmp_path / "ft.svs").most_similar("cat", topn=2) == want


def test_damaged_bounds_never_give_a_nan_answer(model):
    """NaN scales or bounds in the int8 section (damage the header does not cover): the
    rows are rescored (their bound is +inf), so the answer is still the exact one."""
    path = model / "m.svs"
    want = load_vectors(path).most_similar("king", topn=2)
    values = _fields(path)
    sections = dict(zip(store_format.SECTIONS, zip(values[7::2], values[8::2])))
    data = bytearray(path.read_bytes())
    at = sections["bounds"][0]
    data[at:at + 72] = np.full(18, np.nan, "<f4").tobytes()
    path.write_bytes(bytes(data))
    stored = load_vectors(path)
    assert stored.most_similar("king", topn=2) == want
    assert stored.most_similar_batch(["king"], topn=2)[0] == want


def test_full_hash_table_lookups_stop(model):
    """A table with no empty slot (damage): a lookup of an unknown word still ends."""
    path = model / "m.svs"
    values = _fields(path)
    sections = dict(zip(store_format.SECTIONS, zip(values[7::2], values[8::2])))
    table, slots = sections["table"][0], values[5]
    data = bytearray(path.read_bytes())
    data[table:table + 4 * slots] = np.full(slots, 1, "<u4").tobytes()  # all: row 1
    values[6] = slots - 1
    path.write_bytes(bytes(data))
    _rewrite(path, values)
    assert load_vectors(path).position("nosuchword") is None


def test_stale_store_warns_once_and_answers(model):
    fresh = _query(model / "m.svs")
    assert fresh.returncode == 0 and fresh.stderr == ""
    os.utime(model / "m.bin", ns=(1, 1))  # touched: same bytes, not stale
    assert _query(model / "m.svs").stderr == ""
    save_vectors((WORDS, ROWS * 2 + 1), model / "m.bin")
    result = run_cli("nearest", "king", "-m", str(model / "m.svs"))
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("staticvec: warning: ")
    assert "m.svs is stale: its source" in lines[0] and "m.bin has changed" in lines[0]
    os.remove(model / "m.bin")  # the source gone: the store stands on its own
    assert _query(model / "m.svs").stderr == ""


def test_not_a_store_and_format_contradictions(model):
    _fails(_query(model / "m.bin", "--format", "store"), 1,
           r".*m\.bin: not a staticvec store \(bad magic number\)")
    _fails(_query(model / "m.svs", "--format", "text"), 1, r".*m\.svs is a staticvec store, not text")
    (model / "c.svs.gz").write_bytes(gzip.compress((model / "m.svs").read_bytes()))
    _refused(model / "c.svs.gz", r"c\.svs\.gz: a staticvec store is mapped: it must be an uncompressed")


def test_store_options_and_outputs(model):
    before = snapshot(model)
    src, out = str(model / "m.bin"), str(model / "new.svs")
    _fails(run_cli("store", src, "-o", src, "-q"), 2, r"-o .*m\.bin is the same file as MODEL")
    _fails(run_cli("store", src, "-o", "-", "-q"), 2, r"-o must name a regular file \(got -\)")
    _fails(run_cli("store", src, "-o", out, "--limit", "0", "-q"), 2, r".*--limit")
    _fails(run_cli("store", src, "-o", out, "--format", "csv", "-q"), 2, r".*--format")
    _fails(run_cli("store", str(model / "none.bin"), "-o", out, "-q"), 1,
           r".*none\.bin: no such file")
    (model / "empty.txt").write_bytes(b"")
    before = snapshot(model)
    with pytest.raises(FormatError, match=r"empty\.txt"):
        write_store(model / "empty.txt", out)
    assert snapshot(model) == before  # nothing written, no temporary left


def test_reader_refuses_before_mapping(tmp_path):
    path = tmp_path / "x.svs"
    path.write_bytes(store_format.MAGIC)
    with pytest.raises(FormatError, match="truncated"):
        store_format.read_store(path)
