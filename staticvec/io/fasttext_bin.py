"""Facebook fastText ``.bin`` models (format version 12), read and written.

A ``.bin`` is the whole model: training arguments, the dictionary, the input matrix
(one row per word, then one per n-gram bucket) and the output matrix. Keeping the
buckets is what lets a model answer for words it never saw, so both our own models and
Facebook's (e.g. the pretrained ``cc.en.300.bin``) load (through ``io.dispatch``) into
``FastTextVectors``, and our ``train-fasttext`` output loads in the official ``fasttext``
binding and in gensim. This module reads and writes plain data only.

Layout (all little-endian, as fastText writes on x86): int32 magic 793712314, int32
version 12; args: 12 int32 (dim, ws, epoch, minCount, neg, wordNgrams, loss, model,
bucket, minn, maxn, lrUpdateRate) and float64 t; dictionary: int32 size, nwords, nlabels,
int64 ntokens, pruneidx_size, then per entry the UTF-8 word, a NUL, int64 count and int8
type (0 word, 1 label), then pruneidx_size int32 pairs; a bool "quantized input", the
input matrix (int64 rows, int64 cols, float32 data), a bool "quantized output" and the
output matrix in the same form.
"""
import mmap
import os
import struct

import numpy as np

from staticvec.atomic import atomic_output
from staticvec.errors import FormatError, InputError, OutputError

MAGIC = 793712314
VERSION = 12
LOSS = {"hs": 1, "ns": 2, "softmax": 3, "ova": 4}
MODEL = {"cbow": 1, "skipgram": 2, "supervised": 3}
MODEL_NAMES = {v: k for k, v in MODEL.items()}
LOSS_NAMES = {v: k for k, v in LOSS.items()}
_ARGS = struct.Struct("<12id")
_ARG_NAMES = ("dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model",
              "bucket", "minn", "maxn", "lr_update_rate")
_DICT_HEAD = struct.Struct("<3iqq")
_MATRIX_HEAD = struct.Struct("<qq")
_ENTRY_TAIL = struct.Struct("<qb")
_MAX_NGRAM = 256  # longest n-gram length accepted (fastText's default maxn is 6)


