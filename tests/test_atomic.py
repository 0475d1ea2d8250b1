import errno
import os
import signal
import socket
import stat
import threading

import pytest

from staticvec.atomic import atomic_output, check_outputs, outputs_together
from staticvec.errors import BadOptionError, OutputError


def test_output_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as handle:
            handle.write(b"half")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    with atomic_output(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "vecs.txt"

    with pytest.raises(OutputError) as err:
        with atomic_output(target) as handle:
            def write(_data):
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(handle, "write", write, raising=False)
            handle.write(b"x" * 10)
    assert str(err.value) == f"cannot write {target}: no space left on device (nothing was written)"
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_removes_the_temp_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(tmp_path / "v.bin") as handle:
            handle.write(b"partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_outputs_together_appear_together_or_not_at_all(tmp_path, monkeypatch):
    first, second = tmp_path / "m.bin", tmp_path / "m.vec"
    first.write_bytes(b"old bin")
    second.write_bytes(b"old vec")
    with pytest.raises(OutputError) as err:
        with outputs_together():
            with atomic_output(first) as handle:
                handle.write(b"new bin")
            assert first.read_bytes() == b"old bin"  # complete, but held back
            with atomic_output(second) as handle:
                def write(_data):
                    raise OSError(errno.EFBIG, "File too large")
                monkeypatch.setattr(handle, "write", write, raising=False)
                handle.write(b"new vec")
    assert str(err.value) == (f"cannot write {second}: file too large for the file size limit "
                              f"(nothing was written)")
    assert (first.read_bytes(), second.read_bytes()) == (b"old bin", b"old vec")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.vec"]
    with outputs_together():
        for path in (first, second):
            with atomic_output(path) as handle:
                handle.write(b"new")
    assert (first.read_bytes(), second.read_bytes()) == (b"new", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.vec"]


def test_ctrl_c_between_the_renames_waits_until_both_are_done(tmp_path, monkeypatch):
    replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # arrives between the two renames

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with outputs_together():
            for name in ("m.bin", "m.vec"):
                with atomic_output(tmp_path / name) as handle:
                    handle.write(b"whole")
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.vec"]


def test_a_fifo_is_written_to_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with atomic_output(fifo) as handle:
        handle.write(b"through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_a_character_device_is_written_to_in_place_and_is_no_one_s_input(tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    check_outputs([("--output", null)], [("the input", [null])])  # writing it destroys nothing
    with atomic_output(null) as handle:
        handle.write(b"gone")
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert os.listdir(tmp_path) == ["null"]


def test_folders_and_sockets_are_refused(tmp_path):
    (tmp_path / "dir").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    server.close()
    for name, kind in (("dir", "a folder"), ("sock", "a socket")):
        with pytest.raises(OutputError, match=f"^cannot write {tmp_path / name}: it is {kind}$"):
            with atomic_output(tmp_path / name) as handle:
                handle.write(b"x")


def test_check_outputs_finds_every_alias_of_an_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text("corpus")
    os.link("c.txt", "hard.txt")
    os.symlink("c.txt", "soft.txt")
    inputs = [("the input", ["c.txt"]), ("--vocab", None)]
    for alias in ("c.txt", "./c.txt", str(tmp_path / "c.txt"), "hard.txt", "soft.txt"):
        with pytest.raises(BadOptionError) as err:
            check_outputs([("--output", alias)], inputs)
        assert str(err.value) == f"--output {alias} is the same file as the input c.txt"
    check_outputs([("--output", "new.txt"), ("--save-vocab", None), ("--x", "-")], inputs)
    with pytest.raises(BadOptionError, match="^--output - and --save-vocab - both write to "):
        check_outputs([("--output", "-"), ("--save-vocab", "-")], inputs)
    with pytest.raises(BadOptionError, match="^--output new.txt and --save-vocab ./new.txt are "
                                             "the same file"):
        check_outputs([("--output", "new.txt"), ("--save-vocab", "./new.txt")], inputs)


def test_a_symbolic_link_is_written_through(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.bin").write_bytes(b"old")
    os.symlink("runs/a.bin", tmp_path / "latest.bin")
    with atomic_output(tmp_path / "latest.bin") as handle:
        handle.write(b"new")
    assert os.readlink(tmp_path / "latest.bin") == "runs/a.bin"
    assert (tmp_path / "runs" / "a.bin").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path / "runs")) == ["a.bin"]
