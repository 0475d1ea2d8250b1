import os

import numpy as np
import pytest

from staticvec import corpus, encode
from staticvec.vocab import build_vocab

from conftest import MINI_CORPUS


def reference_encoding(path, vocab, max_sentence_length):
    ids, ends = [], []
    for sentence in corpus.iter_sentences([str(path)], max_sentence_length=max_sentence_length):
        known = [vocab.index[w] for w in sentence if w in vocab.index]
        if known:
            ids += known
            ends.append(len(ids))
    return np.array(ids, dtype=np.uint32), np.array(ends, dtype=np.uint64)


@pytest.mark.parametrize("max_len", [10000, 37])
def test_encoding_equals_python_reference(max_len):
    vocab, encoded = encode.prepare([str(MINI_CORPUS)], max_sentence_length=max_len, quiet=True)
    ids, ends = reference_encoding(MINI_CORPUS, vocab, max_len)
    assert np.array_equal(encoded.ids, ids)
    assert np.array_equal(encoded.sentence_ends, ends)
    assert encoded.raw_tokens == 1_000_064
    assert (encoded.splits > 0) == (max_len == 37)


def test_shares_cover_every_token_once_at_sentence_ends():
    _, encoded = encode.prepare([str(MINI_CORPUS)], quiet=True)
    ends = set(int(e) for e in encoded.sentence_ends)
    for n in (1, 2, 3, 7):
        shares = encoded.shares(n)
        assert shares[0][0] == 0 and shares[-1][1] == encoded.n_tokens
        assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))
        assert all(start in ends or start == 0 for start, _ in shares)
        sizes = [e - s for s, e in shares]
        assert max(sizes) - min(sizes) < 2 * 1000  # lines have at most 1000 words


def test_cache_is_reused_and_invalidated(tmp_path, capsys):
    path = tmp_path / "c.txt"
    path.write_text("a b c a b a\nb a\n" * 20)
    vocab, first = encode.prepare([str(path)], min_count=1)
    assert first.source is not None and os.path.exists(first.source + ".ids.u32")
    _, second = encode.prepare([str(path)], min_count=1)
    assert "from cache" in capsys.readouterr().err
    assert second.source == first.source and np.array_equal(second.ids, first.ids)
    path.write_text("c c c\n")
    os.utime(path, ns=(1, 1))
    _, third = encode.prepare([str(path)], min_count=1)
    assert third.source != first.source and third.n_tokens == 3
    assert encode.clear_cache() >= 6
    _, fourth = encode.prepare([str(path)], min_count=1, cache=False)
    assert fourth.source is None and fourth.n_tokens == 3
