"""The trainers' front door: vocabulary and encoded corpus from the inputs.

Inputs that are not regular files (stdin, a FIFO, ``/dev/stdin``, ``<(...)``) can be read
only once: they are spooled to a temporary file while their words are counted, encoded
from there, and never cached. The word counts of regular files are remembered in the cache
(``cache.py``), so a second model on the same corpus does not count it again.
"""
import contextlib
import logging
import os
import tempfile

from staticvec.errors import InputError
from staticvec.text import corpus
from staticvec.text.cache import CountsEntry, Store
from staticvec.text.encoded import encode_corpus
from staticvec.text.vocab import Vocab, count_words, kept_vocab

log = logging.getLogger(__name__)

def counted_vocab(paths, *, min_count, max_size, max_vocab_words, encoding_errors,
                  cache=True, tee=None, progress=None, phrases=None):
    """``vocab.count_words`` remembered in the cache (keyed by the inputs and options), so a
    second model on the same corpus does not count it again. Inputs that are not regular
    files are never cached (reading them for a key would consume them). ``phrases`` (a
    ``phrases.PhraseTable``): the words are counted with its phrases joined."""
    regular = tee is None and all(corpus.is_regular(p) for p in paths)
    store = Store.open(cache if regular else False)
    entry = CountsEntry(store, paths, encoding_errors, max_vocab_words,
                        phrases=phrases) if store else None
    if entry is not None:
        saved = entry.read()
        if saved is not None:
            log.info("vocab: counts from cache")
            return kept_vocab(*saved, min_count, max_size)
        log.info("vocab: counting words (no cached counts for these inputs)")
    counted, stats = count_words(paths, max_vocab_words, encoding_errors, tee=tee,
                                 progress=progress, phrases=phrases)
    if entry is not None:
        entry.write(counted, stats)
    return kept_vocab(counted, stats, min_count, max_size)


def prepare(paths, *, vocab_path=None, min_count=5, max_size=None,
            max_vocab_words=30_000_000, encoding_errors="strict", max_sentence_length=10000,
            cache=True, progress=None, adjust=None, phrases=None):
    """Vocabulary (counted or read from ``vocab_path``) and the encoded corpus: what every
    trainer starts from. Stdin is read exactly once. (A --save-vocab is the job's to write,
    with its other outputs once training has succeeded.) ``adjust``: a function of the
    vocabulary returning the one to encode with (a continued model's merged vocabulary).
    ``phrases``: a phrase table file (the ``phrases`` command's --save-phrases): its phrases
    are joined as the text is read, for the counts and the encoding alike, and its content
    is part of both cache keys."""
    paths = [os.fspath(p) if str(p) != corpus.STDIN else corpus.STDIN for p in paths]
    corpus.check_encoding_errors(encoding_errors)
    corpus.check_inputs(paths)
    spool = None
    if phrases is not None:
        from staticvec.text.phrases import PhraseTable

        phrases = PhraseTable.load(phrases)
        log.info(f"phrases: {len(phrases):,} read from {phrases.source}")
    # so are inputs that are not regular files (a FIFO, /dev/stdin, <(...)): spooled, uncached
    regular = all(corpus.is_regular(p) for p in paths)
    # one view of the cache folder for the whole job, so a failure is reported once
    cache = Store.open(cache if regular else False)
    try:
        if vocab_path is not None:
            vocab = Vocab.load(vocab_path, min_count=min_count, max_size=max_size)
            log.info(f"vocab: {len(vocab):,} words read from {vocab_path}")
        else:
            tee = None
            if not regular:
                # stdin, a FIFO, /dev/stdin, <(...): they can be read only once
                spool = tempfile.NamedTemporaryFile(prefix="staticvec-stdin-", suffix=".txt",
                                                    delete=False)
                tee = corpus.SpoolWriter(spool)
            vocab = counted_vocab(paths, min_count=min_count, max_size=max_size,
                                  max_vocab_words=max_vocab_words,
                                  encoding_errors=encoding_errors, cache=cache, tee=tee,
                                  progress=progress, phrases=phrases)
            if spool is not None:
                spool.close()
                # the spool holds the validated text of every input in order: read it alone
                paths = [spool.name]
            if adjust is None:
                log.info(vocab.summary())
        if adjust is not None:
            vocab = adjust(vocab)
            log.info(vocab.summary())
        encoded = encode_corpus(paths, vocab, encoding_errors=encoding_errors,
                                max_sentence_length=max_sentence_length,
                                cache=cache if spool is None else False, progress=progress,
                                phrases=phrases)
        if encoded.n_tokens == 0:
            raise InputError("no word of the corpus is in the vocabulary: nothing to train on")
        return vocab, encoded
    finally:
        if spool is not None:
            spool.close()
            with contextlib.suppress(OSError):
                os.unlink(spool.name)
