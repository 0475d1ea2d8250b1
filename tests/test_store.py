"""The memory-mapped store (``staticvec store``, io/store.py, model/stored.py): a round
trip keeps every word and its unit vector, lookups go through the on-disk hash table, and
every query answers as the loaded source model does (and as gensim does)."""
import numpy as np
import pytest

from conftest import run_cli

from staticvec.io.dispatch import load_vectors, save_vectors
from staticvec.io.store import read_store
from staticvec.io.store_write import write_store
from staticvec.model.stored import StoredVectors, build_table, word_hash


def _words(n, rng):
    letters = list("abcdefghijklmnopqrstuvwxyzé")
    out, seen = [], set()
    while len(out) < n:
        word = "".join(rng.choice(letters, size=int(rng.integers(1, 12))))
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A 3,000 x 16 word2vec binary model (a zero row, a row of large values, non-ASCII
    words), loaded, and its store."""
    folder = tmp_path_factory.mktemp("store")
    rng = np.random.default_rng(7)
    words = ["king", "man", "woman", "queen", "café", "日本"] + _words(2994, rng)
    matrix = rng.standard_normal((len(words), 16)).astype(np.float32)
    matrix[10] = 0.0
    matrix[11] *= 1e15
    save_vectors((words, matrix), folder / "m.bin")
    write_store(folder / "m.bin", folder / "m.svs")
    return folder, load_vectors(folder / "m.bin"), load_vectors(folder / "m.svs")


def test_round_trip_keeps_words_and_unit_vectors(models):
    _, source, stored = models
    assert isinstance(stored, StoredVectors)
    assert len(stored) == len(source) and stored.dim == source.dim
    assert list(stored.words) == source.words
    np.testing.assert_array_equal(np.asarray(stored.norms), source.norms)
    np.testing.assert_allclose(np.asarray(stored.unit), source.unit, rtol=0, atol=1e-7)
    assert not np.asarray(stored.unit)[10].any()
    for word in ("king", "café", "日本", source.words[-1]):
        np.testing.assert_allclose(stored[word], source[word], rtol=2e-7, atol=0)
        np.testing.assert_allclose(stored.get_vector(word, norm=True),
                                   source.get_vector(word, norm=True), atol=1e-7)
    np.testing.assert_allclose(stored.matrix[[1, 5, 2999]], source.matrix[[1, 5, 2999]],
                               rtol=2e-7)


def test_every_word_is_found_through_the_hash_table(models):
    _, source, stored = models
    for i, word in enumerate(source.words):
        assert stored.position(word) == i
        assert stored.index[word] == i
    for unknown in ("kingz", "", "Café", "\udcff", "x" * 500):
        assert stored.position(unknown) is None and unknown not in stored
        assert stored.index.get(unknown, -1) == -1
    assert stored.words.index("queen") == 3
    with pytest.raises(KeyError):
        stored["kingz"]


def test_hash_table_places_every_key_within_its_probe_bound():
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 1 << 32, size=5000)
    hashes[:50] = 12345  # a cluster of equal hashes
    table, probes = build_table(hashes, 1 << 14)
    assert sorted(table[table > 0] - 1) == list(range(5000))
    mask = (1 << 14) - 1
    for row in (0, 25, 49, 50, 4999):
        slot, steps = int(hashes[row]) & mask, 0
        while table[slot] != row + 1:
            slot, steps = (slot + 1) & mask, steps + 1
        assert steps <= probes
    assert word_hash("king".encode()) == word_hash(b"king")


def _same(got, want):
    assert [w for w, _ in got] == [w for w, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)


@pytest.mark.parametrize("restrict", [None, 500])
def test_queries_answer_as_the_loaded_model(models, restrict):
    _, source, stored = models
    for query in ("king", "café", source.words[2000], ["king", "woman"]):
        _same(stored.most_similar(query, topn=10, restrict_vocab=restrict),
              source.most_similar(query, topn=10, restrict_vocab=restrict))
    _same(stored.most_similar(["king", "woman"], ["man"], topn=5, restrict_vocab=restrict),
          source.most_similar(["king", "woman"], ["man"], topn=5, restrict_vocab=restrict))
    _same(stored.most_similar_cosmul(["king", "woman"], ["man"], topn=5,
                                     restrict_vocab=restrict),
          source.most_similar_cosmul(["king", "woman"], ["man"], topn=5,
                                     restrict_vocab=restrict))
    _same(stored.analogy("king", "man", "woman", method="mul"),
          source.analogy("king", "man", "woman", method="mul"))
    assert stored.similarity("king", "queen") == pytest.approx(
        source.similarity("king", "queen"), abs=1e-6)
    assert stored.doesnt_match(["king", "man", "woman", "café"]) == \
        source.doesnt_match(["king", "man", "woman", "café"])
    assert len(stored.most_similar("king", topn=None)) == len(source.most_similar("king",
                                                                                    topn=None))


def test_batch_answers_equal_one_query_at_a_time(models, monkeypatch):
    _, source, stored = models
    import staticvec.model.stored as stored_module

    monkeypatch.setattr(stored_module, "_SCAN_ROWS", 256)  # many chunks, running bounds
    queries = source.words[12:50] + [["king", "woman"], "king"]
    for topn, restrict in ((10, None), (3, 700), (1, None)):
        got = stored.most_similar_batch(queries, topn=topn, restrict_vocab=restrict)
        want = source.most_similar_batch(queries, topn=topn, restrict_vocab=restrict)
        for a, b in zip(got, want):
            _same(a, b)
        for a, query in zip(got, queries):
            _same(a, stored.most_similar(query, topn=topn, restrict_vocab=restrict))


def test_ties_go_to_the_lower_row_in_single_and_batch_queries(tmp_path, monkeypatch):
    import staticvec.model.stored as stored_module

    monkeypatch.setattr(stored_module, "_SCAN_ROWS", 3)
    words = [f"w{i}" for i in range(12)]
    matrix = np.tile(np.array([[1.0, 0.0]], np.float32), (12, 1))
    matrix[0] = [0.0, 1.0]
    matrix[5] = [1.0, 1.0]
    save_vectors((words, matrix), tmp_path / "t.bin")
    write_store(tmp_path / "t.bin", tmp_path / "t.svs")
    source, stored = load_vectors(tmp_path / "t.bin"), load_vectors(tmp_path / "t.svs")
    want = source.most_similar("w5", topn=4)
    assert [w for w, _ in want] == ["w0", "w1", "w2", "w3"]
    _same(stored.most_similar("w5", topn=4), want)
    _same(stored.most_similar_batch(["w5"], topn=4)[0], want)


def test_matches_gensim(models):
    gensim = pytest.importorskip("gensim.models")
    folder, _, stored = models
    kv = gensim.KeyedVectors.load_word2vec_format(str(folder / "m.bin"), binary=True)
    with np.errstate(invalid="ignore"):  # gensim divides the zero row by its norm
        for query in ("king", "日本", kv.index_to_key[1234]):
            _same(stored.most_similar(query, topn=10), kv.most_similar(query, topn=10))
        _same(stored.most_similar(["king", "woman"], ["man"], topn=5),
              kv.most_similar(["king", "woman"], ["man"], topn=5))


def test_limit_keeps_the_first_words(models):
    folder, source, _ = models
    small = load_vectors(folder / "m.svs", limit=100)
    assert len(small) == 100 and list(small.words) == source.words[:100]
    assert small.position(source.words[150]) is None and "king" in small
    _same(small.most_similar("king", topn=5), source.most_similar("king", topn=5,
                                                                  restrict_vocab=100))


def test_text_source_with_a_repeated_word_keeps_the_first(tmp_path):
    (tmp_path / "g.txt").write_text("a 1 0\nb 0 1\na 5 5\nc 1 1\n")
    write_store(tmp_path / "g.txt", tmp_path / "g.svs")
    stored = load_vectors(tmp_path / "g.svs")
    assert list(stored.words) == ["a", "b", "c"]
    np.testing.assert_allclose(stored["a"], [1, 0])
    assert read_store(tmp_path / "g.svs").meta["fingerprint"]["size"] == \
        (tmp_path / "g.txt").stat().st_size


def test_fasttext_store_keeps_word_vectors_counts_and_ngram_buckets(tmp_path):
    from staticvec.io.fasttext_bin import save_model

    rng = np.random.default_rng(2)
    words = ["</s>", "the", "cat", "sat"]
    save_model(tmp_path / "ft.bin", words, [9, 7, 5, 3],
               rng.standard_normal((len(words) + 11, 4)).astype(np.float32),
               rng.standard_normal((len(words), 4)).astype(np.float32), bucket=11, minn=2,
               maxn=3)
    result = run_cli("store", str(tmp_path / "ft.bin"), "-o", str(tmp_path / "ft.svs"))
    assert result.returncode == 0, result.stderr
    source, stored = load_vectors(tmp_path / "ft.bin"), load_vectors(tmp_path / "ft.svs")
    assert list(stored.counts) == [9, 7, 5, 3]
    np.testing.assert_allclose(stored["cat"], source["cat"], rtol=2e-7)
    assert stored.store.subwords == {"minn": 2, "maxn": 3, "bucket": 11}
    for word in ("kat", "caté", "s", "日本語", "thee"):   # unseen: the .bin's n-gram vector
        assert "kat" not in stored.words
        np.testing.assert_array_equal(stored[word], source[word])
        np.testing.assert_array_equal(stored.get_vector(word, norm=True),
                                      source.get_vector(word, norm=True))
    # an unseen word queries as on the .bin (its n-gram vector; nothing to exclude)
    _same(stored.most_similar("kat", topn=3), source.most_similar("kat", topn=3))
    got = run_cli("print-vectors", "kat", "-m", str(tmp_path / "ft.svs"))
    want = run_cli("print-vectors", "kat", "-m", str(tmp_path / "ft.bin"))
    assert got.returncode == want.returncode == 0 and got.stdout == want.stdout
    # a word2vec store has no buckets: an unseen word is unknown (exit 3)
    save_vectors((words[1:], rng.standard_normal((3, 4)).astype(np.float32)), tmp_path / "w.bin")
    write_store(tmp_path / "w.bin", tmp_path / "w.svs")
    assert "kat" not in load_vectors(tmp_path / "w.svs")
    assert run_cli("print-vectors", "kat", "-m", str(tmp_path / "w.svs")).returncode == 3


def _printed(stdout):
    """(word, score) pairs of `nearest`/`analogy` output, plain or --json."""
    import json

    pairs = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            pairs += [(r["word"], r["score"]) for r in json.loads(line)["results"]]
        else:
            pairs += [(p.split(" ")[0], float(p.split(" ")[1])) for p in line.split("\t")[1:]]
    return pairs


def test_cli_queries_on_a_store_print_what_the_source_prints(models):
    folder, source, _ = models
    for args in (["nearest", "king", "café", "-k", "5"],
                 ["analogy", "king", "man", "woman", "--method", "mul", "--json"]):
        want = run_cli(*args, "-m", str(folder / "m.bin"))
        got = run_cli(*args, "-m", str(folder / "m.svs"))
        assert got.returncode == want.returncode == 0, got.stderr
        assert got.stderr == ""
        # the same words; scores to float32 rounding (the store's rows were divided by
        # their norms once, when it was written)
        # (a printed score may round the other way: one unit of the last printed digit)
        assert [s for _, s in _printed(got.stdout)] == pytest.approx(
            [s for _, s in _printed(want.stdout)], abs=1.01e-4 if "--json" not in args else 2e-6)
        assert [w for w, _ in _printed(got.stdout)] == [w for w, _ in _printed(want.stdout)]
    got = run_cli("print-vectors", "queen", "日本", "-m", str(folder / "m.svs"))
    assert got.returncode == 0, got.stderr
    rows = [np.array(line.split()[1:], float) for line in got.stdout.splitlines()]
    np.testing.assert_allclose(rows, source[["queen", "日本"]], rtol=1e-6)


def test_cli_store_command_writes_a_store_and_a_summary(tmp_path, models):
    folder, source, _ = models
    result = run_cli("store", str(folder / "m.bin"), "-o", str(tmp_path / "x.svs"), "--limit",
                     "50")
    assert result.returncode == 0, result.stderr
    assert "stored 50 words x 16" in result.stderr
    assert list(load_vectors(tmp_path / "x.svs").words) == source.words[:50]
    quiet = run_cli("store", str(folder / "m.bin"), "-o", str(tmp_path / "y.svs"), "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    # a store converts back to word2vec
    back = run_cli("convert", str(tmp_path / "x.svs"), str(tmp_path / "x.txt"), "-q")
    assert back.returncode == 0, back.stderr
    np.testing.assert_allclose(load_vectors(tmp_path / "x.txt").matrix, source.matrix[:50],
                               rtol=1e-6)


def test_evaluation_and_sentence_vectors_read_a_store_as_the_loaded_model(models, tmp_path):
    from staticvec.eval.benchmarks import evaluate_analogies, evaluate_similarity
    from staticvec.io.embeddings import pooler_for

    _, source, stored = models
    words = source.words
    questions = tmp_path / "q.txt"
    questions.write_text(": s\nking man woman queen\n" + "".join(
        f"{words[i]} {words[i + 1]} {words[i + 2]} {words[i + 3]}\n" for i in range(20, 60, 4)))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{words[i]}\t{words[i + 7]}\t{i % 10}\n" for i in range(30, 60)))
    for method in ("add", "mul"):
        assert evaluate_analogies(stored, questions, restrict=2000, method=method) == \
            evaluate_analogies(source, questions, restrict=2000, method=method)
    got, want = evaluate_similarity(stored, pairs), evaluate_similarity(source, pairs)
    assert got.keys() == want.keys()
    assert got["spearman"] == pytest.approx(want["spearman"], abs=1e-6)
    lines = [["king", "café", "zzz"], [words[100], words[200]]]
    a, b = pooler_for(stored), pooler_for(source)
    (got, got_known), (want, want_known) = a.pool(lines), b.pool(lines)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert list(got_known) == list(want_known) == [2, 2]
