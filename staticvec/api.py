"""The Python library's front door: ``load``, ``convert`` and the four trainers.

Everything here is a thin layer over the modules the CLI uses, so a script and a shell
command given the same options do the same thing: the trainers build the same options
objects (same names, same defaults, the same validator) and run the same job; errors are
the project's exceptions (``staticvec.errors``), never ``SystemExit``; nothing is printed
(the library logs under the ``staticvec`` logger and reports progress through
``progress(stage, done, total, **fields)``).

Training without ``output=`` trains into a private temporary folder, loads the result and
removes the folder, so the vectors returned are exactly those the CLI would have written.
The vectors a trainer returns carry ``training``: the record ``--json-summary`` writes (the
loss of every epoch, words/s, seconds per stage, sizes, the resolved options).
A corpus given as token lists is written once to a private temporary file (one sentence a
line) and read from there like any file; it is never cached.
"""
import dataclasses
import difflib
import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence, Tuple, Union

from staticvec.errors import BadOptionError, InputError, OutputError
from staticvec.io.convert import convert_vectors
from staticvec.io.dispatch import load_vectors
from staticvec.model.fasttext import FastTextVectors
from staticvec.model.vectors import Vectors

if TYPE_CHECKING:
    import numpy as np

PathLike = Union[str, "os.PathLike[str]"]
Corpus = Union[PathLike, Sequence[PathLike], Iterable[Sequence[str]]]
Progress = Callable[..., Any]

# CLI options that are not fields of the options objects: {name: job keyword}
_JOB_OPTIONS = {"vocab": "vocab_path", "save_vocab": "save_vocab"}
_GLOVE_OPTIONS = {"save_cooccur": "save_cooccur", "cooccur": "cooccur", "tmp_dir": "tmp_dir"}
# --continue FILE / --init-vectors FILE (and word2vec's --save-model FILE)
_START_OPTIONS = {"continue_from": "continue_from", "init_vectors": "init_vectors"}


def load(path: PathLike, *, format: Optional[str] = None, limit: Optional[int] = None,
         encoding_errors: str = "strict") -> Vectors:
    """Read a vectors file: word2vec binary or text (gensim's and GloVe's dialects too),
    fastText ``.vec`` or ``.bin`` (a ``FastTextVectors``, which gives unseen words their
    n-gram vectors), plain or ``.gz``/``.bz2``/``.xz``, or a staticvec store (``staticvec
    store``: memory-mapped, a ``StoredVectors`` that opens in milliseconds whatever its
    size). The format is sniffed from the content; ``format`` ("binary", "text",
    "fasttext", "store") forces it.

    ``limit``: only the first ``limit`` words, without reading the rest of the file (as
    gensim's ``limit``); ``encoding_errors``: "strict", "replace" or "ignore"."""
    return load_vectors(path, fmt=format, encoding_errors=encoding_errors, limit=limit)


def convert(source: PathLike, target: PathLike, *, format_in: Optional[str] = None,
            format_out: Optional[str] = None, limit: Optional[int] = None,
            normalize: bool = False, encoding_errors: str = "strict") -> int:
    """Write ``source`` (anything ``load`` reads) as word2vec binary or text: ``format_out``,
    else by ``target``'s extension (``.bin``, ``.txt``/``.vec``; ``.gz``/``.bz2``/``.xz``
    compress). Streamed (a block of rows at a time, never the whole matrix), atomic, and
    never onto ``source``; ``normalize`` writes unit vectors. Returns the number of vectors
    written."""
    return convert_vectors(source, target, format_in=format_in, format_out=format_out,
                           limit=limit, normalize=normalize, encoding_errors=encoding_errors)


def sentence_vectors(vectors: Vectors, lines: Iterable[Union[str, Sequence[str]]], *,
                     pooling: str = "mean", sif_a: float = 1e-3,
                     counts: Optional[Sequence[float]] = None,
                     component: Optional["np.ndarray"] = None
                     ) -> Tuple["np.ndarray", Optional["np.ndarray"]]:
    """One vector per line (a string, split on whitespace, or a token list), as ``staticvec
    embed`` pools them: ``"mean"`` of the known words' unit vectors, or ``"sif"`` (weights
    sif_a / (sif_a + p(w)) from ``counts``, one per word, else the model's own; then the
    first singular vector removed: ``component``, else the one of these lines). Returns
    (N x d float32, the component removed or None)."""
    from staticvec.io.embeddings import pooler_for
    from staticvec.model.sentences import ComponentSum, remove_component

    tokens = [line.split() if isinstance(line, str) else list(line) for line in lines]
    pooled, _ = pooler_for(vectors, pooling, sif_a, counts).pool(tokens)
    if pooling != "sif":
        return pooled, None
    if component is None:
        gram = ComponentSum(vectors.dim)
        gram.add(pooled)
        component = gram.component()
    return remove_component(pooled, component), component


