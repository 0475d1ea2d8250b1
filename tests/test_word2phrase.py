"""Phrase detection (``staticvec phrases``, ``--phrases``): word2phrase's output token for
token, checked against a pure-Python port of word2phrase's algorithm (always) and the real
word2phrase C binary (when installed), gensim's npmi scorer, the phrase table, and joining
while training (vocabulary, encoding and the cache key)."""
import gzip
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from staticvec.text import corpus as corpus_mod
from staticvec.text import phrases
from staticvec.text.encoded import encode_corpus
from staticvec.text.prepare import prepare

WORD2PHRASE = shutil.which("word2phrase", path=os.path.dirname(sys.executable)) or \
    shutil.which("word2phrase")
PAIRS = [("new", "york"), ("san", "francisco"), ("machine", "learning"), ("hot", "dog"),
         ("x1", "y1")]


def generated(lines=800, seed=0, single_line=False):
    """Zipfian words with planted pairs (and their halves alone now and then); some empty
    lines; ends with a newline."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(300)]
    weights = [1.0 / (i + 1) for i in range(300)]
    out = []
    for _ in range(lines):
        words = []
        for _ in range(rng.randint(0, 25)):
            r = rng.random()
            if r < 0.06:
                words.extend(rng.choice(PAIRS))
            elif r < 0.075:
                words.append(rng.choice(["new", "san", "york", "dog", "hot"]))
            else:
                words.append(rng.choices(vocab, weights)[0])
        out.append(" ".join(words))
    return (" ".join(out) if single_line else "\n".join(out)) + "\n"


# ---------------------------------------------------------------- the reference
def reference(text, min_count=5, threshold=100.0):
    """word2phrase's two passes over a text (which ends with a newline), step by step as its
    C source does them: one table of words and ``a_b`` pairs (pairs run across line ends),
    entries under min_count forgotten, then pa/pb/li and the float arithmetic of TrainModel.
    Returns the output as a list of lines, each a list of tokens."""
    stream = []
    for line in text[:-1].split("\n"):
        stream.extend(line.split(" ") if line.strip() else [])
        stream.append("</s>")
    stream = [t for t in stream if t != ""]
    table, train_words, last = Counter(), 0, None
    for tok in stream:
        if tok == "</s>":
            continue
        train_words += 1
        table[tok] += 1
        if last is not None:
            table[f"{last}_{tok}"] += 1
        last = tok
    kept = {k: c for k, c in table.items() if c >= min_count}
    f32 = np.float32
    lines, pa, pb, li, last_word = [[]], 0, 0, None, ""
    for tok in stream:
        if tok == "</s>":
            lines.append([])
            last_word = tok
            continue
        oov = tok not in kept
        if not oov:
            pb = kept[tok]
        if li is None:
            oov = True
        li = tok if tok in kept else None
        bigram = f"{last_word}_{tok}"
        pab = kept.get(bigram)
        oov = oov or pab is None or pa < min_count or pb < min_count
        score = f32(0) if oov else \
            f32(pab - min_count) / f32(pa) / f32(pb) * f32(train_words)
        if score > f32(threshold):
            lines[-1][-1] += "_" + tok
            pb = 0
        else:
            lines[-1].append(tok)
        pa = pb
        last_word = tok
    return lines[:-1]


def tokens_of(path):
    with open(path, encoding="utf-8") as handle:
        return [line.split() for line in handle]


def run_phrases(tmp_path, text, *options, name="out.txt"):
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / name
    result = run_cli("phrases", src, "-o", out, "-q", *options)
    assert result.returncode == 0, result.stderr
    return out


# ---------------------------------------------------------------- word2phrase's output
@pytest.mark.parametrize("min_count,threshold", [(5, 100), (5, 10), (2, 3), (1, 0.5)])
def test_equals_the_reference(tmp_path, min_count, threshold):
    text = generated()
    ours = phrases_text(tmp_path, text, min_count=min_count, threshold=threshold)
    want = reference(text, min_count, threshold)
    assert ours == want
    if threshold < 50:  # the case is not vacuous: phrases were joined
        assert sum("_" in t for line in want for t in line) > 50


def phrases_text(tmp_path, text, passes=1, **options):
    """The library's output (tokens per line) for ``text``."""
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "joined.txt"
    phrases.find_phrases([str(src)], str(out), passes=passes, **options)
    return tokens_of(out)


