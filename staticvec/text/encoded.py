"""The encoded corpus: token ids as a uint32 stream plus sentence ends, cached on disk.

Training reads the corpus many times (epochs, and often several models on one corpus),
so the text is tokenised once into ids that the kernels can walk under ``nogil``. The
encoding is cached under ``$XDG_CACHE_HOME/staticvec`` (default ``~/.cache/staticvec``), so
a second training on the same corpus skips tokenisation, and the word counts beside it.

The cache must never hand back stale or damaged data, and many jobs share it at once:

- A key covers every input's path, size, mtime_ns, ctime_ns, device and inode (as git's
  index does) and a hash of a content sample (64 blocks of 4 KiB spread over the file, all
  of it when small), the vocabulary and the reading options.
- An entry is a folder ``KEY/`` (``ids.u32``, ``ends.u64``, ``manifest``) built under a
  unique temporary name in the cache folder and published by one rename, the manifest
  written last; a second job publishing the same entry finds it there and keeps its own.
- A reader checks the manifest (its own checksum, version, sizes), the arrays' sizes and
  sampled checksums, the id range and the sentence ends before trusting an entry; a damaged
  one is reported once, removed and rebuilt.
- A cache folder that cannot be created or written costs a warning, never the job: the
  encoding then goes to a private temporary folder, as with ``--no-cache``.

Inputs that are not regular files (stdin, a FIFO, ``/dev/stdin``, ``<(...)``) can be read
only once: they are spooled to a temporary file while their words are counted, encoded
from there, and never cached.
"""
import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time

import numpy as np

from staticvec.text import corpus
from staticvec.atomic import _umask
from staticvec.errors import FormatError, InputError, OutputError
from staticvec.progress import Progress, say, warn
from staticvec.text.vocab import Vocab, count_words, kept_vocab

CACHE_VERSION = 2
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_BYTES = 4096
MANIFEST_MAX_BYTES = 16 << 20
CHECK_SLICE = 1 << 20  # sentence ends checked this many at a time (bounded memory)
STALE_TEMP_SECONDS = 24 * 3600  # a temporary this old was left by a killed job
_TEMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".trash-"
_COUNTS_SUFFIX = ".counts.json"
_V1_SUFFIXES = (".ids.u32", ".ends.u64", ".json", ".tmp")  # version 1: flat files


class CacheDamaged(FormatError):
    """A cache entry or counts file that cannot be trusted (the message says why)."""


class EncodedCorpus:
    """In-vocabulary token ids in corpus order, and the end offset of every sentence."""

    def __init__(self, ids, sentence_ends, raw_tokens=None, splits=0, source=None):
        self.ids = ids
        self.sentence_ends = sentence_ends
        self.raw_tokens = int(len(ids) if raw_tokens is None else raw_tokens)
        self.splits = int(splits)
        self.source = source  # cache key (or None): where these arrays live

    @classmethod
    def from_arrays(cls, ids, sentence_ends, **kwargs):
        return cls(np.ascontiguousarray(ids, dtype=np.uint32),
                   np.ascontiguousarray(sentence_ends, dtype=np.uint64), **kwargs)

    @property
    def n_tokens(self):
        return int(len(self.ids))

    @property
    def n_sentences(self):
        return int(len(self.sentence_ends))

    def shares(self, n):
        """``n`` contiguous token ranges [start, end), cut at sentence ends (see
        ``sentence_shares``): every token lies in exactly one share."""
        ends = np.asarray(self.sentence_ends, dtype=np.int64)
        start_of = lambda i: int(ends[i - 1]) if i > 0 else 0  # noqa: E731
        return [(start_of(lo), start_of(hi)) for lo, hi in sentence_shares(ends, n)]


def sentence_shares(sentence_ends, n):
    """``n`` contiguous ranges of sentence indices [lo, hi) with about equal token counts.

    Threads train one share each per epoch: cut at sentence boundaries, the shares cover every
    sentence exactly once, so every token is trained exactly once per epoch. A share is empty
    when there are fewer sentences than ``n``.
    """
    ends = np.asarray(sentence_ends, dtype=np.uint64)
    n = max(int(n), 1)
    if len(ends) == 0:
        return [(0, 0)] * n
    total = int(ends[-1])
    targets = [total * i // n for i in range(1, n)]
    cuts = [0] + [int(np.searchsorted(ends, t, side="left")) + 1 if t else 0 for t in targets]
    cuts.append(len(ends))
    cuts = np.minimum(np.maximum.accumulate(cuts), len(ends))
    return [(int(cuts[i]), int(cuts[i + 1])) for i in range(n)]


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "staticvec")


