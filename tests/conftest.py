"""Shared test fixtures: every test gets its own encoded-corpus cache, never the user's."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MINI_CORPUS = REPO / "data" / "corpus" / "mini.txt.xz"
EVAL_DIR = REPO / "data" / "eval"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def run_cli(*args, stdin=None, env=None, cwd=None, timeout=300):
    """Run the real ``staticvec`` command in a subprocess; returns CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.pop("STATICVEC_MODEL", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "staticvec", *map(str, args)],
                          input=stdin, capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
