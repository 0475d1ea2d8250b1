"""The staticvec store (``.svs``): one file laid out to be memory-mapped, so a model of
millions of words opens in milliseconds and a few MB, whatever its size.

Layout (little-endian; every section starts on a 64-byte boundary, the unit rows on a
4096-byte page)::

    header   magic b"SVSTORE\\0", version, flags, words, dim, hash slots, longest probe,
             (offset, bytes) of each section below, sha256 of all the fields before it
    unit     float32[words, dim]  the unit-length rows (zero rows stay zero)
    norms    float32[words]       each source row's L2 norm (v[word] = unit row * norm)
    counts   int64[words]         word counts (fastText models; empty when unknown)
    ends     uint64[words]        end of each word in ``blob`` (a word starts where the
                                  previous one ends)
    blob     the words' UTF-8 bytes, in row order
    table    uint32[slots]        open-addressing hash table (crc32, linear probing):
                                  0 empty, else row + 1; slots a power of two > 2 x words
    meta     JSON: the source's path, size, mtime and sample digest (its fingerprint),
             the format it was read as (None: sniffed) and, for a fastText model,
             "subwords": {"minn", "maxn", "bucket", "hash": "fasttext-fnv1a-32"}
    codes    uint8[words, stride]  (flag 2) each unit row quantised to int8 codes c with
                                  |c| <= 127, stored as c + 128, rows padded with code 0
                                  to a multiple of 32 bytes (``_kernels/scan.pyx``)
    bounds   float32[words, 3]    (flag 2) per row: its scale s (unit row ~ s * c), an upper
                                  bound of ||row - s c||_2 and one of ||s c||_2: the
                                  int8 scan's error bound, which makes its preselection exact
    ngrams   float32[buckets, dim] (flag 4) a fastText model's n-gram bucket rows (the
                                  input matrix's rows after its words): unseen words get
                                  the mean of their n-grams' rows, as in the ``.bin``

``read_store`` checks the header (magic, version, checksum, every section inside the
file and of the size its counts imply) before anything is mapped, maps the file once and
returns views of it: nothing else is read until a query touches it. ``store_write.py``
writes it. A stale store (its
source changed since) is used with a warning: it is still a consistent model in itself.
"""
import hashlib
import json
import logging
import mmap
import os
import struct
import weakref

import numpy as np

from staticvec.errors import FormatError, InputError

log = logging.getLogger(__name__)

MAGIC = b"SVSTORE\x00"
VERSION = 2
# the header lists them in this order; the file holds them in write order
SECTIONS = ("unit", "norms", "counts", "ends", "blob", "table", "meta", "codes", "bounds",
            "ngrams")
_FIELDS = struct.Struct("<8sIIQQQQ" + "QQ" * len(SECTIONS))
_HEADER = struct.Struct(_FIELDS.format + "32s")
_FIRST = 4096          # the unit rows start on a page of their own
_ALIGN = 64
_MAX_META = 1 << 20
_MAX_DIM = 1 << 20
_MAX_WORDS = (1 << 32) - 2   # rows + 1 fit the uint32 table entries
_MADV_POPULATE_READ = 22     # Linux >= 5.14 (not named in Python 3.11's mmap)
_HAS_COUNTS = 1
_HAS_CODES = 2
_HAS_NGRAMS = 4
_MAX_NGRAM = 64         # longest n-gram a fastText model may name (minn/maxn)
SUBWORD_HASH = "fasttext-fnv1a-32"


def code_stride(dim):
    """Bytes per row of the int8 codes: ``dim`` rounded up to a multiple of 32."""
    return (dim + 31) // 32 * 32


def is_store(head):
    """True if ``head`` (a file's first bytes) starts with the store's magic."""
    return head[:len(MAGIC)] == MAGIC


