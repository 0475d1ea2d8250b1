"""staticvec model files (``.svmodel``): everything needed to continue training a model.

A vectors file holds the input vectors only; a model file (``--save-model FILE``) also holds
the output weights, the vocabulary with its counts and the options, so that
``train-skipgram --continue FILE more.txt`` picks training up where it stopped.

Layout, format version 1 (integers little-endian)::

    offset 0   8 bytes   magic b"SVMODEL\\x00"
    offset 8   uint32    format version (1)
    offset 12  uint32    CRC-32 of the header bytes
    offset 16  uint64    header length N in bytes
    offset 24  N bytes   header: UTF-8 JSON (below), then zero bytes up to a multiple of 64
    sections, each starting at a multiple of 64 bytes, zero bytes between them

The header JSON::

    {"kind": "word2vec",              # the trainer that wrote it
     "options": {...},                # the model's options (dim, sg, negative, hs, ...)
     "words": V, "dim": D,
     "sections": {NAME: {"offset": O, "bytes": B, "crc32": C,
                         "dtype": "<f4", "shape": [rows, cols]}, ...}}   # dtype/shape: arrays

Sections: ``words`` (the V words, UTF-8, separated by ``\\n``; no word holds whitespace),
``counts`` (``<i8`` [V]: how often each word was seen, over every corpus trained on),
``input`` (``<f4`` [V, D]: the word vectors, the same as the vectors file written beside),
``output_negative`` (``<f4`` [V, D], negative sampling's output weights, when --negative > 0)
and ``output_hs`` (``<f4`` [V - 1, D], hierarchical softmax's inner-node weights, with --hs).
The arrays are plain row-major float32 at 64-byte-aligned offsets, so
``np.memmap(path, "<f4", "r", offset=O, shape=(rows, cols))`` opens them without reading.

Reading checks the magic, the version, the header's checksum and every section's bounds
against the file's length before anything is allocated (a header never sizes an allocation
by itself), then each section's CRC-32; a damaged or truncated file is one ``FormatError``.
"""
import json
import os
import struct
import zlib

import numpy as np

from staticvec.atomic import atomic_output
from staticvec.errors import FormatError, OutputError
from staticvec.io.fasttext_bin import open_model_file

MAGIC = b"SVMODEL\x00"
VERSION = 1
ALIGN = 64
_HEAD = struct.Struct("<8sIIQ")
_ARRAYS = {"counts": "<i8", "input": "<f4", "output_negative": "<f4", "output_hs": "<f4"}
_MAX_HEADER = 1 << 24           # the JSON is a few hundred bytes; anything larger is damage
_CHUNK = 1 << 24


