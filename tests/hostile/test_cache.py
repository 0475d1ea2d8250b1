"""Issue #10, "never train on stale or damaged data": the encoded-corpus cache and the cached
word counts notice any change of an input, never serve a damaged entry, survive many jobs at
once, and a cache folder that cannot be written costs a warning, never the job."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import snapshot
from corpora import TRAIN, cache_folder, cache_names, tiny_corpus, train
from staticvec.text import cache


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A tiny corpus and the vectors and vocabulary of a --no-cache training on it."""
    folder = tmp_path_factory.mktemp("reference")
    corpus = tiny_corpus(folder / "corpus.txt")
    result = train(corpus, folder / "vectors.txt", "--no-cache", "--save-vocab",
                   folder / "vocab.txt")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    before = snapshot(folder)
    yield corpus, (folder / "vectors.txt").read_bytes(), (folder / "vocab.txt").read_bytes()
    assert snapshot(folder) == before  # the corpus was only ever read


def _entry():
    """The one cached encoding's folder."""
    entries = [n for n in cache_names() if not n.endswith(".counts.json")]
    assert len(entries) == 1, cache_names()
    return os.path.join(cache_folder(), entries[0])


def _assert_one_whole_entry():
    """Exactly one entry, whole, and the counts beside it: nothing else (no temporary)."""
    names = cache_names()
    assert len(names) == 2 and sum(n.endswith(".counts.json") for n in names) == 1, names
    with open(os.path.join(_entry(), "manifest"), "rb") as handle:
        cache.parse_manifest(handle.read())


# ------------------------------------------------------------- staleness


