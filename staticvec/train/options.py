"""What every trainer is told: one options base, one validator, one wording for bounds.

``TrainOptions`` holds the options all three trainers share (the vector size, the window, the
epochs, the threads and seed, and how the corpus is read into a vocabulary and an encoded
corpus); ``Word2VecOptions``, ``FastTextOptions`` and ``GloveOptions`` add their own.
``resolved()`` is the one validator: it returns a checked copy with the defaults that depend
on other options filled in (``threads=None`` means every core this process may run on), and
raises ``BadOptionError`` naming the first option out of range, always worded
``--NAME must be <condition> (got VALUE)`` (choices: ``invalid value for --NAME: ...``).
"""
import dataclasses
import math
import os
from dataclasses import dataclass

from staticvec.errors import BadOptionError
from staticvec.text.corpus import ENCODING_ERRORS
from staticvec.text.vocab import MAX_COUNT

# The kernels take counts as C ints: anything above this is refused, not wrapped around.
INT_MAX = 2 ** 31 - 1
MAX_DIM = 2 ** 30            # a C int even padded; the memory check refuses far earlier
MAX_EPOCHS = 1_000_000
MAX_NEGATIVE = 1000          # more noise words per prediction is a typo, not a setting


def default_threads():
    """The cores this process may run on (affinity/cgroup-aware where the OS says)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def max_threads():
    """The most worker threads a trainer starts: 16 per core (at least 64). More only adds
    switching, and every thread holds its own buffers."""
    return max(64, 16 * (os.cpu_count() or 1))


def check_int(name, value, low, high):
    """``name`` (an option such as ``--window``) must be an integer in [low, high]."""
    if not low <= value <= high:
        raise BadOptionError(f"{name} must be an integer in [{low}, {high}] (got {value})")


def check_positive(name, value):
    """``name`` must be a finite number > 0 (inf and nan are refused, never trained with)."""
    if not (math.isfinite(value) and value > 0):
        raise BadOptionError(f"{name} must be a finite number > 0 (got {value})")


def check_not_negative(name, value):
    """``name`` must be a finite number >= 0."""
    if not (math.isfinite(value) and value >= 0):
        raise BadOptionError(f"{name} must be a finite number >= 0 (got {value})")


def check_choice(name, value, choices):
    if value not in choices:
        raise BadOptionError(f"invalid value for {name}: {value!r} "
                             f"(choose from {', '.join(choices)})")


@dataclass
class TrainOptions:
    """The options every trainer shares, with the defaults of word2vec C."""

    dim: int = 100
    window: int = 5
    epochs: int = 5
    threads: int = None          # None: every core this process may run on
    seed: int = 1
    # reading the corpus into a vocabulary and an encoded corpus (text/prepare.py)
    min_count: int = 5
    max_size: int = None         # keep only the N most frequent words
    max_vocab_words: int = 30_000_000
    encoding_errors: str = "strict"
    max_sentence_length: int = 10000
    cache: object = True         # True (the default folder), False, or a folder path
    phrases: str = None          # a phrase table file: its phrases joined while reading
    # scale-out (scale/): count and encode on a Dask cluster into a shard set, or train
    # from one (see scale/encoding.py)
    dask: str = None             # --dask local:N | scheduler address
    encoded_dir: str = None      # --encoded-dir DIR|URL: where the cluster writes the shards
    encoded: str = None          # --encoded DIR|URL: train from this shard set
    # checkpoints (train/checkpoint.py): where, how often (minutes), and where to resume from
    checkpoint: object = None        # a folder name (str or os.PathLike)
    checkpoint_every: float = None   # 10 minutes when checkpointing
    resume: object = None

    def resolved(self):
        """A checked copy, with the defaults that depend on other options filled in."""
        o = dataclasses.replace(self)
        o.check_choices()
        if o.threads is None:
            o.threads = default_threads()
        # ints the kernels take as C ints, and finite numbers: inf/nan never reach a kernel
        check_int("--dim", o.dim, 1, MAX_DIM)
        check_int("--window", o.window, 1, INT_MAX)
        check_int("--epochs", o.epochs, 1, MAX_EPOCHS)
        check_int("--threads", o.threads, 1, max_threads())
        if o.min_count < 1:  # (a huge one is "no word occurs that often", found later)
            check_int("--min-count", o.min_count, 1, MAX_COUNT)
        if o.max_size is not None:
            check_int("--max-size", o.max_size, 1, MAX_COUNT)
        check_int("--max-vocab-words", o.max_vocab_words, 1, INT_MAX)
        check_int("--max-sentence-length", o.max_sentence_length, 1, INT_MAX)
        if not 0 <= o.seed < 2 ** 63:
            raise BadOptionError(f"--seed must be an integer in [0, 2^63) (got {o.seed})")
        o.check_checkpoints()
        o.check_sharded()
        o.check_model()
        return o

    def check_sharded(self):
        """--dask needs --encoded-dir (and the reverse); --encoded takes neither, nor
        --phrases: the shard set was encoded with its own."""
        if self.encoded is not None:
            for name, value in (("--dask", self.dask), ("--encoded-dir", self.encoded_dir),
                                ("--phrases", self.phrases)):
                if value is not None:
                    raise BadOptionError(f"{name} cannot be used with --encoded: the shard set "
                                         f"is encoded already")
        if self.dask is not None:
            from staticvec.scale.cluster import check_address

            check_address(self.dask)
            if self.encoded_dir is None:
                raise BadOptionError("--dask needs --encoded-dir DIR (where the workers write "
                                     "the encoded shards)")
        elif self.encoded_dir is not None:
            raise BadOptionError("--encoded-dir needs --dask ADDRESS (the cluster that "
                                 "encodes the corpus)")

    def check_checkpoints(self):
        """--resume DIR goes on writing checkpoints in DIR unless --checkpoint names another."""
        for name in ("checkpoint", "resume"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise BadOptionError(f"--{name} must be a folder name (got {value!r})")
            setattr(self, name, None if value is None else os.fspath(value))
        if self.resume is not None and self.checkpoint is None:
            self.checkpoint = self.resume
        if self.checkpoint_every is not None:
            if self.checkpoint is None:
                raise BadOptionError("--checkpoint-every needs --checkpoint DIR")
            check_positive("--checkpoint-every", self.checkpoint_every)

    def check_choices(self):
        """Options with a fixed set of values, checked first (as the CLI's parser would)."""
        check_choice("--encoding-errors", self.encoding_errors, ENCODING_ERRORS)

    def check_model(self):
        """The model's own options (subclasses); ``threads`` is filled in by now."""

    def reading(self):
        """The keyword arguments of ``text.prepare.prepare`` these options set."""
        return dict(min_count=self.min_count, max_size=self.max_size,
                    max_vocab_words=self.max_vocab_words, encoding_errors=self.encoding_errors,
                    max_sentence_length=self.max_sentence_length, cache=self.cache,
                    phrases=self.phrases)
