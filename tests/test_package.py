"""The package as a user installs it: an sdist built by the PEP 517 backend, installed with
pip into a fresh virtualenv outside the checkout, must build the kernels and answer a query.

Offline: the fresh venv sees this interpreter's site-packages (typer, rich, numpy,
setuptools, wheel, Cython, pip) through a ``.pth`` line, and pip runs with --no-index and
--no-build-isolation. The kernels are compiled with ``STATICVEC_CFLAGS=-O0`` (both variants,
every kernel, only without optimisation) to keep the test's wall time down.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
from conftest import assert_fails_cleanly

REPO = Path(__file__).resolve().parent.parent
# what a clean clone holds besides the package: build outputs and tools stay out of the copy
NOT_SOURCES = {".git", ".venv", "build", "dist", "data", "tests", "scripts", "demo", "bench-out",
               ".hypothesis", ".pytest_cache", ".ci"}


def _copy_sources(dest):
    """The checkout's sources without compiled or generated files (so the sdist is built
    from what git holds, not from this checkout's .so/.c files)."""
    def ignore(folder, names):
        top = Path(folder) == REPO
        return {n for n in names
                if (top and n in NOT_SOURCES) or n.endswith((".so", ".c", ".o", ".pyc"))
                or n in {"__pycache__", "staticvec.egg-info"}}
    shutil.copytree(REPO, dest, ignore=ignore)


def _run(cmd, **kwargs):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (cmd, result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.mark.slow
def test_sdist_installs_into_a_fresh_venv_and_answers(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "STATICVEC_KERNEL",
                                                            "STATICVEC_ONLY", "STATICVEC_MODEL"}}
    source = tmp_path / "source"
    _copy_sources(source)
    dist = tmp_path / "dist"
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
          "print(build_meta.build_sdist(sys.argv[1]))", dist], cwd=source, env=env)
    (sdist,) = dist.glob("staticvec-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {Path(*Path(n).parts[1:]).as_posix() for n in tar.getnames()}
    kernels = {p.name for p in (REPO / "staticvec" / "_kernels").iterdir()
               if p.suffix in {".pyx", ".pxd", ".h"}}
    assert {f"staticvec/_kernels/{k}" for k in kernels} <= names
    assert {"README.md", "staticvec/data/weat/weat1.json", "staticvec/data/debiaswe/LICENSE"} <= names
    assert not [n for n in names if n.endswith((".c", ".so"))]

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=env)
    python = venv / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                env=env).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "test-parent.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
          "--no-cache-dir", sdist], cwd=tmp_path, env={**env, "STATICVEC_CFLAGS": "-O0"})

    where = _run([python, "-c", "import staticvec; print(staticvec.__file__)"], cwd=tmp_path,
                 env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    installed = Path(where).parent / "_kernels"
    for variant in ("avx2", "generic") if (REPO / "staticvec/_kernels/avx2").exists() else ("generic",):
        built = {p.name.split(".")[0] for p in (installed / variant).glob("*.so")}
        assert built == {"word2vec", "fasttext", "glove", "cooccur", "vecio", "scan"}, (variant, built)
    assert {p.name.split(".")[0] for p in installed.glob("*.so")} == {"cpu", "tokenize"}
    assert not list(installed.glob("*.pyx")) and not list(installed.glob("*.c"))  # sources stay in the sdist
    assert (installed.parent / "data" / "weat" / "weat1.json").is_file()
    assert (installed.parent / "data" / "debiaswe" / "professions.json").is_file()

    staticvec = venv / "bin" / "staticvec"
    version = _run([staticvec, "--version"], cwd=tmp_path, env=env).stdout
    assert version.startswith("staticvec ") and "kernels: " in version
    assert any(label in version for label in ("avx2+fma", "generic")), version
    forced = _run([staticvec, "--version"], cwd=tmp_path, env={**env, "STATICVEC_KERNEL": "generic"})
    assert "kernels: generic" in forced.stdout

    vectors = tmp_path / "tiny.txt"
    vectors.write_text("4 2\nking 1 0\nqueen 0.9 0.1\napple 0 1\npear 0.1 0.9\n")
    answer = _run([staticvec, "nearest", "king", "-m", vectors, "-k", "1"], cwd=tmp_path, env=env)
    assert answer.stdout.split() == ["king", "queen", "0.9939"], answer.stdout


# ---------------------------------------------------------------- kernels missing
REBUILD = r"rebuild them: 'make build' in a checkout, or 'pip install \.'"


def _package_copy(dest, keep_so=lambda path: False):
    """A copy of the package with (some of) its compiled kernels left out."""
    package = REPO / "staticvec"
    shutil.copytree(package, dest / "staticvec", ignore=lambda folder, names: {
        n for n in names if n == "__pycache__"
        or (n.endswith(".so") and not keep_so(Path(folder, n).relative_to(package)))})
    return {**os.environ, "PYTHONPATH": str(dest)}


def test_no_kernels_is_one_line_not_a_traceback(tmp_path):
    env = _package_copy(tmp_path)
    for args in (["--version"], ["vocab", "c.txt", "-o", "v.txt"]):
        result = subprocess.run([sys.executable, "-m", "staticvec", *args], capture_output=True,
                                text=True, env=env, cwd=tmp_path)
        assert_fails_cleanly(result, 1, pattern=r"staticvec: error: the compiled kernels are "
                             r"missing or do not load \(staticvec\._kernels\.cpu: No module "
                             rf"named 'staticvec\._kernels\.cpu'\); {REBUILD}")
    # the library: an ImportError (so `import` fails as imports do) and a project error, one line
    probe = subprocess.run([sys.executable, "-c", "import staticvec.errors as e\ntry:\n"
                            "    import staticvec._kernels\nexcept ImportError as exc:\n"
                            "    print(isinstance(exc, e.StaticvecError), exc.exit_code, exc)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert re.fullmatch(rf"True 1 the compiled kernels .*; {REBUILD}\n", probe.stdout), probe.stdout


def test_missing_arithmetic_kernel_is_one_line(tmp_path):
    env = _package_copy(tmp_path, keep_so=lambda path: len(path.parts) == 2)  # cpu, tokenize only
    (tmp_path / "c.txt").write_text("a b c a b c\n" * 20)
    result = subprocess.run([sys.executable, "-m", "staticvec", "train-skipgram", "c.txt", "-o",
                             "v.txt", "--min-count", "1", "-q"], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert_fails_cleanly(result, 1, pattern=r"staticvec: error: the compiled kernels are missing "
                         rf"or do not load \(staticvec\._kernels\.generic\.\w+: .*\); {REBUILD}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt", "staticvec"]
