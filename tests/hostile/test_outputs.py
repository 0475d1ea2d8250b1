"""Hostile outputs: onto an input, onto each other, onto devices, FIFOs, folders and sockets;
a full disk under the fastText pair; side outputs of failed runs; a closed or full stdout;
warnings. Every case runs the real command in a subprocess."""
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

from staticvec.io import dispatch as formats

from conftest import assert_fails_cleanly, run_cli, snapshot

TRAIN_SMALL = ["--min-count", "1", "--dim", "8", "--epochs", "1", "--threads", "1", "-q"]
FASTTEXT_SMALL = TRAIN_SMALL + ["--bucket", "50", "--no-cache"]
GLOVE_SMALL = TRAIN_SMALL + ["--memory", "0.01"]


@pytest.fixture
def folder(tmp_path):
    """A folder with a small corpus ``corpus.txt`` (and its copy ``c.txt``)."""
    text = "".join(f"the cat sat on the mat with a hat and the dog ran home {i % 7}\n"
                   for i in range(120))
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny text model and an analogy and a similarity file for the query commands."""
    folder = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(0)
    words = "king queen man woman paris france rome italy he she doctor nurse".split()
    formats.save_vectors((words, rng.normal(size=(len(words), 4)).astype(np.float32)),
                         folder / "m.txt")
    (folder / "q.txt").write_text(": capitals\nparis france rome italy\n", encoding="utf-8")
    (folder / "s.txt").write_text("king queen 8\nman woman 7\nparis rome 5\n", encoding="utf-8")
    return folder


# ---------------------------------------------------------------- an output onto an input
@pytest.mark.parametrize("args, message", [
    (["train-skipgram", "corpus.txt", "-o", "corpus.txt"],
     "--output corpus.txt is the same file as the input corpus.txt"),
    (["train-cbow", "c.txt", "corpus.txt", "-o", "corpus.txt"],
     "--output corpus.txt is the same file as the input corpus.txt"),
    (["train-skipgram", "c.txt", "-o", "v.txt", "--save-vocab", "c.txt"],
     "--save-vocab c.txt is the same file as the input c.txt"),
    (["train-glove", "c.txt", "-o", "corpus.txt"],
     "--output corpus.txt is the same file as the input c.txt (hard link)"),
    (["train-glove", "c.txt", "-o", "g.txt", "--save-cooccur", "corpus.txt"],
     "--save-cooccur corpus.txt is the same file as the input c.txt (hard link)"),
    (["train-fasttext", "c.txt", "-o", "link"],
     "--output link.bin is the same file as the input c.txt (symbolic link)"),
    (["train-fasttext", "corpus.txt", "-o", "m", "--save-vocab", "corpus.txt"],
     "--save-vocab corpus.txt is the same file as the input corpus.txt"),
    (["vocab", "corpus.txt", "-o", "corpus.txt"],
     "--output corpus.txt is the same file as the input corpus.txt"),
    (["vocab", "c.txt", "-o", "link.bin"],
     "--output link.bin is the same file as the input c.txt (symbolic link)"),
])
def test_an_output_onto_an_input_is_refused_before_any_work(folder, args, message):
    if "(hard link)" in message:
        os.unlink(folder / "corpus.txt")
        os.link(folder / "c.txt", folder / "corpus.txt")
        message = message.removesuffix(" (hard link)")
    if "(symbolic link)" in message:
        os.symlink("c.txt", folder / "link.bin")
        message = message.removesuffix(" (symbolic link)")
    before = snapshot(folder)
    result = run_cli(*args, *(["-q"] if args[0] == "vocab" else TRAIN_SMALL), cwd=folder)
    assert_fails_cleanly(result, 2, message)
    assert snapshot(folder) == before


def test_outputs_onto_vocab_and_cooccur_inputs_are_refused(folder):
    assert run_cli("vocab", "c.txt", "-o", "voc.txt", "--min-count", "1", "-q",
                   cwd=folder).returncode == 0
    assert run_cli("train-glove", "c.txt", "-o", "g.txt", "--save-cooccur", "co.bin",
                   *GLOVE_SMALL, cwd=folder).returncode == 0
    before = snapshot(folder)
    result = run_cli("train-skipgram", "c.txt", "--vocab", "voc.txt", "-o", "v.txt",
                     "--save-vocab", "voc.txt", *TRAIN_SMALL, cwd=folder)
    assert_fails_cleanly(result, 2, "--save-vocab voc.txt is the same file as --vocab voc.txt")
    result = run_cli("train-glove", "--cooccur", "co.bin", "--vocab", "voc.txt", "-o", "co.bin",
                     *GLOVE_SMALL, cwd=folder)
    assert_fails_cleanly(result, 2, "--output co.bin is the same file as --cooccur co.bin")
    assert snapshot(folder) == before


def test_stdin_redirected_from_the_output_file_is_refused(folder):
    before = snapshot(folder)
    with open(folder / "c.txt", "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "staticvec", "train-cbow", "-", "-o",
                                 "c.txt", *TRAIN_SMALL], stdin=stdin, capture_output=True,
                                text=True, cwd=folder)
    assert_fails_cleanly(result, 2, "--output c.txt is the same file as the input - (stdin)")
    assert snapshot(folder) == before


@pytest.mark.parametrize("args, message", [
    (["train-skipgram", "c.txt", "-o", "v.txt", "--save-vocab", "v.txt"],
     "--output v.txt and --save-vocab v.txt are the same file: give each output its own name"),
    (["train-cbow", "c.txt", "-o", "-", "--save-vocab", "-"],
     "--output - and --save-vocab - both write to stdout: name a file for one of them"),
    (["train-glove", "c.txt", "-o", "g.txt", "--save-cooccur", "./g.txt"],
     "--output g.txt and --save-cooccur ./g.txt are the same file: give each output its own "
     "name"),
    (["train-fasttext", "c.txt", "-o", "m", "--save-vocab", "m.vec"],
     "--output m.vec and --save-vocab m.vec are the same file: give each output its own name"),
])
def test_two_outputs_of_one_run_on_one_file_are_refused(folder, args, message):
    before = snapshot(folder)
    result = run_cli(*args, *TRAIN_SMALL, cwd=folder)
    assert_fails_cleanly(result, 2, message)
    assert result.stdout == ""
    assert snapshot(folder) == before


# ---------------------------------------------------------------- compressed output names
# (issue #12 replaced the stopgap refusal of compressed names with real compressed writing:
# these tests used to assert exit 2 for every case below)
_MAGIC = {".gz": b"\x1f\x8b", ".bz2": b"BZh", ".xz": b"\xfd7zXZ\x00"}


@pytest.mark.parametrize("args, name, plain", [
    (["train-skipgram", "c.txt", "-o", "v.bin.gz"], "v.bin.gz", "v.bin"),
    (["train-cbow", "c.txt", "-o", "v.txt.bz2"], "v.txt.bz2", "v.txt"),
    (["train-glove", "c.txt", "-o", "g.vec.xz"], "g.vec.xz", "g.vec"),
    (["train-skipgram", "c.txt", "-o", "v.bin", "--save-vocab", "voc.txt.gz"], "voc.txt.gz",
     "voc.txt"),
    (["vocab", "c.txt", "-o", "voc.txt.gz"], "voc.txt.gz", "voc.txt"),
])
def test_a_compressed_output_is_written_compressed(folder, args, name, plain):
    """A .gz/.bz2/.xz output holds compressed data (the format follows the inner extension),
    equal once decompressed to what the plain name gets, and nothing else is left behind."""
    from staticvec.text.corpus import OPENERS

    small = ["-q"] if args[0] == "vocab" else TRAIN_SMALL + ["--no-cache"]
    result = run_cli(*args, *small, cwd=folder)
    assert result.returncode == 0, result.stderr
    data = (folder / name).read_bytes()
    assert data.startswith(_MAGIC[os.path.splitext(name)[1]])
    renamed = [plain if a == name else a for a in args]
    assert run_cli(*renamed, *small, cwd=folder).returncode == 0
    with OPENERS[os.path.splitext(name)[1]](folder / name, "rb") as handle:
        assert handle.read() == (folder / plain).read_bytes()
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]


@pytest.mark.parametrize("args, message", [
    (["train-fasttext", "c.txt", "-o", "m.bin.gz"],
     "--output m.bin.gz: cannot be compressed (.gz): train-fasttext writes STEM.bin, a plain "
     "fastText model, and STEM.vec: name a stem (compress STEM.vec afterwards, or convert it)"),
    (["train-glove", "c.txt", "-o", "g.txt", "--save-cooccur", "co.bin.lzma"],
     "--save-cooccur co.bin.lzma: cannot be compressed (.lzma): the records are read back in "
     "place (GloVe C's cooccurrence.bin layout)"),
    (["train-skipgram", "c.txt", "-o", "v.XZ"],
     "cannot tell the vectors format of v.XZ from its extension: use .bin (word2vec binary) "
     "or .txt/.vec (text)"),
])
def test_an_output_that_must_stay_plain_is_refused_before_any_work(folder, args, message):
    before = snapshot(folder)
    result = run_cli(*args, *TRAIN_SMALL, cwd=folder)
    assert_fails_cleanly(result, 2, message)
    assert result.stdout == ""
    assert snapshot(folder) == before


def test_save_vectors_compresses_by_name_and_reads_back(tmp_path):
    import gzip

    words, matrix = ["a", "b"], np.arange(4, dtype=np.float32).reshape(2, 2)
    formats.save_vectors((words, matrix), tmp_path / "v.bin.gz")
    formats.save_vectors((words, matrix), tmp_path / "v.bin")
    assert gzip.decompress((tmp_path / "v.bin.gz").read_bytes()) == (tmp_path / "v.bin").read_bytes()
    back = formats.load_vectors(tmp_path / "v.bin.gz")
    assert back.words == words and (back.matrix == matrix).all()
    assert sorted(os.listdir(tmp_path)) == ["v.bin", "v.bin.gz"]


# ---------------------------------------------------------------- outputs that are not files
def _char_device(path):
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
@pytest.mark.parametrize("command", ["vocab", "train-skipgram", "train-glove", "train-fasttext"])
def test_a_character_device_output_is_written_to_not_replaced(folder, command):
    for name in ("null.txt", "null.bin", "null.vec"):
        _char_device(folder / name)
    before = snapshot(folder)  # devices are not files: the corpus files only
    output = "null" if command == "train-fasttext" else "null.txt"
    options = {"vocab": ["--min-count", "1", "-q"], "train-fasttext": FASTTEXT_SMALL,
               "train-glove": GLOVE_SMALL}.get(command, TRAIN_SMALL)
    result = run_cli(command, "c.txt", "-o", output, *options, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for name in ("null.txt", "null.bin", "null.vec"):
        assert stat.S_ISCHR(os.lstat(folder / name).st_mode), name
    assert snapshot(folder) == before
    assert sorted(os.listdir(folder)) == ["c.txt", "corpus.txt", "null.bin", "null.txt",
                                          "null.vec"]


@pytest.mark.parametrize("command", ["train-skipgram", "train-glove", "vocab"])
def test_a_fifo_output_is_written_to_not_replaced(folder, command):
    fifo = folder / "pipe.txt"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    options = {"vocab": ["--min-count", "1", "-q"], "train-glove": GLOVE_SMALL}.get(
        command, TRAIN_SMALL)
    result = run_cli(command, "c.txt", "-o", fifo, *options, cwd=folder, timeout=60)
    reader.join(timeout=30)
    if reader.is_alive():  # the command never opened the FIFO: let the reader go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    lines = received[0].decode("utf-8").splitlines()
    words = len(set((folder / "c.txt").read_text(encoding="utf-8").split()))
    if command == "vocab":
        assert lines[:2] == ["</s> 120", "the 360"] and len(lines) == 1 + words
    else:
        assert lines[0] == f"{words} 8" and len(lines) == 1 + words
    assert sorted(os.listdir(folder)) == ["c.txt", "corpus.txt", "pipe.txt"]


@pytest.mark.parametrize("command, kind", [
    ("vocab", "folder"), ("train-cbow", "folder"), ("train-glove", "folder"),
    ("train-fasttext", "folder"), ("vocab", "socket"), ("train-fasttext", "socket")])
def test_a_folder_or_socket_output_is_refused(folder, kind, command):
    target = folder / ("out.bin" if command != "vocab" else "out.txt")
    if kind == "folder":
        target.mkdir()
    else:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
        server.close()
    before = snapshot(folder)
    output = target.stem if command == "train-fasttext" else target.name
    result = run_cli(command, "c.txt", "-o", output, *(
        ["-q"] if command == "vocab" else GLOVE_SMALL if command == "train-glove" else
        FASTTEXT_SMALL if command == "train-fasttext" else TRAIN_SMALL), cwd=folder)
    assert_fails_cleanly(result, 1, f"cannot write {target.name}: it is a {kind}")
    assert snapshot(folder) == before
    assert sorted(os.listdir(folder)) == ["c.txt", "corpus.txt", target.name]


# ---------------------------------------------------------------- the fastText pair
def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("failing", ["m.bin", "m.vec"])
def test_fasttext_pair_is_whole_or_nothing_on_a_full_disk(folder, failing):
    # the first run fills the cache, so that the second writes nothing but the pair
    small = ["--min-count", "1", "--dim", "16", "--epochs", "1", "--threads", "1", "-q",
             "--bucket", "1"]
    first = run_cli("train-fasttext", "c.txt", "-o", "m", *small, cwd=folder)
    assert first.returncode == 0, first.stderr
    before = snapshot(folder)
    bin_size, vec_size = len(before["m.bin"]), len(before["m.vec"])
    assert bin_size < vec_size  # text floats take more room than binary ones
    # the .bin is written first: a limit below it fails the first write, one between the
    # two sizes fails the second one, after the .bin was complete
    limit = bin_size // 2 if failing == "m.bin" else (bin_size + vec_size) // 2
    args = ["train-fasttext", "c.txt", "-o", "m", *small, "--seed", "9"]
    result = subprocess.run([sys.executable, "-m", "staticvec", *args], capture_output=True,
                            text=True, cwd=folder, preexec_fn=_file_size_limit(limit))
    assert_fails_cleanly(result, 1, f"cannot write {failing}: file too large for the file size "
                                    f"limit (nothing was written)")
    assert snapshot(folder) == before  # both old files byte for byte, no temporaries


# ---------------------------------------------------------------- side outputs of failed runs
def test_side_outputs_of_a_failed_run_are_not_written(folder):
    (folder / "one.txt").write_text("alpha\nbeta\n" * 50, encoding="utf-8")  # no pair at all
    before = snapshot(folder)
    result = run_cli("train-glove", "one.txt", "-o", "g.txt", "--save-vocab", "v.txt",
                     "--save-cooccur", "co.bin", *GLOVE_SMALL, cwd=folder)
    assert_fails_cleanly(result, 1, "no word pair co-occurs within the window: nothing to "
                                    "train on")
    assert snapshot(folder) == before


def test_side_outputs_appear_with_the_main_output(folder):
    result = run_cli("train-glove", "c.txt", "-o", "g.txt", "--save-vocab", "v.txt",
                     "--save-cooccur", "co.bin", *GLOVE_SMALL, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(folder)) == ["c.txt", "co.bin", "corpus.txt", "g.txt", "v.txt"]
    result = run_cli("train-fasttext", "c.txt", "-o", "m", "--save-vocab", "fv.txt",
                     *FASTTEXT_SMALL, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert (folder / "fv.txt").read_text(encoding="utf-8") == \
        (folder / "v.txt").read_text(encoding="utf-8")
    assert {"m.bin", "m.vec"} <= set(os.listdir(folder))


# ---------------------------------------------------------------- stdout
def _query_commands(model):
    m = str(model / "m.txt")
    return {
        "version": ["--version"],
        "nearest": ["nearest", "king", "-m", m, "-k", "2"],
        "analogy": ["analogy", "king", "man", "woman", "-m", m, "-k", "2"],
        "evaluate-analogy": ["evaluate", "analogy", str(model / "q.txt"), "-m", m, "--restrict",
                             "0"],
        "evaluate-similarity": ["evaluate", "similarity", str(model / "s.txt"), "-m", m],
        "bias-audit": ["bias-audit", "-m", m, "-q"],
    }


STDOUT_COMMANDS = ["version", "nearest", "analogy", "evaluate-analogy", "evaluate-similarity",
                   "bias-audit", "vocab", "train-skipgram", "train-glove"]


def _stdout_command(name, model, folder):
    if name in ("vocab", "train-skipgram", "train-glove"):
        options = {"vocab": ["--min-count", "1", "-q"], "train-glove": GLOVE_SMALL}.get(
            name, TRAIN_SMALL)
        return [name, str(folder / "c.txt"), "-o", "-", *options]
    return _query_commands(model)[name]


def _close_stdout():
    os.close(1)


@pytest.mark.parametrize("how", ["closed", "full"])
@pytest.mark.parametrize("name", STDOUT_COMMANDS)
def test_a_closed_or_full_stdout_is_one_error_line(model, folder, name, how):
    command = [sys.executable, "-m", "staticvec", *_stdout_command(name, model, folder)]
    before = snapshot(folder)
    if how == "closed":
        result = subprocess.run(command, stderr=subprocess.PIPE, text=True, cwd=folder,
                                preexec_fn=_close_stdout)
        reason = "it is closed"
    else:
        with open("/dev/full", "w") as full:
            result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True,
                                    cwd=folder)
        reason = "no space left on device"
    assert_fails_cleanly(result, 1, f"cannot write to stdout: {reason}")
    assert snapshot(folder) == before


def test_a_closed_stdout_is_no_error_for_a_command_that_does_not_use_it(folder):
    result = subprocess.run([sys.executable, "-m", "staticvec", "train-skipgram", "c.txt", "-o",
                             "v.txt", *TRAIN_SMALL], stderr=subprocess.PIPE, text=True,
                            cwd=folder, preexec_fn=_close_stdout)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (folder / "v.txt").read_text(encoding="utf-8").split("\n", 1)[0].endswith(" 8")


@pytest.mark.parametrize("name", ["nearest", "vocab"])
def test_a_reader_that_goes_away_ends_the_run_quietly(model, folder, name):
    """EPIPE (``| head``) is not an error: exit 0, nothing on stderr."""
    if name == "nearest":
        command = ["nearest", "-m", str(model / "m.txt"), "-k", "2"]
        stdin = b"king\nqueen\n" * 20000
    else:
        (folder / "big.txt").write_text(" ".join(f"w{i}" for i in range(200000)) + "\n",
                                        encoding="utf-8")
        command = ["vocab", "big.txt", "-o", "-", "--min-count", "1", "-q"]
        stdin = None
    proc = subprocess.Popen([sys.executable, "-m", "staticvec", *command], cwd=folder,
                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    if stdin:
        writer.start()
    assert proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    if stdin:
        writer.join(timeout=60)
    assert proc.wait(timeout=60) == 0, err
    assert err == ""


# ---------------------------------------------------------------- warnings
def test_python_warnings_reach_stderr_only_with_debug(tmp_path):
    """A warning raised while a command runs (numpy's RuntimeWarning, say) is logged, not
    printed: a command that warns is added to the app for this test only."""
    script = ("import sys, warnings\n"
              "import numpy as np\n"
              "from staticvec import cli\n"
              "@cli.app.command('warn')\n"
              "def warn():\n"
              "    np.array([1.0]) / np.array([0.0])\n"
              "    warnings.warn('plain warning text')\n"
              "    print('done')\n"
              "cli.main(sys.argv[1:])\n")
    quiet = subprocess.run([sys.executable, "-c", script, "warn"], capture_output=True,
                           text=True, cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "done\n", "")
    loud = subprocess.run([sys.executable, "-c", script, "warn", "--debug"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert loud.returncode == 0
    assert "divide by zero" in loud.stderr and "plain warning text" in loud.stderr
