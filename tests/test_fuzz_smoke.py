"""The fuzz harnesses stay working: each runs over its seeds and a few hundred
deterministic mutations (no atheris needed), every stored crash reproducer is replayed,
and ``scripts/fuzz.py`` lists the harnesses (and fuzzes for real when atheris is there).

Mutations and replays run in a subprocess (``scripts/fuzz.py --smoke/--replay``) under
the script's 2 GB address-space limit, so a header that makes a reader allocate from its
claims fails with MemoryError instead of swapping, and a native crash fails one test
rather than the whole session.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "fuzz.py"
REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
sys.path.insert(0, str(REPO / "scripts"))

import fuzz_targets  # noqa: E402

from staticvec.errors import FormatError  # noqa: E402

NAMES = sorted(fuzz_targets.HARNESSES)
MUTATIONS = 300


def _fuzz(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_list_names_every_harness():
    result = _fuzz("--list")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == list(fuzz_targets.HARNESSES)
    assert {"w2v_binary", "w2v_text", "fasttext_bin", "vocab", "cache_manifest", "analogy",
            "similarity", "weat_json", "probes_json"} <= set(listed)


def test_unknown_harness_is_a_usage_error():
    result = _fuzz("no_such_reader", "--smoke", "1")
    assert result.returncode == 2
    assert "unknown harness 'no_such_reader'" in result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_seeds_are_accepted(name):
    """Every seed is a valid input: the harness runs it without any finding (and so
    fuzzing starts from inputs that reach deep into the reader)."""
    seeds = fuzz_targets.SEEDS[name]()
    assert seeds
    for data in seeds.values():
        fuzz_targets.HARNESSES[name](data)


@pytest.mark.parametrize("name", NAMES)
def test_mutations_raise_only_project_errors(name):
    result = _fuzz(name, "--smoke", MUTATIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{name}: " in result.stdout and " 0 findings" in result.stdout


def test_cache_harness_reaches_past_the_checksum(monkeypatch):
    """The cache seeds are whole entries (read back, not refused), and a fuzzed body sealed
    by the harness meets the manifest's field checks, not its checksum."""
    from staticvec.text import cache as encode

    run = fuzz_targets.HARNESSES["cache_manifest"]
    seeds = fuzz_targets.SEEDS["cache_manifest"]()
    real_load, loaded = encode._load_entry, []
    monkeypatch.setattr(encode, "_load_entry", lambda *a: loaded.append(real_load(*a)) or loaded[-1])
    for name in ("entry", "arrays", "arrays_empty"):
        run(seeds[name])
    assert len(loaded) == 3 and None not in loaded
    assert [len(e[0]) for e in loaded] == [5, 5, 0]  # (ids, ends, counts, folder)

    real_parse, refused = encode.parse_manifest, []

    def parse(data):
        try:
            return real_parse(data)
        except encode.CacheDamaged as exc:
            refused.append(str(exc))
            raise

    monkeypatch.setattr(encode, "parse_manifest", parse)
    run(b"\1" + b'{"key": 1}')   # sealed here
    run(b"\0" + b'{"key": 1}')   # raw bytes: no header line
    assert refused == ["manifest: ids_bytes is not a count",
                       "not a whole manifest (no staticvec-manifest header line)"]


def _stored():
    if not REGRESSIONS.is_dir():
        return []
    return sorted(p.name for p in REGRESSIONS.iterdir() if p.is_dir() and any(p.iterdir()))


def test_every_stored_reproducer_belongs_to_a_harness():
    assert set(_stored()) <= set(NAMES)


@pytest.mark.parametrize("name", _stored())
def test_stored_reproducers_raise_only_project_errors(name):
    """Every crash fuzzing found stays fixed (tests/fuzz_regressions/HARNESS/*)."""
    result = _fuzz(name, "--replay", REGRESSIONS / name)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len([p for p in (REGRESSIONS / name).iterdir() if p.is_file()])
    assert f"{name}: {count} inputs replayed, 0 findings" in result.stdout


def test_harness_lets_project_errors_pass_and_nothing_else(monkeypatch):
    """The filter the whole fuzzing rests on: StaticvecError passes, anything else (and
    any warning) escapes as a finding."""
    from staticvec.text import vocab

    run = fuzz_targets.HARNESSES["vocab"]
    run(b"")  # an empty vocabulary file: FormatError, not a finding

    def boom(*args, **kwargs):
        raise KeyError("not a project error")

    monkeypatch.setattr(vocab.Vocab, "load", classmethod(boom))
    with pytest.raises(KeyError):
        run(b"the 1\n")

    def warns(*args, **kwargs):
        import warnings
        warnings.warn("overflow encountered in cast", RuntimeWarning)

    monkeypatch.setattr(vocab.Vocab, "load", classmethod(warns))
    with pytest.raises(RuntimeWarning):
        run(b"the 1\n")

    def refuses(*args, **kwargs):
        raise FormatError("vocab.txt: damaged")

    monkeypatch.setattr(vocab.Vocab, "load", classmethod(refuses))
    run(b"the 1\n")


def test_mutations_are_deterministic_and_varied():
    first = list(fuzz_targets.mutations("w2v_binary", 50))
    assert first == list(fuzz_targets.mutations("w2v_binary", 50))
    seeds = set(fuzz_targets.SEEDS["w2v_binary"]().values())
    assert len({data for _, data in first} - seeds) > 40


def test_minimize_keeps_the_finding(monkeypatch):
    """--minimize shrinks a reproducer without changing which crash it reproduces."""
    import fuzz

    def fake(data):  # as a registered harness: returns quietly unless there is a finding
        if b"BAD" in data:
            raise ValueError("a finding")
        if b"B" in data:
            raise KeyError("another finding")

    monkeypatch.setitem(fuzz_targets.HARNESSES, "fake", fake)
    assert fuzz.minimize("fake", b"x" * 300 + b"BAD" + b"y" * 300) == b"BAD"
    assert fuzz.minimize("fake", b"harmless") == b"harmless"


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_real_atheris_run(tmp_path):
    # analogy: no finding in a 2-minute run nor in 3000 mutations
    result = _fuzz("analogy", "--seconds", 3, "--artifacts", tmp_path / "findings", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "analogy: " in result.stdout and " executions in 3 s, 0 findings" in result.stdout
    executions = int(result.stdout.split("analogy: ")[1].split(" ")[0].replace(",", ""))
    assert executions > 10
