"""The one combined pattern that finds PII candidates, and the word lists it relies on.

Every detector is a named branch of ``CANDIDATES`` so that a message is scanned once; the
branch that matched says which validator (``validate.py``) decides. Keyword-led branches
come first: at a given position "PIN 4821" is a PIN before it is a bare number.
Keywords are case-insensitive (``(?i:...)``); names are not, so that "I'm fine" is no name.
"""

from __future__ import annotations

import re

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
#: A calendar date as customers type it: 03/07/1985, 1985-07-03, 3rd of July 1985, July 3, 85.
DATE = (
    r"(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})(?!\d)|\d{4}-\d{1,2}-\d{1,2}(?!\d)"
    rf"|(?i:(?:the\s+)?\d{{1,2}}{_ORD}(?:\s+of)?\s+{_MONTH}(?:,?\s+(?:\d{{4}}|'?\d{{2}}))?(?!\d))"
    rf"|(?i:{_MONTH}\s+(?:the\s+)?\d{{1,2}}{_ORD}(?:,?\s+(?:\d{{4}}|'?\d{{2}}))?(?!\d)))"
)

# Words that may sit between a keyword and its value: "PIN number is now 4821",
# "account no. 12345678", "CVV: 123", "change my PIN to 4821".
_LINK = (
    r"(?:[\s:=#'\",(-]|(?i:is|was|are|it's|its|it’s|s|to|number|no\.?|num|code|now|be|will|should"
    r"|would|the|my|new|old|of|on|digits?|card|here|as|follows|please|thanks?)\b)*"
)
# A looser gap for dates of birth and national insurance numbers ("born in Leeds on ...").
_GAP = r"[^\d\n.!?]{0,24}?"

_CAP = r"(?:Mc|Mac|O['’])?[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'’][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)?"
_PARTICLE = r"(?:van|von|de|der|den|da|di|du|del|della|le|la|bin|al|ter)"
#: Capitalised name tokens: "Anna de Vries", "Siobhan O'Neill", "Jean-Luc Moreau".
_NAME = rf"{_CAP}(?:\s+(?:{_PARTICLE}\s+)?{_CAP}){{0,3}}"
_LOWER_NAME = (
    r"[a-zß-öø-ÿ]{2,}(?:[-'’][a-zß-öø-ÿ]+)?(?:\s+[a-zß-öø-ÿ]{2,}(?:[-'’][a-zß-öø-ÿ]+)?){0,2}"
)

