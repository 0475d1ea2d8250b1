# cython: language_level=3
"""Counting and encoding plain text without a Python object per token.

``WordTable`` is an open-addressing hash table of byte strings kept in one arena. It
counts words straight from UTF-8 byte chunks (``count``), prunes the rarest entries
when it holds too many distinct words (word2vec C's ReduceVocab, so memory stays
bounded on huge corpora), and, filled with a fixed vocabulary (``add``), turns chunks
into uint32 id streams with sentence boundaries (``encode``). Words are split on ASCII
whitespace; a newline ends a sentence. Words are never truncated.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memcmp, memset

import numpy as np

cdef uint32_t EMPTY = 0xFFFFFFFF
cdef size_t LONG_WORD = 100


cdef uint8_t SPACE[256]
memset(SPACE, 0, 256)
SPACE[32] = SPACE[9] = SPACE[10] = SPACE[11] = SPACE[12] = SPACE[13] = 1


cdef inline bint is_space(uint8_t c) noexcept nogil:
    return SPACE[c]


cdef inline uint64_t hash_bytes(const uint8_t *p, size_t n) noexcept nogil:
    # FNV-1a, 64 bit
    cdef uint64_t h = 14695981039346656037ULL
    cdef size_t i
    for i in range(n):
        h = (h ^ p[i]) * 1099511628211ULL
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
            s = self.hashes[i] & mask
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
        cdef uint64_t s = h & mask
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
        cdef uint64_t tokens = 0, lines = 0, long_words = 0, h, lowest
        cdef int64_t found
        cdef int failed = 0
        cdef const uint8_t *base
        if n == 0:
            return 0, 0, 0
        base = &chunk[0]
        with nogil:
            while i < n:
                if is_space(base[i]):
                    if base[i] == 10:
                        lines += 1
                    i += 1
                    continue
                start = i
                h = 14695981039346656037ULL
                while i < n and not SPACE[base[i]]:
                    h = (h ^ base[i]) * 1099511628211ULL
                    i += 1
                found = self._find(base + start, <uint32_t> (i - start), h)
                if found < 0:
                    found = self._insert(base + start, <uint32_t> (i - start), h, found)
                    if found < 0:
                        failed = 1
                        break
                    self.counts[found] += 1
                else:
                    self.counts[self.slots[found]] += 1
                tokens += 1
                if <size_t> (i - start) > LONG_WORD:
                    long_words += 1
                if max_words and self.n_words > max_words:
                    while self.n_words > max_words:
                        # thresholds below the rarest count drop nothing: skip them at once
                        # (the same table and min_reduce as stepping through them one by one)
                        lowest = self._lowest_count()
                        if lowest > self.min_reduce:
                            self.min_reduce = lowest
                        if self._prune(self.min_reduce + 1) != 0:  # drop count <= min_reduce
                            failed = 1
                            break
                        self.min_reduce += 1
                        self.prunes += 1
                    if failed:
                        break
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
