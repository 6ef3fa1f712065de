"""Cost of the integrity check and the leakage audit on the embedded store.

Prints one JSON line: the time to verify one session of ``--turns`` turns (median of
``--repeat`` runs, data key already unwrapped), and the time to scan ``--sessions``
sessions of ``--session-turns`` turns each with ``security scan --all`` semantics
(keyspace walk, vault fingerprints, every context and log entry, the agent pool).

    python bench/audit.py --turns 100 --sessions 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time

# A private data directory (embedded server, local KEK) before agentgpt reads it.
os.environ["AGENTGPT_HOME"] = tempfile.mkdtemp(prefix="agentgpt-bench-audit-")

from agentgpt import AgentPool, FAQAgent, SessionManager
from agentgpt.agents.context import Context
from agentgpt.agents.response import Response
from agentgpt.config.settings import StoreSettings
from agentgpt.operations.leakage_scan import scan
from agentgpt.operations.verify import verify_sample, verify_session
from agentgpt.store.context_store import RedisContextStore

LINES = (
    "I forgot my password",
    "Card blocked in foreign country",
    "Can I get a loan?",
    "Wire transfer to DE89 3704 0044 0532 0130 {n:02d} please",
    "thanks, bye",
)
_IBAN = re.compile(r"DE\d\d(?: \d{4}){4} \d\d")


class VaultingFAQAgent(FAQAgent):
    """The FAQ agent plus IBAN capture, so that the sensitive vault is exercised too."""

    async def process(self, input: str, context: Context) -> Response:
        """Answer as FAQAgent; move an IBAN into ``sensitive`` and redact it."""
        response = await super().process(input, context)
        found = _IBAN.search(input)
        if found:
            response.sensitive = {"<IBAN_1>": found.group()}
            response.redacted_input = input.replace(found.group(), "<IBAN_1>")
        return response


async def run(
    turns: int, sessions: int, session_turns: int, repeat: int, url: str | None
) -> dict[str, object]:
    settings = StoreSettings.from_url(url) if url else StoreSettings()
    store = RedisContextStore(settings.model_copy(update={"max_connections": 32}))
    if url:
        await (await store.backend.connect()).flushall()  # a throwaway server: start from empty
    manager = SessionManager(store=store, max_concurrent_sessions=10**7)
    manager.agents = AgentPool(VaultingFAQAgent, min_ready=4, max_connections=64)  # type: ignore[attr-defined]
    keys = manager.key_manager

    long_session = await manager.create_session("bench-long")
    for t in range(turns):
        await manager.handle(long_session.id, LINES[t % len(LINES)].format(n=t % 100))
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = await verify_session(store, keys, long_session.id)
        timings.append((time.perf_counter() - started) * 1000)
    assert report.sound, report.lines()

    async def customer(i: int) -> None:
        session = await manager.create_session(f"bench-{i}")
        for t in range(session_turns):
            await manager.handle(session.id, LINES[(i + t) % len(LINES)].format(n=i % 100))

    await asyncio.gather(*(customer(i) for i in range(sessions)))
    started = time.perf_counter()
    scanned = await scan(store, keys, "all", pools=[manager.agent_pool])
    scan_s = time.perf_counter() - started
    assert scanned.clean, scanned.lines()[:5]
    started = time.perf_counter()
    sample = await verify_sample(store, keys, 100)
    sample_s = time.perf_counter() - started
    await store.aclose()
    return {
        "verify_turns": turns,
        "verify_records": report.records_checked,
        "verify_ms_p50": round(statistics.median(timings), 2),
        "verify_ms_max": round(max(timings), 2),
        "scan_sessions": scanned.sessions_scanned,
        "scan_records": scanned.records_checked,
        "scan_keys": scanned.keys_scanned,
        "scan_s": round(scan_s, 3),
        "scan_sessions_per_s": round(scanned.sessions_scanned / scan_s, 1),
        "verify_sample_sessions": len(sample),
        "verify_sample_ms_per_session": round(sample_s * 1000 / max(len(sample), 1), 2),
    }


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=100, help="turns of the verified session")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions scanned")
    parser.add_argument("--session-turns", type=int, default=3, help="turns per scanned session")
    parser.add_argument("--repeat", type=int, default=20, help="verify runs (median reported)")
    parser.add_argument("--url", help="a THROWAWAY server (it is flushed); default: embedded")
    args = parser.parse_args()
    figures = asyncio.run(run(args.turns, args.sessions, args.session_turns, args.repeat, args.url))
    figures["store"] = (
        "cluster" if args.url and "+cluster" in args.url else ("url" if args.url else "embedded")
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
