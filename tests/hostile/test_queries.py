"""Queries that never mislead: no `nan` in any output, zero vectors never ranked, valid
JSON always, fastText words without n-grams are unknown, blank query lines keep output
aligned, benchmark files report their malformed lines, and no numpy warning on stderr."""
import json

import numpy as np
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot

WORDS = ["king", "queen", "man", "woman", "void", "apple"]
ROWS = np.array([[1, 2, 3], [1, 2, 4], [1, 0, 0], [0, 1, 0], [0, 0, 0], [-1, -2, -3]],
                dtype=np.float32)


@pytest.fixture
def model(tmp_path):
    """A text and a binary model with a zero row ('void') and a row opposite king ('apple')."""
    from staticvec.io.dispatch import save_vectors

    save_vectors((WORDS, ROWS), tmp_path / "m.txt")
    save_vectors((WORDS, ROWS), tmp_path / "m.bin")
    return tmp_path


def _ok(result):
    """Exit 0, nothing on stderr (no numpy RuntimeWarning, no other warning), no nan."""
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "nan" not in result.stdout.lower()
    return result.stdout


def _json_lines(stdout):
    def refuse(token):
        raise AssertionError(f"invalid JSON constant {token}")

    return [json.loads(line, parse_constant=refuse) for line in stdout.splitlines()]


@pytest.mark.parametrize("name", ["m.txt", "m.bin"])
@pytest.mark.parametrize("stream", [False, True])
def test_zero_vector_is_never_an_answer(model, name, stream):
    env = {"STATICVEC_STREAM_MIN_BYTES": "1" if stream else str(1 << 40)}
    before = snapshot(model)
    out = _ok(run_cli("nearest", "king", "-m", name, "-k", "10", "--json", cwd=model, env=env))
    [answer] = _json_lines(out)
    # every real word ranks (apple's -1 included); the zero row is excluded, not scored 0
    assert [r["word"] for r in answer["results"]] == ["queen", "woman", "man", "apple"]
    assert answer["results"][-1]["score"] == pytest.approx(-1.0)
    out = _ok(run_cli("analogy", "king", "man", "woman", "-m", name, "-k", "10", "--method", "mul",
                      cwd=model, env=env))
    assert "void" not in out
    assert snapshot(model) == before


@pytest.mark.parametrize("stream", [False, True])
def test_zero_vector_query_is_an_error_not_a_row_of_zeros(model, stream):
    env = {"STATICVEC_STREAM_MIN_BYTES": "1" if stream else str(1 << 40)}
    result = run_cli("nearest", "void", "king", "-m", "m.bin", "--json", cwd=model, env=env)
    assert_fails_cleanly(result, 3, "word 'void' has a zero vector (or one too long for float32): "
                                    "no cosine similarity is defined")
    void, king = _json_lines(result.stdout)
    assert void == {"query": "void", "error": "word 'void' has a zero vector (or one too long for "
                                              "float32): no cosine similarity is defined"}
    assert king["results"][0]["word"] == "queen"


def test_huge_finite_values_give_no_nan_and_no_warning(tmp_path):
    """3e38 is a float32, but its square overflows: the row is kept, never ranked, never NaN."""
    (tmp_path / "m.txt").write_text("3 2\nking 1 2\nqueen 1 3\nbig 3e38 3e38\n")
    out = _ok(run_cli("nearest", "king", "-m", "m.txt", "--json", cwd=tmp_path))
    assert [r["word"] for r in _json_lines(out)[0]["results"]] == ["queen"]
    assert_fails_cleanly(run_cli("nearest", "big", "-m", "m.txt", cwd=tmp_path), 3,
                         pattern=r"staticvec: error: word 'big' has a zero vector .*")


def _binary_model(path, words, rows):
    path.write_bytes(f"{len(words)} {rows.shape[1]}\n".encode() + b"".join(
        w.encode() + b" " + np.asarray(r, "<f4").tobytes() + b"\n" for w, r in zip(words, rows)))


@pytest.mark.parametrize("args", [["nearest", "big"], ["analogy", "king", "big", "queen"],
                                  ["analogy", "king", "big", "queen", "--method", "mul"],
                                  ["analogy", "king", "nosuch", "big"]])
