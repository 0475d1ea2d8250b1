"""Sharded encodings: the corpus encoded on a Dask cluster into a folder (or URL) of shards,
and trained from on one machine (``--encoded-dir`` to write, ``--encoded`` to read).

The folder (``--encoded-dir DIR|URL``) holds:

    KEY.ids.u32, KEY.ends.u64   one shard: its token ids, and its sentence ends (from 0)
    KEY.json                    the shard's record (sealed): its source and byte range, the
                                input fingerprint, counts and the arrays' SHA-256
    vocab.txt                   the vocabulary (the ``vocab`` command's format)
    phrases.txt                 the phrase table joined while reading (with --phrases)
    manifest                    written LAST, atomically: the shards in corpus order, the
                                totals, the vocabulary's statistics and SHA-256, the options

A shard's KEY is a hash of its input fingerprint (source identity and byte range) and of
the encoding (the vocabulary's words in id order, --encoding-errors, --max-sentence-length,
the phrase table), so a rerun with the same inputs and vocabulary finds a shard it has
already written (its record and arrays whole) and reuses it: preprocessing is resumable.
A task writes its arrays under temporary names, renames them, then writes the record; a
task that fails leaves no file under a shard's name, and nothing is listed in a manifest
before every shard is whole. Once the manifest is written, the shards it does not list (an
earlier set's) and any temporaries left by killed tasks are removed: a folder holds one set,
written by one job at a time. The vocabulary and the phrase table are sent to the workers
once (``scatter(broadcast=True)``); each worker process builds its C word table once.

Reading (``load_shard_set``): the kernels walk one contiguous id array (a sentence is
``ids[ends[s-1]:ends[s]]``), and a file mapping can only start on a page boundary, so the
shards cannot be mapped side by side as one array. They are joined once, in order, into one
encoded corpus in the cache (the sentence ends shifted by the tokens before each shard, every
shard checked against its SHA-256 as it is copied), keyed by the manifest's hash: every
later training on the shard set maps that file (threads' shares then cross shard boundaries
freely, and the result is the one training on the text gives). ``--no-cache`` joins them
into a private temporary folder instead.
"""
import hashlib
import json
import logging
import os
import re
import uuid

import numpy as np

from staticvec.errors import FormatError, InputError, OutputError
from staticvec.reporting import Stage
from staticvec.scale import cluster, inputs
from staticvec.text import cache as cache_store
from staticvec.text.cache import CacheDamaged, seal, unseal
from staticvec.text.encoded import encode_chunks, keyed_corpus, word_table
from staticvec.text.vocab import MAX_COUNT, SENTENCE_END, Vocab, parse_line

log = logging.getLogger(__name__)

MANIFEST, VOCAB_FILE, PHRASES_FILE = "manifest", "vocab.txt", "phrases.txt"
MANIFEST_MAX_BYTES = 1 << 30
RECORD_MAX_BYTES = 1 << 20
COPY_BLOCK = 1 << 22  # bytes copied at a time when the shards are joined
_VOCAB_STATS = ("total_tokens", "total_lines", "distinct", "pruned_below", "long_words",
                "min_count")
_SHARD_COUNTS = ("n_tokens", "n_sentences", "raw_tokens", "splits")


class Encoding:
    """What every encoding task needs, sent to each worker once: the vocabulary's words in id
    order, the reading options and the phrase table (or None); ``digest`` names them all."""

    def __init__(self, words, encoding_errors, max_sentence_length, phrases=None):
        self.words = list(words)
        self.encoding_errors = encoding_errors
        self.max_sentence_length = int(max_sentence_length)
        self.phrases = phrases
        digest = hashlib.sha256(b"staticvec-shard-encoding 1\n")
        digest.update(f"{encoding_errors}\0{self.max_sentence_length}\0"
                      f"{phrases.digest if phrases is not None else ''}\n".encode())
        digest.update("\n".join(self.words).encode("utf-8"))
        self.digest = digest.hexdigest()

    def options(self):
        return {"encoding_errors": self.encoding_errors,
                "max_sentence_length": self.max_sentence_length,
                "phrases": self.phrases.digest if self.phrases is not None else None,
                "digest": self.digest}


