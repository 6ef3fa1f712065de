"""PII detection and redaction on real-format values (no mocks: schwifty, stdnum, phonenumbers)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agentgpt.nlu.pii import PIIRedactor, restore

VALID = {
    "IBAN": [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
    ],
    "CARD": ["4111 1111 1111 1111", "5500-0055-5555-5559", "378282246310005", "6011111111111117"],
    "PHONE": ["+44 20 7946 0958", "+1 415-555-2671", "+49 30 901820", "+33 1 42 68 53 00"],
    "EMAIL": ["jane.doe@example.com", "x_y+tag@bank.co.uk"],
}

CASES = [
    # (text, expected redacted text, expected kinds)
    ("Send it to DE89 3704 0044 0532 0130 00 please", "Send it to <IBAN_1> please", ["IBAN"]),
    ("my iban is GB82WEST12345698765432.", "my iban is <IBAN_1>.", ["IBAN"]),
    # wrong check digits: not an IBAN, left alone
    ("Send it to DE89 3704 0044 0532 0130 01", "Send it to DE89 3704 0044 0532 0130 01", []),
    ("GB00WEST12345698765432 is mine", "GB00WEST12345698765432 is mine", []),
    ("card 4111 1111 1111 1111 expired", "card <CARD_1> expired", ["CARD"]),
    # fails Luhn: not a card
    ("card 4111 1111 1111 1112 expired", "card 4111 1111 1111 1112 expired", []),
    ("order number 1234567890123", "order number 1234567890123", []),
    # found by the round-trip property: after "id" a "+" number is still a phone
    ("my id +44 20 7946 0958", "my id <PHONE_1>", ["PHONE"]),
    (
        "call +44 20 7946 0958 or +1 (415) 555-2671",
        "call <PHONE_1> or <PHONE_2>",
        ["PHONE", "PHONE"],
    ),
    ("Ruf an: +49 30 901820", "Ruf an: <PHONE_1>", ["PHONE"]),
    ("amount 250.00 on 12/03/2024", "amount 250.00 on 12/03/2024", []),
    ("mail jane.doe@example.com now", "mail <EMAIL_1> now", ["EMAIL"]),
    (
        "IBAN NL91ABNA0417164300, card 6011111111111117, me@x.org",
        "IBAN <IBAN_1>, card <CARD_1>, <EMAIL_1>",
        ["IBAN", "CARD", "EMAIL"],
    ),
    ("twice: 4111111111111111 and 4111111111111111", "twice: <CARD_1> and <CARD_1>", ["CARD"]),
]


@pytest.mark.parametrize(("text", "redacted", "kinds"), CASES)
def test_redaction_table(text: str, redacted: str, kinds: list[str]) -> None:
    result = PIIRedactor().redact(text)
    assert result.text == redacted
    assert sorted(result.kinds.values()) == sorted(set(kinds)) or len(result.kinds) == len(kinds)
    assert restore(result.text, result.values) == text


def test_national_phone_numbers_need_a_region() -> None:
    text = "ring me on 020 7946 0958"
    assert PIIRedactor().redact(text).text == text
    assert PIIRedactor(region="GB").redact(text).text == "ring me on <PHONE_1>"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown PII kinds"):
        PIIRedactor(kinds=("PASSPORT",))


_values = st.sampled_from([(kind, v) for kind, vs in VALID.items() for v in vs])
_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,!?", min_size=0, max_size=12)
_segments = st.lists(st.one_of(_values, _words), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(_segments)
@example(["id", ("CARD", "4111 1111 1111 1111")])  # a card after a reference word was kept
def test_redaction_never_leaves_a_value_and_round_trips(segments: list[object]) -> None:
    text = " ".join(s[1] if isinstance(s, tuple) else s for s in segments)
    injected = [s[1] for s in segments if isinstance(s, tuple)]
    result = PIIRedactor().redact(text)
    for value in injected:
        assert value not in result.text
    for placeholder, value in result.values.items():
        assert value not in result.text
        assert placeholder in result.text
    assert restore(result.text, result.values) == text
