# fastText arithmetic: subword lists of a vocabulary, composed vectors, and the nogil
# hogwild training loop (skip-gram and CBOW with negative sampling over subword inputs).
#
# The input of a word is the mean of its rows in `wi` (its own row, then one row per
# character n-gram bucket), so a gradient step adds the same vector to every one of those
# rows. fastText recomputes that mean for every (centre, context) pair; here the mean is
# computed once per centre word and then moved by each step's gradient (the mean of rows
# that all received `g` is the old mean plus `g`), and the summed gradient is written to
# the rows once at the end of the window. On one thread this is the same arithmetic as
# fastText's, with a fraction of the memory traffic on the (large, cache-cold) bucket rows.
# (When a row occurs m times in a word's list, e.g. two n-grams in one bucket, it receives
# m * g, and the mean moves by g * sum(m^2) / n: the per-word factor `shift`.)
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from staticvec._kernels.common cimport (
    SV_SIGMOID_SIZE, SV_RELEASE_EVERY, SV_PROGRESS_STRIDE, sv_dot, sv_dots, sv_axpy, sv_scale,
    sv_zero, sv_prefetch_row, sv_sigmoid_fill, sv_sigmoid, sv_splitmix64, sv_rand_below,
    sv_rand_uniform, sv_release_pages, sv_nonfinite, sv_flag, sv_flag_get, sv_diverged,
    sv_progress_set, sv_progress_total, sv_softplus, sv_softplus_fill, sv_loss_set,
    SV_SOFTPLUS_SIZE, SV_LOSS_SLOTS)

import numpy as np

DEF CHUNK = 1024          # tokens handled as one "line", as fastText's MAX_LINE_SIZE
DEF FNV_OFFSET = 2166136261
DEF FNV_PRIME = 16777619


# ------------------------------------------------------------------ subwords
cdef inline int _ngram_rows(const uint8_t *w, int size, int minn, int maxn, uint32_t bucket,
                            int64_t base, int32_t *out) noexcept nogil:
    """Rows (base + fnv1a(ngram) % bucket) of the n-grams of the wrapped word `w`, in
    fastText's order; returns how many. `out` NULL only counts. Bytes are sign-extended
    before the xor (fastText hashes int8_t chars)."""
    cdef int count = 0, i, j, n
    cdef uint32_t h
    for i in range(size):
        if (w[i] & 0xC0) == 0x80:
            continue
        h = FNV_OFFSET
        j = i
        n = 1
        while j < size and n <= maxn:
            h = (h ^ <uint32_t><int32_t>(<signed char>w[j])) * FNV_PRIME
            j += 1
            while j < size and (w[j] & 0xC0) == 0x80:
                h = (h ^ <uint32_t><int32_t>(<signed char>w[j])) * FNV_PRIME
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == size)):
                if out != NULL:
                    out[count] = <int32_t>(base + h % bucket)
                count += 1
            n += 1
    return count


cdef inline int _wrapped_rows(const uint8_t *buf, const int64_t *offsets, int64_t w,
                              uint8_t *tmp, int minn, int maxn, uint32_t bucket, int64_t base,
                              int32_t *out) noexcept nogil:
    """_ngram_rows of word w of the packed UTF-8 buffer, wrapped as <word> in tmp."""
    cdef int64_t size = offsets[w + 1] - offsets[w]
    tmp[0] = 60  # '<'
    if size:
        memcpy(tmp + 1, buf + offsets[w], <size_t>size)
    tmp[size + 1] = 62  # '>'
    return _ngram_rows(tmp, <int>size + 2, minn, maxn, bucket, base, out)


