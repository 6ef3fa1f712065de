"""Sentiment of a customer message (VADER), with a label and a per-session trend."""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence

import msgspec
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

#: Compound scores at or below this are "strongly negative" and escalate.
STRONGLY_NEGATIVE = -0.6
#: A drop of the running score by this much over the window is a falling trend.
FALLING_DROP = 0.8
_POSITIVE = 0.05
_NEGATIVE = -0.05


class Polarity(msgspec.Struct, frozen=True):
    """A compound score in [-1, 1] and its label (positive / neutral / negative)."""

    label: str
    score: float


@functools.cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loading the lexicon takes ~50 ms: once per process, shared by every agent.
    return SentimentIntensityAnalyzer()


def label_of(score: float) -> str:
    """Return VADER's conventional label for a compound ``score``."""
    if score >= _POSITIVE:
        return "positive"
    if score <= _NEGATIVE:
        return "negative"
    return "neutral"


_NEUTRAL = Polarity(label_of(0.0), 0.0)


def polarity(text: str) -> Polarity:
    """Score ``text`` with VADER's compound score."""
    analyzer = _analyzer()
    if _no_lexicon_word(text, analyzer.lexicon):
        return _NEUTRAL
    score = float(analyzer.polarity_scores(text)["compound"])
    return Polarity(label_of(score), round(score, 4))


def _no_lexicon_word(text: str, lexicon: dict[str, float]) -> bool:
    # VADER gives a token a valence only when it is in its lexicon (boosters, negations and
    # "but" only scale those), so a message without one scores exactly 0: more than half
    # of banking messages, for a tenth of VADER's cost. Emoji (never ASCII) are replaced by
    # descriptions first, so only ASCII text takes this path. Tokens as VADER's SentiText.
    if not text.isascii():
        return False
    for word in text.split():
        stripped = word.strip(string.punctuation)
        if (stripped if len(stripped) > 2 else word).lower() in lexicon:
            return False
    return True


def strongly_negative(score: float) -> bool:
    """True when a single message is negative enough to hand over to a human."""
    return score <= STRONGLY_NEGATIVE


def falling(history: Sequence[float], current: float) -> bool:
    """True when the session's mood has fallen steadily to a negative message.

    Needs at least two earlier scores: the current message is negative, below every earlier
    one, and at least ``FALLING_DROP`` under the best of them.
    """
    if len(history) < 2 or current > _NEGATIVE:
        return False
    return current < min(history) and max(history) - current >= FALLING_DROP
