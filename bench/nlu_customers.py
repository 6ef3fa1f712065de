"""Concern topics on everyday customer phrasing, outside BANKING77 and CLINC150 (issue 15).

Usage: python bench/nlu_customers.py [--model DIR] [--misses]

The topics are judged on banking conversations from other sources than the two data sets;
this probe is a small stand-in: 72 messages in the way customers write to a bank's chat
(scams and impersonation, wages that did not arrive, UK terms such as ISA and remortgage,
typos, no punctuation), each with the concern topic a support lead would file it under.
They were written on 2 Dec 2026 before the in-house examples for scams and missing incoming
payments were added, and the two groups were written separately (none is a copy of the
other); the probe has been read since, so it is a development set, not a test. Prints one
JSON line: topic accuracy, the intents of the misses with ``--misses``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agentgpt.nlu import classifier
from agentgpt.nlu.models import shared_classifier
from agentgpt.nlu.topics import topic_of

PROBE: dict[str, str] = {
    # Fraud
    "I think I've been scammed by someone on the phone": "Fraud alerts",
    "got a text saying it was from you asking for my details, is it real?": "Fraud alerts",
    "someone has been using my card online, not me": "Fraud alerts",
    "there are payments on my account I didn't make": "Fraud alerts",
    "i clicked a link in a dodgy email and entered my card number": "Fraud alerts",
    "a man rang pretending to be from the bank and I gave him a code": "Fraud alerts",
    "I lost my wallet with all my cards in it": "Fraud alerts",
    "please block my card asap it was stolen": "Fraud alerts",
    # Transfers and incoming money
    "my salary hasn't arrived yet": "Transfers",
    "my wages should have come in yesterday but nothing": "Transfers",
    "I sent money to my son and he still hasn't got it": "Transfers",
    "how long does an international transfer take": "Transfers",
    "i sent money to the wrong account by mistake": "Transfers",
    "can I cancel a payment I just made": "Transfers",
    "how do I send money abroad": "Transfers",
    # Card issues
    "my new card still hasnt come in the post": "Card issues",
    "the cash machine ate my card": "Card issues",
    "my card has expired when will i get a new one": "Card issues",
    "how do I add my card to apple pay": "Card issues",
    "contactless isnt working on my card": "Card issues",
    "how do I activate the card you sent me": "Card issues",
    # Card payments
    "my card keeps getting declined in shops": "Card payments",
    "why is a payment at tesco still pending": "Card payments",
    # Password and access
    "i cant log in to online banking": "Password & access",
    "I've forgotten my password": "Password & access",
    "my pin is blocked after too many tries": "Password & access",
    "locked out of my account": "Password & access",
    "I got a new phone and need to set up the app again": "Password & access",
    # Refunds and disputes
    "I was charged twice for the same thing": "Refunds & disputes",
    "the shop said they refunded me a week ago but I can't see it": "Refunds & disputes",
    "i want my money back from a seller who never sent the goods": "Refunds & disputes",
    # Cash and ATM
    "the atm gave me less cash than I asked for": "Cash & ATM",
    "why was I charged for taking out cash": "Cash & ATM",
    # Exchange and fees
    "what fees do you charge for using my card abroad": "Exchange & fees",
    "there's a charge on my statement I don't understand": "Exchange & fees",
    # Balance and statements
    "how much money do I have": "Balance & statements",
    "can you send me a bank statement for my mortgage application": "Balance & statements",
    "show me what I spent last month": "Balance & statements",
    # Loans
    "I'd like to borrow 5000 pounds for a car": "Loan inquiries",
    "can I remortgage with you": "Loan inquiries",
    "can I pay off my loan early": "Loan inquiries",
    # Savings
    "what savings accounts do you have": "Savings & interest",
    "what rate do you pay on an isa": "Savings & interest",
    # Overdrafts
    "I'm overdrawn and want to know the charges": "Overdrafts",
    "can I get an arranged overdraft": "Overdrafts",
    # Direct debits
    "a direct debit came out twice this month": "Direct debits & bills",
    "how do I set up a standing order for my rent": "Direct debits & bills",
    "cancel my netflix direct debit": "Direct debits & bills",
    # Cheques
    "can I pay in a cheque using my phone": "Cheques",
    "I need a new cheque book": "Cheques",
    # Account
    "how do I close my account": "Account",
    "I've moved house and need to change my address": "Account",
    "I want to open an account for my daughter": "Account",
    "I got married and need to change my surname": "Account",
    # Identity verification
    "why do you need a photo of my passport": "Identity verification",
    "the app won't accept my id": "Identity verification",
    # Top-ups
    "my top up failed": "Top-ups",
    # Credit cards
    "can you raise my credit card limit": "Credit cards",
    "what is the minimum payment on my credit card": "Credit cards",
    # Complaints
    "this is the worst service I've ever had, I want to complain": "Complaints",
    "I've been waiting 3 weeks for an answer and I'm fed up": "Complaints",
    # Conversation
    "hiya": "Conversation",
    "cheers, that's all": "Conversation",
    "can I speak to someone please": "Conversation",
    "are you a real person": "Conversation",
    "yes please": "Conversation",
    "no thanks": "Conversation",
    "sorry can you say that again": "Conversation",
    # Out of scope
    "what time does the football start tonight": "Out of scope",
    "can you recommend a good pizza place": "Out of scope",
    "what's the capital of australia": "Out of scope",
    "help me write a poem": "Out of scope",
}


def main() -> None:
    """Classify the probe with the shipped default (or ``--model``) and print its accuracy."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None, help="a saved model folder")
    parser.add_argument("--misses", action="store_true", help="list what it got wrong")
    args = parser.parse_args()
    model = classifier.load(args.model) if args.model else shared_classifier()
    texts = list(PROBE)
    predictions = model.predict(classifier.redacted(texts))
    misses = {
        text: f"{p.intent} ({topic_of(p.intent)})"
        for text, p in zip(texts, predictions, strict=True)
        if topic_of(p.intent) != PROBE[text]
    }
    report: dict[str, object] = {
        "model": str(args.model or "shipped default"),
        "backend": model.backend,
        "topic_accuracy": round(1 - len(misses) / len(texts), 4),
        "right": len(texts) - len(misses),
        "messages": len(texts),
    }
    if args.misses:
        report["misses"] = misses
    print(json.dumps(report))


if __name__ == "__main__":
    main()