def subword_csr(const uint8_t[::1] buf, const int64_t[::1] offsets, int64_t nwords,
                int minn, int maxn, int64_t bucket, int64_t eos):
    """CSR (indptr int64, indices int32) of each word's input rows: its own id, then
    nwords + bucket of each n-gram of <word>. `buf`/`offsets` hold the UTF-8 words."""
    cdef int64_t w, total = 0, longest = 0
    cdef bint use_ngrams = maxn > 0 and maxn >= minn and bucket > 0
    if nwords + bucket > 2147483647:
        raise ValueError("vocabulary + bucket rows exceed 2^31")
    indptr_arr = np.zeros(nwords + 1, dtype=np.int64)
    cdef int64_t[::1] indptr = indptr_arr
    for w in range(nwords):
        longest = max(longest, offsets[w + 1] - offsets[w])
    cdef uint8_t *tmp = <uint8_t *>malloc(longest + 2)
    if tmp == NULL:
        raise MemoryError()
    cdef int32_t[::1] indices
    try:
        with nogil:
            for w in range(nwords):
                total += 1
                if use_ngrams and w != eos:
                    total += _wrapped_rows(&buf[0], &offsets[0], w, tmp, minn, maxn,
                                           <uint32_t>bucket, nwords, NULL)
                indptr[w + 1] = total
        indices_arr = np.empty(total, dtype=np.int32)
        indices = indices_arr
        with nogil:
            for w in range(nwords):
                indices[indptr[w]] = <int32_t>w
                if use_ngrams and w != eos:
                    _wrapped_rows(&buf[0], &offsets[0], w, tmp, minn, maxn, <uint32_t>bucket,
                                  nwords, &indices[indptr[w] + 1])
    finally:
        free(tmp)
    return indptr_arr, indices_arr




def compose(const float[:, ::1] wi, const int64_t[::1] indptr, const int32_t[::1] indices,
            float[:, ::1] out):
    """out[w] = mean of wi rows indices[indptr[w]:indptr[w+1]]: float32 running sum, then
    times float(1/n), fastText's order. Words with no rows stay zero."""
    cdef int64_t w, k, n
    cdef int dim = wi.shape[1]
    with nogil:
        for w in range(out.shape[0]):
            sv_zero(dim, &out[w, 0])
            n = indptr[w + 1] - indptr[w]
            if n == 0:
                continue
            for k in range(indptr[w], indptr[w + 1]):
                sv_axpy(dim, 1.0, &wi[indices[k], 0], &out[w, 0])
            sv_scale(dim, <float>(1.0 / <double>n), &out[w, 0])


def mean_shift(const int64_t[::1] indptr, const int32_t[::1] indices):
    """Per word, sum(m^2) / n over its n rows with multiplicities m: how far the mean of the
    rows moves when every listed row receives the same gradient (1.0 when all differ)."""
    cdef int64_t w, a, b, n, same
    out_arr = np.ones(indptr.shape[0] - 1, dtype=np.float32)
    cdef float[::1] out = out_arr
    with nogil:
        for w in range(indptr.shape[0] - 1):
            n = indptr[w + 1] - indptr[w]
            same = 0
            for a in range(indptr[w], indptr[w + 1]):
                for b in range(indptr[w], indptr[w + 1]):
                    same += indices[a] == indices[b]
            if n:
                out[w] = <float>(<double>same / <double>n)
    return out_arr


# ------------------------------------------------------------------ training
cdef struct Job:
    float *wi
    float *wo
    const uint32_t *ids
    const uint64_t *sentence_ends
    int64_t n_sentences
    int64_t start
    int64_t end
    const int64_t *indptr
    const int32_t *indices
    const float *shift
    int64_t max_rows
    const int32_t *neg_table
    int64_t neg_size
    const float *keep
    int sg
    int dim
    int window
    int negative
    int epochs
    float alpha
    int64_t total_work          # tokens all threads process in all epochs: the schedule's end
    int64_t *progress           # every thread's progress slot (common.h)
    int n_threads
    sv_flag *stop
    sv_flag *diverged           # 0, or the epoch (from 1) in which a dot product was NaN/inf
    uint64_t seed
    int release                 # ids is a read-only file mapping: drop consumed pages
    double *loss                # NULL, or float64 rows of loss slots (common.h sv_loss_set)
    int64_t loss_stride
    int64_t *state              # this thread's resumable state (FT_STATE int64), or NULL


# a thread's resumable state (int64 each): epoch, next token (-1: the epoch's start), its
# sentence, RNG, noise-table position, words done, (spare x2); see ``initial_state``
FT_STATE = 8


cdef inline int32_t _next_noise(const Job *job, int64_t *pos) noexcept nogil:
    cdef int32_t word = job.neg_table[pos[0]]
    pos[0] += 1
    if pos[0] == job.neg_size:
        pos[0] = 0
    return word


