"""The encoded corpus: token ids as a uint32 stream plus sentence ends, read from the cache.

The text is tokenised once into ids that the kernels can walk under ``nogil``; the arrays
live in a file mapping, published in the cache (``cache.py``) or in a private temporary
folder removed before training starts (``--no-cache``, inputs that are not regular files).
"""
import logging
import os
import shutil
import tempfile

import numpy as np

from staticvec.errors import OutputError
from staticvec.reporting import Stage
from staticvec.text import cache as cache_store
from staticvec.text import corpus

log = logging.getLogger(__name__)

class EncodedCorpus:
    """In-vocabulary token ids in corpus order, and the end offset of every sentence."""

    def __init__(self, ids, sentence_ends, raw_tokens=None, splits=0, source=None):
        self.ids = ids
        self.sentence_ends = sentence_ends
        self.raw_tokens = int(len(ids) if raw_tokens is None else raw_tokens)
        self.splits = int(splits)
        self.source = source  # the cache entry's folder (or None): where these arrays live

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


def encode_to(folder, paths, vocab, encoding_errors, max_sentence_length, progress=None,
              phrases=None):
    """Encode ``paths`` (with the phrases of the table ``phrases`` joined, if given) into
    ``folder``/ids.u32 and ends.u64; returns their counts."""
    total = vocab.total_tokens or 0
    with open(os.path.join(folder, cache_store.IDS_FILE), "wb") as ids_out, \
            open(os.path.join(folder, cache_store.ENDS_FILE), "wb") as ends_out, \
            Stage(progress, "encoding corpus", total, unit="words") as stage:
        chunks = corpus.iter_chunks(paths, encoding_errors)
        return encode_chunks(chunks if phrases is None else phrases.join_chunks(chunks),
                             word_table(vocab.words), ids_out, ends_out, max_sentence_length,
                             lambda raw: stage.update(min(raw, total) if total else raw))


def word_table(words):
    """The C table of ``words`` (str), a word's id its position: what ``encode_chunks``
    looks words up in."""
    from staticvec._kernels.tokenize import WordTable

    table = WordTable()
    table.add([w.encode("utf-8") for w in words])
    return table


def encode_chunks(chunks, table, ids_out, ends_out, max_sentence_length, update=None):
    """Write the ids of ``chunks`` (``corpus.iter_chunks``' chunks) under ``table`` to
    ``ids_out`` (uint32) and the sentence ends to ``ends_out`` (uint64, from 0); returns
    their counts. ``update(raw tokens so far)`` is called after each chunk."""
    n_ids = n_ends = raw = splits = 0
    last_end = sentence_len = 0
    for chunk in chunks:
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
        if update is not None:
            update(raw)
    if n_ids > last_end:  # a last sentence with no newline after it
        ends_out.write(np.array([n_ids], dtype=np.uint64).tobytes())
        n_ends += 1
    return {"n_ids": n_ids, "n_ends": n_ends, "raw_tokens": raw, "splits": splits}


def _encode_private(encode):
    """Run ``encode(folder)`` into a private temporary folder, removed before training
    starts; returns (ids, ends, counts)."""
    tmp = None
    try:
        tmp = tempfile.mkdtemp(prefix="staticvec-encode-")
        meta = encode(tmp)
        ids, ends = cache_store.open_arrays(tmp, meta)
    except OSError as exc:
        where = tmp or tempfile.gettempdir()
        raise OutputError(f"cannot write the encoded corpus to {where}: "
                          f"{exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return ids, ends, meta


def encode_corpus(paths, vocab, *, encoding_errors="strict", max_sentence_length=10000,
                  cache=True, progress=None, phrases=None):
    """The encoded corpus of ``paths`` under ``vocab``, from the cache when it is there.

    ``cache``: True (the default folder), False, a folder path, or a ``cache.Store``. Inputs
    that are not regular files are encoded without the cache (they can be read only once).
    """
    corpus.check_encoding_errors(encoding_errors)
    corpus.check_inputs(paths)
    store = cache_store.Store.open(cache if all(corpus.is_regular(p) for p in paths) else False)

    def encode(folder):
        return encode_to(folder, paths, vocab, encoding_errors, max_sentence_length, progress,
                         phrases)

    entry = cache_store.EncodingEntry(store, paths, vocab.words, encoding_errors,
                                      max_sentence_length, phrases=phrases) if store else None
    encoded, cached = _cached(entry, encode)
    if not cached:
        _report(encoded, max_sentence_length)
    return encoded


def _cached(entry, encode):
    """(corpus, True) from the cache ``entry``, or (corpus, False) once ``encode(folder)`` has
    built it (into the entry, or a private folder when there is none or it cannot be
    written)."""
    found = None
    if entry is not None:
        found = entry.read()
        if found is not None:
            encoded = _from_arrays(*found)
            log.info(f"encoded corpus: from cache ({encoded.n_tokens:,} tokens, "
                     f"{encoded.n_sentences:,} sentences)")
            return encoded, True
        found = entry.build(encode)
    return _from_arrays(*(found or _encode_private(encode))), False


def keyed_corpus(encode, key, vocab_size, cache=True):
    """The corpus ``encode(folder)`` writes (``ids.u32``, ``ends.u64``; returns their
    counts), cached under ``key`` (32 hex digits the caller derived from everything that
    determines the arrays) unless ``cache`` is False."""
    store = cache_store.Store.open(cache)
    return _cached(cache_store.KeyedEntry(store, key, vocab_size) if store else None,
                   encode)[0]


def _from_arrays(ids, ends, meta, source=None):
    return EncodedCorpus(ids, ends, meta["raw_tokens"], meta["splits"], source=source)


def _report(encoded, max_sentence_length):
    line = (f"encoded corpus: {encoded.n_tokens:,} in-vocabulary tokens of "
            f"{encoded.raw_tokens:,}, {encoded.n_sentences:,} sentences")
    if encoded.splits:
        line += (f"; {encoded.splits:,} sentences longer than {max_sentence_length:,} tokens "
                 f"were split (--max-sentence-length)")
    log.info(line)


FINGERPRINT_BLOCK = 1 << 22  # elements hashed at a time (a bounded slice of the mapping)


def corpus_fingerprint(words, counts, ids, sentence_ends):
    """sha256 (hex) of a vocabulary (words, counts) and every byte of an encoded corpus: what a
    training checkpoint was trained on. Content only (not paths, times or the cache), so a
    corpus moved, copied or re-encoded after a reboot matches, and any edit that changes the
    tokens, the sentence ends or the vocabulary does not."""
    import hashlib

    digest = hashlib.sha256(b"staticvec-corpus 1\n")
    digest.update("\n".join(words).encode("utf-8") + b"\n")
    digest.update(np.ascontiguousarray(counts, dtype="<i8").tobytes())
    for array in (ids, sentence_ends):  # (any arrays: GloVe's --cooccur gives its file's bytes)
        array = np.asarray(array)
        digest.update(f"\n{array.dtype.str} {len(array)}\n".encode())
        for lo in range(0, len(array), FINGERPRINT_BLOCK):
            digest.update(np.ascontiguousarray(array[lo:lo + FINGERPRINT_BLOCK]))
    return digest.hexdigest()
