"""word2vec arithmetic: skip-gram and CBOW with negative sampling and/or hierarchical softmax.

One call of ``Word2VecKernel.train`` trains one thread's blocks of the encoded corpus (ranges of
sentences, in the order given: its part of a random walk over the corpus, --order shuffled,
``runner.shuffled_blocks``; or its share front to back or lane by lane, ``runner.lane_blocks``)
for every epoch, entirely without the GIL, updating the shared matrices hogwild.
The algorithm is word2vec C's (Mikolov et al. 2013), step for step:

- subsampling keeps word w with probability (sqrt(f/(s*T)) + 1) * s*T/f, drawn per occurrence,
  before the window is laid (so, as in word2vec C and gensim, dropped words widen the window);
- the window is reduced per centre word by b drawn uniformly from [0, window);
- a sentence end (a newline, or a split of a very long line) bounds every context;
- skip-gram: each context word's input vector predicts the centre word (word2vec C's order);
  CBOW: the mean (or sum) of the context input vectors predicts the centre word, and the error
  is added whole to every context word, as word2vec C does;
- negative sampling draws from count^0.75; a negative equal to the positive is skipped;
- hierarchical softmax walks the Huffman path; |f| >= 6 skips that node, as word2vec C does;
- sigmoid by word2vec C's 1000-entry table over [-6, 6] (see common.h), NS clipped beyond it;
- the loss (not in word2vec C) is summed per thread in float64: per prediction (a skip-gram
  pair, a CBOW centre word) -log sigma(f) of the positive and -log sigma(-f) of each
  negative, plus -log P(word) along the Huffman path with --hs, at the true f even where the
  gradient is clipped (common.h sv_softplus);
- the learning rate is a function of the words processed by all threads (a shared counter
  every thread publishes to and sums every 10,000 words), floored at min_alpha:
  ``scheduled_alpha`` (``train/word2vec.py`` ``learning_rate`` is the same function).

Deliberate differences from word2vec C, and why:

- negatives come from an alias table (V entries, O(1) per draw) instead of a 1e8-entry unigram
  table: the same count^0.75 distribution without its rounding, and it fits in cache;
- the random numbers are word2vec C's LCG per thread, but seeded by splitmix64(seed + thread)
  and read from their high bits (multiply-shift instead of modulo);
- the 1 + k dot products of one input vector are taken before any update when the k output
  rows are distinct (always the case on a Huffman path, nearly always for negatives), then all
  rows are updated in one pass: bit-for-bit the same arithmetic order per row as the sequential
  loop, since the rows do not overlap; with a repeated negative the sequential loop runs;
- rows are padded to a multiple of 16 floats (one cache line) and 64-byte aligned so that
  vector loads never split lines; padding stays zero and is dropped on output.
"""
from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t
from libc.math cimport floor
from libc.stdlib cimport free
from libc.string cimport memcpy

from staticvec._kernels.common cimport (
    sv_dot, sv_dots, sv_prefetch_row, sv_sigmoid, sv_sigmoid_fill, sv_splitmix64, sv_rand_next,
    sv_release_pages, sv_nonfinite, sv_flag, sv_flag_get, sv_diverged, sv_progress_set,
    sv_progress_total, SV_SIGMOID_SIZE, SV_MAX_EXP, SV_RELEASE_EVERY, SV_PROGRESS_STRIDE,
    sv_softplus, sv_softplus_fill, sv_loss_set, SV_SOFTPLUS_SIZE, SV_LOSS_SLOTS)

import numpy as np

cdef extern from *:
    """
    #include <stdlib.h>
    #include "common.h"

    /* For each of k distinct rows r_d with gradient g_d: acc += g_d * r_d (old r_d), then
       r_d += g_d * x. One pass over the floats; acc may be x itself (the update lands after
       x's chunk has been read), which is word2vec C's "syn0 += neu1e" done in place. */
    static inline void w2v_update(const float *x, float *const *rows, const float *g, int k,
                                  int n, float *acc) {
        for (int i = 0; i < n; i += 8) {
            sv_v8 xv = sv_load8(x + i);
            sv_v8 e = {0};
            for (int d = 0; d < k; d++) {
                sv_v8 gv = sv_splat8(g[d]);
                sv_v8 r = sv_load8(rows[d] + i);
                e += gv * r;
                sv_store8(rows[d] + i, r + gv * xv);
            }
            sv_store8(acc + i, sv_load8(acc + i) + e);
        }
    }

    static inline void w2v_add(float *y, const float *x, int n) {
        for (int i = 0; i < n; i += 8) sv_store8(y + i, sv_load8(y + i) + sv_load8(x + i));
    }
    static inline void w2v_div(float *y, float d, int n) {
        sv_v8 dv = sv_splat8(d);
        for (int i = 0; i < n; i += 8) sv_store8(y + i, sv_load8(y + i) / dv);
    }
    static inline void *w2v_alloc(size_t bytes) {
        void *p = NULL;
        if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
        memset(p, 0, bytes);
        return p;
    }
    """
    void w2v_update(const float *x, float **rows, const float *g, int k, int n, float *acc) nogil
    void w2v_add(float *y, const float *x, int n) nogil
    void w2v_div(float *y, float d, int n) nogil
    void *w2v_alloc(size_t bytes) nogil

