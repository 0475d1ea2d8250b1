"""word2vec: single update steps against a float64 numpy recomputation, the sampling tables
against their formulas, and end-to-end quality against gensim on the bundled corpus."""
import heapq
import math
import os

import numpy as np
import pytest

from staticvec import _kernels
from staticvec.text import prepare as encode
from staticvec.train import runner
from staticvec.train import word2vec as w2v

from conftest import EVAL_DIR, MINI_CORPUS

# ---------------------------------------------------------------- float64 reference

TABLE = np.array([math.exp((i / 1000 * 2 - 1) * 6) / (math.exp((i / 1000 * 2 - 1) * 6) + 1)
                  for i in range(1000)])


def sigmoid_ref(f):
    """word2vec C's table lookup, in float64 (index (f + 6) * (1000 / 6 / 2) with C's integer
    division 1000 / 6 / 2 = 83), clipped to 0/1 beyond +-6."""
    if f >= 6:
        return 1.0
    if f <= -6:
        return 0.0
    return TABLE[int((f + 6) * 83)]


def ns_ref(l1, syn1neg, word, negatives, alpha, neu1e):
    """word2vec C's negative-sampling loop, one target at a time, in float64."""
    targets = [(word, 1.0)] + [(n, 0.0) for n in negatives if n != word]
    for t, label in targets:
        f = l1 @ syn1neg[t]
        g = (label - sigmoid_ref(f)) * alpha
        neu1e += g * syn1neg[t]
        syn1neg[t] += g * l1


def hs_ref(l1, syn1, points, codes, alpha, neu1e):
    for p, code in zip(points, codes):
        f = l1 @ syn1[p]
        if f <= -6 or f >= 6:
            continue
        g = (1.0 - code - sigmoid_ref(f)) * alpha
        neu1e += g * syn1[p]
        syn1[p] += g * l1


def make_state(sg, hs, negative, cbow_mean=True, dim=10, vocab=12, seed=3):
    """A kernel on a tiny vocabulary with non-trivial (random) output matrices."""
    counts = np.array(sorted(np.random.default_rng(seed).integers(1, 500, vocab), reverse=True))
    o = w2v.Word2VecOptions(sg=sg, dim=dim, hs=hs, negative=negative, cbow_mean=cbow_mean,
                            sample=0, threads=1, seed=seed).resolved()
    kernel, syn0, syn1neg, syn1 = w2v.build_kernel(counts, o, runner.Counters(1))
    rng = np.random.default_rng(seed + 1)
    syn0[:, :dim] = rng.normal(0, 0.5, (vocab, dim))
    if negative:
        syn1neg[:, :dim] = rng.normal(0, 0.5, (syn1neg.shape[0], dim))
    if hs:
        syn1[:, :dim] = rng.normal(0, 0.5, (syn1.shape[0], dim))
    return counts, kernel, syn0, syn1neg, syn1


def as64(m, dim):
    return m[:, :dim].astype(np.float64)


def check_padding(dim, *matrices):
    for m in matrices:
        assert not m[:, dim:].any(), "padding columns must stay zero"


@pytest.mark.parametrize("negatives", [[3, 7, 0, 9, 11], [3, 3, 5, 2, 3]],
                         ids=["distinct", "repeated-and-positive"])
def test_skipgram_ns_step_matches_float64_reference(negatives):
    dim, alpha, context, word = 10, 0.3, 4, 2
    _, kernel, syn0, syn1neg, syn1 = make_state(True, False, 5)
    s0, s1 = as64(syn0, dim), as64(syn1neg, dim)
    neu1e = np.zeros(dim)
    ns_ref(s0[context].copy(), s1, word, negatives, alpha, neu1e)
    s0[context] += neu1e
    kernel.step_sg(context, word, negatives, alpha)
    np.testing.assert_allclose(syn0[:, :dim], s0, atol=1e-5, rtol=0)
    np.testing.assert_allclose(syn1neg[:, :dim], s1, atol=1e-5, rtol=0)
    assert np.abs(neu1e).max() > 1e-2, "the step must actually move the vectors"
    check_padding(dim, syn0, syn1neg)


