"""PII detection and redaction: IBANs, payment cards, phone numbers and e-mail addresses.

Each value found is replaced by a numbered placeholder (``<IBAN_1>``, ``<CARD_1>`` ...);
the raw values are returned separately so that only the session's 7-day vault sees them.
Detectors validate what they match (IBAN checksum, Luhn, phone number plan) so that order
numbers and amounts are not redacted by accident.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import msgspec
import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn

#: Kinds in detection order: an IBAN is taken before its digits can look like a card.
KINDS = ("IBAN", "EMAIL", "CARD", "PHONE")

# Two letters, two check digits, then 11-30 alphanumerics in groups separated by a space.
_IBAN_CANDIDATE = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Digits grouped by single spaces or dashes (how people type card numbers), and the groups.
# A run starts only at a free-standing number: not glued to a word ("DE89 ...", an IBAN
# that failed its checksum, must not turn into a card) nor inside a longer run.
_DIGIT_RUN = re.compile(r"(?<![\w-])(?<!\d )\d+(?:[ -]\d+)*(?![\d-])")
_GROUP = re.compile(r"\d+")
_PLACEHOLDER = re.compile(r"<(?:IBAN|EMAIL|CARD|PHONE)_\d+>")


class Found(msgspec.Struct, frozen=True):
    """One detected value: its kind and its span in the text that was scanned."""

    kind: str
    start: int
    end: int
    value: str


class Redaction(msgspec.Struct, frozen=True):
    """The redacted text, the placeholder -> raw value map, and the kind of each one."""

    text: str
    values: dict[str, str]
    kinds: dict[str, str]


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    while match := _IBAN_CANDIDATE.search(text, pos):
        end = _longest_iban(match.group())
        # Resume right after what was taken: the greedy candidate may overlap the next IBAN.
        pos = match.start() + (end or 1)
        if end:
            yield match.start(), match.start() + end


def _longest_iban(candidate: str) -> int:
    """Length of the longest prefix of ``candidate`` that is a valid IBAN (0 if none).

    The greedy candidate may swallow a following word ("... 00 and"); only prefixes ending
    at a group boundary are tried.
    """
    for end in range(len(candidate), 14, -1):
        if candidate[end - 1] == " " or (end < len(candidate) and candidate[end] != " "):
            continue
        try:
            IBAN(candidate[:end])
        except SchwiftyException:
            continue
        return end
    return 0


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for match in _EMAIL.finditer(text):
        yield match.span()


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for run in _DIGIT_RUN.finditer(text):
        # A run may hold several numbers ("4111... 5500..."): try consecutive groups,
        # longest first, and take each span of 13-19 digits that passes Luhn.
        groups = [
            (m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())
        ]
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                start, end = groups[i][0], groups[j][1]
                digits = re.sub(r"\D", "", text[start:end])
                if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
                    yield start, end
                    i = j
                    break
            i += 1


def _phones(text: str, region: str | None) -> Iterator[tuple[int, int]]:
    for match in phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.VALID
    ):
        yield match.start, match.end


class PIIRedactor:
    """Finds PII in text and swaps it for placeholders; ``region`` parses national phones."""

    def __init__(self, region: str | None = None, kinds: tuple[str, ...] = KINDS) -> None:
        """Detect ``kinds``; phone numbers without ``+`` need a default ``region`` (e.g. GB)."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; choose from {KINDS}")
        self.region = region
        self.kinds = tuple(k for k in KINDS if k in kinds)

    def _detector(self, kind: str) -> Callable[[str], Iterator[tuple[int, int]]]:
        if kind == "IBAN":
            return _ibans
        if kind == "EMAIL":
            return _emails
        if kind == "CARD":
            return _cards
        return lambda text: _phones(text, self.region)

    def find(self, text: str) -> list[Found]:
        """Return the PII values in ``text``, in order, never overlapping."""
        found: list[Found] = []
        masked = text
        for kind in self.kinds:
            for start, end in self._detector(kind)(masked):
                found.append(Found(kind, start, end, text[start:end]))
            # Mask what was taken (same length, so spans stay valid) before the next kind.
            for item in found:
                masked = (
                    masked[: item.start] + "\x00" * (item.end - item.start) + masked[item.end :]
                )
        return sorted(found, key=lambda f: f.start)

    def redact(self, text: str) -> Redaction:
        """Replace each value with ``<KIND_n>`` (the same value keeps the same placeholder)."""
        values: dict[str, str] = {}
        kinds: dict[str, str] = {}
        by_value: dict[tuple[str, str], str] = {}
        counts = dict.fromkeys(KINDS, 0)
        parts: list[str] = []
        cursor = 0
        for item in self.find(text):
            key = (item.kind, item.value)
            if key not in by_value:
                counts[item.kind] += 1
                placeholder = f"<{item.kind}_{counts[item.kind]}>"
                by_value[key] = placeholder
                values[placeholder] = item.value
                kinds[placeholder] = item.kind
            parts += [text[cursor : item.start], by_value[key]]
            cursor = item.end
        parts.append(text[cursor:])
        return Redaction(text="".join(parts), values=values, kinds=kinds)


def restore(text: str, values: dict[str, str]) -> str:
    """Put the raw values back in place of their placeholders (inverse of ``redact``)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(), m.group()), text)