# words between two readings of the shared progress counter (word2vec C's 10,000)
cdef int64_t ALPHA_EVERY = 10000
# a thread walking many blocks (--order shuffled, --lanes) drops the corpus pages it has read
# every RELEASE_BLOCKS blocks or RELEASE_SCATTERED tokens (256 KB of ids), whichever comes
# first: a fault maps the page cache's whole folio (up to 2 MB on ext4 with large folios), so
# what stays resident is about RELEASE_BLOCKS folios per thread
cdef int64_t RELEASE_SCATTERED = 1 << 16
cdef int64_t RELEASE_BLOCKS = 16
# a thread's resumable state (int64 each): epoch, next sentence, RNG, words done, words done
# when last published, words trained, the rate's float bits, the block under way
W2V_STATE = 8


cdef struct Cfg:
    float *syn0
    float *syn1neg
    float *syn1
    int n                     # padded row length (multiple of 16)
    int sg
    int cbow_mean
    int hs
    int negative
    int window
    int sample
    uint64_t vocab_size
    const uint32_t *keep      # keep threshold out of 2^24 per word
    const uint64_t *alias      # per word: accept threshold (low 32 bits) | alias id << 32
    const int64_t *code_off
    const uint8_t *codes
    const uint32_t *points
    const float *table
    const float *softplus     # the loss (common.h sv_softplus)
    double lr_saw             # learning-rate schedule: 1 word2vec C's line, k > 1 a sawtooth
    int lr_epochs             # the run's epochs (a checkpointed call trains fewer at a time)


cdef struct Scratch:
    float *neu1
    float *neu1e
    float *tmp
    float **rows
    float *f
    float *g
    uint32_t *targets
    uint32_t *window_targets   # skip-gram: the targets of every pair of one centre word
    int *window_k
    uint32_t *sentence
    int bad                    # set when a dot product came out NaN/inf: the weights diverged
    double loss                # this epoch's loss so far, over `predictions` predictions
    double predictions


# ---- learning-rate schedule (train/word2vec.py ``learning_rate`` is the same function)

cdef inline float scheduled_alpha(double alpha, double min_alpha, int64_t done, int64_t total,
                                  int epochs, double saw) noexcept nogil:
    """The rate after ``done`` of ``total`` words (all threads, all epochs): alpha * (1 - q),
    floored at min_alpha, where q = done / (total + 1) (word2vec C's line) when saw == 1; when
    saw = k > 1, q advances only 1/k of an epoch during each epoch and jumps to the next
    epoch's start at the boundary (gensim's corpus_file curve at k workers)."""
    cdef double q = <double>done / (total + 1.0), e
    cdef float a
    if saw != 1.0:
        e = floor(q * epochs)
        q = (e + (q * epochs - e) / saw) / epochs
    a = alpha * (1.0 - q)
    if a < min_alpha:
        a = min_alpha
    return a


def learning_rate(double alpha, double min_alpha, int64_t done, int64_t total, int epochs,
                  double saw=1.0):
    """``scheduled_alpha`` as the training loop computes it (for tests)."""
    return scheduled_alpha(alpha, min_alpha, done, total, epochs, saw)


cdef inline uint32_t draw_negative(const Cfg *c, uint64_t *rng) noexcept nogil:
    cdef uint64_t r = sv_rand_next(rng)
    cdef uint32_t i = <uint32_t>(((r >> 32) * c.vocab_size) >> 32)
    cdef uint64_t entry = c.alias[i]
    r = sv_rand_next(rng)
    if <uint32_t>(r >> 32) < <uint32_t>entry:
        return i
    return <uint32_t>(entry >> 32)


