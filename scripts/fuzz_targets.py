"""Fuzz harnesses for staticvec's readers: one function per reader, taking ``data: bytes``.

Each harness hands the bytes to one reader (through a file when the reader takes a path)
and lets only ``StaticvecError`` pass: any other exception, and any Python warning
(turned into an error here, since no warning text may reach a user's stderr), escapes
and is a finding. The functions need neither atheris nor any file outside this module:
``SEEDS[name]()`` builds small valid inputs with staticvec's own writers, and
``mutations`` derives deterministic damaged variants of them, so the test suite can run
every harness briefly without a fuzzer (tests/test_fuzz_smoke.py) while
``scripts/fuzz.py`` drives the same functions under atheris.
"""
import atexit
import contextlib
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import warnings

HARNESSES = {}   # name -> function(data: bytes)
SEEDS = {}       # name -> function() -> {seed name: bytes}
DESCRIPTIONS = {}

_WORDS = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "good", "better",
          "bad", "worse", "doctor", "nurse", "he", "she", "aster", "clover", "hyacinth", "ant",
          "flea", "moth", "caress", "freedom", "health", "abuse", "crash", "filth", "King",
          "café", "</s>"]
_DIM = 6
_state = {}


def harness(name, description):
    """Register ``fn(data)`` as the harness ``name``."""
    def register(fn):
        def run(data):
            with _quiet_stderr(), warnings.catch_warnings():
                warnings.simplefilter("error")
                try:
                    fn(bytes(data))
                except _project_error():
                    pass
        run.__name__ = run.__qualname__ = f"fuzz_{name}"
        run.__doc__ = fn.__doc__
        HARNESSES[name] = run
        DESCRIPTIONS[name] = description
        return run
    return register


def seeds(name):
    def register(fn):
        SEEDS[name] = fn
        return fn
    return register


def _project_error():
    from staticvec.errors import StaticvecError
    return StaticvecError


@contextlib.contextmanager
def _quiet_stderr():
    """Nothing of the library should reach stderr; if something does, keep the log readable."""
    saved = sys.stderr
    sys.stderr = io.StringIO()
    try:
        yield
    finally:
        sys.stderr = saved


def workdir():
    """One private temporary folder per process, removed at exit."""
    if "dir" not in _state:
        _state["dir"] = tempfile.mkdtemp(prefix="staticvec-fuzz-")
        atexit.register(shutil.rmtree, _state["dir"], True)
    return _state["dir"]


def use_workdir(path):
    """Write the harnesses' files under ``path`` (a process that libFuzzer ends with a
    C-level exit never runs ``atexit``: its parent removes ``path`` instead)."""
    os.makedirs(path, exist_ok=True)
    _state["dir"] = path


