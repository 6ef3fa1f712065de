"""Intent classifiers: the protocol, training, saving and loading (both backends)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec
import numpy as np
import numpy.typing as npt

from agentgpt.errors import IntegrityError, InvalidInput
from agentgpt.nlu import embedding_backend, model_file
from agentgpt.nlu.calibration import Scores, fit_temperature, softmax
from agentgpt.nlu.dataset import Dataset
from agentgpt.nlu.fast_backend import (
    FastParams,
    LinearModel,
    encode_labels,
    linear_arrays,
    linear_from_arrays,
    oof_scores,
    train_linear,
)
from agentgpt.nlu.features import FeatureSpec
from agentgpt.nlu.pii import PIIRedactor
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE
from agentgpt.nlu.topics import topic_of

Backend = Literal["fast", "accurate"]
BACKENDS: tuple[Backend, ...] = ("fast", "accurate")
#: Characters of a message the classifier reads: the intent is stated early, and a bound
#: keeps the cost of a turn independent of what a customer pastes (invariant 4).
MAX_CLASSIFY_CHARS = 1_000
#: Weights of the embedding scores, and SVM costs of the embedding head, tried when training
#: the accurate backend (chosen on out-of-fold scores of the training data).
_BETAS = (0.5, 0.75, 1.0, 1.5, 2.0)
_HEAD_CS = (0.7, 2.0)
#: Manifest entries a loaded model keeps as ``meta`` (and writes back when saved again).
_META = ("trained_at", "examples", "version", "data", "validation")


class Prediction(msgspec.Struct, frozen=True):
    """The most likely intent of a text and its calibrated probability."""

    intent: str
    confidence: float


@runtime_checkable
class IntentClassifier(Protocol):
    """What the agent needs of a classifier: labels and batched predictions."""

    backend: str
    labels: list[str]
    fingerprint: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Return one prediction per text, in order (thread-safe, pure)."""
        ...