cdef inline int draw_targets(const Cfg *c, uint32_t word, uint64_t *rng, uint32_t *targets) noexcept nogil:
    """targets[0] = word, then the negatives that differ from it (word2vec C skips the rest)."""
    cdef int k = 1, d
    cdef uint32_t t
    targets[0] = word
    for d in range(c.negative):
        t = draw_negative(c, rng)
        if t != word:
            targets[k] = t
            k += 1
    return k


cdef inline void prefetch_targets(const Cfg *c, const uint32_t *targets, int k) noexcept nogil:
    cdef int d
    for d in range(1, k):
        sv_prefetch_row(c.syn1neg + <size_t>targets[d] * c.n, c.n, 1)


cdef inline void ns_apply(const Cfg *c, float *l1, const uint32_t *targets, int k, float alpha,
                          float *acc, Scratch *s) noexcept nogil:
    """Negative-sampling step of input vector l1 against targets[0] (label 1) and the rest
    (label 0): word2vec C's loop, with the dots first when the rows are distinct."""
    cdef int d, e, distinct = 1
    cdef float f, label, loss = 0
    cdef float *row
    for d in range(1, k):
        for e in range(d):
            if targets[e] == targets[d]:
                distinct = 0
    if distinct:
        for d in range(k):
            s.rows[d] = c.syn1neg + <size_t>targets[d] * c.n
        sv_dots(l1, s.rows, k, c.n, s.f)
        for d in range(k):
            if sv_nonfinite(s.f[d]):
                s.bad = 1
            label = 1.0 if d == 0 else 0.0
            s.g[d] = (label - sv_sigmoid(c.table, s.f[d])) * alpha
            loss += sv_softplus(c.softplus, -s.f[d] if d == 0 else s.f[d])
        s.loss += loss
        w2v_update(l1, s.rows, s.g, k, c.n, acc)
        return
    # a repeated row: the strictly sequential loop, its error gathered apart so l1 stays fixed
    for d in range(c.n):
        s.tmp[d] = 0
    for d in range(k):
        row = c.syn1neg + <size_t>targets[d] * c.n
        f = sv_dot(l1, row, c.n)
        if sv_nonfinite(f):
            s.bad = 1
        label = 1.0 if d == 0 else 0.0
        s.g[0] = (label - sv_sigmoid(c.table, f)) * alpha
        loss += sv_softplus(c.softplus, -f if d == 0 else f)
        s.rows[0] = row
        w2v_update(l1, s.rows, s.g, 1, c.n, s.tmp)
    s.loss += loss
    w2v_add(acc, s.tmp, c.n)


cdef inline void hs_apply(const Cfg *c, float *l1, uint32_t word, float alpha, float *acc,
                          Scratch *s) noexcept nogil:
    """Hierarchical-softmax step of l1 along word's Huffman path (nodes on a path are distinct)."""
    cdef int64_t lo = c.code_off[word], hi = c.code_off[word + 1]
    cdef int k = <int>(hi - lo), d
    cdef float f, loss = 0
    for d in range(k):
        s.rows[d] = c.syn1 + <size_t>c.points[lo + d] * c.n
    sv_dots(l1, s.rows, k, c.n, s.f)
    for d in range(k):
        f = s.f[d]
        if sv_nonfinite(f):
            s.bad = 1
        if f <= -SV_MAX_EXP or f >= SV_MAX_EXP:
            s.g[d] = 0
        else:
            s.g[d] = (1.0 - c.codes[lo + d] - sv_sigmoid(c.table, f)) * alpha
        loss += sv_softplus(c.softplus, f if c.codes[lo + d] else -f)   # label 1 - code
    s.loss += loss
    w2v_update(l1, s.rows, s.g, k, c.n, acc)


cdef inline void sg_pair(const Cfg *c, uint32_t context, const uint32_t *targets, int k,
                         uint32_t word, float alpha, Scratch *s) noexcept nogil:
    """Skip-gram: the context word's input vector predicts the centre word."""
    cdef float *l1 = c.syn0 + <size_t>context * c.n
    cdef int i
    s.predictions += 1
    if c.hs and c.negative:
        for i in range(c.n):
            s.neu1e[i] = 0
        hs_apply(c, l1, word, alpha, s.neu1e, s)
        ns_apply(c, l1, targets, k, alpha, s.neu1e, s)
        w2v_add(l1, s.neu1e, c.n)
    elif c.hs:
        hs_apply(c, l1, word, alpha, l1, s)
    else:
        ns_apply(c, l1, targets, k, alpha, l1, s)