def open_model_file(path):
    """``open(path, "rb")``, its failure one ``InputError`` naming the file."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read {path}: it is a folder") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_model(path):
    """Parse a ``.bin`` into a plain record (a dict): args, words, counts, ntokens, nlabels,
    input/output matrices (read-only memory maps, so a multi-gigabyte pretrained model
    costs no copy). ``io.dispatch.load_fasttext`` builds ``FastTextVectors`` from it."""
    path = os.fspath(path)
    with open_model_file(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 8:
            raise FormatError(f"{path}: not a fastText .bin model (file too short)")
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return _parse(path, data, size)
    finally:
        data.close()


def _need(path, size, offset, count, what):
    if offset + count > size:
        raise FormatError(f"{path}: truncated fastText model (ends inside the {what}: "
                          f"{count:,} bytes needed at byte offset {offset:,}, the file has "
                          f"{size:,})")


def _parse(path, data, size):
    magic, version = struct.unpack_from("<ii", data, 0)
    if magic != MAGIC:
        raise FormatError(f"{path}: not a fastText .bin model (bad magic number)")
    if version not in (11, VERSION):
        raise FormatError(f"{path}: unsupported fastText model version {version} "
                          f"(expected {VERSION})")
    offset = 8
    _need(path, size, offset, _ARGS.size, "header")
    values = _ARGS.unpack_from(data, offset)
    offset += _ARGS.size
    args = dict(zip(_ARG_NAMES, values[:12]))
    args["t"] = values[12]
    if version == 11 and args["model"] == MODEL["supervised"]:
        args["maxn"] = 0  # what fastText itself does for version-11 classifiers
    if args["dim"] <= 0 or args["bucket"] < 0:
        raise FormatError(f"{path}: damaged fastText model (dim {args['dim']}, "
                          f"bucket {args['bucket']})")
    if not (0 <= args["minn"] <= _MAX_NGRAM and 0 <= args["maxn"] <= _MAX_NGRAM) or (
            args["maxn"] > 0 and args["minn"] < 1):
        raise FormatError(f"{path}: damaged fastText model (n-gram lengths minn {args['minn']}, "
                          f"maxn {args['maxn']})")
    # every count in the header is checked against the bytes that follow before anything is
    # sized from it: a damaged header is an error, never a huge allocation
    if args["dim"] * 4 > size:
        raise FormatError(f"{path}: damaged fastText model (dim {args['dim']:,} does not fit in "
                          f"a {size:,}-byte file)")

    _need(path, size, offset, _DICT_HEAD.size, "dictionary")
    n_entries, nwords, nlabels, ntokens, pruneidx_size = _DICT_HEAD.unpack_from(data, offset)
    offset += _DICT_HEAD.size
    if n_entries < 0 or nwords < 0 or nlabels < 0 or nwords + nlabels != n_entries:
        raise FormatError(f"{path}: damaged fastText dictionary ({n_entries} entries, "
                          f"{nwords} words, {nlabels} labels)")
    if n_entries * (1 + _ENTRY_TAIL.size) > size - offset:
        raise FormatError(f"{path}: damaged fastText dictionary: {n_entries:,} entries cannot fit "
                          f"in the {size - offset:,} bytes after the header")
    if nwords == 0:
        raise FormatError(f"{path}: the fastText model has no words")
    if nwords + args["bucket"] > 2**31 - 1:
        raise FormatError(f"{path}: damaged fastText model ({nwords:,} words + "
                          f"{args['bucket']:,} buckets exceed 2^31 rows)")
    words = []
    counts = np.empty(nwords, dtype=np.int64)
    for i in range(n_entries):
        end = data.find(b"\0", offset)
        if end < 0:
            raise FormatError(f"{path}: truncated fastText model (ends inside dictionary entry "
                              f"{i + 1}, at byte offset {offset:,})")
        _need(path, size, end + 1, _ENTRY_TAIL.size, "dictionary")
        count, kind = _ENTRY_TAIL.unpack_from(data, end + 1)
        if i < nwords:
            if kind != 0:
                raise FormatError(f"{path}: damaged fastText dictionary "
                                  f"(entry {i} should be a word)")
            try:
                words.append(data[offset:end].decode("utf-8"))
            except UnicodeDecodeError:
                raise FormatError(f"{path}: dictionary word {i} is not valid UTF-8") from None
            counts[i] = count
        offset = end + 1 + _ENTRY_TAIL.size
    if len(set(words)) != len(words):
        seen = set()
        dup = next(w for w in words if w in seen or seen.add(w))
        raise FormatError(f"{path}: damaged fastText dictionary (word {dup!r} appears twice)")
    if pruneidx_size >= 0:
        raise FormatError(f"{path}: pruned/quantized fastText models (.ftz) are not supported")

    matrices = []
    for which in ("input", "output"):
        _need(path, size, offset, 1 + _MATRIX_HEAD.size, f"{which} matrix")
        if data[offset] != 0:
            raise FormatError(f"{path}: quantized fastText models (.ftz) are not supported")
        rows, cols = _MATRIX_HEAD.unpack_from(data, offset + 1)
        offset += 1 + _MATRIX_HEAD.size
        if rows < 0 or cols != args["dim"]:
            raise FormatError(f"{path}: damaged fastText {which} matrix ({rows} x {cols}, "
                              f"dim {args['dim']})")
        _need(path, size, offset, rows * cols * 4, f"{which} matrix")
        matrices.append((offset, rows, cols))
        offset += rows * cols * 4
    if offset != size:
        raise FormatError(f"{path}: damaged fastText model ({size - offset} unexpected bytes "
                          f"after the output matrix, at byte offset {offset:,})")
    (in_off, in_rows, dim), (out_off, out_rows, _) = matrices
    if in_rows != nwords + args["bucket"]:
        raise FormatError(f"{path}: damaged fastText model (input matrix has {in_rows} rows, "
                          f"expected {nwords} words + {args['bucket']} buckets)")
    input_matrix = np.memmap(path, dtype="<f4", mode="r", offset=in_off, shape=(in_rows, dim))
    output_matrix = np.memmap(path, dtype="<f4", mode="r", offset=out_off, shape=(out_rows, dim))
    return {"args": args, "words": words, "counts": counts, "ntokens": ntokens,
            "nlabels": nlabels, "input": input_matrix, "output": output_matrix}


def save_model(path, words, counts, input_matrix, output_matrix, *, model="skipgram",
               dim=None, window=5, epochs=5, min_count=5, negative=5, bucket=2_000_000,
               minn=3, maxn=6, sample=1e-4, ntokens=None, lr_update_rate=100, word_ngrams=1,
               loss="ns"):
    """Write a version-12 ``.bin`` that ``fasttext.load_model`` and gensim's
    ``load_facebook_model`` read; atomic (temp file + rename)."""
    input_matrix = np.ascontiguousarray(input_matrix, dtype="<f4")
    output_matrix = np.ascontiguousarray(output_matrix, dtype="<f4")
    dim = input_matrix.shape[1] if dim is None else dim
    if input_matrix.shape != (len(words) + bucket, dim) or output_matrix.shape[1] != dim:
        raise ValueError("matrix shapes do not match words, bucket and dim")
    counts = np.asarray(counts, dtype=np.int64)
    ntokens = int(counts.sum()) if ntokens is None else int(ntokens)
    for word in words:
        if "\0" in word or not word:
            raise OutputError(f"cannot write {path}: word {word!r} is empty or contains a NUL "
                              f"byte, which the fastText format cannot store")
    with atomic_output(path, "wb") as out:
        out.write(struct.pack("<ii", MAGIC, VERSION))
        out.write(_ARGS.pack(dim, window, epochs, min_count, negative, word_ngrams, LOSS[loss],
                             MODEL[model], bucket, minn, maxn, lr_update_rate, float(sample)))
        out.write(_DICT_HEAD.pack(len(words), len(words), 0, ntokens, -1))
        parts = []
        for word, count in zip(words, counts.tolist()):
            parts.append(word.encode("utf-8"))
            parts.append(b"\0")
            parts.append(_ENTRY_TAIL.pack(count, 0))
        out.write(b"".join(parts))
        for matrix in (input_matrix, output_matrix):
            out.write(b"\0")
            out.write(_MATRIX_HEAD.pack(*matrix.shape))
            out.write(memoryview(matrix).cast("B"))
