"""Inputs of a scale-out job: paths, globs and fsspec URLs -> sources -> shards.

``expand(patterns)`` turns what the user named (local paths, globs such as
``corpus/*.txt.gz``, and any URL fsspec knows: ``s3://bucket/wiki/*.txt.gz``, ``hdfs://...``,
``gs://...``, with the matching fsspec package installed by the user) into ``Source``s, in
the order named (a glob's matches sorted). A name that matches nothing, a missing file or a
folder is the project's ``InputError`` naming it.

``plan_shards(sources, shard_bytes)`` cuts them into ``Shard``s, the unit of one Dask task:
an uncompressed file larger than ``shard_bytes`` is cut into byte ranges, and a shard owns
the lines that START in its range (so every line belongs to exactly one shard, whichever
byte the cut falls on); a compressed file (.gz/.bz2/.xz/.lzma) cannot be entered in the
middle and is one shard. Shards are numbered in corpus order: reading them one after
another gives the text ``corpus.iter_chunks`` gives for the same files.

``shard_chunks(shard, encoding_errors)`` runs on a worker: the shard's text as
``corpus.iter_chunks`` would give it (chunks ending on whitespace, UTF-8 checked or
repaired, the end of a file ending its last sentence). A source that cannot be read is an
``InputError`` naming it; Dask carries it back to the client, which reports it as the
job's one error line.

Every shard has a ``fingerprint``: its source's identity (path, size, times, inode and a
sample of its content for a local file; fsspec's info, e.g. size and ETag, for a URL) and
its byte range, so a rerun can tell whether a shard's output is still valid.
"""
import hashlib
import json
import os
from dataclasses import dataclass

from staticvec.errors import BadOptionError, InputError
from staticvec.text import corpus

SHARD_BYTES = 64 << 20  # an uncompressed file is cut into ranges of this size
READ_BLOCK = 1 << 22
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Source:
    """One input file: ``name`` as the user sees it (a local path, or protocol://path),
    ``url`` to open it with fsspec, its size in bytes (None when unknown) and identity."""

    name: str
    url: str
    size: object
    identity: str
    compressed: bool


@dataclass(frozen=True)
class Shard:
    """Lines of one source: those starting in bytes [start, end) (``end`` None: to the end of
    the file; a compressed file is always whole). ``index``: its place in corpus order."""

    index: int
    name: str
    url: str
    start: int
    end: object
    compressed: bool
    fingerprint: str

    @property
    def size(self):
        """Bytes of the source it covers (0 when unknown: a compressed file's text)."""
        return 0 if self.end is None else self.end - self.start


def _filesystem(url):
    try:
        import fsspec.core
    except ImportError:
        raise InputError("reading inputs on a cluster needs fsspec: install the dask extra "
                         "(pip install 'staticvec[dask]')") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its package missing
        raise InputError(f"cannot read {url}: {exc}") from None


def _is_local(fs):
    return "file" in ((fs.protocol,) if isinstance(fs.protocol, str) else fs.protocol)


def _identity(fs, path, info):
    if _is_local(fs):
        from staticvec.text.cache import _signatures

        return hashlib.sha256(_signatures([path])).hexdigest()
    keep = {k: v for k, v in info.items() if k != "name"}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def _source(fs, path, shown, info):
    url = fs.unstrip_protocol(path)
    if _is_local(fs):
        corpus.check_inputs([path])  # the house's messages: missing, a folder, unreadable
    size = info.get("size")
    return Source(name=shown, url=url, size=int(size) if size is not None else None,
                  identity=_identity(fs, path, info), compressed=corpus.is_compressed(path))


def expand(patterns):
    """The sources named by ``patterns`` (paths, globs, URLs), in order; InputError for a
    name that matches nothing or cannot be read."""
    if not patterns:
        raise InputError("no input given (name one or more files, globs or URLs)")
    sources = []
    for pattern in map(os.fspath, patterns):
        if pattern == corpus.STDIN:
            raise BadOptionError("--dask cannot read stdin (-): the workers read the inputs "
                                 "themselves; name files, globs or URLs")
        fs, path = _filesystem(pattern)
        local = _is_local(fs)
        if any(c in path for c in _GLOB_CHARS):
            try:
                found = fs.glob(path, detail=True)
            except OSError as exc:
                raise InputError(f"cannot list {pattern}: {exc.strerror or exc}") from None
            files = sorted((p, i) for p, i in found.items() if i.get("type") != "directory")
            if not files:
                raise InputError(f"cannot read {pattern}: no file matches it")
            for p, info in files:
                sources.append(_source(fs, p, p if local else fs.unstrip_protocol(p), info))
            continue
        if local:
            corpus.check_inputs([path])
        try:
            info = fs.info(path)
        except FileNotFoundError:
            raise InputError(f"cannot read {pattern}: no such file") from None
        except OSError as exc:
            raise InputError(f"cannot read {pattern}: {exc.strerror or exc}") from None
        if info.get("type") == "directory":
            raise InputError(f"cannot read {pattern}: it is a folder")
        sources.append(_source(fs, path, pattern, info))
    return sources