cdef inline void cbow_word(const Cfg *c, const uint32_t *ctx, int cw, const uint32_t *targets,
                           int k, uint32_t word, float alpha, Scratch *s) noexcept nogil:
    """CBOW: the mean (or sum) of the cw context input vectors predicts the centre word."""
    cdef int i, j
    s.predictions += 1
    for i in range(c.n):
        s.neu1[i] = 0
        s.neu1e[i] = 0
    for j in range(cw):
        w2v_add(s.neu1, c.syn0 + <size_t>ctx[j] * c.n, c.n)
    if c.cbow_mean and cw > 1:
        w2v_div(s.neu1, <float>cw, c.n)
    if c.hs:
        hs_apply(c, s.neu1, word, alpha, s.neu1e, s)
    if c.negative:
        ns_apply(c, s.neu1, targets, k, alpha, s.neu1e, s)
    for j in range(cw):
        w2v_add(c.syn0 + <size_t>ctx[j] * c.n, s.neu1e, c.n)


cdef int64_t train_sentence(const Cfg *c, const uint32_t *words, int64_t length, float alpha,
                            uint64_t *rng, Scratch *s) noexcept nogil:
    """Subsample one sentence into s.sentence, then train every centre word in it."""
    cdef int64_t n = 0, i, j, lo, hi, b
    cdef uint32_t w
    cdef uint64_t r
    cdef int k = 0, cw, p
    cdef int m = c.negative + 1
    if c.sample:
        for i in range(length):
            w = words[i]
            r = sv_rand_next(rng)
            if <uint32_t>(r >> 40) < c.keep[w]:
                s.sentence[n] = w
                n += 1
    else:
        for i in range(length):
            s.sentence[i] = words[i]
        n = length
    for i in range(n):
        w = s.sentence[i]
        r = sv_rand_next(rng)
        b = <int64_t>(((r >> 32) * <uint64_t>c.window) >> 32)
        lo = i - c.window + b
        if lo < 0:
            lo = 0
        hi = i + c.window - b + 1
        if hi > n:
            hi = n
        if c.sg:
            # draw every pair's negatives first (in pair order), so that the rows of the next
            # pair can be prefetched while this pair is trained
            p = 0
            for j in range(lo, hi):
                if j != i:
                    sv_prefetch_row(c.syn0 + <size_t>s.sentence[j] * c.n, c.n, 1)
                    if c.negative:
                        s.window_k[p] = draw_targets(c, w, rng, s.window_targets + p * m)
                    p += 1
            if c.negative and p:
                prefetch_targets(c, s.window_targets, s.window_k[0])
            p = 0
            for j in range(lo, hi):
                if j == i:
                    continue
                if c.negative:
                    if j + 1 < hi and (j + 1 != i or j + 2 < hi):
                        prefetch_targets(c, s.window_targets + (p + 1) * m, s.window_k[p + 1])
                    k = s.window_k[p]
                sg_pair(c, s.sentence[j], s.window_targets + p * m, k, w, alpha, s)
                p += 1
        else:
            cw = 0
            for j in range(lo, hi):
                if j != i:
                    s.targets[cw] = s.sentence[j]   # borrow targets as the context list
                    cw += 1
            if cw == 0:
                continue
            # contexts first, targets after them in the same buffer
            if c.negative:
                k = draw_targets(c, w, rng, s.targets + cw)
            cbow_word(c, s.targets, cw, s.targets + cw, k, w, alpha, s)
    return n


cdef int scratch_alloc(Scratch *s, int n, int max_rows, int64_t max_sentence, int window) noexcept nogil:
    # a window never reaches past the sentence: size the window buffers by what it can hold,
    # so that a --window of 10^8 costs no more than the longest sentence
    cdef int64_t span = 2 * <int64_t>window
    if span > max_sentence:
        span = max_sentence
    s.bad = 0
    s.loss = 0
    s.predictions = 0
    s.neu1 = <float *>w2v_alloc(n * sizeof(float))
    s.neu1e = <float *>w2v_alloc(n * sizeof(float))
    s.tmp = <float *>w2v_alloc(n * sizeof(float))
    s.rows = <float **>w2v_alloc(max_rows * sizeof(float *))
    s.f = <float *>w2v_alloc(max_rows * sizeof(float))
    s.g = <float *>w2v_alloc(max_rows * sizeof(float))
    s.targets = <uint32_t *>w2v_alloc((max_rows + span + 2) * sizeof(uint32_t))
    s.sentence = <uint32_t *>w2v_alloc((max_sentence + 1) * sizeof(uint32_t))
    s.window_targets = <uint32_t *>w2v_alloc((span + 1) * max_rows * sizeof(uint32_t))
    s.window_k = <int *>w2v_alloc((span + 1) * sizeof(int))
    return (s.neu1 != NULL and s.neu1e != NULL and s.tmp != NULL and s.rows != NULL and
            s.f != NULL and s.g != NULL and s.targets != NULL and s.sentence != NULL and
            s.window_targets != NULL and s.window_k != NULL)


