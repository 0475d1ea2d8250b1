"""The README's Python examples run as written: every ```python block, in order, in one
namespace, in a folder holding the small ``vectors.bin`` and ``corpus.txt`` they use."""
import logging
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
WORDS = "king queen man woman paris france rome italy prince princess boy girl".split()


def python_blocks():
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                      flags=re.M | re.S)


def test_the_readme_has_python_examples():
    assert len(python_blocks()) >= 3


def test_readme_python_examples_run(tmp_path, monkeypatch):
    from staticvec.model.vectors import Vectors
    import staticvec.io.dispatch  # noqa: F401  (registers the writer Vectors.save uses)

    rng = np.random.default_rng(0)
    words = WORDS + [f"w{i}" for i in range(200)]
    Vectors(words, rng.normal(size=(len(words), 12)).astype(np.float32)).save(
        tmp_path / "vectors.bin")
    lines = [" ".join(rng.choice(WORDS, size=8)) for _ in range(300)]
    (tmp_path / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the examples call logging.basicConfig
    try:
        for number, block in enumerate(python_blocks(), 1):
            try:
                exec(compile(block, f"README.md python block {number}", "exec"), namespace)
            except Exception as exc:  # name the block that failed
                pytest.fail(f"README python block {number} failed: {exc!r}")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