cdef struct Step:
    # one negative-sampling step's output rows: the target first, then the noise words
    int32_t *words
    float **rows
    float *dots
    const float *softplus   # the loss: -log sigma(f) of the target, -log sigma(-f) of a noise
    double loss             # word, summed over this epoch's `predictions` steps (float64)
    double predictions


cdef inline int _negative_step(const Job *job, const float *table, const float *hidden,
                               float *grad, int32_t target, float lr, int64_t *negpos,
                               Step *step) noexcept nogil:
    """One positive and `negative` noise updates of wo against `hidden`; `grad` gathers
    the input gradient (fastText's negative-sampling loss with backprop). Noise words are
    read in order from the shuffled table, as fastText does (a random index into a 40 MB
    table would cost a cache miss per draw), skipping the target; the output rows of the
    next step's noise words are prefetched. When the rows are distinct (nearly always) their
    dot products with `hidden` are taken first, together (sv_dots: no update of one row can
    change another's); a repeated noise word takes fastText's strictly sequential order.
    Returns non-zero when a dot product was NaN/inf (the weights diverged)."""
    cdef int d, e, k = 1, tries, dim = job.dim, bad = 0, distinct = 1
    cdef float f, g, loss = 0
    cdef int32_t neg
    cdef int64_t ahead = negpos[0] + job.negative
    for d in range(job.negative):
        if ahead >= job.neg_size:
            ahead -= job.neg_size
        sv_prefetch_row(job.wo + <int64_t>job.neg_table[ahead] * dim, dim, 0)
        ahead += 1
    step.words[0] = target
    for d in range(job.negative):
        neg = _next_noise(job, negpos)
        tries = 0
        while neg == target and tries < 16:
            neg = _next_noise(job, negpos)
            tries += 1
        if neg == target:
            continue
        for e in range(1, k):
            if step.words[e] == neg:
                distinct = 0
        step.words[k] = neg
        k += 1
    for d in range(k):
        step.rows[d] = job.wo + <int64_t>step.words[d] * dim
    if distinct:
        sv_dots(hidden, step.rows, k, dim, step.dots)
    for d in range(k):
        f = step.dots[d] if distinct else sv_dot(hidden, step.rows[d], dim)
        bad |= sv_nonfinite(f)
        if d == 0:
            g = lr * (1.0 - sv_sigmoid(table, f))
        else:
            g = -lr * sv_sigmoid(table, f)
        loss += sv_softplus(step.softplus, -f if d == 0 else f)
        sv_axpy(dim, g, step.rows[d], grad)
        sv_axpy(dim, g, hidden, step.rows[d])
    step.loss += loss
    step.predictions += 1
    return bad


cdef inline void _prefetch_rows(const Job *job, int32_t word) noexcept nogil:
    cdef int64_t k
    for k in range(job.indptr[word], job.indptr[word + 1]):
        sv_prefetch_row(job.wi + <int64_t>job.indices[k] * job.dim, job.dim, 0)


cdef inline void _mean_rows(const Job *job, const int32_t *rows, int64_t n,
                            float *out) noexcept nogil:
    cdef int64_t j
    sv_zero(job.dim, out)
    for j in range(n):
        sv_axpy(job.dim, 1.0, job.wi + <int64_t>rows[j] * job.dim, out)
    sv_scale(job.dim, <float>(1.0 / <double>n), out)


cdef int _skipgram_line(const Job *job, const float *table, const int32_t *line, int L,
                        float lr, uint64_t *rng, int64_t *negpos, float *hidden,
                        float *grad, float *total, Step *step) noexcept nogil:
    cdef int i, c, dim = job.dim, bad = 0
    cdef int64_t j, n, b
    cdef const int32_t *rows
    cdef float *dst
    for i in range(L):
        if i + 1 < L:
            _prefetch_rows(job, line[i + 1])
        rows = job.indices + job.indptr[line[i]]
        n = job.indptr[line[i] + 1] - job.indptr[line[i]]
        b = 1 + <int64_t>sv_rand_below(rng, <uint32_t>job.window)
        _mean_rows(job, rows, n, hidden)
        sv_zero(dim, total)
        # the window clipped to the line first (the same c in the same order, without
        # stepping through a --window of 10^8 one skipped position at a time)
        for c in range(-(b if b < i else i), (b if b < L - 1 - i else L - 1 - i) + 1):
            if c == 0:
                continue
            sv_zero(dim, grad)
            bad |= _negative_step(job, table, hidden, grad, line[i + c], lr, negpos, step)
            # every input row moved by grad, so their mean moved by shift * grad
            sv_axpy(dim, job.shift[line[i]], grad, hidden)
            sv_axpy(dim, 1.0, grad, total)
        for j in range(n):
            dst = job.wi + <int64_t>rows[j] * dim
            sv_axpy(dim, 1.0, total, dst)
    return bad


