"""What every vectors reader hands back, and the checks it runs on the rows it read.

Readers return plain data (``VectorRows``: words, a float32 matrix, the row norms they
computed on the way); ``dispatch.py`` alone builds the model classes from it.
"""
from typing import List, NamedTuple, Optional

import numpy as np

from staticvec.errors import FormatError


class VectorRows(NamedTuple):
    """A vectors file as read: words (possibly repeated), matrix, norms, and ``distinct``:
    True when the reader has proven that no word repeats (so no index is needed yet)."""
    words: List[str]
    matrix: np.ndarray
    norms: Optional[np.ndarray]
    distinct: bool = False


def check_finite(norms, matrix, label, words, raw=None):
    """A NaN/inf value would turn every similarity with its row into NaN: refuse the file,
    naming the row and its word. (Finite values so large that the float32 norm overflows
    are kept: such rows are never answers, see ``similarity.never_zero_rows``.)
    ``words``: the rows' ``\\n``-joined word bytes, or a list of words; ``raw(row, col)``:
    the value as written (text files)."""
    ok = np.isfinite(norms)
    if ok.all():
        return
    for k in np.flatnonzero(~ok).tolist():
        row = matrix[k]
        bad = np.flatnonzero(~np.isfinite(row))
        if not len(bad):
            continue
        word = (bytes(words).split(b"\n") if isinstance(words, (bytes, bytearray)) else words)[k]
        if isinstance(word, (bytes, bytearray)):
            word = word.decode("utf-8", "replace")
        written = raw(k, int(bad[0])) if raw is not None else None
        if written is not None and np.isfinite(float(written)):
            what = f"a value out of float32 range ({written.decode('ascii', 'replace')})"
        else:
            what = f"a non-finite value ({float(row[bad[0]])})"
        raise FormatError(f"{label(k, word)} has {what}")


def decode_words(blob, lengths, starts, path, encoding_errors, describe=None):
    """Decode ``\\n``-joined words; on strict failure name the file byte offset."""
    try:
        text = blob.decode("utf-8", encoding_errors)
    except UnicodeDecodeError as exc:
        seps = np.cumsum(lengths + 1) - 1  # blob offset of the "\n" after each word
        i = int(np.searchsorted(seps, exc.start, side="right"))
        word_offset = exc.start - (int(seps[i - 1]) + 1 if i > 0 else 0)
        where = describe(i) if describe else f"word {i + 1}"
        raise FormatError(f"{path}: invalid UTF-8 in {where} at byte offset "
                          f"{int(starts[i]) + word_offset} (try --encoding-errors replace "
                          f"or ignore)") from None
    words = text.split("\n")
    if len(words) != len(lengths):  # a word with a newline inside: decode one by one
        words, pos = [], 0
        for length in lengths.tolist():
            words.append(bytes(blob[pos:pos + length]).decode("utf-8", encoding_errors))
            pos += length + 1
    return words