def test_streamed_query_fails_as_the_loaded_model_does(tmp_path, args):
    """Streaming a big binary model is a shortcut: a word whose norm overflows float32 is a
    zero vector there too (not a zero query that "cancels out", nor an answer with 3CosMul),
    and the first failing word is the one reported (found by fuzzing)."""
    _binary_model(tmp_path / "m.bin", ["king", "queen", "big"],
                  np.array([[1, 2], [1, 3], [3e38, 3e38]], dtype=np.float32))
    before = snapshot(tmp_path)
    results = [run_cli(*args, "-m", "m.bin", cwd=tmp_path,
                       env={"STATICVEC_STREAM_MIN_BYTES": limit}) for limit in ("1", str(1 << 40))]
    streamed, loaded = results
    assert_fails_cleanly(loaded, 3, "word 'big' has a zero vector (or one too long for float32): "
                                    "no cosine similarity is defined")
    assert (streamed.returncode, streamed.stdout, streamed.stderr) == \
        (loaded.returncode, loaded.stdout, loaded.stderr)
    assert snapshot(tmp_path) == before


def test_streamed_model_with_a_newline_inside_a_word_answers_as_loaded(tmp_path):
    """A binary model whose word holds a newline cannot be streamed by its \\n-joined word
    lists: it is loaded instead, with the same answers (found by fuzzing: an IndexError)."""
    _binary_model(tmp_path / "m.bin", ["king", "a\nqueen", "queen", "man"],
                  np.array([[1, 2], [1, 3], [1, 2.5], [2, -1]], dtype=np.float32))
    before = snapshot(tmp_path)
    results = [run_cli("nearest", "king", "queen", "-m", "m.bin", "--json", cwd=tmp_path,
                       env={"STATICVEC_STREAM_MIN_BYTES": limit}) for limit in ("1", str(1 << 40))]
    streamed, loaded = (_ok(r) for r in results)
    assert streamed == loaded
    king, queen = _json_lines(streamed)
    assert [r["word"] for r in king["results"]] == ["queen", "a\nqueen", "man"]
    assert [r["word"] for r in queen["results"]] == ["a\nqueen", "king", "man"]
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------- fastText without n-grams
def _fasttext(path, minn, maxn, bucket):
    from staticvec.io.fasttext_bin import save_model

    rng = np.random.default_rng(3)
    save_model(path, WORDS[:4], [5, 4, 3, 2],
               rng.standard_normal((4 + bucket, 5)).astype(np.float32),
               rng.standard_normal((4, 5)).astype(np.float32), minn=minn, maxn=maxn, bucket=bucket)


@pytest.mark.parametrize("minn,maxn,bucket", [(3, 0, 0), (8, 9, 20)], ids=["maxn0", "minn-long"])
def test_fasttext_word_without_ngrams_is_unknown(tmp_path, minn, maxn, bucket):
    _fasttext(tmp_path / "ft.bin", minn, maxn, bucket)
    message = (f"unknown word: 'cat' is not in the model's vocabulary and has no character "
               f"n-gram (n-grams of {minn}-{maxn} characters, {bucket:,} buckets)")
    result = run_cli("nearest", "cat", "-m", "ft.bin", cwd=tmp_path)
    assert_fails_cleanly(result, 3, message)
    assert result.stdout == "cat\n"
    result = run_cli("analogy", "king", "cat", "woman", "-m", "ft.bin", cwd=tmp_path)
    assert_fails_cleanly(result, 3, message)
    # in the vocabulary it still answers, with no warning
    assert _ok(run_cli("nearest", "king", "-m", "ft.bin", cwd=tmp_path)).startswith("king\t")


def test_fasttext_unseen_word_with_ngrams_is_answered(tmp_path):
    _fasttext(tmp_path / "ft.bin", 8, 9, 20)
    out = _ok(run_cli("nearest", "kingdom", "-m", "ft.bin", "--json", cwd=tmp_path))
    assert len(_json_lines(out)[0]["results"]) == 4  # '<kingdom>' is a 9-gram


# ---------------------------------------------------------------- pipelines stay aligned
@pytest.mark.parametrize("json_out", [False, True])
def test_blank_line_in_a_nearest_pipeline(model, json_out):
    args = ["nearest", "-m", "m.txt", "-k", "1"] + (["--json"] if json_out else [])
    out = _ok(run_cli(*args, stdin="king\n\nqueen\n   \n", cwd=model))
    lines = out.split("\n")[:-1]
    assert len(lines) == 4
    if json_out:
        assert [json.loads(line) for line in lines] == [
            {"query": "king", "results": [{"word": "queen", "score": 0.991460}]},
            {"query": "", "error": "empty line: no query"},
            {"query": "queen", "results": [{"word": "king", "score": 0.991460}]},
            {"query": "", "error": "empty line: no query"}]
    else:
        assert lines == ["king\tqueen 0.9915", "", "queen\tking 0.9915", ""]


