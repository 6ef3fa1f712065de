"""TF-IDF features: word and character n-grams, fitted and applied by the same code.

The project computes the features itself (instead of keeping fitted scikit-learn objects)
so that a model is plain arrays, saved without pickle, and a trained model and its reloaded
copy run exactly the same arithmetic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import msgspec
import numpy as np
import numpy.typing as npt
from scipy import sparse

_WORD = re.compile(r"\w+")

FloatArray = npt.NDArray[np.float32]


class FeatureSpec(msgspec.Struct, frozen=True):
    """Which n-grams to extract and how many documents a term must appear in."""

    word_max_n: int = 2
    char_min_n: int = 2
    char_max_n: int = 5
    min_df: int = 1


def word_grams(text: str, max_n: int) -> list[str]:
    """Return word 1..``max_n``-grams of the lower-cased text."""
    tokens = _WORD.findall(text.lower())
    grams = list(tokens)
    for n in range(2, max_n + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_grams(text: str, min_n: int, max_n: int) -> list[str]:
    """Return character n-grams inside word boundaries (each word padded with spaces)."""
    grams: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        size = len(padded)
        for n in range(min_n, min(max_n, size) + 1):
            grams += [padded[i : i + n] for i in range(size - n + 1)]
    return grams


class Vocabulary(msgspec.Struct):
    """Terms (in column order) and their inverse document frequencies."""

    terms: list[str]
    idf: FloatArray
    index: dict[str, int]

    @classmethod
    def fit(cls, docs: Iterable[list[str]], min_df: int) -> Vocabulary:
        """Learn terms seen in at least ``min_df`` documents, with smoothed idf."""
        df: Counter[str] = Counter()
        n_docs = 0
        for grams in docs:
            df.update(set(grams))
            n_docs += 1
        terms = sorted(t for t, c in df.items() if c >= min_df)
        idf = np.array(
            [math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32
        )
        return cls.from_arrays(terms, idf)

    @classmethod
    def from_arrays(cls, terms: Sequence[str], idf: FloatArray) -> Vocabulary:
        """Rebuild a vocabulary from saved arrays."""
        terms = list(terms)
        return cls(terms=terms, idf=idf, index={t: i for i, t in enumerate(terms)})

    def weights(self, grams: list[str]) -> tuple[list[int], list[float]]:
        """Return the columns and l2-normalised sublinear tf-idf weights of ``grams``."""
        counts = Counter(g for g in grams if g in self.index)
        cols = [self.index[g] for g in counts]
        vals = [
            (1.0 + math.log(c)) * float(self.idf[j])
            for j, c in zip(cols, counts.values(), strict=True)
        ]
        norm = math.sqrt(sum(v * v for v in vals)) or 1.0
        return cols, [v / norm for v in vals]


class Featurizer(msgspec.Struct):
    """Word and character vocabularies side by side (char columns follow word columns)."""

    spec: FeatureSpec
    words: Vocabulary
    chars: Vocabulary

    @classmethod
    def fit(cls, texts: Sequence[str], spec: FeatureSpec) -> Featurizer:
        """Learn both vocabularies from ``texts``."""
        words = Vocabulary.fit((word_grams(t, spec.word_max_n) for t in texts), spec.min_df)
        chars = Vocabulary.fit(
            (char_grams(t, spec.char_min_n, spec.char_max_n) for t in texts), spec.min_df
        )
        return cls(spec=spec, words=words, chars=chars)

    @property
    def width(self) -> int:
        """Number of feature columns."""
        return len(self.words.terms) + len(self.chars.terms)

    def row(self, text: str) -> tuple[list[int], list[float]]:
        """Return the feature columns and values of one text."""
        spec = self.spec
        wc, wv = self.words.weights(word_grams(text, spec.word_max_n))
        cc, cv = self.chars.weights(char_grams(text, spec.char_min_n, spec.char_max_n))
        offset = len(self.words.terms)
        return wc + [c + offset for c in cc], wv + cv

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Return the feature matrix of ``texts`` (one row per text)."""
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            cols, vals = self.row(text)
            indices += cols
            data += vals
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (np.asarray(data, np.float32), np.asarray(indices, np.int32), np.asarray(indptr)),
            shape=(len(texts), self.width),
        )
