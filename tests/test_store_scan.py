"""The store's int8 preselect (``_kernels/scan.pyx``): its bounds hold for every row, and
the rescored answers are the exact top k: the same rows and scores, bit for bit, as the
float32 scan of every row (the exact path), and the float64 reference's order wherever
the reference's scores are apart; with exclusions, near-ties, k beyond the candidates,
and in batches."""
import numpy as np
import pytest

from staticvec import _kernels
from staticvec.io.dispatch import load_vectors, save_vectors
from staticvec.io.store_write import write_store
from staticvec.model.similarity import mean_query, top_indices
from staticvec.model.stored import quantised_queries

scan = _kernels.load("scan")


def _store(tmp_path, matrix, name="m"):
    words = [f"w{i}" for i in range(len(matrix))]
    save_vectors((words, matrix.astype(np.float32)), tmp_path / f"{name}.bin")
    write_store(tmp_path / f"{name}.bin", tmp_path / f"{name}.svs")
    return load_vectors(tmp_path / f"{name}.svs")


def _exact(stored, mean, topn, exclude=(), restrict=None):
    """The exact path: dot32 of every row, then top_indices (ties: lower row)."""
    scores = stored.cosines(mean, restrict)
    norms = np.asarray(stored.norms)[:len(scores)]
    scores[(norms == 0) | ~np.isfinite(norms)] = -np.inf
    return [(stored.words[i], float(scores[i])) for i in top_indices(scores, topn, exclude)]


def _reference(stored, mean, topn, exclude=()):
    """float64 scores of the stored unit rows: the best ``topn`` rows and their scores."""
    unit = np.asarray(stored.unit, dtype=np.float64)
    scores = unit @ mean.astype(np.float64)
    scores[~unit.any(axis=1)] = -np.inf
    scores[list(exclude)] = -np.inf
    order = np.lexsort((np.arange(len(scores)), -scores))[:topn]
    return order, scores


@pytest.fixture(scope="module")
def random_store(tmp_path_factory):
    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((6000, 37)) * rng.uniform(0.1, 5, (6000, 1))
    matrix[7] = 0.0
    matrix[8, :] = 0.0
    matrix[8, 3] = 1e-30                    # a tiny row: its codes are one value
    matrix[9] = rng.standard_normal(37) * 1e18   # squares near float32's top
    matrix[10, 0] = 40.0                     # one big value: a coarse scale, large error
    return _store(tmp_path_factory.mktemp("scan"), matrix)


def test_bounds_hold_for_every_row(random_store):
    """With room for every row, every row is a candidate: its hi is >= its exact score,
    and the lower bounds, sorted, lie under the sorted exact scores."""
    stored = random_store
    rng = np.random.default_rng(5)
    n = len(stored)
    means = rng.standard_normal((3, stored.dim)).astype(np.float32)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    means[2] = 0.0
    means[2, 5] = 1.0                        # a one-hot query: its codes are exact
    codes, params = quantised_queries(means, stored.store.codes.shape[1], scan)
    state = scan.Preselect(3, n)
    state.scan(stored.store.codes, stored.store.bounds, stored.store.norms, 0, n, codes, params)
    qs, rows, his = state.candidates()
    lower = state.lower_bounds()
    norms = np.asarray(stored.norms)
    eligible = np.flatnonzero((norms > 0) & np.isfinite(norms))
    for q in range(3):
        exact = stored.cosines(means[q])[eligible].astype(np.float64)
        mine = qs == q
        assert np.array_equal(np.sort(rows[mine]), eligible)
        order = np.argsort(rows[mine])
        assert (his[mine][order] >= exact).all()
        lo = np.sort(lower[q][np.isfinite(lower[q])])
        assert len(lo) == len(eligible) and (lo <= np.sort(exact)).all()
        width = his[mine][order] - exact
        assert np.median(width) < 0.05       # the bound is also useful


