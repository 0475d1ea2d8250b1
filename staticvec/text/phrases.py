"""Phrase detection as word2phrase does it: count words and word pairs, score, join, tables.

One pass counts every word and every pair of consecutive words (as the string ``a_b``;
pairs run on across line ends) in C over byte chunks, on two threads, pruning the rarest
entries as word2vec C does when more than --max-vocab-words words and pairs are held. The
words and the pairs are two tables, but a string's count is the sum of the two, as in
word2phrase's one table (a token ``a_b`` of the text and the pair ``a b`` share a count).
A pair ``a b`` is a phrase when a, b and ``a_b`` were each counted at least --min-count
times and its score is above --threshold:

- ``word2phrase``: ``(count(ab) - min_count) / count(a) / count(b) * total_words``, in
  single precision as word2phrase computes it;
- ``npmi`` (gensim's): ``ln(p(ab) / (p(a) p(b))) / -ln(p(ab))``, in [-1, 1].

Then the text is read again and consecutive words ``a b`` of a line are joined as ``a_b``
when ``a b`` is a phrase and ``a`` is not itself the second half of a phrase (so one pass
makes phrases of two words). ``--passes N`` repeats it on its own output, so later passes
build longer phrases (each pass is counted on the text the passes before it joined; the
corpus is read N + 1 times, stdin spooled once to a temporary file). The output keeps the
lines and the words, separated by one space, phrases joined with ``_``; a line never joins
to the next.

The phrase table (``PhraseTable``) is those phrases: ``phrase score count`` lines, best
first (a pair counted across a line end is listed but never joins), and with several
passes a ``# pass N`` line before the phrases of each. A phrase holding more than one
``_`` (``new_york_city``, from a later pass) names its first word in a fourth field
(``new_york``), since the pass scored ``new_york city`` and ``new york_city`` apart.
Joining by the table (``--phrases FILE`` of the trainers) gives the text the passes gave.

Deliberate differences from word2phrase C: words are never truncated (it cuts words of
59 bytes or more to 58 and pair strings to 59, even mid-character); its hash table is
fixed (500M slots, 2 GB touched at start-up, pruning only past 350M entries) where these
grow and prune past --max-vocab-words; the last word of a file with no newline after it
is kept (word2phrase drops it); ``\r``, ``\v`` and ``\f`` separate words (word2phrase
drops ``\r`` and keeps the others inside words); the first word of the text starts no
pair (word2phrase pairs it with an uninitialised buffer); --min-count must be >= 1 and
the threshold >= 0 (below, word2phrase divides by zero or joins every word, across lines
too); and every entry seen --min-count times is kept (word2phrase's sort also drops one
entry of the lowest count when no entry is below --min-count).
"""
import contextlib
import hashlib
import logging
import math
import os
import re
import tempfile

import numpy as np

from staticvec.atomic import atomic_output, outputs_together
from staticvec.errors import BadOptionError, FormatError, InputError
from staticvec.reporting import Stage
from staticvec.text import corpus
from staticvec.text.vocab import _size, count_in_threads, counting_tables

log = logging.getLogger(__name__)

SCORERS = ("word2phrase", "npmi")
MAX_PASSES = 100
MAX_COUNT = 2 ** 63 - 1
_PASS_LINE = re.compile(r"#\s*pass\s+(\S+)\s*")
_COUNT = re.compile(r"[0-9]{1,19}")


def check_options(*, min_count, threshold, passes, scorer, max_vocab_words=30_000_000):
    """Refuse bad values, naming the option: ``--NAME must be <condition> (got VALUE)``."""
    if scorer not in SCORERS:
        raise BadOptionError(f"invalid value for --scorer: {scorer!r} "
                             f"(choose from {', '.join(SCORERS)})")
    if not 1 <= min_count <= MAX_COUNT:
        raise BadOptionError(f"--min-count must be an integer in [1, 2^63-1] (got {min_count})")
    if not 1 <= passes <= MAX_PASSES:
        raise BadOptionError(f"--passes must be an integer in [1, {MAX_PASSES}] (got {passes})")
    if not 1 <= max_vocab_words <= 2 ** 31 - 1:
        raise BadOptionError(f"--max-vocab-words must be an integer in [1, 2147483647] "
                             f"(got {max_vocab_words})")
    if scorer == "npmi":
        if not (math.isfinite(threshold) and -1 <= threshold <= 1):
            raise BadOptionError(f"--threshold must be a number in [-1, 1] with --scorer npmi "
                                 f"(got {threshold})")
    elif not (math.isfinite(threshold) and threshold >= 0):
        raise BadOptionError(f"--threshold must be a finite number >= 0 (got {threshold})")