_BRANCHES = {
    # "my name is john smith": strong keywords accept lower case too (stop words checked).
    "NAME_STRONG": (
        r"(?i:\bmy\s+(?:full\s+|first\s+|legal\s+)?name\s+is|\bname['’]s|\bname\s*:|\bcall\s+me"
        r"|\baccount\s+holder\s+is|\bname\s+on\s+(?:the\s+|my\s+)?(?:card|account)\s+is)\s+"
        rf"(?P<name_strong>{_NAME}|{_LOWER_NAME})"
    ),
    "NAME": (
        r"(?i:\bi['’]?m|\bi\s+am|\bthis\s+is|\bit['’]s|\bhere\s+is|\bname(?:\s+is)?)\s+"
        rf"(?P<name>{_NAME})"
    ),
    "CVV": (
        r"(?i:\b(?:cvv2?|cvc2?|csc|cvn|security\s+code|card\s+verification(?:\s+(?:code|value))?"
        r"|(?:3|three)[- ]digit\s+(?:code|number)|(?:numbers?|digits?|code)\s+on\s+the\s+back))\b"
        rf"{_LINK}(?P<cvv>\d{{3,4}})(?![\d/-])"
    ),
    "PIN": rf"(?i:\b(?:pin|passcode)\b){_LINK}(?P<pin>\d{{4,6}})(?![\d/-])",
    "PASSWORD": (
        r"(?i:\b(?:password|passcode|passphrase|pass\s+word|pwd|pw|memorable\s+word"
        r"|secret\s+answer|login\s+code))\b"
        r"(?i:\s+(?:i|we)\s+(?:set|used|chose|picked|created|had|typed|entered))?"
        r"(?:\s*[:=]\s*|\s+(?i:is|was|to|it['’]s|should\s+be|will\s+be|=)"
        r"(?i:\s+(?:now|just|still|actually|probably))?\s+[:\"'“]?"
        # no link word: only a token of letters and digits ("my password Rainbow77 is ...")
        r"|\s+(?=[^\s\d]*\d)(?=\S*[A-Za-z]))"
        r"(?P<password>\S{3,64})"
    ),
    "DOB": (
        r"(?i:\b(?:born|d\.?o\.?b|date\s+of\s+birth|birth\s*date|birthday))\b\.?"
        rf"{_GAP}(?P<dob>{DATE})"
    ),
    "SORT_CODE": (
        r"(?i:\bsort[\s-]*code|\bs/c\b|\bsort\b(?=\s*:?\s*\d\d-\d\d-\d\d))"
        rf"{_GAP}(?P<sort>\d{{2}}[- ]?\d{{2}}[- ]?\d{{2}})(?![\d-])"
        r"(?:(?:\s*[,/;&]\s*|\s+)(?i:and\s+)?(?i:(?:account|acc|a/c)(?:\s+(?:number|no\.?))?"
        r"\s*(?:is\s+)?[:#]?\s*)?(?P<sort_account>\d{8})(?!\d))?"
    ),
    "ROUTING": (
        r"(?i:\b(?:routing|aba|rtn|transit)\b(?:\s+(?:transit\s+)?(?:number|num|no\.?|#))?)"
        rf"{_LINK}(?P<routing>\d{{9}})(?!\d)"
    ),
    "ACCOUNT": (
        r"(?i:\b(?:account|acct|acc|a/c)(?:\s*(?:number|num|no\.?|#))?)"
        rf"{_LINK}(?P<account>\d(?:[ -]?\d){{5,16}})(?![\d-])"
    ),
    "SSN": (
        r"(?i:\b(?:ssn|social\s+security|social)\b(?:\s+(?:number|no\.?|#))?)"
        rf"{_LINK}(?P<ssn>\d{{3}}[- ]?\d{{2}}[- ]?\d{{4}})(?!\d)"
    ),
    "NINO": (
        r"(?i:\b(?:national\s+insurance|nino|ni)\b)"
        rf"{_GAP}(?P<nino>(?i:[a-z]{{2}}\s?\d{{2}}\s?\d{{2}}\s?\d{{2}}\s?[a-d]))\b"
    ),
    "BIC": (
        r"(?i:\b(?:bic|swift)(?:\s*/\s*(?:bic|swift))?(?:\s+code)?)\b"
        rf"{_LINK}(?P<bic>(?i:[a-z]{{6}}[a-z0-9]{{2}}(?:[a-z0-9]{{3}})?))\b"
    ),
    # An IBAN in groups of any size, spaces or dashes, either case; schwifty decides.
    "IBAN": r"(?<![A-Za-z0-9])(?P<iban>[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30})",
    # A national insurance number without its keyword: only the spaced, upper-case form.
    "NINO_BARE": r"\b(?P<nino_bare>[A-Z]{2} \d{2} \d{2} \d{2} [A-D])\b",
    "SSN_BARE": r"(?<![\w-])(?P<ssn_bare>\d{3}-\d{2}-\d{4})(?![\w-])",
    "SORT_BARE": r"(?<![\w-])(?P<sort_bare>\d{2}-\d{2}-\d{2})[ ,/]+(?P<sort_bare_account>\d{8})\b",
    # Digits with the separators people put in card and phone numbers.
    "NUMBER": r"(?<![\w+])(?P<number>\+?\(?\d(?:[\d() .-]*\d)?)",
}

