"""vocab and phrases on a Dask cluster (scale/counting.py): the counts, the vocabulary file
and the phrases output equal the single-process ones (the independent reference: the
threaded counters of text/), with shards cut inside files and across them; pruning bounds
every table; a shard that cannot be read fails the job with one line naming the file."""
import gzip
import random
import subprocess
import sys

import pytest

pytest.importorskip("distributed")

from conftest import assert_fails_cleanly, run_cli, snapshot  # noqa: E402
from staticvec.errors import InputError  # noqa: E402
from staticvec.scale import counting, inputs  # noqa: E402
from staticvec.text import corpus, phrases, vocab  # noqa: E402

WORDS = ["new", "york", "city", "is", "big", "déjà", "vu", "</s>", "los", "angeles", "a",
         "the", "of", "x" * 120]


def _text(seed, lines, last_newline=True):
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        line = []
        for _ in range(rng.randint(0, 14)):
            line += ["new", "york"] if rng.random() < 0.2 else [rng.choice(WORDS)]
        out.append(" ".join(line))
    return ("\n".join(out) + ("\n" if last_newline else "")).encode("utf-8")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask-corpus")
    (folder / "a.txt").write_bytes(_text(1, 400))
    (folder / "b.txt").write_bytes(_text(2, 300, last_newline=False))
    (folder / "c.txt.gz").write_bytes(gzip.compress(_text(3, 200)))
    (folder / "d.txt").write_bytes(b"\n\n")
    return [str(folder / n) for n in ("a.txt", "b.txt", "c.txt.gz", "d.txt")]


@pytest.fixture(scope="module")
def shards(files):
    return inputs.plan_shards(inputs.expand(files), 700)  # cut inside every plain file


def test_word_counts_equal_the_single_process_count(dask_cluster, files, shards):
    client, _ = dask_cluster
    assert len(shards) > 10
    got = counting.count_words(client, shards)
    assert got == vocab.count_words(files)


def test_pruning_bounds_every_table_and_is_reported(dask_cluster, files, shards):
    client, _ = dask_cluster
    true, _ = vocab.count_words(files)
    counted, stats = counting.count_words(client, shards, max_vocab_words=6)
    assert 0 < len(counted) <= 6 and stats["pruned_below"] > 1
    assert all(counted[w] <= true[w] for w in counted)  # pruning forgets, never invents
    assert stats["total_tokens"] == sum(true.values())
    words, pairs, tokens, _, pruned = counting.count_pairs(client, shards, 10)
    assert 0 < len(words) + len(pairs) <= 10 and pruned > 1  # words and pairs bound together
    assert tokens == sum(true.values()) - true["</s>"]  # (a line end to the pair counter)


def test_pair_counts_equal_the_single_process_count(dask_cluster, files, shards):
    client, _ = dask_cluster
    words, pairs, tokens, lines, pruned = counting.count_pairs(client, shards, 10 ** 6)
    ref = phrases.count_pairs(corpus.iter_chunks(files), 10 ** 6)

    def table(t):
        w, c = t.items()
        return dict(zip(w, c.tolist()))

    assert table(words) == table(ref[0])
    assert table(pairs) == table(ref[1])  # with the pairs across shards and files
    assert (tokens, lines, pruned) == ref[2:]


def test_phrases_equal_the_single_process_output(dask_cluster, files, shards, tmp_path):
    client, _ = dask_cluster
    options = dict(min_count=3, threshold=0.5, passes=2)
    ref = phrases.find_phrases(files, str(tmp_path / "ref.txt"),
                               save_phrases=str(tmp_path / "ref.tab"), **options)
    got = counting.find_phrases(client, shards, str(tmp_path / "got.txt"),
                                save_phrases=str(tmp_path / "got.tab"), **options)
    assert got == ref and ref["phrases"] > 0
    for name in ("txt", "tab"):
        assert (tmp_path / f"got.{name}").read_bytes() == (tmp_path / f"ref.{name}").read_bytes()


def test_vocab_command(dask_cluster, files, tmp_path):
    _, address = dask_cluster
    folder = str(files[0]).rsplit("/", 1)[0]
    ref = run_cli("vocab", *files, "-o", tmp_path / "ref.txt", "--min-count", "2")
    got = run_cli("vocab", f"{folder}/[ab].txt", f"file://{folder}/c.txt.gz", files[3],
                  "-o", tmp_path / "got.txt", "--min-count", "2", "--dask", address)
    assert ref.returncode == got.returncode == 0, got.stderr
    assert (tmp_path / "got.txt").read_bytes() == (tmp_path / "ref.txt").read_bytes()
    assert got.stderr.splitlines()[-1] == ref.stderr.splitlines()[-1]  # the summary line


def test_phrases_command(dask_cluster, files, tmp_path):
    _, address = dask_cluster
    args = ["--min-count", "3", "--threshold", "1", "-q"]
    ref = run_cli("phrases", *files, "-o", tmp_path / "ref.txt", *args)
    got = run_cli("phrases", *files, "-o", tmp_path / "got.txt", *args, "--dask", address)
    assert ref.returncode == got.returncode == 0, got.stderr
    assert (tmp_path / "got.txt").read_bytes() == (tmp_path / "ref.txt").read_bytes()


def test_an_unreadable_shard_fails_the_job_naming_the_file(dask_cluster, files, tmp_path):
    _, address = dask_cluster
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(gzip.compress(_text(9, 300))[:-30])
    before = snapshot(tmp_path)
    result = run_cli("vocab", files[0], bad, "-o", tmp_path / "out.txt", "-q",
                     "--dask", address)
    assert_fails_cleanly(result, 1, pattern=f"staticvec: error: cannot read {bad}: "
                                            f"damaged compressed data .*")
    client, _ = dask_cluster
    shards = inputs.plan_shards(inputs.expand([files[0], str(bad)]), 500)
    with pytest.raises(InputError, match=f"cannot read {bad}: damaged compressed data"):
        counting.find_phrases(client, shards, str(tmp_path / "out.txt"))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("value", ["local:0", "nonsense", "local"])
def test_a_bad_dask_value_is_refused(files, tmp_path, value):
    result = run_cli("vocab", files[0], "-o", tmp_path / "v.txt", "-q", "--dask", value)
    assert_fails_cleanly(result, 2, pattern=rf"staticvec: error: --dask must be .*\(got {value}\)")
    assert not (tmp_path / "v.txt").exists()


def test_a_missing_input_is_refused_before_any_cluster(tmp_path):
    result = run_cli("vocab", tmp_path / "none*.txt", "-o", tmp_path / "v.txt", "-q",
                     "--dask", "local:1")
    assert_fails_cleanly(result, 1, f"cannot read {tmp_path / 'none*.txt'}: no file matches it")


def test_without_dask_the_commands_never_import_it(files, tmp_path):
    code = ("import sys\nfrom staticvec.cli import main\n"
            f"sys.argv = ['staticvec', 'vocab', {files[0]!r}, '-o', {str(tmp_path / 'v')!r}, '-q']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"sys.argv = ['staticvec', 'phrases', {files[0]!r}, '-o', {str(tmp_path / 'p')!r}, '-q']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
    assert (tmp_path / "v").exists() and (tmp_path / "p").exists()