def test_in_place_edit_with_restored_mtime_is_counted_afresh(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus.txt")
    first = train(corpus, tmp_path / "v1.txt", "--save-vocab", tmp_path / "vocab1.txt")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    before = os.stat(corpus)
    with open(corpus, "r+b") as handle:  # same size, same inode
        text = handle.read()
        assert text.count(b" the ") > 1000
        handle.seek(0)
        handle.write(text.replace(b" the ", b" qqq "))
    os.utime(corpus, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -d
    after = os.stat(corpus)
    assert (after.st_size, after.st_mtime_ns, after.st_ino, after.st_dev) == \
        (before.st_size, before.st_mtime_ns, before.st_ino, before.st_dev)

    second = train(corpus, tmp_path / "v2.txt", "--save-vocab", tmp_path / "vocab2.txt",
                   quiet=False)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr and "warning" not in second.stderr
    assert "vocab: counting words (no cached counts for these inputs)" in second.stderr
    assert "from cache" not in second.stderr
    vocab1, vocab2 = (dict(line.split() for line in (tmp_path / name).read_text().splitlines())
                      for name in ("vocab1.txt", "vocab2.txt"))
    assert "qqq" not in vocab1 and int(vocab2["qqq"]) > 1000
    assert int(vocab2.get("the", 0)) < int(vocab1["the"]) - 1000
    # and the vectors are those of the edited corpus, as a --no-cache run makes them
    fresh = train(corpus, tmp_path / "v3.txt", "--no-cache")
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "v2.txt").read_bytes() == (tmp_path / "v3.txt").read_bytes()
    assert (tmp_path / "v1.txt").read_bytes() != (tmp_path / "v2.txt").read_bytes()


# ------------------------------------------------------------- integrity


def _reseal(entry, **changes):
    """Rewrite the manifest so that it agrees with damaged arrays: only the content checks
    (id range, sentence ends) can then find the damage."""
    path = os.path.join(entry, "manifest")
    with open(path, "rb") as handle:
        record = cache.parse_manifest(handle.read())
    for name in ("ids", "ends"):
        record[f"{name}_sample"] = cache._file_sample(
            os.path.join(entry, "ids.u32" if name == "ids" else "ends.u64"))
    record.update(changes)
    with open(path, "wb") as handle:
        handle.write(cache._seal_record("manifest", record))


def _truncate_ids(entry):
    with open(os.path.join(entry, "ids.u32"), "r+b") as handle:
        handle.truncate(os.fstat(handle.fileno()).st_size // 2)


def _flip_manifest_byte(entry):
    path = os.path.join(entry, "manifest")
    data = bytearray(open(path, "rb").read())
    data[-10] ^= 0x01
    open(path, "wb").write(bytes(data))


def _manifest_not_json(entry):
    open(os.path.join(entry, "manifest"), "wb").write(cache.seal("manifest", b'{"key": '))


def _old_version(entry):
    path = os.path.join(entry, "manifest")
    data = open(path, "rb").read()
    open(path, "wb").write(data.replace(b"staticvec-manifest 2 ", b"staticvec-manifest 1 ", 1))


def _no_manifest(entry):
    os.unlink(os.path.join(entry, "manifest"))


def _id_out_of_range(entry):
    ids = np.memmap(os.path.join(entry, "ids.u32"), dtype=np.uint32, mode="r+")
    record = cache.parse_manifest(open(os.path.join(entry, "manifest"), "rb").read())
    ids[len(ids) // 3] = record["vocab_size"]
    ids.flush()
    del ids
    _reseal(entry)


def _ends_decrease(entry):
    ends = np.memmap(os.path.join(entry, "ends.u64"), dtype=np.uint64, mode="r+")
    ends[10], ends[11] = ends[11], ends[10]
    ends.flush()
    del ends
    _reseal(entry)


def _ends_short(entry):
    ends = np.memmap(os.path.join(entry, "ends.u64"), dtype=np.uint64, mode="r+")
    ends[-1] -= 1
    ends.flush()
    del ends
    _reseal(entry)


def _entry_is_a_file(entry):
    shutil.rmtree(entry)
    open(entry, "wb").write(b"not a folder")


DAMAGE = {
    "truncated ids": (_truncate_ids, "ids.u32 holds"),
    "manifest byte flipped": (_flip_manifest_byte, "does not match its checksum"),
    "manifest not JSON": (_manifest_not_json, "not valid JSON"),
    "manifest of version 1": (_old_version, "version '1'"),
    "no manifest": (_no_manifest, "incomplete: no manifest"),
    "id >= vocabulary size": (_id_out_of_range, "outside the vocabulary"),
    "sentence ends decrease": (_ends_decrease, "sentence ends decrease"),
    "sentence ends short": (_ends_short, "sentence ends stop at"),
    "entry is a file": (_entry_is_a_file, "Not a directory"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_entry_warns_once_and_is_rebuilt(tmp_path, reference, damage):
    corpus, expected, _ = reference
    first = train(corpus, tmp_path / "v1.txt")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    damage_entry, reason = DAMAGE[damage]
    entry = _entry()
    damage_entry(entry)
    second = train(corpus, tmp_path / "v2.txt")
    assert second.returncode == 0, second.stderr
    lines = second.stderr.splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"staticvec: warning: the cached encoding {entry} is damaged ")
    assert reason in lines[0] and lines[0].endswith("; removed, encoding again")
    assert (tmp_path / "v2.txt").read_bytes() == expected
    _assert_one_whole_entry()
    third = train(corpus, tmp_path / "v3.txt")  # the rebuilt entry is served, silently
    assert third.returncode == 0 and third.stderr == "", third.stderr
    assert (tmp_path / "v3.txt").read_bytes() == expected
    assert sorted(os.listdir(tmp_path)) == ["v1.txt", "v2.txt", "v3.txt"]


def _counts_path():
    names = [n for n in cache_names() if n.endswith(".counts.json")]
    assert len(names) == 1, cache_names()
    return os.path.join(cache_folder(), names[0])


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_damaged_counts_warn_once_and_are_recounted(tmp_path, reference, damage):
    corpus, expected, vocab = reference
    assert train(corpus, tmp_path / "v1.txt").returncode == 0
    path = _counts_path()
    data = open(path, "rb").read()
    open(path, "wb").write({"truncated": data[:len(data) // 2], "empty": b"",
                            "garbage": b"\x00\xff" * 100}[damage])
    second = train(corpus, tmp_path / "v2.txt", "--save-vocab", tmp_path / "vocab.txt")
    assert second.returncode == 0, second.stderr
    lines = second.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"staticvec: warning: the cached word counts {path} are damaged ("), second.stderr
    assert lines[0].endswith("); removed, counting again")
    assert (tmp_path / "v2.txt").read_bytes() == expected
    assert (tmp_path / "vocab.txt").read_bytes() == vocab
    assert cache.parse_counts(open(path, "rb").read())  # recounted and cached again


# ------------------------------------------------------------- a cache folder that cannot be used


def test_cache_folder_below_a_file_warns_once(tmp_path, reference):
    corpus, expected, _ = reference
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"x")
    result = train(corpus, tmp_path / "v.txt", env={"XDG_CACHE_HOME": str(blocker)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == (f"staticvec: warning: cannot use the cache folder "
                             f"{blocker}/staticvec (Not a directory); training without the "
                             f"cache\n")
    assert (tmp_path / "v.txt").read_bytes() == expected
    assert snapshot(tmp_path) == {"not-a-folder": b"x", "v.txt": expected}


# ------------------------------------------------------------- many jobs at once


def test_eight_jobs_at_once_on_an_uncached_corpus(tmp_path):
    """8 jobs start together on a corpus nobody has cached, 10 rounds: every one succeeds
    silently and writes the same bytes, and the cache ends with one whole entry."""
    corpus = tiny_corpus(tmp_path / "corpus.txt", lines=60)
    reference = train(corpus, tmp_path / "reference.txt", "--no-cache")
    assert reference.returncode == 0 and reference.stderr == "", reference.stderr
    expected = (tmp_path / "reference.txt").read_bytes()
    outputs = [tmp_path / f"v{k}.txt" for k in range(8)]
    for round_ in range(10):
        shutil.rmtree(cache_folder(), ignore_errors=True)
        jobs = [subprocess.Popen([sys.executable, "-m", "staticvec", "train-skipgram",
                                  str(corpus), "-o", str(output), *TRAIN, "-q"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for output in outputs]
        for job in jobs:
            _, err = job.communicate(timeout=120)
            assert job.returncode == 0 and err == "", (round_, job.returncode, err)
        for output in outputs:
            assert output.read_bytes() == expected, (round_, output.name)
        _assert_one_whole_entry()
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["corpus.txt", "reference.txt"] + [o.name for o in outputs])


def test_glove_jobs_spilling_into_one_tmp_dir(tmp_path):
    """GloVe jobs spilling co-occurrence runs into the same --tmp-dir at once: each has its
    own private folder there, all write the same bytes, and nothing is left behind."""
    corpus = tiny_corpus(tmp_path / "corpus.txt", lines=60)
    spill = tmp_path / "spill"
    spill.mkdir()
    command = [sys.executable, "-m", "staticvec", "train-glove", str(corpus), *TRAIN, "-q",
               "--memory", "0.001", "--tmp-dir", str(spill)]  # 1 MB: several spilled runs
    outputs = [tmp_path / f"g{k}.txt" for k in range(4)]
    for round_ in range(2):
        shutil.rmtree(cache_folder(), ignore_errors=True)
        jobs = [subprocess.Popen(command + ["-o", str(output)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for output in outputs]
        for job in jobs:
            _, err = job.communicate(timeout=120)
            assert job.returncode == 0 and err == "", (round_, err)
        assert len({output.read_bytes() for output in outputs}) == 1
        assert os.listdir(spill) == []