def _is_key(name):
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def _ours(name):
    """True for a name this module writes in the cache folder: entries, counts, temporaries,
    and version 1's flat files."""
    return (_is_key(name) or name.startswith((_TEMP_PREFIX, _TRASH_PREFIX))
            or name.endswith(_COUNTS_SUFFIX) or name.endswith(_V1_SUFFIXES))


def clear_cache(directory=None):
    """Remove every cached encoding and word count; returns the number of files removed."""
    directory = directory or cache_dir()
    if not os.path.isdir(directory):
        return 0
    return sum(_remove_path(os.path.join(directory, name))
               for name in os.listdir(directory) if _ours(name))


def _remove_path(path):
    """Remove a file, or a folder and the files in it; returns the number of files removed."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            count = sum(len(files) for _, _, files in os.walk(path))
            shutil.rmtree(path, ignore_errors=True)
            return count
        os.unlink(path)
        return 1
    except OSError:
        return 0


def _sweep(folder):
    """Remove what killed jobs left behind: temporaries older than STALE_TEMP_SECONDS (a
    younger one may belong to a job still running) and half-deleted entries."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    with contextlib.suppress(OSError), os.scandir(folder) as items:
        for item in items:
            with contextlib.suppress(OSError):
                if item.name.startswith(_TRASH_PREFIX) or (
                        item.name.startswith(_TEMP_PREFIX)
                        and item.stat(follow_symlinks=False).st_mtime < cutoff):
                    _remove_path(item.path)


# ------------------------------------------------------------- keys: never a stale entry
def _stat_fields(info):
    """What git's index compares: a change of any of these means the file may have changed."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev, info.st_ino)


def _sample_digest(handle, size):
    """sha256 of SAMPLE_BLOCKS blocks spread evenly over an open file of ``size`` bytes (all
    of it when small): catches an edit that the stat fields miss (coarse timestamps, or a
    file system that restores or does not keep ctime)."""
    digest = hashlib.sha256()
    if size <= SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES:
        digest.update(handle.read(size))
    else:
        span = size - SAMPLE_BLOCK_BYTES
        for i in range(SAMPLE_BLOCKS):
            handle.seek(span * i // (SAMPLE_BLOCKS - 1))
            digest.update(handle.read(SAMPLE_BLOCK_BYTES))
    return digest.hexdigest()


def _signatures(paths):
    """Bytes that change whenever one of the regular files ``paths`` may have changed (stat
    fields and sample read from one open file, so a rename in between cannot mix two)."""
    lines = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                sample = _sample_digest(handle, info.st_size)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        fields = " ".join(map(str, _stat_fields(info)))
        lines.append(os.fsencode(os.path.abspath(path)) + f"\0{fields}\0{sample}\n".encode())
    return b"".join(lines)


def _same_inputs(paths, signature):
    try:
        return _signatures(paths) == signature
    except InputError:
        return False


def _inputs_digest(kind, paths, *options, signature=None):
    digest = hashlib.sha256()
    digest.update(f"staticvec-{kind}-{CACHE_VERSION}\n".encode())
    digest.update(_signatures(paths) if signature is None else signature)
    digest.update("\0".join(map(str, options)).encode("utf-8"))
    return digest


def _cache_key(paths, vocab, encoding_errors, max_sentence_length, signature=None):
    digest = _inputs_digest("encoding", paths, encoding_errors, max_sentence_length,
                            signature=signature)
    digest.update("\n".join(vocab.words).encode("utf-8"))
    return digest.hexdigest()[:32]


# ------------------------------------------------------------- sealed files: never damaged
def seal(kind, body):
    """``body`` (bytes) behind a header line naming ``kind``, the cache version and the
    body's sha256, so a reader can tell a whole file from a damaged one."""
    digest = hashlib.sha256(body).hexdigest()
    return f"staticvec-{kind} {CACHE_VERSION} {digest}\n".encode() + body