@pytest.mark.parametrize("topn", [1, 10, 50])
def test_preselect_equals_the_exact_scan_and_the_float64_reference(random_store, topn):
    stored = random_store
    rng = np.random.default_rng(topn)
    for k in range(8):
        word = stored.words[int(rng.integers(len(stored)))]
        got = stored.most_similar(word, topn=topn)
        query = mean_query([stored.get_vector(word, norm=True)], [], stored.dim)
        assert got == _exact(stored, query, topn, [stored.position(word)])
        assert max(stored.candidates) < len(stored) // 4    # it did preselect
        order, scores = _reference(stored, query, topn, [stored.position(word)])
        assert [w for w, _ in got] == [stored.words[int(i)] for i in order]
        np.testing.assert_allclose([s for _, s in got], scores[order], atol=1e-6)
    # analogies: three excluded query words, a negative term
    got = stored.most_similar(["w1", "w2"], ["w3"], topn=topn)
    query = mean_query([stored.get_vector(w, norm=True) for w in ("w1", "w2")],
                       [stored.get_vector("w3", norm=True)], stored.dim)
    assert got == _exact(stored, query, topn, [1, 2, 3])
    assert not {"w1", "w2", "w3"} & {w for w, _ in got}


def test_near_ties_and_k_beyond_the_candidates(tmp_path):
    """Rows that differ only in their last bits share their int8 codes: the bound cannot
    tell them apart, every one is rescored, and ties go to the lower row as in the exact
    path. k beyond the rows: every eligible row, excluded and zero rows left out."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal(40).astype(np.float32)
    matrix = np.tile(base, (700, 1))
    matrix[::2] += rng.standard_normal((350, 40)).astype(np.float32) * 1e-6
    matrix[100:400] = rng.standard_normal((300, 40))    # the rest: far away
    matrix[50] = 0.0
    matrix[60] = base * 3                               # the same direction, longer
    stored = _store(tmp_path, matrix)
    for query in ("w1", "w2", "w450"):
        for topn in (1, 5, 40, 399):
            got = stored.most_similar(query, topn=topn)
            mean = mean_query([stored.get_vector(query, norm=True)], [], 40)
            assert got == _exact(stored, mean, topn, [stored.position(query)])
    everything = stored.most_similar(["w1", "w3"], ["w5"], topn=5000)
    assert len(everything) == 700 - 1 - 3      # the zero row and the three query words
    query = mean_query([stored.get_vector("w1", norm=True), stored.get_vector("w3", norm=True)],
                       [stored.get_vector("w5", norm=True)], 40)
    assert everything == _exact(stored, query, 5000, [1, 3, 5])
    assert stored.most_similar("w1", topn=3, restrict_vocab=2) == _exact(
        stored, mean_query([stored.get_vector("w1", norm=True)], [], 40), 3, [1], 2)
    assert [w for w, _ in stored.most_similar("w1", topn=3, restrict_vocab=2)] == ["w0"]


def test_batch_equals_single_queries_and_the_exact_scan(random_store, monkeypatch):
    import staticvec.model.stored as stored_module

    stored = random_store
    monkeypatch.setattr(stored_module, "_SCAN_ROWS", 512)   # many chunks over two threads
    monkeypatch.setattr(stored_module, "_BATCH_QUERIES", 16)   # several scans
    rng = np.random.default_rng(9)
    queries = [stored.words[int(i)] for i in rng.integers(0, len(stored), 41)]
    queries += [["w1", "w2"], "w9", "w10"]
    for topn, restrict in ((10, None), (3, 1000), (1, None)):
        got = stored.most_similar_batch(queries, topn=topn, restrict_vocab=restrict)
        for answer, query in zip(got, queries):
            assert answer == stored.most_similar(query, topn=topn, restrict_vocab=restrict)
            words = [query] if isinstance(query, str) else query
            mean = mean_query([stored.get_vector(w, norm=True) for w in words], [], stored.dim)
            assert answer == _exact(stored, mean, topn, [stored.position(w) for w in words],
                                    restrict)


def test_a_store_without_codes_answers_alike(tmp_path, random_store):
    stored = random_store
    matrix = np.asarray(stored.matrix)
    words = [f"w{i}" for i in range(len(matrix))]
    save_vectors((words, matrix), tmp_path / "p.bin")
    write_store(tmp_path / "p.bin", tmp_path / "p.svs", codes=False)
    plain = load_vectors(tmp_path / "p.svs")
    assert plain.store.codes is None
    for word in ("w1", "w500"):
        assert plain.most_similar(word, topn=7) == _exact(plain, mean_query(
            [plain.get_vector(word, norm=True)], [], plain.dim), 7, [plain.position(word)])
    assert plain.most_similar_batch(["w1", "w500"], topn=3) == [
        plain.most_similar("w1", topn=3), plain.most_similar("w500", topn=3)]


def test_the_kernel_lookup_hashes_as_the_writer(tmp_path):
    """The lookup's crc32 is zlib's (the writer's ``word_hash``): every word is found, in
    every script; an absent word is not."""
    from staticvec.model.stored import word_hash

    words = ["", "a", "king", "café", "日本語", "x" * 300, "\u00e9\u0301"]
    for word in words:
        raw = word.encode("utf-8")
        assert scan.crc32(np.frombuffer(raw, np.uint8)) == word_hash(raw)
    stored = _store(tmp_path, np.eye(6, 8) + 1, name="k")
    for i in range(6):
        assert stored.position(f"w{i}") == i
        np.testing.assert_array_equal(stored[f"w{i}"], np.asarray(stored.matrix[i]))
    assert stored.position("w6") is None and stored.position("\ud800") is None


def test_a_non_finite_query_vector_is_refused(random_store):
    from staticvec.errors import BadOptionError

    bad = np.full(random_store.dim, np.nan, dtype=np.float32)
    for call in (lambda: random_store.most_similar(bad), lambda: random_store.cosines(bad),
                 lambda: random_store.most_similar_batch([[bad]])):
        with pytest.raises(BadOptionError, match="non-finite"):
            call()


def test_both_builds_score_and_bound_alike():
    """dot32 has one order and no FMA: the AVX2 and the generic builds give the same bits
    (so a store answers alike on any CPU); their bounds (float64, where the AVX2 build
    may fuse a multiply-add) agree far inside the bound's 1e-9 margin."""
    import importlib

    try:
        builds = [importlib.import_module(f"staticvec._kernels.{v}.scan")
                  for v in ("avx2", "generic")]
    except ImportError:
        pytest.skip("one build of the scan kernel is missing")
    if not _kernels.cpu.has_avx2_fma():
        pytest.skip("no AVX2 here")
    rng = np.random.default_rng(4)
    unit = rng.standard_normal((257, 300)).astype(np.float32)
    query = rng.standard_normal(300).astype(np.float32)
    out = [np.empty(257, np.float32) for _ in builds]
    for kernel, o in zip(builds, out):
        kernel.dots(unit, 0, 257, query, o)
    assert out[0].tobytes() == out[1].tobytes()
    codes = np.zeros((257, 320), np.uint8)
    meta = np.empty((257, 3), np.float32)
    builds[0].quantise(unit, codes, meta, 127, True)
    aligned = np.zeros(257 * 320 + 64, np.uint8)
    start = -aligned.ctypes.data % 64
    codes32 = aligned[start:start + 257 * 320].reshape(257, 320)
    codes32[:] = codes
    got = []
    for kernel in builds:
        q, params = quantised_queries(query[None, :], 320, kernel)
        state = kernel.Preselect(1, 257)
        state.scan(codes32, meta, np.ones(257, np.float32), 0, 257, q, params)
        qs, rows, his = state.candidates()
        got.append(his[np.argsort(rows)])
    np.testing.assert_allclose(got[0], got[1], rtol=1e-13, atol=1e-15)