def _aligned(n):
    return -(-n // ALIGN) * ALIGN


def _chunks(matrix):
    """Contiguous little-endian byte blocks of ``matrix``'s rows (a padded view is fine)."""
    matrix = np.asarray(matrix)
    if matrix.ndim == 1:
        yield np.ascontiguousarray(matrix, dtype=_ARRAYS["counts"]).tobytes()
        return
    step = max(1, _CHUNK // max(1, matrix.shape[1] * 4))
    for lo in range(0, matrix.shape[0], step):
        yield np.ascontiguousarray(matrix[lo:lo + step], dtype="<f4").tobytes()


def save_model(path, kind, options, words, counts, matrices):
    """Write a model file atomically. ``options``: a JSON-able dict; ``matrices``: {section:
    (rows, dim) float32 array (views of padded rows are fine)} for ``input`` and whichever of
    ``output_negative`` / ``output_hs`` the model has."""
    counts = np.asarray(counts, dtype=np.int64)
    if len(counts) != len(words):
        raise ValueError("one count per word")
    for word in words:
        if not word or any(c.isspace() for c in word):
            raise OutputError(f"cannot write {path}: word {word!r} is empty or holds "
                              f"whitespace, which a model file cannot store")
    blob = "\n".join(words).encode("utf-8")
    dim = int(matrices["input"].shape[1])
    sections = {"words": (len(blob), None, [blob])}
    sections["counts"] = (counts.nbytes, [len(counts)], [counts.astype("<i8").tobytes()])
    for name, matrix in matrices.items():
        if name not in _ARRAYS or matrix.ndim != 2 or matrix.shape[1] != dim:
            raise ValueError(f"bad matrix {name} {matrix.shape}")
        sections[name] = (matrix.shape[0] * dim * 4, list(matrix.shape), matrix)
    crcs = {}
    for name, (_, _, data) in sections.items():
        crc = 0
        for block in (data if isinstance(data, list) else _chunks(data)):
            crc = zlib.crc32(block, crc)
        crcs[name] = crc
    start = 0
    while True:  # the header holds the offsets, which depend on its length: settle them
        header = {"kind": kind, "options": options, "words": len(words), "dim": dim,
                  "sections": {}}
        offset = start
        for name, (size, shape, _) in sections.items():
            entry = {"offset": offset, "bytes": size, "crc32": crcs[name]}
            if shape is not None:
                entry.update(dtype=_ARRAYS[name], shape=shape)
            header["sections"][name] = entry
            offset = _aligned(offset + size)
        text = json.dumps(header, sort_keys=True).encode("utf-8")
        needed = _aligned(_HEAD.size + len(text))
        if needed == start:
            break
        start = needed
    with atomic_output(path, "wb") as out:
        out.write(_HEAD.pack(MAGIC, VERSION, zlib.crc32(text), len(text)))
        out.write(text)
        written = _HEAD.size + len(text)
        for name, (size, _, data) in sections.items():
            at = header["sections"][name]["offset"]
            out.write(b"\0" * (at - written))
            for block in (data if isinstance(data, list) else _chunks(data)):
                out.write(block)
            written = at + size


def _damaged(path, what):
    return FormatError(f"{path}: damaged staticvec model file ({what})")


def read_header(path):
    """(header dict, file size) of a model file, checked: magic, version, checksum, and every
    section inside the file."""
    path = os.fspath(path)
    with open_model_file(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(_HEAD.size)
        if len(head) < _HEAD.size or head[:8] != MAGIC:
            raise FormatError(f"{path}: not a staticvec model file (no SVMODEL header; "
                              f"write one with --save-model)")
        _, version, crc, length = _HEAD.unpack(head)
        if version != VERSION:
            raise FormatError(f"{path}: staticvec model format version {version}, this "
                              f"staticvec reads version {VERSION}")
        if length > min(size - _HEAD.size, _MAX_HEADER):
            raise _damaged(path, f"truncated: the header says {length:,} bytes, the file has "
                                 f"{size:,}")
        text = handle.read(length)
    if zlib.crc32(text) != crc:
        raise _damaged(path, "header checksum mismatch")
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _damaged(path, "header is not JSON") from None
    _check_header(path, header, size)
    return header, size


def _int(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_header(path, header, size):
    if not isinstance(header, dict) or not isinstance(header.get("sections"), dict) \
            or not isinstance(header.get("options"), dict) or not isinstance(header.get("kind"), str):
        raise _damaged(path, "header lacks kind, options or sections")
    n, dim = header.get("words"), header.get("dim")
    if not (_int(n, 1) and _int(dim, 1)):
        raise _damaged(path, f"bad word count {n!r} or dimension {dim!r}")
    sections = header["sections"]
    for name in ("words", "counts", "input"):
        if name not in sections:
            raise _damaged(path, f"no {name} section")
    expected = {"counts": [n], "input": [n, dim], "output_negative": [n, dim],
                "output_hs": [n - 1, dim]}
    for name, entry in sections.items():
        if not isinstance(entry, dict) or not all(_int(entry.get(k)) for k in
                                                  ("offset", "bytes", "crc32")):
            raise _damaged(path, f"bad {name} section entry")
        if name != "words":
            if name not in _ARRAYS or entry.get("dtype") != _ARRAYS[name] \
                    or entry.get("shape") != expected[name]:
                raise _damaged(path, f"{name} section: unexpected type or shape")
            if entry["bytes"] != np.dtype(_ARRAYS[name]).itemsize * int(np.prod(expected[name])):
                raise _damaged(path, f"{name} section: size does not match its shape")
            if entry["offset"] % ALIGN:
                raise _damaged(path, f"{name} section is not 64-byte aligned")
        if entry["offset"] + entry["bytes"] > size:
            raise _damaged(path, f"truncated: the {name} section ends at byte "
                                 f"{entry['offset'] + entry['bytes']:,}, the file has {size:,}")


def read_model(path, verify=True):
    """A model file as a dict: kind, options, words, counts (int64 array), matrices
    ({section: read-only memory map}). ``verify``: check every section's CRC-32 (reads the
    whole file once; the matrices stay mapped, not copied)."""
    path = os.fspath(path)
    header, size = read_header(path)
    sections = header["sections"]
    if verify:
        with open(path, "rb") as handle:
            for name, entry in sections.items():
                handle.seek(entry["offset"])
                crc, left = 0, entry["bytes"]
                while left:
                    block = handle.read(min(left, _CHUNK))
                    if not block:
                        raise _damaged(path, f"truncated inside the {name} section")
                    crc = zlib.crc32(block, crc)
                    left -= len(block)
                if crc != entry["crc32"]:
                    raise _damaged(path, f"{name} section checksum mismatch")
    words_entry = sections["words"]
    with open(path, "rb") as handle:
        handle.seek(words_entry["offset"])
        blob = handle.read(words_entry["bytes"])
    try:
        words = blob.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise _damaged(path, "words are not UTF-8") from None
    if len(words) != header["words"] or not all(words):
        raise _damaged(path, f"{len(words):,} words listed, the header says {header['words']:,}")
    if len(set(words)) != len(words):
        raise _damaged(path, "a word is listed twice")

    def array(name):
        entry = sections[name]
        shape = tuple(entry["shape"])
        if entry["bytes"] == 0:
            return np.zeros(shape, dtype=entry["dtype"])
        return np.memmap(path, dtype=entry["dtype"], mode="r", offset=entry["offset"],
                         shape=shape)

    counts = np.array(array("counts"), dtype=np.int64)
    if (counts < 0).any():
        raise _damaged(path, "a negative word count")
    matrices = {name: array(name) for name in sections if name in _ARRAYS and name != "counts"}
    return {"kind": header["kind"], "options": header["options"], "words": words,
            "counts": counts, "matrices": matrices, "dim": header["dim"]}
