# cython: language_level=3
"""Counting and encoding plain text without a Python object per token.

``WordTable`` is an open-addressing hash table of byte strings kept in one arena. It
counts words straight from UTF-8 byte chunks (``count``), prunes the rarest entries
when it holds too many distinct words (word2vec C's ReduceVocab, so memory stays
bounded on huge corpora), and, filled with a fixed vocabulary (``add``), turns chunks
into uint32 id streams with sentence boundaries (``encode``). Words are split on ASCII
whitespace; a newline ends a sentence. Words are never truncated.

Phrases (word2phrase): ``count_pairs`` counts words and ``a_b`` pairs of consecutive words;
a ``Joiner`` holds the phrases of one pass (``fill``: scored from those counts; ``add``: read
from a table) and joins them over a stream of chunks (``join``).
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memcmp, memset
from libc.math cimport log

import numpy as np

cdef uint32_t EMPTY = 0xFFFFFFFF
cdef size_t LONG_WORD = 100


cdef uint8_t SPACE[256]
memset(SPACE, 0, 256)
SPACE[32] = SPACE[9] = SPACE[10] = SPACE[11] = SPACE[12] = SPACE[13] = 1


cdef inline bint is_space(uint8_t c) noexcept nogil:
    return SPACE[c]


cdef uint64_t FNV_OFFSET = 14695981039346656037ULL   # FNV-1a, 64 bit
cdef uint64_t FNV_PRIME = 1099511628211ULL


cdef inline Py_ssize_t next_word(const uint8_t *base, Py_ssize_t n, Py_ssize_t *pos,
                                 uint64_t *lines, uint64_t *hash) noexcept nogil:
    """Where the next word of base[pos[0]:n] starts (its end goes to pos[0], its FNV-1a hash
    to hash[0]), counting in lines[0] the newlines skipped on the way; -1 at the end."""
    cdef Py_ssize_t i = pos[0], start
    cdef uint64_t h = FNV_OFFSET
    while i < n and SPACE[base[i]]:
        if base[i] == 10:
            lines[0] += 1
        i += 1
    if i >= n:
        pos[0] = i
        return -1
    start = i
    while i < n and not SPACE[base[i]]:
        h = (h ^ base[i]) * FNV_PRIME
        i += 1
    pos[0] = i
    hash[0] = h
    return start


cdef inline uint64_t hash_bytes(const uint8_t *p, size_t n) noexcept nogil:
    cdef uint64_t h = FNV_OFFSET
    cdef size_t i
    for i in range(n):
        h = (h ^ p[i]) * FNV_PRIME
    return h


cdef inline uint64_t spread(uint64_t h) noexcept nogil:
    # FNV-1a's low bits depend only on the low bits of the input: mix the high ones in
    # before the table's mask keeps the low bits (fewer collisions, shorter probes)
    h ^= h >> 33
    h *= 0xff51afd7ed558ccdULL
    h ^= h >> 33
    return h


cdef class WordTable:
    cdef uint8_t *arena
    cdef uint64_t arena_used, arena_cap
    cdef uint64_t *offsets
    cdef uint32_t *lengths
    cdef uint64_t *counts
    cdef uint64_t *hashes
    cdef uint32_t n_words, words_cap
    cdef uint32_t *slots
    cdef uint64_t n_slots
    cdef public uint64_t min_reduce
    cdef public uint64_t prunes

    def __cinit__(self):
        self.arena_cap = 1 << 20
        self.words_cap = 1 << 16
        self.n_slots = 1 << 17
        self.arena = <uint8_t *> malloc(self.arena_cap)
        self.offsets = <uint64_t *> malloc(self.words_cap * sizeof(uint64_t))
        self.lengths = <uint32_t *> malloc(self.words_cap * sizeof(uint32_t))
        self.counts = <uint64_t *> malloc(self.words_cap * sizeof(uint64_t))
        self.hashes = <uint64_t *> malloc(self.words_cap * sizeof(uint64_t))
        self.slots = <uint32_t *> malloc(self.n_slots * sizeof(uint32_t))
        if not (self.arena and self.offsets and self.lengths and self.counts and self.hashes
                and self.slots):
            raise MemoryError()
        memset(self.slots, 0xFF, self.n_slots * sizeof(uint32_t))
        self.arena_used = 0
        self.n_words = 0
        self.min_reduce = 1
        self.prunes = 0

    def __dealloc__(self):
        free(self.arena)
        free(self.offsets)
        free(self.lengths)
        free(self.counts)
        free(self.hashes)
        free(self.slots)

    def __len__(self):
        return self.n_words

    # ------------------------------------------------------------------ internals
    cdef int _grow_words(self) noexcept nogil:
        cdef uint32_t cap = self.words_cap * 2
        cdef void *a = realloc(self.offsets, cap * sizeof(uint64_t))
        if a == NULL:
            return -1
        self.offsets = <uint64_t *> a
        a = realloc(self.lengths, cap * sizeof(uint32_t))
        if a == NULL:
            return -1
        self.lengths = <uint32_t *> a
        a = realloc(self.counts, cap * sizeof(uint64_t))
        if a == NULL:
            return -1
        self.counts = <uint64_t *> a
        a = realloc(self.hashes, cap * sizeof(uint64_t))
        if a == NULL:
            return -1
        self.hashes = <uint64_t *> a
        self.words_cap = cap
        return 0

    cdef int _rehash(self, uint64_t n_slots) noexcept nogil:
        cdef uint32_t *slots = <uint32_t *> malloc(n_slots * sizeof(uint32_t))
        cdef uint32_t i
        cdef uint64_t s, mask = n_slots - 1
        if slots == NULL:
            return -1
        memset(slots, 0xFF, n_slots * sizeof(uint32_t))
        for i in range(self.n_words):
            s = spread(self.hashes[i]) & mask
            while slots[s] != EMPTY:
                s = (s + 1) & mask
            slots[s] = i
        free(self.slots)
        self.slots = slots
        self.n_slots = n_slots
        return 0

    cdef int64_t _find(self, const uint8_t *p, uint32_t n, uint64_t h) noexcept nogil:
        """Slot index holding the word, or -(empty slot index) - 1."""
        cdef uint64_t mask = self.n_slots - 1
        cdef uint64_t s = spread(h) & mask
        cdef uint32_t w
        while True:
            w = self.slots[s]
            if w == EMPTY:
                return -<int64_t> s - 1
            if self.hashes[w] == h and self.lengths[w] == n and \
                    memcmp(self.arena + self.offsets[w], p, n) == 0:
                return <int64_t> s
            s = (s + 1) & mask

    cdef int64_t _insert(self, const uint8_t *p, uint32_t n, uint64_t h, int64_t found) noexcept nogil:
        """Add a new word at empty slot -(found)-1; returns its id or -1 on allocation failure."""
        cdef uint64_t cap
        cdef void *a
        if self.n_words == self.words_cap and self._grow_words() != 0:
            return -1
        if self.arena_used + n > self.arena_cap:
            cap = self.arena_cap * 2
            while self.arena_used + n > cap:
                cap *= 2
            a = realloc(self.arena, cap)
            if a == NULL:
                return -1
            self.arena = <uint8_t *> a
            self.arena_cap = cap
        cdef uint32_t w = self.n_words
        memcpy(self.arena + self.arena_used, p, n)
        self.offsets[w] = self.arena_used
        self.lengths[w] = n
        self.counts[w] = 0
        self.hashes[w] = h
        self.arena_used += n
        self.slots[-found - 1] = w
        self.n_words += 1
        if self.n_words * 2 > self.n_slots:
            if self._rehash(self.n_slots * 2) != 0:
                return -1
        return w

    cdef uint64_t _lowest_count(self) noexcept nogil:
        cdef uint32_t i
        cdef uint64_t lowest = 0xFFFFFFFFFFFFFFFFULL
        for i in range(self.n_words):
            if self.counts[i] < lowest:
                lowest = self.counts[i]
        return lowest

    cdef int _prune(self, uint64_t min_count) noexcept nogil:
        """Drop words with count < min_count, compacting ids and arena (order kept)."""
        cdef uint32_t i, j = 0
        cdef uint64_t used = 0
        for i in range(self.n_words):
            if self.counts[i] >= min_count:
                if used != self.offsets[i]:
                    memcpy(self.arena + used, self.arena + self.offsets[i], self.lengths[i])
                self.offsets[j] = used
                self.lengths[j] = self.lengths[i]
                self.counts[j] = self.counts[i]
                self.hashes[j] = self.hashes[i]
                used += self.lengths[i]
                j += 1
        self.n_words = j
        self.arena_used = used
        # a table pruned far below its size gets fewer slots: with a tiny --max-vocab-words
        # every new word prunes, and rehashing 2^17 empty slots each time would never end
        cdef uint64_t target = 64
        while target < 4 * (<uint64_t>j + 1):
            target *= 2
        return self._rehash(target if target < self.n_slots else self.n_slots)

    cdef int _bump(self, const uint8_t *p, uint32_t n, uint64_t h) noexcept nogil:
        """Count one more of the word; -1 on allocation failure."""
        cdef int64_t found = self._find(p, n, h)
        if found < 0:
            found = self._insert(p, n, h, found)
            if found < 0:
                return -1
            self.counts[found] += 1
        else:
            self.counts[self.slots[found]] += 1
        return 0

    cdef int _bound(self, uint64_t max_words) noexcept nogil:
        """With ``max_words`` > 0, while more distinct words are held, drop the rarest
        (count <= min_reduce, then min_reduce += 1), exactly like word2vec C; -1 on failure."""
        cdef uint64_t lowest
        if not max_words or self.n_words <= max_words:
            return 0
        while self.n_words > max_words:
            # thresholds below the rarest count drop nothing: skip them at once
            # (the same table and min_reduce as stepping through them one by one)
            lowest = self._lowest_count()
            if lowest > self.min_reduce:
                self.min_reduce = lowest
            if self._prune(self.min_reduce + 1) != 0:  # drop count <= min_reduce
                return -1
            self.min_reduce += 1
            self.prunes += 1
        return 0

    cdef uint64_t count_of(self, const uint8_t *p, uint32_t n) noexcept nogil:
        """The count of a word (0 when absent)."""
        cdef int64_t found = self._find(p, n, hash_bytes(p, n))
        return self.counts[self.slots[found]] if found >= 0 else 0

    # ------------------------------------------------------------------ API
    def add(self, words):
        """Insert ``words`` (bytes, in id order) with count 0; duplicates are an error."""
        cdef bytes word
        cdef const uint8_t *p
        cdef uint64_t h
        cdef int64_t found
        for word in words:
            p = <const uint8_t *> word
            h = hash_bytes(p, len(word))
            found = self._find(p, len(word), h)
            if found >= 0:
                raise ValueError(f"duplicate word {word!r}")
            if self._insert(p, len(word), h, found) < 0:
                raise MemoryError()

    def count(self, const uint8_t[::1] chunk, uint64_t max_words=0):
        """Count the words of ``chunk``; returns (tokens, newlines, long_words).

        With ``max_words`` > 0, whenever more distinct words are held the rarest are
        dropped (count <= min_reduce, then min_reduce += 1), exactly like word2vec C.
        """
        cdef Py_ssize_t n = chunk.shape[0], i = 0, start
        cdef uint64_t tokens = 0, lines = 0, long_words = 0, h
        cdef int failed = 0
        cdef const uint8_t *base
        if n == 0:
            return 0, 0, 0
        base = &chunk[0]
        with nogil:
            while True:
                start = next_word(base, n, &i, &lines, &h)
                if start < 0:
                    break
                if self._bump(base + start, <uint32_t> (i - start), h) != 0 or \
                        self._bound(max_words) != 0:
                    failed = 1
                    break
                tokens += 1
                if <size_t> (i - start) > LONG_WORD:
                    long_words += 1
        if failed:
            raise MemoryError()
        return tokens, lines, long_words

    def merge(self, WordTable other):
        """Add every count of ``other`` into this table."""
        cdef uint32_t w
        cdef int64_t found
        cdef const uint8_t *p
        for w in range(other.n_words):
            p = other.arena + other.offsets[w]
            found = self._find(p, other.lengths[w], other.hashes[w])
            if found < 0:
                found = self._insert(p, other.lengths[w], other.hashes[w], found)
                if found < 0:
                    raise MemoryError()
            else:
                found = self.slots[found]
            self.counts[found] += other.counts[w]

    def items(self):
        """(list of word bytes, int64 counts) in insertion order."""
        cdef uint32_t i
        words = [self.arena[self.offsets[i]:self.offsets[i] + self.lengths[i]]
                 for i in range(self.n_words)]
        counts = np.empty(self.n_words, dtype=np.int64)
        cdef int64_t[::1] c = counts
        for i in range(self.n_words):
            c[i] = <int64_t> self.counts[i]
        return words, counts

    # -- (scale-out) a table sent between processes as words and counts, and pruned there
    def add_counts(self, words, const int64_t[::1] counts):
        """Add ``counts[i]`` to the count of ``words[i]`` (bytes), inserting new words."""
        cdef bytes word
        cdef Py_ssize_t i
        cdef int64_t found
        cdef uint64_t h
        if len(words) != counts.shape[0]:
            raise ValueError("one count per word")
        for i, word in enumerate(words):
            h = hash_bytes(<const uint8_t *> word, len(word))
            found = self._find(<const uint8_t *> word, len(word), h)
            if found < 0:
                found = self._insert(<const uint8_t *> word, len(word), h, found)
                if found < 0:
                    raise MemoryError()
            else:
                found = self.slots[found]
            self.counts[found] += <uint64_t> counts[i]

    def bound(self, uint64_t max_words, WordTable other=None):
        """Prune as counting does until at most ``max_words`` words are held (with
        ``other``: the two tables together, as ``count_pairs`` bounds words and pairs)."""
        if (self._bound(max_words) if other is None else
                self._bound_with(other, max_words)) != 0:
            raise MemoryError()

    def encode(self, const uint8_t[::1] chunk, uint32_t[::1] ids, uint64_t[::1] ends,
               uint64_t id_base, uint64_t last_end, uint64_t sentence_len,
               uint64_t max_sentence_length):
        """Write the ids of known words of ``chunk`` into ``ids`` and sentence ends into ``ends``.

        ``ids`` must hold at least len(chunk)//2 + 1 entries and ``ends`` as many. An end is
        recorded (as ``id_base`` + position) at each newline and whenever a sentence reaches
        ``max_sentence_length`` tokens (counting unknown words too), but never for an empty
        sentence. ``last_end`` and ``sentence_len`` carry the last recorded end and the raw
        length of the open sentence across chunks.
        Returns (n_ids, n_ends, tokens, splits, last_end, sentence_len).
        """
        cdef Py_ssize_t n = chunk.shape[0], i = 0, start
        cdef uint64_t n_ids = 0, n_ends = 0, tokens = 0, splits = 0, h
        cdef int64_t found
        cdef const uint8_t *base
        if n == 0:
            return 0, 0, 0, 0, last_end, sentence_len
        base = &chunk[0]
        with nogil:
            while i < n:
                if is_space(base[i]):
                    if base[i] == 10:
                        if id_base + n_ids > last_end:
                            ends[n_ends] = id_base + n_ids
                            n_ends += 1
                            last_end = id_base + n_ids
                        sentence_len = 0
                    i += 1
                    continue
                start = i
                while i < n and not is_space(base[i]):
                    i += 1
                tokens += 1
                if sentence_len == max_sentence_length:
                    splits += 1
                    if id_base + n_ids > last_end:
                        ends[n_ends] = id_base + n_ids
                        n_ends += 1
                        last_end = id_base + n_ids
                    sentence_len = 0
                sentence_len += 1
                h = hash_bytes(base + start, i - start)
                found = self._find(base + start, <uint32_t> (i - start), h)
                if found >= 0:
                    ids[n_ids] = self.slots[found]
                    n_ids += 1
        return n_ids, n_ends, tokens, splits, last_end, sentence_len

    # ------------------------------------------------------------------ phrases
    cdef int _bound_with(self, WordTable other, uint64_t max_words) noexcept nogil:
        """``_bound`` over this table and ``other`` together (one limit, one min_reduce),
        as word2phrase prunes its one table of words and pairs; -1 on failure."""
        cdef uint64_t lowest, lowest_other
        if not max_words or <uint64_t> self.n_words + other.n_words <= max_words:
            return 0
        while <uint64_t> self.n_words + other.n_words > max_words:
            lowest = self._lowest_count()
            lowest_other = other._lowest_count()
            if lowest_other < lowest:
                lowest = lowest_other
            if lowest > self.min_reduce:
                self.min_reduce = lowest
            if self._prune(self.min_reduce + 1) != 0 or \
                    other._prune(self.min_reduce + 1) != 0:
                return -1
            self.min_reduce += 1
            self.prunes += 1
        return 0

    def count_pairs(self, WordTable pairs, const uint8_t[::1] chunk, uint64_t max_words=0,
                    bytes prev=None):
        """Count the words of ``chunk`` in this table and every pair of consecutive words,
        as the string ``a_b``, in ``pairs``, as word2phrase counts them: pairs run on across
        line ends, ``</s>`` is a line end, and ``prev`` is the word before the chunk (None:
        none). Its one table is the two together: the count of a string is its count here
        plus its count in ``pairs``, and --max-vocab-words bounds the two together.
        Returns (tokens, lines)."""
        cdef Py_ssize_t n = chunk.shape[0], i = 0, start
        cdef uint64_t tokens = 0, lines = 0, h
        cdef uint32_t wlen, plen = 0
        cdef int failed = 0
        cdef const uint8_t *base
        cdef Scratch pair = Scratch()
        if prev is not None and len(prev):
            plen = len(prev)
            if pair.fit(plen) != 0:
                raise MemoryError()
            memcpy(pair.data, <const uint8_t *> prev, plen)
        if n == 0:
            return 0, 0
        base = &chunk[0]
        with nogil:
            while True:
                start = next_word(base, n, &i, &lines, &h)
                if start < 0:
                    break
                wlen = <uint32_t> (i - start)
                if is_mark(base + start, wlen):
                    lines += 1
                    continue
                if self._bump(base + start, wlen, h) != 0:
                    failed = 1
                    break
                tokens += 1
                if plen:
                    if pair.fit(plen + 1 + wlen) != 0:
                        failed = 1
                        break
                    pair.data[plen] = 95  # '_'
                    memcpy(pair.data + plen + 1, base + start, wlen)
                    if pairs._bump(pair.data, plen + 1 + wlen,
                                   hash_bytes(pair.data, plen + 1 + wlen)) != 0:
                        failed = 1
                        break
                if self._bound_with(pairs, max_words) != 0 or pair.fit(wlen) != 0:
                    failed = 1
                    break
                memcpy(pair.data, base + start, wlen)
                plen = wlen
        if failed:
            raise MemoryError()
        return tokens, lines


cdef inline bint is_mark(const uint8_t *p, uint32_t n) noexcept nogil:
    """``</s>`` in the text: a line end, as word2phrase and word2vec C read it."""
    return n == 4 and p[0] == 60 and p[1] == 47 and p[2] == 115 and p[3] == 62


cdef class Scratch:
    """A growable byte buffer (the pair being looked up, the previous word)."""
    cdef uint8_t *data
    cdef uint64_t cap

    def __cinit__(self):
        self.cap = 256
        self.data = <uint8_t *> malloc(self.cap)
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef int fit(self, uint64_t n) noexcept nogil:
        cdef uint64_t cap = self.cap
        cdef void *a
        if n <= cap:
            return 0
        while cap < n:
            cap *= 2
        a = realloc(self.data, cap)
        if a == NULL:
            return -1
        self.data = <uint8_t *> a
        self.cap = cap
        return 0


def last_word(const uint8_t[::1] chunk, bytes prev=None):
    """The last word of ``chunk`` that is not ``</s>`` (``prev`` when there is none): the
    word before the next chunk, for ``count_pairs``."""
    cdef Py_ssize_t i = chunk.shape[0], end
    while i > 0:
        while i > 0 and SPACE[chunk[i - 1]]:
            i -= 1
        end = i
        while i > 0 and not SPACE[chunk[i - 1]]:
            i -= 1
        if end > i and not is_mark(&chunk[i], <uint32_t> (end - i)):
            return bytes(chunk[i:end])
    return prev


cdef enum:
    SCORER_WORD2PHRASE = 0
    SCORER_NPMI = 1


cdef class Joiner(WordTable):
    """The phrases of one pass, and joining them over a stream of chunks.

    The table holds each phrase as its two words separated by a space (``a b``: no word
    holds a space, so the split is never ambiguous), with the pair's count and its score.
    ``fill`` finds them from the counts of ``count_pairs``: a and b join when a, b and
    ``a_b`` were each counted at least ``min_count`` times and the score is above the
    threshold: word2phrase's ``(count(ab) - min_count) / count(a) / count(b) * total`` in
    single precision as word2phrase computes it, or npmi
    ``ln(p(ab) / (p(a) p(b))) / -ln(p(ab))`` (gensim's). ``add`` loads them from a file.
    ``join``: consecutive words a b of a line join as ``a_b`` when ``a b`` is a phrase and a
    is not itself the second half of a phrase. Output: words separated by one space, ``_``
    inside phrases, one newline per line end.
    """
    cdef uint64_t min_count, total
    cdef float threshold_f
    cdef double threshold_d
    cdef int scorer
    cdef double *scores
    cdef uint64_t scores_cap
    cdef Scratch prev
    cdef uint32_t prev_len
    cdef bint prev_free, line_start
    cdef public uint64_t joins

    def __init__(self, uint64_t min_count=5, double threshold=100.0, str scorer="word2phrase",
                 uint64_t total=0):
        if scorer not in ("word2phrase", "npmi"):
            raise ValueError(f"unknown scorer {scorer!r}")
        self.min_count = min_count
        self.threshold_f = <float> threshold
        self.threshold_d = threshold
        self.scorer = SCORER_NPMI if scorer == "npmi" else SCORER_WORD2PHRASE
        self.total = total
        self.prev = Scratch()
        self.reset()

    def __dealloc__(self):
        free(self.scores)

    def reset(self):
        """Forget the stream position: the next chunk starts a new stream."""
        self.prev_len = 0
        self.prev_free = False
        self.line_start = True
        self.joins = 0

    cdef int _record(self, const uint8_t *p, uint32_t n, uint64_t count, double score) noexcept nogil:
        cdef uint64_t h = hash_bytes(p, n)
        cdef int64_t found = self._find(p, n, h)
        cdef uint64_t cap
        cdef void *a
        if found >= 0:
            return 0
        found = self._insert(p, n, h, found)
        if found < 0:
            return -1
        if <uint64_t> found >= self.scores_cap:
            cap = self.scores_cap * 2 if self.scores_cap else 1024
            a = realloc(self.scores, cap * sizeof(double))
            if a == NULL:
                return -1
            self.scores = <double *> a
            self.scores_cap = cap
        self.scores[found] = score
        self.counts[found] = count
        return 0

    cdef double _score(self, uint64_t ca, uint64_t cb, uint64_t cab) noexcept nogil:
        cdef float sf
        cdef double n, pab
        if self.scorer == SCORER_WORD2PHRASE:
            # word2phrase: real (float) arithmetic, left to right
            sf = <float> (<int64_t> cab - <int64_t> self.min_count) / <float> ca / <float> cb \
                * <float> self.total
            return sf
        n = <double> self.total
        pab = cab / n
        return log(pab / ((ca / n) * (cb / n))) / -log(pab)

    cdef bint _above(self, double score) noexcept nogil:
        if self.scorer == SCORER_WORD2PHRASE:
            return <float> score > self.threshold_f
        return score > self.threshold_d

    def fill(self, WordTable words, WordTable pairs):
        """Add every pair of ``pairs`` that scores above the threshold (each way of cutting
        a pair string with several ``_`` into two counted words is scored on its own)."""
        cdef uint32_t k, n, i
        cdef uint64_t cab, ca, cb
        cdef const uint8_t *p
        cdef double score
        cdef int failed = 0
        cdef Scratch key = Scratch()
        with nogil:
            for k in range(pairs.n_words):
                p = pairs.arena + pairs.offsets[k]
                n = pairs.lengths[k]
                cab = pairs.counts[k] + words.count_of(p, n)
                if cab < self.min_count or n < 3:
                    continue
                for i in range(1, n - 1):
                    if p[i] != 95:
                        continue
                    # a cut whose halves were never words of the text never joins
                    ca = words.count_of(p, i)
                    if ca == 0:
                        continue
                    ca += pairs.count_of(p, i)
                    if ca < self.min_count:
                        continue
                    cb = words.count_of(p + i + 1, n - i - 1)
                    if cb == 0:
                        continue
                    cb += pairs.count_of(p + i + 1, n - i - 1)
                    if cb < self.min_count:
                        continue
                    score = self._score(ca, cb, cab)
                    if not self._above(score):
                        continue
                    if key.fit(n) != 0:
                        failed = 1
                        break
                    memcpy(key.data, p, n)
                    key.data[i] = 32
                    if self._record(key.data, n, cab, score) != 0:
                        failed = 1
                        break
                if failed:
                    break
        if failed:
            raise MemoryError()

    def join(self, const uint8_t[::1] chunk, uint8_t[::1] out):
        """Join the phrases of ``chunk`` (continuing the stream) into ``out``, which must
        hold len(chunk) * 3 // 2 + 8 bytes; returns the number of bytes written. The last
        word written may still get a phrase's second half from the next chunk."""
        cdef Py_ssize_t n = chunk.shape[0], i = 0, start
        cdef uint64_t o = 0
        cdef uint32_t wlen, plen
        cdef const uint8_t *base
        cdef const uint8_t *w
        cdef bint joined
        cdef int failed = 0
        if <uint64_t> out.shape[0] < <uint64_t> (n + n // 2 + 8):
            raise ValueError("output buffer too small")
        if n == 0:
            return 0
        base = &chunk[0]
        with nogil:
            while i < n:
                if is_space(base[i]):
                    if base[i] == 10:
                        out[o] = 10
                        o += 1
                        self.line_start = True
                        self.prev_free = False
                    i += 1
                    continue
                start = i
                while i < n and not SPACE[base[i]]:
                    i += 1
                w = base + start
                wlen = <uint32_t> (i - start)
                if is_mark(w, wlen):
                    out[o] = 10
                    o += 1
                    self.line_start = True
                    self.prev_free = False
                    continue
                plen = self.prev_len
                if self.prev.fit(<uint64_t> plen + 1 + wlen) != 0:
                    failed = 1
                    break
                joined = False
                if self.prev_free and self.n_words:
                    self.prev.data[plen] = 32
                    memcpy(self.prev.data + plen + 1, w, wlen)
                    joined = self._find(self.prev.data, plen + 1 + wlen,
                                        hash_bytes(self.prev.data, plen + 1 + wlen)) >= 0
                if not self.line_start:
                    out[o] = 95 if joined else 32
                    o += 1
                memcpy(&out[o], w, wlen)
                o += wlen
                if joined:
                    self.joins += 1
                memcpy(self.prev.data, w, wlen)
                self.prev_len = wlen
                self.prev_free = not joined
                self.line_start = False
        if failed:
            raise MemoryError()
        return o

    def phrases(self):
        """(list of phrases as ``a b`` bytes, int64 counts of the pair, float64 scores) in
        the order they were found (scores 0 for phrases added from a file)."""
        words, counts = self.items()
        scores = np.zeros(len(words), dtype=np.float64)
        cdef double[::1] s = scores
        cdef Py_ssize_t i
        if self.scores != NULL:
            for i in range(len(words)):
                s[i] = self.scores[i]
        return words, counts, scores
