"""CPU cost per message of each part of the fast analysis, for paired before/after runs.

Usage: PYTHONPATH=SRC python bench/nlu_parts.py [--data ../shared/data/banking77]
Run it alternately on two source trees (a baseline's ``src`` and this one) a few times: on
a shared machine the CPU time of the same code varies from minute to minute, so compare
the pairs whose baseline op (a fixed pure-Python ``sum(range(100))``) took the same time.
Prints one JSON line: microseconds of thread CPU time per message, median of 5 passes over
the first 1,000 test texts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Measure every part in turn, five times, and print the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/banking77"))
    args = parser.parse_args()
    from agentgpt.nlu import dataset
    from agentgpt.nlu.analysis import Analyzer, Request
    from agentgpt.nlu.models import shared_classifier
    from agentgpt.nlu.pii import PIIRedactor
    from agentgpt.nlu.sentiment import polarity

    model = shared_classifier()
    texts = dataset.load(args.data, "test").texts[:1000]
    redactor = PIIRedactor()
    analyzer = Analyzer(model, redactor)
    polarity("warm up")
    parts: dict[str, Callable[[str], Any]] = {
        "baseline": lambda t: sum(range(100)),
        "classify": lambda t: model.predict([t]),
        "pii": redactor.redact,
        "sentiment": polarity,
        "analysis": lambda t: analyzer([Request(t)]),
    }
    runs: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(5):
        for name, fn in parts.items():
            started = time.thread_time()
            for text in texts:
                fn(text)
            runs[name].append((time.thread_time() - started) / len(texts) * 1e6)
    print(json.dumps({name: round(statistics.median(v), 1) for name, v in runs.items()}))


if __name__ == "__main__":
    main()
