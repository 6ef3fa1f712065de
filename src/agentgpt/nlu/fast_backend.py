"""The ``fast`` backend: TF-IDF word + char n-grams and a linear SVM, calibrated."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from agentgpt.nlu.calibration import Scores, fit_temperature, softmax
from agentgpt.nlu.dataset import Dataset
from agentgpt.nlu.features import FeatureSpec, Featurizer


class FastParams(msgspec.Struct, frozen=True):
    """Hyper-parameters of the fast backend (defaults chosen by CV on BANKING77 train)."""

    features: FeatureSpec = msgspec.field(default_factory=FeatureSpec)
    c: float = 1.0
    calibration_folds: int = 3


class LinearModel(msgspec.Struct):
    """Scores = features @ weights + bias; probabilities = softmax(temperature * scores)."""

    featurizer: Featurizer
    weights: npt.NDArray[np.float32]  # (n_features, n_labels), row-major for row gathers
    bias: npt.NDArray[np.float32]
    temperature: float

    def scores(self, texts: Sequence[str]) -> Scores:
        """Decision scores of ``texts``, one row each."""
        if len(texts) == 1:
            # One text: gather its few weight rows instead of building a sparse matrix.
            cols, vals = self.featurizer.row(texts[0])
            row = np.asarray(vals, np.float32) @ self.weights[cols] + self.bias
            return row[None, :]
        out: Scores = np.asarray(self.featurizer.transform(texts) @ self.weights) + self.bias
        return out

    def proba(self, texts: Sequence[str]) -> Scores:
        """Calibrated class probabilities of ``texts``."""
        return softmax(self.scores(texts), self.temperature)


def _svm(x: object, y: npt.NDArray[np.intp], c: float) -> LinearSVC:
    return LinearSVC(C=c, dual=True, max_iter=5_000).fit(x, y)


def train_linear(
    texts: Sequence[str], y: npt.NDArray[np.intp], n_labels: int, params: FastParams
) -> LinearModel:
    """Fit features and the SVM on all rows; fit the temperature on out-of-fold scores."""
    featurizer = Featurizer.fit(texts, params.features)
    x = featurizer.transform(texts)
    svm = _svm(x, y, params.c)
    weights = np.zeros((featurizer.width, n_labels), np.float32)
    bias = np.zeros(n_labels, np.float32)
    weights[:, svm.classes_] = svm.coef_.T
    bias[svm.classes_] = svm.intercept_
    temperature = _oof_temperature(x, y, n_labels, params)
    return LinearModel(featurizer, np.ascontiguousarray(weights), bias, temperature)


def _oof_temperature(
    x: object, y: npt.NDArray[np.intp], n_labels: int, params: FastParams
) -> float:
    smallest = int(np.bincount(y).min())
    folds = min(params.calibration_folds, smallest)
    if folds < 2:
        return 1.0  # too few examples per label to hold any out: leave scores unscaled
    held_out = np.zeros((len(y), n_labels), np.float32) - 1.0
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for fit_rows, test_rows in splitter.split(np.zeros(len(y)), y):
        svm = _svm(x[fit_rows], y[fit_rows], params.c)  # type: ignore[index]
        held_out[np.ix_(test_rows, svm.classes_)] = svm.decision_function(x[test_rows])  # type: ignore[index]
    return fit_temperature(held_out, y)


def encode_labels(data: Dataset) -> tuple[list[str], npt.NDArray[np.intp]]:
    """Return the sorted label set and each example's label index."""
    labels = data.label_set
    index = {label: i for i, label in enumerate(labels)}
    return labels, np.array([index[label] for label in data.labels], dtype=np.intp)