@pytest.mark.parametrize("cbow_mean", [True, False], ids=["mean", "sum"])
def test_cbow_ns_step_matches_float64_reference(cbow_mean):
    dim, alpha, word = 10, 0.2, 1
    contexts, negatives = [4, 6, 6, 9], [0, 5, 1, 8, 10]
    _, kernel, syn0, syn1neg, _ = make_state(False, False, 5, cbow_mean=cbow_mean)
    s0, s1 = as64(syn0, dim), as64(syn1neg, dim)
    neu1 = s0[contexts].sum(axis=0)
    if cbow_mean:
        neu1 /= len(contexts)
    neu1e = np.zeros(dim)
    ns_ref(neu1, s1, word, negatives, alpha, neu1e)
    for c in contexts:                   # word2vec C adds the whole error to each context word
        s0[c] += neu1e
    kernel.step_cbow(contexts, word, negatives, alpha)
    np.testing.assert_allclose(syn0[:, :dim], s0, atol=1e-5, rtol=0)
    np.testing.assert_allclose(syn1neg[:, :dim], s1, atol=1e-5, rtol=0)
    check_padding(dim, syn0, syn1neg)


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_hs_step_matches_float64_reference(sg):
    dim, alpha, word = 10, 0.25, 9
    counts, kernel, syn0, _, syn1 = make_state(sg, True, 0)
    offsets, codes, points = w2v.huffman_tree(counts)
    path = slice(offsets[word], offsets[word + 1])
    assert offsets[word + 1] - offsets[word] >= 3
    s0, s1 = as64(syn0, dim), as64(syn1, dim)
    contexts = [3] if sg else [3, 0, 11]
    neu1 = s0[contexts].sum(axis=0) / len(contexts)
    neu1e = np.zeros(dim)
    hs_ref(neu1, s1, points[path], codes[path], alpha, neu1e)
    for c in contexts:
        s0[c] += neu1e
    if sg:
        kernel.step_sg(contexts[0], word, [], alpha)
    else:
        kernel.step_cbow(contexts, word, [], alpha)
    np.testing.assert_allclose(syn0[:, :dim], s0, atol=1e-5, rtol=0)
    np.testing.assert_allclose(syn1[:, :dim], s1, atol=1e-5, rtol=0)
    assert np.abs(neu1e).max() > 1e-2
    check_padding(dim, syn0, syn1)


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_hs_and_ns_together_share_one_error_vector(sg):
    """word2vec C with -hs 1 -negative k: HS then NS from the same (unchanged) input, their
    errors summed, then added to the input word(s)."""
    dim, alpha, word, negatives = 10, 0.2, 5, [1, 7, 7, 0]
    counts, kernel, syn0, syn1neg, syn1 = make_state(sg, True, 4)
    offsets, codes, points = w2v.huffman_tree(counts)
    path = slice(offsets[word], offsets[word + 1])
    s0, s1, s2 = as64(syn0, dim), as64(syn1neg, dim), as64(syn1, dim)
    contexts = [8] if sg else [8, 2]
    neu1 = s0[contexts].sum(axis=0) / len(contexts)
    neu1e = np.zeros(dim)
    hs_ref(neu1, s2, points[path], codes[path], alpha, neu1e)
    ns_ref(neu1, s1, word, negatives, alpha, neu1e)
    for c in contexts:
        s0[c] += neu1e
    if sg:
        kernel.step_sg(contexts[0], word, negatives, alpha)
    else:
        kernel.step_cbow(contexts, word, negatives, alpha)
    for got, want in ((syn0, s0), (syn1neg, s1), (syn1, s2)):
        np.testing.assert_allclose(got[:, :dim], want, atol=1e-5, rtol=0)


def test_sigmoid_table_is_word2vec_c_table():
    _, kernel, *_ = make_state(True, False, 5)
    np.testing.assert_allclose(kernel.sigmoid_table(), TABLE, atol=1e-7)


# ---------------------------------------------------------------- tables

def test_noise_distribution_is_count_to_the_075():
    counts = np.array([1000, 300, 300, 20, 7, 1])
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(w2v.noise_distribution(counts), expected, rtol=1e-12)
    accept, alias = w2v.alias_table(expected)
    np.testing.assert_allclose(w2v.alias_distribution(accept, alias), expected, atol=1e-9)


def test_kernel_draws_negatives_from_the_noise_distribution():
    counts = np.array(sorted(np.random.default_rng(0).zipf(1.3, 200) * 3, reverse=True))
    _, kernel, *_ = make_state(True, False, 5)
    o = w2v.Word2VecOptions(dim=8, threads=1).resolved()
    kernel, *_ = w2v.build_kernel(counts, o, runner.Counters(1))
    n = 2_000_000
    draws = np.bincount(kernel.draw_negatives(n, 7), minlength=len(counts))
    p = w2v.noise_distribution(counts)
    # every frequency within 5 standard errors of its probability
    sd = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(draws - n * p) <= 5 * sd + 1)


def test_keep_probabilities_follow_word2vec_c_formula():
    counts = np.array([100_000, 90_000, 9_899, 100, 1])
    total, sample = int(counts.sum()), 1e-3             # T = 200,000 (the kernel's T too)
    t = sample * total                                  # 200
    expected = [(math.sqrt(c / t) + 1) * t / c for c in counts]
    expected = np.minimum(expected, 1.0)
    np.testing.assert_allclose(w2v.word2vec_keep_probabilities(counts, sample, total), expected)
    assert expected[0] == pytest.approx(0.0468, abs=1e-4)   # hand-worked: (sqrt(500)+1)/500
    # and the kernel keeps that fraction of occurrences
    o = w2v.Word2VecOptions(dim=8, sample=sample, threads=1).resolved()
    kernel, *_ = w2v.build_kernel(counts, o, runner.Counters(1))
    words = np.zeros(400_000, dtype=np.uint32)
    kept = len(kernel.subsample(words, 5)) / len(words)
    assert kept == pytest.approx(expected[0], abs=0.002)
    assert len(kernel.subsample(np.full(1000, 3, dtype=np.uint32), 5)) == 1000   # keep >= 1


