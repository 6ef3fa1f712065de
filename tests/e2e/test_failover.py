"""A cluster primary killed under HTTP load: failover, no acknowledged turn lost, sound logs."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentgpt.cli.connect import key_manager_for, open_store
from agentgpt.operations.verify import verify_session
from agentgpt.store import keys as K
from tests import servers
from tests.e2e.conftest import start_server, stop_server
from tests.faultload import FaultLoad

DURABILITY_ENV = "AGENTGPT_SESSION_STORAGE__CONFIG__DURABILITY"
#: The target of issue 14: the service serves every request again within 10 s of the kill
#: (the store's failover included: node timeout 2 s here).
RECOVERY_S = 10.0


async def _verified(url: str, session_ids: list[str]) -> list[str]:
    """The sessions whose records do not verify (authenticate, chain, expire)."""
    settings, store = open_store(None, url)
    keys = key_manager_for(settings)
    try:
        reports = [await verify_session(store, keys, s)
                   for s in session_ids]  # fmt: skip
    finally:
        await store.aclose()
    return [r.session_id for r in reports if not r.sound]


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.xfail(
    strict=True,
    reason="issue 14 item 5 open: after a primary's SIGKILL every request (all shards, not "
    "only the dead primary's) stalls ~40 s in the service's cluster client before it serves "
    "again (failover itself takes ~4 s); measured 47.8 s to 100% success, no duplicate",
)
@pytest.mark.parametrize("durability", ["replica"])
async def test_primary_killed_under_load(durability: str) -> None:
    with servers.replicated_cluster(node_timeout_ms=2000) as nodes:
        url = "redis+cluster://" + ",".join(nodes.nodes)
        base, proc = await asyncio.to_thread(start_server, url, **{DURABILITY_ENV: durability})
        load = FaultLoad(base, customers=12)
        try:
            await load.enroll(f"failover-{durability}-")
            running = asyncio.create_task(load.run(16))
            await asyncio.sleep(4)
            key = K.session_keys(load.customers[0].session_id).meta
            victim = await asyncio.to_thread(nodes.primary_of, key)
            killed = time.monotonic()
            await asyncio.to_thread(nodes.kill, victim)
            # As an orchestrator would, bring the crashed node back - once a replica has
            # taken over: sooner, it would return as the primary with its older AOF and its
            # replica would resync from it, dropping what only the replica had.
            failover = await asyncio.to_thread(nodes.wait_failover)
            await asyncio.to_thread(nodes.start)
            await running
            recovery = load.recovery(killed)
            errors = load.errors(killed)
            audit = await load.audit()
            print(
                f"durability={durability} failover={failover:.2f}s recovery={recovery:.2f}s "
                f"errors={errors} {audit}"
            )
            assert load.acknowledged_after(killed + recovery)
            assert recovery <= RECOVERY_S, f"served again only {recovery:.1f} s after the kill"
            assert audit.duplicated == 0
            if durability == "replica":
                assert audit.lost == 0, audit.lost_texts
            # With "local" a turn acknowledged before it reached the replica is lost (the
            # window is measured by bench/chaos.py and written in docs/benchmarks.md).
            unsound = await _verified(url, [c.session_id for c in load.customers])
            assert unsound == []
        finally:
            await load.aclose()
            await asyncio.to_thread(stop_server, proc)
