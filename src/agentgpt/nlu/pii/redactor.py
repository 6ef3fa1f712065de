"""PII detection and redaction in one pass over the text, then validation per candidate.

Each value found is replaced by a numbered placeholder (``<IBAN_1>``, ``<NAME_1>`` ...);
the raw values are returned separately so that only the session's 7-day vault sees them.
Numbers are validated (IBAN and BIC by schwifty, cards by Luhn, routing and social security
numbers by python-stdnum, phones by phonenumbers) so that order numbers and amounts are not
redacted by accident; values without a checksum (names, passwords, PINs, CVVs, sort codes,
account numbers, dates of birth) are taken only after the keyword that says what they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from agentgpt.nlu.pii import validate
from agentgpt.nlu.pii.patterns import CANDIDATES, DOB_AFTER, KIND_AFTER, NOT_PERSONAL

#: Every kind, in the order placeholders are listed.
KINDS = (
    "IBAN",
    "BIC",
    "EMAIL",
    "CARD",
    "PHONE",
    "NAME",
    "PASSWORD",
    "PIN",
    "CVV",
    "DOB",
    "SORT_CODE",
    "ACCOUNT",
    "ROUTING",
    "SSN",
    "NINO",
)

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_GROUP = re.compile(r"\d+")
_TOKEN = re.compile(r"\S+")
_PLACEHOLDER = re.compile(r"<(?:" + "|".join(KINDS) + r")_\d+>")
# What a number followed by "is my ..." is ("4821 is my PIN").
_AFTER_KIND = {
    "pin": "PIN",
    "cvv": "CVV",
    "cvc": "CVV",
    "security": "CVV",
    "account": "ACCOUNT",
    "sort": "SORT_CODE",
    "routing": "ROUTING",
    "phone": "PHONE",
    "mobile": "PHONE",
}

_Span = tuple[str, int, int]


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


class PIIRedactor:
    """Finds PII in text and swaps it for placeholders; ``region`` parses national phones."""

    def __init__(
        self, region: str | Sequence[str] | None = None, kinds: tuple[str, ...] = KINDS
    ) -> None:
        """Detect ``kinds``; phones without ``+`` need a ``region`` ("GB", or "GB,US")."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; choose from {KINDS}")
        self.region = region
        self.kinds = tuple(k for k in KINDS if k in kinds)
        regions = region.split(",") if isinstance(region, str) else list(region or ())
        self._phones = validate.PhoneValidator([r.strip().upper() for r in regions if r.strip()])
        self._wanted = frozenset(self.kinds)

    def find(self, text: str) -> list[Found]:
        """Return the PII values in ``text``, in order, never overlapping."""
        emails: list[_Span] = []
        if "@" in text:
            emails = [("EMAIL", *m.span()) for m in _EMAIL.finditer(text)]
        spans = list(emails)
        pos = 0
        while match := CANDIDATES.search(text, pos):
            inside = next((e for _, s, e in emails if s <= match.start() < e), None)
            if inside is not None:
                pos = inside
                continue
            found, pos = self._candidate(match, text)
            spans += found
        kept = sorted((s for s in spans if s[0] in self._wanted), key=lambda s: s[1])
        result: list[Found] = []
        for kind, start, end in kept:
            if result and start < result[-1].end:
                continue  # an e-mail address overlapping a keyword value: the first wins
            result.append(Found(kind, start, end, text[start:end]))
        return result

    def _candidate(self, match: re.Match[str], text: str) -> tuple[list[_Span], int]:
        """The values in one candidate, and where the scan resumes."""
        branch = match.lastgroup or ""
        if branch == "NUMBER":
            return self._numbers(match, text), match.end()
        if branch == "IBAN":
            start = match.start("iban")
            end = validate.longest_iban(match.group("iban"))
            if not end:
                # A failed IBAN is consumed whole: its digits must not turn into a card.
                return [], match.end()
            return [("IBAN", start, start + end)], start + end
        found = self._keyword(branch, match)
        return found, (match.end() if found else match.start() + 1)

    def _keyword(self, branch: str, match: re.Match[str]) -> list[_Span]:
        """Values announced by a keyword (or a shape no reference number has)."""
        if branch in ("NAME", "NAME_STRONG"):
            group = branch.lower()
            value = validate.name_value(match.group(group), capitalised=branch == "NAME")
            start = match.start(group)
            return [("NAME", start, start + len(value))] if value else []
        if branch == "PASSWORD":
            value = validate.password_value(match.group("password"))
            start = match.start("password")
            return [("PASSWORD", start, start + len(value))] if value else []
        if branch in ("SORT_CODE", "SORT_BARE"):
            sort = "sort" if branch == "SORT_CODE" else "sort_bare"
            account = sort + "_account"
            found: list[_Span] = [("SORT_CODE", *match.span(sort))]
            if match.group(account):
                found.append(("ACCOUNT", *match.span(account)))
            return found
        checks = {
            "PIN": ("pin", None),
            "CVV": ("cvv", None),
            "ACCOUNT": ("account", None),
            "DOB": ("dob", validate.is_date),
            "ROUTING": ("routing", validate.is_routing),
            "SSN": ("ssn", lambda v: validate.is_ssn(validate.digits_of(v))),
            "SSN_BARE": ("ssn_bare", validate.is_ssn),
            "NINO": ("nino", validate.is_nino),
            "NINO_BARE": ("nino_bare", validate.is_nino),
            "BIC": ("bic", validate.is_bic),
        }
        group, check = checks[branch]
        if check is not None and not check(match.group(group)):
            return []
        return [(branch.removesuffix("_BARE"), *match.span(group))]

    def _numbers(self, run: re.Match[str], text: str) -> list[_Span]:
        """Cards and phones in a run of digit groups, or a number said to be something."""
        start, end = run.span()
        if (dob := DOB_AFTER.match(text, start)) and validate.is_date(dob.group("dob")):
            return [("DOB", *dob.span("dob"))]
        if after := KIND_AFTER.match(text, end):
            kind = _AFTER_KIND.get(after.group("what").split()[0].lower())
            if kind is not None and self._said(kind, run.group()):
                return [(kind, start, end)]
        # After "order/ref/id ..." a number is a reference, not a phone; but a number that
        # passes a card's checks is still kept out of the log: leaking a card costs more
        # than over-redacting a reference.
        reference = NOT_PERSONAL.search(text, max(0, start - 40), start) is not None
        groups = [(m.start() + start, m.end() + start) for m in _GROUP.finditer(run.group())]
        found: list[_Span] = []
        # A run may hold several numbers ("4111... 5500..."): from each group, take the
        # longest span of consecutive groups that is a card or a phone number.
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                left = start if i == 0 else groups[i][0]
                candidate = text[left : groups[j][1]]
                digits = validate.digits_of(candidate)
                kind = self._number_kind(candidate, digits)
                # A number written with its "+" country code is a phone number whatever
                # precedes it ("my id +44 20 7946 0958"): references do not start with "+".
                international = kind == "PHONE" and candidate.lstrip().startswith("+")
                if kind and not (reference and kind != "CARD" and not international):
                    found.append((kind, left, groups[j][1]))
                    i = j
                    break
            i += 1
        return found

    def _number_kind(self, candidate: str, digits: str) -> str:
        """CARD, PHONE or '' for one span of digit groups."""
        if "CARD" in self._wanted and validate.is_card(digits):
            return "CARD"
        if "PHONE" in self._wanted and self._phones.is_phone(candidate, digits):
            return "PHONE"
        return ""

    def _said(self, kind: str, value: str) -> bool:
        """Whether ``value`` can be the ``kind`` a following "is my ..." says it is."""
        digits = validate.digits_of(value)
        if kind == "PIN":
            return 4 <= len(digits) <= 6
        if kind == "CVV":
            return 3 <= len(digits) <= 4
        if kind == "ROUTING":
            return validate.is_routing(digits)
        if kind == "SORT_CODE":
            return len(digits) == 6
        return 6 <= len(digits) <= 17

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
