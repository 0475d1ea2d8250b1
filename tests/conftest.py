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


@pytest.fixture(autouse=True)
def _restore_cli_state():
    """A test that runs ``cli.main`` in-process installs the CLI's stderr handler on the
    ``staticvec`` logger and its SIGTERM handler; take them away again, so no later test sees
    CLI output from the library's log records (or a process that ignores SIGTERM)."""
    import logging
    import signal

    logger = logging.getLogger("staticvec")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    sigterm = signal.getsignal(signal.SIGTERM)
    yield
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]
    signal.signal(signal.SIGTERM, sigterm)


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


def snapshot(folder):
    """{relative path: bytes} of every file under ``folder`` (to prove inputs unchanged and
    that no stray temporary or partial output was left behind)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_fails_cleanly(result, code, message=None, *, pattern=None):
    """The hostile-input contract: exit ``code``, exactly one stderr line starting with
    ``staticvec: error: `` (equal to ``message``, or matching the regex ``pattern``), no
    traceback. Returns that line."""
    import re

    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("staticvec: error: "), line
    if message is not None:
        assert line == f"staticvec: error: {message}", line
    if pattern is not None:
        assert re.fullmatch(pattern, line), line
    return line


@pytest.fixture(scope="session")
def dask_cluster():
    """One LocalCluster of two worker processes (one thread each) for every --dask test of
    the session: ``(client, scheduler address)``; the CLI tests pass the address as --dask,
    so they share the workers instead of starting a cluster each. Skipped without Dask."""
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL)
    client = distributed.Client(cluster)
    try:
        yield client, cluster.scheduler_address
    finally:
        client.close()
        cluster.close()