cdef void scratch_free(Scratch *s) noexcept nogil:
    free(s.neu1); free(s.neu1e); free(s.tmp); free(s.rows)
    free(s.f); free(s.g); free(s.targets); free(s.sentence)
    free(s.window_targets); free(s.window_k)


def _aligned_zeros(rows, n):
    """A zeroed float32 (rows, n) array whose rows start on 64-byte boundaries (n % 16 == 0)."""
    buf = np.zeros(rows * n + 16, dtype=np.float32)
    skip = (-buf.ctypes.data % 64) // 4
    return buf[skip:skip + rows * n].reshape(rows, n)


def sigmoid(float f):
    """The kernels' sigmoid lookup (common.h sv_sigmoid) of one value: in [0, 1] for every
    input, NaN and +-inf included (for tests)."""
    cdef float table[SV_SIGMOID_SIZE]
    sv_sigmoid_fill(table)
    return sv_sigmoid(table, f)


def softplus(float x):
    """The kernels' loss function (common.h sv_softplus) of one value: log(1 + e^x) (for
    tests)."""
    cdef float table[SV_SOFTPLUS_SIZE + 1]
    sv_softplus_fill(table)
    return sv_softplus(table, x)


cdef inline void publish_loss(double *loss, int64_t stride, int thread, int epoch,
                              const Scratch *s, bint finished) noexcept nogil:
    if loss != NULL:
        sv_loss_set(loss, stride, thread, epoch, s.loss, s.predictions, finished)


def padded_width(int dim):
    """Row length in floats: dim rounded up to a cache line."""
    return (dim + 15) // 16 * 16


def max_id(const uint32_t[::1] ids, bint release=False):
    """The largest id (0 when empty), read without the GIL. ``release``: as in
    ``Word2VecKernel.train``, drop the pages from the resident set once read, so checking a
    file-backed corpus does not hold all of it in memory before training starts."""
    cdef Py_ssize_t n = ids.shape[0], i, lo, hi
    cdef uint32_t top = 0
    if n == 0:
        return 0
    with nogil:
        lo = 0
        while lo < n:
            hi = min(lo + SV_RELEASE_EVERY, n)
            for i in range(lo, hi):
                if ids[i] > top:
                    top = ids[i]
            if release:
                sv_release_pages(&ids[0] + lo, &ids[0] + hi)
            lo = hi
    return top


