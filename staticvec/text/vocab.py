"""The vocabulary: counting, pruning, ids in frequency order, and the vocab file format.

The file is word2vec C's ``-save-vocab`` format: ``word count`` lines, most frequent
first (ties by word), preceded by the ``</s> N`` line word2vec C expects in slot 0
(N = number of lines), so ``word2vec -read-vocab`` accepts our files unchanged.
"""
import logging
import lzma
import re
import zlib

import numpy as np

from staticvec.text import corpus
from staticvec.atomic import atomic_output
from staticvec.errors import FormatError, InputError
from staticvec.reporting import Stage

log = logging.getLogger(__name__)

SENTENCE_END = "</s>"


class Vocab:
    """Words in frequency order; a word's id is its position."""

    def __init__(self, words, counts, total_tokens=None, total_lines=0, distinct=None,
                 pruned_below=0, long_words=0, min_count=1):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.total_tokens = int(self.counts.sum() if total_tokens is None else total_tokens)
        self.total_lines = int(total_lines)
        self.distinct = len(self.words) if distinct is None else int(distinct)
        self.pruned_below = int(pruned_below)  # >0: rare words were pruned while counting
        self.long_words = int(long_words)
        self.min_count = int(min_count)

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    @classmethod
    def from_counts(cls, counts, min_count=1, max_size=None, total_tokens=None, **stats):
        """Keep words seen >= min_count times, most frequent first (ties by word), top max_size."""
        items = [(w, c) for w, c in counts.items() if c >= min_count and w != SENTENCE_END]
        items.sort(key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            items = items[:max_size]
        total = sum(counts.values()) if total_tokens is None else total_tokens
        return cls([w for w, _ in items], [c for _, c in items], total_tokens=total,
                   distinct=stats.pop("distinct", len(counts)), min_count=min_count, **stats)

    def summary(self):
        parts = [f"{self.total_tokens:,} tokens", f"{self.distinct:,} distinct words",
                 f"{len(self):,} kept (min-count {self.min_count})"]
        if self.pruned_below:
            parts.append(f"words seen fewer than {self.pruned_below} times were pruned while "
                         f"counting to bound memory (--max-vocab-words)")
        if self.long_words:
            parts.append(f"{self.long_words:,} words longer than {corpus.LONG_WORD_BYTES} bytes "
                         f"kept whole")
        return "vocab: " + ", ".join(parts)

    def save(self, path):
        with atomic_output(path, "wb") as out:
            out.write(self.file_bytes())

    def file_bytes(self):
        """The vocab file's content (what ``save`` writes)."""
        return f"{SENTENCE_END} {self.total_lines}\n".encode() + \
            "".join(f"{w} {int(c)}\n" for w, c in zip(self.words, self.counts)).encode("utf-8")

    @classmethod
    def load(cls, path, min_count=1, max_size=None):
        """Read a vocab file (ours or word2vec C's); the ``</s>`` line is not a word.
        Counts must be decimal integers below 2^63 (and so must be their sum): anything
        else is a ``FormatError`` naming the file and line."""
        corpus.check_inputs([path])
        counts = {}
        lines = total = 0
        try:
            with corpus.open_binary(path) as stream:
                for number, raw in enumerate(stream, 1):
                    parsed = parse_line(raw, path, number)
                    if parsed is None:
                        continue
                    word, count = parsed
                    if word == SENTENCE_END:
                        lines = count
                        continue
                    if word in counts:
                        log.warning(f"{path}: line {number}: duplicate word {word!r} ignored")
                        continue
                    total += count
                    if total > MAX_COUNT:
                        raise FormatError(f"{path}: line {number}: the counts add up to more "
                                          f"than 2^63 - 1")
                    counts[word] = count
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            raise FormatError(f"{path}: damaged or unreadable file ({exc})") from None
        if not counts:
            raise FormatError(f"{path}: empty vocabulary file")
        return cls.from_counts(counts, min_count=min_count, max_size=max_size, total_lines=lines)


_COUNT = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also takes '²'


def parse_line(raw, path, number):
    """(word, count) of line ``number`` (bytes) of the vocab file ``path``; None for a blank
    line; a ``FormatError`` naming the file and line for anything else."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: line {number}: invalid UTF-8 (byte "
                          f"0x{raw[exc.start]:02x})") from None
    fields = line.split()
    if not fields:
        return None
    if len(fields) != 2 or not _COUNT.fullmatch(fields[1]):
        raise FormatError(f"{path}: line {number}: expected 'word count', "
                          f"got {line.strip()[:60]!r}")
    digits = fields[1].lstrip("0") or "0"
    word, count = fields[0], int(digits) if len(digits) <= 19 else MAX_COUNT + 1
    if count > MAX_COUNT:
        raise FormatError(f"{path}: line {number}: count {fields[1][:30]} of "
                          f"{word[:60]!r} is too large (the limit is 2^63 - 1)")
    return word, count
MAX_COUNT = 2**63 - 1


def counting_tables(threads, max_vocab_words):
    """One C table per counting thread (never more tables than --max-vocab-words: each
    holds at least one word), and the share of --max-vocab-words each may hold."""
    from staticvec._kernels.tokenize import WordTable

    threads = max(1, min(int(threads), max_vocab_words or int(threads)))
    limit = max_vocab_words // threads if threads > 1 else max_vocab_words
    return [WordTable() for _ in range(threads)], limit


def count_in_threads(items, tables, count, progress=None, stage_name="counting words",
                     total_bytes=0):
    """Deal ``items`` ((bytes, item) pairs) round-robin to one thread per table, which
    calls ``count(table, item)`` (nogil C) and sums the tuples it returns; reading (the
    caller's generator) and counting overlap. Returns the summed tuple; the tables are
    left as filled (the caller merges them)."""
    import queue
    import threading

    totals = [None] * len(tables)
    queues = [queue.Queue(maxsize=2) for _ in tables]
    failures = []

    def work(k):
        while True:
            item = queues[k].get()
            if item is None:
                return
            if failures:
                continue
            try:
                done = count(tables[k], item)
                totals[k] = done if totals[k] is None else tuple(
                    a + b for a, b in zip(totals[k], done))
            except BaseException as exc:  # MemoryError: reported by the reading thread
                failures.append(exc)

    workers = [threading.Thread(target=work, args=(k,), daemon=True)
               for k in range(len(tables))]
    for worker in workers:
        worker.start()
    done_bytes = 0
    try:
        with Stage(progress, stage_name, total_bytes, unit="bytes") as stage:
            for i, (size, item) in enumerate(items):
                if failures:
                    raise failures[0]
                queues[i % len(tables)].put(item)
                done_bytes += size
                stage.update(min(done_bytes, total_bytes) if total_bytes else done_bytes)
    finally:
        for q in queues:
            q.put(None)
        for worker in workers:
            worker.join()
    if failures:
        raise failures[0]
    counted = [t for t in totals if t is not None]
    return tuple(sum(column) for column in zip(*counted)) if counted else None


def count_words(paths, max_vocab_words=30_000_000, encoding_errors="strict", tee=None,
                threads=2, progress=None, phrases=None):
    """Count every word of ``paths``; returns (counts dict, stats dict).

    The reading thread validates chunks and deals them round-robin to ``threads`` counting
    threads, each with its own C table (nogil), merged at the end: reading, UTF-8 checks
    and counting overlap. With ``--max-vocab-words`` each table prunes on its own share.
    ``phrases`` (a ``phrases.PhraseTable``): count the text with its phrases joined.
    """
    tables, limit = counting_tables(threads, max_vocab_words)
    chunks = corpus.iter_chunks(paths, encoding_errors, tee=tee)
    if phrases is not None:
        chunks = phrases.join_chunks(chunks)
    totals = count_in_threads(((len(c), c) for c in chunks), tables,
                              lambda table, chunk: table.count(chunk, limit),
                              progress, "counting words", sum(_size(p) for p in paths))
    table = tables[0]
    for other in tables[1:]:
        table.merge(other)
    tokens, lines, long_words = totals or (0, 0, 0)
    if tokens == 0:
        names = ", ".join(corpus.describe(p) for p in paths)
        raise InputError(f"{names}: no words found (empty input)")
    words, counts = table.items()
    counted = {w.decode("utf-8"): int(c) for w, c in zip(words, counts)}
    prunes = sum(t.prunes for t in tables)
    stats = {"total_tokens": tokens, "total_lines": lines, "long_words": long_words,
             "distinct": len(counted),
             "pruned_below": max(t.min_reduce for t in tables) if prunes else 0}
    return counted, stats


def _size(path):
    """Bytes to read, for progress (compressed size for compressed files: an estimate)."""
    import os

    if str(path) == corpus.STDIN or corpus.is_compressed(path):
        return 0
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def build_vocab(paths, min_count=5, max_size=None, max_vocab_words=30_000_000,
                encoding_errors="strict", tee=None, progress=None):
    """Count ``paths`` and keep the words of the vocabulary (the ``vocab`` command)."""
    counted, stats = count_words(paths, max_vocab_words, encoding_errors, tee=tee,
                                 progress=progress)
    return kept_vocab(counted, stats, min_count, max_size)


def kept_vocab(counted, stats, min_count, max_size=None):
    """The Vocab of ``count_words``' output under min_count/max_size; an error if empty."""
    vocab = Vocab.from_counts(counted, min_count=min_count, max_size=max_size, **stats)
    if not len(vocab):
        raise InputError(f"no word occurs at least {min_count} times (lower --min-count)")
    return vocab
