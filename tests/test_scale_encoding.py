"""Sharded encodings on a Dask cluster (scale/encoding.py) and training from them: the
joined shards equal the single-process encoding (text/encoded.py, the reference), a model
trained with --dask/--encoded equals one trained on the text (--threads 1: the same bytes),
a rerun reuses the shards already written, and a shard that cannot be read fails the job
naming it with no manifest written."""
import gzip
import logging
import os
import random

import numpy as np
import pytest

pytest.importorskip("distributed")

from conftest import assert_fails_cleanly, run_cli  # noqa: E402
from staticvec.errors import InputError  # noqa: E402
from staticvec.scale import encoding, inputs  # noqa: E402
from staticvec.text import encoded as encoded_mod  # noqa: E402
from staticvec.text import vocab as vocab_mod  # noqa: E402


def _text(seed, lines, last_newline=True):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(60)] + ["déjà", "x" * 150]
    body = "\n".join(" ".join(rng.choice(words[:rng.randint(5, 62)])
                              for _ in range(rng.randint(0, 30))) for _ in range(lines))
    return (body + ("\n" if last_newline else "")).encode("utf-8")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("enc-corpus")
    (folder / "a.txt").write_bytes(_text(1, 300))
    (folder / "b.txt").write_bytes(_text(2, 200, last_newline=False))
    (folder / "c.txt.gz").write_bytes(gzip.compress(_text(3, 150)))
    return [str(folder / n) for n in ("a.txt", "b.txt", "c.txt.gz")]


@pytest.fixture(scope="module")
def vocab(files):
    return vocab_mod.build_vocab(files, min_count=3)


def _encode(client, files, vocab, folder, shard_bytes=900, **options):
    shards = inputs.plan_shards(inputs.expand(files), shard_bytes)
    return encoding.encode_shards(client, shards, vocab, str(folder), **options), shards


def _state(folder):
    return {name: (os.stat(folder / name).st_ino, os.stat(folder / name).st_mtime_ns)
            for name in os.listdir(folder) if name != "manifest"}


def test_joined_shards_equal_the_single_process_encoding(dask_cluster, files, vocab, tmp_path):
    client, _ = dask_cluster
    manifest, shards = _encode(client, files, vocab, tmp_path / "set", max_sentence_length=7)
    assert len(manifest["shards"]) == len(shards) > 6
    got_vocab, got = encoding.load_shard_set(str(tmp_path / "set"))
    ref = encoded_mod.encode_corpus(files, vocab, max_sentence_length=7, cache=False)
    assert np.array_equal(got.ids, ref.ids)
    assert np.array_equal(got.sentence_ends, ref.sentence_ends)
    assert (got.raw_tokens, got.splits) == (ref.raw_tokens, ref.splits) and ref.splits > 0
    assert got_vocab.words == vocab.words and np.array_equal(got_vocab.counts, vocab.counts)
    assert (got_vocab.total_tokens, got_vocab.total_lines, got_vocab.min_count) == \
        (vocab.total_tokens, vocab.total_lines, vocab.min_count)
    # a second load maps the joined corpus from the cache
    again = encoding.load_shard_set(str(tmp_path / "set"))[1]
    assert again.source is not None and np.array_equal(again.ids, ref.ids)


def test_a_rerun_reuses_the_shards_written(dask_cluster, files, vocab, tmp_path, caplog):
    client, _ = dask_cluster
    folder = tmp_path / "set"
    first, _ = _encode(client, files, vocab, folder)
    before = _state(folder)
    manifest = (folder / "manifest").read_bytes()
    # an interrupted run: no manifest, one shard's record never written
    (folder / "manifest").unlink()
    lost = first["shards"][2]["key"]
    os.unlink(folder / f"{lost}.json")
    with caplog.at_level(logging.INFO, logger="staticvec"):
        again, _ = _encode(client, files, vocab, folder)
    after = _state(folder)
    assert again == first and (folder / "manifest").read_bytes() == manifest
    changed = {name for name in before if before[name] != after.get(name)}
    # re-encoded: that shard only (the vocabulary is written again with every manifest)
    assert changed == {f"{lost}.ids.u32", f"{lost}.ends.u64", f"{lost}.json", "vocab.txt"}
    assert f"{len(first['shards']) - 1:,} of {len(first['shards']):,} reused" in caplog.text
    # another vocabulary is another encoding: nothing reused; the folder then holds the new
    # set alone (the old shards and a killed task's temporary are removed)
    other = vocab_mod.build_vocab(files, min_count=3, max_size=20)
    (folder / ".tmp-killed.ids").write_bytes(b"x")
    newer, _ = _encode(client, files, other, folder)
    assert not set(_state(folder)) & set(before) - {"vocab.txt"}
    assert sorted(_state(folder)) == sorted(
        [f"{r['key']}.{ext}" for r in newer["shards"] for ext in ("ids.u32", "ends.u64", "json")]
        + ["vocab.txt"])


