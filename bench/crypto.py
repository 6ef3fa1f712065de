"""Encryption-at-rest costs: per-record AEAD, added turn latency, re-wrap rate.

Prints one JSON line:
- ``encrypt_us`` / ``decrypt_us``: AES-256-GCM seal/open of one 2 KiB record (median of
  repeats; target <= 20 us each);
- ``turn_p50_ms_none`` / ``turn_p50_ms_encrypted`` / ``added_p50_us``: sequential turns on
  the embedded server with encryption=none and the local SessionEncryptor, interleaved
  round by round so drift hits both alike (target <= 100 us added); ``crypto_us_per_turn``
  is the in-process cost of a turn's sealing and opening alone (less noisy);
- ``rewrap_sessions_per_s``: one re-wrap pass after a rotation over ``--rewrap-sessions``
  sessions created through SessionManager, unpaced (target >= 5,000/s, embedded, local).

    python bench/crypto.py --rewrap-sessions 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import timeit
from pathlib import Path

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings, StoreSettings
from agentgpt.operations.rewrap import Rewrapper
from agentgpt.security import SessionEncryptor
from agentgpt.security.plaintext import PlaintextKeyManager
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.records import associated_data

LINES = ("I forgot my password", "Card blocked in foreign country", "Can I get a loan?",
         "Wire transfer to my landlord please", "thanks, bye")  # fmt: skip


async def record_costs(enc: SessionEncryptor) -> dict[str, float]:
    """Median microseconds to seal and to open one 2 KiB record (incompressible, as after zstd)."""
    _, cipher = await enc.new_session_key("sess_benchmark01")
    record, ad = os.urandom(2048), associated_data("sess_benchmark01", "ctx", 7)
    blob = cipher.encrypt(record, ad)
    n = 20_000
    seal = min(timeit.repeat(lambda: cipher.encrypt(record, ad), number=n, repeat=5)) / n
    open_ = min(timeit.repeat(lambda: cipher.decrypt(blob, ad), number=n, repeat=5)) / n
    return {"encrypt_us": round(seal * 1e6, 2), "decrypt_us": round(open_ * 1e6, 2)}


async def turn_costs(store: RedisContextStore, enc: SessionEncryptor, sessions: int,
                     turns: int) -> dict[str, float]:  # fmt: skip
    """Sequential turn latency with and without encryption, interleaved per round."""
    plain = SessionManager(store=store, encryption=PlaintextKeyManager(),
                           max_concurrent_sessions=10**7)  # fmt: skip
    sealed = SessionManager(store=store, encryption=enc, max_concurrent_sessions=10**7)
    ids = {m: [(await m.create_session(f"bench-{i}")).id for i in range(sessions)]
           for m in (plain, sealed)}  # fmt: skip
    latencies: dict[SessionManager, list[float]] = {plain: [], sealed: []}
    for t in range(turns):
        for i in range(sessions):
            for m in (plain, sealed) if (t + i) % 2 else (sealed, plain):
                started = time.perf_counter()
                await m.handle(ids[m][i], LINES[t % len(LINES)])
                latencies[m].append(time.perf_counter() - started)
    p50_none, p50_enc = (statistics.median(latencies[m]) for m in (plain, sealed))
    # The crypto work of one turn in isolation: open the context (cached key), seal the
    # new context and the log entry.
    session = await sealed.load_session(ids[sealed][0])
    blob = session.seal(session.context, "ctx", session.version)
    n = 5_000
    started = time.perf_counter()
    for _ in range(n):
        session.open(blob, "ctx", session.version, type(session.context))
        session.seal(session.context, "ctx", session.version)
        session.seal(session.context, "log", session.version)
    per_turn = (time.perf_counter() - started) / n
    plain_cost = _codec_cost(session, n)
    return {
        "turns_per_mode": len(latencies[plain]),
        "turn_p50_ms_none": round(p50_none * 1e3, 3),
        "turn_p50_ms_encrypted": round(p50_enc * 1e3, 3),
        "added_p50_us": round((p50_enc - p50_none) * 1e6, 1),
        "crypto_us_per_turn": round((per_turn - plain_cost) * 1e6, 2),
    }


def _codec_cost(session: object, n: int) -> float:
    from agentgpt.store.codec import RecordCodec

    codec, context = RecordCodec(), session.context  # type: ignore[attr-defined]
    encoded = codec.encode(context)
    started = time.perf_counter()
    for _ in range(n):
        codec.decode(encoded, type(context))
        codec.encode(context)
        codec.encode(context)
    return (time.perf_counter() - started) / n


async def rewrap_rate(
    store: RedisContextStore, enc: SessionEncryptor, count: int
) -> dict[str, float]:
    """Sessions per second of one unpaced re-wrap pass after a KEK rotation."""
    m = SessionManager(store=store, encryption=enc, max_concurrent_sessions=10**7)
    batch = 500
    for offset in range(0, count, batch):
        await asyncio.gather(*(m.create_session(f"rw-{offset + i}")
                               for i in range(min(batch, count - offset))))  # fmt: skip
    await enc.rotate()
    rewrapper = Rewrapper(store, enc, rate=None, batch=1000)
    moved = await rewrapper.run_once()
    current = await rewrapper.run_once()
    return {
        "rewrap_sessions": moved.scanned,
        "rewrap_moved": moved.rewrapped,
        "rewrap_sessions_per_s": round(moved.rate),
        "rewrap_scan_only_sessions_per_s": round(current.rate),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    """Run the three measurements on a fresh embedded server."""
    home = Path(tempfile.mkdtemp(prefix="agentgpt-bench-crypto-"))
    store = RedisContextStore(StoreSettings(max_connections=32), home=str(home))
    enc = SessionEncryptor(f"local:{home / 'keyset.json'}", key_rotation="never",
                           settings=SessionSettings())  # fmt: skip
    figures: dict[str, object] = {"cpus": os.cpu_count()}
    figures.update(await record_costs(enc))
    figures.update(await turn_costs(store, enc, args.sessions, args.turns))
    figures.update(await rewrap_rate(store, enc, args.rewrap_sessions))
    await store.aclose()
    return figures


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100, help="sessions per mode (turns)")
    parser.add_argument("--turns", type=int, default=20, help="turns per session and mode")
    parser.add_argument("--rewrap-sessions", type=int, default=20_000)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
