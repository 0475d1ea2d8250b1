"""The on-disk cache of encoded corpora and word counts: keys, sealed files, entries.

Training reads the corpus many times (epochs, and often several models on one corpus), so the
encoding (``encoded.py``) and the word counts are cached under ``$XDG_CACHE_HOME/staticvec``
(default ``~/.cache/staticvec``): a second training on the same corpus skips counting and
tokenisation.

The cache must never hand back stale or damaged data, and many jobs share it at once:

- A key covers every input's path, size, mtime_ns, ctime_ns, device and inode (as git's
  index does) and a hash of a content sample (64 blocks of 4 KiB spread over the file, all
  of it when small), the vocabulary and the reading options.
- An entry is a folder ``KEY/`` (``ids.u32``, ``ends.u64``, ``manifest``) built under a
  unique temporary name in the cache folder and published by one rename, the manifest
  written last; a second job publishing the same entry finds it there and keeps its own.
- A reader checks the manifest (its own checksum, version, sizes), the arrays' sizes and
  sampled checksums, the id range and the sentence ends before trusting an entry; a damaged
  one is reported once (a warning on the ``staticvec`` logger), removed and rebuilt.
- A cache folder that cannot be created or written costs one warning per job, never the
  job: the encoding then goes to a private temporary folder, as with ``--no-cache``.
"""
import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time

import numpy as np

from staticvec.atomic import _umask
from staticvec.errors import FormatError, InputError

log = logging.getLogger(__name__)

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


def _phrases_options(phrases):
    """The key options a phrase table adds: its content's SHA-256 (none without one, so
    the keys of runs without --phrases are unchanged)."""
    return () if phrases is None else (f"phrases={phrases.digest}",)


def _cache_key(paths, words, encoding_errors, max_sentence_length, signature=None,
               phrases=None):
    digest = _inputs_digest("encoding", paths, encoding_errors, max_sentence_length,
                            *_phrases_options(phrases), signature=signature)
    digest.update("\n".join(words).encode("utf-8"))
    return digest.hexdigest()[:32]


# ------------------------------------------------------------- sealed files: never damaged
def seal(kind, body):
    """``body`` (bytes) behind a header line naming ``kind``, the cache version and the
    body's sha256, so a reader can tell a whole file from a damaged one."""
    digest = hashlib.sha256(body).hexdigest()
    return f"staticvec-{kind} {CACHE_VERSION} {digest}\n".encode() + body


def _seal_record(kind, record):
    return seal(kind, json.dumps(record, sort_keys=True).encode("utf-8"))


def unseal(kind, data):
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
    raw = unseal("manifest", data)
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
    raw = unseal("counts", data)
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