def test_an_unreadable_shard_fails_with_no_manifest(dask_cluster, files, vocab, tmp_path):
    client, _ = dask_cluster
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(gzip.compress(_text(7, 300))[:-25])
    with pytest.raises(InputError, match=f"cannot read {bad}: damaged compressed data"):
        _encode(client, files + [str(bad)], vocab, tmp_path / "set")
    left = os.listdir(tmp_path / "set")
    assert "manifest" not in left and not [n for n in left if n.startswith(".tmp-")]


def _train(*args):
    result = run_cli(*args, "--threads", "1", "--dim", "16", "--epochs", "2", "-q")
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def pipeline(dask_cluster, files, tmp_path_factory):
    """The whole pipeline once: train-skipgram on globs and a URL with --dask and
    --encoded-dir; returns (its output folder, the shard set)."""
    _, address = dask_cluster
    top = tmp_path_factory.mktemp("pipeline")
    (top / "out").mkdir()
    folder = str(files[0]).rsplit("/", 1)[0]
    _train("train-skipgram", f"{folder}/[ab].txt", f"file://{files[2]}", "-o",
           top / "out" / "v.bin", "--min-count", "3", "--dask", address, "--encoded-dir",
           top / "set")
    return top / "out", top / "set"


@pytest.mark.parametrize("command, output, extra", [
    ("train-skipgram", "v.bin", []),
    ("train-glove", "v.txt", []),
    ("train-fasttext", "m", ["--bucket", "500"]),
])
def test_training_from_shards_equals_training_on_the_text(pipeline, files, tmp_path,
                                                          command, output, extra):
    dask_out, shard_set = pipeline
    ref, enc = tmp_path / "ref", tmp_path / "enc"
    ref.mkdir()
    enc.mkdir()
    _train(command, *files, "-o", ref / output, "--min-count", "3", *extra)
    _train(command, "--encoded", shard_set, "-o", enc / output, *extra)
    assert sorted(os.listdir(enc)) == sorted(os.listdir(ref))
    for name in os.listdir(ref):
        assert (enc / name).read_bytes() == (ref / name).read_bytes(), name
        if command == "train-skipgram":  # and the run that encoded on the cluster
            assert (dask_out / name).read_bytes() == (ref / name).read_bytes()


def test_phrases_joined_on_the_cluster_as_on_one_machine(dask_cluster, files, tmp_path):
    from staticvec.text import phrases

    _, address = dask_cluster
    table = tmp_path / "phrases.txt"
    phrases.find_phrases(files, str(tmp_path / "joined.txt"), min_count=3, threshold=0.5,
                         save_phrases=str(table))
    assert table.stat().st_size > 0
    args = ["--min-count", "3", "--phrases", table, "-o"]
    _train("train-cbow", *files, *args, tmp_path / "ref.bin")
    _train("train-cbow", *files, *args, tmp_path / "got.bin", "--dask", address,
           "--encoded-dir", tmp_path / "set")
    assert (tmp_path / "got.bin").read_bytes() == (tmp_path / "ref.bin").read_bytes()
    saved = phrases.PhraseTable.load(str(tmp_path / "set" / "phrases.txt"))
    assert saved.digest == phrases.PhraseTable.load(str(table)).digest  # the same phrases


def test_a_damaged_shard_is_found_when_joining(dask_cluster, files, vocab, tmp_path):
    client, _ = dask_cluster
    manifest, _ = _encode(client, files, vocab, tmp_path / "set")
    key = manifest["shards"][1]["key"]
    path = tmp_path / "set" / f"{key}.ids.u32"
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    result = run_cli("train-cbow", "--encoded", tmp_path / "set", "-o", tmp_path / "v.bin", "-q")
    assert_fails_cleanly(result, 1, f"{tmp_path / 'set'}/{key}.ids.u32 does not match the "
                                    f"manifest (SHA-256): the shard set is damaged")
    assert not (tmp_path / "v.bin").exists()
