"""--checkpoint / --checkpoint-every / --resume against bad values and damaged or foreign
checkpoints: one error line, the documented exit code (2: options, 1: a missing, damaged or
foreign checkpoint or a changed corpus), no output, and the checkpoint left as it was."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import assert_fails_cleanly, snapshot
from corpora import tiny_corpus
from test_options import _cli  # in this process: every refusal comes before any training
from staticvec.text.cache import seal, unseal

ARGS = ("--dim", "8", "--epochs", "40", "--threads", "1", "--seed", "1", "-q")


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory):
    """(corpus, checkpoint folder) of a train-skipgram run SIGTERMed after its first epoch."""
    folder = tmp_path_factory.mktemp("made")
    corpus = tiny_corpus(folder / "corpus.txt", lines=40)
    ck = folder / "ck"
    proc = subprocess.Popen([sys.executable, "-m", "staticvec", "train-skipgram", str(corpus),
                             "-o", str(folder / "v.bin"), *ARGS, "--checkpoint", str(ck)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (ck.is_dir() and os.listdir(ck)) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 143, proc.stderr.read()
    return corpus, ck


@pytest.fixture
def made(checkpointed, capsys):
    """(corpus, checkpoint folder, capsys)."""
    return (*checkpointed, capsys)


@pytest.fixture
def ck(made, tmp_path):
    """A private copy of the checkpoint folder (to damage)."""
    copy = tmp_path / "ck"
    shutil.copytree(made[1], copy)
    return copy


def _latest(folder):
    return folder / max(os.listdir(folder))


def _resume(made, ck, tmp_path, *extra, command="train-skipgram", corpus=None, args=ARGS):
    before = snapshot(ck) if os.path.isdir(ck) else None
    result = _cli(made[2], command, corpus or made[0], "-o", tmp_path / "out.bin", *args,
                     "--resume", ck, *extra)
    assert not (tmp_path / "out.bin").exists()
    if before is not None:
        assert snapshot(ck) == before  # a refused resume leaves the checkpoint as it was
    return result


def _with(args, option, value):
    args = list(args)
    if option in args:
        args[args.index(option) + 1] = value
        return args
    return args + [option] + ([value] if value is not None else [])


@pytest.mark.parametrize("option, value, message", [
    ("--dim", "16", "--dim must be 8, as in the checkpoint in {ck} (got 16)"),
    ("--threads", "2", "--threads must be 1, as in the checkpoint in {ck} (got 2)"),
    ("--seed", "2", "--seed must be 1, as in the checkpoint in {ck} (got 2)"),
    ("--epochs", "41", "--epochs must be 40, as in the checkpoint in {ck} (got 41)"),
    ("--hs", None, "--hs must be off, as in the checkpoint in {ck} (got on)"),
    ("--sample", "0.01", "--sample must be 0.001, as in the checkpoint in {ck} (got 0.01)"),
    ("--order", "sequential", "--order must be shuffled, as in the checkpoint in {ck} (got "
                              "sequential)"),
])
def test_resume_with_other_options_is_refused(made, ck, tmp_path, option, value, message):
    result = _resume(made, ck, tmp_path, args=_with(ARGS, option, value))
    assert_fails_cleanly(result, 2, message.format(ck=ck))


def test_a_checkpoint_from_before_order_was_made_in_the_sequential_order(made, ck, tmp_path):
    # checkpoints written before --order existed lack it: they were trained sequentially
    import json

    from staticvec.text.cache import seal, unseal

    manifest = _latest(ck) / "manifest"
    record = unseal("checkpoint", manifest.read_bytes())
    del record["options"]["order"], record["options"]["shuffle_block"]
    manifest.write_bytes(seal("checkpoint", json.dumps(record, sort_keys=True).encode()))
    result = _resume(made, ck, tmp_path)
    assert_fails_cleanly(result, 2, f"--order must be sequential, as in the checkpoint in {ck} "
                                    f"(got shuffled)")


def test_resume_with_another_trainer_is_refused(made, ck, tmp_path):
    result = _resume(made, ck, tmp_path, command="train-cbow")
    assert_fails_cleanly(result, 2, f"--resume {ck}: the checkpoint is of train-skipgram, "
                                    f"not train-cbow")


@pytest.mark.parametrize("change", ["append", "same-size"])
def test_resume_on_a_changed_corpus_is_refused(made, ck, tmp_path, change):
    corpus = tmp_path / "corpus.txt"
    text = made[0].read_text(encoding="utf-8")
    if change == "append":
        text += text.splitlines()[0] + "\n"
    else:  # two words swapped in the middle: same size, same vocabulary, other token order
        words = text.split(" ")
        middle = len(words) // 2
        words[middle], words[middle + 1] = words[middle + 1], words[middle]
        assert words[middle] != words[middle + 1]
        text = " ".join(words)
    corpus.write_text(text, encoding="utf-8")
    result = _resume(made, ck, tmp_path, corpus=corpus)
    assert_fails_cleanly(result, 1, f"--resume {ck}: the corpus (or its vocabulary) is not the "
                                    f"one the checkpoint was trained on (its fingerprint "
                                    f"changed)")


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def _reseal(manifest, **changes):
    """Rewrite a manifest with ``changes`` applied (a well-formed but lying manifest)."""
    record = unseal("checkpoint", manifest.read_bytes())
    for key, change in changes.items():
        change(record) if callable(change) else record.__setitem__(key, change)
    manifest.write_bytes(seal("checkpoint", json.dumps(record).encode()))


def _huge(record):
    record["files"]["syn0"]["shape"] = [1 << 39, 16]


DAMAGE = {
    "manifest bit flip": (lambda c: _flip(c / "manifest", -20),
                          r"the checkpoint does not match its checksum"),
    "manifest gone": (lambda c: os.remove(c / "manifest"), r"no manifest"),
    "manifest of another version": (lambda c: _reseal(c / "manifest", version=99),
                                    r"checkpoint version '99', expected 1"),
    "manifest not json": (lambda c: (c / "manifest").write_bytes(seal("checkpoint", b"{x")),
                          r"the checkpoint is not valid JSON .*"),
    "manifest lies about a size": (lambda c: _reseal(c / "manifest", files=_huge),
                                   r"syn0\.npy is <f4 \(549755813888, 16\), this run needs "
                                   r"<f4 \(\d+, 16\)"),
    "matrix truncated": (lambda c: os.truncate(c / "syn0.npy", 1000),
                         r"syn0\.npy holds 1,000 bytes, its manifest says [\d,]+"),
    "matrix bit flip": (lambda c: _flip(c / "syn0.npy", -5),
                        r"syn0\.npy does not match its checksum"),
    "matrix gone": (lambda c: os.remove(c / "syn1neg.npy"), r"no syn1neg\.npy"),
    "state header changed": (lambda c: _flip(c / "state.npy", 20),
                             r"state\.npy(:.*| is not .*|'s header does not match .*| does "
                             r"not match its checksum)"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_refused(made, ck, tmp_path, damage):
    harm, reason = DAMAGE[damage]
    latest = _latest(ck)
    harm(latest)
    result = _resume(made, ck, tmp_path)
    assert_fails_cleanly(result, 1, pattern=rf"staticvec: error: --resume {ck}: the checkpoint "
                                            rf"{latest.name} is damaged \({reason}\)")


def test_resume_from_nothing_is_refused(made, tmp_path):
    missing = tmp_path / "missing"
    assert_fails_cleanly(_resume(made, missing, tmp_path), 1,
                         f"--resume {missing}: no such folder (nothing to resume)")
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_fails_cleanly(_resume(made, empty, tmp_path), 1,
                         f"--resume {empty}: no checkpoint in this folder (nothing to resume; "
                         f"start with --checkpoint {empty})")
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert_fails_cleanly(_resume(made, afile, tmp_path), 1,
                         f"--resume {afile}: not a folder (nothing to resume)")


def test_a_new_run_does_not_overwrite_a_checkpoint(made, ck, tmp_path):
    before = snapshot(ck)
    result = _cli(made[2], "train-skipgram", made[0], "-o", tmp_path / "out.bin", *ARGS,
                     "--checkpoint", ck)
    assert_fails_cleanly(result, 2, f"--checkpoint {ck} already holds a checkpoint: continue "
                                    f"it with --resume {ck}, or remove it")
    assert snapshot(ck) == before


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_checkpoint_every_bounds(made, tmp_path, value):
    result = _cli(made[2], "train-skipgram", made[0], "-o", tmp_path / "out.bin", *ARGS,
                     "--checkpoint", tmp_path / "ck", "--checkpoint-every", value)
    assert_fails_cleanly(result, 2, pattern=r"staticvec: error: --checkpoint-every must be a "
                                            r"finite number > 0 \(got .*\)")
    assert os.listdir(tmp_path) == []


def test_checkpoint_every_needs_a_folder_and_a_folder_must_be_one(made, tmp_path):
    result = _cli(made[2], "train-skipgram", made[0], "-o", tmp_path / "out.bin", *ARGS,
                     "--checkpoint-every", "1")
    assert_fails_cleanly(result, 2, "--checkpoint-every needs --checkpoint DIR")
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = _cli(made[2], "train-skipgram", made[0], "-o", tmp_path / "out.bin", *ARGS,
                     "--checkpoint", afile)
    assert_fails_cleanly(result, 2, f"--checkpoint {afile} is not a folder")
    assert sorted(os.listdir(tmp_path)) == ["afile"]
