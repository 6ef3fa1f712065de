"""End-to-end encryption through real ``agentgpt serve`` processes (issue 17)."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import msgspec
import pytest
import redis.asyncio as aioredis

from agentgpt import errors as E
from agentgpt.client import AsyncClient
from agentgpt.security.ratchet import double_ratchet as DR
from agentgpt.security.ratchet import primitives as P
from agentgpt.security.ratchet import x3dh as X
from tests.e2e.conftest import start_server, stop_server

ROTATION = "2s"  # short, so the test sees a forced DH step


@pytest.fixture(scope="module")
def e2e_servers(standalone_url: str) -> Iterator[list[tuple[str, subprocess.Popen[bytes], object]]]:
    """Two workers on one store requiring end-to-end encryption, tracing to stdout."""
    started: list[tuple[str, subprocess.Popen[bytes], object]] = []
    files = []
    try:
        for _ in range(2):
            out = tempfile.TemporaryFile()  # noqa: SIM115 - read after the process stops
            files.append(out)
            base, proc = start_server(
                standalone_url, stdout=out, AGENTGPT_SESSIONS__END_TO_END="required",
                AGENTGPT_TRACING__ENABLED="true", AGENTGPT_TRACING__EXPORTER="console",
                AGENTGPT_SERVER__LOG_JSON="true",
            )  # fmt: skip
            started.append((base, proc, out))
        yield started
    finally:
        for _, proc, _ in started:
            if proc.poll() is None:
                stop_server(proc)
        for out in files:
            out.close()


async def _customer(base: str, user: str, **kw: object) -> AsyncClient:
    async with AsyncClient(base) as anonymous:
        token = await anonymous.demo_token(user, "customer")
    return AsyncClient(base, token.token, **kw)  # type: ignore[arg-type]


def _flip(wire: str, index: int) -> str:
    raw = bytearray(X.unb64(wire))
    raw[index] ^= 0x01
    return X.b64(bytes(raw))


async def _store_bytes(url: str) -> bytes:
    """Every key name and value of the store, concatenated (what a dump would hold)."""
    client = aioredis.Redis.from_url(url)
    found = bytearray()
    try:
        async for key in client.scan_iter(count=1000):
            found += key
            kind = (await client.type(key)).decode()
            if kind == "string":
                found += await client.get(key) or b""
            elif kind == "hash":
                for field, value in (await client.hgetall(key)).items():
                    found += field + value
            elif kind == "list":
                found += b"".join(await client.lrange(key, 0, -1))
            elif kind in {"set", "zset"}:
                members = await (
                    client.smembers(key) if kind == "set" else client.zrange(key, 0, -1)
                )
                found += b"".join(members)
            elif kind == "stream":
                for _, fields in await client.xrange(key):
                    found += b"".join(k + v for k, v in fields.items())
    finally:
        await client.aclose()
    return bytes(found)


async def test_a_50_message_conversation_with_reordering_replay_tampering_and_rotation(
    e2e_servers: list[tuple[str, subprocess.Popen[bytes], object]], standalone_url: str
) -> None:
    base = e2e_servers[0][0]
    marker = f"MARK{uuid.uuid4().hex[:12]}"
    client = await _customer(base, "e2e-alice", end_to_end=True, key_rotation=ROTATION)
    async with client:
        sid = (await client.create_session()).id
        assert client.ratchets is not None
        sent = 0
        seqs = []
        while sent < 50:
            if sent % 10 == 5:  # three messages delivered out of order: 3, 1, 2
                wires = [client.ratchets.encrypt(sid, f"{marker} card blocked {sent + i}")
                         for i in range(3)]  # fmt: skip
                for wire in (wires[2], wires[0], wires[1]):
                    seqs.append((await client.send_encrypted(sid, wire)).seq)
                sent += 3
                continue
            turn = await client.send(sid, f"{marker} my card is blocked, message {sent}")
            assert marker in (turn.redacted_input or "")  # the agent read the plain text
            seqs.append(turn.seq)
            sent += 1
        assert seqs == list(range(1, 51))

        # A replay, then a tampered message: refused, nothing stored, the chain goes on.
        wire = client.ratchets.encrypt(sid, f"{marker} transfer 10 EUR")
        assert (await client.send_encrypted(sid, wire)).seq == 51
        with pytest.raises(E.ReplayedMessage):
            await client.send_encrypted(sid, wire)
        wire = client.ratchets.encrypt(sid, f"{marker} transfer 20 EUR")
        for index in (0, 5, 40, len(X.unb64(wire)) - 1):
            with pytest.raises(E.BrokenMessage) as broken:
                await client.send_encrypted(sid, _flip(wire, index))
            assert broken.value.status == 400
        assert (await client.send_encrypted(sid, wire)).seq == 52

        # Forced rotation: after the period, the idle ratchet key is replaced.
        before = P.public_of(client.ratchets.state(sid).dhs)
        await asyncio.sleep(2.2)
        wire = client.ratchets.encrypt(sid, f"{marker} still there?")
        assert DR.parse_header(X.unb64(wire))[0] != before
        assert (await client.send_encrypted(sid, wire)).seq == 53

        # Plain text is refused where end-to-end is required.
        plain = await _customer(base, "e2e-alice")
        async with plain:
            with pytest.raises(E.EndToEndRequired):
                await plain.send(sid, f"{marker} plain")
        metrics = await client.metrics()

        # Erasure takes the ratchet state with the session.
        store = aioredis.Redis.from_url(standalone_url)
        meta_key = f"ag:{{{sid}}}:meta"
        assert await store.hget(meta_key, "e2e")
        await client.erase(sid)
        assert not await store.exists(meta_key)
        await store.aclose()

    assert marker not in metrics
    assert marker.encode() not in await _store_bytes(standalone_url)


async def test_handshake_errors_are_clear_problems(
    e2e_servers: list[tuple[str, subprocess.Popen[bytes], object]],
) -> None:
    base = e2e_servers[0][0]
    client = await _customer(base, "e2e-bob")
    async with client:
        sid = (await client.create_session()).id
        raw = (await client._request("GET", "/v1/e2e/bundle")).content
        handshake, _ = X.initiate(msgspec.json.decode(raw, type=X.PrekeyBundle), 86400.0)
        body = {"protocol": "signal-ish", "handshake": {}}
        with pytest.raises(E.UnknownProtocol):
            await client._request("POST", f"/v1/sessions/{sid}/e2e", json=body)
        stale = {"identity_key": handshake.identity_key, "ephemeral_key": handshake.ephemeral_key,
                 "signed_prekey_id": 10**9}  # fmt: skip
        with pytest.raises(E.PrekeyExpired):
            await client._request("POST", f"/v1/sessions/{sid}/e2e",
                                  json={"handshake": stale})  # fmt: skip
        fresh = {"identity_key": handshake.identity_key, "ephemeral_key": handshake.ephemeral_key,
                 "signed_prekey_id": handshake.signed_prekey_id,
                 "one_time_prekey_id": handshake.one_time_prekey_id}  # fmt: skip
        await client._request("POST", f"/v1/sessions/{sid}/e2e", json={"handshake": fresh})
        other = (await client.create_session()).id
        with pytest.raises(E.PrekeyExpired, match="already used"):
            await client._request("POST", f"/v1/sessions/{other}/e2e",
                                  json={"handshake": fresh})  # fmt: skip
        with pytest.raises(E.AlreadyDone):
            await client._request("POST", f"/v1/sessions/{sid}/e2e", json={"handshake": fresh})


async def test_two_workers_serving_one_session_never_fork_the_chain(
    e2e_servers: list[tuple[str, subprocess.Popen[bytes], object]],
) -> None:
    (first, *_), (second, *_) = e2e_servers
    client = await _customer(first, "e2e-carol", end_to_end=True)
    async with client:
        sid = (await client.create_session()).id
        assert client.ratchets is not None
        other = AsyncClient(second, client.token)
        wires = [client.ratchets.encrypt(sid, f"question {i}") for i in range(12)]
        # Both workers at once, in any order: the turn lock serialises the ratchet.
        answers = await asyncio.gather(*(
            (client if i % 2 else other)._call(
                "POST", f"/v1/sessions/{sid}/messages", dict, json={"e2e": wire})
            for i, wire in enumerate(wires)
        ))  # fmt: skip
        turns = [client.ratchets.decrypt_turn(sid, a["e2e"]) for a in answers]
        assert sorted(t.seq for t in turns) == list(range(1, 13))
        for wire in wires:  # each message was accepted exactly once, by one worker
            with pytest.raises(E.ReplayedMessage):
                await other._call("POST", f"/v1/sessions/{sid}/messages", dict,
                                  json={"e2e": wire})  # fmt: skip
        assert (await client.send(sid, "and now?")).seq == 13
        await other.aclose()


async def test_a_retried_encrypted_message_replays_its_answer_under_the_next_key(
    e2e_servers: list[tuple[str, subprocess.Popen[bytes], object]],
) -> None:
    (first, *_), (second, *_) = e2e_servers
    client = await _customer(first, "e2e-dave", end_to_end=True)
    async with client:
        sid = (await client.create_session()).id
        assert client.ratchets is not None
        wire = client.ratchets.encrypt(sid, "where is my parcel?")
        key = str(uuid.uuid4())
        # The first attempt is committed but its answer is lost on the way back.
        lost = await client._call("POST", f"/v1/sessions/{sid}/messages", dict,
                                  json={"e2e": wire},
                                  headers={"Idempotency-Key": key})  # fmt: skip
        # The retry (same ciphertext, same key, another worker): the same turn, answered
        # again with a new message of the chain; nothing new is stored.
        other = AsyncClient(second, client.token, end_to_end=True)
        other.ratchets = client.ratchets
        turn = await other.send_encrypted(sid, wire, idempotency_key=key)
        assert turn.seq == lost["seq"] == 1
        assert turn.reply
        await other.aclose()
        # Without the key, the same ciphertext is a replay: refused.
        with pytest.raises(E.ReplayedMessage):
            await client.send_encrypted(sid, wire)
        # The chain goes on in step, and the log holds one turn.
        assert (await client.send(sid, "and my refund?")).seq == 2
        assert (await client.send(sid, "thanks", idempotency_key=key)).seq == 1
        assert (await client.get_session(sid)).turns == 2


def test_logs_and_traces_hold_no_message_text(
    e2e_servers: list[tuple[str, subprocess.Popen[bytes], object]],
) -> None:
    # Runs last in this module: stops the workers and reads everything they wrote.
    captured = b""
    for _, proc, out in e2e_servers:
        captured += stop_server(proc)
        out.seek(0)  # type: ignore[attr-defined]
        captured += out.read()  # type: ignore[attr-defined]
    assert b"agentgpt.turn" in captured  # the traces were written
    for text in (b"MARK", b"card blocked", b"transfer 10 EUR", b"question 3"):
        assert text not in captured
