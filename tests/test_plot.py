"""Pictures: the PCA coordinates against numpy, and every picture rendered and read back."""
import os

import numpy as np
import pytest

from conftest import assert_fails_cleanly, run_cli, snapshot
from staticvec.io.dispatch import save_vectors
from staticvec.model.projection import pca_2d

WORDS = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "prince",
         "princess"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plot")
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((len(WORDS), 16)).astype(np.float32)
    matrix[1] = matrix[0] - matrix[2] + matrix[3] + 0.01  # king - man + woman = queen
    save_vectors((WORDS, matrix), folder / "v.txt")
    return folder / "v.txt"


def test_pca_matches_numpy_svd_up_to_sign():
    rows = np.random.default_rng(0).standard_normal((7, 5))
    coords, shares = pca_2d(rows)
    centred = rows - rows.mean(0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    for k in range(2):
        np.testing.assert_allclose(np.abs(coords[:, k]), np.abs(u[:, k] * s[k]), atol=1e-12)
        # the sign rule: the axis's largest loading is positive
        axis = vt[k] * np.sign(vt[k][np.argmax(np.abs(vt[k]))])
        np.testing.assert_allclose(coords[:, k], centred @ axis, atol=1e-12)
    np.testing.assert_allclose(shares, (s ** 2 / (s ** 2).sum())[:2], atol=1e-12)
    flat, flat_shares = pca_2d(rows[:2])  # two words: one axis, the other flat
    assert flat.shape == (2, 2) and np.abs(flat[:, 1]).max() < 1e-12 and flat_shares[1] < 1e-20


def _image(path):
    import matplotlib.image

    return matplotlib.image.imread(path)


@pytest.mark.parametrize("args", [
    ["king", "queen", "man", "woman", "paris", "france"],
    ["--nearest", "king", "-k", "5"],
    ["--analogy", "king", "man", "woman"],
])
def test_pictures_render(model, tmp_path, args):
    out = tmp_path / "p.png"
    result = run_cli("plot", *args, "-m", str(model), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _image(out).shape == (600, 800, 4)  # 8 x 6 inches at 100 dpi
    assert os.listdir(tmp_path) == ["p.png"]
    svg = tmp_path / "p.svg"
    assert run_cli("plot", *args, "-m", str(model), "-o", str(svg), "-q").returncode == 0
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    if args[0] == "--analogy":  # the answer is in the title and on the map
        assert "king - man + woman = queen" in text


def test_bias_audit_plot_draws_the_reported_professions(tmp_path):
    words = ["he", "she", "man", "woman", "his", "her", "him", "herself", "himself", "boy",
             "girl", "nurse", "engineer", "teacher", "doctor"]
    rng = np.random.default_rng(5)
    save_vectors((words, rng.standard_normal((len(words), 12)).astype(np.float32)),
                 tmp_path / "b.txt")
    result = run_cli("bias-audit", "-m", str(tmp_path / "b.txt"), "--only", "direction",
                     "--plot", str(tmp_path / "d.png"), "--json", "-q")
    assert result.returncode == 0, result.stderr
    assert _image(tmp_path / "d.png").shape == (400, 1000, 4)
    svg = tmp_path / "d.svg"
    assert run_cli("bias-audit", "-m", str(tmp_path / "b.txt"), "--only", "direction",
                   "--plot", str(svg), "-q").returncode == 0
    import json
    report = json.loads(result.stdout)["direction"]
    for word, _ in report["female_side"] + report["male_side"]:
        assert f">{word}<" in svg.read_text() or word in svg.read_text()


@pytest.mark.parametrize("args,code,pattern", [
    (["king", "-o", "p.png"], 2, r"a map needs at least 2 words \(got 1\)"),
    (["king", "queen", "--nearest", "king", "-o", "p.png"], 2, r"give words to map, or .*"),
    (["king", "queen", "-o", "p.jpg"], 2,
     r"cannot tell the picture format of p.jpg from its extension: use .png, .svg or .pdf"),
    (["king", "nosuchword", "-o", "p.png"], 3, r"unknown word: 'nosuchword' .*"),
    (["king", "queen", "-o", "m.png", "-m", "m.png"], 2, r".*same file.*"),
])
def test_plot_refusals(model, tmp_path, args, code, pattern):
    (tmp_path / "v.txt").write_bytes(model.read_bytes())
    (tmp_path / "m.png").write_bytes(model.read_bytes())  # a vectors file named like a picture
    before = snapshot(tmp_path)
    result = run_cli("plot", "-m", "v.txt", *args, "-q", cwd=tmp_path)
    assert_fails_cleanly(result, code, pattern=r"staticvec: error: " + pattern)
    assert snapshot(tmp_path) == before


def test_missing_matplotlib_is_one_line(model, tmp_path):
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "fake")]
                                         + [p for p in os.environ.get("PYTHONPATH", "").split(
                                             os.pathsep) if p])}
    result = run_cli("plot", "king", "queen", "-m", str(model), "-o", str(tmp_path / "p.png"),
                     env=env)
    assert_fails_cleanly(result, 1, message="pictures need matplotlib, which "
                                            "is not installed: pip install 'staticvec[plot]' "
                                            "(or pip install matplotlib)")
    result = run_cli("bias-audit", "-m", str(model), "--plot", str(tmp_path / "p.png"), env=env)
    assert_fails_cleanly(result, 1, pattern=r"staticvec: error: pictures need matplotlib.*")
    assert not (tmp_path / "p.png").exists()