def train_skipgram(corpus: Corpus, *, output: Optional[PathLike] = None,
                   progress: Optional[Progress] = None, **options: Any) -> Vectors:
    """word2vec skip-gram, with ``train-skipgram``'s options as keywords (``dim=100``,
    ``window=5``, ``epochs=5``, ``min_count=5``, ``threads``, ``seed=1``, ``vocab``,
    ``save_vocab``, ``no_cache``, ``save_model``, ``continue_from``, ``init_vectors``...).
    ``corpus``: a path, a list of paths, or an iterable of token lists. ``output``: also
    write the vectors there (else nothing is kept)."""
    return _train_word2vec(True, "train_skipgram", corpus, output, progress, options)


def train_cbow(corpus: Corpus, *, output: Optional[PathLike] = None,
               progress: Optional[Progress] = None, **options: Any) -> Vectors:
    """word2vec CBOW, with ``train-cbow``'s options as keywords (see ``train_skipgram``;
    ``alpha`` defaults to 0.05, ``cbow_mean`` to True)."""
    return _train_word2vec(False, "train_cbow", corpus, output, progress, options)


def train_fasttext(corpus: Corpus, *, output: Optional[PathLike] = None,
                   progress: Optional[Progress] = None, **options: Any) -> FastTextVectors:
    """fastText (words + character n-grams), with ``train-fasttext``'s options as keywords
    (``model="skipgram"``, ``minn=3``, ``maxn=6``, ``bucket=2_000_000``, ``continue_from``,
    ``init_vectors``...). ``output``: a
    stem: STEM.bin and STEM.vec are written there too. Returns the model as loaded from its
    ``.bin``, so unseen words get vectors."""
    from staticvec.train import fasttext as ft

    opts, job_kw = _split("train_fasttext", ft.FastTextOptions, options,
                          dict(_JOB_OPTIONS, **_START_OPTIONS))
    with _CorpusPaths(corpus, opts) as paths, _Output(output, "model") as target:
        summary = _summary("train_fasttext")
        ft.train_fasttext(paths, target, opts, progress=progress, summary=summary, **job_kw)
        return _with_record(load_vectors(f"{ft.stem_of(target)}.bin", fmt="fasttext"), summary,
                            output)


def train_glove(corpus: Optional[Corpus], *, output: Optional[PathLike] = None,
                progress: Optional[Progress] = None, **options: Any) -> Vectors:
    """GloVe, with ``train-glove``'s options as keywords (``window=10``, ``epochs=25``,
    ``x_max=100``, ``alpha=0.75``, ``eta=0.05``, ``memory=4.0`` GB, ``vectors="sum"``,
    ``cooccur``, ``save_cooccur``, ``tmp_dir``...). ``corpus`` may be None with ``cooccur``."""
    from staticvec.train import glove

    opts, job_kw = _split("train_glove", glove.GloveOptions, options,
                          dict(_JOB_OPTIONS, **_GLOVE_OPTIONS))
    with _CorpusPaths(corpus if corpus is not None else [], opts) as paths, \
            _Output(output, "vectors.bin") as target:
        summary = _summary("train_glove")
        glove.train_glove(paths, target, opts, progress=progress, summary=summary, **job_kw)
        return _with_record(load_vectors(target), summary, output)


def _train_word2vec(sg, name, corpus, output, progress, options):
    from staticvec.train import word2vec as w2v

    opts, job_kw = _split(name, w2v.Word2VecOptions, options,
                          dict(_JOB_OPTIONS, save_model="save_model", **_START_OPTIONS),
                          fixed={"sg": sg})
    with _CorpusPaths(corpus, opts) as paths, _Output(output, "vectors.bin") as target:
        summary = _summary(name)
        w2v.train_word2vec(paths, target, opts, progress=progress, summary=summary, **job_kw)
        return _with_record(load_vectors(target), summary, output)


def _summary(name):
    from staticvec.train.summary import RunSummary

    return RunSummary(command=name)   # (the version is staticvec.__version__)


def _with_record(vectors, summary, output):
    """``vectors`` with ``training``: the run's record (as --json-summary writes it; without
    ``output`` the files were temporary, so it lists none)."""
    record = summary.finish(0)
    if output is None:
        record["outputs"] = []
    vectors.training = record
    return vectors


