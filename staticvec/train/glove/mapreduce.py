"""GloVe's co-occurrence counting as map-reduce on a Dask cluster (``train-glove --dask``).

map (one task per group of input shards, on a worker; ``map_groups``): read the shards'
    text, encode it with the vocabulary (broadcast to every worker once), count its window pairs with the
    single-process counter (``train/glove/counting.py``, the ``cooccur`` kernel; a context
    never crosses a line, so shards cut at line boundaries count exactly the pairs of the
    whole), and split the shard's upper-triangle counts into ``partitions`` parts by a hash
    of the row word (the smaller id of the pair);
reduce (one task per partition): concatenate that partition's parts from every map task,
    sort and add up equal pairs (exact integer units, so the sums do not depend on the
    order the parts arrive in): the partition's rows of the co-occurrence matrix, upper
    triangle, 16 bytes a pair;
fit (on the client, as now): the partitions are fetched one at a time, in partition order,
    into the ``RecordBuilder``, which makes the GloVe records of each pair (both directions,
    log x and f(x), by the same ``expand`` kernel as the single process, so the records
    are the single process's), shuffles them in memory or spills shuffled parts to
    --tmp-dir within --memory, and writes --save-cooccur; then ``fit.py`` trains.
    (The reduce tasks hand back pairs, not GloVe C records: half the bytes to move.)

Dask moves the parts between workers (no shared file system is needed) and spills them to
the workers' disks when they do not fit in memory. --memory bounds each map task's counter
(as it bounds the single-process counter) and the client's record builder.

A shard that cannot be read fails the job with the worker's error (its one line names the
file) and is not retried; Dask retries a task whose worker died (``scale.cluster.RETRIES``).
"""
import contextlib
import hashlib
import io
import itertools
import logging
import os
import tempfile
import time

import numpy as np

from staticvec.text import encoded

log = logging.getLogger(__name__)

_HASH = np.uint64(0x9E3779B97F4A7C15)   # Fibonacci hashing of the row word
_TABLES = {}                     # per worker process: the broadcast vocabulary's word table


def partition_of(keys, partitions):
    """The partition (0..partitions-1) of each upper-triangle pair key (lo << 32 | hi): a
    multiplicative hash of the row word lo, so frequent (low) ids spread over partitions."""
    lo = np.asarray(keys, dtype=np.uint64) >> np.uint64(32)
    with np.errstate(over="ignore"):
        mixed = (lo * _HASH) >> np.uint64(32)
    return (mixed % np.uint64(partitions)).astype(np.int64)


