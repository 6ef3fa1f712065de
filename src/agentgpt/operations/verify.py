"""Integrity check of stored sessions: ``agentgpt session verify``.

Reads every record of a session and checks that each one authenticates under its own
binding (session id, record kind, version), that the turn log is an unbroken hash chain
numbered 1..N, that the context, the log head, the metadata and the fencing tokens agree,
and that every key expires within its retention class. The log is read in pages, so a
session of any age is checked in bounded memory.

The audits sit above the session engine (``agentgpt.operations``), so they decode the
context and log entries as the types the engine writes them as (``Context``,
``TurnRecord``), through the same ``RecordSealer``. The store's own layouts (metadata,
vault records, the AEAD binding) are imported from ``agentgpt.store.records``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import TypeVar

import msgspec

from agentgpt.agents.context import Context
from agentgpt.errors import IntegrityError, SessionNotFound
from agentgpt.operations.findings import Finding
from agentgpt.operations.keyspace import sample_session_ids
from agentgpt.security.sealer import RecordSealer
from agentgpt.security.session_keys import RecordCipher, SessionKeyManager
from agentgpt.sessions.records import TurnRecord
from agentgpt.store import keys, records
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.session_records import SessionRecords

T = TypeVar("T")

#: Log entries (and vault records) fetched per round trip.
PAGE = 256
#: How far from the expected sequence number a log entry's binding is searched, so that a
#: deleted or reordered entry is reported as a gap rather than as garbage.
SEQ_SEARCH = 16
#: Sessions verified at once by ``verify_sample``.
CONCURRENCY = 16


class VerifyReport(msgspec.Struct, kw_only=True):
    """The outcome of verifying one session: what was read and every finding."""

    session_id: str
    version: int = 0
    records_checked: int = 0
    keys_checked: int = 0
    findings: list[Finding] = msgspec.field(default_factory=list)

    @property
    def sound(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def lines(self) -> list[str]:
        """Return the report as readable lines (one summary, then one per finding)."""
        state = "sound" if self.sound else f"CORRUPT ({_count(self.findings)})"
        head = (
            f"session {self.session_id}: {state}; version {self.version}, "
            f"{self.records_checked} records and {self.keys_checked} keys checked"
        )
        return [head, *(f"  - {f.line()}" for f in self.findings)]


def open_record(
    cipher: RecordCipher, blob: bytes, session_id: str, kind: str, version: int, type_: type[T]
) -> T:
    """Decrypt and decode a record under its binding; raise ``IntegrityError``."""
    return RecordSealer(cipher, session_id).open(blob, kind, version, type_)


def open_log_entry(
    cipher: RecordCipher, blob: bytes, session_id: str, expected: int, type_: type[T]
) -> tuple[int, T] | None:
    """Open a log entry bound to ``expected`` or a nearby seq: (bound seq, entry) or None.

    Searching near the expected seq tells a deleted or reordered entry (a gap, reported as
    such) from one that is altered or foreign (it authenticates under no seq of ours).
    """
    candidates = [
        expected,
        *range(expected + 1, expected + SEQ_SEARCH),
        *range(max(1, expected - SEQ_SEARCH), expected),
    ]
    for seq in candidates:
        try:
            record = open_record(cipher, blob, session_id, records.KIND_LOG, seq, type_)
        except IntegrityError:
            continue
        return seq, record
    return None


async def verify_session(
    store: RedisContextStore,
    key_manager: SessionKeyManager,
    session_id: str,
) -> VerifyReport:
    """Check every record of ``session_id``; raise ``SessionNotFound`` if it has none."""
    keys.validate_session_id(session_id)
    return await _Verifier(store, key_manager, session_id).run()


async def verify_sample(
    store: RedisContextStore,
    key_manager: SessionKeyManager,
    n: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[VerifyReport]:
    """Verify ``n`` sessions picked at random across the store (every primary).

    ``progress(done, total)`` is called after each session (for a progress bar).
    """
    ids = await sample_session_ids(store, n)
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(session_id: str) -> VerifyReport | None:
        nonlocal done
        async with gate:
            try:
                return await verify_session(store, key_manager, session_id)
            except SessionNotFound:
                return None  # expired or erased since the scan: nothing left to check
            finally:
                done += 1
                if progress is not None:
                    progress(done, len(ids))

    reports = await asyncio.gather(*(one(i) for i in ids))
    return [r for r in reports if r is not None]


class _Verifier:
    """The checks of one session, in the order the records depend on each other."""

    def __init__(
        self,
        store: RedisContextStore,
        key_manager: SessionKeyManager,
        session_id: str,
    ) -> None:
        self.store = store
        self.records_of = SessionRecords(store)
        self.key_manager = key_manager
        self.sid = session_id
        self.keys = keys.session_keys(session_id)
        self.report = VerifyReport(session_id=session_id)
        k = self.keys
        # Keys of the default retention class (the lock keys carry a shorter lease).
        self.ttl_keys = (k.meta, k.ctx, k.log, k.lock, k.queue, k.heartbeats)

    def add(self, key: str, field: str, problem: str, detail: str) -> None:
        self.report.findings.append(
            Finding(key=key, field=field, problem=problem, detail=detail, session_id=self.sid)
        )

    async def run(self) -> VerifyReport:
        # One MULTI/EXEC (all keys share the session's slot) gives a consistent snapshot of
        # metadata, context and log length while turns go on: the log is append-only and
        # vault records never change, so what is read later up to this length and version
        # belongs to the same snapshot.
        raw, ctx, log_len, *ttls = await self.records_of.snapshot(self.sid, self.ttl_keys)
        if not raw:
            if ctx is None and not log_len:
                raise SessionNotFound(f"session {self.sid} does not exist (expired or erased?)")
            self.add(
                self.keys.meta,
                "",
                "missing",
                "context or log exist without metadata "
                "(the data key is gone: the records can never be read)",
            )
            return self.report
        self._check_ttls(ttls)
        try:
            meta = records.SessionMeta.from_hash(raw)
        except ValueError as exc:
            self.add(self.keys.meta, "", "malformed", f"metadata does not parse: {exc}")
            return self.report
        self.report.version = meta.version
        try:
            cipher = await self.key_manager.open_session_key(self.sid, meta.wrapped_key)
        except IntegrityError as exc:
            self.add(self.keys.meta, "dk", "key-unwrap-failed", str(exc))
            return self.report
        self._check_context(cipher, meta, ctx)
        await self._check_log(cipher, meta, int(log_len))
        await self._check_vault(cipher, meta)
        return self.report

    # --- retention -------------------------------------------------------------------

    def _check_ttls(self, ttls: list[int]) -> None:
        default = self.store.retention_ms
        for key, pttl in zip(self.ttl_keys, ttls, strict=True):
            self._check_ttl(key, int(pttl), default, "default")

    def _check_ttl(self, key: str, pttl: int, limit_ms: int, retention: str) -> None:
        if pttl == -2:
            return  # absent: nothing to expire
        self.report.keys_checked += 1
        if pttl == -1:
            self.add(
                key,
                "ttl",
                "no-ttl",
                f"key never expires; its retention class is "
                f"{retention} ({_days(limit_ms)}): the store must enforce expiry",
            )
        elif pttl > limit_ms:
            self.add(
                key,
                "ttl",
                "ttl-too-long",
                f"expires in {_days(pttl)}, beyond its "
                f"retention class {retention} ({_days(limit_ms)})",
            )

    # --- records ---------------------------------------------------------------------

    def _check_context(
        self, cipher: RecordCipher, meta: records.SessionMeta, blob: bytes | None
    ) -> None:
        key = self.keys.ctx
        if meta.version == 0:
            if blob is not None:
                self.add(key, "", "unexpected", "context exists but no turn was committed")
            return
        if blob is None:
            self.add(key, "", "missing", f"no context at version {meta.version}")
            return
        self.report.records_checked += 1
        try:
            ctx = open_record(cipher, blob, self.sid, records.KIND_CONTEXT, meta.version, Context)
        except IntegrityError as exc:
            self.add(
                key,
                f"v{meta.version}",
                "auth-failed",
                f"does not authenticate as this session's context v{meta.version}: {exc}",
            )
            return
        if ctx.turns != meta.version:
            self.add(
                key,
                "turns",
                "version-mismatch",
                f"context counts {ctx.turns} turns, metadata version is {meta.version}",
            )
        if ctx.window and ctx.window[-1].seq != meta.version:
            self.add(
                key,
                "window",
                "version-mismatch",
                f"last exchange is seq {ctx.window[-1].seq}, metadata version is {meta.version}",
            )

    def _open_entry(self, cipher: RecordCipher, blob: bytes, expected: int) -> TurnRecord | None:
        found = open_log_entry(cipher, blob, self.sid, expected, TurnRecord)
        if found is None:
            return None
        bound, record = found
        if record.seq != bound:
            self.add(
                self.keys.log,
                f"seq {bound}",
                "binding-mismatch",
                f"entry says seq {record.seq} but is bound to seq {bound}",
            )
        return record

    async def _check_log(
        self, cipher: RecordCipher, meta: records.SessionMeta, length: int
    ) -> None:
        key = self.keys.log
        prev_hash, expected, last_fence = b"", 1, None
        last: TurnRecord | None = None
        for start in range(0, length, PAGE):
            # Never past the snapshot's length: entries appended since belong to later turns.
            page = await self.records_of.log_page(self.sid, start, min(PAGE, length - start))
            for index, blob in enumerate(page, start):
                self.report.records_checked += 1
                record = self._open_entry(cipher, blob, expected)
                if record is None:
                    self.add(
                        key,
                        f"index {index} (seq {expected} expected)",
                        "auth-failed",
                        "entry does not authenticate under this session's log binding "
                        "(altered, or copied from another session)",
                    )
                    prev_hash, expected = hashlib.sha256(blob).digest(), expected + 1
                    continue
                where = f"seq {record.seq}"
                if record.seq > expected:
                    missing = (
                        f"entry {expected} is"
                        if record.seq == expected + 1
                        else f"entries {expected}..{record.seq - 1} are"
                    )
                    self.add(key, where, "seq-gap", f"{missing} missing")
                elif record.seq < expected:
                    self.add(
                        key,
                        where,
                        "seq-order",
                        f"seq {expected} expected here (duplicate or reordered entry)",
                    )
                if record.prev != prev_hash:
                    self.add(
                        key,
                        where,
                        "chain-broken",
                        "prev hash differs from sha256 of "
                        "the entry before it (an entry was removed, altered or moved)",
                    )
                if record.fence is not None:
                    if last_fence is not None and record.fence < last_fence:
                        self.add(
                            key,
                            where,
                            "fence-backwards",
                            f"fence {record.fence} after fence {last_fence}",
                        )
                    if record.fence > meta.fence_issued:
                        self.add(
                            key,
                            where,
                            "fence-unissued",
                            f"fence {record.fence} was never "
                            f"issued (fence_issued is {meta.fence_issued})",
                        )
                    last_fence = record.fence
                prev_hash, expected, last = hashlib.sha256(blob).digest(), record.seq + 1, record
        self._check_head(meta, length, last, prev_hash)

    def _check_head(
        self, meta: records.SessionMeta, length: int, last: TurnRecord | None, head: bytes
    ) -> None:
        if length != meta.version:
            self.add(
                self.keys.log,
                "length",
                "length-mismatch",
                f"log holds {length} entries, metadata version is {meta.version}",
            )
        if meta.head != head:
            self.add(
                self.keys.meta, "head", "head-mismatch", "head is not sha256 of the last log entry"
            )
        last_seq = last.seq if last is not None else 0
        if last_seq != meta.version:
            self.add(
                self.keys.ctx,
                f"v{meta.version}",
                "version-mismatch",
                f"context version {meta.version} but the log head is seq {last_seq}",
            )
        if last is not None and last.fence != meta.fence:
            self.add(
                self.keys.meta,
                "fence",
                "fence-mismatch",
                f"metadata fence {meta.fence} differs from the last entry's fence {last.fence}",
            )

    async def _check_vault(self, cipher: RecordCipher, meta: records.SessionMeta) -> None:
        for first in range(1, meta.version + 1, PAGE):
            seqs = range(first, min(first + PAGE, meta.version + 1))
            replies = await self.records_of.vault_page(self.sid, seqs)
            for seq, (blob, pttl) in zip(seqs, replies, strict=True):
                if blob is not None:
                    self._check_vault_record(cipher, seq, blob, pttl)

    def _check_vault_record(self, cipher: RecordCipher, seq: int, blob: bytes, pttl: int) -> None:
        key = self.keys.vault(seq)
        self.report.records_checked += 1
        self._check_ttl(key, pttl, self.store.sensitive_ms, "sensitive")
        try:
            record = open_record(
                cipher, blob, self.sid, records.KIND_VAULT, seq, records.VaultRecord
            )
        except IntegrityError as exc:
            self.add(
                key,
                f"seq {seq}",
                "auth-failed",
                f"does not authenticate as this session's vault record {seq}: {exc}",
            )
            return
        if record.seq != seq:
            self.add(key, f"seq {seq}", "binding-mismatch", f"record says seq {record.seq}")


def _days(ms: int) -> str:
    days = ms / 86_400_000
    return f"{days:.2f} days" if days >= 1 else f"{ms / 1000:.0f} s"


def _count(findings: list[Finding]) -> str:
    return "1 finding" if len(findings) == 1 else f"{len(findings)} findings"
