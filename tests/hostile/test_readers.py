"""Hostile inputs to every reader: vector files (text, binary, compressed, fastText .bin),
vocab files, benchmark files, WEAT/probe JSON. Each case: one `staticvec: error:` line
naming the file and what is wrong, the documented exit code, no traceback, inputs
unchanged and no stray file; the huge-header cases also fast and in bounded memory."""
import gzip
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import REPO, assert_fails_cleanly, run_cli, snapshot

WORDS = ["king", "queen", "man", "woman"]
ROWS = np.array([[1, 2, 3], [1, 2, 4], [1, 0, 0], [0, 1, 0]], dtype=np.float32)


def _text(words=WORDS, rows=ROWS, header=None):
    head = header if header is not None else f"{len(words)} {rows.shape[1]}"
    body = "".join(f"{w} {' '.join(repr(float(v)) for v in r)}\n" for w, r in zip(words, rows))
    return (head + "\n" + body).encode() if head else body.encode()


def _binary(words=WORDS, rows=ROWS, header=None):
    head = header if header is not None else f"{len(words)} {rows.shape[1]}"
    return head.encode() + b"\n" + b"".join(
        w.encode() + b" " + np.asarray(r, "<f4").tobytes() + b"\n" for w, r in zip(words, rows))


def _fails(tmp_path, name, data, args, code, pattern):
    """Write ``name`` = ``data`` into ``tmp_path``, run ``staticvec ARGS`` there (``{f}`` in
    ``args`` is the file's name), assert the clean failure and that nothing changed."""
    (tmp_path / name).write_bytes(data)
    before = snapshot(tmp_path)
    start = time.monotonic()
    result = run_cli(*[a.format(f=name) for a in args], cwd=tmp_path)
    elapsed = time.monotonic() - start
    line = assert_fails_cleanly(result, code, pattern=pattern)
    assert result.stdout == ""
    assert snapshot(tmp_path) == before
    return line, elapsed


NEAREST = ["nearest", "king", "-m", "{f}"]


# ---------------------------------------------------------------- headers that lie
HUGE = [
    ("999999999 999999999", r"bad header '999999999 999999999': one vector of 999,999,999 values "
                            r"cannot fit in the \d+ bytes after it"),
    ("1 999999999", r"bad header '1 999999999': one vector of 999,999,999 values cannot fit in "
                    r"the \d+ bytes after it"),
    ("999999999 3", r"truncated: the header says 999,999,999 words but the file (has 4|ends "
                    r"after 4 \(at byte offset \d+\))"),
]


@pytest.mark.parametrize("header,message,kind", [
    (header, message, kind) for header, message in HUGE for kind in ("text", "binary")] + [
    (*HUGE[0], "text.gz"), (*HUGE[0], "binary.gz")])
def test_huge_header_is_refused_fast(tmp_path, header, message, kind):
    data = (_text if kind.startswith("text") else _binary)(header=header)
    name = "v.txt" if kind.startswith("text") else "v.bin"
    if kind.endswith(".gz"):
        data, name = gzip.compress(data), name + ".gz"
    _, elapsed = _fails(tmp_path, name, data, NEAREST, 1, rf"staticvec: error: {name}: {message}")
    assert elapsed < 15.0  # a refusal, not a read of all the header claims (loose: busy machine)


