"""Calibrated confidences: a softmax over decision scores with a fitted temperature."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float32]

#: Temperatures tried when fitting (log-spaced; softmax(t * scores)).
_GRID = np.geomspace(0.25, 64.0, 41)


def softmax(scores: Scores, temperature: float) -> Scores:
    """Row-wise softmax of ``temperature * scores``."""
    z = scores * np.float32(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: Scores = e / e.sum(axis=-1, keepdims=True)
    return out


def fit_temperature(scores: Scores, truth: npt.NDArray[np.intp]) -> float:
    """Return the temperature minimising the log-loss of held-out ``scores``.

    ``scores`` must come from models that did not see those rows (cross-validation):
    training-set margins are overconfident and would give too sharp a softmax.
    """
    best, best_loss = 1.0, float("inf")
    rows = np.arange(len(truth))
    for t in _GRID:
        p = softmax(scores, float(t))[rows, truth]
        loss = float(-np.log(np.clip(p, 1e-12, 1.0)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best
