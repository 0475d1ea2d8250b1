"""Hostile inputs and option values for `phrases` and the trainers' --phrases: one line on
stderr, the documented exit code, no traceback, and nothing written. Most run the command
in this process (``_cli``: no Python start-up each); the first ones run the real command."""
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from corpora import TRAIN
from test_options import _cli

TEXT = "new york is big\ni love new york\nnew york new york\n" * 3


def corpus_file(tmp_path, text):
    """``text`` in tmp_path/corpus.txt."""
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return path


def refuser(tmp_path, capsys, *extra):
    """refused(code, *args, message=, pattern=): the command (with ``extra`` after its
    arguments) fails cleanly in this process, writing nothing."""
    def check(code, *args, message=None, pattern=None):
        return _refused(tmp_path, code, *args, *extra, message=message, pattern=pattern,
                        run=lambda *a: _cli(capsys, *a))
    return check


@pytest.fixture
def corpus(tmp_path):
    return corpus_file(tmp_path, TEXT)


@pytest.fixture
def refused(tmp_path, capsys):
    return refuser(tmp_path, capsys)


def _refused(tmp_path, code, *args, message=None, pattern=None, run=run_cli):
    before = snapshot(tmp_path)
    result = run(*args)
    assert_fails_cleanly(result, code, message, pattern=pattern)
    assert snapshot(tmp_path) == before  # no output, no temporary left behind
    return result


def test_missing_corpus(tmp_path):
    _refused(tmp_path, 1, "phrases", tmp_path / "nope.txt", "-o", tmp_path / "o.txt",
             message=f"cannot read {tmp_path / 'nope.txt'}: no such file")


def test_empty_corpus(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    _refused(tmp_path, 1, "phrases", empty, "-o", tmp_path / "o.txt",
             message=f"{empty}: no words found (empty input)")


def test_invalid_utf8(refused, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"new york \xff\n")
    refused(1, "phrases", bad, "-o", tmp_path / "o.txt",
             pattern=r"staticvec: error: .*bad\.txt: invalid UTF-8 at byte offset 9 .*")


@pytest.mark.parametrize("option,value,message", [
    ("--threshold", "-1", "--threshold must be a finite number >= 0 (got -1.0)"),
    ("--threshold", "nan", "--threshold must be a finite number >= 0 (got nan)"),
    ("--threshold", "inf", "--threshold must be a finite number >= 0 (got inf)"),
    ("--min-count", "0", "--min-count must be an integer in [1, 2^63-1] (got 0)"),
    ("--min-count", "-5", "--min-count must be an integer in [1, 2^63-1] (got -5)"),
    ("--passes", "0", "--passes must be an integer in [1, 100] (got 0)"),
    ("--passes", "101", "--passes must be an integer in [1, 100] (got 101)"),
    ("--scorer", "pmi", "invalid value for --scorer: 'pmi' (choose from word2phrase, npmi)"),
])
def test_bad_option_values(refused, tmp_path, corpus, option, value, message):
    refused(2, "phrases", corpus, "-o", tmp_path / "o.txt", option, value,
             message=message)


def test_npmi_threshold_range(refused, tmp_path, corpus):
    refused(2, "phrases", corpus, "-o", tmp_path / "o.txt", "--scorer", "npmi",
             "--threshold", "1.5",
             message="--threshold must be a number in [-1, 1] with --scorer npmi (got 1.5)")


@pytest.mark.parametrize("option,value", [("--passes", "1.5"), ("--min-count", "many"),
                                          ("--threshold", "high"), ("--max-vocab-words", "0")])
def test_unparsable_values(refused, tmp_path, corpus, option, value):
    refused(2, "phrases", corpus, "-o", tmp_path / "o.txt", option, value,
             pattern=rf"staticvec: error: .*{option}.*")


def test_output_is_the_input(refused, tmp_path, corpus):
    refused(2, "phrases", corpus, "-o", corpus,
             message=f"--output {corpus} is the same file as the input {corpus}")


def test_save_phrases_is_the_input_or_the_output(refused, tmp_path, corpus):
    refused(2, "phrases", corpus, "-o", tmp_path / "o.txt", "--save-phrases", corpus,
             message=f"--save-phrases {corpus} is the same file as the input {corpus}")
    out = tmp_path / "o.txt"
    refused(2, "phrases", corpus, "-o", out, "--save-phrases", out,
             message=f"--output {out} and --save-phrases {out} are the same file: give each "
                     f"output its own name")


@pytest.mark.parametrize("content,line,what", [
    ("new_york 10 5\nnew york 10\n", 2, "expected 'phrase score count"),
    ("newyork 10 5\n", 1, "expected 'phrase score count"),
    ("new_york ten 5\n", 1, "the score 'ten' is not a number"),
    ("new_york nan 5\n", 1, "the score 'nan' is not a number"),
    ("new_york 10 -5\n", 1, "expected 'phrase score count"),
    ("# pass 1\nnew_york 10 5\n# pass 3\n", 3, "expected '# pass 2'"),
    ("new_york_city 10 5 york\n", 1, "'york' is not the first word of the phrase"),
    ("new_york 10 5 new york\n", 1, "expected 'phrase score count"),
    ("new_york 10 5\n\xff\n", 2, "invalid UTF-8"),
])
def test_malformed_phrases_file(refused, tmp_path, corpus, content, line, what):
    table = tmp_path / "phrases.txt"
    table.write_bytes(content.encode("latin-1"))
    refused(1, "train-skipgram", corpus, "--phrases", table, "-o",
             tmp_path / "v.txt", *TRAIN, "-q",
             pattern=rf"staticvec: error: {tmp_path / 'phrases.txt'}: line {line}: "
                     rf"{what}.*".replace("(", r"\(").replace(")", r"\)"))


def test_phrases_file_missing(refused, tmp_path, corpus):
    missing = tmp_path / "nope.txt"
    refused(1, "train-cbow", corpus, "--phrases", missing, "-o", tmp_path / "v.txt",
             *TRAIN, "-q", message=f"cannot read {missing}: no such file")


def test_output_is_the_phrases_file(refused, tmp_path, corpus):
    table = tmp_path / "phrases.txt"
    table.write_text("new_york 10 5\n")
    refused(2, "train-skipgram", corpus, "--phrases", table, "-o", table, *TRAIN,
             "-q", message=f"--output {table} is the same file as --phrases {table}")


def test_phrases_with_cooccur(refused, tmp_path):
    table, records, vocab = (tmp_path / n for n in ("phrases.txt", "c.bin", "vocab.txt"))
    table.write_text("new_york 10 5\n")
    records.write_bytes(b"")
    vocab.write_text("new 5\n")
    refused(2, "train-glove", "--cooccur", records, "--vocab", vocab, "--phrases", table,
            "-o", tmp_path / "g.txt", "-q",
            message="--phrases with --cooccur: the records were counted already (give "
                    "--phrases when counting them)")