class Store:
    """The cache folder as one job sees it: the first failure to use it is reported once,
    and the job goes on without it (``bool(store)`` is then False)."""

    def __init__(self, path):
        self.path = path

    def __bool__(self):
        return self.path is not None

    @classmethod
    def open(cls, cache):
        """``cache``: True (the default folder), False, a folder path, or a Store."""
        if isinstance(cache, Store):
            return cache
        if not cache:
            return cls(None)
        directory = os.fspath(cache) if isinstance(cache, (str, os.PathLike)) else cache_dir()
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            log.warning(f"cannot use the cache folder {directory} ({exc.strerror or exc}); "
                 f"training without the cache")
            return cls(None)
        return cls(directory)

    def give_up(self, exc):
        if self.path is not None:
            log.warning(f"cannot write to the cache folder {self.path} ({exc.strerror or exc}); "
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
        log.warning(f"the cached word counts {path} are damaged ({reason}); removed, counting again")
        _remove_path(path)
        return None



# ------------------------------------------------------------- entries
# the files of an entry (and of a private encoding folder)
IDS_FILE, ENDS_FILE, _MANIFEST = "ids.u32", "ends.u64", "manifest"


def open_arrays(folder, meta):
    """The ids and sentence ends written to ``folder``, as read-only file mappings."""

    def load(name, dtype, count):
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(os.path.join(folder, name), dtype=dtype, mode="r", shape=(count,))

    return load(IDS_FILE, np.uint32, meta["n_ids"]), load(ENDS_FILE, np.uint64, meta["n_ends"])


def _file_sample(path):
    with open(path, "rb") as handle:
        return _sample_digest(handle, os.fstat(handle.fileno()).st_size)


def _write_manifest(folder, key, vocab_size, meta, paths):
    """The manifest, written last: what a reader checks the arrays against."""
    record = {"key": key, "ids_bytes": 4 * meta["n_ids"], "ends_bytes": 8 * meta["n_ends"],
              "n_tokens": meta["n_ids"], "n_sentences": meta["n_ends"],
              "vocab_size": vocab_size, "raw_tokens": meta["raw_tokens"],
              "splits": meta["splits"], "ids_sample": _file_sample(os.path.join(folder, IDS_FILE)),
              "ends_sample": _file_sample(os.path.join(folder, ENDS_FILE)),
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


def check_arrays(ids, ends, n_tokens, vocab_size):
    """What the kernels trust of an encoded corpus that came from a file: sentence ends that
    never decrease and stop at the token count, ids inside the vocabulary (CacheDamaged)."""
    _check_ends(ends, n_tokens)
    _check_ids(ids, vocab_size)


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
        ids = _map_checked(dir_fd, IDS_FILE, np.uint32, record["ids_bytes"], record["ids_sample"])
        ends = _map_checked(dir_fd, ENDS_FILE, np.uint64, record["ends_bytes"],
                            record["ends_sample"])
    except FileNotFoundError as exc:
        raise CacheDamaged(f"incomplete: no {exc.filename}") from None
    except OSError as exc:
        raise CacheDamaged(f"cannot read it: {exc.strerror or exc}") from None
    check_arrays(ids, ends, record["n_tokens"], vocab_size)
    return ids, ends, record


def _load_entry(store, key, vocab_size):
    """(ids, ends, counts, folder) of the cached encoding ``key``; None when absent, or
    damaged (reported once, removed)."""
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
    return ids, ends, {"raw_tokens": record["raw_tokens"], "splits": record["splits"]}, entry


def _discard_damaged(entry, dir_fd, reason):
    """Report a damaged entry once and take it out of view with one rename (a reader sees it
    whole or not at all), then delete it."""
    log.warning(f"the cached encoding {entry} is damaged ({reason}); removed, encoding again")
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


def _build_entry(store, key, signature, paths, vocab_size, encode):
    """Run ``encode(folder)`` (which writes the arrays and returns their counts) into a fresh
    entry and publish it; returns (ids, ends, counts, folder or None), or None (reported once)
    when the cache folder cannot take it."""
    _sweep(store.path)
    try:
        work = tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=store.path)
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes 0700: the usual mode instead
    except OSError as exc:
        store.give_up(exc)
        return None
    try:
        meta = encode(work)
        # the mappings keep the data alive whatever happens to the names (POSIX semantics)
        ids, ends = open_arrays(work, meta)
        source = None
        if _same_inputs(paths, signature):
            _write_manifest(work, key, vocab_size, meta, paths)
            entry = os.path.join(store.path, key)
            source = entry if _publish(work, entry) else None
        else:
            log.warning("an input changed while it was encoded; the encoding is not cached")
    except OSError as exc:
        store.give_up(exc)
        return None
    finally:
        _remove_path(work)  # gone already once published
    return ids, ends, meta, source


# ------------------------------------------------------------- what the callers see
class CountsEntry:
    """The cached word counts of regular files ``paths`` under the counting options."""

    def __init__(self, store, paths, encoding_errors, max_vocab_words, phrases=None):
        self.store = store
        self.paths = paths
        self.signature = _signatures(paths)
        self.key = _inputs_digest("counts", paths, encoding_errors, max_vocab_words,
                                  *_phrases_options(phrases),
                                  signature=self.signature).hexdigest()[:32]
        self.path = os.path.join(store.path, self.key + _COUNTS_SUFFIX)

    def read(self):
        """(counts, stats), or None when absent or damaged (reported once, removed)."""
        return _read_counts(self.path, self.key)

    def write(self, counts, stats):
        """Publish the counts, unless an input changed while they were counted."""
        if _same_inputs(self.paths, self.signature):
            self.store.publish_file(self.path, _seal_record(
                "counts", {"key": self.key, "stats": stats, "counts": counts}))
        else:
            log.warning("an input changed while its words were counted; the counts are not "
                        "cached")


class EncodingEntry:
    """The cached encoding of regular files ``paths`` under a vocabulary and reading options."""

    def __init__(self, store, paths, words, encoding_errors, max_sentence_length,
                 phrases=None):
        self.store = store
        self.paths = paths
        self.vocab_size = len(words)
        self.signature = _signatures(paths)
        self.key = _cache_key(paths, words, encoding_errors, max_sentence_length,
                              self.signature, phrases)

    def read(self):
        """(ids, ends, counts, folder), or None when absent or damaged (reported once)."""
        return _load_entry(self.store, self.key, self.vocab_size)

    def build(self, encode):
        """(ids, ends, counts, folder or None) from ``encode(folder)``; None when the cache
        folder cannot take it (reported once)."""
        return _build_entry(self.store, self.key, self.signature, self.paths, self.vocab_size,
                            encode)


class KeyedEntry:
    """A cached encoding under a key its caller computed from everything that determines
    the arrays (e.g. a shard set's manifest: ``scale/encoding.py`` joins the shards into one
    corpus once, and later trainings map it from here)."""

    def __init__(self, store, key, vocab_size):
        if not _is_key(key):
            raise ValueError("a key is 32 hex digits")
        self.store, self.key, self.vocab_size = store, key, vocab_size

    def read(self):
        return _load_entry(self.store, self.key, self.vocab_size)

    def build(self, encode):
        return _build_entry(self.store, self.key, b"", [], self.vocab_size, encode)
