"""GloVe co-occurrence counting on Dask (``train-glove --dask``): the merged matrix equals
the single-process count, on a LocalCluster of two worker processes, with the input split
into several files (one of them compressed); a shard that cannot be read fails the job with
its own error, naming the file."""
import functools
import gzip

import numpy as np
import pytest

pytest.importorskip("distributed")

from staticvec.errors import InputError  # noqa: E402
from staticvec.scale import inputs  # noqa: E402
from staticvec.text.encoded import encode_corpus  # noqa: E402
from staticvec.text.vocab import build_vocab  # noqa: E402
from staticvec.train.glove import mapreduce  # noqa: E402
from staticvec.train.glove.counting import CooccurrenceCounts, TempArea  # noqa: E402
from staticvec.train.glove.records import pairs_to_crecs  # noqa: E402

READER = functools.partial(inputs.shard_chunks, encoding_errors="strict")


@pytest.fixture
def client(dask_cluster):
    return dask_cluster[0]


def write_corpus(folder, n_files=4, lines=300, seed=3):
    """Zipf-ish words on lines of 1..40 tokens (some longer than --max-sentence-length below),
    split over ``n_files`` files; the last one gzip-compressed."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(400)]
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    paths = []
    for f in range(n_files):
        text = "".join(" ".join(rng.choice(vocab, size=rng.integers(1, 40), p=p)) + "\n"
                       for _ in range(lines))
        if f == n_files - 1:
            path = folder / f"part{f}.txt.gz"
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path = folder / f"part{f}.txt"
            path.write_text(text[:-1] if f == 0 else text)   # one file without a last newline
        paths.append(str(path))
    return paths


def single_process(paths, vocab, window, max_sentence, tmp_path):
    """GloVe C records of the single-process count, in (w1, w2) order."""
    encoded = encode_corpus(paths, vocab, max_sentence_length=max_sentence, cache=False)
    with TempArea(str(tmp_path)) as temp:
        counts = CooccurrenceCounts(len(vocab), window, 1 << 20, temp)
        counts.count(encoded.ids, encoded.sentence_ends)
        counts.finish_counting()
        crecs = np.concatenate([pairs_to_crecs(c, counts.scale) for c in counts.chunks()])
    return np.sort(crecs, order=["w1", "w2"])


@pytest.mark.parametrize("window,memory", [(5, 1 << 16), (12, 64 << 20)])
def test_merged_matrix_equals_single_process(client, tmp_path, window, memory):
    """A tiny --memory makes every map task spill sorted runs; a large one keeps all in the
    dense table: either way each partition's merge gives the single-process counts."""
    paths = write_corpus(tmp_path)
    vocab = build_vocab(paths, min_count=2)
    max_sentence = 25
    reference = single_process(paths, vocab, window, max_sentence, tmp_path)
    # plain files cut into byte ranges of 2 kB (several shards each), the .gz one whole
    shards = inputs.plan_shards(inputs.expand(paths), shard_bytes=2048)
    assert len(shards) > 2 * len(paths)
    run = mapreduce.DaskCooccurrence(client, shards, READER, vocab.words,
                                     window=window, memory_bytes=memory,
                                     max_sentence_length=max_sentence, partitions=5)
    map_stats, reduce_stats = run.wait()
    # 4 map tasks per worker thread, each a run of consecutive shards
    assert len(map_stats) == len(run.groups) == 8 and len(reduce_stats) == 5
    assert [x for group in run.groups for x in group] == shards
    assert sum(s["tokens"] for s in map_stats) == len(encode_corpus(
        paths, vocab, max_sentence_length=max_sentence, cache=False).ids)
    parts = [pairs_to_crecs(p, run.scale) for p in run.partitions()]
    # every row word lives in exactly one partition
    rows = [set(np.minimum(p["w1"], p["w2"]).tolist()) for p in parts]
    assert sum(len(r) for r in rows) == len(set().union(*rows))
    merged = np.sort(np.concatenate(parts), order=["w1", "w2"])
    assert len(merged) == len(reference) > 1000
    assert np.array_equal(merged["w1"], reference["w1"])
    assert np.array_equal(merged["w2"], reference["w2"])
    np.testing.assert_allclose(merged["x"], reference["x"], rtol=1e-6, atol=0)
    diagonal = int(np.count_nonzero(merged["w1"] == merged["w2"]))
    assert 2 * sum(s["pairs"] for s in reduce_stats) == len(merged) + diagonal == \
        run.n_records()

def test_a_shard_that_cannot_be_read_fails_the_run_naming_it(client, tmp_path):
    paths = write_corpus(tmp_path, n_files=3)
    vocab = build_vocab(paths, min_count=2)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"w1 w2\nw3 \xff w4\n")
    shards = inputs.plan_shards(inputs.expand([paths[0], str(bad), paths[1]]))
    run = mapreduce.DaskCooccurrence(client, shards, READER, vocab.words, window=5,
                                     memory_bytes=1 << 20, max_sentence_length=100)
    with pytest.raises(InputError, match=r"bad\.txt: invalid UTF-8 at byte offset 9"):
        run.wait()


def test_partition_of_spreads_row_words_and_ignores_the_column():
    lo = np.arange(10000, dtype=np.uint64)
    keys = (lo << np.uint64(32)) | np.uint64(7)
    where = mapreduce.partition_of(keys, 8)
    assert where.min() == 0 and where.max() == 7
    assert np.bincount(where).min() > 10000 / 8 * 0.8
    other = mapreduce.partition_of((lo << np.uint64(32)) | np.uint64(12345), 8)
    assert np.array_equal(where, other)
