"""--save-model, --continue and --init-vectors (issue 14 part 2), checked against independent
references: word counts from collections.Counter, the random start a new model would get,
and the matrices read back from the files."""
import collections
import json
import logging
import struct

import numpy as np
import pytest

from staticvec.io import model_file
from staticvec.io.dispatch import load_vectors, save_vectors
from staticvec.train import word2vec as w2v

DIM = 8


def zipf_text(seed, n_words, lines=120, per_line=40):
    """Lines of words w0..w{n_words-1}, drawn Zipf-like (w0 most frequent)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_words + 1)
    p /= p.sum()
    draws = rng.choice(n_words, size=(lines, per_line), p=p)
    return "".join(" ".join(f"w{i}" for i in row) + "\n" for row in draws)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    folder = tmp_path_factory.mktemp("continue")
    a, b = folder / "a.txt", folder / "b.txt"
    a.write_text(zipf_text(1, 120))
    b.write_text(zipf_text(2, 200))   # words w120.. are new, a few of them frequent enough
    return folder, a, b


def options(**kw):
    base = dict(dim=DIM, epochs=2, threads=1, seed=7, min_count=3, cache=False)
    base.update(kw)
    return w2v.Word2VecOptions(**base)


def reference_counts(*texts):
    counts = collections.Counter()
    for text in texts:
        counts.update(text.split())
    return counts


@pytest.fixture(scope="module")
def saved(corpora):
    folder, a, _ = corpora
    out, model = folder / "a.bin", folder / "a.svmodel"
    w2v.train_word2vec([a], out, options(), save_model=model)
    return out, model


def test_save_model_round_trip(corpora, saved):
    _, a, _ = corpora
    out, path = saved
    model = model_file.read_model(path)
    counted = reference_counts(a.read_text())
    kept = sorted(((w, c) for w, c in counted.items() if c >= 3), key=lambda wc: (-wc[1], wc[0]))
    assert model["words"] == [w for w, _ in kept]
    assert model["counts"].tolist() == [c for _, c in kept]
    assert model["kind"] == "word2vec" and model["options"]["dim"] == DIM
    vectors = load_vectors(out)
    assert vectors.words == model["words"]
    np.testing.assert_array_equal(vectors.matrix, model["matrices"]["input"])
    assert model["matrices"]["output_negative"].shape == (len(kept), DIM)
    assert np.abs(model["matrices"]["output_negative"]).max() > 0   # trained, not the zero start
    assert set(model["matrices"]) == {"input", "output_negative"}


def test_model_file_matrices_open_with_a_plain_memmap(saved):
    _, path = saved
    raw = path.read_bytes()
    magic, version, crc, length = struct.unpack_from("<8sIIQ", raw, 0)
    assert magic == b"SVMODEL\x00" and version == 1
    header = json.loads(raw[24:24 + length])
    entry = header["sections"]["input"]
    assert entry["offset"] % 64 == 0 and header["sections"]["counts"]["offset"] % 64 == 0
    mapped = np.memmap(path, dtype="<f4", mode="r", offset=entry["offset"],
                       shape=tuple(entry["shape"]))
    np.testing.assert_array_equal(mapped, model_file.read_model(path)["matrices"]["input"])


def test_hs_model_keeps_the_inner_node_weights(corpora, tmp_path):
    _, a, _ = corpora
    path = tmp_path / "hs.svmodel"
    w2v.train_word2vec([a], tmp_path / "hs.txt", options(hs=True, negative=0), save_model=path)
    model = model_file.read_model(path)
    assert set(model["matrices"]) == {"input", "output_hs"}
    assert model["matrices"]["output_hs"].shape == (len(model["words"]) - 1, DIM)
    # the same corpus again doubles every count: the same Huffman tree, so the inner-node
    # weights are the start of the continued run (kept to 1e-6 with a negligible rate)
    again = tmp_path / "hs2.svmodel"
    w2v.train_word2vec([a], tmp_path / "hs2.txt", options(hs=True, negative=0, alpha=1e-9),
                       continue_from=path, save_model=again)
    after = model_file.read_model(again)
    assert after["counts"].tolist() == (2 * model["counts"]).tolist()
    np.testing.assert_allclose(after["matrices"]["output_hs"], model["matrices"]["output_hs"],
                               atol=1e-6)
    np.testing.assert_allclose(after["matrices"]["input"], model["matrices"]["input"], atol=1e-6)


def merged_reference(old_words, old_counts, new_text, min_count=3):
    """(training words, their counts, output order): the model's words with the new counts
    added, then the new words seen >= min_count times (most frequent first, ties by word);
    the outputs list them by merged count, ties in training order."""
    counts_b = reference_counts(new_text)
    known = set(old_words)
    added = sorted(((w, c) for w, c in counts_b.items() if c >= min_count and w not in known),
                   key=lambda wc: (-wc[1], wc[0]))
    words = list(old_words) + [w for w, _ in added]
    counts = [c + counts_b.get(w, 0) for w, c in zip(old_words, list(old_counts))]
    counts += [c for _, c in added]
    order = sorted(range(len(words)), key=lambda t: (-counts[t], t))
    return words, counts, order


def test_continue_keeps_old_rows_adds_new_words_and_merges_counts(corpora, saved, tmp_path):
    _, a, b = corpora
    _, path = saved
    old = model_file.read_model(path)
    new_model = tmp_path / "b.svmodel"
    vocab, vectors = w2v.train_word2vec([b], tmp_path / "b.bin", options(alpha=1e-9),
                                        continue_from=path, save_model=new_model)
    n = len(old["words"])
    words, counts, order = merged_reference(old["words"], old["counts"].tolist(), b.read_text())
    assert len(words) > n, "the fixture must bring new words"
    assert order != list(range(len(words))), "the fixture must reorder the outputs"
    assert vocab.words == [words[t] for t in order]
    assert vocab.counts.tolist() == [counts[t] for t in order]
    after = model_file.read_model(new_model)
    assert after["words"] == vocab.words and after["counts"].tolist() == vocab.counts.tolist()
    np.testing.assert_array_equal(load_vectors(tmp_path / "b.bin").matrix, after["matrices"]["input"])
    # old rows are the start: with a negligible rate they come back unchanged; new words
    # start as they would in a new model of the merged vocabulary (their training ids)
    fresh = w2v.init_input_vectors(len(words), DIM, 7)[:, :DIM]
    for j, t in enumerate(order):
        if t < n:
            np.testing.assert_allclose(vectors[j], old["matrices"]["input"][t], atol=1e-6)
            np.testing.assert_allclose(after["matrices"]["output_negative"][j],
                                       old["matrices"]["output_negative"][t], atol=1e-6)
        else:
            np.testing.assert_allclose(vectors[j], fresh[t], atol=1e-6)
            assert np.abs(after["matrices"]["output_negative"][j]).max() < 1e-6


def test_continue_trains_further(corpora, saved, tmp_path):
    _, _, b = corpora
    _, path = saved
    old = model_file.read_model(path)
    w2v.train_word2vec([b], tmp_path / "b.bin", options(), continue_from=path)
    vectors = load_vectors(tmp_path / "b.bin")
    moved = [np.abs(vectors[w] - row).max() for w, row in zip(old["words"],
                                                              old["matrices"]["input"])]
    assert np.median(moved) > 1e-3


def test_continue_takes_the_model_options_and_keeps_explicit_ones(corpora, saved, tmp_path):
    _, _, b = corpora
    _, path = saved
    out = tmp_path / "c.svmodel"
    # nothing said about --dim, --min-count: the model's 8 and 3; --window 2 given
    given = w2v.Word2VecOptions(window=2, epochs=1, threads=1, cache=False)
    w2v.train_word2vec([b], tmp_path / "c.txt", given, continue_from=path, save_model=out)
    stored = model_file.read_model(out)["options"]
    assert stored["dim"] == DIM and stored["min_count"] == 3
    assert stored["window"] == 2 and stored["epochs"] == 1


def test_continue_with_one_thread_is_reproducible(corpora, saved, tmp_path):
    _, _, b = corpora
    _, path = saved
    runs = []
    for k in range(2):
        out, model = tmp_path / f"r{k}.bin", tmp_path / f"r{k}.svmodel"
        w2v.train_word2vec([b], out, options(), continue_from=path, save_model=model)
        runs.append((out.read_bytes(), model.read_bytes()))
    assert runs[0] == runs[1]


def test_init_vectors_start_shared_words_from_the_pretrained_ones(corpora, tmp_path):
    _, a, _ = corpora
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(0, 40)] + ["absent", "nowhere"]
    matrix = rng.standard_normal((len(words), DIM)).astype(np.float32)
    pretrained = tmp_path / "pre.txt"
    save_vectors((words, matrix), pretrained)
    loaded = load_vectors(pretrained)
    vocab, vectors = w2v.train_word2vec([a], tmp_path / "i.bin", options(alpha=1e-9),
                                        init_vectors=pretrained)
    fresh = w2v.init_input_vectors(len(vocab.words), DIM, 7)[:, :DIM]
    for i, word in enumerate(vocab.words):
        expected = loaded[word] if word in loaded else fresh[i]
        np.testing.assert_allclose(vectors[i], expected, atol=1e-6, err_msg=word)
    assert sum(w in loaded for w in vocab.words) == 40


def test_init_vectors_logs_how_many_matched(corpora, tmp_path, caplog):
    _, a, _ = corpora
    pretrained = tmp_path / "pre.txt"
    save_vectors((["w0", "w1", "zzz"], np.ones((3, DIM), np.float32)), pretrained)
    with caplog.at_level(logging.INFO, logger="staticvec"):
        w2v.train_word2vec([a], tmp_path / "i.bin", options(), init_vectors=pretrained)
    assert any("--init-vectors: 2 of the" in r.getMessage() for r in caplog.records)


def test_huffman_paths_of_unsorted_counts_are_the_sorted_tree_per_word():
    counts = np.array([50, 40, 31, 20, 12, 7, 3, 2])       # distinct: no tie to break
    perm = np.random.default_rng(0).permutation(len(counts))
    ref_off, ref_codes, ref_points = w2v.huffman_tree(counts)
    off, codes, points = w2v.huffman_paths(counts[perm])
    for i, j in enumerate(perm):       # word i of the permuted order is word j of the sorted
        assert codes[off[i]:off[i + 1]].tolist() == ref_codes[ref_off[j]:ref_off[j + 1]].tolist()
        assert points[off[i]:off[i + 1]].tolist() == \
            ref_points[ref_off[j]:ref_off[j + 1]].tolist()


@pytest.mark.parametrize("cut", [0, 10, 30, 100, -1])
def test_truncated_model_files_are_format_errors(saved, tmp_path, cut):
    from staticvec.errors import FormatError

    _, path = saved
    raw = path.read_bytes()
    short = tmp_path / "short.svmodel"
    short.write_bytes(raw[:cut] if cut >= 0 else raw[:-1])
    with pytest.raises(FormatError):
        model_file.read_model(short)


def test_a_header_announcing_huge_sections_allocates_nothing(saved, tmp_path):
    """A header with a valid checksum that claims 10^12 words is refused on the file's
    length, before any array is made."""
    import zlib

    from staticvec.errors import FormatError

    _, path = saved
    raw = path.read_bytes()
    _, version, _, length = struct.unpack_from("<8sIIQ", raw, 0)
    header = json.loads(raw[24:24 + length])
    header["words"] = 10 ** 12
    header["sections"]["counts"].update(shape=[10 ** 12], bytes=8 * 10 ** 12)
    text = json.dumps(header).encode()
    bad = tmp_path / "huge.svmodel"
    bad.write_bytes(struct.pack("<8sIIQ", b"SVMODEL\x00", version, zlib.crc32(text), len(text))
                    + text + raw[24 + length:])
    with pytest.raises(FormatError, match="damaged staticvec model file"):
        model_file.read_model(bad)


def test_hs_weights_restart_when_the_tree_changes(corpora, tmp_path, caplog):
    _, a, b = corpora
    path = tmp_path / "hs.svmodel"
    w2v.train_word2vec([a], tmp_path / "hs.txt", options(hs=True, negative=0), save_model=path)
    again = tmp_path / "hs2.svmodel"
    with caplog.at_level(logging.WARNING, logger="staticvec"):
        w2v.train_word2vec([b], tmp_path / "hs2.txt", options(hs=True, negative=0, alpha=1e-9),
                           continue_from=path, save_model=again)
    assert any("another Huffman tree" in r.getMessage() for r in caplog.records)
    after = model_file.read_model(again)
    assert np.abs(after["matrices"]["output_hs"]).max() < 1e-6
    old = model_file.read_model(path)
    index = {w: j for j, w in enumerate(after["words"])}
    np.testing.assert_allclose(after["matrices"]["input"][[index[w] for w in old["words"]]],
                               old["matrices"]["input"], atol=1e-6)


# ---------------------------------------------------------------- fastText

def ft_options(**kw):
    from staticvec.train import fasttext as ft

    base = dict(dim=DIM, epochs=1, threads=1, seed=7, min_count=3, bucket=500, cache=False)
    base.update(kw)
    return ft.FastTextOptions(**base)


@pytest.fixture(scope="module")
def ft_saved(corpora):
    from staticvec.train import fasttext as ft

    folder, a, _ = corpora
    ft.train_fasttext([a], folder / "fa", ft_options())
    return folder / "fa.bin"


def test_fasttext_continue_keeps_words_buckets_and_outputs(corpora, ft_saved, tmp_path):
    from staticvec.io import fasttext_bin
    from staticvec.train import fasttext as ft

    _, _, b = corpora
    old = fasttext_bin.read_model(ft_saved)
    n, nb = len(old["words"]), 500
    ft.train_fasttext([b], tmp_path / "fb", ft_options(alpha=1e-9, bucket=77, minn=2),
                      continue_from=ft_saved, explicit={"alpha", "epochs"})
    new = fasttext_bin.read_model(tmp_path / "fb.bin")
    # the model's options win where none was given: its 500 buckets and minn 3
    assert new["args"]["bucket"] == nb and new["args"]["minn"] == 3
    words, counts, order = merged_reference(old["words"], old["counts"].tolist(), b.read_text())
    assert new["words"] == [words[t] for t in order]
    assert new["counts"].tolist() == [counts[t] for t in order]
    assert new["ntokens"] == sum(counts)
    m = len(words)
    np.testing.assert_allclose(new["input"][m:], old["input"][n:], atol=1e-6)   # buckets
    fresh = ft.init_input(m + nb, DIM, 7)
    for j, t in enumerate(order):
        if t < n:
            np.testing.assert_allclose(new["input"][j], old["input"][t], atol=1e-6)
            np.testing.assert_allclose(new["output"][j], old["output"][t], atol=1e-6)
        else:
            np.testing.assert_allclose(new["input"][j], fresh[t], atol=1e-6)
            assert np.abs(new["output"][j]).max() < 1e-6
    # STEM.vec: the composed vectors of the words in their new order
    from staticvec.model.subwords import compose, subword_csr

    composed = compose(np.asarray(new["input"]), *subword_csr(new["words"], 3, 6, nb))
    np.testing.assert_allclose(load_vectors(tmp_path / "fb.vec").matrix, composed, atol=1e-5)


def test_facebook_fasttext_models_can_be_continued(corpora, tmp_path):
    fasttext = pytest.importorskip("fasttext")
    from staticvec.io import fasttext_bin
    from staticvec.train import fasttext as ft

    _, a, b = corpora
    model = fasttext.train_unsupervised(str(a), model="cbow", dim=DIM, epoch=1, minCount=3,
                                        bucket=300, thread=1, verbose=0)
    source = tmp_path / "facebook.bin"
    model.save_model(str(source))
    old = fasttext_bin.read_model(source)
    ft.train_fasttext([b], tmp_path / "more", ft_options(alpha=1e-9), continue_from=source,
                      explicit={"alpha"})
    new = fasttext_bin.read_model(tmp_path / "more.bin")
    n = len(old["words"])
    assert set(old["words"]) < set(new["words"]) and "</s>" in new["words"]
    assert new["args"]["model"] == fasttext_bin.MODEL["cbow"] and new["args"]["bucket"] == 300
    index = {w: j for j, w in enumerate(new["words"])}
    rows = [index[w] for w in old["words"]]
    np.testing.assert_allclose(new["input"][rows], old["input"][:n], atol=1e-6)
    reloaded = fasttext.load_model(str(tmp_path / "more.bin"))
    assert len(reloaded.words) == len(new["words"]) > n


def test_fasttext_init_vectors_fill_the_words_own_rows(corpora, tmp_path):
    from staticvec.io import fasttext_bin
    from staticvec.train import fasttext as ft

    _, a, _ = corpora
    words = [f"w{i}" for i in range(30)] + ["absent"]
    matrix = np.random.default_rng(4).standard_normal((len(words), DIM)).astype(np.float32)
    pretrained = tmp_path / "pre.bin"
    save_vectors((words, matrix), pretrained)
    ft.train_fasttext([a], tmp_path / "fi", ft_options(alpha=1e-9), init_vectors=pretrained)
    out = fasttext_bin.read_model(tmp_path / "fi.bin")
    n = len(out["words"])
    fresh = ft.init_input(n + 500, DIM, 7)
    for i, word in enumerate(out["words"]):
        expected = matrix[words.index(word)] if word in words else fresh[i]
        np.testing.assert_allclose(out["input"][i], expected, atol=1e-6, err_msg=word)
    np.testing.assert_allclose(out["input"][n:], fresh[n:], atol=1e-6)


def test_the_library_takes_the_keywords_given_as_the_explicit_options(corpora, saved, tmp_path):
    import staticvec
    from staticvec.errors import BadOptionError

    _, _, b = corpora
    _, path = saved
    out = tmp_path / "api.svmodel"
    vectors = staticvec.train_skipgram(b, continue_from=path, save_model=out, window=2,
                                       threads=1, no_cache=True)
    stored = model_file.read_model(out)["options"]
    assert vectors.dim == DIM and stored["window"] == 2 and stored["epochs"] == 2
    with pytest.raises(BadOptionError, match="--dim 100 conflicts with --continue"):
        staticvec.train_skipgram(b, continue_from=path, dim=100, no_cache=True)
