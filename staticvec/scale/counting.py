"""Word counts (``vocab``) and word-and-pair counts (``phrases``) as Dask map-reduce.

Each map task counts one shard (``inputs.Shard``) with the C counter the single-process path
uses (``tokenize.WordTable``: ``count`` for words, ``count_pairs`` for words and pairs), and
returns a compact table: the words joined by newlines in one ``bytes`` (a word never holds
whitespace) and their counts as one int64 array, never a Python object per word. Tables
merge by tree reduction, in corpus order, on the workers (``cluster.tree_reduce``); with
--max-vocab-words every task prunes its own table while counting, and every merge prunes
the merged one, both exactly as the counter does (the rarest first, the threshold rising:
``WordTable.bound``), so no table ever holds more than --max-vocab-words entries. The
threshold reached is the largest any table reached, reported as the single-process count
reports it. Without pruning the result equals the single-process count exactly.

Pairs run on across line ends and files in the single-process count: a pair spanning two
shards (the last word of one, the first word of the next) is counted when the two tables
are merged, so the merged pair counts equal the single-process ones too.
"""
import logging
from dataclasses import dataclass

import numpy as np

from staticvec.errors import InputError
from staticvec.scale import cluster, inputs
from staticvec.text import corpus

log = logging.getLogger(__name__)

MERGE_FAN_IN = 8
_MARK = b"</s>"  # a line end in the text, never a word (count_pairs skips it)


@dataclass
class Packed:
    """A WordTable as it travels between processes: words joined by newlines, counts."""

    blob: bytes
    counts: np.ndarray
    min_reduce: int = 1
    prunes: int = 0

    @classmethod
    def of(cls, table):
        words, counts = table.items()
        return cls(b"\n".join(words), counts, int(table.min_reduce), int(table.prunes))

    def words(self):
        return self.blob.split(b"\n") if len(self.counts) else []

    def table(self):
        from staticvec._kernels.tokenize import WordTable

        table = WordTable()
        table.add_counts(self.words(), np.ascontiguousarray(self.counts, dtype=np.int64))
        table.min_reduce, table.prunes = self.min_reduce, self.prunes
        return table


def _merged(parts, bound):
    """One WordTable holding every part's counts (each part a tuple of Packed tables, merged
    slot by slot: words, or words and pairs), ``bound(tables)`` pruning after each part is
    added, so a merge never holds more than one part beyond the limit; the threshold is the
    largest any part reached and the prunes are summed, as the single-process count reports
    its threads' tables."""
    tables = [packed.table() for packed in parts[0]]
    for k, table in enumerate(tables):
        table.min_reduce = max(p[k].min_reduce for p in parts)
        table.prunes = sum(p[k].prunes for p in parts)
    for part in parts[1:]:
        for table, packed in zip(tables, part):
            table.merge(packed.table())
        bound(tables)
    return tables


# ---------------------------------------------------------------- words (vocab)
@dataclass
class WordCounts:
    table: Packed
    tokens: int = 0
    lines: int = 0
    long_words: int = 0


def _chunks(shard, encoding_errors, phrases):
    chunks = inputs.shard_chunks(shard, encoding_errors)
    return chunks if phrases is None else phrases.join_chunks(chunks)


def count_shard(shard, max_vocab_words, encoding_errors="strict", phrases=None):
    """Map task: the word counts of one shard (with the phrases of the ``PhraseTable``
    ``phrases`` joined, if given)."""
    from staticvec._kernels.tokenize import WordTable

    table = WordTable()
    tokens = lines = long_words = 0
    for chunk in _chunks(shard, encoding_errors, phrases):
        t, n, w = table.count(chunk, max_vocab_words)
        tokens, lines, long_words = tokens + t, lines + n, long_words + w
    return WordCounts(Packed.of(table), tokens, lines, long_words)


def merge_counts(*parts, max_vocab_words):
    """Reduce task: the counts of ``parts`` together, pruned to --max-vocab-words."""
    def bound(tables):
        tables[0].bound(max_vocab_words)

    [table] = _merged([(p.table,) for p in parts], bound)
    table.bound(max_vocab_words)
    return WordCounts(Packed.of(table), sum(p.tokens for p in parts),
                      sum(p.lines for p in parts), sum(p.long_words for p in parts))


def _broadcast(client, value):
    """``value`` sent once to every worker (a future the tasks take), or None."""
    if value is None:
        return None
    [future] = client.scatter([value], broadcast=True, hash=False)  # (a key of its own)
    return future


def _no_words(shards):
    names = ", ".join(dict.fromkeys(s.name for s in shards))
    return InputError(f"{names}: no words found (empty input)")


def count_words(client, shards, max_vocab_words=30_000_000, encoding_errors="strict",
                progress=None, phrases=None):
    """``vocab.count_words`` on the cluster: (counts dict, stats dict), equal to the
    single-process ones when nothing was pruned."""
    corpus.check_encoding_errors(encoding_errors)
    futures = client.map(count_shard, shards, max_vocab_words=max_vocab_words,
                         encoding_errors=encoding_errors, phrases=_broadcast(client, phrases),
                         retries=cluster.RETRIES, pure=False)
    total = cluster.tree_reduce(client, futures, merge_counts, fan_in=MERGE_FAN_IN,
                                max_vocab_words=max_vocab_words)
    cluster.wait_all(futures + [total], progress, "counting words on the cluster")
    merged = total.result()
    if merged.tokens == 0:
        raise _no_words(shards)
    words, counts = merged.table.words(), merged.table.counts
    counted = {w.decode("utf-8"): int(c) for w, c in zip(words, counts)}
    table = merged.table
    stats = {"total_tokens": merged.tokens, "total_lines": merged.lines,
             "long_words": merged.long_words, "distinct": len(counted),
             "pruned_below": table.min_reduce if table.prunes else 0}
    return counted, stats