# The first letters of each keyword-led branch. The scan is fast because a position is
# tried only where a word starts, and a branch only where its first letter is: the regex
# engine would otherwise enter every branch at every character (6x slower, measured).
_FIRST = {
    "NAME_STRONG": "mnca",
    "NAME": "ithn",
    "CVV": "csndt3",
    "PIN": "p",
    "PASSWORD": "pmsl",
    "DOB": "bd",
    "SORT_CODE": "s",
    "ROUTING": "art",
    "ACCOUNT": "a",
    "SSN": "s",
    "NINO": "n",
    "BIC": "bs",
}
_WORD_LED = "|".join(
    f"(?=[{first}{first.upper()}])(?P<{kind}>{_BRANCHES[kind]})" for kind, first in _FIRST.items()
)
_SHAPE_LED = "|".join(f"(?P<{k}>{_BRANCHES[k]})" for k in ("IBAN", "NINO_BARE"))
_DIGIT_LED = "|".join(f"(?P<{k}>{_BRANCHES[k]})" for k in ("SSN_BARE", "SORT_BARE", "NUMBER"))
assert set(_BRANCHES) == {*_FIRST, "IBAN", "NINO_BARE", "SSN_BARE", "SORT_BARE", "NUMBER"}
CANDIDATES = re.compile(
    rf"(?<!\w)(?:(?=[A-Za-z3])(?:{_WORD_LED}|{_SHAPE_LED})|(?=[\d+(])(?:{_DIGIT_LED}))"
)

#: A date of birth written before its keyword: "03/07/1985 is my date of birth".
DOB_AFTER = re.compile(
    rf"(?P<dob>{DATE})\s+(?i:is|was)\s+(?i:my|his|her|the)\s+"
    r"(?i:date\s+of\s+birth|dob|birthday|birth\s*date)\b"
)
#: A number followed by what it is: "4821 is my PIN", "12345678 is the account number".
KIND_AFTER = re.compile(
    r"\s+(?i:is|was|=)\s+(?i:my|the|our|his|her)\s+(?i:new\s+|old\s+|current\s+|card\s+)?"
    r"(?P<what>(?i:pin|cvv|cvc|security\s+code|account(?:\s+number)?|sort\s+code"
    r"|routing(?:\s+number)?|phone(?:\s+number)?|mobile(?:\s+number)?|number))\b"
)
#: Words just before a number that say it is a reference, not a phone or card number.
NOT_PERSONAL = re.compile(
    r"(?i:order|ref|reference|transaction|txn|invoice|tracking|case|ticket|policy|claim|id|"
    r"confirmation|receipt|parcel|booking|payment|cheque|check|serial|customer|member"
    r"|membership|complaint)\b(?i:\s*(?:number|no\.?|num|id|code|ref(?:erence)?))?[\s:#.-]*$"
)
#: Month names, for telling a date from a word.
MONTH = re.compile(rf"(?i:{_MONTH})$")


def _words(text: str) -> frozenset[str]:
    """The space-separated words of ``text`` (keeps the word lists below readable)."""
    return frozenset(text.split())


PASSWORD_NOT_VALUES = _words(
    "wrong incorrect not isn't wasn't expired reset changed locked blocked invalid correct "
    "right too the a an my still being no forgotten doesn't does working required manager "
    "protected hint change again and or for please same different weak strong long short "
    "accepted rejected up letters characters case-sensitive rejected saved stored compromised "
    "stolen hacked known shared sent asking showing failing broken definitely probably also "
    "now just really very so set there here it that this"
)
#: Capitalised words that follow "I'm" / "this is" without being a name.
NAME_NOT_VALUES = _words(
    "sorry not fine good ok okay well happy sad angry upset fed unhappy calling writing "
    "trying looking having getting going still just also very so really here there back "
    "abroad away travelling traveling new unable stuck locked worried confused concerned "
    "english british american german french irish scottish welsh the a an in on at from with "
    "about afraid glad sure aware done ready interested urgent important regarding monday "
    "tuesday wednesday thursday friday saturday sunday january february march april may june "
    "july august september october november december visa mastercard amex apple google paypal "
    "christmas easter my your our their his her this that it wrong incorrect misspelled "
    "spelled spelt different missing showing displayed printed changed changing shown listed "
    "correct right same as wrongly spelt currently being both what who why how when where "
    "please hi hello hey thanks yes no and or but if because then told asked annoyed "
    "frustrated disappointed pleased surprised shocked tired scared embarrassed relieved "
    "delighted excited devastated stressed furious desperate"
)
