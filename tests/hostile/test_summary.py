"""--json-summary where it cannot or must not be written: refused before any work, with one
error line, no summary and no model; and a failure after the checks writes only the summary."""
import json

import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from corpora import TRAIN, tiny_corpus

COMMANDS = {
    "train-skipgram": ("-o", "v.txt"),
    "train-cbow": ("-o", "v.txt"),
    "train-glove": ("-o", "v.txt", "--memory", "0.05"),
    "train-fasttext": ("-o", "m", "--bucket", "1000"),
}


@pytest.fixture
def folder(tmp_path):
    tiny_corpus(tmp_path / "corpus.txt", lines=20)
    return tmp_path


def train(folder, command, *extra):
    output = COMMANDS[command]
    return run_cli(command, "corpus.txt", *output, *TRAIN, "-q", *extra, cwd=folder)


def refused(folder, command, code, message, *extra):
    before = snapshot(folder)
    result = train(folder, command, *extra)
    assert_fails_cleanly(result, code, message)
    assert snapshot(folder) == before           # no summary, no model, the input unchanged
    return result


@pytest.mark.parametrize("command", COMMANDS)
def test_summary_in_a_missing_folder(folder, command):
    refused(folder, command, 1, f"cannot write nowhere/run.json: folder {folder}/nowhere does "
                                "not exist", "--json-summary", "nowhere/run.json")


@pytest.mark.parametrize("command", COMMANDS)
def test_summary_over_the_corpus(folder, command):
    refused(folder, command, 2, "--json-summary corpus.txt is the same file as the input "
                                "corpus.txt", "--json-summary", "corpus.txt")


@pytest.mark.parametrize("command,output", [
    ("train-skipgram", "v.txt"), ("train-cbow", "v.txt"), ("train-glove", "v.txt"),
    ("train-fasttext", "m.vec")])
def test_summary_over_the_output(folder, command, output):
    refused(folder, command, 2, f"--output {output} and --json-summary {output} are the same "
                                "file: give each output its own name", "--json-summary", output)


def test_summary_over_the_other_side_outputs(folder):
    refused(folder, "train-skipgram", 2, "--save-vocab vocab.txt and --json-summary vocab.txt "
            "are the same file: give each output its own name", "--save-vocab", "vocab.txt",
            "--json-summary", "vocab.txt")
    refused(folder, "train-glove", 2, "--save-cooccur c.bin and --json-summary c.bin are the "
            "same file: give each output its own name", "--save-cooccur", "c.bin",
            "--json-summary", "c.bin")
    (folder / "vocab.txt").write_text("the 10\n", encoding="utf-8")
    refused(folder, "train-skipgram", 2, "--json-summary vocab.txt is the same file as --vocab "
            "vocab.txt", "--vocab", "vocab.txt", "--json-summary", "vocab.txt")


def test_summary_onto_a_folder_or_an_empty_name(folder):
    (folder / "d").mkdir()
    refused(folder, "train-skipgram", 1, "cannot write d: it is a folder", "--json-summary", "d")
    refused(folder, "train-skipgram", 2, "an output file name is empty", "--json-summary", "")


def test_a_bad_option_writes_no_summary(folder):
    """Refused before the outputs were checked: no record, whatever the path."""
    refused(folder, "train-skipgram", 2, "--window must be an integer in [1, 2147483647] "
            "(got 3000000000)", "--window", "3000000000", "--json-summary", "run.json")


def test_an_unreadable_corpus_after_the_checks_writes_the_error_record(folder):
    (folder / "bad.txt").write_bytes(b"caf\xe9 ok\n" * 50)
    result = run_cli("train-skipgram", "bad.txt", "-o", "v.txt", *TRAIN, "-q",
                     "--json-summary", "run.json", cwd=folder)
    line = assert_fails_cleanly(result, 1)
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert line == f"staticvec: error: {record['error']}"
    assert record["status"] == "error" and record["exit_code"] == 1
    assert record["outputs"] == [] and record["loss"] is None and record["vocab_size"] is None
    assert not (folder / "v.txt").exists()


def test_an_error_record_on_stderr_comes_before_the_error_line(folder):
    result = train(folder, "train-skipgram", "--alpha", "1e6", "--json-summary", "-")
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 2, result.stderr
    record = json.loads(lines[0])
    assert record["status"] == "error" and lines[1] == f"staticvec: error: {record['error']}"
    assert result.stdout == ""


def test_summary_to_dev_null_and_to_stdout_target(folder):
    """A character device is written in place; `-o -` with `--json-summary -` keeps the two
    streams apart (vectors on stdout, the record on stderr)."""
    assert train(folder, "train-skipgram", "--json-summary", "/dev/null").returncode == 0
    result = run_cli("train-skipgram", "corpus.txt", "-o", "-", *TRAIN, "-q",
                     "--json-summary", "-", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stderr)["outputs"] == ["-"]
    assert result.stdout.split("\n", 1)[0].split()[1] == "8"


def test_a_record_that_cannot_be_written_never_hides_the_runs_own_error(tmp_path, caplog):
    """The folder vanishes during the run: after a failure the run's error is the one raised
    (the record's is a warning); after a success, the record's failure is the error."""
    from staticvec.cli.train import json_summary
    from staticvec.errors import InputError, OutputError

    folder = tmp_path / "gone"
    for failing in (True, False):
        folder.mkdir()
        with pytest.raises(InputError if failing else OutputError) as caught:
            with json_summary(str(folder / "run.json"), "train-skipgram") as summary:
                summary.checked = True
                folder.rmdir()
                if failing:
                    raise InputError("corpus.txt: damaged")
        if failing:
            assert str(caught.value) == "corpus.txt: damaged"
            assert f"--json-summary: cannot write {folder}/run.json" in caplog.text
        else:
            assert str(caught.value).startswith(f"cannot write {folder}/run.json")
