"""Cross-session leakage audit: ``agentgpt security scan``.

Looks for what must never happen between sessions:

* a record that does not authenticate under its own session's binding but does under
  another scanned session's (a ciphertext copied across sessions);
* a PII value of one session's sensitive vault inside another session's context or log,
  compared as keyed fingerprints (see ``fingerprints``), never in clear;
* keys outside the ``ag:`` namespace, or in it without a hash tag;
* a pooled agent that still holds per-call state after check-in.

The scan reads sessions in batches (one pipelined round trip per batch and step) and holds
one cipher and the vault fingerprints per session, never the records themselves.

Like ``verify``, the scan sits above the session engine: it decodes records as the types
the engine writes (``Context``, ``TurnRecord``) and checks ``AgentPool``s directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import msgspec

from agentgpt.agents.context import Context
from agentgpt.agents.pool import AgentPool
from agentgpt.errors import IntegrityError, SessionNotFound
from agentgpt.operations.findings import Finding, shown_key
from agentgpt.operations.fingerprints import Fingerprinter, shown, strings_in
from agentgpt.operations.keyspace import misplaced, scan_keys, session_of_meta
from agentgpt.operations.verify import PAGE, SEQ_SEARCH, open_log_entry, open_record
from agentgpt.security.session_keys import RecordCipher, SessionKeyManager
from agentgpt.sessions.records import TurnRecord
from agentgpt.store import keys, records
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.session_records import SessionRecords

#: Sessions read per pipelined round trip.
BATCH = 128
#: Bindings tried per unreadable record when looking for the session it came from.
MAX_ORIGIN_TRIES = 100_000
#: Unreadable records whose origin is searched; past this the store is broadly unreadable
#: (wrong key, say) and searching would only cost time.
MAX_SUSPECTS = 100
#: Text a probe sends through a pooled agent to see whether it keeps it after check-in.
CANARY = "leakage-audit canary: please reset me"
ALL: Literal["all"] = "all"


class ScanReport(msgspec.Struct, kw_only=True):
    """What the leakage audit read and every finding."""

    sessions_scanned: int = 0
    records_checked: int = 0
    keys_scanned: int = 0
    agents_checked: int = 0
    findings: list[Finding] = msgspec.field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def lines(self) -> list[str]:
        """Return the report as readable lines (one summary, then one per finding)."""
        state = "no leakage found" if self.clean else f"{len(self.findings)} FINDING(S)"
        head = (
            f"leakage scan: {state}; {self.sessions_scanned} sessions, "
            f"{self.records_checked} records, {self.keys_scanned} keys, "
            f"{self.agents_checked} pooled agents checked"
        )
        return [head, *(f"  - {f.line()}" for f in self.findings)]


class _Suspect(msgspec.Struct, frozen=True):
    """A record that failed under its own binding, kept to search for its origin."""

    session_id: str
    key: str
    field: str
    blob: bytes


async def scan(
    store: RedisContextStore,
    key_manager: SessionKeyManager,
    sessions: Sequence[str] | Literal["all"] = ALL,
    *,
    pools: Iterable[AgentPool[Any]] = (),
    probe: bool = False,
    keyspace: bool = True,
    scan_key: bytes | None = None,
) -> ScanReport:
    """Audit ``sessions`` (ids, or ``"all"``) against each other, the keyspace and ``pools``.

    ``probe`` first runs a canary call through each pool; ``keyspace`` walks every key of
    every primary for keys outside the namespace or without a hash tag; ``scan_key`` fixes
    the fingerprint key (random per scan by default).
    """
    audit = _Audit(store, key_manager, Fingerprinter(scan_key))
    ids = await audit.walk_keyspace(collect=sessions == ALL, check=keyspace)
    if sessions != ALL:
        audit.explicit = True
        ids = [keys.validate_session_id(s) for s in dict.fromkeys(sessions)]
    for first in range(0, len(ids), BATCH):
        await audit.index_vaults(ids[first : first + BATCH])
    for first in range(0, len(ids), BATCH):
        await audit.check_records(ids[first : first + BATCH])
    audit.trace_suspects()
    for pool in pools:
        await audit.check_pool(pool, probe)
    return audit.report


class _Audit:
    """The state of one scan: ciphers, PII fingerprints, unreadable records, findings."""

    def __init__(
        self,
        store: RedisContextStore,
        key_manager: SessionKeyManager,
        prints: Fingerprinter,
    ) -> None:
        self.store = store
        self.key_manager = key_manager
        self.prints = prints
        self.report = ScanReport()
        self.ciphers: dict[str, tuple[RecordCipher, int]] = {}
        # fingerprint -> {session: placeholder} of every vault holding that value
        self.pii: dict[bytes, dict[str, str]] = {}
        self.suspects: list[_Suspect] = []
        self.explicit = False

    def add(self, key: str, field: str, problem: str, detail: str, session_id: str = "") -> None:
        self.report.findings.append(
            Finding(key=key, field=field, problem=problem, detail=detail, session_id=session_id)
        )

    async def walk_keyspace(self, *, collect: bool, check: bool) -> list[str]:
        """Check every key's place (``check``); return the session ids seen (``collect``)."""
        ids: list[str] = []
        if not (collect or check):
            return ids
        async for key in scan_keys(self.store, None if check else "ag:{*}:meta"):
            self.report.keys_scanned += 1
            if collect and (session_id := session_of_meta(key)) is not None:
                ids.append(session_id)
            if check and (wrong := misplaced(key)) is not None:
                self.add(shown_key(key), "", *wrong)
        return ids

    async def index_vaults(self, ids: list[str]) -> None:
        """Open each session's data key and fingerprint its vault values."""
        metas = await SessionRecords(self.store).metas(ids)
        wanted: list[tuple[str, int]] = []
        for session_id, raw in zip(ids, metas, strict=True):
            if not raw:
                if self.explicit:
                    raise SessionNotFound(
                        f"session {session_id} does not exist (expired or "
                        "erased?); list only existing sessions"
                    )
                continue  # expired or erased since the keyspace walk listed it
            meta_key = keys.session_keys(session_id).meta
            try:
                meta = records.SessionMeta.from_hash(raw)
                cipher = await self.key_manager.open_session_key(session_id, meta.wrapped_key)
            except ValueError as exc:
                self.add(meta_key, "", "malformed", f"metadata does not parse: {exc}", session_id)
                continue
            except IntegrityError as exc:
                self.add(meta_key, "dk", "key-unwrap-failed", str(exc), session_id)
                continue
            self.ciphers[session_id] = (cipher, meta.version)
            self.report.sessions_scanned += 1
            wanted += [(session_id, seq) for seq in range(1, meta.version + 1)]
        blobs = await SessionRecords(self.store).vault_records(wanted)
        for (session_id, seq), blob in zip(wanted, blobs, strict=True):
            if blob is not None:
                self._index_vault(session_id, seq, blob)

    def _index_vault(self, session_id: str, seq: int, blob: bytes) -> None:
        cipher = self.ciphers[session_id][0]
        self.report.records_checked += 1
        try:
            record = open_record(
                cipher, blob, session_id, records.KIND_VAULT, seq, records.VaultRecord
            )
        except IntegrityError:
            key = keys.session_keys(session_id).vault(seq)
            self._suspect(_Suspect(session_id, key, f"seq {seq}", blob))
            return
        for placeholder, value in record.values.items():
            fingerprint = self.prints.value(value)
            if fingerprint is not None:
                self.pii.setdefault(fingerprint, {}).setdefault(session_id, placeholder)

    async def check_records(self, ids: list[str]) -> None:
        """Read each session's context and log; look for other sessions' PII in them."""
        ids = [i for i in ids if i in self.ciphers]
        replies = await SessionRecords(self.store).contexts_and_first_pages(ids, PAGE)
        for session_id, (ctx, page) in zip(ids, replies, strict=True):
            cipher, version = self.ciphers[session_id]
            if ctx is not None:
                self._check_record(session_id, cipher, ctx, records.KIND_CONTEXT, version, "ctx")
            await self._check_log(session_id, cipher, page)

    async def _check_log(self, session_id: str, cipher: RecordCipher, page: list[bytes]) -> None:
        start = 0
        while page:
            for index, blob in enumerate(page, start):
                self._check_record(
                    session_id, cipher, blob, records.KIND_LOG, index + 1, f"log[{index}]"
                )
            if len(page) < PAGE:
                return
            start += PAGE  # a long log: page through it rather than load it whole
            page = await SessionRecords(self.store).log_page(session_id, start, PAGE)

    def _check_record(
        self,
        session_id: str,
        cipher: RecordCipher,
        blob: bytes,
        kind: str,
        version: int,
        where: str,
    ) -> None:
        own = keys.session_keys(session_id)
        key, field = (own.ctx, f"v{version}") if kind == records.KIND_CONTEXT else (own.log, where)
        self.report.records_checked += 1
        record: object
        if kind == records.KIND_LOG:
            # An entry bound to a nearby seq is this session's own (a gap that verify
            # reports), not a leak: only one that no seq of ours opens is suspect.
            found = open_log_entry(cipher, blob, session_id, version, TurnRecord)
            if found is None:
                self._suspect(_Suspect(session_id, key, field, blob))
                return
            record = found[1]
        else:
            opened = _open_context(cipher, blob, session_id, version, Context)
            if opened is None:
                self._suspect(_Suspect(session_id, key, field, blob))
                return
            record = opened
        seen: set[bytes] = set()
        # bytes (the log's prev hash) stay bytes: only text can carry a PII value.
        for text in strings_in(msgspec.to_builtins(record, builtin_types=(bytes,))):
            for fingerprint in self.prints.candidates(text):
                owners = self.pii.get(fingerprint)
                # A value this session captured itself is its own (the same customer can
                # give the same IBAN in two sessions): only a value it never had is a leak.
                if owners is None or session_id in owners or fingerprint in seen:
                    continue
                seen.add(fingerprint)
                owner = next(iter(owners.items()))
                self.add(
                    key,
                    field,
                    "pii-of-another-session",
                    f"holds the value of "
                    f"{owner[1]} from session {owner[0]}'s vault ({shown(fingerprint)})",
                    session_id,
                )

    def _suspect(self, suspect: _Suspect) -> None:
        if len(self.suspects) < MAX_SUSPECTS:
            self.suspects.append(suspect)
            return
        self.add(
            suspect.key,
            suspect.field,
            "unreadable-record",
            "does not authenticate under "
            "its own binding (origin not searched: too many unreadable records)",
            suspect.session_id,
        )

    def trace_suspects(self) -> None:
        """Report each unreadable record, naming the session it authenticates under if any."""
        for suspect in self.suspects:
            origin = self._origin(suspect)
            if origin is None:
                self.add(
                    suspect.key,
                    suspect.field,
                    "unreadable-record",
                    "does not "
                    "authenticate under its own or any scanned session's binding "
                    "(altered or corrupt: run `agentgpt session verify`)",
                    suspect.session_id,
                )
            else:
                self.add(
                    suspect.key,
                    suspect.field,
                    "foreign-record",
                    "authenticates only "
                    f"under another session's binding: {origin} (copied across "
                    "sessions)",
                    suspect.session_id,
                )

    def _origin(self, suspect: _Suspect) -> str | None:
        tries = 0
        for other, (cipher, version) in self.ciphers.items():
            if other == suspect.session_id:
                continue
            for kind in (records.KIND_CONTEXT, records.KIND_LOG, records.KIND_VAULT):
                # Most recent versions first: a copied record is most often a recent one.
                for seq in range(version, 0, -1):
                    tries += 1
                    if tries > MAX_ORIGIN_TRIES:
                        return None
                    try:
                        cipher.decrypt(suspect.blob, records.associated_data(other, kind, seq))
                    except IntegrityError:
                        continue
                    return f"session {other}, {kind} v{seq}"
        return None

    async def check_pool(self, pool: AgentPool[Any], probe: bool) -> None:
        """Report idle agents of ``pool`` that hold state (after a canary call if ``probe``)."""
        if probe:
            await pool.probe(CANARY)
        self.report.agents_checked += pool.idle
        name = getattr(pool.agent_class, "__name__", type(pool.agent_class).__name__)
        for agent in pool.holding_state():
            marker = hashlib.sha256(repr(id(agent)).encode()).hexdigest()[:8]
            self.add(
                f"pool:{name}",
                f"agent {marker}",
                "agent-holds-state",
                "an idle agent "
                "still holds per-call data after check-in: its reset() does not clear "
                "it, so one session's data can reach the next",
                "",
            )


def _open_context(
    cipher: RecordCipher, blob: bytes, session_id: str, version: int, type_: type[object]
) -> object:
    """Open a context at ``version`` or a few later ones (a turn committed during the scan)."""
    for seq in range(version, version + SEQ_SEARCH):
        try:
            return open_record(cipher, blob, session_id, records.KIND_CONTEXT, seq, type_)
        except IntegrityError:
            continue
    return None