def test_huge_headers_load_in_bounded_memory(tmp_path):
    """In a process limited to 1 GiB of address space every reader gives its clean error
    (a reader that sized a buffer from the header would raise MemoryError instead)."""
    files = {}
    for header, _ in HUGE:
        for kind, make in (("txt", _text), ("bin", _binary)):
            name = f"{header.replace(' ', '_')}.{kind}"
            (tmp_path / name).write_bytes(make(header=header))
            files[name] = header
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        sys.path.insert(0, {str(REPO)!r})
        from staticvec.errors import FormatError
        from staticvec.io.dispatch import load_vectors
        from staticvec.io.stream import stream_queries
        for name in {sorted(files)!r}:
            for call in (load_vectors, lambda p: stream_queries(p, [(["a"], [])])):
                try:
                    print(name, call(name))
                except FormatError:
                    print(name, "FormatError")
    """)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    # stream_queries declines text files (None: load them instead)
    expected = [f"{name} {outcome}" for name in sorted(files)
                for outcome in ("FormatError", "None" if name.endswith(".txt") else "FormatError")]
    assert out.stdout.splitlines() == expected
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("header,message", [
    ("-3 3", "bad header '-3 3': the word count and dimension must be positive integers"),
    ("3 -3", "bad header '3 -3': the word count and dimension must be positive integers"),
    ("abc 3", r"bad header 'abc 3' \(expected 'WORDS DIM', e.g. '71290 100'; line 2 has 3 values\)"),
    ("4 0", r"dimension 0 in the header \('4 0'\)"),
    ("0 3", "the header says the file holds 0 words"),
])
def test_bad_header_counts(tmp_path, header, message):
    _fails(tmp_path, "v.txt", _text(header=header), NEAREST, 1,
           rf"staticvec: error: v.txt: {message}")


# ---------------------------------------------------------------- truncated, mis-sized
def test_binary_fewer_rows_than_header(tmp_path):
    data = _binary(header="6 3")
    _fails(tmp_path, "v.bin", data, NEAREST, 1,
           rf"staticvec: error: v.bin: truncated: the header says 6 words but the file ends after "
           rf"4 \(at byte offset {len(data)}\)")


def test_binary_short_last_row_names_word_and_offset(tmp_path):
    data = _binary()
    start = data.index(b"woman ")
    _fails(tmp_path, "v.bin", data[:-5], NEAREST, 1,
           rf"staticvec: error: v.bin: truncated: the header says 4 words but the file ends in "
           rf"word 4 \('woman'\), which has 2 of its 3 floats \(fewer floats than the dimension; "
           rf"the row starts at byte offset {start}\)")


def test_binary_extra_bytes_are_an_error(tmp_path):
    data = _binary(header="3 3")
    at = data.index(b"woman ")
    _fails(tmp_path, "v.bin", data, NEAREST, 1,
           rf"staticvec: error: v.bin: {len(data) - at} unexpected bytes at byte offset {at}, "
           rf"after the 3 words the header announces \(the header or the file is damaged\)")


def test_text_fewer_rows_short_row_extra_rows(tmp_path):
    _fails(tmp_path, "a.txt", _text(header="6 3"), NEAREST, 1,
           "staticvec: error: a.txt: truncated: the header says 6 words but the file has 4")
    _fails(tmp_path, "b.txt", _text()[:-6] + b"\n", NEAREST, 1,
           r"staticvec: error: b.txt: line 5: 'woman' has 2 values, expected 3 \(fewer floats "
           r"than the dimension\)")
    _fails(tmp_path, "c.txt", _text(header="3 3"), NEAREST, 1,
           r"staticvec: error: c.txt: line 5: more vectors than the 3 the header announces "
           r"\(the header or the file is damaged\)")


# ---------------------------------------------------------------- NaN / inf
@pytest.mark.parametrize("value,shown", [("nan", "nan"), ("inf", "inf"), ("-inf", "-inf")])
def test_text_non_finite_names_line_and_word(tmp_path, value, shown):
    data = _text().replace(b"man 1.0", f"man {value}".encode())
    _fails(tmp_path, "vecs.txt", data, NEAREST, 1,
           rf"staticvec: error: vecs.txt line 4: word 'man' has a non-finite value \({shown}\)")


def test_text_value_beyond_float32_names_it(tmp_path):
    data = _text().replace(b"man 1.0", b"man 1e40")
    _fails(tmp_path, "vecs.txt", data, NEAREST, 1,
           r"staticvec: error: vecs.txt line 4: word 'man' has a value out of float32 range \(1e40\)")


@pytest.mark.parametrize("compressed", [False, True])
def test_binary_non_finite_names_word_index(tmp_path, compressed):
    rows = ROWS.copy()
    rows[2, 1] = np.nan
    data, name = _binary(rows=rows), "vecs.bin"
    if compressed:
        data, name = gzip.compress(data), "vecs.bin.gz"
    _fails(tmp_path, name, data, NEAREST, 1,
           rf"staticvec: error: {name} word 3 \('man'\) has a non-finite value \(nan\)")


def test_damaged_deflate_data_is_a_clean_error(tmp_path):
    """zlib.error (not an OSError) from a damaged .gz body: found by fuzzing."""
    data = bytearray(gzip.compress(_text(), mtime=0))
    data[10] ^= 1  # the first byte of the deflate stream, after the 10-byte gzip header
    _fails(tmp_path, "v.txt.gz", bytes(data), NEAREST, 1,
           r"staticvec: error: v.txt.gz: damaged .gz file \(Error -3 while decompressing data: "
           r"invalid stored block lengths\)")


def test_streamed_query_refuses_non_finite_too(tmp_path):
    rows = ROWS.copy()
    rows[3, 0] = np.inf
    (tmp_path / "v.bin").write_bytes(_binary(rows=rows))
    result = run_cli("nearest", "king", "-m", "v.bin", cwd=tmp_path,
                     env={"STATICVEC_STREAM_MIN_BYTES": "1"})
    assert_fails_cleanly(result, 1, "v.bin word 4 ('woman') has a non-finite value (inf)")


# ---------------------------------------------------------------- --format that lies
def _fasttext_model(path, maxn=6, minn=3, bucket=20):
    from staticvec.io.fasttext_bin import save_model

    rng = np.random.default_rng(0)
    save_model(path, WORDS, [5, 4, 3, 2],
               rng.standard_normal((len(WORDS) + bucket, 5)).astype(np.float32),
               rng.standard_normal((len(WORDS), 5)).astype(np.float32),
               minn=minn, maxn=maxn, bucket=bucket)
    return path.read_bytes()


@pytest.mark.parametrize("name,fmt,message", [
    ("vecs.txt", "binary", "vecs.txt is a word2vec text file, not binary (drop --format or use "
                           "--format text)"),
    ("vecs.bin", "text", "vecs.bin is a word2vec binary file, not text (drop --format or use "
                         "--format binary)"),
    ("vecs.txt", "fasttext", "vecs.txt is a word2vec text file, not a fastText .bin model (drop "
                             "--format or use --format text)"),
    ("vecs.bin", "fasttext", "vecs.bin is a word2vec binary file, not a fastText .bin model (drop "
                             "--format or use --format binary)"),
    ("glove.txt", "binary", "glove.txt is a text vectors file without a header (GloVe style), not "
                            "binary (drop --format or use --format text)"),
    ("model.bin", "binary", "model.bin is a fastText .bin model, not word2vec binary (drop "
                            "--format or use --format fasttext)"),
    ("model.bin", "text", "model.bin is a fastText .bin model, not text (drop --format or use "
                          "--format fasttext)"),
])
def test_forced_format_that_contradicts_the_file(tmp_path, name, fmt, message):
    data = {"vecs.txt": _text(), "vecs.bin": _binary(), "glove.txt": _text(header="")}.get(name)
    if data is None:
        data = _fasttext_model(tmp_path / name)
    _fails(tmp_path, name, data, NEAREST + ["--format", fmt], 1,
           "staticvec: error: " + message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\."))


# ---------------------------------------------------------------- fastText .bin damage
_ARGS_AT, _DICT_AT = 8, 8 + 12 * 4 + 8


def _patched(data, fmt, offset, *values):
    data = bytearray(data)
    struct.pack_into(fmt, data, offset, *values)
    return bytes(data)


@pytest.mark.parametrize("case,message", [
    ("dim", r"damaged fastText model \(dim 999,999,999 does not fit in a \d+-byte file\)"),
    ("nwords", r"damaged fastText dictionary: 999,999,999 entries cannot fit in the \d+ bytes "
               r"after the header"),
    ("bucket", r"damaged fastText model \(input matrix has 24 rows, expected 4 words \+ "
               r"999999999 buckets\)"),
    ("maxn", r"damaged fastText model \(n-gram lengths minn 3, maxn 2147483647\)"),
    ("truncated", r"truncated fastText model \(ends inside the output matrix: 80 bytes needed at "
                  r"byte offset \d+, the file has \d+\)"),
    ("extra", r"damaged fastText model \(2 unexpected bytes after the output matrix, at byte "
              r"offset \d+\)"),
    ("nan", r"model\.bin word 1 \('king'\) has a non-finite value \(nan\)"),
])
def test_fasttext_bin_damage(tmp_path, case, message):
    data = _fasttext_model(tmp_path / "model.bin")
    data = {
        "dim": lambda: _patched(data, "<i", _ARGS_AT, 999999999),
        "nwords": lambda: _patched(data, "<3i", _DICT_AT, 999999999, 999999999, 0),
        "bucket": lambda: _patched(data, "<i", _ARGS_AT + 8 * 4, 999999999),
        "maxn": lambda: _patched(data, "<i", _ARGS_AT + 10 * 4, 2**31 - 1),
        "truncated": lambda: data[:-7],
        "extra": lambda: data + b"xx",
        # the first row of the input matrix (king's own row): after the dictionary
        "nan": lambda: _patched(data, "<f", data.index(b"woman\0") + 6 + 9 + 1 + 16,
                                float("nan")),
    }[case]()
    prefix = "" if case == "nan" else "model.bin: "
    line, elapsed = _fails(tmp_path, "model.bin", data, NEAREST, 1,
                           rf"staticvec: error: {prefix}{message}")
    assert elapsed < 15.0  # a refusal, not a read of all the header claims (loose: busy machine)


# ---------------------------------------------------------------- vocab files
@pytest.mark.parametrize("content,message", [
    (b"</s> 1\nking 9223372036854775808\n", "v.txt: line 2: count 9223372036854775808 of 'king' "
                                             "is too large (the limit is 2^63 - 1)"),
    (b"king " + b"9" * 5000 + b"\n", "v.txt: line 1: count 999999999999999999999999999999 of "
                                     "'king' is too large (the limit is 2^63 - 1)"),
    (b"king 4611686018427387904\nqueen 4611686018427387904\n",
     "v.txt: line 2: the counts add up to more than 2^63 - 1"),
    (b"king 5\nqueen -3\n", "v.txt: line 2: expected 'word count', got 'queen -3'"),
    (b"king 5\nqueen three\n", "v.txt: line 2: expected 'word count', got 'queen three'"),
    ("king 5\nqueen ²\n".encode(), "v.txt: line 2: expected 'word count', got 'queen ²'"),
    (b"king 5\n\x00\x9f\xff\x01 3\n", r"v.txt: line 2: invalid UTF-8 (byte 0x9f)"),
    ("king 5\nqueen 4\n".encode("utf-16"), r"v.txt: line 1: invalid UTF-8 (byte 0xff)"),
])
def test_vocab_file_garbage(tmp_path, content, message):
    (tmp_path / "c.txt").write_text("king queen man woman\n" * 20)
    _fails(tmp_path, "v.txt", content,
           ["train-skipgram", "c.txt", "-o", "out.bin", "--vocab", "{f}", "-q", "--no-cache"], 1,
           "staticvec: error: " + message.replace("(", r"\(").replace(")", r"\)")
           .replace("^", r"\^").replace("+", r"\+"))


# ---------------------------------------------------------------- benchmark files
def _model(tmp_path):
    (tmp_path / "m.txt").write_bytes(_text())
    return "m.txt"


@pytest.mark.parametrize("command,name,content,message", [
    ("similarity", "pairs.tsv", b"king queen\nking queen nan\nking queen high\n",
     r"pairs.tsv: no valid 'word1 word2 score' line \(3 malformed, first at line 1\)"),
    ("analogy", "q.txt", b": capitals\nking queen man\nking\n",
     r"q.txt: no valid 'a b c d' question line \(2 malformed, first at line 2\)"),
    ("analogy", "q.txt", b": capitals\nparis france rome italy\n",
     r"q.txt: no question could be scored: all 1 have a word outside the first 30,000 words "
     r"of the model"),
    ("similarity", "pairs.tsv", b"king queen 3\nk\xffng man 2\n",
     r"pairs.tsv: invalid UTF-8 at byte offset 14"),
], ids=["similarity-none-valid", "analogy-none-valid", "analogy-all-oov", "not-utf8"])
def test_benchmark_file_that_scores_nothing(tmp_path, command, name, content, message):
    _model(tmp_path)
    _fails(tmp_path, name, content, ["evaluate", command, "{f}", "-m", "m.txt"], 1,
           rf"staticvec: error: {message}")


# ---------------------------------------------------------------- WEAT / probe JSON
@pytest.mark.parametrize("option,content,message", [
    ("--probes", b"[" * 100000 + b"]" * 100000, "p.json: JSON nested too deeply"),
    ("--tests", b"[" * 100000 + b"]" * 100000, "p.json: JSON nested too deeply"),
    ("--probes", b'{"words": "king"}', r"p.json: 'words' must be a non-empty list of words .*"),
    ("--probes", b'{"words": ["\\ud800"]}', r"p.json: 'words' must be a non-empty list of words .*"),
    ("--probes", b'{"words": [' + b"1" * 5000 + b"]}",
     r"p.json: not usable JSON: Exceeds the limit \(4300 digits\) for integer string conversion"),
    ("--probes", b'{"pairs": [["a"]]}', r"p.json: 'pairs' must be a non-empty list of \[a, b\] .*"),
    ("--probes", b'{"\\udc80": 1, "words": ["a"]}', r"p.json: unknown key '\\udc80' .*"),
    ("--tests", b'{"targets": {"X": ["a"]}}', r"p.json: test 1: missing key 'targets.Y' .*"),
    ("--tests", b'[{"targets": {"X": ["a"], "Y": ["b"]}, "attributes": {"A": ["c"], "B": ["d"]}, '
                b'"source": {"x": []}}]', r"p.json: test 1: 'source' must be a string"),
    ("--tests", b'{"name": 7}', r"p.json: test 1: 'name' must be a non-empty string"),
    ("--tests", b'{"name": "\xff"}', r"p.json: not UTF-8 text \(byte offset 10\)"),
    ("--tests", b'{"name": ', r"p.json: not valid JSON: Expecting value at line 1 column 10"),
])
def test_weat_and_probe_json_garbage(tmp_path, option, content, message):
    _model(tmp_path)
    _fails(tmp_path, "p.json", content, ["bias-audit", "-m", "m.txt", option, "{f}", "-q"], 1,
           rf"staticvec: error: {message}")


# ---------------------------------------------------------------- only project errors escape
def test_mutated_inputs_raise_only_project_errors(tmp_path):
    """A few hundred random mutations of a valid file per reader (the atheris harnesses do
    this at length): each read returns or raises a StaticvecError, nothing else."""
    import random

    from staticvec.eval.bias import sets
    from staticvec.errors import StaticvecError
    from staticvec.eval.benchmarks import evaluate_analogies, evaluate_similarity
    from staticvec.io.dispatch import load_vectors
    from staticvec.io.stream import stream_queries
    from staticvec.model.vectors import Vectors
    from staticvec.text.vocab import Vocab

    vectors = Vectors(WORDS, ROWS)
    seeds = {
        "t.txt": (_text(), load_vectors),
        "b.bin": (_binary(), lambda p: (load_vectors(p), stream_queries(p, [(["king"], [])]))),
        "f.bin": (_fasttext_model(tmp_path / "seed.bin"),
                  lambda p: load_vectors(p).most_similar(["kingdom"])),
        "v.txt": (b"</s> 3\nking 5\nqueen 4\n", Vocab.load),
        "p.tsv": (b"king queen 3\nman woman 2\n# c\nking man 1\n",
                  lambda p: evaluate_similarity(vectors, p)),
        "q.txt": (b": s\nking queen man woman\nman woman king queen\n",
                  lambda p: evaluate_analogies(vectors, p)),
        "w.json": (b'{"targets": {"X": ["king"], "Y": ["queen"]}, "attributes": {"A": ["man"], '
                   b'"B": ["woman"]}}', sets.load_weat_tests),
        "r.json": (b'{"words": ["king"], "pairs": [["man", "woman"]]}', sets.load_probes),
    }
    rng = random.Random(10)
    pieces = [b"9" * 12, b"\n", b" ", b"-", b"nan", b"\0", b"\xff", b"[", b"{", b"1e999"]
    for _ in range(150):
        for name, (seed, read) in seeds.items():
            data = bytearray(seed)
            for _ in range(rng.randint(1, 4)):
                op, at = rng.random(), rng.randrange(len(data) + 1)
                if op < 0.4 and at < len(data):
                    data[at] = rng.randrange(256)
                elif op < 0.6:
                    del data[at:at + rng.randint(1, 8)]
                elif op < 0.9:
                    data[at:at] = rng.choice(pieces)
                else:
                    del data[at:]
            path = tmp_path / name
            path.write_bytes(bytes(data))
            try:
                read(str(path))
            except StaticvecError:
                pass


# ---------------------------------------------------------------- models that are not regular files
@pytest.mark.parametrize("make", [_text, _binary], ids=["text", "binary"])
def test_model_from_a_fifo_is_read_once(tmp_path, make):
    """A FIFO's size is unknown (fstat says 0): it is read whole, never bounded by that 0."""
    import os
    import threading

    fifo = tmp_path / "m.fifo"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as out:
            out.write(make())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        result = subprocess.run([sys.executable, "-m", "staticvec", "nearest", "king", "-m",
                                 str(fifo), "-k", "1"], capture_output=True, text=True, timeout=60)
    finally:
        writer.join(timeout=60)
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "king\tqueen 0.9915\n")


@pytest.mark.parametrize("suffix", [".xz", ".lzma"])
@pytest.mark.parametrize("command", ["nearest", "vocab"])
def test_a_compressed_header_cannot_size_the_decoder(tmp_path, suffix, command):
    """A 32-byte legacy .lzma stream whose header asks for a 4 GiB dictionary (found by
    fuzzing): refused by the decoder's memory limit, not an out-of-memory error."""
    bomb = (REPO / "tests" / "fuzz_regressions" / "w2v_compressed" /
            "lzma-header-asks-4gib").read_bytes()[1:]  # byte 0 picks the harness's suffix
    path = tmp_path / f"bomb.txt{suffix}"
    path.write_bytes(bomb)
    before = snapshot(tmp_path)
    args = (["nearest", "x", "-m", path] if command == "nearest"
            else ["vocab", path, "-o", tmp_path / "vocab.txt", "-q"])
    result = run_cli(*args)
    assert_fails_cleanly(result, 1, pattern=rf"staticvec: error: .*bomb\.txt\{suffix}.*"
                                            rf"Memory usage limit exceeded.*")
    assert snapshot(tmp_path) == before
