"""The turn path against real Valkey (standalone and cluster)."""

from __future__ import annotations

import asyncio

import pytest

from agentgpt import AgentPool, Session, SessionManager, generate_session_id
from agentgpt.errors import ConcurrentUpdate, SessionClosed, StaleFencingToken
from agentgpt.locks import DistributedLock
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent


def manager(store: RedisContextStore, **kw: object) -> SessionManager:
    m = SessionManager(store=store, **kw)  # type: ignore[arg-type]
    m.agents = AgentPool(EchoAgent, min_ready=4, max_connections=64)  # type: ignore[attr-defined]
    return m


async def test_isolation_1000_sessions_x_10_turns(store: RedisContextStore) -> None:
    m = manager(store)
    sessions = [await m.create_session(f"user-{i}") for i in range(1000)]

    async def converse(session: Session) -> None:
        for turn in range(10):
            await m.handle(session.id, f"{session.id} message {turn}")

    await asyncio.gather(*(converse(s) for s in sessions))
    for session in sessions:
        loaded = await m.load_session(session.id)
        assert loaded.version == 10
        window = [e.user for e in loaded.context.window]
        expected = [f"{session.id} message {t}" for t in range(10)][-len(window) :]
        assert window == expected
        assert loaded.context.turns == 10
        log = await store.read_log(session.id)
        assert len(log) == 10


async def test_fifty_concurrent_messages_keep_arrival_order(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-order")
    done: list[int] = []

    async def send(i: int) -> None:
        response = await m.handle(session.id, f"m{i}")
        done.append(int(response.reply.split("|")[0].removeprefix("echo:m")))

    tasks = []
    for i in range(50):
        tasks.append(asyncio.create_task(send(i)))
        await asyncio.sleep(0)  # arrival order = creation order
    await asyncio.gather(*tasks)
    assert done == list(range(50))
    loaded = await m.load_session(session.id)
    assert loaded.version == 50
    assert loaded.context.turns == 50


async def test_expired_lease_holder_cannot_overwrite_newer_turn(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-fence")
    resource = f"session_{session.id}"

    slow = DistributedLock(resource, store=store, lease=0.2)
    await slow.acquire()
    slow._cancel_renewal()  # the holder stalls (GC pause, partition): no renewals
    stale_view = await m.load_session(session.id)
    await asyncio.sleep(0.35)

    async with DistributedLock(resource, store=store, lease=5):
        fresh = await m.load_session(session.id)
        response = await fresh.agents[0].process(input="newer", context=fresh.context)
        await fresh.commit("newer", response)

    late = await stale_view.agents[0].process(input="stale", context=stale_view.context)
    write, _ = stale_view.prepare_turn("stale", late, fence=slow.fence)
    with pytest.raises(StaleFencingToken):
        await store.commit(write)
    await slow.release()
    final = await m.load_session(session.id)
    assert [e.user for e in final.context.window] == ["newer"]


async def test_commit_without_lock_is_compare_and_set(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-cas")
    a = await m.load_session(session.id)
    b = await m.load_session(session.id)
    await a.commit("first", await a.agents[0].process(input="first", context=a.context))
    with pytest.raises(ConcurrentUpdate):
        await b.commit("second", await b.agents[0].process(input="second", context=b.context))


async def test_guide_form_with_distributed_lock(store: RedisContextStore) -> None:
    class SupportSessionManager(SessionManager):
        def __init__(self) -> None:
            super().__init__(max_concurrent_sessions=10_000, session_ttl=2592000, store=store)
            self.agents = AgentPool(agent_class=EchoAgent, min_ready=5, max_connections=10)

        async def create_session(self, user_id: str) -> Session:
            session = Session(id=generate_session_id(user_id), context_store=store)
            session.attach_agent(await self.agents.checkout(), capabilities=["intent_detection"])
            return session

    support = SupportSessionManager()
    created = await support.create_session("user-guide")
    assert support.agents.in_use == 0  # attach_agent binds the pool, holds no agent

    async def handle_session(session_id: str, user_input: str) -> str:
        async with DistributedLock(resource=f"session_{session_id}", store=store):
            session = await SupportSessionManager().load_session(session_id)
            response = await session.agents[0].process(input=user_input, context=session.context)
            await session.commit(user_input, response)
            return response.reply

    assert await handle_session(created.id, "hello") == "echo:hello|0"
    assert await handle_session(created.id, "again") == "echo:again|1"
    loaded = await support.load_session(created.id)
    assert support.owns(loaded, "user-guide")  # the store keeps a keyed hash, not the id
    assert loaded.capabilities == ["intent_detection"]


async def test_closed_session_takes_no_turns(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-close")
    await m.close(session.id)
    with pytest.raises(SessionClosed):
        await m.handle(session.id, "hello?")


async def test_erase_removes_every_key(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-erase")
    other = await m.create_session("user-keep")
    for i in range(3):
        await m.handle(session.id, f"m{i}")
    await m.handle(other.id, "keep me")
    client = await store.backend.connect()
    assert await m.erase(session.id) >= 3
    keys = [k async for k in _scan(client)]
    assert not [k for k in keys if session.id.encode() in k]
    assert (await m.load_session(other.id)).version == 1


async def test_erase_user_erases_all_their_sessions(store: RedisContextStore) -> None:
    m = manager(store)
    mine = [await m.create_session("gdpr-user") for _ in range(3)]
    theirs = await m.create_session("someone-else")
    erased = await m.erase_user("gdpr-user")
    assert sorted(erased) == sorted(s.id for s in mine)
    assert m.owns(await m.load_session(theirs.id), "someone-else")


async def _scan(client: object):  # type: ignore[no-untyped-def]
    if hasattr(client, "get_primaries"):
        for node in client.get_primaries():
            async for key in client.scan_iter(target_nodes=node):  # type: ignore[attr-defined]
                yield key
    else:
        async for key in client.scan_iter():  # type: ignore[attr-defined]
            yield key


async def test_a_retried_commit_is_applied_once(store: RedisContextStore) -> None:
    # The store client retries a command whose reply was lost on a broken connection: the
    # replay of an applied commit must report the same success and write nothing twice.
    m = manager(store)
    session = await m.create_session("user-retry")
    loaded = await m.load_session(session.id)
    response = await loaded.agents[0].process(input="hello", context=loaded.context)
    write, _ = loaded.prepare_turn("hello", response, fence=None)
    assert await store.commit(write) == 1
    assert await store.commit(write) == 1
    assert len(await store.read_log(session.id)) == 1
    other = await m.load_session(session.id)
    late = await loaded.agents[0].process(input="other", context=loaded.context)
    stale, _ = loaded.prepare_turn("other", late, fence=None)
    with pytest.raises(ConcurrentUpdate):  # a different turn on the same version still fails
        await store.commit(stale)
    assert other.version == 1


async def test_a_retried_acquire_gets_the_same_grant(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-retry-lock")
    lock = DistributedLock(f"session_{session.id}", store=store, lease=5)
    first = await store.begin_turn(lock.keys, lock.ticket, 5000, 5000)
    again = await store.begin_turn(lock.keys, lock.ticket, 5000, 5000)
    assert first.granted
    assert again.granted
    assert again.fence == first.fence
    other = DistributedLock(f"session_{session.id}", store=store, lease=5)
    assert not (await store.acquire(other.keys, other.ticket, 5000, 5000)).granted