cdef class Word2VecKernel:
    """The shared training state of one model, handed to every worker thread.

    Holds references to the numpy arrays so that the raw pointers in ``cfg`` stay valid.
    ``progress[t * PROGRESS_STRIDE]`` is the number of corpus words thread t has processed
    (summed over epochs); ``stop[0] != 0`` makes every worker return at its next sentence.
    ``diverged[0]``: 0, or the epoch (from 1) in which a worker met a NaN/inf dot product; that
    worker then sets ``stop[0]`` so every thread returns instead of training on NaNs.
    """
    cdef Cfg cfg
    cdef object _keep_alive
    cdef float table[SV_SIGMOID_SIZE]
    cdef float softplus[SV_SOFTPLUS_SIZE + 1]
    cdef int64_t[::1] progress
    cdef int32_t[::1] stop
    cdef int32_t[::1] diverged
    cdef int max_code

    def __init__(self, syn0, syn1neg, syn1, *, bint sg, bint cbow_mean, bint hs, int negative,
                 int window, keep, alias, code_off, codes, points, progress, stop,
                 diverged=None, double lr_saw=1.0, int lr_epochs=1):
        cdef float[:, ::1] m0 = syn0
        cdef float[:, ::1] m1 = syn1neg
        cdef float[:, ::1] m2 = syn1
        cdef uint32_t[::1] kp = keep
        cdef uint64_t[::1] ap = alias
        cdef int64_t[::1] co = code_off
        cdef uint8_t[::1] cd = codes
        cdef uint32_t[::1] pt = points
        if m0.shape[1] % 16 or m1.shape[1] != m0.shape[1] or m2.shape[1] != m0.shape[1]:
            raise ValueError("matrix rows must share one width, a multiple of 16")
        if window < 1 or negative < 0 or not (hs or negative):
            raise ValueError("need window >= 1 and negative sampling and/or hs")
        if negative and ap.shape[0] != m0.shape[0]:
            raise ValueError("the alias table must have one entry per word")
        self._keep_alive = (syn0, syn1neg, syn1, keep, alias, code_off, codes, points)
        sv_sigmoid_fill(self.table)
        sv_softplus_fill(self.softplus)
        self.cfg.softplus = self.softplus
        self.cfg.syn0 = &m0[0, 0]
        self.cfg.syn1neg = &m1[0, 0]
        self.cfg.syn1 = &m2[0, 0]
        self.cfg.n = m0.shape[1]
        self.cfg.sg = sg
        self.cfg.cbow_mean = cbow_mean
        self.cfg.hs = hs
        self.cfg.negative = negative
        self.cfg.window = window
        self.cfg.sample = kp.shape[0] > 0
        self.cfg.vocab_size = m0.shape[0]
        self.cfg.keep = &kp[0] if kp.shape[0] else NULL
        self.cfg.alias = &ap[0] if ap.shape[0] else NULL
        self.cfg.code_off = &co[0] if co.shape[0] else NULL
        self.cfg.codes = &cd[0] if cd.shape[0] else NULL
        self.cfg.points = &pt[0] if pt.shape[0] else NULL
        self.cfg.table = self.table
        if not lr_saw >= 1.0:
            raise ValueError("lr_saw must be >= 1")
        self.cfg.lr_saw = lr_saw
        self.cfg.lr_epochs = max(lr_epochs, 1)
        self.max_code = 0
        if hs:
            self.max_code = int(np.max(np.diff(np.asarray(code_off)))) if co.shape[0] > 1 else 0
        self.progress = progress
        self.stop = stop
        self.diverged = np.zeros(1, dtype=np.int32) if diverged is None else diverged

    def train(self, int thread, const uint32_t[::1] ids, const uint64_t[::1] ends,
              Py_ssize_t first_sentence, Py_ssize_t last_sentence, int epochs, uint64_t seed,
              double alpha, double min_alpha, int64_t total_words, int64_t max_sentence,
              bint release=False, int64_t[::1] state=None, double[:, ::1] loss=None,
              blocks=None):
        """Train sentences [first_sentence, last_sentence) for ``epochs`` epochs; return the
        number of words trained after subsampling. Releases the GIL for the whole run.

        ``blocks`` (``runner.shuffled_blocks``, ``runner.lane_blocks``): int64 (n, 2) ranges
        [lo, hi) of sentences inside [first_sentence, last_sentence), trained in this order
        every epoch; default: the one range [first_sentence, last_sentence) in corpus order.

        ``release``: ``ids`` is a read-only file mapping whose consumed pages may be dropped
        from the resident set as the blocks are walked (they are re-read next epoch): within
        a block every SV_RELEASE_EVERY tokens, and with several blocks the whole mapping's
        every RELEASE_BLOCKS blocks or RELEASE_SCATTERED tokens.
        ``state`` (``initial_state``): where this thread is (epoch, next sentence, RNG,
        counters, rate); read at the start, written back on return, so a call stopped by
        ``stop`` (at a sentence boundary) or ended at epoch ``epochs`` can be continued by
        another call with a larger ``epochs``, exactly as if never stopped.
        ``loss``: float64 (threads, stride >= 3 * epochs): row ``thread`` receives each
        epoch's summed loss, its number of predictions and 1 once finished (common.h
        sv_loss_set), published with the progress; a call resumed inside an epoch goes on
        from the sums its row holds for it."""
        cdef Scratch s
        cdef Cfg *c = &self.cfg
        cdef uint64_t rng
        cdef int64_t done, published, trained, total, start, end, released, scattered = 0
        cdef int64_t unreleased_blocks = 0
        cdef int64_t epoch
        cdef int n_threads = self.progress.shape[0] // SV_PROGRESS_STRIDE
        cdef Py_ssize_t si
        cdef float a
        cdef int ok
        cdef int64_t *progress = &self.progress[0]
        cdef sv_flag *stop = &self.stop[0]
        cdef sv_flag *diverged = &self.diverged[0]
        cdef int max_rows = max(self.cfg.negative + 1, self.max_code, 1)
        cdef double *lossp = NULL
        cdef int64_t loss_stride = 0
        cdef const int64_t[:, ::1] order
        cdef Py_ssize_t bi, nb
        if thread < 0 or thread >= n_threads:
            raise ValueError("thread id out of range")
        if blocks is None:
            blocks = np.array([[first_sentence, last_sentence]], dtype=np.int64)
        blocks = np.asarray(blocks, dtype=np.int64)
        if (blocks.ndim != 2 or blocks.shape[0] == 0 or blocks.shape[1] != 2
                or not ((first_sentence <= blocks[:, 0]) & (blocks[:, 0] <= blocks[:, 1])
                        & (blocks[:, 1] <= last_sentence)).all()):
            raise ValueError("blocks must be sentence ranges inside the share")
        order = np.ascontiguousarray(blocks)
        nb = order.shape[0]
        # -- resumable position (checkpoints): state in, state out
        if state is None:
            state = self.initial_state(thread, seed, order[0, 0], alpha)
        # state[7]: the block under way (always 0 without ``blocks``)
        if (state.shape[0] != W2V_STATE or state[0] < 0 or not 0 <= state[7] <= nb
                or not first_sentence <= state[1] <= last_sentence
                or (state[7] < nb and not order[state[7], 0] <= state[1] <= order[state[7], 1])):
            raise ValueError("not a state of this share")
        epoch, si, rng, done, published, trained = (state[0], state[1], <uint64_t>state[2],
                                                    state[3], state[4], state[5])
        bi = state[7]
        memcpy(&a, &state[6], sizeof(float))
        if loss is not None:
            if loss.shape[0] <= thread or loss.shape[1] < SV_LOSS_SLOTS * epochs:
                raise ValueError("the loss array needs a row per thread, 3 slots per epoch")
            lossp, loss_stride = &loss[0, 0], loss.shape[1]
        with nogil:
            ok = scratch_alloc(&s, c.n, max_rows, max_sentence, c.window)
            if ok:
                while epoch < epochs:
                    s.loss = s.predictions = 0
                    if lossp != NULL and (bi > 0 or si > order[0, 0]):  # resumed inside
                        s.loss = lossp[thread * loss_stride + SV_LOSS_SLOTS * epoch]
                        s.predictions = lossp[thread * loss_stride + SV_LOSS_SLOTS * epoch + 1]
                    released = <int64_t>ends[si - 1] if si > 0 else 0
                    while bi < nb:
                        if si >= order[bi, 1]:  # the block is done: on to the next one
                            # blocks lie all over the corpus: every RELEASE_BLOCKS blocks or
                            # RELEASE_SCATTERED tokens read from them, drop the whole mapping's
                            # pages in one call (one call per block made CBOW's 500-token
                            # blocks 7-13 % slower)
                            unreleased_blocks += 1
                            if release and nb > 1 and (scattered >= RELEASE_SCATTERED
                                                       or unreleased_blocks >= RELEASE_BLOCKS):
                                sv_release_pages(&ids[0], &ids[0] + ids.shape[0])
                                scattered = unreleased_blocks = 0
                            bi += 1
                            if bi < nb:
                                si = order[bi, 0]
                                released = <int64_t>ends[si - 1] if si > 0 else 0
                            continue
                        if sv_flag_get(stop):
                            break
                        if done - published >= ALPHA_EVERY:
                            published = done
                            sv_progress_set(progress, thread, done)
                            publish_loss(lossp, loss_stride, thread, epoch, &s, False)
                            total = sv_progress_total(progress, n_threads)
                            a = scheduled_alpha(alpha, min_alpha, total, total_words,
                                                c.lr_epochs, c.lr_saw)
                        start = <int64_t>ends[si - 1] if si > 0 else 0
                        end = <int64_t>ends[si]
                        trained += train_sentence(c, &ids[0] + start, end - start, a, &rng, &s)
                        done += end - start
                        scattered += end - start
                        si += 1
                        if s.bad:
                            sv_diverged(diverged, stop, <int32_t>(epoch + 1))
                            break
                        if release and end - released >= SV_RELEASE_EVERY:
                            sv_release_pages(&ids[0] + released, &ids[0] + end)
                            released = end
                    publish_loss(lossp, loss_stride, thread, epoch, &s, not sv_flag_get(stop))
                    if sv_flag_get(stop):
                        break
                    epoch += 1
                    bi = 0
                    si = order[0, 0]
                sv_progress_set(progress, thread, done)
            scratch_free(&s)
        if not ok:
            raise MemoryError("word2vec: cannot allocate a worker's buffers")
        state[0], state[1], state[2], state[3], state[4], state[5] = (
            epoch, si, <int64_t>rng, done, published, trained)
        state[7] = bi
        memcpy(&state[6], &a, sizeof(float))
        return trained

    def initial_state(self, int thread, uint64_t seed, Py_ssize_t first_sentence, double alpha):
        """A thread's state before its first sentence (see ``train``): epoch 0, sentence
        ``first_sentence``, its RNG seeded from (seed, thread), nothing done, the rate alpha."""
        cdef float a = alpha
        state = np.zeros(W2V_STATE, dtype=np.int64)
        cdef int64_t[::1] st = state
        st[1] = first_sentence
        st[2] = <int64_t>sv_splitmix64(seed + <uint64_t>thread)
        memcpy(&st[6], &a, sizeof(float))
        return state

    # ---- single steps, for tests: the exact update of one centre word with given negatives

    def step_sg(self, uint32_t context, uint32_t word, negatives, double alpha):
        """One skip-gram update: context's input vector predicts word, against ``negatives``;
        returns its loss (as the training loop sums it)."""
        return self._step(True, np.asarray([context], dtype=np.uint32), word, negatives, alpha)

    def step_cbow(self, contexts, uint32_t word, negatives, double alpha):
        """One CBOW update of the window ``contexts`` predicting word, against ``negatives``;
        returns its loss."""
        return self._step(False, np.ascontiguousarray(contexts, dtype=np.uint32), word, negatives,
                          alpha)

    def _step(self, bint sg, uint32_t[::1] ctx, uint32_t word, negatives, double alpha):
        cdef uint32_t[::1] neg = np.ascontiguousarray(negatives, dtype=np.uint32)
        cdef Scratch s
        cdef int k = 1, d
        cdef int max_rows = max(neg.shape[0] + 1, self.max_code, 1)
        if not scratch_alloc(&s, self.cfg.n, max_rows, ctx.shape[0] + neg.shape[0] + 2,
                             ctx.shape[0] + neg.shape[0] + 2):
            scratch_free(&s)
            raise MemoryError()
        s.targets[ctx.shape[0]] = word
        for d in range(neg.shape[0]):
            if neg[d] != word:
                s.targets[ctx.shape[0] + k] = neg[d]
                k += 1
        for d in range(ctx.shape[0]):
            s.targets[d] = ctx[d]
        if sg:
            sg_pair(&self.cfg, ctx[0], s.targets + ctx.shape[0], k, word, alpha, &s)
        else:
            cbow_word(&self.cfg, s.targets, ctx.shape[0], s.targets + ctx.shape[0], k, word,
                      alpha, &s)
        scratch_free(&s)
        return s.loss

    def draw_negatives(self, Py_ssize_t count, uint64_t seed):
        """``count`` draws from the noise distribution, as the training loop makes them."""
        out = np.empty(count, dtype=np.uint32)
        cdef uint32_t[::1] o = out
        cdef uint64_t rng = sv_splitmix64(seed)
        cdef Py_ssize_t i
        with nogil:
            for i in range(count):
                o[i] = draw_negative(&self.cfg, &rng)
        return out

    def subsample(self, const uint32_t[::1] words, uint64_t seed):
        """The words of one sentence that subsampling keeps, as the training loop keeps them."""
        cdef uint64_t rng = sv_splitmix64(seed)
        cdef Py_ssize_t i, n = 0
        cdef uint64_t r
        out = np.empty(words.shape[0], dtype=np.uint32)
        cdef uint32_t[::1] o = out
        for i in range(words.shape[0]):
            r = sv_rand_next(&rng)
            if not self.cfg.sample or <uint32_t>(r >> 40) < self.cfg.keep[words[i]]:
                o[n] = words[i]
                n += 1
        return out[:n]

    def diverged_in(self):
        """0, or the epoch (from 1) in which training met non-finite weights."""
        return int(self.diverged[0])

    def sigmoid_table(self):
        return np.array([self.table[i] for i in range(SV_SIGMOID_SIZE)], dtype=np.float32)
