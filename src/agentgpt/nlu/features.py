"""TF-IDF features: word and character n-grams, fitted and applied by the same code.

The project computes the features itself (instead of keeping fitted scikit-learn objects)
so that a model is plain arrays, saved without pickle, and a trained model and its reloaded
copy run exactly the same arithmetic.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

import msgspec
import numpy as np
import numpy.typing as npt
from scipy import sparse

_WORD = re.compile(r"\w+")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]
#: Words whose character-n-gram columns are cached per featurizer.
WORD_CACHE = 1 << 15


class FeatureSpec(msgspec.Struct, frozen=True):
    """Which n-grams to extract and how many documents a term must appear in."""

    word_max_n: int = 2
    char_min_n: int = 2
    char_max_n: int = 5
    min_df: int = 2


def word_grams(text: str, max_n: int) -> list[str]:
    """Return word 1..``max_n``-grams of the lower-cased text."""
    return token_grams(_WORD.findall(text.lower()), max_n)


def token_grams(tokens: list[str], max_n: int) -> list[str]:
    """Return the 1..``max_n``-grams of a list of words."""
    grams = list(tokens)
    for n in range(2, max_n + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_grams(word: str, min_n: int, max_n: int) -> list[str]:
    """Return the character n-grams of one word, padded with a space on each side."""
    padded = f" {word} "
    size = len(padded)
    return [
        padded[i : i + n] for n in range(min_n, min(max_n, size) + 1) for i in range(size - n + 1)
    ]


class Vocabulary(msgspec.Struct):
    """Terms (in column order) and their inverse document frequencies."""

    terms: list[str]
    idf: FloatArray
    index: dict[str, int]

    @classmethod
    def fit(cls, docs: Iterable[set[str]], min_df: int) -> Vocabulary:
        """Learn terms seen in at least ``min_df`` documents, with smoothed idf."""
        df: Counter[str] = Counter()
        n_docs = 0
        for grams in docs:
            df.update(grams)
            n_docs += 1
        terms = sorted(t for t, c in df.items() if c >= min_df)
        idf = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms])
        # Stored as float16 in the model file: round now so a reloaded model is identical.
        return cls.from_arrays(terms, idf.astype(np.float16).astype(np.float32))

    @classmethod
    def from_arrays(cls, terms: Sequence[str], idf: FloatArray) -> Vocabulary:
        """Rebuild a vocabulary from saved arrays."""
        terms = list(terms)
        return cls(terms=terms, idf=idf, index={t: i for i, t in enumerate(terms)})


class Featurizer:
    """Word and character n-gram tf-idf (binary tf, one l2 norm); char columns follow words.

    Features are binary: in a message of a sentence or two a repeated n-gram says little
    more. Character n-grams stay inside words, so each word's columns are computed once and
    cached: a message costs a few dictionary lookups per word instead of ~20 slices.
    """

    def __init__(self, spec: FeatureSpec, words: Vocabulary, chars: Vocabulary) -> None:
        """Use fitted vocabularies (``fit`` learns them; ``from_arrays`` reloads them)."""
        self.spec = spec
        self.words = words
        self.chars = chars
        self.idf = np.concatenate((words.idf, chars.idf)).astype(np.float32)
        offset = len(words.terms)
        index, unigrams = chars.index, words.index
        lo, hi = spec.char_min_n, spec.char_max_n

        def word_cols(word: str) -> IntArray:
            # The word's own column (if known) and its character n-grams' columns, once each.
            own = [unigrams[word]] if word in unigrams else []
            cols = own + [offset + index[g] for g in char_grams(word, lo, hi) if g in index]
            return np.unique(np.array(cols, np.intp))

        # Bounded (invariant 4): a flood of made-up words evicts, never grows the cache.
        self._word_cols = functools.lru_cache(maxsize=WORD_CACHE)(word_cols)

    @classmethod
    def fit(cls, texts: Sequence[str], spec: FeatureSpec) -> Featurizer:
        """Learn both vocabularies from ``texts``."""
        tokens = [_WORD.findall(t.lower()) for t in texts]
        words = Vocabulary.fit((set(token_grams(t, spec.word_max_n)) for t in tokens), spec.min_df)
        chars = Vocabulary.fit(
            (
                {g for w in set(t) for g in char_grams(w, spec.char_min_n, spec.char_max_n)}
                for t in tokens
            ),
            spec.min_df,
        )
        return cls(spec, words, chars)

    @property
    def width(self) -> int:
        """Number of feature columns."""
        return len(self.idf)

    def columns(self, text: str) -> IntArray:
        """Return the distinct feature columns present in ``text``, in increasing order."""
        tokens = _WORD.findall(text.lower())
        if not tokens:
            return np.zeros(0, np.intp)
        # Each word's columns are a cached array: one concatenation and one sort replace a
        # set of ~140 Python ints (half the cost of a message, measured).
        parts = list(map(self._word_cols, tokens))
        if self.spec.word_max_n > 1 and len(tokens) > 1:
            if self.spec.word_max_n == 2:  # the default: skip the general n-gram builder
                longer = [f"{a} {b}" for a, b in pairwise(tokens)]
            else:
                longer = token_grams(tokens, self.spec.word_max_n)[len(tokens) :]
            index = self.words.index
            parts.append(np.array([index[g] for g in longer if g in index], np.intp))
        cols = np.concatenate(parts)
        cols.sort()
        # Binary features: a column shared by two words counts once.
        keep = np.empty(len(cols), np.bool_)
        keep[:1] = True
        np.not_equal(cols[1:], cols[:-1], out=keep[1:])
        return cols[keep]

    def row(self, text: str) -> tuple[IntArray, FloatArray]:
        """Return the feature columns and l2-normalised values of one text."""
        cols = self.columns(text)
        vals = self.idf[cols]
        norm = float(np.sqrt(vals @ vals)) or 1.0
        return cols, vals / np.float32(norm)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Return the feature matrix of ``texts`` (one row per text)."""
        rows = [self.row(text) for text in texts]
        indptr = np.zeros(len(rows) + 1, np.int64)
        indptr[1:] = np.cumsum([len(cols) for cols, _ in rows])
        indices = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, np.intp)
        data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32)
        return sparse.csr_matrix(
            (data.astype(np.float32), indices.astype(np.int32), indptr),
            shape=(len(texts), self.width),
        )