class StoreData:
    """A mapped store: views of its sections, and the word lookups (``word``, ``row``)
    that read the hash table and word bytes in place."""

    def __init__(self, path, mapped, fields, sections, meta, limit, fd=None):
        """``fd``: an open descriptor of the file (closed with this object), from which
        ``v[word]`` copies a row; None: rows are read through the map."""
        self.path = path
        self._map = mapped
        total, dim = fields["words"], fields["dim"]
        self.total = total
        self.count = total if limit is None else min(limit, total)
        self.dim = dim
        self.meta = meta

        def view(name, dtype, count):
            offset, _ = sections[name]
            return np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)

        self.unit = view("unit", "<f4", self.count * dim).reshape(self.count, dim)
        self.norms = view("norms", "<f4", self.count)
        self.counts = view("counts", "<i8", self.count) if fields["flags"] & _HAS_COUNTS else None
        self.codes = self.bounds = self.ngrams = None
        if fields["flags"] & _HAS_CODES:
            stride = code_stride(dim)
            self.codes = view("codes", "u1", self.count * stride).reshape(self.count, stride)
            self.bounds = view("bounds", "<f4", self.count * 3).reshape(self.count, 3)
        self.subwords = None
        if fields["flags"] & _HAS_NGRAMS:
            buckets = sections["ngrams"][1] // (4 * dim)
            self.subwords = _subwords(meta, buckets, path)
            self.ngrams = view("ngrams", "<f4", buckets * dim).reshape(buckets, dim)
        whole = memoryview(mapped)
        offset, size = sections["ends"]
        self._ends = whole[offset:offset + size].cast("Q")
        self._blob_start, self._blob_size = sections["blob"]
        offset, size = sections["table"]
        self._table = whole[offset:offset + size].cast("I")
        self._probes = fields["probes"] + 1
        self._lookup = None
        self._lookups = 0
        self._base = np.frombuffer(mapped, dtype=np.uint8, count=1).ctypes.data
        self._unit_offset = sections["unit"][0]
        self._fd = fd
        if fd is not None:
            weakref.finalize(self, os.close, fd)

    def damaged(self, what):
        return FormatError(f"{self.path}: damaged staticvec store: {what} (rebuild it with "
                           f"'staticvec store')")

    def word_bytes(self, i):
        start = self._ends[i - 1] if i else 0
        end = self._ends[i]
        if not start <= end <= self._blob_size:
            raise self.damaged(f"the offsets of word {i + 1} point outside its words")
        return self._map[self._blob_start + start:self._blob_start + end]

    def word(self, i):
        try:
            return self.word_bytes(i).decode("utf-8")
        except UnicodeDecodeError:
            raise self.damaged(f"word {i + 1} is not UTF-8") from None

    @property
    def lookup(self):
        """The kernel's ``StoreLookup`` over the mapped table, words and rows (made on
        first use, so that opening imports no kernel)."""
        if self._lookup is None:
            from staticvec import _kernels

            whole = np.frombuffer(self._map, dtype=np.uint8)
            blob = whole[self._blob_start:self._blob_start + self._blob_size]
            table, ends = np.asarray(self._table), np.asarray(self._ends)
            self._lookup_parts = (table, ends, blob, self.norms)
            self._lookup = _kernels.load("scan").StoreLookup(
                table, ends, blob, self.unit, self.norms, self._probes,
                self._fd if self._fd is not None else -1, self._unit_offset)
        return self._lookup

    def looked_up(self):
        """Count a lookup; at the 256th, map the lookups' sections whole (a few lookups
        are cheaper through page faults, many through one madvise)."""
        self._lookups += 1
        if self._lookups == 256:
            for part in self._lookup_parts:
                self._populate(part)

    def _populate(self, part):
        """Map the pages of ``part`` (a view of the map) in one system call (Linux 5.14's
        MADV_POPULATE_READ) rather than one page fault at a time: the lookups' table,
        offsets, words and norms, a few bytes per word, touched at random. Elsewhere a
        no-op."""
        if not part.nbytes:
            return
        start = part.ctypes.data - self._base
        aligned = start - start % mmap.PAGESIZE
        try:
            self._map.madvise(_MADV_POPULATE_READ, aligned, part.nbytes + start - aligned)
        except (OSError, ValueError, AttributeError):
            pass

    def row(self, word, count):
        """The row of ``word`` if it is below ``count``, else None."""
        try:
            raw = word.encode("utf-8")
        except UnicodeEncodeError:
            return None
        found = self.lookup.find(raw)
        self.looked_up()
        if found >= 0:
            return found if found < count else None
        if found == -1:
            return None
        if found % 2 == 0:
            slot = (-2 - found) // 2
            raise self.damaged(f"hash slot {slot} names row {self._table[slot]} of "
                               f"{self.total:,}")
        raise self.damaged(f"the offsets of word {(-3 - found) // 2 + 1} point outside its "
                           f"words")