cdef int _cbow_line(const Job *job, const float *table, const int32_t *line, int L,
                    float lr, uint64_t *rng, int64_t *negpos, float *hidden, float *grad,
                    int32_t *bag, Step *step) noexcept nogil:
    cdef int i, c, dim = job.dim, bad = 0
    cdef int64_t j, n, k, b
    cdef int32_t word
    for i in range(L):
        b = 1 + <int64_t>sv_rand_below(rng, <uint32_t>job.window)
        n = 0
        for c in range(-(b if b < i else i), (b if b < L - 1 - i else L - 1 - i) + 1):
            if c == 0:
                continue
            word = line[i + c]
            for k in range(job.indptr[word], job.indptr[word + 1]):
                bag[n] = job.indices[k]
                n += 1
        if n == 0:
            continue
        _mean_rows(job, bag, n, hidden)
        sv_zero(dim, grad)
        bad |= _negative_step(job, table, hidden, grad, line[i], lr, negpos, step)
        for j in range(n):
            sv_axpy(dim, 1.0, grad, job.wi + <int64_t>bag[j] * dim)
    return bad


cdef inline void _publish_loss(const Job *job, int thread_id, int epoch, const Step *step,
                               bint finished) noexcept nogil:
    if job.loss != NULL:
        sv_loss_set(job.loss, job.loss_stride, thread_id, epoch, step.loss, step.predictions,
                    finished)


