import errno
import os
import pytest

from staticvec.atomic import atomic_output
from staticvec.errors import OutputError


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