def _file(name, data):
    path = os.path.join(workdir(), name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def tiny_vectors():
    """A few words (some from the shipped WEAT 1 and the probe defaults) with fixed vectors."""
    if "vectors" not in _state:
        import numpy as np

        from staticvec.model.vectors import Vectors
        rng = np.random.default_rng(0)
        matrix = rng.standard_normal((len(_WORDS), _DIM)).astype(np.float32)
        matrix[-2] = 0.0  # a zero row: scored 0, never divided by
        _state["vectors"] = Vectors(list(_WORDS), matrix)
    return _state["vectors"]


# ---------------------------------------------------------------- word2vec / GloVe vectors
@harness("w2v_binary", "word2vec binary: formats.load_vectors(fmt='binary')")
def fuzz_w2v_binary(data):
    from staticvec.io.dispatch import load_vectors
    path = _file("vectors.bin", data)
    _with_limit(load_vectors, path, "binary")


@harness("w2v_text", "word2vec/GloVe text: formats.load_vectors(fmt='text')")
def fuzz_w2v_text(data):
    from staticvec.io.dispatch import load_vectors
    path = _file("vectors.txt", data)
    _with_limit(load_vectors, path, "text")


def _with_limit(load_vectors, path, fmt):
    """The whole file, then its first 2 rows only (load(limit=...) stops reading early: a
    path of its own through the reader)."""
    refused = _project_error()
    for limit in (None, 2):
        try:
            load_vectors(path, fmt=fmt, limit=limit)
        except refused:  # a refusal is an answer; anything else escapes (a finding)
            pass


@harness("w2v_sniff", "format sniffing: formats.load_vectors(fmt=None), detect_format")
def fuzz_w2v_sniff(data):
    from staticvec.io.dispatch import detect_format, load_vectors
    path = _file("vectors", data)  # no extension: the content alone decides
    if data:
        detect_format(path)
    load_vectors(path)


_COMPRESSED = (".gz", ".bz2", ".xz")


@harness("w2v_compressed", "compressed vectors: first byte picks .gz/.bz2/.xz, the rest is the file")
def fuzz_w2v_compressed(data):
    from staticvec.io.dispatch import load_vectors
    if not data:
        return
    ext = _COMPRESSED[data[0] % len(_COMPRESSED)]
    load_vectors(_file("vectors.vec" + ext, data[1:]))


@harness("stream_queries", "io.stream.stream_queries on a word2vec binary file (query one-offs)")
def fuzz_stream_queries(data):
    from staticvec.io.dispatch import load_vectors
    from staticvec.io.stream import stream_queries
    path = _file("stream.bin", data)
    queries = [(["king"], []), (["king", "woman"], ["man"]), (["nosuchword"], [])]
    for method in ("add", "mul"):
        streamed = stream_queries(path, queries, topn=3, method=method, block_rows=2)
        if streamed is None:
            continue
        # streaming is a shortcut: the same file loaded whole must give the same answers
        vectors = load_vectors(path, fmt="binary")
        for (pos, neg), answer in zip(queries, streamed):
            try:
                loaded = (vectors.most_similar if method == "add" else
                          vectors.most_similar_cosmul)(pos, neg, topn=3)
            except _project_error() as exc:
                loaded = exc
            if isinstance(answer, Exception) or isinstance(loaded, Exception):
                assert (type(answer), str(answer)) == (type(loaded), str(loaded)), \
                    (answer, loaded)
            else:
                assert [w for w, _ in answer] == [w for w, _ in loaded], (answer, loaded)


def _w2v_seeds(fmt):
    import numpy as np

    from staticvec.io.dispatch import save_vectors
    vectors = tiny_vectors()
    out = {}
    path = os.path.join(workdir(), "seed." + ("bin" if fmt == "binary" else "txt"))
    save_vectors(vectors, path, fmt=fmt)
    out["tiny"] = open(path, "rb").read()
    odd = np.array([[1e-45, -0.0, 3.4e38], [1.5, -2.25, 1e-3]], dtype=np.float32)
    save_vectors((["a", "b\u0301c"], odd), path, fmt=fmt)
    out["awkward"] = open(path, "rb").read()
    save_vectors((["x"], np.ones((1, 1), dtype=np.float32)), path, fmt=fmt)
    out["one"] = open(path, "rb").read()
    return out


@seeds("w2v_binary")
def seeds_w2v_binary():
    out = _w2v_seeds("binary")
    out["gensim_dialect"] = out["one"].rstrip(b"\n")  # no newline after the floats
    return out


@seeds("w2v_text")
def seeds_w2v_text():
    out = _w2v_seeds("text")
    out["glove_headerless"] = b"the 0.1 -0.2 0.3\nof 1e-3 2E+2 -0.0\n"
    out["c_style"] = b"2 2\nthe 0.100000 -0.200000 \nof 1.000000 2.000000 \n"
    return out


@seeds("w2v_sniff")
def seeds_w2v_sniff():
    out = {f"bin_{k}": v for k, v in _w2v_seeds("binary").items()}
    out.update({f"txt_{k}": v for k, v in seeds_w2v_text().items()})
    out["fasttext"] = seeds_fasttext_bin()["tiny"]
    return out


@seeds("w2v_compressed")
def seeds_w2v_compressed():
    import bz2
    import gzip
    import lzma
    out = {}
    plain = {"bin": _w2v_seeds("binary")["tiny"], "txt": _w2v_seeds("text")["awkward"]}
    for i, (ext, compress) in enumerate(((".gz", lambda b: gzip.compress(b, mtime=0)),
                                         (".bz2", bz2.compress), (".xz", lzma.compress))):
        for kind, raw in plain.items():
            out[f"{kind}{ext}"] = bytes([i]) + compress(raw)
    return out


@seeds("stream_queries")
def seeds_stream_queries():
    return _w2v_seeds("binary")


@harness("convert", "io.convert: first byte picks the input's name (.bin/.txt/.bin.gz/.txt.xz), "
                    "the rest is the file; streamed output == load + save")
def fuzz_convert(data):
    from staticvec.io.convert import convert_vectors
    from staticvec.io.dispatch import load_vectors, save_vectors
    if not data:
        return
    name, pack = _CONVERT_INPUTS[data[0] % len(_CONVERT_INPUTS)]
    path = _file("convert." + name, pack(data[1:]))
    for out, limit in (("out.txt", None), ("out.bin", 2)):
        target = os.path.join(workdir(), out)
        try:
            convert_vectors(path, target, limit=limit)
        except _project_error() as exc:
            refused = exc
        else:
            refused = None
        # streaming is a way of doing load + save: both refuse (naming the first damage
        # each meets: the stream decodes words as it goes, load at the end), or both
        # write the same bytes
        reference = os.path.join(workdir(), "ref." + out)
        try:
            vectors = load_vectors(path, limit=limit)
            save_vectors(vectors, reference)
        except _project_error() as exc:
            assert refused is not None, exc
            continue
        assert refused is None, refused
        with open(target, "rb") as got, open(reference, "rb") as expected:
            assert got.read() == expected.read()


def _gzip(data):
    import gzip
    return gzip.compress(data, mtime=0)


def _xz(data):
    import lzma
    return lzma.compress(data)


_CONVERT_INPUTS = [("bin", bytes), ("txt", bytes), ("bin.gz", _gzip), ("txt.xz", _xz)]


@seeds("convert")
def seeds_convert():
    out = {}
    for i, (name, _) in enumerate(_CONVERT_INPUTS):
        fmt = "binary" if name.startswith("bin") else "text"
        for kind, raw in _w2v_seeds(fmt).items():
            out[f"{name}_{kind}"] = bytes([i]) + raw
    out["txt_repeated"] = b"\x01" + b"3 2\na 1 2\nb 3 4\na 5 6\n"
    return out


@harness("embedded_npy", "io.embeddings: a search index (.npy) and a SIF component file")
def fuzz_embedded_npy(data):
    from staticvec.io.embeddings import read_component, read_index
    path = _file("index.npy", data)
    texts = _file("texts.txt", b"a b\nc\n")
    read_component(path, _DIM)
    matrix, lines = read_index(path, texts, _DIM)
    assert matrix.shape == (len(lines), _DIM)


@seeds("embedded_npy")
def seeds_embedded_npy():
    import numpy as np
    out = {}
    for name, array in (("index", np.ones((2, _DIM), np.float32)),
                        ("component", np.arange(_DIM, dtype=np.float64))):
        buf = io.BytesIO()
        np.save(buf, array)
        out[name] = buf.getvalue()
    return out


# ---------------------------------------------------------------- fastText .bin
@harness("fasttext_bin", "fastText .bin: formats.load_vectors(fmt='fasttext') -> fasttext_bin")
def fuzz_fasttext_bin(data):
    from staticvec.io.dispatch import load_vectors
    vectors = load_vectors(_file("model.bin", data), fmt="fasttext")
    if len(vectors):  # what `nearest` does next: a known word, then an unseen one
        vectors.vector(vectors.words[0], norm=True)
    if vectors.has_vector("zzqx"):
        vectors.vector("zzqx", norm=True)


@seeds("fasttext_bin")
def seeds_fasttext_bin():
    import numpy as np

    from staticvec.io.fasttext_bin import save_model
    rng = np.random.default_rng(1)
    path = os.path.join(workdir(), "seed-ft.bin")
    out = {}
    for name, words, bucket, minn, maxn in (("tiny", ["</s>", "the", "café", "of"], 7, 3, 4),
                                            ("nobucket", ["a", "b"], 0, 0, 0)):
        inp = rng.standard_normal((len(words) + bucket, 3)).astype(np.float32)
        outm = rng.standard_normal((len(words), 3)).astype(np.float32)
        save_model(path, words, [5] * len(words), inp, outm, bucket=bucket, minn=minn, maxn=maxn)
        out[name] = open(path, "rb").read()
    return out


# ---------------------------------------------------------------- vocab file
@harness("vocab", "vocab file: vocab.Vocab.load")
def fuzz_vocab(data):
    from staticvec.text.vocab import Vocab
    path = _file("vocab.txt", data)
    Vocab.load(path)
    Vocab.load(path, min_count=2, max_size=3)


@seeds("vocab")
def seeds_vocab():
    from staticvec.text.vocab import Vocab
    path = os.path.join(workdir(), "seed-vocab.txt")
    Vocab(["the", "of", "café", "b\u0301"], [10, 7, 7, 1], total_lines=4).save(path)
    return {"ours": open(path, "rb").read(),
            "word2vec_c": b"</s> 0\nthe 5\nof 3\n",
            "no_sentence_line": b"the 2\nof 1\n"}


# ---------------------------------------------------------------- encoded-corpus cache
# A cache entry is a folder KEY/ holding ids.u32, ends.u64 and a sealed ``manifest``
# (encode.seal: a checksum header line, then JSON); word counts are one sealed
# KEY.counts.json. The first byte of the input picks what the rest is:
#   0  raw file bytes for encode.parse_manifest and encode.parse_counts (checksum first)
#   1  a JSON body, sealed here, so mutations get past the checksum into the validation
#   2  the body of an entry's manifest, sealed and laid out beside small fixed arrays,
#      read by encode._load_entry (what a training does with a cached entry)
#   3  the entry's arrays (byte 1: length of ids.u32, then ids.u32, then ends.u64), with
#      a manifest that describes them truthfully: the id-range and sentence-end checks
_CACHE_KEY = "0123456789abcdef0123456789abcdef"
_CACHE_VOCAB = 3
_CACHE_IDS = (0, 1, 2, 1, 0)   # 5 token ids
_CACHE_ENDS = (3, 5)           # 2 sentences
_CACHE_MODES = 4


def _cache_arrays():
    import numpy as np
    return (np.array(_CACHE_IDS, dtype=np.uint32).tobytes(),
            np.array(_CACHE_ENDS, dtype=np.uint64).tobytes())


def _manifest_record(ids, ends, **changes):
    """What encode writes for an entry holding the arrays ``ids`` and ``ends`` (bytes)."""
    from staticvec.text import cache as encode
    sample = lambda b: encode._sample_digest(io.BytesIO(b), len(b))  # noqa: E731
    record = {"key": _CACHE_KEY, "ids_bytes": len(ids), "ends_bytes": len(ends),
              "n_tokens": len(ids) // 4, "n_sentences": len(ends) // 8,
              "vocab_size": _CACHE_VOCAB, "raw_tokens": len(ids) // 4 + 2, "splits": 0,
              "ids_sample": sample(ids), "ends_sample": sample(ends),
              "inputs": ["/tmp/corpus.txt"]}
    record.update(changes)
    return record


def _read_cache_entry(ids, ends, manifest):
    """Lay out the entry KEY/ in a fresh cache folder and read it as a training does."""
    from staticvec.text import cache as encode
    folder = os.path.join(workdir(), "cache")
    shutil.rmtree(folder, ignore_errors=True)  # a damaged entry is removed by the reader
    entry = os.path.join(folder, _CACHE_KEY)
    os.makedirs(entry)
    for name, data in ((encode.IDS_FILE, ids), (encode.ENDS_FILE, ends), (encode._MANIFEST, manifest)):
        with open(os.path.join(entry, name), "wb") as handle:
            handle.write(data)
    found = encode._load_entry(encode.Store(folder), _CACHE_KEY, _CACHE_VOCAB)
    if found is None:  # refused: reported and removed, never half-trusted
        assert not os.path.exists(entry), "a damaged cache entry was left in place"
        return
    import numpy as np  # what a trainer relies on next
    from staticvec.text.encoded import EncodedCorpus
    ids_found, ends_found, counts, _ = found
    found = EncodedCorpus(ids_found, ends_found, counts["raw_tokens"], counts["splits"])
    n = found.n_tokens
    assert found.n_sentences <= n and found.raw_tokens >= n, (n, found.n_sentences)
    if n:
        assert int(np.max(found.ids)) < _CACHE_VOCAB
        ends = np.asarray(found.sentence_ends)
        assert int(ends[-1]) == n and bool(np.all(ends[1:] >= ends[:-1]))
    from staticvec.train.runner import sentence_shares
    covered = [hi - lo for lo, hi in sentence_shares(found.sentence_ends, 2, tokens=True)]
    assert sum(covered) == n, (covered, n)


def _after_counts(parsed):
    from staticvec.text.vocab import kept_vocab
    _, counts, stats = parsed
    for min_count, max_size in ((1, None), (5, 2)):
        vocab = kept_vocab(counts, stats, min_count, max_size)
        assert len(vocab) <= len(counts)


@harness("cache_manifest", "encoded-corpus cache: encode.parse_manifest/parse_counts on raw and "
                           "sealed bytes, encode._load_entry on a laid-out entry")
def fuzz_cache_manifest(data):
    from staticvec.text import cache as encode
    if not data:
        return
    mode, rest = data[0] % _CACHE_MODES, data[1:]
    if mode in (0, 1):
        for kind, parse, after in (("manifest", encode.parse_manifest, None),
                                   ("counts", encode.parse_counts, _after_counts)):
            try:
                parsed = parse(rest if mode == 0 else encode.seal(kind, rest))
            except encode.CacheDamaged:
                continue
            if after is not None:
                after(parsed)
    elif mode == 2:
        _read_cache_entry(*_cache_arrays(), encode.seal("manifest", rest))
    else:
        cut = 1 + rest[0] if rest else 0
        ids, ends = rest[1:cut], rest[cut:]
        ids, ends = ids[:len(ids) // 4 * 4], ends[:len(ends) // 8 * 8]
        manifest = encode._seal_record("manifest", _manifest_record(ids, ends))
        _read_cache_entry(ids, ends, manifest)


@seeds("cache_manifest")
def seeds_cache_manifest():
    from staticvec.text import cache as encode
    ids, ends = _cache_arrays()
    record = _manifest_record(ids, ends)
    body = json.dumps(record, sort_keys=True).encode()
    counts = {"key": _CACHE_KEY, "counts": {"the": 5, "of": 3, "café": 2},
              "stats": {"total_tokens": 12, "total_lines": 2, "long_words": 0, "distinct": 3,
                        "pruned_below": 0}}
    counts_body = json.dumps(counts, sort_keys=True).encode()
    return {"raw_manifest": b"\0" + encode.seal("manifest", body),
            "raw_counts": b"\0" + encode.seal("counts", counts_body),
            "sealed_manifest": b"\1" + body,
            "sealed_counts": b"\1" + counts_body,
            "entry": b"\2" + body,
            "arrays": b"\3" + bytes([len(ids)]) + ids + ends,
            "arrays_empty": b"\3\0"}


# ---------------------------------------------------------------- sharded encodings (--encoded)
# A shard set is a folder of shards (KEY.ids.u32, KEY.ends.u64, a sealed KEY.json), vocab.txt
# and a sealed manifest (scale/encoding.py). The SHA-256 the manifest holds are the writer's
# word, not a proof: a set is a user's file like any other. The first byte picks what the
# rest replaces in a whole two-shard set built here (without a cluster: the task function
# run in this process), before load_shard_set reads it as `--encoded DIR` does:
#   0  the manifest, raw (checksum first)
#   1  the manifest's JSON body, sealed here, so mutations reach the record checks
#   2  vocab.txt, with the manifest's SHA-256 and word count made to match
#   3  the first shard's arrays (byte 1: length of ids.u32, then ids.u32, then ends.u64),
#      with its record and the manifest's totals made to match
_SET_MODES = 4
_SET_TEXT = "the cat sat on the mat\nthe dog sat\n\non the log the end\n"


def _shard_set_base():
    """(folder, manifest record) of the seed set, built once per process."""
    if "shard_set" not in _state:
        from staticvec.scale import encoding, inputs
        from staticvec.text.vocab import build_vocab
        corpus = _file("set-corpus.txt", _SET_TEXT.encode() * 3)
        vocab = build_vocab([corpus], min_count=1)
        folder = os.path.join(workdir(), "set-base")
        os.makedirs(folder, exist_ok=True)
        enc = encoding.Encoding(vocab.words, "strict", 10000)
        shards = inputs.plan_shards(inputs.expand([corpus]), shard_bytes=40)
        records = [encoding.encode_shard(shard, enc, folder) for shard in shards]
        for record in records:
            record.pop("reused")
        _state["shard_set"] = folder, encoding.finish_set(folder, records, vocab, enc)
    return _state["shard_set"]


@harness("shard_set", "sharded encodings: scale.encoding.load_shard_set on a damaged "
                      "manifest, vocab.txt or shard, then the invariants training relies on")
def fuzz_shard_set(data):
    import hashlib

    import numpy as np

    from staticvec.scale import encoding
    from staticvec.text.cache import seal
    if not data:
        return
    base, manifest = _shard_set_base()
    folder = os.path.join(workdir(), "set")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(base, folder)
    mode, rest = data[0] % _SET_MODES, data[1:]
    manifest = json.loads(json.dumps(manifest))

    def sealed(record):
        return seal("shards", json.dumps(record, sort_keys=True).encode())
    if mode == 0:
        _file("set/manifest", rest)
    elif mode == 1:
        _file("set/manifest", seal("shards", rest))
    elif mode == 2:
        _file("set/" + encoding.VOCAB_FILE, rest)
        manifest["vocab"].update(sha256=hashlib.sha256(rest).hexdigest(),
                                 words=max(rest.count(b"\n") - 1, 0))
        _file("set/manifest", sealed(manifest))
    else:
        cut = 1 + rest[0] if rest else 0
        ids, ends = rest[1:cut], rest[cut:]
        ids, ends = ids[:len(ids) // 4 * 4], ends[:len(ends) // 8 * 8]
        shard = manifest["shards"][0]
        _file(f"set/{shard['key']}.ids.u32", ids)
        _file(f"set/{shard['key']}.ends.u64", ends)
        shard.update(n_tokens=len(ids) // 4, n_sentences=len(ends) // 8,
                     raw_tokens=max(len(ids) // 4, shard["raw_tokens"]),
                     ids_sha256=hashlib.sha256(ids).hexdigest(),
                     ends_sha256=hashlib.sha256(ends).hexdigest())
        for name in ("n_tokens", "n_sentences", "raw_tokens", "splits"):
            manifest[name] = sum(s[name] for s in manifest["shards"])
        _file("set/manifest", sealed(manifest))
    vocab, corpus = encoding.load_shard_set(folder, cache=False)
    n = corpus.n_tokens  # what the kernels index with: ids inside the vocabulary, ends whole
    assert corpus.n_sentences <= n
    if n:
        assert int(np.max(corpus.ids)) < len(vocab)
        ends = np.asarray(corpus.sentence_ends)
        assert int(ends[-1]) == n and bool(np.all(ends[1:] >= ends[:-1])), ends


@seeds("shard_set")
def seeds_shard_set():
    import numpy as np

    from staticvec.scale import encoding
    from staticvec.text.cache import unseal
    folder, manifest = _shard_set_base()
    read = lambda name: open(os.path.join(folder, name), "rb").read()  # noqa: E731
    raw = read(encoding.MANIFEST)
    key = manifest["shards"][0]["key"]
    ids, ends = read(f"{key}.ids.u32"), read(f"{key}.ends.u64")
    assert len(ids) < 256 and np.frombuffer(ends, "<u8")[-1] == len(ids) // 4
    return {"raw_manifest": b"\0" + raw,
            "sealed_manifest": b"\1" + json.dumps(unseal("shards", raw), sort_keys=True).encode(),
            "vocab": b"\2" + read(encoding.VOCAB_FILE),
            "arrays": b"\3" + bytes([len(ids)]) + ids + ends,
            "arrays_empty": b"\3\0"}


# ---------------------------------------------------------------- evaluation files
@harness("analogy", "analogy questions: evaluate.evaluate_analogies")
def fuzz_analogy(data):
    from staticvec.eval.benchmarks import evaluate_analogies
    path = _file("questions.txt", data)
    vectors = tiny_vectors()
    json.dumps(evaluate_analogies(vectors, path), allow_nan=False)
    json.dumps(evaluate_analogies(vectors, path, restrict=6, method="mul", oov=True),
               allow_nan=False)


@seeds("analogy")
def seeds_analogy():
    return {"google": (": capital-common-countries\nParis France Rome Italy\n"
                       "paris france rome italy\nrome italy paris france\n"
                       ": gram2-comparative\ngood better bad worse\nking queen man woman\n"
                       "king queen unknown woman\n").encode(),
            "oddities": b": s\n\nking queen man\nKING queen MAN woman extra\n: \n",
            "cafe": b": s\ncaf\xc3\xa9 king queen man\n"}


@harness("similarity", "similarity pairs: evaluate.evaluate_similarity")
def fuzz_similarity(data):
    from staticvec.eval.benchmarks import evaluate_similarity
    path = _file("pairs.tsv", data)
    vectors = tiny_vectors()
    evaluate_similarity(vectors, path)
    evaluate_similarity(vectors, path, restrict=4, oov=True)


@seeds("similarity")
def seeds_similarity():
    return {"wordsim": (b"# Word 1\tWord 2\tHuman (mean)\nking\tqueen\t8.5\nman\twoman\t7.0\n"
                        b"doctor\tnurse\t7.00\nparis\tfrance\t9\nking\tunknown\t1.0\n"),
            "spaces": b"king queen 8.5\nman woman 7\nbad worse 3.25\n",
            "ties": b"king\tqueen\t5\nman\twoman\t5\nhe\tshe\t5\n"}


# ---------------------------------------------------------------- bias JSON
@harness("weat_json", "WEAT tests JSON: bias.sets.load_weat_tests, then the audit and its JSON report")
def fuzz_weat_json(data):
    from staticvec.eval.bias import report as bias_report
    from staticvec.eval.bias import sets

    tests = sets.load_weat_tests(_file("tests.json", data))
    report = bias_report.audit(tiny_vectors(), only="weat", tests=tests, exact_limit=200,
                        permutations=50)
    bias_report.to_json(report).encode("utf-8")  # the CLI writes it to stdout as UTF-8


@seeds("weat_json")
def seeds_weat_json():
    from importlib import resources
    shipped = resources.files("staticvec.data").joinpath("weat", "weat1.json").read_bytes()
    small = {"name": "tiny", "targets": {"X": ["aster", "clover", "hyacinth"],
                                         "Y": ["ant", "flea", "moth"]},
             "attributes": {"A": ["caress", "freedom", "health"],
                            "B": ["abuse", "crash", "filth"]}}
    return {"weat1": shipped, "tiny": json.dumps(small).encode(),
            "list": json.dumps([small, dict(small, name="two")]).encode()}


@harness("probes_json", "probe JSON: bias.sets.load_probes, then the probes audit and its JSON report")
def fuzz_probes_json(data):
    from staticvec.eval.bias import report as bias_report
    from staticvec.eval.bias import sets

    probes = sets.load_probes(_file("probes.json", data))
    report = bias_report.audit(tiny_vectors(), only="probes", probes=probes, probe_count=3)
    bias_report.to_json(report).encode("utf-8")


@seeds("probes_json")
def seeds_probes_json():
    return {"both": b'{"words": ["doctor", "nurse", "King"], "pairs": [["man", "woman"], ["he", "she"]]}',
            "words": b'{"words": ["doctor"]}',
            "pairs": b'{"pairs": [["king", "queen"]]}'}


# ---------------------------------------------------------------- staticvec store (.svs)
@harness("store", "staticvec store: load_vectors on a .svs (io/store.py), then lookups, "
                  "vectors and queries on the mapped model")
def fuzz_store(data):
    import numpy as np

    from staticvec.io.dispatch import load_vectors
    path = _file("model.svs", data)
    for limit in (None, 2):
        vectors = load_vectors(path, fmt="store", limit=limit)
        assert len(vectors.words) <= (limit or len(vectors.words))
        words = list(vectors.words[:3])
        for word in words + ["king", "zzqx", ""]:
            row = vectors.position(word)
            if row is not None:
                assert vectors.words[row] == word
                vec = vectors.vector(word)
                assert np.isfinite(vec).all()
        for word in words[:1]:
            try:
                results = vectors.most_similar(word, topn=3)
                batch = vectors.most_similar_batch([word], topn=3)[0]
            except _project_error():
                continue
            assert all(np.isfinite(s) for _, s in results + batch)


@seeds("store")
def seeds_store():
    from staticvec.io.dispatch import save_vectors
    from staticvec.io.store_write import write_store
    out = {}
    source = os.path.join(workdir(), "store-source.bin")
    save_vectors(tiny_vectors(), source)
    for name, limit in (("tiny", None), ("three", 3)):
        target = os.path.join(workdir(), f"seed-{name}.svs")
        write_store(source, target, limit=limit)
        out[name] = open(target, "rb").read()
    return out


# ---------------------------------------------------------------- mutations (no fuzzer needed)
_NUMBERS = (b"0", b"1", b"-1", b"999999999", b"4294967296", b"9223372036854775808",
            b"18446744073709551616", b"1e308", b"1e39", b"-0", b"nan", b"inf", b"2.5", b"")
_INTS = (0, 1, -1, 2 ** 31 - 1, -2 ** 31, 2 ** 32 - 1, 2 ** 63 - 1, -2 ** 63, 999999999)
_JUNK = (b" ", b"\n", b"\t", b"\0", b"\r\n", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\"", b"{",
         b"[", b"]", b"}", b",", b":", b"\\ud800", b"1e999", b"-",
         "\u3000".encode(), "\U0001f600".encode())
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutate(data, rng, pool=()):
    """One damaged variant of ``data``: 1-3 of byte flips, truncations, insertions,
    deletions, number swaps, header swaps, binary integer overwrites, splices."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(10)
        n = len(data)
        if op == 0 and n:  # flip bits of one byte
            data[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # truncate
            del data[rng.randrange(n):]
        elif op == 2:  # insert junk
            pos = rng.randint(0, n)
            data[pos:pos] = rng.choice(_JUNK) * rng.randint(1, 4)
        elif op == 3 and n:  # delete a range
            pos = rng.randrange(n)
            del data[pos:pos + rng.randint(1, 16)]
        elif op == 4:  # replace a number token
            found = list(_NUMBER.finditer(bytes(data)))
            if found:
                m = rng.choice(found)
                data[m.start():m.end()] = rng.choice(_NUMBERS)
        elif op == 5:  # header swap: the first line claims more than the file holds
            end = data.find(b"\n")
            head = rng.choice((b"999999999 999999999", b"3 999999999", b"999999999 2",
                               b"0 0", b"1 0", b"2 2 2", b"-1 3", b"18446744073709551617 1"))
            data[:end if end >= 0 else n] = head
        elif op == 6 and n >= 4:  # overwrite an aligned binary integer
            width = rng.choice((4, 8))
            pos = rng.randrange(0, max(n - width, 0) + 1, 4)
            value = rng.choice(_INTS)
            data[pos:pos + width] = value.to_bytes(8, "little", signed=value < 0)[:width]
        elif op == 7 and n:  # duplicate a chunk
            pos = rng.randrange(n)
            chunk = data[pos:pos + rng.randint(1, 64)]
            data[pos:pos] = chunk
        elif op == 8 and pool:  # splice with another seed
            other = rng.choice(pool)
            cut = rng.randint(0, n)
            data = data[:cut] + bytearray(other[rng.randint(0, len(other)):])
        elif n:  # overwrite a random byte
            data[rng.randrange(n)] = rng.randrange(256)
    return bytes(data)


def mutations(name, count, seed=0):
    """The seeds of harness ``name`` and ``count`` deterministic mutations of them."""
    base = SEEDS[name]()
    pool = list(base.values())
    rng = random.Random(f"{name}:{seed}")
    for key, value in base.items():
        yield f"seed:{key}", value
    for i in range(count):
        yield f"mutation:{i}", mutate(rng.choice(pool), rng, pool)


def signature(exc):
    """(exception type, innermost staticvec source line) that identifies a finding."""
    import traceback
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if f"{os.sep}staticvec{os.sep}" in frame.filename:
            where = f"{frame.filename.rsplit(os.sep + 'staticvec' + os.sep, 1)[1]}:{frame.lineno}"
    return f"{type(exc).__name__} at staticvec/{where}" if where != "?" else \
        f"{type(exc).__name__} at {_last_frame(exc)}"


def _last_frame(exc):
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    return f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}"
