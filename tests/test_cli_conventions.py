"""Command-line conventions a newcomer meets first: every --help reads as words and ends with
an example, word2vec C / fastText / GloVe C flags get a hint naming staticvec's option, and
shell completion works through typer."""
import re

import pytest
from conftest import assert_fails_cleanly, run_cli

from staticvec.cli.app import click_command
from staticvec.cli.migrants import MIGRANT_FLAGS, first_migrant_hint, migrant_hint


def _command_paths(command, path=()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, path + (name,))


ROOT = click_command()
COMMANDS = list(_command_paths(ROOT))


def _options_of_every_command(command):
    found = set()
    for param in command.params:
        found.update(getattr(param, "opts", []), getattr(param, "secondary_opts", []))
    for sub in getattr(command, "commands", {}).values():
        found |= _options_of_every_command(sub)
    return found


STATICVEC_OPTIONS = _options_of_every_command(ROOT)


# ---------------------------------------------------------------- --help
def test_every_command_is_covered():
    assert ("evaluate", "analogy") in COMMANDS and ("cache", "clear") in COMMANDS
    assert len(COMMANDS) >= 14


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "staticvec")
def test_help_reads_as_words_and_ends_with_an_example(path):
    result = run_cli(*path, "--help")
    assert result.returncode == 0 and not result.stderr, result.stderr
    help_text = result.stdout
    blocks = [b for b in re.split(r"\n\s*\n", help_text) if b.strip()]
    example = blocks[-1].strip().splitlines()
    assert example[0] == "Example:", blocks[-1]
    assert len(example) > 1 and all("staticvec " in line for line in example[1:]), blocks[-1]
    # placeholders: no typer <type>, no {argument}, no TEXT/INTEGER where a word is clearer
    assert not re.search(r"<[a-z][a-z\[\]| ]*>", help_text), help_text
    assert not re.search(r"\{[a-z_]+\}", help_text), help_text
    assert not re.search(r"\b(TEXT|INTEGER|FLOAT|VALUE)\b", help_text), help_text
    usage = help_text.splitlines()[0]
    assert usage.startswith(f"Usage: staticvec {' '.join(path)}".rstrip()), usage
    for word in re.findall(r"\[?([A-Za-z_]+)\]?(?:\.\.\.)?", usage.split("[OPTIONS]", 1)[-1]):
        assert word.isupper() or word == "ARGS", usage


def test_placeholders_name_what_is_expected():
    skipgram = run_cli("train-skipgram", "--help").stdout
    # (CORPUS is optional: --encoded DIR trains from a shard set instead)
    assert "Usage: staticvec train-skipgram [OPTIONS] [CORPUS]..." in skipgram
    assert re.search(r"-o, --output FILE\b", skipgram) and re.search(r"--dim N\b", skipgram)
    nearest = run_cli("nearest", "--help").stdout
    assert "Usage: staticvec nearest [OPTIONS] [WORDS]..." in nearest
    assert re.search(r"-m, --model MODEL\b", nearest) and re.search(r"-k, --topn N\b", nearest)


# ---------------------------------------------------------------- migrants' flags
@pytest.mark.parametrize("flag", sorted(MIGRANT_FLAGS))
def test_migrant_flag_gets_a_hint(flag):
    origin, tool, ours, *instead = MIGRANT_FLAGS[flag]
    hint = migrant_hint(flag)
    assert hint.startswith(f"no such option: {flag} (") and "\n" not in hint
    assert f"{tool}'s {origin}" in hint
    if ours is None:
        assert "has no staticvec equivalent: " in hint and instead[0] in hint
    else:
        assert f"did you mean {ours}?" in hint
        # the option named is one staticvec really has
        assert all(o in STATICVEC_OPTIONS for o in ours.split("/")), ours
    assert flag not in STATICVEC_OPTIONS  # a real option is never intercepted
    assert first_migrant_hint(["train-skipgram", "c.txt", f"{flag}=3"]) == hint


def test_table_covers_the_usual_flags():
    for flag in ("-size", "--size", "-iter", "--iter", "-lr", "--lr", "-ws", "-neg", "-epoch",
                 "-dim", "-thread", "-minCount", "-cbow", "-binary", "-window", "-sample", "-hs",
                 "-min-count", "-threads", "-alpha", "-output", "-train", "-save-vocab",
                 "-read-vocab", "-minn", "-maxn", "-bucket", "-t", "-wordNgrams"):
        assert flag in MIGRANT_FLAGS, flag


def test_words_after_double_dash_are_not_flags():
    assert first_migrant_hint(["nearest", "--", "-size"]) is None
    assert first_migrant_hint(["train-skipgram", "c.txt", "--dim", "5"]) is None


@pytest.mark.parametrize("args, message", [
    (("train-skipgram", "c.txt", "-o", "v.bin", "-size", "100"),
     "no such option: -size (did you mean --dim? word2vec C's -size is staticvec's --dim)"),
    (("train-fasttext", "c.txt", "-o", "m", "--epoch", "5"),
     "no such option: --epoch (did you mean --epochs? fastText's -epoch is staticvec's --epochs)"),
    # click alone would read these as -o utput (training to a file named "utput") and -h
    (("train-skipgram", "c.txt", "-output", "v.bin"),
     "no such option: -output (did you mean -o/--output? word2vec C's -output is staticvec's "
     "-o/--output)"),
    (("train-cbow", "c.txt", "-o", "v.bin", "-hs", "1"),
     "no such option: -hs (did you mean --hs/--no-hs? word2vec C's -hs is staticvec's "
     "--hs/--no-hs)"),
    (("train-fasttext", "c.txt", "-o", "m", "-wordNgrams", "2"),
     "no such option: -wordNgrams (fastText's -wordNgrams has no staticvec equivalent: word "
     "n-grams serve fastText's supervised mode, which staticvec does not have; --minn/--maxn "
     "set character n-grams)"),
])
def test_migrant_flag_on_the_command_line(tmp_path, args, message):
    (tmp_path / "c.txt").write_text("a b c\n")
    result = run_cli(*args, cwd=tmp_path)
    assert_fails_cleanly(result, 2, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def test_unknown_option_that_is_no_migrant_keeps_clicks_message():
    result = run_cli("nearest", "king", "--bogus")
    assert_fails_cleanly(result, 2, "No such option: --bogus (see 'staticvec nearest --help')")


# ---------------------------------------------------------------- completion
def test_show_completion_prints_a_script():
    result = run_cli("--show-completion", "bash")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "_STATICVEC_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _staticvec_completion staticvec" in result.stdout


def test_completion_answers_the_shell():
    words = run_cli(env={"_STATICVEC_COMPLETE": "complete_bash",
                         "COMP_WORDS": "staticvec train-s", "COMP_CWORD": "1"})
    assert words.returncode == 0, words.stderr
    assert words.stdout.split() == ["train-skipgram"]
    options = run_cli(env={"_STATICVEC_COMPLETE": "complete_bash",
                           "COMP_WORDS": "staticvec nearest --to", "COMP_CWORD": "2"})
    assert options.stdout.split() == ["--topn"]


def test_install_completion_writes_into_home(tmp_path):
    result = run_cli("--install-completion", "bash", env={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "_staticvec_completion" in (tmp_path / ".bash_completions" / "staticvec.sh").read_text()
    assert ".bash_completions/staticvec.sh" in (tmp_path / ".bashrc").read_text()