# ---------------------------------------------------------------- reading
def read_store(path, limit=None):
    """Open the store ``path`` (``limit``: only its first ``limit`` words) as ``StoreData``;
    a damaged, truncated or foreign file raises ``FormatError`` before anything is mapped."""
    path = os.fspath(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(_HEADER.size)
        fields, sections = parse_header(head, size, path)
        offset, length = sections["meta"]
        handle.seek(offset)
        meta = _parse_meta(handle.read(length), path)
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        fd = os.dup(handle.fileno())
    check_fresh(path, meta)
    return StoreData(path, mapped, fields, sections, meta, limit, fd)


def parse_header(head, size, path):
    """``(fields, {section: (offset, bytes)})`` of a store whose first bytes are ``head``
    and whose length is ``size``: every claim checked against the file's size."""
    if not is_store(head):
        raise FormatError(f"{path}: not a staticvec store (bad magic number)")
    if len(head) < 16:
        raise FormatError(f"{path}: truncated staticvec store ({size:,} bytes)")
    version = struct.unpack_from("<I", head, 8)[0]
    if version != VERSION:
        raise FormatError(f"{path}: staticvec store version {version}, but this staticvec reads "
                          f"version {VERSION}: rebuild it with 'staticvec store SOURCE -o {path}'")
    if len(head) < _HEADER.size:
        raise FormatError(f"{path}: truncated staticvec store ({size:,} bytes, shorter than its "
                          f"header)")
    values = _HEADER.unpack(head[:_HEADER.size])
    if hashlib.sha256(head[:_FIELDS.size]).digest() != values[-1]:
        raise FormatError(f"{path}: damaged staticvec store (its header checksum does not match)")
    _, _, flags, words, dim, slots, probes = values[:7]
    fields = dict(flags=flags, words=words, dim=dim, slots=slots, probes=probes)
    sections = {name: (values[7 + 2 * k], values[8 + 2 * k]) for k, name in enumerate(SECTIONS)}
    codes = bool(flags & _HAS_CODES)
    expected = {"unit": words * dim * 4, "norms": words * 4,
                "counts": words * 8 if flags & _HAS_COUNTS else 0, "ends": words * 8,
                "table": slots * 4, "codes": words * code_stride(dim) if codes else 0,
                "bounds": words * 12 if codes else 0}
    problem = None
    if not 1 <= dim <= _MAX_DIM:
        problem = f"dimension {dim}"
    elif not 1 <= words <= _MAX_WORDS:
        problem = f"{words:,} words"
    elif slots & (slots - 1) or slots <= words or probes >= slots:
        problem = f"{slots:,} hash slots for {words:,} words"
    elif sections["meta"][1] > _MAX_META:
        problem = f"{sections['meta'][1]:,} bytes of metadata"
    elif flags & ~(_HAS_COUNTS | _HAS_CODES | _HAS_NGRAMS):
        problem = f"flags {flags:#x}"
    elif (sections["ngrams"][1] % (4 * dim) if flags & _HAS_NGRAMS
          else sections["ngrams"][1]):
        problem = f"an n-gram section of {sections['ngrams'][1]:,} bytes for dimension {dim}"
    else:
        for name, want in expected.items():
            if sections[name][1] != want:
                problem = f"section {name} of {sections[name][1]:,} bytes (should be {want:,})"
                break
    if problem:
        raise FormatError(f"{path}: damaged staticvec store (its header says {problem})")
    end = _HEADER.size
    for name, (offset, length) in sorted(sections.items(), key=lambda item: item[1]):
        if offset % _ALIGN or offset < end:
            raise FormatError(f"{path}: damaged staticvec store (section {name} at offset "
                              f"{offset:,} overlaps another or is misaligned)")
        end = offset + length
    if end > size:
        raise FormatError(f"{path}: truncated staticvec store ({size:,} bytes; its header says "
                          f"{end:,})")
    return fields, sections


def _subwords(meta, buckets, path):
    """The subword parameters in ``meta`` (checked: the store's ``buckets`` rows, the
    hashing scheme this staticvec computes, n-gram lengths in range)."""
    sub = meta.get("subwords")
    ok = (isinstance(sub, dict) and sub.get("hash") == SUBWORD_HASH
          and all(type(sub.get(k)) is int for k in ("minn", "maxn", "bucket"))
          and sub["bucket"] == buckets and 0 <= sub["minn"] <= _MAX_NGRAM
          and 0 <= sub["maxn"] <= _MAX_NGRAM)
    if not ok:
        raise FormatError(f"{path}: damaged staticvec store (its subword parameters do not "
                          f"match its {buckets:,} n-gram rows)")
    return {k: sub[k] for k in ("minn", "maxn", "bucket")}


def _parse_meta(data, path):
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: damaged staticvec store (its metadata is not a JSON object)")
    return meta


def fingerprint(path):
    """The source's fingerprint: its size, mtime and the sample digest ``text/cache.py``
    uses for its keys (64 blocks spread over the file), or None (not a regular file)."""
    from staticvec.text.cache import _sample_digest

    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            return {"size": info.st_size, "mtime_ns": info.st_mtime_ns,
                    "sample": _sample_digest(handle, info.st_size)}
    except OSError:
        return None


def check_fresh(path, meta):
    """Warn when the store's source exists and has changed since the store was built
    (same size and mtime: unchanged, without reading it; else the sample digest decides)."""
    source = meta.get("source")
    recorded = meta.get("fingerprint")
    if not isinstance(source, str) or not isinstance(recorded, dict):
        return
    try:
        info = os.stat(source)
    except (OSError, ValueError):
        return  # the source is elsewhere or gone: the store stands on its own
    if info.st_size == recorded.get("size") and info.st_mtime_ns == recorded.get("mtime_ns"):
        return
    now = fingerprint(source)
    if now is not None and (now["size"], now["sample"]) == (recorded.get("size"),
                                                            recorded.get("sample")):
        return
    log.warning(f"{path} is stale: its source {source} has changed since it was built "
                f"(rebuild it with 'staticvec store {source} -o {path}')")