def test_huffman_tree_is_optimal_and_prefix_free():
    counts = np.array(sorted(np.random.default_rng(2).integers(1, 10_000, 300), reverse=True))
    offsets, codes, points = w2v.huffman_tree(counts)
    v = len(counts)
    lengths = np.diff(offsets)
    heap = list(counts.tolist())
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    assert int((lengths * counts).sum()) == cost            # optimal expected code length
    strings = ["".join(map(str, codes[offsets[w]:offsets[w + 1]])) for w in range(v)]
    assert len(set(strings)) == v
    assert not any(a != b and b.startswith(a) for a in strings for b in strings)
    assert all(points[offsets[w]] == v - 2 for w in range(v))   # every path starts at the root
    assert points.max() == v - 2 and points.min() >= 0
    # a node's row and the branch taken determine the child: consistent across words
    edges = {}
    for w in range(v):
        path = list(zip(points[offsets[w]:offsets[w + 1]], codes[offsets[w]:offsets[w + 1]]))
        for depth, (node, bit) in enumerate(path):
            child = path[depth + 1][0] if depth + 1 < len(path) else ("leaf", w)
            assert edges.setdefault((node, bit), child) == child


def test_sentence_shares_cover_every_sentence_once():
    ends = np.cumsum([5, 1, 7, 3, 3, 9, 2]).astype(np.uint64)
    for n in (1, 2, 3, 7, 10):
        shares = runner.sentence_shares(ends, n)
        assert len(shares) == n
        covered = [i for lo, hi in shares for i in range(lo, hi)]
        assert covered == list(range(len(ends)))