def vocab_key(words):
    """A short fingerprint of the vocabulary (which word table a worker has built)."""
    digest = hashlib.sha1()
    for w in words:
        digest.update(w.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _word_table(key, words):
    table = _TABLES.get(key)
    if table is None:
        from staticvec._kernels.tokenize import WordTable

        table = WordTable()
        table.add([w.encode("utf-8") for w in words])
        _TABLES.clear()              # one vocabulary at a time per worker process
        _TABLES[key] = table
    return table


def encode_in_memory(chunks, table, max_sentence_length):
    """(ids uint32, sentence ends uint64) of UTF-8 chunks that end on whitespace: the
    single-process encoder (``text.encoded.encode_chunks``) writing into memory."""
    ids_out, ends_out = io.BytesIO(), io.BytesIO()
    encoded.encode_chunks(chunks, table, ids_out, ends_out, max_sentence_length)
    return (np.frombuffer(ids_out.getbuffer(), dtype=np.uint32),
            np.frombuffer(ends_out.getbuffer(), dtype=np.uint64))


def count_shards(chunks_of, shards, words, key, window, memory_bytes, partitions,
                max_sentence_length, phrases=None, tmp_dir=None):
    """The map task: the upper-triangle counts of ``shards`` (read one after the other; each
    ends its last line) split into ``partitions`` PAIR arrays (each sorted by key, every pair
    once). ``chunks_of(shard)``: a shard's UTF-8 chunks.
    Returns {"parts": [...], "stats": {...}}."""
    from staticvec.errors import StaticvecError

    try:
        return _count_shards(chunks_of, shards, words, key, window, memory_bytes, partitions,
                            max_sentence_length, phrases, tmp_dir)
    except StaticvecError as exc:
        # bad input fails the same way on every worker: returned, not raised, so that Dask
        # neither retries it nor logs a traceback; the client raises it (``wait``)
        return {"parts": [_empty_pairs()] * partitions,
                "stats": {"shards": [describe_shard(x) for x in shards], "error": exc}}


def _count_shards(chunks_of, shards, words, key, window, memory_bytes, partitions,
                 max_sentence_length, phrases, tmp_dir):
    from staticvec.train.glove.counting import CooccurrenceCounts, TempArea

    started = time.perf_counter()
    table = _word_table(key, words)
    chunks = itertools.chain.from_iterable(chunks_of(x) for x in shards)
    if phrases is not None:
        chunks = phrases.join_chunks(chunks)
    ids, ends = encode_in_memory(chunks, table, max_sentence_length)
    read = time.perf_counter()
    pieces = [[] for _ in range(partitions)]
    with TempArea(tmp_dir or tempfile.gettempdir()) as temp:
        counts = CooccurrenceCounts(len(words), window, memory_bytes, temp, n_tokens=len(ids))
        counts.count(ids, ends)
        counts.finish_counting()
        for pairs in counts.chunks():
            where = partition_of(pairs["key"], partitions)
            order = np.argsort(where, kind="stable")
            bounds = np.searchsorted(where[order], np.arange(partitions + 1))
            for p in range(partitions):
                if bounds[p + 1] > bounds[p]:
                    pieces[p].append(pairs[order[bounds[p]:bounds[p + 1]]])
        del counts
    k = _kernel()
    parts = []
    for p in range(partitions):
        part = np.concatenate(pieces[p]) if pieces[p] else _empty_pairs()
        # the dense table and the spilled rest hold distinct pairs: sorting is all it takes
        parts.append(part[:k.sort_combine(part, len(part))] if len(part) else part)
        pieces[p] = None
    done = time.perf_counter()
    return {"parts": parts,
            "stats": {"shards": [describe_shard(x) for x in shards], "tokens": int(len(ids)),
                      "pairs": int(sum(len(p) for p in parts)), "read_s": read - started,
                      "count_s": done - read, "seconds": done - started, "pid": os.getpid()}}


def merge_partition(p, *parts):
    """The reduce task: partition ``p``'s parts from every map task summed (PAIR records,
    sorted by key, exact units). Returns {"pairs": ..., "stats": {...}}."""
    started = time.perf_counter()
    parts = [x for x in parts if len(x)]
    merged = np.concatenate(parts) if parts else _empty_pairs()
    n = _kernel().sort_combine(merged, len(merged)) if len(merged) else 0
    return {"pairs": merged[:n],
            "stats": {"partition": p, "parts_in": int(sum(len(x) for x in parts)),
                      "pairs": int(n), "seconds": time.perf_counter() - started,
                      "pid": os.getpid()}}


def _pick(result, name, index=None):
    value = result[name]
    return value if index is None else value[index]


def _kernel():
    from staticvec import _kernels

    return _kernels.load("cooccur")


def _empty_pairs():
    from staticvec.train.glove.counting import PAIR

    return np.zeros(0, dtype=PAIR)


def describe_shard(shard):
    name = str(getattr(shard, "name", shard))
    end = getattr(shard, "end", None)
    return name if end is None else f"{name} bytes {shard.start}-{end}"


def cluster_threads(client):
    return sum(client.nthreads().values()) or 1


def default_partitions(client):
    """One partition per worker thread (at least 2): every thread merges one."""
    return max(2, cluster_threads(client))


def map_groups(shards, client, per_thread=4):
    """The shards cut into at most ``per_thread`` groups per worker thread (contiguous, equal
    shard counts), one map task each. Every map task hands one part to every partition, so
    the tasks that move them number maps x partitions: grouping keeps that at 4 W^2 for W
    threads however many shards the corpus has (a 100B-token corpus in 64 MB shards is
    ~10,000 of them), while 4 tasks per thread still balance the load."""
    n = min(len(shards), per_thread * cluster_threads(client))
    return [shards[len(shards) * i // n:len(shards) * (i + 1) // n] for i in range(n)]


class DaskCooccurrence:
    """Submit the map and reduce tasks of one corpus; ``partitions()`` then yields each
    partition's GloVe records in partition order, ``stats`` the per-task figures."""

    def __init__(self, client, shards, chunks_of, words, *, window, memory_bytes,
                 max_sentence_length, phrases=None, partitions=None, progress=None):
        from staticvec.scale import cluster

        self.client = client
        self.progress = progress
        self.n_partitions = int(partitions or default_partitions(client))
        self.words = words
        key = vocab_key(words)
        [vocab] = client.scatter([list(words)], broadcast=True, hash=False)
        P = self.n_partitions
        run = f"{key[:8]}-{time.time_ns()}"   # task keys unique to this run
        self.groups = map_groups(list(shards), client)
        self.maps = [client.submit(count_shards, chunks_of, group, vocab, key, window,
                                   memory_bytes, P, max_sentence_length, phrases,
                                   key=f"glove-map-{i}-{run}", retries=cluster.RETRIES)
                     for i, group in enumerate(self.groups)]
        from staticvec.train.glove.counting import weight_units

        self.scale = weight_units(window, 1)[1]
        parts = [[client.submit(_pick, m, "parts", p, pure=False) for p in range(P)]
                 for m in self.maps]
        self.map_stats = [client.submit(_pick, m, "stats", pure=False) for m in self.maps]
        self.reduces = [client.submit(merge_partition, p, *[row[p] for row in parts],
                                      key=f"glove-reduce-{p}-{run}", retries=cluster.RETRIES)
                        for p in range(P)]
        self._parts = parts
        self.reduce_stats = [client.submit(_pick, r, "stats", pure=False) for r in self.reduces]

    def wait(self):
        """Wait for every task; returns (map stats, reduce stats); raises the first task
        error (a shard that cannot be read: its one-line message names the file)."""
        from staticvec.reporting import Stage

        from distributed import as_completed

        n = len(self.maps)
        with Stage(self.progress, "counting co-occurrences (dask)", n, unit="tasks") as bar:
            done = 0
            for future in as_completed(self.map_stats):
                error = future.result().get("error")  # (a crash raises the task's exception)
                if error is not None:
                    self.cancel()
                    raise error
                done += 1
                bar.update(done)
        self._parts = None
        self.maps = None                  # the parts live on in the reduce tasks' inputs
        self.map_stats = self.client.gather(self.map_stats)
        self.reduce_stats = self.client.gather(self.reduce_stats)
        return self.map_stats, self.reduce_stats

    def cancel(self):
        """Drop every task of this run (after a failure)."""
        futures = [f for group in (self.maps, self.map_stats, self.reduces, self.reduce_stats)
                   for f in (group or []) if hasattr(f, "cancel")]
        self.client.cancel(futures)

    def n_records(self):
        return 2 * sum(s["pairs"] for s in self.reduce_stats)

    def partitions(self):
        """Each partition's merged upper-triangle counts (PAIR, units of 1/``scale``),
        fetched one at a time in partition order, released once read."""
        for p in range(self.n_partitions):
            future = self.client.submit(_pick, self.reduces[p], "pairs", pure=False)
            pairs = future.result()
            self.reduces[p] = future = None
            yield pairs


# ---------------------------------------------------------------- the job's side (GloveJob)

def check_dask_job(job):
    """Refusals of ``train-glove --dask`` that need no work (usage errors, exit 2; a missing
    input, exit 1); keeps the expanded inputs (``job.sources``)."""
    from staticvec.errors import BadOptionError
    from staticvec.scale import inputs

    o = job.options
    if job.cooccur is not None:
        raise BadOptionError("--dask with --cooccur: the records are counted already (--dask "
                             "distributes the counting)")
    if o.checkpoint is not None:
        raise BadOptionError("--checkpoint/--resume with --dask: a checkpoint is bound to the "
                             "encoded corpus, which a --dask run never holds (save the "
                             "records with --save-cooccur and train from --cooccur instead)")
    job.sources = inputs.expand(job.paths)   # stdin, a missing file or glob: refused now


def client_of(job):
    """The Dask client of ``job`` (--dask), connected on first use and closed with the job's
    workspace."""
    from staticvec.scale.cluster import connect

    if getattr(job, "client", None) is None:
        job.client_scope = job.scope.enter_context(contextlib.ExitStack())
        job.client = job.client_scope.enter_context(connect(job.options.dask))
    return job.client


def dask_vocab(job, progress):
    """The vocabulary of a --dask run: --vocab, or counted on the cluster (with --phrases:
    counted on the client, phrases joined, as the single process does); the workers then
    read and encode the text themselves."""
    from staticvec.text.vocab import Vocab

    o = job.options
    if job.vocab_path is not None:
        vocab = Vocab.load(job.vocab_path, min_count=o.min_count, max_size=o.max_size)
        log.info(f"vocab: {len(vocab):,} words read from {job.vocab_path}")
        return vocab
    if o.phrases is None:
        from staticvec.scale import counting, inputs

        vocab = counting.build_vocab(client_of(job), inputs.plan_shards(job.sources),
                                     min_count=o.min_count, max_size=o.max_size,
                                     max_vocab_words=o.max_vocab_words,
                                     encoding_errors=o.encoding_errors, progress=progress)
    else:
        from staticvec.text.prepare import counted_vocab

        vocab = counted_vocab(job.paths, min_count=o.min_count, max_size=o.max_size,
                              max_vocab_words=o.max_vocab_words,
                              encoding_errors=o.encoding_errors, cache=o.cache,
                              progress=progress, phrases=_phrases(o))
    log.info(vocab.summary())
    return vocab


def _phrases(o):
    if o.phrases is None:
        return None
    from staticvec.text.phrases import PhraseTable

    return PhraseTable.load(o.phrases)


def dask_records(job, vocab, save, progress):
    """Count ``job``'s corpus on the cluster of --dask; returns the filled ``RecordBuilder``
    (``save``: the --save-cooccur file object or None). Per-task figures go to
    ``job.stats["dask"]``."""
    import functools

    from staticvec.train.glove.records import RecordBuilder

    from staticvec.scale import inputs

    o = job.options
    shards = inputs.plan_shards(job.sources)
    reader = functools.partial(inputs.shard_chunks, encoding_errors=o.encoding_errors)
    run = DaskCooccurrence(client_of(job), shards, reader, vocab.words, window=o.window,
                           memory_bytes=o.memory_bytes, max_sentence_length=o.max_sentence_length,
                           phrases=_phrases(o), progress=progress)
    map_stats, reduce_stats = run.wait()
    job.stats["dask"] = {"partitions": run.n_partitions, "maps": map_stats,
                         "reduces": reduce_stats}
    builder = RecordBuilder(run.n_records(), o, o.memory_bytes, job.temp, save)
    for pairs in run.partitions():
        builder.add_pairs(pairs, run.scale)
    job.client_scope.close()        # the fit runs here alone: the cluster's work is done
    job.client = None
    log.info(f"glove: co-occurrences of {len(shards)} shards counted by {len(run.groups)} Dask "
             f"tasks, merged in "
             f"{run.n_partitions} partitions")
    return builder