# ---------------------------------------------------------------- words and pairs (phrases)
@dataclass
class PairCounts:
    words: Packed
    pairs: Packed
    tokens: int = 0
    lines: int = 0
    first: bytes = None  # the first and last words (not </s>): pairs across shard edges
    last: bytes = None


def _first_word(chunk):
    for word in chunk.split():
        if word != _MARK:
            return word
    return None


def count_pairs_shard(shard, max_vocab_words, encoding_errors="strict", phrases=None):
    """Map task: the words and pairs of one shard, with the phrases of the earlier passes
    (``phrases``, a ``PhraseTable``) joined first, as the single-process pass reads it."""
    from staticvec._kernels.tokenize import WordTable, last_word

    words, pairs = WordTable(), WordTable()
    tokens = lines = 0
    first = prev = None
    for chunk in _chunks(shard, encoding_errors, phrases):
        t, n = words.count_pairs(pairs, chunk, max_vocab_words, prev)
        tokens, lines = tokens + t, lines + n
        if first is None:
            first = _first_word(chunk)
        prev = last_word(chunk, prev)
    return PairCounts(Packed.of(words), Packed.of(pairs), tokens, lines, first, prev)


def merge_pairs(*parts, max_vocab_words):
    """Reduce task: ``parts`` (consecutive, in corpus order) together, with the pairs that
    span two of them, pruned to --max-vocab-words words and pairs together."""
    from staticvec._kernels.tokenize import WordTable

    edges, first, last = {}, None, None
    for part in parts:
        if part.first is None:
            continue
        if last is not None:
            edge = last + b"_" + part.first
            edges[edge] = edges.get(edge, 0) + 1
        first = part.first if first is None else first
        last = part.last

    def bound(tables):
        tables[0].bound(max_vocab_words, tables[1])

    words, pairs = _merged([(p.words, p.pairs) for p in parts], bound)
    if edges:
        extra = WordTable()
        extra.add_counts(list(edges), np.array(list(edges.values()), dtype=np.int64))
        pairs.merge(extra)
    words.min_reduce = pairs.min_reduce = max(words.min_reduce, pairs.min_reduce)
    words.bound(max_vocab_words, pairs)
    return PairCounts(Packed.of(words), Packed.of(pairs), sum(p.tokens for p in parts),
                      sum(p.lines for p in parts), first, last)


def count_pairs(client, shards, max_vocab_words, encoding_errors="strict", phrases=None,
                progress=None, stage_name="counting words and pairs on the cluster"):
    """``phrases.count_pairs`` on the cluster: (words table, pairs table, tokens, lines,
    pruned_below), the tables as C WordTables on the client, ready for scoring."""
    futures = client.map(count_pairs_shard, shards, max_vocab_words=max_vocab_words,
                         encoding_errors=encoding_errors, phrases=_broadcast(client, phrases),
                         retries=cluster.RETRIES, pure=False)
    total = cluster.tree_reduce(client, futures, merge_pairs, fan_in=MERGE_FAN_IN,
                                max_vocab_words=max_vocab_words)
    cluster.wait_all(futures + [total], progress, stage_name)
    merged = total.result()
    words, pairs = merged.words.table(), merged.pairs.table()
    prunes = merged.words.prunes + merged.pairs.prunes
    pruned = max(merged.words.min_reduce, merged.pairs.min_reduce) if prunes else 0
    return words, pairs, merged.tokens, merged.lines, pruned


# ---------------------------------------------------------------- the commands' jobs
def build_vocab(client, shards, min_count=5, max_size=None, max_vocab_words=30_000_000,
                encoding_errors="strict", progress=None, phrases=None):
    """``vocab.build_vocab`` on the cluster (the ``vocab --dask`` command; ``phrases``: a
    ``PhraseTable`` whose phrases are joined first, as the trainers' --phrases does)."""
    from staticvec.text.vocab import kept_vocab

    counted, stats = count_words(client, shards, max_vocab_words, encoding_errors, progress,
                                 phrases)
    return kept_vocab(counted, stats, min_count, max_size)


def find_phrases(client, shards, output, *, min_count=5, threshold=100.0, passes=1,
                 scorer="word2phrase", max_vocab_words=30_000_000, encoding_errors="strict",
                 save_phrases=None, progress=None):
    """``phrases.find_phrases`` with each pass counted on the cluster (the joined text is
    written by this process, reading the shards in order). Returns the same summary."""
    from staticvec.text import phrases

    phrases.check_options(min_count=min_count, threshold=threshold, passes=passes,
                          scorer=scorer, max_vocab_words=max_vocab_words)
    corpus.check_encoding_errors(encoding_errors)

    def count(number, joiners):
        table = phrases.PhraseTable.from_joiners(joiners) if joiners else None
        return count_pairs(client, shards, max_vocab_words, encoding_errors, table, progress,
                           f"pass {number}/{passes}: counting words and pairs on the cluster")

    def text():
        for shard in shards:
            yield from inputs.shard_chunks(shard, encoding_errors)

    return phrases.run_passes(count, text, output, list(dict.fromkeys(s.name for s in shards)),
                              min_count=min_count, threshold=threshold, passes=passes,
                              scorer=scorer, save_phrases=save_phrases, progress=progress,
                              total_bytes=sum(s.size for s in shards))