def test_chunk_ends_change_nothing(tmp_path, monkeypatch):
    """Read in 7-byte chunks, words, pairs and the joining state cross many chunk ends (and
    the two counting threads each see every other chunk): the same output."""
    text = generated(300, seed=3)
    whole = phrases_text(tmp_path, text, min_count=2, threshold=3, passes=2)
    assert whole == reference_passes(text, 2, 2, 3)
    real = corpus_mod.iter_chunks
    monkeypatch.setattr(corpus_mod, "iter_chunks",
                        lambda paths, errors="strict", tee=None: real(paths, errors, 7, tee))
    assert phrases_text(tmp_path, text, min_count=2, threshold=3, passes=2) == whole


def reference_passes(text, passes, min_count, threshold):
    for _ in range(passes):
        lines = reference(text, min_count, threshold)
        text = "".join(" ".join(line) + "\n" for line in lines)
    return lines


def test_two_passes_build_longer_phrases(tmp_path):
    text = generated(seed=5)
    ours = phrases_text(tmp_path, text, min_count=1, threshold=0.5, passes=2)
    assert ours == reference_passes(text, 2, 1, 0.5)
    assert any(t.count("_") >= 2 for line in ours for t in line)


@pytest.mark.skipif(WORD2PHRASE is None, reason="word2phrase C is not installed")
def test_equals_word2phrase_c(tmp_path):
    """One run (word2phrase touches 2 GB of hash table at start-up: seconds per run); the
    other settings and the second pass are checked against the reference above."""
    text = generated(seed=1)
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    # (word2phrase keeps file names in 60 bytes: short names, in its working folder)
    subprocess.run([WORD2PHRASE, "-train", "c.txt", "-output", "theirs.txt", "-min-count", "3",
                    "-threshold", "8", "-debug", "0"], check=True, stdout=subprocess.DEVNULL,
                   cwd=tmp_path)
    ours = run_phrases(tmp_path, text, "--min-count", "3", "--threshold", "8")
    theirs = tokens_of(tmp_path / "theirs.txt")
    assert tokens_of(ours) == theirs
    assert sum("_" in t for line in theirs for t in line) > 50


def test_npmi_equals_gensim_on_one_sentence(tmp_path):
    """On one line (gensim counts pairs within sentences, word2phrase across them) the
    npmi scorer joins what gensim's Phrases + FrozenPhrases join."""
    gensim_phrases = pytest.importorskip("gensim.models.phrases")
    text = generated(400, seed=2, single_line=True)
    sentence = text.split()
    for threshold in (0.3, 0.6):
        model = gensim_phrases.Phrases([sentence], min_count=3, threshold=threshold,
                                       scoring="npmi", delimiter="_")
        want = gensim_phrases.FrozenPhrases(model)[sentence]
        ours = phrases_text(tmp_path, text, min_count=3, threshold=threshold, scorer="npmi")
        assert ours == [want]
        assert any("_" in t for t in want)


# ---------------------------------------------------------------- the phrase table
def test_phrase_table_joins_as_the_pass_did(tmp_path):
    text = generated(seed=4)
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    out, table_path = tmp_path / "joined.txt", tmp_path / "phrases.txt"
    summary = phrases.find_phrases([str(src)], str(out), min_count=2, threshold=3, passes=2,
                                   save_phrases=str(table_path))
    table = phrases.PhraseTable.load(str(table_path))
    assert len(table) == summary["phrases"] > 0 and len(table.passes) == 2
    lines = table_path.read_text().splitlines()
    assert lines[0] == "# pass 1" and "# pass 2" in lines
    # every phrase line: phrase score count, scores best first within a pass
    first = [line.split() for line in lines[1:lines.index("# pass 2")]]
    scores = [float(fields[1]) for fields in first]
    assert scores == sorted(scores, reverse=True)
    # the count column is the pair's count in the text the pass read
    words = text.split()  # pairs run across line ends, as word2phrase counts them
    assert dict((f[0], int(f[2])) for f in first)["new_york"] == \
        sum(pair == ("new", "york") for pair in zip(words, words[1:]))
    joined = b"".join(table.join_chunks(corpus_mod.iter_chunks([str(src)])))
    assert joined == out.read_bytes()
    # saved and read again: the same phrases, the same digest
    again = tmp_path / "again.txt"
    table.save(str(again))
    assert phrases.PhraseTable.load(str(again)).digest == table.digest


def test_trainer_joins_phrases_in_counts_and_encoding(tmp_path):
    text = generated(seed=6)
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    out, table = tmp_path / "joined.txt", tmp_path / "phrases.txt"
    phrases.find_phrases([str(src)], str(out), min_count=3, threshold=5,
                         save_phrases=str(table))
    vocab, encoded = prepare([str(src)], min_count=3, phrases=str(table), cache=False)
    ref_vocab, ref_encoded = prepare([str(out)], min_count=3, cache=False)
    assert vocab.words == ref_vocab.words and "new_york" in vocab
    assert list(vocab.counts) == list(ref_vocab.counts)
    assert np.array_equal(encoded.ids, ref_encoded.ids)
    assert np.array_equal(encoded.sentence_ends, ref_encoded.sentence_ends)


