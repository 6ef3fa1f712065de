"""One message's analysis (PII, sentiment, intent), run in batches off the event loop."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from agentgpt.nlu.classifier import IntentClassifier, Prediction
from agentgpt.nlu.pii import PIIRedactor, Redaction
from agentgpt.nlu.sentiment import Polarity, polarity


class Request(msgspec.Struct, frozen=True):
    """A message and which analyses to run on it."""

    text: str
    pii: bool = True
    sentiment: bool = True
    intent: bool = True


class Analysis(msgspec.Struct, frozen=True):
    """What was found in one message; ``redaction.text`` is what the classifier saw."""

    redaction: Redaction
    polarity: Polarity | None
    prediction: Prediction | None


class Analyzer:
    """Runs batches of requests: redact first, then score and classify the redacted text."""

    def __init__(self, classifier: IntentClassifier, redactor: PIIRedactor) -> None:
        """Share one classifier and one redactor between every caller of a process."""
        self.classifier = classifier
        self.redactor = redactor

    def one(self, request: Request) -> Analysis:
        """Analyse one request (the fast backend's inline path: no batch bookkeeping)."""
        text = request.text
        redaction = self.redactor.redact(text) if request.pii else Redaction(text, {}, {})
        # Raw PII never reaches the model: it classifies the redacted text.
        prediction = self.classifier.predict([redaction.text])[0] if request.intent else None
        return Analysis(
            redaction=redaction,
            polarity=polarity(redaction.text) if request.sentiment else None,
            prediction=prediction,
        )

    def __call__(self, requests: Sequence[Request]) -> list[Analysis]:
        """Analyse ``requests`` in order (called in the batcher's worker thread)."""
        if len(requests) == 1:
            return [self.one(requests[0])]
        redactions = [
            self.redactor.redact(r.text) if r.pii else Redaction(r.text, {}, {}) for r in requests
        ]
        wanted = [i for i, r in enumerate(requests) if r.intent]
        # Raw PII never reaches the model: it classifies the redacted text.
        predicted = self.classifier.predict([redactions[i].text for i in wanted])
        predictions: list[Prediction | None] = [None] * len(requests)
        for i, prediction in zip(wanted, predicted, strict=True):
            predictions[i] = prediction
        return [
            Analysis(
                redaction=redaction,
                polarity=polarity(redaction.text) if request.sentiment else None,
                prediction=prediction,
            )
            for request, redaction, prediction in zip(
                requests, redactions, predictions, strict=True
            )
        ]
