"""The encoded corpus: token ids as a uint32 stream plus sentence ends, cached on disk.

Training reads the corpus many times (epochs, and often several models on one corpus),
so the text is tokenised once into ids that the kernels can walk under ``nogil``. The
encoding is cached under ``$XDG_CACHE_HOME/staticvec`` (default ``~/.cache/staticvec``),
keyed by the input files' absolute paths, sizes and mtimes, the vocabulary and the
reading options, so a second training on the same corpus skips tokenisation. Stdin is
spooled to a temporary file while its words are counted, then encoded from there.
"""
import contextlib
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np

from staticvec import corpus
from staticvec.errors import InputError, OutputError
from staticvec.progress import Progress, say, warn
from staticvec.vocab import Vocab, count_words, kept_vocab

CACHE_VERSION = 1
_SUFFIXES = (".ids.u32", ".ends.u64", ".json")  # .counts.json: cached word counts


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


def clear_cache(directory=None):
    """Remove every cached encoding; returns the number of files removed."""
    directory = directory or cache_dir()
    removed = 0
    if not os.path.isdir(directory):
        return 0
    for name in os.listdir(directory):
        if name.endswith(_SUFFIXES) or name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))
                removed += 1
    return removed


def _inputs_digest(kind, paths, *options):
    digest = hashlib.sha256()
    digest.update(f"staticvec-{kind}-{CACHE_VERSION}\n".encode())
    for path in paths:
        info = os.stat(path)
        digest.update(f"{os.path.abspath(path)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    digest.update("\0".join(map(str, options)).encode("utf-8"))
    return digest


def _cache_key(paths, vocab, encoding_errors, max_sentence_length):
    digest = _inputs_digest("encoding", paths, encoding_errors, max_sentence_length)
    digest.update("\n".join(vocab.words).encode("utf-8"))
    return digest.hexdigest()[:32]


def _cache_folder(cache):
    """The cache folder, created; None (with a warning) when it cannot be used."""
    if not cache:
        return None
    directory = cache if isinstance(cache, (str, os.PathLike)) else cache_dir()
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        warn(f"cannot use the cache folder {directory} ({exc.strerror}); not caching")
        return None
    return os.fspath(directory)


def counted_vocab(paths, *, min_count, max_size, max_vocab_words, encoding_errors, quiet,
                  cache=True, tee=None):
    """``vocab.count_words`` remembered in the cache (keyed by the inputs and options), so a
    second model on the same corpus does not count it again."""
    folder = _cache_folder(cache) if tee is None else None
    path = None
    if folder:
        key = _inputs_digest("counts", paths, encoding_errors, max_vocab_words).hexdigest()[:32]
        path = os.path.join(folder, key + ".counts.json")
        with contextlib.suppress(OSError, ValueError, KeyError):
            with open(path, encoding="utf-8") as handle:
                saved = json.load(handle)
            if saved["version"] == CACHE_VERSION:
                counted, stats = saved["counts"], saved["stats"]
                say("vocab: counts from cache", quiet)
                return kept_vocab(counted, stats, min_count, max_size)
    counted, stats = count_words(paths, max_vocab_words, encoding_errors, quiet, tee)
    if path:
        with contextlib.suppress(OSError):
            with open(path + ".tmp", "w", encoding="utf-8") as handle:
                json.dump({"version": CACHE_VERSION, "stats": stats, "counts": counted}, handle)
            os.replace(path + ".tmp", path)
    return kept_vocab(counted, stats, min_count, max_size)


def _open_arrays(stem, meta):
    def load(suffix, dtype, count):
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(stem + suffix, dtype=dtype, mode="r", shape=(count,))

    return (load(".ids.u32", np.uint32, meta["n_ids"]),
            load(".ends.u64", np.uint64, meta["n_ends"]))


def _load_cached(stem):
    try:
        with open(stem + ".json", encoding="utf-8") as handle:
            meta = json.load(handle)
        if meta.get("version") != CACHE_VERSION:
            return None
        if os.path.getsize(stem + ".ids.u32") != 4 * meta["n_ids"] or \
                os.path.getsize(stem + ".ends.u64") != 8 * meta["n_ends"]:
            return None
        ids, ends = _open_arrays(stem, meta)
    except (OSError, ValueError, KeyError):
        return None
    return EncodedCorpus(ids, ends, meta["raw_tokens"], meta["splits"], source=stem)


def _encode_to(stem, paths, vocab, encoding_errors, max_sentence_length, quiet):
    """Encode ``paths`` into ``stem``.ids.u32 / .ends.u64 / .json (written last)."""
    from staticvec._kernels.tokenize import WordTable

    table = WordTable()
    table.add([w.encode("utf-8") for w in vocab.words])
    n_ids = n_ends = raw = splits = 0
    last_end = sentence_len = 0
    total = vocab.total_tokens or 0
    with open(stem + ".ids.u32.tmp", "wb") as ids_out, \
            open(stem + ".ends.u64.tmp", "wb") as ends_out, \
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
    os.replace(stem + ".ids.u32.tmp", stem + ".ids.u32")
    os.replace(stem + ".ends.u64.tmp", stem + ".ends.u64")
    meta = {"version": CACHE_VERSION, "n_ids": n_ids, "n_ends": n_ends, "raw_tokens": raw,
            "splits": splits, "inputs": [os.path.abspath(p) for p in paths]}
    with open(stem + ".json.tmp", "w", encoding="utf-8") as handle:
        json.dump(meta, handle)
    os.replace(stem + ".json.tmp", stem + ".json")
    return meta


def _remove_stem(stem):
    for suffix in _SUFFIXES:
        for name in (stem + suffix, stem + suffix + ".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(name)


def encode_corpus(paths, vocab, *, encoding_errors="strict", max_sentence_length=10000,
                  cache=True, quiet=False):
    """The encoded corpus of ``paths`` under ``vocab``, from the cache when it is there.

    ``cache``: True (the default folder), False, or a folder path.
    """
    corpus.check_encoding_errors(encoding_errors)
    corpus.check_inputs(paths)
    directory = _cache_folder(cache) if all(str(p) != corpus.STDIN for p in paths) else None
    if directory:
        stem = os.path.join(directory, _cache_key(paths, vocab, encoding_errors,
                                                  max_sentence_length))
        found = _load_cached(stem)
        if found is not None:
            say(f"encoded corpus: from cache ({found.n_tokens:,} tokens, "
                f"{found.n_sentences:,} sentences)", quiet)
            return found
        try:
            meta = _encode_to(stem, paths, vocab, encoding_errors, max_sentence_length, quiet)
        except OSError as exc:
            _remove_stem(stem)
            raise OutputError(f"cannot write the encoded corpus to {directory}: "
                              f"{exc.strerror or exc} (try --no-cache)") from None
        except BaseException:
            _remove_stem(stem)
            raise
        encoded = EncodedCorpus(*_open_arrays(stem, meta), meta["raw_tokens"], meta["splits"],
                                source=stem)
    else:
        tmp = tempfile.mkdtemp(prefix="staticvec-encode-")
        stem = os.path.join(tmp, "corpus")
        try:
            meta = _encode_to(stem, paths, vocab, encoding_errors, max_sentence_length, quiet)
            # the mappings keep the data alive once the names are gone (POSIX semantics)
            ids, ends = _open_arrays(stem, meta)
        except OSError as exc:
            raise OutputError(f"cannot write the encoded corpus to {tmp}: "
                              f"{exc.strerror or exc}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        encoded = EncodedCorpus(ids, ends, meta["raw_tokens"], meta["splits"])
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
    try:
        if vocab_path is not None:
            vocab = Vocab.load(vocab_path, min_count=min_count, max_size=max_size)
            say(f"vocab: {len(vocab):,} words read from {vocab_path}", quiet)
        else:
            tee = None
            if corpus.STDIN in paths:
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
    """Copies every validated chunk of every input to the spool file, so stdin (and the
    files named beside it) are read only once."""

    def __init__(self, spool):
        self.spool = spool

    def write(self, chunk):
        try:
            self.spool.write(chunk)
        except OSError as exc:
            raise OutputError(f"cannot spool stdin to {self.spool.name}: "
                              f"{exc.strerror or exc}") from None
