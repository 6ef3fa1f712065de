"""PII redaction cost per message over the labelled set, with a same-run baseline.

Usage: python bench/pii.py [--region GB,US] [--rounds 20]
Times ``PIIRedactor.redact`` on every message of tests/data/pii_labelled.jsonl, and, in the
same run, one plain ``re.search(r"\\d", text)`` per message: the ratio says how many plain
regex scans a redaction costs, which stays comparable on a slower or busier machine.
One core (a single thread). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

from agentgpt.nlu.pii import PIIRedactor

DATA = Path(__file__).resolve().parents[1] / "tests/data/pii_labelled.jsonl"


def per_message_us(texts: list[str], work: object, rounds: int) -> float:
    """Median over ``rounds`` of the mean time of ``work(text)`` per message, in us."""
    call = work  # a local name: one lookup per message, as in the service
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            call(text)  # type: ignore[operator]
        samples.append((time.perf_counter() - started) / len(texts) * 1e6)
    return statistics.median(samples)


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", default="GB,US")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in DATA.read_text(encoding="utf-8").splitlines()]
    redactor = PIIRedactor(args.region)
    for text in texts:  # warm caches (phonenumbers metadata, schwifty registry)
        redactor.redact(text)
    digit = re.compile(r"\d")
    baseline = per_message_us(texts, digit.search, args.rounds)
    redact = per_message_us(texts, redactor.redact, args.rounds)
    clean = [t for t in texts if not redactor.find(t)]
    print(
        json.dumps(
            {
                "messages": len(texts),
                "region": args.region,
                "redact_us_per_message": round(redact, 1),
                "baseline_re_search_us_per_message": round(baseline, 2),
                "ratio_to_baseline": round(redact / baseline, 1),
                "clean_messages": len(clean),
                "redact_us_per_clean_message": round(
                    per_message_us(clean, redactor.redact, args.rounds), 1
                ),
                "target_us": 60,
            }
        )
    )


if __name__ == "__main__":
    main()