# ---------------------------------------------------------------- joining a stream
def _join(joiner, chunk):
    out = np.empty(len(chunk) + len(chunk) // 2 + 8, dtype=np.uint8)
    return out[:joiner.join(chunk, out)].tobytes()


def _cut(data):
    """(text up to the last separator, the rest): the last word may still grow a phrase."""
    cut = max(data.rfind(b"\n"), data.rfind(b" ")) + 1
    return data[:cut], data[cut:]


def join_chunks(chunks, joiners):
    """The chunks with the phrases of each joiner (one per pass, in order) joined; every
    chunk yielded ends on a separator, as ``corpus.iter_chunks``' do."""
    for joiner in joiners:
        joiner.reset()
    if not joiners:
        yield from chunks
        return
    tails = [b""] * len(joiners)
    for chunk in chunks:
        for k, joiner in enumerate(joiners):
            chunk, tails[k] = _cut(tails[k] + _join(joiner, chunk))
        if chunk:
            yield chunk
    rest = b""  # (empty: every input ends with a newline, which nothing joins)
    for k, joiner in enumerate(joiners):
        rest = tails[k] + _join(joiner, rest)
    if rest:
        yield rest + b"\n"


# ---------------------------------------------------------------- the phrase table
class PhraseTable:
    """The phrases of each pass: lists of (phrase, score, count, first), best first.

    ``first`` is the phrase's first word where the phrase holds more than one ``_`` (None
    elsewhere, and in tables written by hand): ``a_b_c`` may join ``a_b c`` or ``a b_c``, and
    a pass scores the two apart. Without it, a phrase joins at any of its ``_``."""

    def __init__(self, passes):
        self.passes = [sorted(p, key=lambda e: (-e[1], e[0], e[3] or "")) for p in passes] \
            or [[]]
        self.source = None  # the file it was read from

    def __len__(self):
        return sum(len(p) for p in self.passes)

    @classmethod
    def from_joiners(cls, joiners):
        passes = []
        for joiner in joiners:
            keys, counts, scores = joiner.phrases()
            found = []
            for key, count, score in zip(keys, counts, scores):
                first, second = key.decode("utf-8").split(" ")
                phrase = f"{first}_{second}"
                found.append((phrase, float(score), int(count),
                              first if phrase.count("_") > 1 else None))
            passes.append(found)
        return cls(passes)

    @property
    def digest(self):
        """SHA-256 of the phrases of each pass (what joining depends on, not the scores)."""
        h = hashlib.sha256(b"staticvec-phrases-1\n")
        for number, phrases in enumerate(self.passes, 1):
            h.update(f"# pass {number}\n".encode())
            h.update("".join(sorted(f"{p} {first or ''}\n" for p, _, _, first in phrases))
                     .encode("utf-8"))
        return h.hexdigest()

    def joiners(self):
        from staticvec._kernels.tokenize import Joiner

        made = []
        for phrases in self.passes:
            joiner = Joiner()
            joiner.add(list(dict.fromkeys(key for p, _, _, first in phrases
                                          for key in _cuts(p, first))))
            made.append(joiner)
        return made

    def join_chunks(self, chunks):
        return join_chunks(chunks, self.joiners())

    def text(self):
        lines = []
        for number, phrases in enumerate(self.passes, 1):
            if len(self.passes) > 1:
                lines.append(f"# pass {number}\n")
            lines.extend(f"{p} {s:.6g} {c}" + (f" {first}\n" if first else "\n")
                         for p, s, c, first in phrases)
        return "".join(lines)

    def save(self, path):
        with atomic_output(path, "wb") as out:
            out.write(self.text().encode("utf-8"))

    @classmethod
    def load(cls, path):
        """Read a phrase table; a malformed line is a ``FormatError`` naming file and line."""
        corpus.check_inputs([path])
        state = {"passes": [[]], "headers": 0}
        try:
            with corpus.open_binary(path) as stream:
                for number, raw in enumerate(stream, 1):
                    _parse_line(path, number, raw, state)
        except corpus.DECOMPRESS_ERRORS as exc:
            raise FormatError(f"{path}: damaged or unreadable file ({exc})") from None
        table = cls(state["passes"])
        table.source = path
        return table


def _parse_line(path, number, raw, state):
    """One line of a phrase table into ``state`` (the passes so far, the headers seen)."""
    where = f"{path}: line {number}"
    try:
        line = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise FormatError(f"{where}: invalid UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    if not line:
        return
    if line.startswith("#"):  # a comment, or the line that starts the phrases of a pass
        header = _PASS_LINE.fullmatch(line)
        if header:
            expected = state["headers"] + 1
            if header.group(1) != str(expected):
                raise FormatError(f"{where}: expected '# pass {expected}', got {line[:60]!r}")
            state["headers"] = expected
            if expected > 1:
                state["passes"].append([])
        return
    fields = line.split()
    if len(fields) not in (3, 4) or not _COUNT.fullmatch(fields[2]) or \
            "_" not in fields[0][1:-1]:
        raise FormatError(f"{where}: expected 'phrase score count [first word]' (a phrase "
                          f"is words joined by _), got {line[:60]!r}")
    first = fields[3] if len(fields) == 4 else None
    if first is not None and not (fields[0].startswith(first + "_") and
                                  len(first) + 1 < len(fields[0])):
        raise FormatError(f"{where}: {first[:30]!r} is not the first word of the phrase "
                          f"{fields[0][:60]!r}")
    try:
        score = float(fields[1])
    except ValueError:
        score = math.nan
    if math.isnan(score):
        raise FormatError(f"{where}: the score {fields[1][:30]!r} is not a number")
    state["passes"][-1].append((fields[0], score, int(fields[2]), first))


def _cuts(phrase, first=None):
    """The joiner's keys of a phrase: its two words separated by a space; without its
    ``first`` word, one for each ``_`` it could have been joined at (a word may hold ``_``
    itself, e.g. after an earlier pass)."""
    data = phrase.encode("utf-8")
    if first is not None:
        cut = len(first.encode("utf-8"))
        return [data[:cut] + b" " + data[cut + 1:]]
    return [data[:i] + b" " + data[i + 1:] for i in range(1, len(data) - 1)
            if data[i] == 0x5F]


# ---------------------------------------------------------------- counting and finding
def count_pairs(chunks, max_vocab_words, threads=2, progress=None, total_bytes=0,
                stage_name="counting words and pairs"):
    """Count the words and pairs of ``chunks``; returns (words table, pairs table, tokens,
    lines, pruned_below)."""
    from staticvec._kernels.tokenize import WordTable, last_word

    words, limit = counting_tables(threads, max_vocab_words)
    tables = [(table, WordTable()) for table in words]

    def items():
        prev = None
        for chunk in chunks:
            yield len(chunk), (chunk, prev)
            prev = last_word(chunk, prev)

    totals = count_in_threads(
        items(), tables, lambda table, item: table[0].count_pairs(table[1], item[0], limit,
                                                                  item[1]),
        progress, stage_name, total_bytes)
    words, pairs = tables[0]
    for other_words, other_pairs in tables[1:]:
        words.merge(other_words)
        pairs.merge(other_pairs)
    tokens, lines = totals or (0, 0)
    pruned = max(t.min_reduce for t, _ in tables) if sum(t.prunes for t, _ in tables) else 0
    return words, pairs, tokens, lines, pruned


def find_phrases(paths, output, *, min_count=5, threshold=100.0, passes=1,
                 scorer="word2phrase", max_vocab_words=30_000_000, encoding_errors="strict",
                 save_phrases=None, threads=2, progress=None):
    """Count, score and join: write the text of ``paths`` with its phrases joined to
    ``output`` (and the phrase table to ``save_phrases``), both appearing together.
    Returns the summary: a dict of tokens, lines, phrases found and joins made per pass."""
    check_options(min_count=min_count, threshold=threshold, passes=passes, scorer=scorer,
                  max_vocab_words=max_vocab_words)
    corpus.check_encoding_errors(encoding_errors)
    corpus.check_inputs(paths)
    paths = list(paths)
    total_bytes = sum(_size(p) for p in paths)
    spool = None
    if not all(corpus.is_regular(p) for p in paths):  # stdin, a pipe: read once, spooled
        spool = tempfile.NamedTemporaryFile(prefix="staticvec-stdin-", suffix=".txt",
                                            delete=False)
    reading = {"paths": paths}

    def count(number, joiners):
        tee = corpus.SpoolWriter(spool) if spool is not None and number == 1 else None
        chunks = join_chunks(corpus.iter_chunks(reading["paths"], encoding_errors, tee=tee),
                             joiners)
        counted = count_pairs(chunks, max_vocab_words, threads, progress, total_bytes,
                              f"pass {number}/{passes}: counting words and pairs")
        if number == 1 and spool is not None and counted[2]:
            spool.close()
            reading["paths"] = [spool.name]
        return counted

    try:
        return run_passes(count, lambda: corpus.iter_chunks(reading["paths"], encoding_errors),
                          output, paths, min_count=min_count, threshold=threshold,
                          passes=passes, scorer=scorer, save_phrases=save_phrases,
                          progress=progress, total_bytes=total_bytes)
    finally:
        if spool is not None:
            spool.close()
            with contextlib.suppress(OSError):
                os.unlink(spool.name)


def run_passes(count, text, output, names, *, min_count, threshold, passes, scorer,
               save_phrases, progress=None, total_bytes=0):
    """The passes of ``find_phrases`` over counts from ``count(number, joiners)`` (the
    (words, pairs, tokens, lines, pruned_below) of pass ``number``, its text joined by the
    earlier passes' ``joiners``), then the joined text of ``text()`` (chunks) written to
    ``output``. ``names``: the inputs, for the error of an empty text. Returns the summary."""
    from staticvec._kernels.tokenize import Joiner

    joiners, summary = [], {"passes": []}
    for number in range(1, passes + 1):
        words, pairs, tokens, lines, pruned = count(number, joiners)
        if number == 1:
            if tokens == 0:
                raise InputError(f"{', '.join(corpus.describe(p) for p in names)}: no words "
                                 f"found (empty input)")
            summary.update(tokens=tokens, lines=lines)
        if pruned:
            log.info(f"pass {number}: words and pairs seen fewer than {pruned} times were "
                     f"pruned while counting to bound memory (--max-vocab-words)")
        summary["passes"].append({"entries": len(words) + len(pairs),
                                  "pruned_below": pruned})
        joiner = Joiner(min_count, threshold, scorer, tokens)
        joiner.fill(words, pairs)
        joiners.append(joiner)
        del words, pairs  # the counts of a pass are done with once its phrases are known
    with outputs_together():
        with atomic_output(output, "wb") as out, \
                Stage(progress, "joining phrases", total_bytes, unit="bytes") as stage:
            done = 0
            for chunk in join_chunks(text(), joiners):
                out.write(chunk)
                done += len(chunk)
                stage.update(min(done, total_bytes) if total_bytes else done)
        found = PhraseTable.from_joiners(joiners)
        if save_phrases is not None:
            found.save(save_phrases)
    for number, (joiner, phrases) in enumerate(zip(joiners, found.passes)):
        summary["passes"][number].update(phrases=len(phrases), joins=joiner.joins)
    summary["phrases"] = len(found)
    summary["joins"] = sum(j.joins for j in joiners)
    return summary


def summary_line(summary):
    joins = " + ".join(f"{p['joins']:,}" for p in summary["passes"])
    return (f"phrases: {summary['tokens']:,} tokens, {summary['lines']:,} lines, "
            f"{summary['phrases']:,} phrases found, {joins} joins made")
