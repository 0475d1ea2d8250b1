"""`nearest`, `analogy` and `evaluate` through the real command (subprocess)."""
import json
import os
import pty
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from staticvec.eval.benchmarks import evaluate_analogies, evaluate_similarity
from staticvec.io.dispatch import load_vectors, save_vectors

EVAL_DIR = Path(__file__).resolve().parent.parent / "data" / "eval"
WORDS = ["the", "king", "man", "woman", "queen", "prince", "princess", "apple", "pear", "river"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small binary model where king - man + woman = queen (and prince -> princess).

    Built on orthogonal directions (man e0, gender e1, royal e2, young e3; the other words
    on their own axes) plus a little noise so that no two scores tie.
    """
    eye = np.eye(12)
    rows = {
        "man": eye[0], "woman": eye[0] + eye[1], "king": eye[0] + eye[2],
        "queen": eye[0] + eye[1] + eye[2], "prince": eye[0] + eye[2] + eye[3],
        "princess": eye[0] + eye[1] + eye[2] + eye[3],
        "the": eye[10], "apple": eye[8], "pear": eye[9], "river": eye[11],
    }
    rng = np.random.default_rng(0)
    matrix = np.array([rows[w] + 0.02 * rng.standard_normal(12) for w in WORDS], dtype=np.float32)
    path = tmp_path_factory.mktemp("model") / "tiny.bin"
    save_vectors((WORDS, matrix), path)
    return path


def _one_error_line(out, *fragments):
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("staticvec: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in out.stderr


def _reference_nearest(path, word, k):
    vectors = load_vectors(path)
    unit = vectors.matrix.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    scores = unit @ unit[vectors.index[word]]
    order = [i for i in np.argsort(-scores) if vectors.words[i] != word][:k]
    return [(vectors.words[i], scores[i]) for i in order]


def test_nearest_one_line_per_word(cli, model):
    out = cli("nearest", "king", "apple", "-m", model, "-k", "3")
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    for line, word in zip(lines, ("king", "apple")):
        fields = line.split("\t")
        assert fields[0] == word
        expected = _reference_nearest(model, word, 3)
        assert [f.split(" ")[0] for f in fields[1:]] == [w for w, _ in expected]
        assert [float(f.split(" ")[1]) for f in fields[1:]] == pytest.approx(
            [s for _, s in expected], abs=6e-5)


def test_analogy_king_man_woman_is_queen(cli, model):
    out = cli("analogy", "king", "man", "woman", "-m", model)
    assert out.returncode == 0, out.stderr
    fields = out.stdout.rstrip("\n").split("\t")
    assert fields[0] == "king man woman" and fields[1].startswith("queen ")
    assert len(fields) == 1 + 5
    assert not {"king", "man", "woman"} & {f.split(" ")[0] for f in fields[1:]}
    mul = cli("analogy", "king", "man", "woman", "-m", model, "--method", "mul", "-k", "1", "--json")
    assert json.loads(mul.stdout)["results"][0]["word"] == "queen"
    restricted = cli("analogy", "king", "man", "woman", "-m", model, "--restrict", "4", "--json")
    assert [r["word"] for r in json.loads(restricted.stdout)["results"]] == ["the"]


def test_model_from_environment(cli, model):
    out = cli("analogy", "prince", "man", "woman", "-k", "1", env={"STATICVEC_MODEL": str(model)})
    assert out.returncode == 0 and out.stdout.split("\t")[1].startswith("princess ")
    missing = cli("nearest", "king")
    assert missing.returncode == 2
    _one_error_line(missing, "no model: give -m MODEL or set STATICVEC_MODEL")


def test_pipeline_mode_answers_every_line_and_exits_3(cli, model):
    out = cli("nearest", "-m", model, "-k", "2", stdin="king\nnope\n\nqueen\n")
    assert out.returncode == 3
    lines = out.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["king", "nope", "", "queen"]  # aligned
    assert lines[1] == "nope" and len(lines[0].split("\t")) == 3
    _one_error_line(out, "unknown word: 'nope' is not in the model's vocabulary")


def test_pipeline_json_lines_for_analogy(cli, model):
    out = cli("analogy", "-m", model, "--json", "-k", "2",
              stdin="king man woman\nking man\nprince man zebra\nprince man woman\n")
    assert out.returncode == 3
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["query"] for r in records] == ["king man woman", "king man", "prince man zebra",
                                             "prince man woman"]
    assert records[0]["results"][0]["word"] == "queen"
    assert set(records[0]["results"][0]) == {"word", "score"}
    assert records[1]["error"] == "analogy query 'king man': needs 3 words A B C, got 2"
    assert records[2]["error"] == "unknown word: 'zebra' is not in the model's vocabulary"
    assert records[3]["results"][0]["word"] == "princess"
    assert out.stderr.splitlines() == [f"staticvec: error: {records[1]['error']}",
                                       f"staticvec: error: {records[2]['error']}"]


def test_usage_errors(cli, model):
    out = cli("analogy", "king", "man", "-m", model)
    assert out.returncode == 2
    _one_error_line(out, "analogy takes 3 words A B C (for A - B + C), got 2")
    out = cli("analogy", "king", "man", "woman", "-m", model, "--method", "div")
    assert out.returncode == 2
    _one_error_line(out, "invalid value for --method: 'div'")
    out = cli("nearest", "king", "-m", model, "--format", "glove")
    assert out.returncode == 2
    _one_error_line(out, "invalid value for --format: 'glove'")


def test_help_shows_examples(cli):
    for args in (("nearest",), ("analogy",), ("evaluate", "analogy"), ("evaluate", "similarity")):
        out = cli(*args, "--help")
        assert out.returncode == 0 and "Example:" in out.stdout and "staticvec " in out.stdout


def _damaged(tmp_path):
    rng = np.random.default_rng(1)

    def binary(words, dim=4, header=None):
        data = (header or f"{len(words)} {dim}").encode() + b"\n"
        for word in words:
            data += word + b" " + rng.standard_normal(dim).astype("<f4").tobytes() + b"\n"
        return data

    return {
        "truncated.bin": (binary([b"a", b"b"], header="3 4"),
                          "truncated: the header says 3 words but the file ends after 2"),
        "short.bin": (binary([b"a", b"b"])[:-5], "word 2 ('b'), which has 3 of its 4 floats"),
        "short.txt": (b"2 3\na 1 2 3\nb 1 2\n", "line 3: 'b' has 2 values, expected 3"),
        "nonnumeric.txt": (b"2 2\na 1 2\nb 1 x\n", "line 3: non-numeric value 'x'"),
        "dim0.txt": (b"3 0\n", "dimension 0 in the header"),
        "utf8.bin": (binary([b"a", b"\xc3("]), "invalid UTF-8 in word 2 at byte offset 23"),
        "empty.bin": (b"", "empty file"),
        "magic.bin": (struct.pack("<ii", 793712314, 12) + b"\0" * 8, None),
    }


def test_damaged_models_give_one_error_line(cli, tmp_path):
    for name, (data, problem) in _damaged(tmp_path).items():
        path = tmp_path / name
        path.write_bytes(data)
        out = cli("nearest", "a", "-m", path)
        assert out.returncode == 1, (name, out.stderr)
        assert out.stdout == ""
        _one_error_line(out, str(path), *([problem] if problem else []))
    out = cli("analogy", "a", "b", "c", "-m", tmp_path / "missing.bin")
    assert out.returncode == 1
    _one_error_line(out, f"{tmp_path / 'missing.bin'}: no such file")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(_damaged(tmp_path))  # nothing written


def test_encoding_errors_option_and_duplicate_warning(cli, tmp_path):
    vectors = np.arange(12, dtype="<f4").reshape(3, 4) + 1
    bad = b"2 4\nok " + vectors[0].tobytes() + b"\nb\xffd " + vectors[1].tobytes() + b"\n"
    (tmp_path / "bad.bin").write_bytes(bad)
    out = cli("nearest", "ok", "-m", tmp_path / "bad.bin", "--encoding-errors", "replace", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["word"] == "b\ufffdd"
    dup = b"3 4\nx " + vectors[0].tobytes() + b"\ny " + vectors[1].tobytes() + b"\nx " + \
        vectors[2].tobytes() + b"\n"
    (tmp_path / "dup.bin").write_bytes(dup)
    out = cli("nearest", "x", "-m", tmp_path / "dup.bin", "--json")
    assert out.returncode == 0
    assert [r["word"] for r in json.loads(out.stdout)["results"]] == ["y"]
    assert out.stderr.splitlines() == [f"staticvec: warning: {tmp_path / 'dup.bin'}: 1 duplicate "
                                       f"word(s), e.g. 'x': kept the first vector of each"]


def test_evaluate_commands(cli, model, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": family\nman woman king queen\nman woman prince princess\n"
                         "man king woman queen\nman woman king zebra\n: gram1-x\nman woman apple pear\n")
    out = cli("evaluate", "analogy", questions, "-m", model, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result == json.loads(json.dumps(evaluate_analogies(load_vectors(model), questions)))
    assert result["sections"][0]["correct"] == 3 and result["oov_questions"] == 1
    # every ratio in JSON is a fraction (the text output shows percentages)
    assert result["oov_ratio"] == 0.2 and result["sections"][0]["accuracy"] == 1.0
    text = cli("evaluate", "analogy", questions, "-m", model)
    assert text.returncode == 0
    assert text.stdout.splitlines()[0].split() == ["family", "100.00%", "3/3", "oov", "1"]
    assert text.stdout.splitlines()[-2].split()[:3] == ["total", "75.00%", "3/4"]
    assert "oov 1 (20.0%" in text.stdout.splitlines()[-1]

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# w1\tw2\tscore\nking\tqueen\t9\nking\tapple\t1\nman\twoman\t8\napple\tpear\t7\n"
                     "king\tzebra\t3\n")
    out = cli("evaluate", "similarity", pairs, "-m", model, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    expected = evaluate_similarity(load_vectors(model), pairs)
    assert result["spearman"] == pytest.approx(expected["spearman"])
    assert result["oov_ratio"] == 0.2 and result["scored_pairs"] == 4  # a fraction, as accuracy
    text = cli("evaluate", "similarity", pairs, "-m", model)
    assert text.stdout.startswith("pairs.tsv  pearson ") and "oov 20.0% (1/5 pairs)" in text.stdout
    missing = cli("evaluate", "similarity", tmp_path / "nope.tsv", "-m", model)
    assert missing.returncode == 1
    _one_error_line(missing, "nope.tsv: no such file")


def test_evaluate_shipped_sets_run(cli, model):
    out = cli("evaluate", "analogy", EVAL_DIR / "questions-words.txt", "-m", model, "--json")
    assert out.returncode == 0
    result = json.loads(out.stdout)
    assert result["questions"] == 19544 and result["total"]["total"] + result["oov_questions"] == 19544


def test_streamed_one_off_queries_answer_the_same(cli, model, tmp_path):
    # big binary models are streamed for command-line queries; force it on the tiny one
    stream = {"STATICVEC_STREAM_MIN_BYTES": "0"}
    for args in (("nearest", "king", "nope", "apple", "-k", "4"),
                 ("analogy", "king", "man", "woman", "--json"),
                 ("analogy", "king", "man", "woman", "--method", "mul", "--restrict", "6"),
                 ("analogy", "king", "zebra", "woman")):
        loaded = cli(*args, "-m", model)
        streamed = cli(*args, "-m", model, env=stream)
        assert (streamed.returncode, streamed.stdout, streamed.stderr) == \
            (loaded.returncode, loaded.stdout, loaded.stderr), args
    data = model.read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:-7])
    out = cli("analogy", "king", "man", "woman", "-m", tmp_path / "cut.bin", env=stream)
    assert out.returncode == 1 and out.stdout == ""
    _one_error_line(out, "cut.bin: truncated: the header says 10 words but the file ends in word 10")


def test_no_words_on_a_terminal_is_a_usage_error(model):
    master, slave = pty.openpty()
    try:
        out = subprocess.run([sys.executable, "-m", "staticvec", "analogy", "-m", str(model)],
                             stdin=slave, capture_output=True, text=True, timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    assert out.returncode == 2 and out.stdout == ""
    _one_error_line(out, "no analogy queries given: name them on the command line or pipe one "
                         "query per line on stdin")