def local_paths(sources):
    """The local files among ``sources`` (what an output must not overwrite)."""
    return [s.url[len("file://"):] for s in sources if s.url.startswith("file://")]


def plan_shards(sources, shard_bytes=SHARD_BYTES):
    """The shards of ``sources`` in corpus order (see the module docstring)."""
    if shard_bytes < 1:
        raise ValueError("shard_bytes must be >= 1")
    shards = []

    def add(source, start, end):
        digest = hashlib.sha256(json.dumps([source.url, source.identity, start, end])
                                .encode()).hexdigest()
        shards.append(Shard(len(shards), source.name, source.url, start, end,
                            source.compressed, digest))

    for source in sources:
        if source.compressed or source.size is None or source.size <= shard_bytes:
            add(source, 0, None)
            continue
        for start in range(0, source.size, shard_bytes):
            add(source, start, min(start + shard_bytes, source.size))
    return shards


def _range_blocks(handle, start, end, block=READ_BLOCK):
    """The bytes of the lines starting in [start, end) of the open file ``handle`` (the last
    one read on to its newline, or to the end of the file)."""
    at, data = 0, b""
    if start > 0:  # skip the line that started before ``start`` (byte start-1 tells)
        handle.seek(start - 1)
        at = start - 1
        while True:
            data = handle.read(block)
            if not data:
                return
            cut = data.find(b"\n")
            if cut >= 0:
                at += cut + 1
                data = data[cut + 1:]
                break
            at += len(data)
    if end is None:
        end = float("inf")
    if at >= end:
        return  # no line starts in the range
    while True:
        if not data:
            data = handle.read(block)
            if not data:
                return
        if at + len(data) < end:
            yield data
            at += len(data)
            data = b""
            continue
        head, data = data[:end - at], data[end - at:]
        yield head
        if head.endswith(b"\n"):
            return
        break
    while True:  # the line holding byte end-1 goes on past the range: to its newline
        if not data:
            data = handle.read(block)
            if not data:
                return
        cut = data.find(b"\n")
        if cut >= 0:
            yield data[:cut + 1]
            return
        yield data
        data = b""


class _Reader:
    """``read(n)`` over a generator of blocks (what ``corpus.stream_chunks`` reads)."""

    def __init__(self, blocks):
        self.blocks, self.rest = blocks, b""

    def read(self, n):
        while len(self.rest) < n:
            block = next(self.blocks, b"")
            if not block:
                break
            self.rest += block
        out, self.rest = self.rest[:n], self.rest[n:]
        return out


def _first_line_start(handle, start):
    """The offset of the first line starting at or after ``start``, for error messages."""
    if start == 0:
        return 0
    handle.seek(start - 1)
    at = start - 1
    while True:
        data = handle.read(READ_BLOCK)
        if not data:
            return at
        cut = data.find(b"\n")
        if cut >= 0:
            return at + cut + 1
        at += len(data)


def shard_chunks(shard, encoding_errors="strict", chunk_bytes=corpus.CHUNK_BYTES):
    """The text of ``shard`` as chunks (see the module docstring); runs on a worker."""
    fs, path = _filesystem(shard.url)
    try:
        raw = fs.open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"cannot read {shard.name}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {shard.name}: {exc.strerror or exc}") from None
    try:
        if shard.compressed:
            opener = corpus.OPENERS[os.path.splitext(path)[1].lower()]
            stream = opener(raw, "rb")
            read, offset = stream.read, 0
        else:
            offset = _first_line_start(raw, shard.start)
            read = _Reader(_range_blocks(raw, shard.start, shard.end)).read
        try:
            yield from corpus.stream_chunks(read, shard.name, encoding_errors, chunk_bytes,
                                            offset=offset)
        except OSError as exc:
            raise InputError(f"cannot read {shard.name}: {exc.strerror or exc}") from None
    finally:
        raw.close()
