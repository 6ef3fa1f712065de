"""The ``fast`` backend: TF-IDF word + char n-grams and a linear SVM, calibrated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from agentgpt.nlu.calibration import Scores, fit_temperature, softmax
from agentgpt.nlu.dataset import Dataset
from agentgpt.nlu.features import FeatureSpec, Featurizer, Vocabulary


class FastParams(msgspec.Struct, frozen=True):
    """Hyper-parameters of the fast backend (defaults: see docs/benchmarks.md, issue 15).

    Chosen on a stratified 20% hold-out of BANKING77 train and on CLINC150 val, with the
    default model's data, among C 0.35/0.7/1.4/2.8, class weights, word 1-3-grams and char
    2-6-grams.
    """

    features: FeatureSpec = msgspec.field(default_factory=FeatureSpec)
    c: float = 1.4
    calibration_folds: int = 3
    # Weight intents inversely to their frequency: BANKING77 train is uneven (35-187 per
    # intent) and each intent matters equally to a customer.
    balanced: bool = True


class LinearModel(msgspec.Struct):
    """Scores = features @ (weights * scale) + bias; probabilities = softmax(t * scores).

    The weights stay int8 in memory (one scale per label): a message gathers a few
    hundred of their rows, and at a quarter of float32's size (5 MB for the shipped
    model) they stay in cache between the PII, sentiment and intent steps of a turn
    (measured: whole analysis 15-25% cheaper than with float32 rows).
    """

    featurizer: Featurizer
    weights: npt.NDArray[np.int8]  # (n_features, n_labels), row-major for row gathers
    scale: npt.NDArray[np.float32]  # (n_labels,)
    bias: npt.NDArray[np.float32]
    temperature: float

    def scores(self, texts: Sequence[str]) -> Scores:
        """Decision scores of ``texts``, one row each."""
        if len(texts) == 1:
            # One text: gather its few weight rows instead of building a sparse matrix.
            cols, vals = self.featurizer.row(texts[0])
            row = (np.asarray(vals, np.float32) @ self.weights[cols]) * self.scale + self.bias
            return row[None, :]
        x = self.featurizer.transform(texts)
        out: Scores = np.asarray(x @ self.weights) * self.scale + self.bias
        return out

    def proba(self, texts: Sequence[str]) -> Scores:
        """Calibrated class probabilities of ``texts``."""
        return softmax(self.scores(texts), self.temperature)


def _svm(x: object, y: npt.NDArray[np.intp], params: FastParams) -> Any:
    # Imported here: scikit-learn costs ~0.7 s to import and only training needs it.
    from sklearn.svm import LinearSVC

    weight = "balanced" if params.balanced else None
    # A fixed seed for liblinear's coordinate order: the same data gives the same model (and
    # the shipped model's digest can be reproduced by scripts/train_default_model.py).
    svm = LinearSVC(C=params.c, class_weight=weight, dual=True, max_iter=5_000, random_state=0)
    return svm.fit(x, y)


def train_linear(
    texts: Sequence[str], y: npt.NDArray[np.intp], n_labels: int, params: FastParams
) -> LinearModel:
    """Fit features and the SVM on all rows; fit the temperature on out-of-fold scores."""
    featurizer = Featurizer.fit(texts, params.features)
    x = featurizer.transform(texts)
    svm = _svm(x, y, params)
    weights = np.zeros((featurizer.width, n_labels), np.float32)
    bias = np.zeros(n_labels, np.float32)
    weights[:, svm.classes_] = svm.coef_.T
    bias[svm.classes_] = svm.intercept_
    # Quantise now, not at save time: the trained model and its reloaded copy must agree.
    q, scale = quantised(weights)
    # Once more from the dequantised weights: the scale the model file has always stored
    # (it may differ from the first by a rounding step), so that models saved before and
    # after int8 weights at run time have the same arrays and digest.
    q, scale = quantised(q.astype(np.float32) * scale)
    temperature = _oof_temperature(x, y, n_labels, params)
    return LinearModel(featurizer, np.ascontiguousarray(q), scale, bias, temperature)


def _oof_temperature(
    x: object, y: npt.NDArray[np.intp], n_labels: int, params: FastParams
) -> float:
    held_out = oof_scores(x, y, n_labels, params)
    return 1.0 if held_out is None else fit_temperature(held_out, y)


def oof_scores(
    x: object, y: npt.NDArray[np.intp], n_labels: int, params: FastParams
) -> Scores | None:
    """Return out-of-fold SVM scores of every row, or None when labels are too rare to split.

    The vocabulary was fitted on all rows (a small optimistic bias, acceptable for choosing a
    temperature); the SVM of each fold never sees the rows it scores.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = min(params.calibration_folds, int(np.bincount(y).min()))
    if folds < 2:
        return None
    held_out = np.full((len(y), n_labels), -1.0, np.float32)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for fit_rows, test_rows in splitter.split(np.zeros(len(y)), y):
        svm = _svm(x[fit_rows], y[fit_rows], params)  # type: ignore[index]
        scores = svm.decision_function(x[test_rows])  # type: ignore[index]
        held_out[np.ix_(test_rows, svm.classes_)] = scores
    return held_out


def encode_labels(data: Dataset) -> tuple[list[str], npt.NDArray[np.intp]]:
    """Return the sorted label set and each example's label index."""
    labels = data.label_set
    index = {label: i for i, label in enumerate(labels)}
    return labels, np.array([index[label] for label in data.labels], dtype=np.intp)


def linear_arrays(model: LinearModel, prefix: str = "") -> dict[str, npt.NDArray[np.generic]]:
    """Return the model's arrays for the model file, weights quantised to int8 per label.

    An SVM's weights need far less than float32's precision: int8 with one scale per label
    changes no prediction we measured and keeps a shipped model a few MB (see
    ``quantised``).
    """
    f = model.featurizer
    q, scale = model.weights, model.scale
    return {
        f"{prefix}word_terms": np.array(f.words.terms, dtype=np.str_),
        f"{prefix}word_idf": f.words.idf.astype(np.float16),
        f"{prefix}char_terms": np.array(f.chars.terms, dtype=np.str_),
        f"{prefix}char_idf": f.chars.idf.astype(np.float16),
        f"{prefix}weights_int8": q,
        f"{prefix}weights_scale": scale,
        f"{prefix}bias": model.bias,
    }


def quantised(
    weights: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Return int8 weights and the per-label scale that restores them (``q * scale``)."""
    peak = np.abs(weights).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    return np.round(weights / scale).astype(np.int8), scale


def linear_from_arrays(
    arrays: dict[str, npt.NDArray[np.generic]], spec: FeatureSpec, temperature: float
) -> LinearModel:
    """Rebuild a model from the model file's arrays."""
    featurizer = Featurizer(
        spec=spec,
        words=Vocabulary.from_arrays(arrays["word_terms"].tolist(), _f32(arrays["word_idf"])),
        chars=Vocabulary.from_arrays(arrays["char_terms"].tolist(), _f32(arrays["char_idf"])),
    )
    weights = np.ascontiguousarray(arrays["weights_int8"], dtype=np.int8)
    if weights.shape[0] != featurizer.width:
        raise ValueError(f"weights have {weights.shape[0]} rows for {featurizer.width} features")
    scale = _f32(arrays["weights_scale"])
    return LinearModel(featurizer, weights, scale, _f32(arrays["bias"]), temperature)


def _f32(array: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(array, dtype=np.float32)
