"""Checkpoints: the whole state of a training run, written atomically, read back checked.

``--checkpoint DIR`` writes one at every epoch end, every ``--checkpoint-every`` minutes and on
Ctrl-C/SIGTERM; ``--resume DIR`` continues from the latest (and keeps writing them there).
Layout of DIR:

    DIR/checkpoint-000007/   the latest complete checkpoint (numbered; the newest wins)
        manifest             sealed JSON (text/cache.py's ``seal``: kind, version, sha256):
                             the trainer, its options, the corpus fingerprint, the trainer's
                             scalar state and every file below (dtype, shape, bytes, sha256)
        NAME.npy             the matrices, per-thread states (epoch, position, RNG, counters,
                             rate) and vocabulary counts, as .npy (memory-mappable)
        words.txt            the vocabulary, one word a line
    DIR/.tmp-*/              a checkpoint being written

A checkpoint is written into a fresh ``.tmp-*`` folder (files synced, manifest last), renamed
to the next number (one atomic rename: it is complete or absent), and only then are the older
ones removed; a SIGKILL at any moment leaves the previous one intact. A run that writes its
outputs removes its checkpoints (the output is the result).

Reading trusts nothing in DIR: the manifest must be whole (checksum) and of this version; the
options must equal the run's (``BadOptionError`` naming the first that differs); every array
is checked against the manifest and against the size the run computed itself from its
vocabulary and options (never sized by a header) before it is read, and its sha256 after.
"""
import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time

import numpy as np

from staticvec.errors import BadOptionError, FormatError, InputError, OutputError
from staticvec.text.cache import CacheDamaged, seal, unseal

log = logging.getLogger(__name__)

VERSION = 1
MANIFEST_MAX_BYTES = 16 << 20
BLOCK = 1 << 24  # bytes written or read (and hashed) at a time
_NAME = re.compile(r"checkpoint-(\d{6,18})")
_TEMP_PREFIX = ".tmp-"
_DTYPES = ("<f4", "<f8", "<i8", "<u8", "<u4", "<i4")
# options that say where and how often to checkpoint, not what is trained
NOT_COMPARED = ("checkpoint", "checkpoint_every", "resume", "cache")


def option_name(field):
    return "--" + field.replace("_", "-")


# options added after checkpoints existed: what a checkpoint that lacks them was made with
OLDER_DEFAULTS = {"order": "sequential", "shuffle_block": None}


def compared_options(options):
    """{field: value} of the options a resumed run must share with its checkpoint."""
    return {k: v for k, v in dataclasses.asdict(options).items() if k not in NOT_COMPARED}


def _show(value):
    return {True: "on", False: "off", None: "unset"}.get(value, value) \
        if isinstance(value, (bool, type(None))) else value


