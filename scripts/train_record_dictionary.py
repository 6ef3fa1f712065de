"""Train the zstd dictionary that compresses session records (run once per dictionary version).

Records are small (a turn's log entry is ~200 bytes of msgpack), too small for zstd to find
repetitions inside one record; a dictionary trained on typical records supplies them: field
layouts, intents, topics, the playbook's reply wording. This script runs simulated
customers (the scripted personas of ``agentgpt.demo.personas``, no real data) through a
real ``SessionManager`` with the NLP and the FAQ agents on a private embedded store,
captures the msgpack of every record the sessions write, and trains a dictionary on them.

A shipped dictionary must never change: records written with it are read with it for as
long as they live. A new dictionary is a new file and a new codec flag. Records carry
timestamps, so a rerun trains a slightly different dictionary: the shipped file is the
artifact (its sha256 is pinned in ``agentgpt.store.codec``), this script how it was made.

    python scripts/train_record_dictionary.py --out src/agentgpt/store/zstd/records-v1.dict \
        --customers 200 --evaluate-csv ../shared/data/banking77/test.csv
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import zstandard

Lines = Callable[[random.Random], list[str]]


def persona_lines(rng: random.Random) -> list[str]:
    """One scripted customer's lines (``agentgpt.demo.personas``)."""
    from agentgpt.demo.personas import pick

    persona = pick(rng)
    return [persona.line(index, rng) for index in range(len(persona.lines))]


def csv_lines(path: Path) -> Lines:
    """Five random messages of a ``text,...`` CSV per customer (e.g. BANKING77 test.csv)."""
    with path.open(newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    return lambda rng: rng.sample(texts, 5)


async def collect(customers: int, seed: int, lines: Lines = persona_lines) -> list[bytes]:
    """Msgpack of every record written by ``customers`` conversations per agent."""
    from agentgpt.config.loader import load_settings
    from agentgpt.sessions import session as session_module
    from agentgpt.sessions.manager import SessionManager
    from agentgpt.store.context_store import RedisContextStore

    samples: list[bytes] = []
    codec = session_module._codec
    original = codec.encode

    def capture(obj: object) -> bytes:
        samples.append(codec._encoder.encode(obj))
        return original(obj)

    codec.encode = capture  # type: ignore[method-assign]
    settings = load_settings()
    rng = random.Random(seed)
    try:
        for agent in ("nlp", "faq"):
            sessions = settings.sessions.model_copy(update={"agent": agent})
            store = RedisContextStore(settings.store)
            async with SessionManager(store=store, settings=sessions) as manager:
                for i in range(customers):
                    session = await manager.create_session(f"{agent}-customer-{i}")
                    for text in lines(rng):
                        await manager.handle(session.id, text)
            await store.aclose()
    finally:
        codec.encode = original  # type: ignore[method-assign]
    return samples


def main() -> None:
    """Collect samples, train, write the dictionary, report the compression it gives."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--size", type=int, default=16 * 1024, help="dictionary bytes")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument(
        "--evaluate-csv", type=Path, help="also report on messages of this CSV (not trained on)"
    )
    args = parser.parse_args()
    os.environ["AGENTGPT_HOME"] = tempfile.mkdtemp(prefix="agentgpt-train-dict-")
    samples = asyncio.run(collect(args.customers, args.seed))
    train, held_out = samples[::2], samples[1::2]
    dictionary = zstandard.train_dictionary(args.size, train, level=3, threads=1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(dictionary.as_bytes())
    print(f"{len(samples)} records, wrote {args.out} ({len(dictionary.as_bytes())} bytes)")
    print("held-out persona records:", sizes(held_out, dictionary))
    if args.evaluate_csv:
        other = asyncio.run(
            collect(args.customers // 4, args.seed + 1, csv_lines(args.evaluate_csv))
        )
        print(f"records of {args.evaluate_csv.name} messages:", sizes(other, dictionary))


def sizes(records: list[bytes], dictionary: zstandard.ZstdCompressionDict) -> str:
    """Mean bytes per record: msgpack, zstd alone (or raw if smaller), zstd + dictionary."""
    plain = zstandard.ZstdCompressor(level=3)
    trained = zstandard.ZstdCompressor(level=3, dict_data=dictionary)
    n = len(records)
    raw = sum(len(r) for r in records) / n
    alone = sum(min(len(r), len(plain.compress(r))) for r in records) / n
    with_dict = sum(min(len(r), len(trained.compress(r))) for r in records) / n
    return f"msgpack {raw:.0f} B, zstd {alone:.0f} B, zstd + dictionary {with_dict:.0f} B"


if __name__ == "__main__":
    main()