def _seal_record(kind, record):
    return seal(kind, json.dumps(record, sort_keys=True).encode("utf-8"))


def _unseal(kind, data):
    """The JSON object that ``seal`` wrapped in ``data``; CacheDamaged unless it is whole."""
    head, newline, body = bytes(data).partition(b"\n")
    fields = head.split(b" ")
    if not newline or len(fields) != 3 or fields[0] != f"staticvec-{kind}".encode():
        raise CacheDamaged(f"not a whole {kind} (no staticvec-{kind} header line)")
    if fields[1] != str(CACHE_VERSION).encode():
        raise CacheDamaged(f"{kind} version {fields[1][:20].decode('ascii', 'replace')!r}, "
                           f"expected {CACHE_VERSION}")
    if hashlib.sha256(body).hexdigest().encode() != fields[2]:
        raise CacheDamaged(f"the {kind} does not match its checksum")
    try:
        record = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise CacheDamaged(f"the {kind} is not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(record, dict):
        raise CacheDamaged(f"the {kind} is not a JSON object")
    return record


def _count_field(record, name, where):
    value = record.get(name)
    if type(value) is not int or not 0 <= value < 1 << 63:
        raise CacheDamaged(f"{where}: {name} is not a count")
    return value


def _hex_field(record, name, length, where):
    value = record.get(name)
    if not isinstance(value, str) or len(value) != length or \
            any(c not in "0123456789abcdef" for c in value):
        raise CacheDamaged(f"{where}: {name} is not a {length}-digit hex string")
    return value


_MANIFEST_COUNTS = ("ids_bytes", "ends_bytes", "n_tokens", "n_sentences", "vocab_size",
                    "raw_tokens", "splits")


def parse_manifest(data):
    """The validated record of a cache entry's ``manifest`` file, from its bytes.

    Returns a dict: ``key`` (32 hex digits), ``ids_sample``/``ends_sample`` (64), the counts
    in ``_MANIFEST_COUNTS`` (ints in [0, 2**63), sizes consistent with the counts) and
    ``inputs`` (list of str). Raises CacheDamaged (a FormatError) for any other content.
    """
    if len(data) > MANIFEST_MAX_BYTES:
        raise CacheDamaged("the manifest is too large")
    raw = _unseal("manifest", data)
    record = {name: _count_field(raw, name, "manifest") for name in _MANIFEST_COUNTS}
    record["key"] = _hex_field(raw, "key", 32, "manifest")
    for name in ("ids_sample", "ends_sample"):
        record[name] = _hex_field(raw, name, 64, "manifest")
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(p, str) for p in inputs):
        raise CacheDamaged("manifest: inputs is not a list of paths")
    record["inputs"] = inputs
    n_tokens, n_sentences = record["n_tokens"], record["n_sentences"]
    if record["ids_bytes"] != 4 * n_tokens or record["ends_bytes"] != 8 * n_sentences:
        raise CacheDamaged("manifest: array sizes do not match the token and sentence counts")
    if n_sentences > n_tokens or n_tokens > record["raw_tokens"] or \
            (n_tokens and not (n_sentences and record["vocab_size"])):
        raise CacheDamaged("manifest: inconsistent token, sentence and vocabulary counts")
    return record


_COUNT_STATS = ("total_tokens", "total_lines", "long_words", "distinct", "pruned_below")


def parse_counts(data):
    """The validated word counts of a ``.counts.json`` file, from its bytes.

    Returns (key, counts, stats): the 32-hex-digit key, {word: count >= 1} and the
    ``count_words`` stats (ints in [0, 2**63)). Raises CacheDamaged (a FormatError) for any
    other content.
    """
    raw = _unseal("counts", data)
    key = _hex_field(raw, "key", 32, "counts")
    stats, counts = raw.get("stats"), raw.get("counts")
    if not isinstance(stats, dict) or set(stats) != set(_COUNT_STATS):
        raise CacheDamaged("counts: stats are missing or unknown")
    stats = {name: _count_field(stats, name, "counts") for name in _COUNT_STATS}
    if not isinstance(counts, dict) or not counts or \
            not all(type(c) is int and 0 < c < 1 << 63 for c in counts.values()):
        raise CacheDamaged("counts: the counts are not a table of words and positive counts")
    if stats["distinct"] != len(counts) or sum(counts.values()) > stats["total_tokens"]:
        raise CacheDamaged("counts: the counts do not match their totals")
    return key, counts, stats