def _fsync(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _numbered(directory):
    """{number: folder name} of the checkpoints in ``directory``."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"cannot read {directory}: {exc.strerror or exc}") from None
    return {int(m.group(1)): name for name in names if (m := _NAME.fullmatch(name))}


# ---------------------------------------------------------------- writing
def _write_array(folder, name, array):
    """``array`` as ``folder``/NAME.npy, hashed as written; its manifest entry."""
    array = np.ascontiguousarray(array)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    path = os.path.join(folder, f"{name}.npy")
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": dtype.str, "fortran_order": False, "shape": array.shape})
        flat = memoryview(array.astype(dtype, copy=False).reshape(-1)).cast("B")
        for lo in range(0, len(flat), BLOCK):
            digest.update(flat[lo:lo + BLOCK])
            handle.write(flat[lo:lo + BLOCK])
        handle.flush()
        os.fsync(handle.fileno())
        size = handle.tell()
    return {"dtype": dtype.str, "shape": list(array.shape), "bytes": size,
            "sha256": digest.hexdigest()}


def write_checkpoint(directory, record, arrays, words=None):
    """A new checkpoint in ``directory``: ``record`` (JSON-able: trainer, options, fingerprint,
    state) and ``arrays`` ({name: ndarray}), complete or absent; then the older ones go.
    Returns the new folder."""
    try:
        os.makedirs(directory, exist_ok=True)
        _sweep(directory)
        work = tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=directory)
        try:
            files = {name: _write_array(work, name, a) for name, a in arrays.items()}
            if words is not None:
                data = "".join(w + "\n" for w in words).encode("utf-8")
                with open(os.path.join(work, "words.txt"), "wb") as handle:
                    handle.write(data)
                    os.fsync(handle.fileno())
                files["words.txt"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            number = max(_numbered(directory), default=0) + 1
            body = dict(record, version=VERSION, number=number, files=files,
                        written=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            with open(os.path.join(work, "manifest"), "wb") as handle:
                handle.write(seal("checkpoint", json.dumps(body, sort_keys=True).encode()))
                os.fsync(handle.fileno())
            os.chmod(work, 0o777 & ~_umask())
            target = os.path.join(directory, f"checkpoint-{number:06d}")
            os.rename(work, target)
            _fsync(directory, directory=True)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write a checkpoint in {directory}: "
                          f"{exc.strerror or exc}") from None
    for n, name in _numbered(directory).items():
        if n < number:
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    return target


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sweep(directory):
    """Remove what a killed writer left (``.tmp-*``): one writer per DIR at a time."""
    for name in os.listdir(directory):
        if name.startswith(_TEMP_PREFIX):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def remove_checkpoints(directory):
    """Remove every checkpoint (and temporary) in ``directory``, and the folder if empty."""
    for name in list(_numbered(directory).values()) + [
            n for n in os.listdir(directory) if n.startswith(_TEMP_PREFIX)]:
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    try:
        os.rmdir(directory)
    except OSError:
        pass


# ---------------------------------------------------------------- reading
class Saved:
    """The latest checkpoint of a folder, its manifest checked (arrays are read on demand)."""

    def __init__(self, directory):
        self.directory = directory
        if not os.path.isdir(directory):
            what = "not a folder" if os.path.exists(directory) else "no such folder"
            raise InputError(f"--resume {directory}: {what} (nothing to resume)")
        numbered = _numbered(directory)
        if not numbered:
            raise InputError(f"--resume {directory}: no checkpoint in this folder (nothing "
                             f"to resume; start with --checkpoint {directory})")
        self.folder = os.path.join(directory, numbered[max(numbered)])
        try:
            with open(os.path.join(self.folder, "manifest"), "rb") as handle:
                data = handle.read(MANIFEST_MAX_BYTES + 1)
            if len(data) > MANIFEST_MAX_BYTES:
                raise CacheDamaged("its manifest is too large")
            self.record = _check_record(unseal("checkpoint", data))
        except FileNotFoundError:
            self._damaged("no manifest")
        except OSError as exc:
            self._damaged(exc.strerror or exc)
        except CacheDamaged as exc:
            self._damaged(exc)

    def _damaged(self, reason):
        raise FormatError(f"--resume {self.directory}: the checkpoint "
                          f"{os.path.basename(self.folder)} is damaged ({reason})")

    def check_options(self, trainer, options):
        """BadOptionError unless the run is the checkpoint's trainer with its options."""
        saved = self.record["trainer"]
        if saved != trainer:
            raise BadOptionError(f"--resume {self.directory}: the checkpoint is of {saved}, "
                                 f"not {trainer}")
        mine = compared_options(options)
        theirs = {**{k: v for k, v in OLDER_DEFAULTS.items() if k in mine},
                  **self.record["options"]}
        for name, value in mine.items():
            if name not in theirs or theirs[name] != value:
                want = _show(theirs.get(name))
                raise BadOptionError(f"{option_name(name)} must be {want}, as in the checkpoint "
                                     f"in {self.directory} (got {_show(value)})")
        extra = sorted(set(theirs) - set(mine))
        if extra:
            raise BadOptionError(f"--resume {self.directory}: the checkpoint was made with "
                                 f"{option_name(extra[0])}, which this run does not have")

    def check_fingerprint(self, fingerprint):
        if self.record["fingerprint"] != fingerprint:
            raise InputError(f"--resume {self.directory}: the corpus (or its vocabulary) is "
                             f"not the one the checkpoint was trained on (its fingerprint "
                             f"changed)")

    def restore(self, targets):
        """Read each saved array into ``targets[name]`` (allocated by the caller from its own
        vocabulary and options): shapes and dtypes are checked first, checksums as read."""
        files = self.record["files"]
        for name, target in targets.items():
            entry = files.get(name)
            if entry is None or "shape" not in entry:
                self._damaged(f"no {name}.npy in its manifest")
            if tuple(entry["shape"]) != target.shape or entry["dtype"] != target.dtype.str:
                self._damaged(f"{name}.npy is {entry['dtype']} {tuple(entry['shape'])}, this "
                              f"run needs {target.dtype.str} {target.shape}")
            self._read_into(name, entry, target)

    def _read_into(self, name, entry, target):
        path = os.path.join(self.folder, f"{name}.npy")
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size != entry["bytes"]:
                    self._damaged(f"{name}.npy holds {size:,} bytes, its manifest says "
                                  f"{entry['bytes']:,}")
                version = np.lib.format.read_magic(handle)
                if version != (1, 0):
                    self._damaged(f"{name}.npy is not a version 1.0 .npy file")
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
                if fortran or tuple(shape) != target.shape or dtype.str != target.dtype.str:
                    self._damaged(f"{name}.npy's header does not match its manifest")
                if size - handle.tell() != target.nbytes:
                    self._damaged(f"{name}.npy holds {size - handle.tell():,} data bytes, "
                                  f"expected {target.nbytes:,}")
                if not target.flags.c_contiguous:
                    raise ValueError(f"restore target {name} must be C-contiguous")
                flat = memoryview(target.reshape(-1)).cast("B")
                digest = hashlib.sha256()
                for lo in range(0, len(flat), BLOCK):
                    part = flat[lo:lo + BLOCK]
                    if handle.readinto(part) != len(part):
                        self._damaged(f"{name}.npy is truncated")
                    digest.update(part)
        except FileNotFoundError:
            self._damaged(f"no {name}.npy")
        except (OSError, ValueError) as exc:
            self._damaged(f"{name}.npy: {getattr(exc, 'strerror', None) or exc}")
        if digest.hexdigest() != entry["sha256"]:
            self._damaged(f"{name}.npy does not match its checksum")


def _check_record(record):
    """The manifest's fields, type-checked (a damaged or foreign one is CacheDamaged)."""
    if record.get("version") != VERSION:
        raise CacheDamaged(f"checkpoint version {str(record.get('version'))[:20]!r}, "
                           f"expected {VERSION}")
    for field, kind in (("trainer", str), ("options", dict), ("fingerprint", str),
                        ("files", dict), ("state", dict)):
        if not isinstance(record.get(field), kind):
            raise CacheDamaged(f"its manifest has no valid {field}")
    for name, entry in record["files"].items():
        ok = (isinstance(entry, dict) and type(entry.get("bytes")) is int
              and entry["bytes"] >= 0 and isinstance(entry.get("sha256"), str))
        if ok and "shape" in entry:
            ok = (entry.get("dtype") in _DTYPES and isinstance(entry["shape"], list)
                  and all(type(n) is int and 0 <= n < 1 << 40 for n in entry["shape"]))
        if not ok:
            raise CacheDamaged(f"its manifest's entry for {name[:40]!r} is not valid")
    return record


# ---------------------------------------------------------------- one run's checkpointing
class Checkpoints:
    """What a job knows about checkpoints: where to write them (``--checkpoint``, or the
    ``--resume`` folder), how often, and the checkpoint resumed from (``saved``, or None).

    Built before any work, so a missing, damaged or foreign checkpoint is refused at once."""

    def __init__(self, trainer, options):
        self.trainer = trainer
        self.options = options
        self.directory = options.checkpoint or options.resume
        self.every = 60.0 * (options.checkpoint_every or 10.0)
        self.saved = None
        self.fingerprint = None
        self.words = None
        if options.resume is not None:
            self.saved = Saved(options.resume)
            self.saved.check_options(trainer, options)
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise BadOptionError(f"--checkpoint {self.directory} is not a folder")
        if options.resume is None and _numbered(self.directory):
            raise BadOptionError(f"--checkpoint {self.directory} already holds a checkpoint: "
                                 f"continue it with --resume {self.directory}, or remove it")
        try:
            os.makedirs(self.directory, exist_ok=True)  # found out now, not after an epoch
        except OSError as exc:
            raise OutputError(f"cannot create --checkpoint {self.directory}: "
                              f"{exc.strerror or exc}") from None

    @classmethod
    def of(cls, trainer, options):
        """None when the run neither checkpoints nor resumes."""
        if options.checkpoint is None and options.resume is None:
            return None
        return cls(trainer, options)

    def bind(self, words, counts, ids, sentence_ends):
        """The corpus this run trains on: fingerprinted, and checked against the resumed
        checkpoint's (InputError if it changed)."""
        from staticvec.text.encoded import corpus_fingerprint

        started = time.perf_counter()
        self.fingerprint = corpus_fingerprint(words, counts, ids, sentence_ends)
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        log.info(f"checkpoint: corpus fingerprint {self.fingerprint[:16]} "
                 f"({time.perf_counter() - started:.2f} s)")
        if self.saved is not None:
            self.saved.check_fingerprint(self.fingerprint)

    def session(self, arrays, finished, state=None):
        """The runner's side (``runner.run_workers(checkpoint=...)``): ``arrays`` {name:
        ndarray} are saved as they are when every worker has stopped; ``finished()`` says
        when training is complete; ``state()`` gives extra JSON-able state."""
        return Session(self, arrays, finished, state)

    def restore(self, targets):
        if self.saved is not None:
            started = time.perf_counter()
            self.saved.restore(targets)
            log.info(f"checkpoint: resumed from {self.saved.folder} "
                     f"({time.perf_counter() - started:.2f} s)")

    def remove(self):
        """Training is over and its outputs are written: the checkpoints have served."""
        remove_checkpoints(self.directory)


class Session:
    def __init__(self, owner, arrays, finished, state):
        self.owner = owner
        self.arrays = arrays
        self.finished = finished
        self.state = state or dict
        self.last = time.monotonic()
        self.seconds = 0.0
        self.written = 0

    def due(self):
        return time.monotonic() - self.last >= self.owner.every

    def save(self):
        o = self.owner
        started = time.perf_counter()
        record = {"trainer": o.trainer, "options": compared_options(o.options),
                  "fingerprint": o.fingerprint, "state": self.state()}
        arrays = dict(self.arrays, counts=o.counts)
        folder = write_checkpoint(o.directory, record, arrays, o.words)
        seconds = time.perf_counter() - started
        self.seconds += seconds
        self.written += 1
        self.last = time.monotonic()
        log.info(f"checkpoint: wrote {folder} ({seconds:.2f} s)")

    def describe(self):
        return f"checkpoint written in {self.owner.directory} (continue with --resume)"
