from collections import Counter

import numpy as np
import pytest

from staticvec.text import corpus
from staticvec.errors import FormatError, InputError
from staticvec.text.vocab import Vocab, build_vocab, count_words

from conftest import MINI_CORPUS

TEXT = "the cat sat on the mat\nthe dog sat\n  a cat\n"


def test_counts_against_hand_count(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(TEXT)
    vocab = build_vocab([str(path)], min_count=1)
    # hand count: the 3, cat 2, sat 2, a 1, dog 1, mat 1, on 1 (ties by word)
    assert vocab.words == ["the", "cat", "sat", "a", "dog", "mat", "on"]
    assert vocab.counts.tolist() == [3, 2, 2, 1, 1, 1, 1]
    assert vocab.total_tokens == 11 and vocab.total_lines == 3 and vocab.distinct == 7
    assert build_vocab([str(path)], min_count=2).words == ["the", "cat", "sat"]
    assert build_vocab([str(path)], min_count=1, max_size=2).words == ["the", "cat"]


def test_counts_on_real_text_equal_python_counter_with_one_and_two_threads():
    reference = Counter(w for s in corpus.iter_sentences([str(MINI_CORPUS)]) for w in s)
    for threads in (1, 2):
        counted, stats = count_words([str(MINI_CORPUS)], threads=threads)
        assert counted == dict(reference)
        assert stats["total_tokens"] == sum(reference.values()) == 1_000_064


def test_file_format_and_round_trip(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(TEXT)
    vocab = build_vocab([str(path)], min_count=1)
    vocab.save(tmp_path / "vocab.txt")
    # word2vec C's -save-vocab layout: </s> with the number of lines first
    assert (tmp_path / "vocab.txt").read_text() == \
        "</s> 3\nthe 3\ncat 2\nsat 2\na 1\ndog 1\nmat 1\non 1\n"
    again = Vocab.load(tmp_path / "vocab.txt")
    assert again.words == vocab.words and np.array_equal(again.counts, vocab.counts)
    assert Vocab.load(tmp_path / "vocab.txt", min_count=2).words == ["the", "cat", "sat"]


def test_pruning_while_counting_bounds_the_table(tmp_path):
    path = tmp_path / "c.txt"
    rare = " ".join(f"r{i}" for i in range(2000))
    path.write_text(("common " * 50 + rare + "\n") * 3)
    counted, stats = count_words([str(path)], max_vocab_words=100, threads=1)
    assert len(counted) <= 100
    assert counted["common"] == 150  # never pruned, so its count is exact
    assert stats["pruned_below"] >= 1
    vocab = Vocab.from_counts(counted, min_count=1, **stats)
    assert "pruned while counting" in vocab.summary()


def test_damaged_vocab_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("the 3\ncat x\n")
    with pytest.raises(FormatError) as err:
        Vocab.load(bad)
    assert str(err.value) == f"{bad}: line 2: expected 'word count', got 'cat x'"
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(FormatError, match="empty vocabulary file"):
        Vocab.load(empty)


def test_empty_corpus_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n \n")
    with pytest.raises(InputError, match="no words found"):
        build_vocab([str(path)])
