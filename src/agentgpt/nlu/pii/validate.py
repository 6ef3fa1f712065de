"""Validators behind the candidates: checksums from libraries where a number has one.

schwifty checks IBANs and BICs, python-stdnum cards (Luhn), ABA routing numbers and US
social security numbers, phonenumbers the numbering plan of phones. Each check is preceded
by a cheap test (length, prefix, a mod-97 pre-check) because the library calls cost tens
of microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn
from stdnum.iso7064 import mod_97_10
from stdnum.us import rtn, ssn

from agentgpt.nlu.pii.patterns import (
    MONTH,
    NAME_NOT_VALUES,
    PASSWORD_NOT_VALUES,
)

_SEPARATORS = re.compile(r"[\s-]+")
_NON_DIGITS = re.compile(r"\D")
_DATE_NUMBERS = re.compile(r"\d+")
_WORDS = re.compile(r"\S+")
# National insurance prefixes HMRC never issues (first, second letter; pairs).
_NINO_BAD_FIRST = frozenset("DFIQUV")
_NINO_BAD_SECOND = frozenset("DFIOQUV")
_NINO_BAD_PAIRS = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def longest_iban(candidate: str) -> int:
    """Length of the longest prefix of ``candidate`` that is a valid IBAN (0 if none).

    The greedy candidate may swallow following words ("... 00 and"); only prefixes ending
    at a group boundary (before a space or dash, or at the end) are tried.
    """
    for end in range(len(candidate), 14, -1):
        if candidate[end - 1] in " -" or (end < len(candidate) and candidate[end] not in " -"):
            continue
        compact = _SEPARATORS.sub("", candidate[:end]).upper()
        # mod 97 first: a microsecond, where schwifty's full check (country length, BBAN
        # format) takes tens.
        if not mod_97_10.is_valid(compact[4:] + compact[:4]):
            continue
        try:
            IBAN(compact)
        except SchwiftyException:
            continue
        return end
    return 0


def is_bic(value: str) -> bool:
    """A SWIFT/BIC code with a known country (schwifty)."""
    try:
        BIC(value.upper())
    except SchwiftyException:
        return False
    return True


def is_card(digits: str) -> bool:
    """13-19 digits that pass Luhn."""
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def is_routing(digits: str) -> bool:
    """An ABA routing transit number (checksum, python-stdnum)."""
    return rtn.is_valid(digits)


def is_ssn(value: str) -> bool:
    """A US social security number that could be issued (python-stdnum)."""
    return ssn.is_valid(value)


def is_nino(value: str) -> bool:
    """A UK national insurance number by HMRC's prefix rules (no checksum exists)."""
    compact = value.replace(" ", "").upper()
    prefix = compact[:2]
    return (
        prefix[0] not in _NINO_BAD_FIRST
        and prefix[1] not in _NINO_BAD_SECOND
        and prefix not in _NINO_BAD_PAIRS
    )


def is_date(value: str) -> bool:
    """A plausible calendar date: day 1-31 and month 1-12 (either order when numeric)."""
    numbers = [int(n) for n in _DATE_NUMBERS.findall(value)]
    if not numbers:
        return False
    if any(MONTH.match(w.rstrip(",.")) for w in value.split()):
        return 1 <= numbers[0] <= 31
    if len(numbers) < 3:
        return False
    if numbers[0] > 31:  # ISO: year-month-day
        return 1 <= numbers[1] <= 12 and 1 <= numbers[2] <= 31
    first, second = numbers[0], numbers[1]
    return 1 <= first <= 31 and 1 <= second <= 31 and (first <= 12 or second <= 12)


def password_value(value: str) -> str:
    """The password in the token after its keyword, or '' when the token is no value."""
    value = value.rstrip(".,;\"'”)")
    if len(value) < 3 or value.lower().rstrip("!?") in PASSWORD_NOT_VALUES:
        return ""
    return value


def name_value(value: str, *, capitalised: bool) -> str:
    """The leading tokens of ``value`` that can be a name, up to the first that cannot."""
    kept: list[str] = []
    for word in value.split():
        low = word.lower().removesuffix("'s").removesuffix("’s")
        if low in NAME_NOT_VALUES:
            break
        # "my name is spelled wrong": in lower case, adverbs and participles end the name
        if word.islower() and len(low) >= 7 and low.endswith(("ly", "ing", "ed")):
            break
        kept.append(word)
    return " ".join(kept)


class PhoneValidator:
    """Validates phone candidates against the numbering plan of one or more regions."""

    def __init__(self, regions: Sequence[str]) -> None:
        """National numbers are tried in ``regions`` order (e.g. ("GB", "US"))."""
        self.regions = tuple(regions)
        # A region whose national numbers start with a trunk 0 (GB, DE, FR ...) only takes
        # candidates starting with 0; NANP numbers are 10 digits, area code 2-9.
        self._trunk = {r: _trunk_prefix(r) for r in self.regions}

    def is_phone(self, candidate: str, digits: str) -> bool:
        """A valid number: international with + or 00, else national in one of the regions."""
        if not 7 <= len(digits) <= 15:
            return False
        if candidate.startswith("+"):
            return _valid(candidate, None)
        if digits.startswith("00"):
            return _valid("+" + digits[2:], None)
        for region in self.regions:
            trunk = self._trunk[region]
            if trunk == "0" and not digits.startswith("0"):
                continue
            if trunk == "1" and not (
                (len(digits) == 10 and digits[0] in "23456789")
                or (len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789")
            ):
                continue
            if _valid(candidate, region):
                return True
        return False


@lru_cache(maxsize=64)
def _trunk_prefix(region: str) -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None:
        raise ValueError(f"unknown phone region {region!r}")
    return metadata.national_prefix or ""


def _valid(candidate: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def digits_of(text: str) -> str:
    """The digits of ``text``, in order."""
    return _NON_DIGITS.sub("", text)