# ---------------------------------------------------------------- options from keywords
def _split(name, cls, options, job_names, fixed=None):
    """``(options object, job keywords)`` from the keywords a trainer was given;
    an unknown keyword or a value of the wrong type is a ``BadOptionError`` naming it."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in (fixed or {})}
    known = set(fields) | set(job_names) | {"no_cache"}
    values, job_kw = dict(fixed or {}), {}
    for key, value in options.items():
        if key not in known:
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            extra = (" (the library prints nothing: see the logging module and progress=)"
                     if key == "quiet" else f" (did you mean {hint[0]}?)" if hint else "")
            raise BadOptionError(f"{name}: unknown option {key!r}{extra}")
        if key in job_names:
            if key.startswith("save_") and str(value) == "-":
                raise BadOptionError(f"{key}='-': the library does not write to stdout; name a "
                                     f"file")
            job_kw[job_names[key]] = None if value is None else _path(key, value)
        elif key == "no_cache":
            _check_type(key, value, bool, False)
            if value:
                values["cache"] = False
        else:
            field = fields[key]
            _check_type(key, value, field.type, field.default is None)
            values[key] = value
    if job_kw.get("continue_from") is not None:
        # the keywords given are the options a continued model's stored ones do not replace
        job_kw["explicit"] = set(values) - set(fixed or {})
    return cls(**values), job_kw


def _check_type(key, value, kind, nullable):
    flag = "--" + key.replace("_", "-")
    if value is None and nullable:
        return
    if kind is bool:
        ok, what = isinstance(value, bool), "True or False"
    elif kind is int:
        ok, what = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        what = "a number"
    elif kind is str:
        ok, what = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise BadOptionError(f"{flag} must be {what} (got {value!r})")


def _path(key, value):
    if not isinstance(value, (str, os.PathLike)):
        raise BadOptionError(f"--{key.replace('_', '-')} must be a file name (got {value!r})")
    return os.fspath(value)


# ---------------------------------------------------------------- corpus and output
class _CorpusPaths:
    """The corpus as file names (token lists spooled to a temporary file, removed after)."""

    def __init__(self, corpus, options):
        self.corpus, self.options, self.spool = corpus, options, None

    def __enter__(self):
        corpus = self.corpus
        if isinstance(corpus, (str, os.PathLike)):
            return [os.fspath(corpus)]
        if isinstance(corpus, (list, tuple)) and all(isinstance(p, (str, os.PathLike))
                                                    for p in corpus):
            return [os.fspath(p) for p in corpus]
        self.spool = _spool(corpus)
        self.options.cache = False  # a private file of its own: nothing to find again
        return [self.spool]

    def __exit__(self, *exc):
        if self.spool is not None:
            try:
                os.unlink(self.spool)
            except OSError:
                pass
        return False


def _spool(sentences):
    """Write token lists to a private temporary file, one sentence a line; its name."""
    try:
        iterator = iter(sentences)
    except TypeError:
        raise BadOptionError(f"corpus must be a file name, a list of file names or an "
                             f"iterable of token lists (got {type(sentences).__name__})") from None
    try:
        fd, name = tempfile.mkstemp(prefix="staticvec-corpus-", suffix=".txt")
    except OSError as exc:
        raise OutputError(f"cannot create a temporary corpus file: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            lines = []
            for number, tokens in enumerate(iterator, 1):
                lines.append(_sentence(tokens, number))
                if len(lines) >= 4096:
                    out.write(b"".join(lines))
                    lines = []
            out.write(b"".join(lines))
    except OSError as exc:
        os.unlink(name)
        raise OutputError(f"cannot write the temporary corpus file {name}: "
                          f"{exc.strerror or exc}") from None
    except BaseException:
        os.unlink(name)
        raise
    return name


def _sentence(tokens, number):
    """One sentence (a list of tokens) as a line of UTF-8 bytes."""
    if isinstance(tokens, (str, bytes)):
        raise InputError(f"corpus sentence {number} is a string, not a list of tokens "
                         f"(split it: {str(tokens)[:40]!r}.split())")
    tokens = list(tokens)
    if not all(isinstance(t, str) for t in tokens):
        bad = next(t for t in tokens if not isinstance(t, str))
        raise InputError(f"corpus sentence {number}: token {bad!r} is not a string")
    line = " ".join(tokens)
    if len(line.split()) != len(tokens):
        bad = next(t for t in tokens if len(t.split()) != 1 or t.split()[0] != t)
        raise InputError(f"corpus sentence {number}: token {bad!r} is empty or contains "
                         f"whitespace")
    return line.encode("utf-8") + b"\n"


class _Output:
    """``output`` as given, or a name in a private temporary folder removed afterwards."""

    def __init__(self, output, name):
        self.output, self.name, self.folder = output, name, None

    def __enter__(self):
        if self.output is not None:
            if str(self.output) == "-":
                raise BadOptionError("output='-': the library does not write to stdout; name a "
                                     "file, or leave output out and use the vectors returned")
            return os.fspath(self.output)
        self.folder = tempfile.TemporaryDirectory(prefix="staticvec-train-")
        return os.path.join(self.folder.name, self.name)

    def __exit__(self, *exc):
        if self.folder is not None:
            self.folder.cleanup()
        return False


__all__ = ["load", "convert", "train_skipgram", "train_cbow", "train_fasttext", "train_glove",
           "Vectors", "FastTextVectors"]