@pytest.mark.parametrize("json_out", [False, True])
def test_blank_line_in_an_analogy_pipeline(model, json_out):
    args = ["analogy", "-m", "m.txt", "-k", "1"] + (["--json"] if json_out else [])
    out = _ok(run_cli(*args, stdin="king man woman\n\nman king queen\n", cwd=model))
    lines = out.split("\n")[:-1]
    assert len(lines) == 3
    assert (json.loads(lines[1]) == {"query": "", "error": "empty line: no query"} if json_out
            else lines[1] == "")
    assert lines[0].startswith('{"query": "king man woman"' if json_out else "king man woman\t")


def test_non_utf8_query_line_keeps_alignment(model):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "staticvec", "nearest", "-m", "m.txt", "-k", "1"],
                            input=b"king\nk\xffng\nqueen\n", capture_output=True, cwd=model)
    assert result.returncode == 1
    assert result.stderr.decode() == ("staticvec: error: stdin line 2: invalid UTF-8 at byte 1 "
                                      "(byte 0xff)\n")
    assert result.stdout.decode().split("\n") == ["king\tqueen 0.9915", "k\ufffdng",
                                                  "queen\tking 0.9915", ""]


# ---------------------------------------------------------------- benchmarks report what they skip
def test_similarity_reports_malformed_lines(model):
    (model / "pairs.tsv").write_text("# comment\nking queen 3\nking man\nking woman 2\n"
                                     "queen man inf\nman woman 1\n")
    out = _ok(run_cli("evaluate", "similarity", "pairs.tsv", "-m", "m.txt", cwd=model))
    assert out.endswith("(0/3 pairs), 2 malformed lines skipped (first: line 3)\n")
    result = json.loads(_ok(run_cli("evaluate", "similarity", "pairs.tsv", "-m", "m.txt", "--json",
                                    cwd=model)))
    assert (result["pairs"], result["malformed_lines"], result["first_malformed_line"]) == (3, 2, 3)


def test_similarity_undefined_correlation_is_null_not_nan(model):
    (model / "pairs.tsv").write_text("king queen 3\n")  # one pair: no correlation
    out = _ok(run_cli("evaluate", "similarity", "pairs.tsv", "-m", "m.txt", cwd=model))
    assert out == "pairs.tsv  pearson n/a  spearman n/a  oov 0.0% (0/1 pairs)\n"
    result = json.loads(_ok(run_cli("evaluate", "similarity", "pairs.tsv", "-m", "m.txt", "--json",
                                    cwd=model)))
    assert result["pearson"] is None and result["spearman"] is None


def test_similarity_with_huge_human_scores_is_still_a_correlation(model):
    """Scores near 1e308 overflowed the float64 sums of squares (RuntimeWarning, pearson
    n/a; found by fuzzing): Pearson and Spearman do not depend on the scale of the scores."""
    pairs = [("king", "queen"), ("man", "woman"), ("king", "man"), ("queen", "woman")]
    scores = {"small": ["1", "0.5", "-1", "0.25"], "huge": ["1e308", "5e307", "-1e308", "2.5e307"]}
    found = {}
    for name, values in scores.items():
        (model / f"{name}.tsv").write_text("".join(f"{a}\t{b}\t{v}\n"
                                                   for (a, b), v in zip(pairs, values)))
        found[name] = json.loads(_ok(run_cli("--debug", "evaluate", "similarity", f"{name}.tsv",
                                              "-m", "m.txt", "--json", cwd=model)))
    assert found["huge"]["pearson"] is not None
    assert found["huge"]["pearson"] == pytest.approx(found["small"]["pearson"], abs=1e-12)
    assert found["huge"]["spearman"] == pytest.approx(found["small"]["spearman"], abs=1e-12)


def test_analogy_reports_malformed_lines(model):
    (model / "q.txt").write_text(": s\nking queen man woman\nking queen\nman woman king queen x\n")
    out = _ok(run_cli("evaluate", "analogy", "q.txt", "-m", "m.txt", cwd=model))
    assert out.splitlines()[-1].endswith("skipped), 2 malformed lines skipped (first: line 3)")
    result = json.loads(_ok(run_cli("evaluate", "analogy", "q.txt", "-m", "m.txt", "--json",
                                    cwd=model)))
    assert (result["questions"], result["malformed_lines"], result["first_malformed_line"]) == (1, 2, 3)


def test_evaluation_with_zero_rows_has_no_warning(model):
    (model / "q.txt").write_text(": s\nking queen man woman\nman woman king void\n")
    for method in ("add", "mul"):
        _ok(run_cli("evaluate", "analogy", "q.txt", "-m", "m.bin", "--method", method, cwd=model))
    (model / "pairs.tsv").write_text("king queen 3\nking void 2\nman woman 1\n")
    _ok(run_cli("evaluate", "similarity", "pairs.tsv", "-m", "m.bin", cwd=model))
