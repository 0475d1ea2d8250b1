"""The word sets of a bias audit: the shipped lists (Caliskan et al.'s ten WEAT tests,
debiaswe's definitional pairs and professions), custom WEAT tests and probe files (JSON,
validated so that a bad file is one error line naming the file and the key), and which
words of a set a model has (as written, else lower-cased; never imputed)."""
import json
import os
from importlib import resources

import numpy as np

from staticvec.errors import InputError

SET_KEYS = (("targets", "X"), ("targets", "Y"), ("attributes", "A"), ("attributes", "B"))


def _data_text(*parts):
    return resources.files("staticvec.data").joinpath(*parts).read_text(encoding="utf-8")


def shipped_weat_tests():
    """The ten WEAT tests of Caliskan et al. 2017, in order WEAT 1 ... WEAT 10."""
    return [_validate_test(json.loads(_data_text("weat", f"weat{i}.json")), f"weat{i}.json", 1)
            for i in range(1, 11)]


def load_weat_tests(path):
    """Custom WEAT tests: one test object (the shipped schema) or a list of them."""
    data = _read_json(path)
    tests = data if isinstance(data, list) else [data]
    if not tests:
        raise InputError(f"{path}: no WEAT test in the file (expected an object with "
                         "targets.X, targets.Y, attributes.A, attributes.B, or a list of them)")
    stem = os.path.splitext(os.path.basename(path))[0]
    return [_validate_test(obj, path, i, stem if len(tests) == 1 else f"{stem} #{i}")
            for i, obj in enumerate(tests, 1)]


def _read_json(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{path}: not usable JSON: {str(exc).split(':')[0]}") from None


def _is_word(value):
    """A non-empty string that can be printed (JSON's "\\ud800" escapes make lone surrogates)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate_test(obj, source, number, default_name=None):
    where = f"{source}: test {number}"
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object with targets.X, targets.Y, "
                         "attributes.A, attributes.B")
    name = obj.get("name", default_name or f"test {number}")
    if not _is_word(name):
        raise InputError(f"{where}: 'name' must be a non-empty string")
    if "name" in obj:
        where += f" ({name})"
    sets = {}
    for group, key in SET_KEYS:
        inner = obj.get(group)
        if not isinstance(inner, dict) or key not in inner:
            raise InputError(f"{where}: missing key '{group}.{key}' (each test needs "
                             "targets.X, targets.Y, attributes.A, attributes.B: lists of words)")
        words = inner[key]
        if not isinstance(words, list) or not all(_is_word(w) for w in words):
            raise InputError(f"{where}: '{group}.{key}' must be a list of words")
        sets[key] = list(dict.fromkeys(words))  # duplicates would weigh a word twice
    source = obj.get("source")
    if source is not None and not (_is_word(source) or source == ""):
        raise InputError(f"{where}: 'source' must be a string")
    return {"name": name, "source": source, "sets": sets}


def definitional_pairs():
    """The ten [female, male] pairs of Bolukbasi et al. 2016 (debiaswe)."""
    return [tuple(p) for p in json.loads(_data_text("debiaswe", "definitional_pairs.json"))]


def professions():
    """debiaswe's professions list: [(word, definitional score, stereotypical score)]."""
    return [tuple(p) for p in json.loads(_data_text("debiaswe", "professions.json"))]


def gender_neutral_professions():
    """Professions minus debiaswe's gender-specific words (actress, businessman, dad, ...)."""
    specific = {w.lower() for w in json.loads(_data_text("debiaswe", "gender_specific_full.json"))}
    return [p[0] for p in professions() if p[0].lower() not in specific]


def load_probes(path):
    """A probe file: {"words": [...], "pairs": [[a, b], ...]}; either key may be left out."""
    data = _read_json(path)
    hint = '(expected {"words": ["doctor", ...], "pairs": [["man", "woman"], ...]})'
    if not isinstance(data, dict) or not ({"words", "pairs"} & set(data)):
        raise InputError(f"{path}: needs a 'words' list and/or a 'pairs' list {hint}")
    unknown = set(data) - {"words", "pairs"}
    if unknown:
        raise InputError(f"{path}: unknown key {sorted(unknown)[0]!r} {hint}")
    words = data.get("words")
    if words is not None and (not isinstance(words, list) or not words
                              or not all(_is_word(w) for w in words)):
        raise InputError(f"{path}: 'words' must be a non-empty list of words {hint}")
    pairs = data.get("pairs")
    if pairs is not None:
        if (not isinstance(pairs, list) or not pairs or not all(
                isinstance(p, list) and len(p) == 2 and all(_is_word(w) for w in p)
                for p in pairs)):
            raise InputError(f"{path}: 'pairs' must be a non-empty list of [a, b] word pairs "
                             f"{hint}")
        pairs = [tuple(p) for p in pairs]
    return {"words": words, "pairs": pairs}


# ---------------------------------------------------------------- the words of a set in a model

def lookup(vectors, word):
    """Row of ``word``: as written, else lower-cased; None if absent."""
    row = vectors.index.get(word)
    if row is None and word.lower() != word:
        row = vectors.index.get(word.lower())
    return row


def unit_rows(vectors, rows):
    """The given rows as float64 unit vectors (zero rows stay zero)."""
    matrix = np.asarray(vectors.matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def find_words(vectors, words):
    """``(found, their rows, missing)``: the words of a set that ``vectors`` has."""
    found, rows, missing = [], [], []
    for word in words:
        row = lookup(vectors, word)
        if row is None:
            missing.append(word)
        else:
            found.append(word)
            rows.append(row)
    return found, rows, missing