def test_cache_keys_on_the_phrase_table_content(tmp_path):
    text = generated(seed=7)
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    table = tmp_path / "phrases.txt"
    table.write_text("new_york 10 5\nhot_dog 9 5\n")
    cache = tmp_path / "cache"
    vocab_a, enc_a = prepare([str(src)], min_count=1, phrases=str(table), cache=str(cache))
    assert "new_york" in vocab_a and "hot_dog" in vocab_a
    entries = set(os.listdir(cache))
    # the same size and mtime, another phrase: never the stale encoding or counts
    stat = table.stat()
    table.write_text("new_york 10 5\nhot_cat 9 5\n")
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    vocab_b, enc_b = prepare([str(src)], min_count=1, phrases=str(table), cache=str(cache))
    assert "hot_dog" not in vocab_b and "hot" in vocab_b
    assert set(os.listdir(cache)) > entries  # new entries, not the old ones
    fresh_vocab, fresh = prepare([str(src)], min_count=1, phrases=str(table), cache=False)
    assert vocab_b.words == fresh_vocab.words
    assert np.array_equal(enc_b.ids, fresh.ids)
    # the same table again: from the cache
    vocab_c, enc_c = prepare([str(src)], min_count=1, phrases=str(table), cache=str(cache))
    assert enc_c.source is not None and np.array_equal(enc_c.ids, fresh.ids)
    # no table: the plain encoding, its own entry
    plain = encode_corpus([str(src)], vocab_b, cache=False)
    assert plain.n_tokens > enc_b.n_tokens


# ---------------------------------------------------------------- the command
def test_stdin_compressed_output_and_summary(tmp_path):
    text = generated(200, seed=8)
    out = tmp_path / "joined.txt.gz"
    table = tmp_path / "p.txt"
    result = run_cli("phrases", "-", "-o", out, "--threshold", "5", "--min-count", "3",
                     "--save-phrases", table, stdin=text)
    assert result.returncode == 0, result.stderr
    assert "phrases found" in result.stderr.splitlines()[-1]
    with gzip.open(out, "rt", encoding="utf-8") as handle:
        got = [line.split() for line in handle]
    assert got == reference(text, 3, 5)
    assert table.read_text().split("\n")[0].split()[0].count("_") == 1
    # a compressed input, and stdout
    src = tmp_path / "c.txt.xz"
    import lzma
    src.write_bytes(lzma.compress(text.encode()))
    result = run_cli("phrases", src, "-o", "-", "-q", "--threshold", "5", "--min-count", "3")
    assert result.returncode == 0 and [line.split() for line in
                                       result.stdout.splitlines()] == got


def test_pruning_bounds_the_table(tmp_path):
    text = generated(300, seed=9)
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    summary = phrases.find_phrases([str(src)], str(tmp_path / "o.txt"), min_count=2,
                                   threshold=3, max_vocab_words=2000)
    assert summary["passes"][0]["pruned_below"] > 0
    assert summary["passes"][0]["entries"] <= 2000
    joined = (tmp_path / "o.txt").read_text()
    assert "_" in joined and joined.replace("_", " ").split() == text.split()


def test_train_skipgram_with_phrases(tmp_path):
    text = generated(seed=10)
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    table = tmp_path / "phrases.txt"
    table.write_text("new_york 10 5\n")
    vectors = tmp_path / "v.txt"
    result = run_cli("train-skipgram", src, "--phrases", table, "-o", vectors, "--dim", "8",
                     "--epochs", "1", "--threads", "1", "--min-count", "3", "-q")
    assert result.returncode == 0, result.stderr
    words = [line.split(" ", 1)[0] for line in vectors.read_text().splitlines()[1:]]
    assert "new_york" in words


def test_help_names_the_options():
    result = run_cli("phrases", "--help")
    for option in ("--threshold", "--min-count", "--passes", "--scorer", "--save-phrases",
                   "--max-vocab-words", "CORPUS..."):
        assert option in result.stdout
    assert "--phrases" in run_cli("train-cbow", "--help").stdout


def test_paths_are_strings_or_paths(tmp_path):
    out = run_phrases(tmp_path, "a b\n", "--min-count", "1")
    assert Path(out).read_text() == "a b\n"
