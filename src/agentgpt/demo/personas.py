"""Scripted banking customers: what each kind of customer says, and how often they come."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Valid IBANs (checksums pass), so the service detects and redacts them as a bank's would.
IBANS = (
    "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
)


@dataclass(frozen=True)
class Persona:
    """One kind of support conversation: its lines in order and how common it is."""

    name: str
    weight: float
    lines: tuple[str, ...]
    failed_otps: int = 0  # OTP failures reported after the first message (3 raise an alert)

    def line(self, index: int, rng: random.Random) -> str:
        """The customer's ``index``-th message (cycling), with a fresh IBAN where one is asked."""
        text = self.lines[index % len(self.lines)]
        return text.replace("{iban}", rng.choice(IBANS))


PERSONAS = (
    Persona(
        "password reset",
        18,
        (
            "Hi",
            "I forgot my password and can't log in",
            "The reset email never arrived",
            "thanks, that worked",
        ),
    ),
    Persona(
        "stolen card",
        12,
        (
            "I think my card was stolen",
            "Please block it now, I don't recognise the last payment",
            "Can you send me a new card?",
        ),
    ),
    Persona(
        "card blocked abroad",
        12,
        ("My card was declined in Spain", "I'm travelling, please unblock my card", "thank you"),
    ),
    Persona(
        "transfer",
        16,
        (
            "I want to make a transfer",
            "Send 250 EUR to {iban}",
            "How long until the money arrives?",
            "thanks",
        ),
    ),
    Persona(
        "loan", 10, ("Can I get a loan for a car?", "What interest rate would I pay?", "ok, thanks")
    ),
    Persona(
        "complaint",
        8,
        (
            "I was charged a fee twice this month",
            "This is unacceptable, I want a refund",
            "When will I get my money back?",
        ),
    ),
    Persona(
        "angry",
        8,
        (
            "My transfer to {iban} is missing for a week!",
            "This is ridiculous, nobody helps me",
            "I want to speak to a human NOW, this is the worst bank ever",
        ),
    ),
    Persona("greeting", 10, ("Hello", "What are your opening hours?", "thanks, bye")),
    Persona(
        "otp failures",
        6,
        (
            "I need to change my phone number",
            "I did not get the code",
            "still nothing, please help",
        ),
        failed_otps=3,
    ),
)


def pick(rng: random.Random) -> Persona:
    """A persona drawn by weight."""
    return rng.choices(PERSONAS, weights=[p.weight for p in PERSONAS])[0]
