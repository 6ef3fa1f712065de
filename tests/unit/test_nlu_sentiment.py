"""Sentiment: the shortcut for messages without a lexicon word gives VADER's own score."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentgpt.nlu.sentiment import _analyzer, polarity

#: Lexicon words, boosters, negations, "but", idioms, neutral banking words, punctuation,
#: emoticons and emoji: what changes VADER's score, and what does not.
TOKENS = [
    "good", "bad", "GREAT", "terrible", "no", "not", "never", "very", "extremely", "kind",
    "of", "but", "least", "at", "the", "shit", "bomb", "yeah", "right", "card", "transfer",
    "money", "my", "is", "was", "stolen", "help", "please", "thanks", "!", "!!!", "?", "??",
    ":)", ":(", "lol", "😀", "💔", "hmm", "ok", "NOW", "fraud", "love", "hate", "won't",
    "can't", "...", "worst", "fine",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(st.sampled_from(TOKENS), max_size=20).map(" ".join)
    | st.text(max_size=80)
    | st.lists(st.sampled_from(TOKENS), max_size=8).map("".join)
)
def test_polarity_equals_vaders_compound_score(text: str) -> None:
    assert polarity(text).score == round(_analyzer().polarity_scores(text)["compound"], 4)


def test_a_neutral_banking_message_scores_zero() -> None:
    assert polarity("Send 250 EUR to my landlord").score == 0.0
    assert polarity("this is the worst bank").label == "negative"