class _Store:
    """The cache folder as one job sees it: the first failure to use it is reported once,
    and the job goes on without it (``bool(store)`` is then False)."""

    def __init__(self, path):
        self.path = path

    def __bool__(self):
        return self.path is not None

    @classmethod
    def open(cls, cache):
        """``cache``: True (the default folder), False, a folder path, or a _Store."""
        if isinstance(cache, _Store):
            return cache
        if not cache:
            return cls(None)
        directory = os.fspath(cache) if isinstance(cache, (str, os.PathLike)) else cache_dir()
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            warn(f"cannot use the cache folder {directory} ({exc.strerror or exc}); "
                 f"training without the cache")
            return cls(None)
        return cls(directory)

    def give_up(self, exc):
        if self.path is not None:
            warn(f"cannot write to the cache folder {self.path} ({exc.strerror or exc}); "
                 f"training without the cache")
            self.path = None

    def publish_file(self, path, data):
        """Write ``data`` under a unique temporary name, then rename it to ``path``."""
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.path)
            with open(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: the usual mode instead
            os.replace(tmp, path)
        except OSError as exc:
            if tmp is not None:
                _remove_path(tmp)
            self.give_up(exc)
        except BaseException:
            if tmp is not None:
                _remove_path(tmp)
            raise


def counted_vocab(paths, *, min_count, max_size, max_vocab_words, encoding_errors, quiet,
                  cache=True, tee=None):
    """``vocab.count_words`` remembered in the cache (keyed by the inputs and options), so a
    second model on the same corpus does not count it again. Inputs that are not regular
    files are never cached (reading them for a key would consume them)."""
    regular = tee is None and all(corpus.is_regular(p) for p in paths)
    store = _Store.open(cache if regular else False)
    if store:
        signature = _signatures(paths)
        key = _inputs_digest("counts", paths, encoding_errors, max_vocab_words,
                             signature=signature).hexdigest()[:32]
        path = os.path.join(store.path, key + _COUNTS_SUFFIX)
        saved = _read_counts(path, key)
        if saved is not None:
            say("vocab: counts from cache", quiet)
            return kept_vocab(*saved, min_count, max_size)
        say("vocab: counting words (no cached counts for these inputs)", quiet)
    counted, stats = count_words(paths, max_vocab_words, encoding_errors, quiet, tee)
    if store:
        if _same_inputs(paths, signature):
            store.publish_file(path, _seal_record(
                "counts", {"key": key, "stats": stats, "counts": counted}))
        else:
            warn("an input changed while its words were counted; the counts are not cached")
    return kept_vocab(counted, stats, min_count, max_size)


def _read_counts(path, key):
    """(counts, stats) cached at ``path``; None when absent, or damaged (reported once and
    removed)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        found, counts, stats = parse_counts(data)
        if found != key:
            raise CacheDamaged("they belong to other inputs")
        return counts, stats
    except FileNotFoundError:
        return None
    except (OSError, CacheDamaged) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        warn(f"the cached word counts {path} are damaged ({reason}); removed, counting again")
        _remove_path(path)
        return None


# ------------------------------------------------------------- entries
_IDS, _ENDS, _MANIFEST = "ids.u32", "ends.u64", "manifest"


def _encode_to(folder, paths, vocab, encoding_errors, max_sentence_length, quiet):
    """Encode ``paths`` into ``folder``/ids.u32 and ends.u64; returns their counts."""
    from staticvec._kernels.tokenize import WordTable

    table = WordTable()
    table.add([w.encode("utf-8") for w in vocab.words])
    n_ids = n_ends = raw = splits = 0
    last_end = sentence_len = 0
    total = vocab.total_tokens or 0
    with open(os.path.join(folder, _IDS), "wb") as ids_out, \
            open(os.path.join(folder, _ENDS), "wb") as ends_out, \
            Progress("encoding corpus", total, unit="words", quiet=quiet) as progress:
        for chunk in corpus.iter_chunks(paths, encoding_errors):
            size = len(chunk) // 2 + 2
            ids = np.empty(size, dtype=np.uint32)
            ends = np.empty(size, dtype=np.uint64)
            k, m, tokens, s, last_end, sentence_len = table.encode(
                chunk, ids, ends, n_ids, last_end, sentence_len, max_sentence_length)
            ids_out.write(ids[:k].tobytes())
            ends_out.write(ends[:m].tobytes())
            n_ids += k
            n_ends += m
            raw += tokens
            splits += s
            progress.update(min(raw, total) if total else raw)
        if n_ids > last_end:  # a last sentence with no newline after it
            ends_out.write(np.array([n_ids], dtype=np.uint64).tobytes())
            n_ends += 1
    return {"n_ids": n_ids, "n_ends": n_ends, "raw_tokens": raw, "splits": splits}


def _open_arrays(folder, meta):
    def load(name, dtype, count):
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(os.path.join(folder, name), dtype=dtype, mode="r", shape=(count,))

    return load(_IDS, np.uint32, meta["n_ids"]), load(_ENDS, np.uint64, meta["n_ends"])


def _file_sample(path):
    with open(path, "rb") as handle:
        return _sample_digest(handle, os.fstat(handle.fileno()).st_size)


def _write_manifest(folder, key, vocab_size, meta, paths):
    """The manifest, written last: what a reader checks the arrays against."""
    record = {"key": key, "ids_bytes": 4 * meta["n_ids"], "ends_bytes": 8 * meta["n_ends"],
              "n_tokens": meta["n_ids"], "n_sentences": meta["n_ends"],
              "vocab_size": vocab_size, "raw_tokens": meta["raw_tokens"],
              "splits": meta["splits"], "ids_sample": _file_sample(os.path.join(folder, _IDS)),
              "ends_sample": _file_sample(os.path.join(folder, _ENDS)),
              "inputs": [os.path.abspath(p) for p in paths]}
    with open(os.path.join(folder, _MANIFEST), "wb") as handle:
        handle.write(_seal_record("manifest", record))


def _open_in(dir_fd, name):
    return open(os.open(name, os.O_RDONLY, dir_fd=dir_fd), "rb")


def _map_checked(dir_fd, name, dtype, nbytes, sample):
    """``name`` mapped read-only, once its size and sampled checksum match the manifest's."""
    with _open_in(dir_fd, name) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size != nbytes:
            raise CacheDamaged(f"{name} holds {size:,} bytes, its manifest says {nbytes:,}")
        if _sample_digest(handle, size) != sample:
            raise CacheDamaged(f"{name} does not match its checksum")
        if nbytes == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(handle, dtype=dtype, mode="r", shape=(nbytes // dtype().itemsize,))


def _check_ends(ends, n_tokens):
    """Sentence ends must not decrease and must end at the token count: the kernels index
    the ids with them."""
    if n_tokens and not len(ends):
        raise CacheDamaged("it has tokens but no sentence end")
    last = 0
    for lo in range(0, len(ends), CHECK_SLICE):
        part = np.asarray(ends[lo:lo + CHECK_SLICE])
        if int(part[0]) < last or bool(np.any(part[1:] < part[:-1])):
            raise CacheDamaged("its sentence ends decrease")
        last = int(part[-1])
    if last != n_tokens:
        raise CacheDamaged(f"its sentence ends stop at {last:,}, not at its {n_tokens:,} tokens")


def _check_ids(ids, vocab_size):
    """Every id must index the vocabulary (the kernels trust them); the scan drops the pages
    it reads, as training does."""
    from staticvec import _kernels

    if len(ids):
        top = int(_kernels.load("word2vec").max_id(ids, True))
        if top >= vocab_size:
            raise CacheDamaged(f"token id {top:,} is outside the vocabulary of "
                               f"{vocab_size:,} words")


def _read_entry(dir_fd, key, vocab_size):
    """The arrays of a published entry, after every check a damaged one could fail; files are
    opened relative to the entry's folder, so a concurrent removal cannot mix two entries."""
    try:
        try:
            with _open_in(dir_fd, _MANIFEST) as handle:
                data = handle.read(MANIFEST_MAX_BYTES + 1)
        except FileNotFoundError:
            raise CacheDamaged("incomplete: no manifest") from None
        record = parse_manifest(data)
        if record["key"] != key:
            raise CacheDamaged("its manifest belongs to another entry")
        if record["vocab_size"] != vocab_size:
            raise CacheDamaged(f"its manifest says {record['vocab_size']:,} words, the "
                               f"vocabulary has {vocab_size:,}")
        ids = _map_checked(dir_fd, _IDS, np.uint32, record["ids_bytes"], record["ids_sample"])
        ends = _map_checked(dir_fd, _ENDS, np.uint64, record["ends_bytes"],
                            record["ends_sample"])
    except FileNotFoundError as exc:
        raise CacheDamaged(f"incomplete: no {exc.filename}") from None
    except OSError as exc:
        raise CacheDamaged(f"cannot read it: {exc.strerror or exc}") from None
    _check_ends(ends, record["n_tokens"])
    _check_ids(ids, vocab_size)
    return ids, ends, record


def _load_entry(store, key, vocab_size):
    """The cached encoding ``key``; None when absent, or damaged (reported once, removed)."""
    entry = os.path.join(store.path, key)
    try:
        dir_fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        _discard_damaged(entry, None, exc.strerror or exc)
        return None
    try:
        ids, ends, record = _read_entry(dir_fd, key, vocab_size)
    except CacheDamaged as exc:
        _discard_damaged(entry, dir_fd, exc)
        return None
    finally:
        os.close(dir_fd)
    return EncodedCorpus(ids, ends, record["raw_tokens"], record["splits"], source=entry)


def _discard_damaged(entry, dir_fd, reason):
    """Report a damaged entry once and take it out of view with one rename (a reader sees it
    whole or not at all), then delete it."""
    warn(f"the cached encoding {entry} is damaged ({reason}); removed, encoding again")
    trash = None
    try:
        if dir_fd is not None:
            here, seen = os.stat(entry), os.fstat(dir_fd)
            if (here.st_dev, here.st_ino) != (seen.st_dev, seen.st_ino):
                return  # another job has replaced it already
        trash = tempfile.mkdtemp(prefix=_TRASH_PREFIX, dir=os.path.dirname(entry))
        os.rename(entry, trash)  # onto the empty folder: allowed, and atomic
    except OSError:
        _remove_path(entry)  # not a folder, or gone already
    if trash is not None:
        _remove_path(trash)


def _publish(work, entry):
    """Rename the finished folder ``work`` to ``entry``; False when another job published the
    same entry first (it is kept: both are whole and equal)."""
    try:
        os.rename(work, entry)
        return True
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise


def _build_entry(store, key, signature, paths, vocab, encoding_errors, max_sentence_length,
                 quiet):
    """Encode into a fresh entry and publish it; None (reported once) when the cache folder
    cannot take it."""
    _sweep(store.path)
    try:
        work = tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=store.path)
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes 0700: the usual mode instead
    except OSError as exc:
        store.give_up(exc)
        return None
    try:
        meta = _encode_to(work, paths, vocab, encoding_errors, max_sentence_length, quiet)
        # the mappings keep the data alive whatever happens to the names (POSIX semantics)
        ids, ends = _open_arrays(work, meta)
        source = None
        if _same_inputs(paths, signature):
            _write_manifest(work, key, len(vocab), meta, paths)
            entry = os.path.join(store.path, key)
            source = entry if _publish(work, entry) else None
        else:
            warn("an input changed while it was encoded; the encoding is not cached")
    except OSError as exc:
        store.give_up(exc)
        return None
    finally:
        _remove_path(work)  # gone already once published
    return EncodedCorpus(ids, ends, meta["raw_tokens"], meta["splits"], source=source)


def _encode_private(paths, vocab, encoding_errors, max_sentence_length, quiet):
    """Encode into a private temporary folder, removed before training starts."""
    tmp = None
    try:
        tmp = tempfile.mkdtemp(prefix="staticvec-encode-")
        meta = _encode_to(tmp, paths, vocab, encoding_errors, max_sentence_length, quiet)
        ids, ends = _open_arrays(tmp, meta)
    except OSError as exc:
        where = tmp or tempfile.gettempdir()
        raise OutputError(f"cannot write the encoded corpus to {where}: "
                          f"{exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return EncodedCorpus(ids, ends, meta["raw_tokens"], meta["splits"])


def encode_corpus(paths, vocab, *, encoding_errors="strict", max_sentence_length=10000,
                  cache=True, quiet=False):
    """The encoded corpus of ``paths`` under ``vocab``, from the cache when it is there.

    ``cache``: True (the default folder), False, or a folder path. Inputs that are not
    regular files are encoded without the cache (they can be read only once).
    """
    corpus.check_encoding_errors(encoding_errors)
    corpus.check_inputs(paths)
    store = _Store.open(cache if all(corpus.is_regular(p) for p in paths) else False)
    encoded = None
    if store:
        signature = _signatures(paths)
        key = _cache_key(paths, vocab, encoding_errors, max_sentence_length, signature)
        encoded = _load_entry(store, key, len(vocab))
        if encoded is not None:
            say(f"encoded corpus: from cache ({encoded.n_tokens:,} tokens, "
                f"{encoded.n_sentences:,} sentences)", quiet)
            return encoded
        encoded = _build_entry(store, key, signature, paths, vocab, encoding_errors,
                               max_sentence_length, quiet)
    if encoded is None:
        encoded = _encode_private(paths, vocab, encoding_errors, max_sentence_length, quiet)
    _report(encoded, max_sentence_length, quiet)
    return encoded


def _report(encoded, max_sentence_length, quiet):
    line = (f"encoded corpus: {encoded.n_tokens:,} in-vocabulary tokens of "
            f"{encoded.raw_tokens:,}, {encoded.n_sentences:,} sentences")
    if encoded.splits:
        line += (f"; {encoded.splits:,} sentences longer than {max_sentence_length:,} tokens "
                 f"were split (--max-sentence-length)")
    say(line, quiet)


def prepare(paths, *, vocab_path=None, min_count=5, max_size=None,
            max_vocab_words=30_000_000, encoding_errors="strict", max_sentence_length=10000,
            cache=True, quiet=False):
    """Vocabulary (counted or read from ``vocab_path``) and the encoded corpus: what every
    trainer starts from. Stdin is read exactly once. (A --save-vocab is the job's to write,
    with its other outputs once training has succeeded.)"""
    paths = [os.fspath(p) if str(p) != corpus.STDIN else corpus.STDIN for p in paths]
    corpus.check_encoding_errors(encoding_errors)
    corpus.check_inputs(paths)
    spool = None
    # so are inputs that are not regular files (a FIFO, /dev/stdin, <(...)): spooled, uncached
    regular = all(corpus.is_regular(p) for p in paths)
    # one view of the cache folder for the whole job, so a failure is reported once
    cache = _Store.open(cache if regular else False)
    try:
        if vocab_path is not None:
            vocab = Vocab.load(vocab_path, min_count=min_count, max_size=max_size)
            say(f"vocab: {len(vocab):,} words read from {vocab_path}", quiet)
        else:
            tee = None
            if not regular:
                # stdin, a FIFO, /dev/stdin, <(...): they can be read only once
                spool = tempfile.NamedTemporaryFile(prefix="staticvec-stdin-", suffix=".txt",
                                                    delete=False)
                tee = _SpoolWriter(spool)
            vocab = counted_vocab(paths, min_count=min_count, max_size=max_size,
                                  max_vocab_words=max_vocab_words,
                                  encoding_errors=encoding_errors, quiet=quiet, cache=cache,
                                  tee=tee)
            if spool is not None:
                spool.close()
                # the spool holds the validated text of every input in order: read it alone
                paths = [spool.name]
            say(vocab.summary(), quiet)
        encoded = encode_corpus(paths, vocab, encoding_errors=encoding_errors,
                                max_sentence_length=max_sentence_length,
                                cache=cache if spool is None else False, quiet=quiet)
        if encoded.n_tokens == 0:
            raise InputError("no word of the corpus is in the vocabulary: nothing to train on")
        return vocab, encoded
    finally:
        if spool is not None:
            spool.close()
            with contextlib.suppress(OSError):
                os.unlink(spool.name)


class _SpoolWriter:
    """Copies every validated chunk of every input to the spool file, so stdin or a pipe
    (and the files named beside it) are read only once."""

    def __init__(self, spool):
        self.spool = spool

    def write(self, chunk):
        try:
            self.spool.write(chunk)
        except OSError as exc:
            raise OutputError(f"cannot spool the input to {self.spool.name}: "
                              f"{exc.strerror or exc}") from None
