"""HTTP load that keeps its own books, for fault tests and bench/chaos.py.

Each customer sends numbered messages one after the other, every one with its own
``Idempotency-Key``; a failed attempt (transport error or 5xx) is retried with the same key
until the service acknowledges it. Every attempt is timed, so a fault's errors and its
recovery time (the kill to the end of the last failed attempt) can be read afterwards, and
``audit`` compares what was acknowledged with what the session's log holds: turns lost
(acknowledged, not stored) and duplicated (stored twice).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request: when it started and ended (monotonic s) and whether it was acknowledged."""

    start: float
    end: float
    ok: bool


@dataclass
class Customer:
    """One customer's session and the texts the service acknowledged, in order."""

    user: str
    session_id: str
    headers: dict[str, str]
    acked: list[str] = field(default_factory=list)
    sent: int = 0


@dataclass(frozen=True, slots=True)
class Audit:
    """Acknowledged vs stored turns over every customer."""

    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    lost_texts: tuple[str, ...] = ()


def _text(customer: Customer, index: int) -> str:
    # Words, not digits: the PII redaction must leave the text as sent.
    return f"please note item {_words(index)} for {customer.user}"


def _words(n: int) -> str:
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return "-".join(names[int(d)] for d in str(n))


class FaultLoad:
    """Customers sending turns to one service; attempts and acknowledgements recorded."""

    def __init__(self, base: str, customers: int = 10, pause: float = 0.02) -> None:
        """``customers`` concurrent senders to ``base``; ``pause`` s between their turns."""
        self.base = base
        self.count = customers
        self.pause = pause
        self.customers: list[Customer] = []
        self.attempts: list[Attempt] = []
        #: What the failed attempts saw: "503 store-unavailable", "ConnectError", ...
        self.failures: Counter[str] = Counter()
        self._http = httpx.AsyncClient(base_url=base, timeout=10.0)

    async def enroll(self, prefix: str = "chaos") -> None:
        """Give every customer a token and a session."""
        for i in range(self.count):
            user = f"{prefix}{i}"
            token = await self._http.post("/v1/demo/token", json={"user": user, "role": "customer"})
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            made = await self._http.post("/v1/sessions", headers=headers)
            made.raise_for_status()
            self.customers.append(Customer(user, made.json()["id"], headers))

    async def run(self, seconds: float) -> None:
        """Send turns from every customer for ``seconds``; finish the messages in flight."""
        stop = time.monotonic() + seconds
        await asyncio.gather(*(self._customer(c, stop) for c in self.customers))

    async def _customer(self, customer: Customer, stop: float) -> None:
        while time.monotonic() < stop:
            text = _text(customer, customer.sent)
            key = f"{customer.session_id}-{customer.sent}"
            # Once sent, a message is retried until acknowledged (a client that cannot know
            # whether its turn was committed), even past the stop time, within a bound.
            give_up = max(stop, time.monotonic()) + 90
            while not await self._attempt(customer, text, key):
                if time.monotonic() > give_up:
                    raise AssertionError(f"{customer.session_id}: never acknowledged")
                await asyncio.sleep(0.1)
            customer.acked.append(text)
            customer.sent += 1
            await asyncio.sleep(self.pause)

    async def _attempt(self, customer: Customer, text: str, key: str) -> bool:
        start = time.monotonic()
        ok = False
        try:
            reply = await self._http.post(
                f"/v1/sessions/{customer.session_id}/messages", json={"text": text},
                headers={**customer.headers, "Idempotency-Key": key},
            )  # fmt: skip
            ok = reply.status_code == 200
            if reply.status_code < 500 and not ok:
                raise AssertionError(f"{reply.status_code}: {reply.text}")
            if not ok:
                kind = str(reply.json().get("type", "")).rpartition("/")[2]
                self.failures[f"{reply.status_code} {kind}"] += 1
        except httpx.TransportError as exc:
            self.failures[type(exc).__name__] += 1
        self.attempts.append(Attempt(start, time.monotonic(), ok))
        return ok

    def errors(self, since: float, until: float | None = None) -> int:
        """Failed attempts started in [since, until)."""
        end = until if until is not None else float("inf")
        return sum(1 for a in self.attempts if not a.ok and since <= a.start < end)

    def recovery(self, since: float, until: float | None = None) -> float:
        """Seconds from ``since`` to the end of the last failed attempt before ``until``."""
        end = until if until is not None else float("inf")
        failed = [a.end for a in self.attempts if not a.ok and since <= a.start < end]
        return max(failed) - since if failed else 0.0

    def acknowledged_after(self, since: float) -> bool:
        """True when some attempt started after ``since`` was acknowledged."""
        return any(a.ok and a.start >= since for a in self.attempts)

    async def audit(self) -> Audit:
        """Compare each customer's acknowledged texts with its stored turn log."""
        acked = stored = lost = dup = 0
        lost_texts: list[str] = []
        for c in self.customers:
            turns = await self._turns(c)
            users = [t["user"] for t in turns]
            acked += len(c.acked)
            stored += len(users)
            dup += len(users) - len(set(users))
            missing = [t for t in c.acked if t not in set(users)]
            lost += len(missing)
            lost_texts += missing
        return Audit(acked, stored, lost, dup, tuple(lost_texts[:5]))

    async def _turns(self, customer: Customer) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        while True:
            page = await self._http.get(
                f"/v1/sessions/{customer.session_id}/turns",
                params={"offset": len(turns), "limit": 500}, headers=customer.headers,
            )  # fmt: skip
            page.raise_for_status()
            body = page.json()
            turns += body["turns"]
            if not body["turns"] or len(turns) >= body["total"]:
                return turns

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