cdef int _run(const Job *job, int thread_id) noexcept nogil:
    # -- resumable position (checkpoints): job.state in, job.state out
    cdef int dim = job.dim
    cdef float *table = <float *>malloc(SV_SIGMOID_SIZE * sizeof(float))
    cdef float *hidden = <float *>malloc(dim * sizeof(float))
    cdef float *grad = <float *>malloc(dim * sizeof(float))
    cdef float *total = <float *>malloc(dim * sizeof(float))
    # a context never reaches past one line of CHUNK tokens: size the bag by what it can hold
    cdef int64_t reach = job.window if job.window < CHUNK else CHUNK
    cdef int32_t *bag = <int32_t *>malloc((2 * reach * job.max_rows + 1) * sizeof(int32_t))
    cdef Step step
    step.words = <int32_t *>malloc((job.negative + 1) * sizeof(int32_t))
    step.rows = <float **>malloc((job.negative + 1) * sizeof(float *))
    step.dots = <float *>malloc((job.negative + 1) * sizeof(float))
    cdef float *softplus = <float *>malloc((SV_SOFTPLUS_SIZE + 1) * sizeof(float))
    step.softplus = softplus
    cdef int32_t line[CHUNK]
    cdef uint64_t rng = sv_splitmix64(job.seed + <uint64_t>thread_id)
    cdef int64_t negpos = sv_rand_below(&rng, <uint32_t>job.neg_size)
    cdef int64_t work_done = 0, pos = -1, seg_end, sent_end, k, lo, hi, mid, released
    cdef int64_t sent = 0, epoch = 0
    cdef int L, bad = 0
    cdef uint32_t tok
    cdef float lr
    cdef int status = 0
    if (table == NULL or hidden == NULL or grad == NULL or total == NULL or bag == NULL
            or step.words == NULL or step.rows == NULL or step.dots == NULL or softplus == NULL):
        status = 1
    else:
        sv_sigmoid_fill(table)
        sv_softplus_fill(softplus)
        if job.state != NULL:
            epoch, pos, sent, rng, negpos, work_done = (
                job.state[0], job.state[1], job.state[2], <uint64_t>job.state[3], job.state[4],
                job.state[5])
        while epoch < job.epochs:
            if pos < 0:
                # first sentence ending after the share's start
                lo = 0
                hi = job.n_sentences
                while lo < hi:
                    mid = (lo + hi) // 2
                    if <int64_t>job.sentence_ends[mid] <= job.start:
                        lo = mid + 1
                    else:
                        hi = mid
                sent = lo
                pos = job.start
                step.loss = step.predictions = 0
            elif job.loss != NULL:  # resumed inside the epoch: go on from its sums
                step.loss = job.loss[thread_id * job.loss_stride + SV_LOSS_SLOTS * epoch]
                step.predictions = job.loss[thread_id * job.loss_stride + SV_LOSS_SLOTS * epoch + 1]
            else:
                step.loss = step.predictions = 0
            released = pos
            while pos < job.end:
                if sv_flag_get(job.stop):
                    break
                sent_end = <int64_t>job.sentence_ends[sent] if sent < job.n_sentences else job.end
                if sent_end > job.end:
                    sent_end = job.end
                seg_end = pos + CHUNK
                if seg_end > sent_end:
                    seg_end = sent_end
                L = 0
                for k in range(pos, seg_end):
                    tok = job.ids[k]
                    if job.keep[tok] >= 1.0 or sv_rand_uniform(&rng) < job.keep[tok]:
                        line[L] = <int32_t>tok
                        L += 1
                # decay by all threads' work, as word2vec does (and fastText's shared count)
                lr = job.alpha * (1.0 - <double>sv_progress_total(job.progress, job.n_threads)
                                  / <double>job.total_work)
                if lr < 0:
                    lr = 0
                work_done += seg_end - pos
                pos = seg_end
                if pos >= sent_end:
                    sent += 1
                if job.sg:
                    bad = _skipgram_line(job, table, line, L, lr, &rng, &negpos, hidden, grad,
                                         total, &step)
                else:
                    bad = _cbow_line(job, table, line, L, lr, &rng, &negpos, hidden, grad, bag,
                                     &step)
                sv_progress_set(job.progress, thread_id, work_done)
                _publish_loss(job, thread_id, epoch, &step, False)
                if bad:
                    sv_diverged(job.diverged, job.stop, <int32_t>(epoch + 1))
                    break
                if job.release and pos - released >= SV_RELEASE_EVERY:
                    sv_release_pages(job.ids + released, job.ids + pos)
                    released = pos
            _publish_loss(job, thread_id, epoch, &step, not sv_flag_get(job.stop))
            if sv_flag_get(job.stop):
                break
            epoch += 1
            pos = -1
        if job.state != NULL:
            job.state[0], job.state[1], job.state[2], job.state[3], job.state[4], job.state[5] = (
                epoch, pos, sent, <int64_t>rng, negpos, work_done)
    free(table)
    free(hidden)
    free(grad)
    free(total)
    free(bag)
    free(step.words)
    free(step.rows)
    free(step.dots)
    free(softplus)
    return status


