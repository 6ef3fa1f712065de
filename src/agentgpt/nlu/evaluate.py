"""Evaluation of a classifier on labelled data: accuracy, macro-F1, topics, confusions."""

from __future__ import annotations

from collections import Counter

import msgspec

from agentgpt.nlu.classifier import IntentClassifier, redacted
from agentgpt.nlu.dataset import Dataset
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE
from agentgpt.nlu.topics import topic_of

#: Texts per ``predict`` call during evaluation (bounds memory on large test sets).
CHUNK = 512


class Confusion(msgspec.Struct, frozen=True):
    """How often ``truth`` was predicted as ``predicted``."""

    truth: str
    predicted: str
    count: int


class Report(msgspec.Struct, frozen=True):
    """The figures of one evaluation."""

    examples: int
    accuracy: float
    macro_f1: float
    topic_accuracy: float
    unknown_labels: list[str]
    worst_confusions: list[Confusion]
    #: Share of examples the model declined (predicted ``out_of_scope``).
    declined: float = 0.0
    #: On data with out-of-scope examples: accuracy on the in-scope ones (a decline is an
    #: error) and the share of out-of-scope ones declined; None when there are none.
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None


def evaluate(model: IntentClassifier, data: Dataset, *, worst: int = 10) -> Report:
    """Predict every example of ``data`` and compare with its label."""
    from sklearn.metrics import f1_score  # evaluation only; slow to import

    predicted: list[str] = []
    for start in range(0, len(data), CHUNK):
        chunk = redacted(data.texts[start : start + CHUNK])
        predicted += [p.intent for p in model.predict(chunk)]
    truth = data.labels
    pairs = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    n = len(truth)
    inside = [(t, p) for t, p in zip(truth, predicted, strict=True) if t != OUT_OF_SCOPE]
    outside = [p for t, p in zip(truth, predicted, strict=True) if t == OUT_OF_SCOPE]
    return Report(
        examples=n,
        accuracy=round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / n, 4),
        macro_f1=round(
            float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro")), 4
        ),
        topic_accuracy=round(
            sum(topic_of(t) == topic_of(p) for t, p in zip(truth, predicted, strict=True)) / n, 4
        ),
        unknown_labels=sorted(set(truth) - set(model.labels)),
        worst_confusions=[Confusion(t, p, c) for (t, p), c in pairs.most_common(worst)],
        declined=round(predicted.count(OUT_OF_SCOPE) / n, 4),
        in_scope_accuracy=_share(sum(t == p for t, p in inside), len(inside)) if outside else None,
        oos_recall=_share(outside.count(OUT_OF_SCOPE), len(outside)) if outside else None,
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