class Classifier:
    """A trained classifier of either backend (fast model, optional embedding head)."""

    def __init__(
        self,
        labels: list[str],
        fast: LinearModel,
        *,
        fingerprint: str,
        head: embedding_backend.EmbeddingHead | None = None,
        temperature: float | None = None,
        meta: dict[str, Any] | None = None,
        oos_threshold: float = 0.0,
    ) -> None:
        """Assemble a classifier from trained parts.

        ``oos_threshold``: a text whose best intent's concern topic has a probability
        below it (the sum over that topic's intents) is declined as ``out_of_scope``
        (chosen on validation data by ``scripts/train_default_model.py``; 0 = never).
        """
        self.labels = labels
        self.fast = fast
        self.head = head
        self.fingerprint = fingerprint
        self.backend: str = "accurate" if head else "fast"
        self.temperature = fast.temperature if temperature is None else temperature
        self.meta = meta or {}
        self.oos_threshold = oos_threshold
        # The intents of each label's topic: near-synonymous intents of one topic
        # (card arrival / delivery estimate / physical card) split the probability of a
        # clear banking request; their sum says whether it is banking at all.
        topic = [topic_of(label) for label in labels]
        self._same_topic = [
            np.array([j for j, t in enumerate(topic) if t == mine], np.intp) for mine in topic
        ]
        self._topic_matrix = np.array(
            [[t == mine for mine in topic] for t in topic], np.float32
        )  # label x label: 1 where both share a topic

    def scores(self, texts: Sequence[str]) -> Scores:
        """Uncalibrated decision scores, one row per text."""
        clipped = [_checked(t)[:MAX_CLASSIFY_CHARS] for t in texts]
        scores = self.fast.scores(clipped)
        if self.head is not None:
            scores = scores + self.head.beta * self.head.scores(embedding_backend.encode(clipped))
        return scores

    def proba(self, texts: Sequence[str]) -> Scores:
        """Calibrated probabilities over ``labels``, one row per text."""
        return softmax(self.scores(texts), self.temperature)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Return the best intent and its probability for each text.

        A text whose best intent's topic is under ``oos_threshold`` is predicted
        ``out_of_scope`` (with the best intent's probability): the agent declines it.
        """
        if not texts:
            return []
        if len(texts) == 1 and self.head is None:
            return [self._predict_one(texts[0])]
        with embedding_backend.one_blas_thread() if self.head else contextlib.nullcontext():
            p = self.proba(texts)
            best = p.argmax(axis=1)
            rows = np.arange(len(best))
            top = p[rows, best].tolist()
            mass = (p @ self._topic_matrix)[rows, best].tolist()
        labels, threshold = self.labels, self.oos_threshold
        return [
            Prediction(labels[i] if m >= threshold else OUT_OF_SCOPE, round(c, 4))
            for i, c, m in zip(best.tolist(), top, mass, strict=True)
        ]

    def topic_confidence(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Probability of the best intent's concern topic, per text (what is thresholded)."""
        p = self.proba(texts)
        best = p.argmax(axis=1)
        mass: npt.NDArray[np.float32] = (p @ self._topic_matrix)[np.arange(len(best)), best]
        return mass

    def _predict_one(self, text: str) -> Prediction:
        # The agent's common case: one message. Only the best label's probability,
        # 1 / sum(exp(t * (s - s_best))), and its topic's are needed, not a softmax.
        s = self.fast.scores([_checked(text)[:MAX_CLASSIFY_CHARS]])[0]
        best = int(s.argmax())
        e = np.exp((s - s[best]) * np.float32(self.temperature))
        total = float(e.sum())
        mass = float(e[self._same_topic[best]].sum()) / total
        label = self.labels[best] if mass >= self.oos_threshold else OUT_OF_SCOPE
        return Prediction(label, round(1.0 / total, 4))

    def save(self, path: str | Path) -> Path:
        """Write the model directory (safe format, see ``model_file``)."""
        arrays = linear_arrays(self.fast)
        manifest: dict[str, Any] = {
            **self.meta,
            "backend": self.backend,
            "labels": self.labels,
            "training_fingerprint": self.fingerprint,
            "features": msgspec.to_builtins(self.fast.featurizer.spec),
            "fast_temperature": self.fast.temperature,
            "temperature": self.temperature,
            "oos_threshold": self.oos_threshold,
        }
        if self.head is not None:
            arrays |= {"head_weights": self.head.weights, "head_bias": self.head.bias}
            manifest["beta"] = self.head.beta
            manifest["encoder"] = embedding_backend.ENCODER
        return model_file.save(path, manifest, arrays)


def redacted(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` with PII replaced by placeholders, as the agent classifies them.

    Training and evaluation see what the model sees in production: ``<IBAN_1>``, not an
    account number it could memorise.
    """
    redactor = PIIRedactor()
    return [redactor.redact(text).text for text in texts]


def _checked(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"texts to classify must be str, not {type(text).__name__}")
    return text


def load(path: str | Path) -> Classifier:
    """Load a model directory written by ``Classifier.save`` (verifies its digest)."""
    manifest, arrays = model_file.load(path)
    try:
        spec = msgspec.convert(manifest["features"], FeatureSpec)
        fast = linear_from_arrays(arrays, spec, float(manifest["fast_temperature"]))
        labels = [str(label) for label in manifest["labels"]]
        head = None
        if manifest["backend"] == "accurate":
            if manifest.get("encoder") != embedding_backend.ENCODER:
                # A head only fits the embeddings it was trained on.
                raise ValueError(
                    f"its head was trained for encoder {manifest.get('encoder')!r}, this "
                    f"version runs {embedding_backend.ENCODER!r}"
                )
            head = embedding_backend.EmbeddingHead(
                np.asarray(arrays["head_weights"], np.float32),
                np.asarray(arrays["head_bias"], np.float32),
                float(manifest["beta"]),
            )
        if fast.weights.shape[1] != len(labels):
            raise ValueError("weights and label set differ in size")
    except (KeyError, TypeError, ValueError, msgspec.ValidationError) as exc:
        raise IntegrityError(f"model {path} is inconsistent ({exc}); retrain it") from None
    return Classifier(
        labels,
        fast,
        fingerprint=str(manifest["training_fingerprint"]),
        head=head,
        temperature=float(manifest["temperature"]),
        meta={k: manifest[k] for k in _META if k in manifest},
        oos_threshold=float(manifest.get("oos_threshold", 0.0)),
    )


def train(data: Dataset, backend: Backend = "fast", params: FastParams | None = None) -> Classifier:
    """Train a classifier of ``backend`` on ``data`` (seconds for fast, minutes accurate)."""
    if backend not in BACKENDS:
        raise InvalidInput(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    params = params or FastParams()
    labels, y = encode_labels(data)
    texts = [t[:MAX_CLASSIFY_CHARS] for t in redacted(data.texts)]
    fast = train_linear(texts, y, len(labels), params)
    meta = {"trained_at": time.time(), "examples": len(data), "version": 1}
    if backend == "fast":
        return Classifier(labels, fast, fingerprint=data.fingerprint, meta=meta)
    head, temperature = _train_head(texts, y, len(labels), fast, params)
    return Classifier(
        labels, fast, fingerprint=data.fingerprint, head=head, temperature=temperature, meta=meta
    )


def _train_head(
    texts: list[str],
    y: npt.NDArray[np.intp],
    n_labels: int,
    fast: LinearModel,
    params: FastParams,
) -> tuple[embedding_backend.EmbeddingHead, float]:
    """Fit the embedding head; choose its C, ``beta`` and the temperature out of fold."""
    vectors = embedding_backend.encode(texts)
    fast_oof = oof_scores(fast.featurizer.transform(texts), y, n_labels, params)
    if fast_oof is None:
        weights, bias = embedding_backend.fit_svm(vectors, y, n_labels, params.c)
        return embedding_backend.EmbeddingHead(weights, bias, 1.0), fast.temperature
    best: tuple[float, float, float] = (-1.0, params.c, 1.0)  # (accuracy, C, beta)
    best_oof = fast_oof
    for c in _HEAD_CS:
        head_params = msgspec.structs.replace(params, c=c, balanced=False)
        head_oof = oof_scores(vectors, y, n_labels, head_params)
        assert head_oof is not None  # same labels as fast_oof
        for beta in _BETAS:
            accuracy = float(((fast_oof + beta * head_oof).argmax(1) == y).mean())
            if accuracy > best[0]:
                best, best_oof = (accuracy, c, beta), fast_oof + beta * head_oof
    _, c, beta = best
    weights, bias = embedding_backend.fit_svm(vectors, y, n_labels, c)
    return embedding_backend.EmbeddingHead(weights, bias, beta), fit_temperature(best_oof, y)