def _filesystem(folder):
    try:
        import fsspec.core
    except ImportError:
        raise InputError("sharded encodings need fsspec: install the dask extra "
                         "(pip install 'staticvec[dask]')") from None
    try:
        return fsspec.core.url_to_fs(os.fspath(folder))
    except (ImportError, ValueError) as exc:
        raise InputError(f"cannot use {folder}: {exc}") from None


def _join(root, name):
    return root.rstrip("/") + "/" + name


def _put(fs, path, data):
    """``data`` written under a temporary name in the same folder, then renamed to ``path``."""
    tmp = _join(path.rpartition("/")[0], f".tmp-{uuid.uuid4().hex}")
    try:
        with fs.open(tmp, "wb") as out:
            out.write(data)
        fs.mv(tmp, path)
    except BaseException:
        _remove(fs, tmp)
        raise


def _remove(fs, path):
    try:
        fs.rm(path)
    except (OSError, ValueError):
        pass


def _read(fs, path, limit, block=1 << 20):
    """The whole file, refused past ``limit`` bytes; read a block at a time, so that a small
    file does not cost an allocation of the limit."""
    parts, size = [], 0
    with fs.open(path, "rb") as handle:
        while True:
            part = handle.read(min(block, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
            if size > limit:
                raise CacheDamaged("it is too large")
    return b"".join(parts)


# ---------------------------------------------------------------- writing (on the workers)
class _Hashing:
    """A writer that also hashes what it writes."""

    def __init__(self, out):
        self.out, self.digest = out, hashlib.sha256()

    def write(self, data):
        self.digest.update(data)
        self.out.write(data)


_TABLES = {}  # (in a worker process) the C word table of an Encoding, built once


def _table(encoding):
    table = _TABLES.get(encoding.digest)
    if table is None:
        _TABLES.clear()
        table = _TABLES[encoding.digest] = word_table(encoding.words)
    return table


def shard_key(shard, encoding):
    return hashlib.sha256(f"{shard.fingerprint}\0{encoding.digest}".encode()).hexdigest()[:32]


def _parse_record(data, key):
    return _check_record(unseal("shard", data), key)


def _check_record(record, key):
    """The record of shard ``key``, once its fields are sound; CacheDamaged otherwise."""
    if record.get("key") != key:
        raise CacheDamaged("it belongs to another shard")
    for name in _SHARD_COUNTS:
        value = record.get(name)
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            raise CacheDamaged(f"its {name} is not a count")
    for name in ("ids_sha256", "ends_sha256"):
        value = record.get(name)
        if not isinstance(value, str) or len(value) != 64:
            raise CacheDamaged(f"its {name} is not a SHA-256")
    if record["n_sentences"] > record["n_tokens"] or record["n_tokens"] > record["raw_tokens"]:
        raise CacheDamaged("its counts are inconsistent")
    return record


def _existing(fs, root, key):
    """The record of shard ``key`` when it and its arrays are whole (sizes as recorded),
    else None: a shard a previous run finished, reused."""
    try:
        record = _parse_record(_read(fs, _join(root, f"{key}.json"), RECORD_MAX_BYTES), key)
        if fs.size(_join(root, f"{key}.ids.u32")) != 4 * record["n_tokens"] or \
                fs.size(_join(root, f"{key}.ends.u64")) != 8 * record["n_sentences"]:
            return None
    except (OSError, CacheDamaged):
        return None
    return record


def encode_shard(shard, encoding, folder):
    """Task: shard ``shard`` encoded into ``folder`` (or found there whole); its record."""
    fs, root = _filesystem(folder)
    key = shard_key(shard, encoding)
    record = _existing(fs, root, key)
    if record is not None:
        return dict(record, reused=True)
    tmp = _join(root, f".tmp-{key}-{uuid.uuid4().hex}")
    made = []
    try:
        try:
            made += [tmp + ".ids", tmp + ".ends"]
            with fs.open(made[0], "wb") as ids_raw, fs.open(made[1], "wb") as ends_raw:
                ids_out, ends_out = _Hashing(ids_raw), _Hashing(ends_raw)
                chunks = inputs.shard_chunks(shard, encoding.encoding_errors)
                if encoding.phrases is not None:
                    chunks = encoding.phrases.join_chunks(chunks)
                meta = encode_chunks(chunks, _table(encoding), ids_out, ends_out,
                                     encoding.max_sentence_length)
            fs.mv(made[0], _join(root, f"{key}.ids.u32"))
            fs.mv(made[1], _join(root, f"{key}.ends.u64"))
            record = {"key": key, "source": shard.name, "start": shard.start,
                      "end": shard.end, "fingerprint": shard.fingerprint,
                      "n_tokens": meta["n_ids"], "n_sentences": meta["n_ends"],
                      "raw_tokens": meta["raw_tokens"], "splits": meta["splits"],
                      "ids_sha256": ids_out.digest.hexdigest(),
                      "ends_sha256": ends_out.digest.hexdigest()}
            _put(fs, _join(root, f"{key}.json"),
                 seal("shard", json.dumps(record, sort_keys=True).encode()))
        except OSError as exc:
            raise OutputError(f"cannot write the encoded shard of {shard.name} to {folder}: "
                              f"{exc.strerror or exc}") from None
    except BaseException:
        for path in made:
            _remove(fs, path)
        raise
    return dict(record, reused=False)


# ---------------------------------------------------------------- writing (the client)
def encode_shards(client, shards, vocab, folder, *, encoding_errors="strict",
                  max_sentence_length=10000, phrases=None, progress=None):
    """Encode ``shards`` under ``vocab`` into ``folder`` on the cluster, reusing the shards a
    previous run finished; the manifest is written last. Returns the manifest record."""
    fs, root = _filesystem(folder)
    try:
        fs.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {folder}: {exc.strerror or exc}") from None
    encoding = Encoding(vocab.words, encoding_errors, max_sentence_length, phrases)
    [shared] = client.scatter([encoding], broadcast=True, hash=False)
    futures = client.map(encode_shard, shards, encoding=shared, folder=os.fspath(folder),
                         retries=cluster.RETRIES, pure=False)
    cluster.wait_all(futures, progress, "encoding shards on the cluster")
    records = client.gather(futures)
    reused = sum(r.pop("reused") for r in records)
    if reused:
        log.info(f"encoded shards: {reused:,} of {len(records):,} reused from {folder}")
    return finish_set(folder, records, vocab, encoding, phrases)


def finish_set(folder, records, vocab, encoding, phrases=None):
    """Publish the shard set of ``records`` (in corpus order) in ``folder``: the vocabulary,
    the phrase table, then the manifest, last; then sweep what it does not list. Returns the
    manifest record."""
    fs, root = _filesystem(folder)
    vocab_bytes = vocab.file_bytes()
    manifest = {
        "format": "staticvec-shards 1", "shards": records,
        "vocab": {"file": VOCAB_FILE, "sha256": hashlib.sha256(vocab_bytes).hexdigest(),
                  "words": len(vocab),
                  **{name: int(getattr(vocab, name)) for name in _VOCAB_STATS}},
        "encoding": encoding.options(),
        **{name: sum(r[name] for r in records) for name in _SHARD_COUNTS}}
    try:
        _put(fs, _join(root, VOCAB_FILE), vocab_bytes)
        if phrases is not None:
            _put(fs, _join(root, PHRASES_FILE), phrases.text().encode("utf-8"))
        elif fs.exists(_join(root, PHRASES_FILE)):  # an earlier set's
            _remove(fs, _join(root, PHRASES_FILE))
        _put(fs, _join(root, MANIFEST),
             seal("shards", json.dumps(manifest, sort_keys=True).encode()))
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    _sweep(fs, root, {r["key"] for r in records})
    log.info(f"encoded shards: {len(records):,} shards, {manifest['n_tokens']:,} tokens "
             f"written to {folder}")
    return manifest


_SHARD_NAME = re.compile(r"[0-9a-f]{32}\.(?:ids\.u32|ends\.u64|json)")


def _sweep(fs, root, keep):
    """Once a manifest is written: remove the shards it does not list (an earlier set's, e.g.
    under another vocabulary) and the temporaries of tasks that failed or were killed. (One
    job writes a folder at a time.)"""
    try:
        names = fs.ls(root, detail=False)
    except OSError:
        return
    for path in names:
        name = path.rstrip("/").rpartition("/")[2]
        if name.startswith(".tmp-") or (_SHARD_NAME.fullmatch(name) and name[:32] not in keep):
            _remove(fs, path)


# ---------------------------------------------------------------- reading (training)
def _manifest(fs, root, folder):
    where = f"{_join(str(folder), MANIFEST)}"
    try:
        data = _read(fs, _join(root, MANIFEST), MANIFEST_MAX_BYTES)
    except FileNotFoundError:
        if not fs.exists(root):
            raise InputError(f"cannot read {folder}: no such folder") from None
        raise InputError(f"{folder} is not a finished shard set (no manifest; an interrupted "
                         f"--encoded-dir is finished by running it again)") from None
    except (OSError, CacheDamaged) as exc:
        raise FormatError(f"{where}: cannot read it ({getattr(exc, 'strerror', None) or exc})") \
            from None
    try:
        record = unseal("shards", data)
        if record.get("format") != "staticvec-shards 1":
            raise CacheDamaged("not a staticvec shard set manifest")
        shards = record.get("shards")
        if not isinstance(shards, list) or not all(isinstance(s, dict) for s in shards):
            raise CacheDamaged("its shards are not a list of records")
        shards = [_check_record(s, s.get("key")) for s in shards]
        vocab = record.get("vocab")
        if not isinstance(vocab, dict) or not isinstance(vocab.get("sha256"), str) or any(
                type(vocab.get(n)) is not int or not 0 <= vocab[n] <= MAX_COUNT
                for n in _VOCAB_STATS + ("words",)):
            raise CacheDamaged("its vocabulary record is damaged")
        for name in _SHARD_COUNTS:
            if record.get(name) != sum(s[name] for s in shards):
                raise CacheDamaged(f"its {name} does not add up")
    except CacheDamaged as exc:
        raise FormatError(f"{where}: damaged ({exc})") from None
    record["shards"] = shards
    return record, data


def _vocab(fs, root, folder, record):
    where = _join(str(folder), VOCAB_FILE)
    try:
        data = _read(fs, _join(root, VOCAB_FILE), MANIFEST_MAX_BYTES * 4)
    except (OSError, CacheDamaged) as exc:
        raise FormatError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    if hashlib.sha256(data).hexdigest() != record["vocab"]["sha256"]:
        raise FormatError(f"{where} does not match the manifest (SHA-256)")
    words, counts = [], []
    for number, raw in enumerate(data.split(b"\n"), 1):
        parsed = parse_line(raw, where, number)
        if parsed is not None and parsed[0] != SENTENCE_END:
            words.append(parsed[0])
            counts.append(parsed[1])
    if len(set(words)) != len(words):  # (a word's id is its line: a repeat cannot be dropped)
        raise FormatError(f"{where}: a word appears twice")
    if len(words) != record["vocab"]["words"]:
        raise FormatError(f"{where} does not match the manifest (word count)")
    stats = {name: record["vocab"][name] for name in _VOCAB_STATS}
    return Vocab(words, counts, **stats)


def _check_joined(target, n_tokens, vocab_size, folder):
    """The joined arrays checked as a cached corpus is before the kernels index with them:
    matching SHA-256 only say the shards are what the manifest's writer listed."""
    arrays = []
    for name, dtype in ((cache_store.IDS_FILE, np.uint32), (cache_store.ENDS_FILE, np.uint64)):
        path = os.path.join(target, name)
        arrays.append(np.memmap(path, dtype=dtype, mode="r") if os.path.getsize(path)
                      else np.zeros(0, dtype=dtype))
    try:
        cache_store.check_arrays(*arrays, n_tokens, vocab_size)
    except CacheDamaged as exc:
        raise FormatError(f"{folder}: the shard set is damaged ({exc})") from None


def _copy_shard(fs, root, folder, shard, ids_out, ends_out, base, stage, done):
    """Append shard ``shard`` to the joined arrays (its ends shifted by ``base``), checking
    it against its record; returns the bytes copied so far."""
    for suffix, digest_name, out, shift in ((".ids.u32", "ids_sha256", ids_out, None),
                                            (".ends.u64", "ends_sha256", ends_out, base)):
        name = _join(str(folder), shard["key"] + suffix)
        digest, size = hashlib.sha256(), 0
        try:
            with fs.open(_join(root, shard["key"] + suffix), "rb") as handle:
                while True:
                    block = handle.read(COPY_BLOCK)
                    if not block:
                        break
                    digest.update(block)
                    size += len(block)
                    if shift:
                        if len(block) % 8:
                            raise FormatError(f"{name}: not a whole number of sentence ends")
                        block = (np.frombuffer(block, dtype="<u8") + np.uint64(shift)).tobytes()
                    out.write(block)
                    done += len(block)
                    stage.update(done)
        except FileNotFoundError:
            raise InputError(f"cannot read {name}: no such file (the shard set is "
                             f"incomplete)") from None
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
        expected = shard["n_tokens"] * 4 if shift is None else shard["n_sentences"] * 8
        if size != expected:
            raise FormatError(f"{name} holds {size:,} bytes, the manifest says {expected:,} bytes: "
                              f"the shard set is damaged")
        if digest.hexdigest() != shard[digest_name]:
            raise FormatError(f"{name} does not match the manifest (SHA-256): the shard set "
                              f"is damaged")
    return done


def load_shard_set(folder, cache=True, progress=None):
    """(Vocab, EncodedCorpus) of the shard set in ``folder`` (see the module docstring)."""
    fs, root = _filesystem(folder)
    record, manifest_bytes = _manifest(fs, root, folder)
    vocab = _vocab(fs, root, folder, record)
    key = hashlib.sha256(b"staticvec-joined-shards 1\n" + manifest_bytes).hexdigest()[:32]
    total = 12 * record["n_tokens"]  # (an upper bound of the bytes to copy)

    def join(target):
        base = done = 0
        with open(os.path.join(target, cache_store.IDS_FILE), "wb") as ids_out, \
                open(os.path.join(target, cache_store.ENDS_FILE), "wb") as ends_out, \
                Stage(progress, "joining shards", total, unit="bytes") as stage:
            for shard in record["shards"]:
                done = _copy_shard(fs, root, folder, shard, ids_out, ends_out, base, stage,
                                   done)
                base += shard["n_tokens"]
        _check_joined(target, record["n_tokens"], len(vocab), folder)
        return {"n_ids": record["n_tokens"], "n_ends": record["n_sentences"],
                "raw_tokens": record["raw_tokens"], "splits": record["splits"]}

    encoded = keyed_corpus(join, key, len(vocab), cache)
    log.info(f"encoded corpus: {encoded.n_tokens:,} tokens, {encoded.n_sentences:,} sentences "
             f"in {len(record['shards']):,} shards from {folder}")
    return vocab, encoded


# ---------------------------------------------------------------- the trainers' front door
def prepare_sharded(paths, *, dask=None, encoded_dir=None, encoded=None, vocab_path=None,
                    min_count=5, max_size=None, max_vocab_words=30_000_000,
                    encoding_errors="strict", max_sentence_length=10000, cache=True,
                    phrases=None, progress=None):
    """``text.prepare.prepare`` for --encoded DIR (train from a shard set) and for --dask
    with --encoded-dir (count and encode on the cluster into DIR, then train from it)."""
    if encoded is None:
        from staticvec.scale import counting

        table = None
        if phrases is not None:
            from staticvec.text.phrases import PhraseTable

            table = PhraseTable.load(phrases)
            log.info(f"phrases: {len(table):,} read from {phrases}")
        shards = inputs.plan_shards(inputs.expand(paths))
        with cluster.connect(dask) as client:
            if vocab_path is not None:
                vocab = Vocab.load(vocab_path, min_count=min_count, max_size=max_size)
                log.info(f"vocab: {len(vocab):,} words read from {vocab_path}")
            else:
                vocab = counting.build_vocab(client, shards, min_count, max_size,
                                             max_vocab_words, encoding_errors, progress, table)
                log.info(vocab.summary())
            encode_shards(client, shards, vocab, encoded_dir, encoding_errors=encoding_errors,
                          max_sentence_length=max_sentence_length, phrases=table,
                          progress=progress)
        encoded = encoded_dir
    vocab, corpus = load_shard_set(encoded, cache, progress)
    if corpus.n_tokens == 0:
        raise InputError("no word of the corpus is in the vocabulary: nothing to train on")
    return vocab, corpus
