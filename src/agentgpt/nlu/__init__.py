"""Natural-language understanding: intents, concern topics, sentiment and PII redaction.

Nothing here imports the session engine, the agents or the CLI; it is usable on its own.
"""

from agentgpt.nlu.classifier import Classifier, IntentClassifier, Prediction, load, train
from agentgpt.nlu.pii import PIIRedactor, Redaction, restore
from agentgpt.nlu.sentiment import Polarity, polarity
from agentgpt.nlu.topics import OTHER, TOPICS, topic_of

__all__ = [
    "OTHER",
    "TOPICS",
    "Classifier",
    "IntentClassifier",
    "PIIRedactor",
    "Polarity",
    "Prediction",
    "Redaction",
    "load",
    "polarity",
    "restore",
    "topic_of",
    "train",
]