def train_share(float[:, ::1] wi, float[:, ::1] wo, const uint32_t[::1] ids,
                const uint64_t[::1] sentence_ends, int64_t start, int64_t end,
                const int64_t[::1] indptr, const int32_t[::1] indices,
                const float[::1] shift, const int32_t[::1] neg_table, const float[::1] keep,
                bint sg, int window, int negative, int epochs, float alpha, int64_t total_words,
                int64_t[::1] progress, int32_t[::1] stop, int thread_id, uint64_t seed,
                bint release=False, int32_t[::1] diverged=None, int64_t[::1] state=None,
                double[:, ::1] loss=None):
    """Train on ids[start:end] (a share cut at sentence ends) for `epochs` passes, with the
    learning rate falling linearly from `alpha` to 0 as all threads together work through
    `total_words` (every share's tokens times epochs). The words this thread has done are
    published in its progress slot (common.h) after every line; a non-zero
    stop[0] ends the run early; a NaN/inf dot product (the weights diverged) writes the epoch
    (from 1) to diverged[0] if it is still 0 and sets stop[0]. The random
    stream is seeded from (seed, thread_id). Releases the GIL for the whole run.
    ``release``: ``ids`` is a read-only file mapping whose consumed pages may be dropped from
    the resident set (they are re-read from the page cache next epoch).
    ``state`` (``initial_state``): where this thread is, read at the start and written back
    on return, so a run stopped by ``stop`` (at a line boundary) or ended at epoch ``epochs``
    continues in another call with a larger ``epochs`` exactly as if never stopped.
    ``loss``: float64 (threads, stride >= 3 * epochs): row ``thread_id`` receives each epoch's
    summed loss, its number of predictions and 1 once finished (common.h sv_loss_set); a call resumed inside an epoch goes on from the sums its
    row holds for it."""
    cdef Job job
    cdef int status
    cdef int64_t w, max_rows = 1
    if wi.shape[1] != wo.shape[1] or window < 1 or epochs < 1 or neg_table.shape[0] == 0:
        raise ValueError("inconsistent arguments")
    if thread_id < 0 or thread_id >= progress.shape[0] // SV_PROGRESS_STRIDE:
        raise ValueError("thread id out of range")
    if state is not None and (state.shape[0] != FT_STATE or state[0] < 0
                              or not (state[1] == -1 or start <= state[1] <= end)):
        raise ValueError("not a state of this share")
    job.loss, job.loss_stride = NULL, 0
    if loss is not None:
        if loss.shape[0] <= thread_id or loss.shape[1] < SV_LOSS_SLOTS * epochs:
            raise ValueError("the loss array needs a row per thread, 3 slots per epoch")
        job.loss, job.loss_stride = &loss[0, 0], loss.shape[1]
    if end <= start:
        if state is not None and state[0] < epochs:
            state[0] = epochs  # nothing to train: every epoch of an empty share is done
        return
    for w in range(indptr.shape[0] - 1):
        if indptr[w + 1] - indptr[w] > max_rows:
            max_rows = indptr[w + 1] - indptr[w]
    job.wi = &wi[0, 0]
    job.wo = &wo[0, 0]
    job.ids = &ids[0]
    job.sentence_ends = &sentence_ends[0] if sentence_ends.shape[0] else NULL
    job.n_sentences = sentence_ends.shape[0]
    job.start = start
    job.end = end
    job.indptr = &indptr[0]
    job.indices = &indices[0]
    job.shift = &shift[0]
    job.max_rows = max_rows
    job.neg_table = &neg_table[0]
    job.neg_size = neg_table.shape[0]
    job.keep = &keep[0]
    job.sg = sg
    job.dim = wi.shape[1]
    job.window = window
    job.negative = negative
    job.epochs = epochs
    job.alpha = alpha
    job.total_work = max(total_words, 1)
    job.progress = &progress[0]
    job.n_threads = progress.shape[0] // SV_PROGRESS_STRIDE
    job.stop = &stop[0]
    if diverged is None:
        diverged = np.zeros(1, dtype=np.int32)
    job.diverged = &diverged[0]
    job.seed = seed
    job.release = release
    job.state = &state[0] if state is not None else NULL
    with nogil:
        status = _run(&job, thread_id)
    if status:
        raise MemoryError()


def initial_state(uint64_t seed, int thread_id, int64_t neg_size):
    """A thread's state before its first line (see ``train_share``): its RNG seeded from
    (seed, thread_id), its first noise-table position drawn from it, nothing done."""
    cdef uint64_t rng = sv_splitmix64(seed + <uint64_t>thread_id)
    cdef int64_t negpos = sv_rand_below(&rng, <uint32_t>neg_size)
    return np.array([0, -1, 0, <int64_t>rng, negpos, 0, 0, 0], dtype=np.int64)


def uniform_fill(float[::1] flat, float lo, float hi, uint64_t seed, int64_t start, int64_t stop):
    """flat[start:stop] uniform in [lo, hi): element i gets splitmix64(seed, i), so the
    result does not depend on how the range is split across threads."""
    cdef int64_t i
    cdef uint64_t base = sv_splitmix64(seed)
    cdef float span = hi - lo
    with nogil:
        for i in range(start, stop):
            flat[i] = lo + span * (<float>(sv_splitmix64(base + <uint64_t>i) >> 40) / 16777216.0)
