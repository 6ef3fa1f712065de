"""Turn pii_labelled.txt (values marked [[KIND:value]]) into pii_labelled.jsonl with spans.

Usage: python tests/data/build_pii_labelled.py   (rewrites the .jsonl next to this file)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]")


def parse(line: str) -> dict[str, object]:
    """One marked-up line -> {"text", "spans": [{"kind", "start", "end", "value"}]}."""
    text: list[str] = []
    spans: list[dict[str, object]] = []
    cursor = length = 0
    for mark in MARK.finditer(line):
        before = line[cursor : mark.start()]
        text.append(before)
        length += len(before)
        kind, value = mark.group(1), mark.group(2)
        spans.append({"kind": kind, "start": length, "end": length + len(value), "value": value})
        text.append(value)
        length += len(value)
        cursor = mark.end()
    text.append(line[cursor:])
    return {"text": "".join(text), "spans": spans}


def build() -> list[dict[str, object]]:
    """Every message of the marked-up file, in order."""
    lines = (HERE / "pii_labelled.txt").read_text(encoding="utf-8").splitlines()
    return [parse(line) for line in lines if line.strip() and not line.startswith("#")]


if __name__ == "__main__":
    rows = build()
    with (HERE / "pii_labelled.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} messages")
