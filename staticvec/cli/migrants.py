"""Flags that users of word2vec C, fastText and GloVe C type by habit, and what to say.

``main`` looks every command-line word up in ``MIGRANT_FLAGS`` before click parses it: click
would read ``-size`` as the short options ``-s -i -z -e`` and ``-output v.bin`` as
``-o utput``, so the hint has to come first, not from click's "no such option".
"""

# the flag as its tool spells it -> (tool, staticvec's option, or None and what to do instead)
_SPELLINGS = {
    "-size": ("word2vec C", "--dim"),
    "-dim": ("fastText", "--dim"),
    "-vector-size": ("GloVe C", "--dim"),
    "-iter": ("word2vec C", "--epochs"),
    "-epoch": ("fastText", "--epochs"),
    "-max-iter": ("GloVe C", "--epochs"),
    "-alpha": ("word2vec C", "--alpha"),
    "-lr": ("fastText", "--alpha"),
    "-eta": ("GloVe C", "--eta"),
    "-x-max": ("GloVe C", "--x-max"),
    "-window": ("word2vec C", "--window"),
    "-ws": ("fastText", "--window"),
    "-window-size": ("GloVe C", "--window"),
    "-negative": ("word2vec C", "--negative"),
    "-neg": ("fastText", "--negative"),
    "-sample": ("word2vec C", "--sample"),
    "-t": ("fastText", "--sample"),
    "-min-count": ("word2vec C", "--min-count"),
    "-minCount": ("fastText", "--min-count"),
    "-vocab-min-count": ("GloVe C", "--min-count"),
    "-threads": ("word2vec C", "--threads"),
    "-thread": ("fastText", "--threads"),
    "-num-threads": ("GloVe C", "--threads"),
    "-minn": ("fastText", "--minn"),
    "-maxn": ("fastText", "--maxn"),
    "-bucket": ("fastText", "--bucket"),
    "-memory": ("GloVe C", "--memory"),
    "-output": ("word2vec C", "-o/--output"),
    "-save-vocab": ("word2vec C", "--save-vocab"),
    "-read-vocab": ("word2vec C", "--vocab"),
    "-pretrainedVectors": ("fastText", "--init-vectors"),
    "-train": ("word2vec C", None,
               "name the corpus files as arguments: staticvec train-skipgram CORPUS... -o FILE"),
    "-input": ("fastText", None,
               "name the corpus files as arguments: staticvec train-fasttext CORPUS... -o FILE"),
    "-cbow": ("word2vec C", None, "the model is the command: train-cbow or train-skipgram"),
    "-binary": ("word2vec C", None, "the output format follows -o's extension: .bin binary, "
                                    ".txt/.vec text"),
    "-hs": ("word2vec C", "--hs/--no-hs"),
    "-loss": ("fastText", None, "train-fasttext uses negative sampling (--negative), neither "
                                "softmax nor hierarchical softmax"),
    "-classes": ("word2vec C", None, "cluster the vectors with another tool"),
    "-wordNgrams": ("fastText", None, "word n-grams serve fastText's supervised mode, which "
                                      "staticvec does not have; --minn/--maxn set character "
                                      "n-grams"),
    "-debug": ("word2vec C", None, "progress is on by default (--quiet turns it off); --debug "
                                   "shows a traceback on error"),
}

# each flag with one dash (as its tool spells it) and with two (as a Unix habit), except the
# two-dash spellings that are staticvec's own options
_OWN = {"--dim", "--epochs", "--alpha", "--eta", "--x-max", "--window", "--negative", "--sample",
        "--min-count", "--threads", "--minn", "--maxn", "--bucket", "--memory", "--output",
        "--save-vocab", "--debug", "--hs"}
MIGRANT_FLAGS = {spelling: (flag, *meaning)
                 for flag, meaning in _SPELLINGS.items()
                 for spelling in (flag, "-" + flag) if spelling not in _OWN}


def migrant_hint(word):
    """The one-line error for a word2vec C / fastText / GloVe C flag, or None."""
    entry = MIGRANT_FLAGS.get(word.split("=", 1)[0])
    if entry is None:
        return None
    flag, tool, ours, *instead = entry
    given = word.split("=", 1)[0]
    if ours is not None:
        return f"no such option: {given} (did you mean {ours}? {tool}'s {flag} is staticvec's {ours})"
    return f"no such option: {given} ({tool}'s {flag} has no staticvec equivalent: {instead[0]})"


def first_migrant_hint(args):
    """The hint for the first migrant flag on the command line (words after ``--`` are
    arguments, not options), or None."""
    for word in args:
        if word == "--":
            return None
        hint = migrant_hint(word) if word.startswith("-") else None
        if hint:
            return hint
    return None