def _reference_order(ends, threads, lanes, block):
    """--lanes in plain Python, sentence by sentence: thread t trains its share
    (sentence_shares); a sentence's piece is the lane it lies in, its block the number of the
    piece's block starts (the piece's tokens cut into R equal parts, R from the longest
    piece) at or before its first token; sentences go in (block, piece, position) order."""
    ends = [int(e) for e in ends]
    starts = [0] + ends[:-1]
    total = ends[-1]

    def after(target):  # the first sentence past the one that holds token target - 1
        return next(i + 1 for i, e in enumerate(ends) if e >= target) if target > 0 else 0

    lane_starts = [after(total * k // lanes) for k in range(lanes)]
    orders = []
    for lo, hi in runner.sentence_shares(np.asarray(ends, dtype=np.uint64), threads):
        if lo == hi:
            orders.append([])
            continue
        piece = {i: sum(c <= i for c in lane_starts if lo < c) for i in range(lo, hi)}
        first = {}
        for i in range(lo, hi):
            first.setdefault(piece[i], i)
        span = {p: (starts[f], max(ends[i] for i in range(lo, hi) if piece[i] == p))
                for p, f in first.items()}
        rounds = max(1, -(-max(b - a for a, b in span.values()) // block))

        def block_of(i):
            a, b = span[piece[i]]
            return sum(starts[i] >= a + (b - a) * r // rounds for r in range(1, rounds))

        orders.append(sorted(range(lo, hi), key=lambda i: (block_of(i), piece[i], i)))
    return orders


def test_lane_blocks_follow_the_reference_order():
    rng = np.random.default_rng(4)
    for trial in range(30):
        lengths = rng.integers(1, 40, rng.integers(1, 60))
        ends = np.cumsum(lengths).astype(np.uint64)
        for threads in (1, 2, 3):
            for lanes in (1, 2, 3, 4, 8):
                for block in (5, 37, 10_000):
                    got = runner.lane_blocks(ends, threads, lanes, block)
                    want = _reference_order(ends, threads, lanes, block)
                    flat = [[i for lo, hi in blocks for i in range(lo, hi)] for blocks in got]
                    assert flat == want, (trial, threads, lanes, block)
                    shares = runner.sentence_shares(ends, threads)
                    for blocks, (lo, hi) in zip(got, shares):
                        assert all(lo <= a < b <= hi for a, b in blocks) or lo == hi


def test_lane_blocks_interleave_the_lanes_and_keep_the_old_order_at_one_lane():
    ends = np.arange(100, 100_001, 100, dtype=np.uint64)     # 1000 sentences of 100 tokens
    assert [b.tolist() for b in runner.lane_blocks(ends, 2, 1)] == [[[0, 500]], [[500, 1000]]]
    one = runner.lane_blocks(ends, 1, 4, block=1000)[0].tolist()
    assert one[:5] == [[0, 10], [250, 260], [500, 510], [750, 760], [10, 20]]
    # as many lanes as threads: each thread's share is one lane, trained in corpus order
    assert [b.tolist() for b in runner.lane_blocks(ends, 2, 2)] == [[[0, 500]], [[500, 1000]]]
    # with lanes a multiple of the threads, each thread interleaves whole lanes
    two = runner.lane_blocks(ends, 2, 4, block=1000)
    assert two[0].tolist()[:3] == [[0, 10], [250, 260], [10, 20]]
    assert two[1].tolist()[:3] == [[500, 510], [750, 760], [510, 520]]


def _reordered(ids, ends, order):
    """The corpus with its sentences physically in ``order`` (sentence indices)."""
    starts = np.r_[0, ends[:-1]].astype(np.int64)
    parts = [ids[starts[i]:int(ends[i])] for i in order]
    return (np.concatenate(parts).astype(np.uint32),
            np.cumsum([len(p) for p in parts]).astype(np.uint64))


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_lanes_train_the_sentences_in_lane_order(mini, sg):
    # at one thread, --lanes 4 must be bit for bit --lanes 1 on the corpus rewritten in the
    # reference order: the kernel walks the blocks and nothing else changes
    vocab, ids, ends = _mini_cut(mini, 60_000)
    kw = dict(sg=sg, threads=1, seed=5, epochs=2, dim=16)
    order = _reference_order(ends, 1, 4, runner.LANE_BLOCK)[0]
    assert order != sorted(order)
    kw["order"] = "sequential"
    lanes = w2v.train_arrays(vocab.counts, ids, ends, w2v.Word2VecOptions(lanes=4, **kw))
    again = w2v.train_arrays(vocab.counts, ids, ends, w2v.Word2VecOptions(lanes=4, **kw))
    ids2, ends2 = _reordered(ids, ends, order)
    moved = w2v.train_arrays(vocab.counts, ids2, ends2, w2v.Word2VecOptions(lanes=1, **kw))
    plain = w2v.train_arrays(vocab.counts, ids, ends, w2v.Word2VecOptions(lanes=1, **kw))
    assert lanes.tobytes() == again.tobytes() == moved.tobytes()
    assert lanes.tobytes() != plain.tobytes()


@pytest.mark.parametrize("order", ["lanes", "shuffled"])
def test_blocks_resume_at_epoch_ends_as_one_call(mini, order):
    # the kernel's state carries the block under way: epoch by epoch == all epochs at once
    # (a shuffled walk starts and ends epochs away from sentence 0)
    vocab, ids, ends = _mini_cut(mini, 60_000)
    o = w2v.Word2VecOptions(sg=False, threads=1, seed=2, epochs=3, dim=16).resolved()
    blocks = (runner.lane_blocks(ends, 1, 3)[0] if order == "lanes"
              else runner.shuffled_blocks(ends, 1, 2)[0])
    assert order == "lanes" or blocks[0, 0] > 0
    total, longest = 3 * len(ids), int(np.diff(ends, prepend=np.uint64(0)).max())
    out = []
    for steps in ([3], [1, 2, 3]):
        kernel, syn0, _, _ = w2v.build_kernel(vocab.counts, o, runner.Counters(1, 3))
        state = kernel.initial_state(0, o.seed, int(blocks[0, 0]), o.alpha)
        for until in steps:
            kernel.train(0, ids, ends, 0, len(ends), until, o.seed, o.alpha, o.min_alpha,
                         total, longest, state=state, blocks=blocks)
        out.append(syn0.tobytes())
    assert out[0] == out[1]


def test_kernel_refuses_blocks_outside_the_share(mini):
    vocab, ids, ends = _mini_cut(mini, 20_000)
    o = w2v.Word2VecOptions(threads=1, dim=8).resolved()
    kernel, _, _, _ = w2v.build_kernel(vocab.counts, o, runner.Counters(1))
    for blocks in ([[0, len(ends) + 1]], [[3, 2]], np.zeros((0, 2))):
        with pytest.raises(ValueError, match="inside the share"):
            kernel.train(0, ids, ends, 0, len(ends), 1, 1, o.alpha, o.min_alpha, len(ids),
                         1000, blocks=np.array(blocks, dtype=np.int64))


def test_corpus_blocks_cut_whole_sentences_of_about_a_block():
    rng = np.random.default_rng(9)
    for trial in range(40):
        ends = np.cumsum(rng.integers(1, 60, rng.integers(1, 300))).astype(np.uint64)
        for block in (1, 7, 100, 10_000):
            blocks = runner.corpus_blocks(ends, block)
            # contiguous, in corpus order, none empty, every sentence once
            assert blocks[0, 0] == 0 and blocks[-1, 1] == len(ends)
            assert (blocks[1:, 0] == blocks[:-1, 1]).all() and (blocks[:, 1] > blocks[:, 0]).all()
            starts = np.r_[0, ends[:-1]].astype(np.int64)
            tokens = ends[blocks[:, 1] - 1].astype(np.int64) - starts[blocks[:, 0]]
            # a block ends with the sentence that reaches its share of the tokens: at most
            # one sentence (< 60 tokens) past ~block tokens
            assert tokens.max() < max(block, int(ends[-1]) // len(blocks) + 1) + 60 + block
    assert runner.corpus_blocks(np.zeros(0, np.uint64)).shape == (0, 2)


def test_corpus_blocks_grow_on_a_huge_corpus(monkeypatch):
    # at most MAX_SHUFFLED_BLOCKS blocks: a bigger corpus gets bigger blocks, not more
    monkeypatch.setattr(runner, "MAX_SHUFFLED_BLOCKS", 64)
    ends = np.arange(10, 100_001, 10, dtype=np.uint64)          # 10,000 sentences of 10
    blocks = runner.corpus_blocks(ends, 100)
    assert len(blocks) == 64 and blocks[-1, 1] == len(ends)
    assert len(runner.corpus_blocks(ends[:500], 100)) == 50     # 5,000 tokens: as asked


def test_shuffled_blocks_deal_one_walk_to_the_threads():
    ends = np.cumsum(np.random.default_rng(3).integers(1, 40, 500)).astype(np.uint64)
    blocks = runner.corpus_blocks(ends, 37)
    one = runner.shuffled_blocks(ends, 1, 7, block=37)[0]
    # every block once, in a random order drawn from the seed
    assert sorted(map(tuple, one.tolist())) == sorted(map(tuple, blocks.tolist()))
    assert one.tolist() != blocks.tolist()
    assert runner.shuffled_blocks(ends, 1, 8, block=37)[0].tolist() != one.tolist()
    assert runner.shuffled_blocks(ends, 1, 7, block=37)[0].tolist() == one.tolist()
    for n in (2, 3, 5):     # n threads deal the same walk: thread t takes blocks t, t + n, ...
        orders = runner.shuffled_blocks(ends, n, 7, block=37)
        for t in range(n):
            assert orders[t].tolist() == one[t::n].tolist() and orders[t].flags.c_contiguous
    # more threads than blocks: the idle ones get one empty range
    idle = runner.shuffled_blocks(ends[:1], 3, 1)
    assert [b.tolist() for b in idle] == [[[0, 1]], [[0, 0]], [[0, 0]]]


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_shuffled_order_trains_the_blocks_of_the_walk(mini, sg):
    # at one thread, the shuffled order must be bit for bit the sequential order on the
    # corpus rewritten block by block in the walk's order
    vocab, ids, ends = _mini_cut(mini, 60_000)
    kw = dict(sg=sg, threads=1, seed=5, epochs=2, dim=16)
    walk = runner.shuffled_blocks(ends, 1, 5, w2v.Word2VecOptions(**kw).resolved().shuffle_block)[0]
    assert len(walk) > 3
    shuffled = w2v.train_arrays(vocab.counts, ids, ends, w2v.Word2VecOptions(**kw))
    ids2, ends2 = _reordered(ids, ends, [i for lo, hi in walk for i in range(lo, hi)])
    moved = w2v.train_arrays(vocab.counts, ids2, ends2,
                             w2v.Word2VecOptions(order="sequential", **kw))
    plain = w2v.train_arrays(vocab.counts, ids, ends, w2v.Word2VecOptions(order="sequential", **kw))
    assert shuffled.tobytes() == moved.tobytes()
    assert shuffled.tobytes() != plain.tobytes()


# ---------------------------------------------------------------- end to end

def analogy_accuracy(words, matrix, restrict=30000):
    """Google analogy accuracy by 3CosAdd over the first ``restrict`` words, questions with an
    unknown word skipped (gensim's evaluate_word_analogies convention)."""
    words = words[:restrict]
    m = np.asarray(matrix[:restrict], dtype=np.float64)
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    index = {w: i for i, w in enumerate(words)}
    questions = []
    with open(EVAL_DIR / "questions-words.txt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(":"):
                continue
            quad = line.split()
            if all(w in index for w in quad):
                questions.append([index[w] for w in quad])
    q = np.array(questions)
    correct = 0
    for lo in range(0, len(q), 1024):
        blk = q[lo:lo + 1024]
        scores = (m[blk[:, 1]] - m[blk[:, 0]] + m[blk[:, 2]]) @ m.T
        rows = np.arange(len(blk))
        for col in range(3):
            scores[rows, blk[:, col]] = -np.inf
        correct += int((scores.argmax(axis=1) == blk[:, 3]).sum())
    return 100.0 * correct / len(q)


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    vocab, corpus = encode.prepare([MINI_CORPUS], min_count=5, cache=False)
    return vocab, corpus


# gensim 4.4.0 on the same corpus and settings (1 worker, mean of seeds 1-3), measured once with
#   Word2Vec(corpus_file="mini.txt", vector_size=100, window=5, negative=5, sample=1e-3,
#            min_count=5, epochs=5, sg=SG, workers=1, seed=S, alpha=0.025 if SG else 0.05)
# and analogy_accuracy above (restrict 30k, 4,276 questions): skip-gram 4.54 / 4.00 / 4.44,
# CBOW 3.44 / 4.47 / 3.81. staticvec's defaults (--order shuffled, --lr-schedule sawtooth),
# 2 threads, seeds 1-3, measured 2026-12-01: skip-gram 4.51 / 4.61 / 4.44 (mean 4.52),
# CBOW (500-token blocks) 4.35 / 4.37 / 3.91 (4.21), both above gensim; --order sequential
# gave 4.36 and 4.40.
# Tiny numbers: 1M tokens is a small corpus.
GENSIM_ACCURACY = {"skipgram": 4.33, "cbow": 3.91}


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_analogy_accuracy_within_3_points_of_gensim(mini, model):
    vocab, corpus = mini
    o = w2v.Word2VecOptions(sg=model == "skipgram", threads=2, seed=1)
    vectors = w2v.train_arrays(vocab.counts, corpus.ids, corpus.sentence_ends, o)
    accuracy = analogy_accuracy(vocab.words, vectors)
    assert accuracy >= GENSIM_ACCURACY[model] - 3.0, (model, accuracy)


def test_one_thread_same_seed_is_deterministic(mini):
    vocab, corpus = mini
    ids, ends = corpus.ids[:150_000], corpus.sentence_ends[corpus.sentence_ends <= 150_000]
    ids = ids[:int(ends[-1])]
    o = w2v.Word2VecOptions(sg=True, threads=1, seed=11, epochs=1)
    a = w2v.train_arrays(vocab.counts, ids, ends, o)
    b = w2v.train_arrays(vocab.counts, ids, ends, o)
    assert a.tobytes() == b.tobytes()
    o.seed = 12
    c = w2v.train_arrays(vocab.counts, ids, ends, o)
    assert a.tobytes() != c.tobytes()


# ---------------------------------------------------------------- resident memory

def _mapping_rss_kb(path):
    """Resident kB of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                inside = line.rstrip().endswith(str(path))
            elif inside and first == "Rss:":
                total += int(line.split()[1])
    return total


@pytest.fixture
def mapped_ids(tmp_path):
    """3M random ids of a 50-word vocabulary in a file, mapped read-only as encode maps them."""
    path = tmp_path / "ids.u32"
    rng = np.random.default_rng(3)
    rng.integers(0, 50, size=3_000_000, dtype=np.uint32).tofile(path)
    return path, np.memmap(path, dtype=np.uint32, mode="r")


def test_file_backed_only_for_read_only_file_mappings(mapped_ids, tmp_path):
    _, ids = mapped_ids
    assert runner.file_backed(ids)
    assert runner.file_backed(np.ascontiguousarray(ids))       # a view: the same pages
    assert runner.file_backed(ids[1000:])
    assert not runner.file_backed(np.array(ids))               # a copy: anonymous memory
    assert not runner.file_backed(np.zeros(10, np.uint32))
    writable = np.memmap(tmp_path / "w.u32", dtype=np.uint32, mode="w+", shape=(10,))
    assert not runner.file_backed(writable)                    # dropping would lose writes
    assert not runner.file_backed(np.memmap(mapped_ids[0], dtype=np.uint32, mode="c"))


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs Linux /proc")
def test_reading_a_mapped_corpus_drops_its_pages_and_keeps_its_data(mapped_ids):
    path, ids = mapped_ids
    kernel = _kernels.load("word2vec")
    expected = int(np.array(ids).max())        # np.array copies: the mapping stays untouched
    assert kernel.max_id(ids, False) == expected
    assert _mapping_rss_kb(path) > 10_000      # all 12 MB read and resident
    assert kernel.max_id(ids, True) == expected
    assert _mapping_rss_kb(path) < 5_000       # at most the last partial stretch stays
    assert int(np.sum(ids, dtype=np.uint64)) == int(np.sum(np.fromfile(path, np.uint32), dtype=np.uint64))


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs Linux /proc")
@pytest.mark.parametrize("order", ["shuffled", "sequential"])
def test_training_on_a_mapped_corpus_keeps_little_of_it_resident(tmp_path, order):
    # 8M ids (32 MB): every million tokens a thread has read in a block, and after a block
    # (of 1M tokens here: a walk's blocks are dropped every 16 blocks or 64k tokens, and
    # with smaller ones a page fault may map a 2 MB folio of this small file per block), the
    # mapping's pages are dropped, so little of it stays resident, in either order
    path = tmp_path / "ids.u32"
    np.random.default_rng(4).integers(0, 50, size=8_000_000, dtype=np.uint32).tofile(path)
    ids = np.memmap(path, dtype=np.uint32, mode="r")
    counts = np.sort(np.bincount(np.asarray(ids), minlength=50))[::-1].copy()
    _mapping_rss_kb(path)
    ends = np.arange(500, len(ids) + 1, 500, dtype=np.uint64)
    o = w2v.Word2VecOptions(sg=False, dim=4, window=1, negative=1, sample=0, epochs=1,
                            threads=2, seed=5, order=order,
                            shuffle_block=1_000_000 if order == "shuffled" else None)
    w2v.train_arrays(counts, ids, ends, o)
    assert _mapping_rss_kb(path) < 10_000, _mapping_rss_kb(path)
    np.asarray(ids).sum()                      # the control: reading it all keeps it all
    assert _mapping_rss_kb(path) > 30_000


def test_training_on_a_mapped_corpus_equals_training_on_a_copy(mapped_ids):
    """One thread, same seed: dropping pages while training changes no bit of the result."""
    _, ids = mapped_ids
    counts = np.bincount(np.asarray(ids), minlength=50)
    order = np.argsort(-counts, kind="stable")
    ranks = np.empty(50, np.uint32)
    ranks[order] = np.arange(50, dtype=np.uint32)
    path = mapped_ids[0]
    ranks[np.asarray(ids)].tofile(path)            # ids renumbered most frequent first
    ids = np.memmap(path, dtype=np.uint32, mode="r")
    ends = np.arange(1000, len(ids) + 1, 1000, dtype=np.uint64)
    o = w2v.Word2VecOptions(sg=False, dim=8, window=2, negative=2, epochs=2, threads=1, seed=5)
    mapped = w2v.train_arrays(counts[order], ids, ends, o).copy()
    copied = w2v.train_arrays(counts[order], np.array(ids), ends, o)
    assert np.array_equal(mapped, copied)


# ---------------------------------------------------------------- learning-rate schedule

# (done, word2vec's rate, sawtooth's rate) for alpha 0.1, min_alpha 0.001, total 999 (so
# q = done / 1000), 2 epochs, worked by hand: word2vec 0.1 * (1 - q); sawtooth in epoch e at
# fraction f of it, q' = (e + f / 2) / 2, rate 0.1 * (1 - q'); both at least 0.001.
SCHEDULE_BY_HAND = [
    (0, 0.1, 0.1),
    (250, 0.075, 0.0875),      # e 0, f 0.5: q' 0.125
    (499, 0.0501, 0.07505),    # e 0, f 0.998: q' 0.2495
    (500, 0.05, 0.05),         # e 1, f 0: q' 0.5 (the restart, from 0.075 down to 0.05)
    (750, 0.025, 0.0375),      # e 1, f 0.5: q' 0.625
    (999, 0.001, 0.025050),    # word2vec floored (0.0001 < 0.001); q' 0.74975
    (1000, 0.001, 0.001),      # e 2 = the end: q' 1, floored
]


@pytest.mark.parametrize("done,word2vec,sawtooth", SCHEDULE_BY_HAND)
def test_learning_rate_schedules_match_the_hand_computation(done, word2vec, sawtooth):
    for name, expected in (("word2vec", word2vec), ("sawtooth", sawtooth)):
        saw = w2v.LR_SCHEDULES[name]
        assert w2v.learning_rate(0.1, 0.001, done, 999, 2, saw) == pytest.approx(expected, rel=1e-9)
        # the kernel's own function (float32) gives the same rate
        kernel = _kernels.load("word2vec").learning_rate(0.1, 0.001, done, 999, 2, saw)
        assert kernel == pytest.approx(expected, rel=1e-6)


def test_kernel_learning_rate_equals_the_python_function_everywhere():
    k = _kernels.load("word2vec")
    for saw in w2v.LR_SCHEDULES.values():
        for epochs in (1, 3, 5):
            for done in range(0, 1_000_001, 9_973):
                mine = w2v.learning_rate(0.025, 2.5e-6, done, 1_000_000, epochs, saw)
                assert k.learning_rate(0.025, 2.5e-6, done, 1_000_000, epochs, saw) == \
                    pytest.approx(mine, rel=1e-6, abs=1e-12), (saw, epochs, done)


def _mini_cut(mini, tokens=150_000):
    vocab, corpus = mini
    ends = corpus.sentence_ends[corpus.sentence_ends <= tokens]
    return vocab, corpus.ids[:int(ends[-1])], ends


def _kernel_run(vocab, ids, ends, options, total):
    """One thread through the kernel directly, with the schedule's total of words given."""
    o = options.resolved()
    counters = runner.Counters(1)
    kernel, syn0, _, _ = w2v.build_kernel(vocab.counts, o, counters)
    longest = int(np.diff(ends, prepend=np.uint64(0)).max())
    kernel.train(0, ids, ends, 0, len(ends), o.epochs, o.seed, o.alpha, o.min_alpha, total,
                 longest, False)
    return syn0.tobytes()


def test_training_loop_follows_the_sawtooth(mini):
    # one epoch: the sawtooth's q is done / (T + 1) / 2, which is exactly word2vec's line over
    # a total of 2T + 1 words, so the two runs must be bit-identical (and differ from T's line)
    vocab, ids, ends = _mini_cut(mini, 60_000)
    t = len(ids)
    kw = dict(sg=True, threads=1, seed=5, epochs=1, dim=16, alpha=0.05)
    saw = _kernel_run(vocab, ids, ends, w2v.Word2VecOptions(lr_schedule="sawtooth", **kw), t)
    line = _kernel_run(vocab, ids, ends, w2v.Word2VecOptions(lr_schedule="word2vec", **kw),
                       2 * t + 1)
    plain = _kernel_run(vocab, ids, ends, w2v.Word2VecOptions(lr_schedule="word2vec", **kw), t)
    assert saw == line
    assert saw != plain


# sha256 of the vectors main's build (before --lr-schedule existed) trained on the first 150k
# tokens of mini.txt.xz: dim 20, 2 epochs, 1 thread, seed 11, per kernel variant;
# --lr-schedule word2vec --order sequential --lanes 1 must reproduce them bit for bit
MAIN_BYTES = {
    ("avx2", True): "7c261b9aedcf4f7fa5f279ed517063e4e5c83ba2a0489ff9d130015cc6cf979c",
    ("avx2", False): "0f2a4b2d92c3cec43d4b466d4d1f40324f8727904f5263de12b991eb8ebeaef4",
    ("generic", True): "3c1b70b973c3b6d1d373c96fa11965223aed34a8560092363847c871fbc9eaa6",
    ("generic", False): "9702991c83ba575a6b2205be7af99e932ee1d82b8bba48d9edb176356332933d",
}


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_word2vec_schedule_reproduces_mains_bytes(mini, sg):
    import hashlib

    vocab, ids, ends = _mini_cut(mini)
    o = w2v.Word2VecOptions(sg=sg, threads=1, seed=11, epochs=2, dim=20, lr_schedule="word2vec",
                            order="sequential", lanes=1)
    vectors = w2v.train_arrays(vocab.counts, ids, ends, o)
    digest = hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()
    assert digest == MAIN_BYTES[(_kernels.VARIANT, sg)]


@pytest.mark.parametrize("schedule", sorted(w2v.LR_SCHEDULES))
def test_progress_shows_the_schedules_rate(mini, schedule):
    vocab, ids, ends = _mini_cut(mini, 60_000)
    shown = []

    def progress(stage, done, total, **fields):
        if "alpha" in fields:
            shown.append((done, total, fields["alpha"]))

    o = w2v.Word2VecOptions(sg=False, threads=1, seed=3, epochs=3, dim=8, lr_schedule=schedule)
    w2v.train_arrays(vocab.counts, ids, ends, o, progress=progress)
    assert shown
    o = o.resolved()
    for done, total, alpha in shown:
        saw = w2v.LR_SCHEDULES[schedule]
        assert alpha == round(w2v.learning_rate(o.alpha, o.min_alpha, done, total, 3, saw), 6)


def _cli_outputs(tmp_path, command, lines, epochs, option, values, *more):
    """{value: output bytes} of ``command`` on the first ``lines`` lines of the mini corpus
    with ``option value`` (None: the option left out) and ``more``, 1 thread, dim 8."""
    import lzma

    from conftest import run_cli

    with lzma.open(MINI_CORPUS, "rt", encoding="utf-8") as src:
        text = "".join(next(src) for _ in range(lines))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    out = {}
    for value in values:
        path = tmp_path / f"{value}.txt"
        extra = [option, value] if value else []
        result = run_cli(command, corpus, "-o", path, "--dim", 8, "--epochs", epochs,
                         "--threads", 1, "-q", *extra, *more)
        assert result.returncode == 0, result.stderr
        out[value] = path.read_bytes()
    return out


def test_lr_schedule_reaches_the_kernel_from_the_command_line(tmp_path):
    out = _cli_outputs(tmp_path, "train-skipgram", 60, 2, "--lr-schedule",
                       ("word2vec", "sawtooth", None))
    assert out["word2vec"] != out["sawtooth"]
    assert out[None] == out["sawtooth"]      # the default


def test_lanes_reach_the_kernel_from_the_command_line(tmp_path):
    # 120 lines, ~100k tokens. 2 and 8 lanes: several blocks each; 4096 lanes: a lane
    # shorter than a block is trained whole, in corpus order, so the order is --lanes 1's
    out = _cli_outputs(tmp_path, "train-cbow", 120, 1, "--lanes",
                       ("1", "2", "8", "4096", None), "--order", "sequential")
    assert len({out["1"], out["2"], out["8"]}) == 3
    assert out["4096"] == out["1"]
    assert out[None] == out["1"]      # the default


def test_order_reaches_the_kernel_from_the_command_line(tmp_path):
    out = _cli_outputs(tmp_path, "train-skipgram", 120, 1, "--order",
                       ("shuffled", "sequential", None))
    assert out["shuffled"] != out["sequential"]
    assert out[None] == out["shuffled"]      # the default


@pytest.mark.parametrize("command,default", [("train-skipgram", "10000"), ("train-cbow", "500")])
def test_shuffle_block_reaches_the_kernel_from_the_command_line(tmp_path, command, default):
    out = _cli_outputs(tmp_path, command, 120, 1, "--shuffle-block", ("500", "10000", None))
    assert out["500"] != out["10000"]
    assert out[None] == out[default]
