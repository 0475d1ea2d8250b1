"""The `vocab` command and the CLI conventions every command shares, through a real process."""
import gzip

from staticvec import __version__


def test_version_names_the_kernel_variant(cli):
    out = cli("--version")
    assert out.returncode == 0
    assert out.stdout.startswith(f"staticvec {__version__} (kernels: ")
    assert ("avx2+fma" in out.stdout) or ("generic" in out.stdout)
    forced = cli("--version", env={"STATICVEC_KERNEL": "generic"})
    assert "(kernels: generic x86-64)" in forced.stdout


def test_vocab_from_stdin_to_stdout(cli):
    out = cli("vocab", "-", "-o", "-", "--min-count", "2", stdin="b a b\nc a b\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "</s> 2\nb 3\na 2\n"
    assert "vocab: 6 tokens, 3 distinct words, 2 kept (min-count 2)" in out.stderr


def test_vocab_file_output_and_quiet(cli, tmp_path):
    src = tmp_path / "c.txt.gz"
    src.write_bytes(gzip.compress(b"x y x\n"))
    out = cli("vocab", src, "-o", tmp_path / "v.txt", "--min-count", "1", "-q")
    assert out.returncode == 0 and out.stderr == "" and out.stdout == ""
    assert (tmp_path / "v.txt").read_text() == "</s> 1\nx 2\ny 1\n"


def one_error_line(out, code):
    assert out.returncode == code, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("staticvec: error: "), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def test_missing_file(cli, tmp_path):
    line = one_error_line(cli("vocab", tmp_path / "nope.txt", "-o", tmp_path / "v.txt"), 1)
    assert line == f"staticvec: error: cannot read {tmp_path / 'nope.txt'}: no such file"
    assert not (tmp_path / "v.txt").exists()


def test_invalid_utf8_leaves_no_output(cli, tmp_path):
    src = tmp_path / "bad.txt"
    src.write_bytes(b"ok\n\xc3\x28 x\n")
    line = one_error_line(cli("vocab", src, "-o", tmp_path / "v.txt"), 1)
    assert line == (f"staticvec: error: {src}: invalid UTF-8 at byte offset 3 (byte 0xc3); "
                    "use --encoding-errors replace or ignore")
    assert list(tmp_path.iterdir()) == [src]


def test_binary_garbage_and_empty_input(cli, tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    assert "invalid UTF-8" in one_error_line(cli("vocab", garbage, "-o", "-"), 1)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert one_error_line(cli("vocab", empty, "-o", "-"), 1) == \
        f"staticvec: error: {empty}: no words found (empty input)"


def test_usage_errors_exit_2(cli, tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("a b\n")
    line = one_error_line(cli("vocab", src, "-o", "-", "--encoding-errors", "lenient"), 2)
    assert line == ("staticvec: error: invalid value for --encoding-errors: 'lenient' "
                    "(choose from strict, replace, ignore)")
    assert "--min-count" in one_error_line(cli("vocab", src, "-o", "-", "--min-count", "0"), 2)
    assert "No such option: --bogus" in one_error_line(cli("vocab", "--bogus"), 2)


def test_output_folder_missing(cli, tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("a b\n")
    line = one_error_line(cli("vocab", src, "-o", tmp_path / "no" / "v.txt", "--min-count", "1"), 1)
    assert line == f"staticvec: error: cannot write {tmp_path / 'no' / 'v.txt'}: folder " \
                   f"{tmp_path / 'no'} does not exist"


def test_every_command_help_shows_an_example(cli):
    commands = [[], ["vocab"], ["train-skipgram"], ["train-cbow"], ["train-glove"],
                ["train-fasttext"], ["nearest"], ["analogy"], ["evaluate"], ["evaluate", "analogy"],
                ["evaluate", "similarity"], ["bias-audit"], ["cache"], ["cache", "clear"]]
    for command in commands:
        out = cli(*command, "--help")
        assert out.returncode == 0 and "Example:" in out.stdout, command
