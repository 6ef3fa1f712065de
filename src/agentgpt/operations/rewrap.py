"""Background re-wrap: move every session's data keys to the newest KEK version.

A pass SCANs the metadata keys (on every primary of a cluster), reads the ``dk`` fields
of a batch in one pipeline, re-wraps in process, and writes each changed keyring back with
a compare-and-set on ``dk`` (``cas_field.lua``): a session whose keyring changed meanwhile
(a concurrent rotation) or that was erased is skipped and picked up by the next pass.
Turns never touch ``dk``, so they are never disturbed; the pass is paced to ``rate``
sessions per second so that it never crowds them out. Data keys older than the
encryptor's ``data_key_rotation`` get a successor in the same write.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from agentgpt.errors import IntegrityError, KeyProviderUnavailable, StoreUnavailable
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.security.key_providers.protocol import Kek
from agentgpt.security.session_keys import SessionKeyManager
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.keys import REWRAP_LEADER_KEY, session_id_of_meta
from agentgpt.store.session_records import SessionRecords

log = logging.getLogger("agentgpt.rewrap")
_MAX_ERRORS = 20


@dataclass(slots=True)
class RewrapReport:
    """What one re-wrap pass did."""

    kek_primary: int = 0
    scanned: int = 0
    rewrapped: int = 0
    data_keys_added: int = 0
    current: int = 0
    skipped: int = 0
    conflicts: int = 0
    unreadable: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Sessions scanned per second."""
        return self.scanned / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {**asdict(self), "sessions_per_s": round(self.rate, 1)}


class Rewrapper:
    """Re-wraps session data keys under the primary KEK at a bounded rate."""

    def __init__(
        self,
        store: RedisContextStore,
        encryptor: SessionEncryptor,
        *,
        rate: float | None = 2000.0,
        batch: int = 500,
    ) -> None:
        """Pace passes to ``rate`` sessions/s (None: as fast as the store answers)."""
        self.store = store
        self.records = SessionRecords(store)
        self.encryptor = encryptor
        self.rate = rate
        self.batch = batch

    async def count_sessions(self) -> int:
        """Sessions in the store's expiry schedule (the total a progress bar shows)."""
        return await self.records.scheduled_sessions()

    async def run_once(self, on_progress: Callable[[int], None] | None = None) -> RewrapReport:
        """Run one pass over every session; ``on_progress(n)`` after each batch of ``n``."""
        started = time.perf_counter()
        primary = await self.encryptor.primary_kek()
        report = RewrapReport(kek_primary=primary.id)
        keks = {primary.id: primary}
        pending: list[bytes] = []
        async for key in self.records.meta_keys(self.batch):
            pending.append(key)
            if len(pending) >= self.batch:
                await self._batch(pending, primary, keks, report, on_progress)
                pending = []
                await self._pace(started, report.scanned)
        if pending:
            await self._batch(pending, primary, keks, report, on_progress)
        report.seconds = time.perf_counter() - started
        return report

    async def census(self) -> Counter[int]:
        """Count the sessions whose keyring needs each KEK version (no writes)."""
        counts: Counter[int] = Counter()
        keys: list[bytes] = []
        async for key in self.records.meta_keys(self.batch):
            keys.append(key)
            if len(keys) >= self.batch:
                await self._count(keys, counts)
                keys = []
        await self._count(keys, counts)
        return counts

    async def _count(self, keys: list[bytes], counts: Counter[int]) -> None:
        if not keys:
            return
        for key, wrapped in zip(keys, await self.records.wrapped_keys(keys), strict=True):
            session_id = session_id_of_meta(key)
            if session_id is not None and wrapped:
                try:
                    counts.update(self.encryptor.kek_ids(session_id, wrapped))
                except IntegrityError:
                    counts[-1] += 1  # unreadable keyring: never retire anything blindly

    async def run_forever(self, interval: float = 3600.0) -> None:
        """Every ``interval`` s: rotate when due, then re-wrap, in one elected process only.

        The lease (like the sweeper's) keeps N servers from running N identical passes;
        a pass that fails is logged and retried at the next interval, never fatal.
        """
        holder = secrets.token_hex(8)
        lease_ms = int(interval * 3000)
        while True:
            await asyncio.sleep(interval)
            try:
                if await self.store.try_lead(REWRAP_LEADER_KEY, holder, lease_ms):
                    await self.encryptor.primary_kek()  # rotates first when due
                    report = await self.run_once()
                    log.info("re-wrap pass: %s", report.as_dict())
            except (StoreUnavailable, KeyProviderUnavailable) as exc:
                log.warning("re-wrap pass skipped: %s", exc)

    def start(self, interval: float | None = None) -> asyncio.Task[None]:
        """Run ``run_forever`` in a background task (interval: rotation period / 24, 1-60 min)."""
        if interval is None:
            period = self.encryptor.key_rotation
            interval = min(max(period.total_seconds() / 24, 60.0), 3600.0) if period else 3600.0
        return asyncio.get_running_loop().create_task(self.run_forever(interval))

    async def _batch(
        self,
        keys: list[bytes],
        primary: Kek,
        keks: dict[int, Kek],
        report: RewrapReport,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        values = await self.records.wrapped_keys(keys)
        now = time.time()
        updates: list[tuple[bytes, bytes, bytes]] = []
        for key, wrapped in zip(keys, values, strict=True):
            report.scanned += 1
            session_id = session_id_of_meta(key)
            if session_id is None or not wrapped:
                report.skipped += 1  # erased meanwhile, or written by the plaintext manager
                continue
            try:
                new, added = await self._rewrap_one(session_id, wrapped, primary, keks, now)
            except (IntegrityError, KeyProviderUnavailable) as exc:
                report.unreadable += 1
                if len(report.errors) < _MAX_ERRORS:
                    report.errors.append(f"{session_id}: {exc}")
                continue
            if new is None:
                report.current += 1
                continue
            report.data_keys_added += added
            updates.append((key, wrapped, new))
        written = await self._write(updates)
        report.rewrapped += sum(written)
        report.conflicts += len(written) - sum(written)  # changed or erased meanwhile
        if on_progress is not None:
            on_progress(len(keys))

    async def _rewrap_one(
        self, session_id: str, wrapped: bytes, primary: Kek, keks: dict[int, Kek], now: float
    ) -> tuple[bytes | None, int]:
        for _ in range(8):
            try:
                new, added = self.encryptor.rewrapped(session_id, wrapped, primary, keks, now)
                return new, int(added)
            except KeyError as missing:
                kek_id = int(missing.args[0])
                keks[kek_id] = await self.encryptor.kek(kek_id)
        raise KeyProviderUnavailable(f"session {session_id} names too many unknown KEK versions")

    async def _write(self, updates: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
        if not updates:
            return []
        calls = [([key.decode()], ["dk", old, new]) for key, old, new in updates]
        return [bool(r) for r in await self.store.run_scripts("cas_field", calls)]

    async def _pace(self, started: float, done: int) -> None:
        if self.rate:
            ahead = started + done / self.rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)


def start_background_rewrap(
    store: RedisContextStore, key_manager: SessionKeyManager
) -> asyncio.Task[None] | None:
    """Start the paced background re-wrap when ``key_manager`` rotates its KEK, else None.

    Issue 4: KEK rotation and the re-wrap of data keys run in the service, one elected
    process at a time (``Rewrapper.run_forever`` takes a lease); the plaintext manager and
    an encryptor with ``key_rotation: never`` have nothing to move.
    """
    if isinstance(key_manager, SessionEncryptor) and key_manager.key_rotation:
        return Rewrapper(store, key_manager).start()
    return None
