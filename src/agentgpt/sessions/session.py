"""Session: one customer conversation, its context and its bound agents."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from agentgpt.agents.context import DEFAULT_WINDOW, Context, Exchange
from agentgpt.agents.pool import AgentPool, pool_of
from agentgpt.agents.response import Response
from agentgpt.errors import InvalidInput, SessionNotFound
from agentgpt.runtime import RUNTIMES, parse_cpu
from agentgpt.security.ratchet.policy import POLICY_FIELD, PROTOCOL, rotation_seconds
from agentgpt.security.sealer import RecordSealer
from agentgpt.security.session_keys import RecordCipher, SessionKeyManager
from agentgpt.sessions.records import TurnRecord
from agentgpt.sessions.redaction import TurnRedactor, merged
from agentgpt.store import records
from agentgpt.store.context_store import RedisContextStore, TurnWrite
from agentgpt.store.keys import SESSION_RESOURCE_PREFIX, validate_session_id
from agentgpt.store.lock import held_fence


class BoundAgent:
    """A session's binding to an agent pool: each call checks an agent out and back in."""

    def __init__(self, pool: AgentPool[Any], capabilities: Sequence[str]) -> None:
        """Bind ``pool`` with the capabilities this session asked for."""
        self.pool = pool
        self.capabilities = tuple(capabilities)

    async def process(self, input: str, context: Context) -> Response:
        """Run one agent call with an agent checked out for its duration only."""
        async with self.pool.checkout(self.capabilities) as agent:
            response: Response = await agent.process(input=input, context=context)
            return response


class Session:
    """A customer conversation: id, owner, context window and bound agents.

    ``Session(id=..., context_store=RedisContextStore())`` describes a session; the
    ``SessionManager`` persists it (``create_session``) and loads it (``load_session``).
    """

    def __init__(
        self,
        id: str,
        context_store: RedisContextStore | None = None,
        encryption: SessionKeyManager | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        """Describe a session; nothing is written until a manager registers it."""
        self.id = validate_session_id(id)
        self.store = context_store if context_store is not None else RedisContextStore()
        self.encryption = encryption
        self.owner = owner
        #: The owner as stored: ``h1:<keyed hash>`` (``agentgpt.security.owners``).
        self.owner_hash = ""
        self.context = Context()
        self.version = 0
        self.head = b""
        self.capabilities: list[str] = []
        self.agents: list[BoundAgent] = []
        self.persisted = False
        self.closed = False
        self.created = time.time()
        #: Where the session's limits come from (issue 18); set at registration if empty.
        self.region = ""
        #: The isolated runtime running its turns ("" = the service's own process).
        self.runtime = ""
        self.cpu_guarantee: float | None = None
        self._sealer: RecordSealer | None = None
        #: The manager's redaction step, for turns committed outside its pipeline.
        self.redactor: TurnRedactor | None = None

    def __repr__(self) -> str:
        """Show the id and version, never the content."""
        return f"Session(id={self.id!r}, version={self.version})"

    @property
    def lock_resource(self) -> str:
        """The ``DistributedLock`` resource name of this session's turns."""
        return SESSION_RESOURCE_PREFIX + self.id

    def attach_agent(self, agent: object, capabilities: Sequence[str] = ()) -> BoundAgent:
        """Bind the pool ``agent`` was checked out of; the agent itself goes back at once.

        A session never holds an agent: 10,000 sessions share the pool's agents, each
        call checking one out (DESIGN: the turn path, step 4).
        """
        pool = agent if isinstance(agent, AgentPool) else pool_of(agent)
        if pool is None:
            raise InvalidInput("attach_agent takes an agent checked out of an AgentPool")
        if not isinstance(agent, AgentPool):
            pool.release(agent)
        bound = BoundAgent(pool, capabilities)
        self.agents.append(bound)
        for capability in capabilities:
            if capability not in self.capabilities:
                self.capabilities.append(capability)
        return bound

    @property
    def metadata(self) -> dict[str, object]:
        """What the service knows about the session, never its content."""
        return {
            "id": self.id,
            "created": self.created,
            "version": self.version,
            "closed": self.closed,
            "capabilities": list(self.capabilities),
            "region": self.region,
            "runtime": self.runtime or None,
            "cpu_guarantee": self.cpu_guarantee,
        }

    @property
    def runtime_field(self) -> str:
        """The stored form of the runtime choice: ``sandbox`` or ``sandbox:0.5``."""
        if not self.runtime or self.cpu_guarantee is None:
            return self.runtime
        return f"{self.runtime}:{self.cpu_guarantee:g}"

    def enable_isolated_runtime(
        self, runtime: str = "sandbox", cpu_guarantee: float | None = None
    ) -> _RuntimeChange:
        """Run this session's turns in an isolated worker of ``runtime`` from now on.

        ``cpu_guarantee``: the session's CPU weight when the machine is busy, in CPUs (a
        proportional share, capped by its region's ``--max-cpu``). Before the session is
        registered (inside ``create_session``) the call is enough; on a stored session,
        ``await`` it to store the change.
        """
        if runtime not in RUNTIMES:
            raise InvalidInput(f"unknown runtime {runtime!r}; use one of: {', '.join(RUNTIMES)}")
        before = self.runtime_field
        self.runtime = runtime
        self.cpu_guarantee = (
            None if cpu_guarantee is None else parse_cpu(cpu_guarantee, "cpu_guarantee")
        )
        return _RuntimeChange(self, before)

    # --- records -----------------------------------------------------------------------

    def use_cipher(self, cipher: RecordCipher) -> None:
        """Set the cipher of the session's data key (done by the manager)."""
        self._sealer = RecordSealer(cipher, self.id)

    def seal(self, obj: object, kind: str, version: int, *, compress: bool = True) -> bytes:
        """Encode, compress and encrypt a record bound to this session, kind and version."""
        assert self._sealer is not None, "session has no data key; load it through a manager"
        return self._sealer.seal(obj, kind, version, compress=compress)

    def open(self, blob: bytes, kind: str, version: int, type_: type[Any]) -> Any:
        """Decrypt and decode a record sealed by ``seal`` (``IntegrityError`` if tampered)."""
        assert self._sealer is not None, "session has no data key; load it through a manager"
        return self._sealer.open(blob, kind, version, type_)

    # --- end-to-end encryption (issue 17) ------------------------------------------------

    async def apply_encryption(
        self, protocol: str = PROTOCOL, key_rotation: str | timedelta | None = "daily"
    ) -> None:
        """Require end-to-end encryption of this session's messages (the guide's section 5).

        From now on plain messages are refused (400 ``e2e-required``); the customer's client
        runs the X3DH handshake against the deployment's prekey bundle and sends Double
        Ratchet messages, whose DH ratchet key is replaced at least once per ``key_rotation``.
        """
        rotation = rotation_seconds(protocol, key_rotation)
        if not self.persisted:
            raise InvalidInput("create the session through a SessionManager first")
        await self.store.set_fields(self.id, {POLICY_FIELD: repr(rotation)})

    # --- the commit of one turn --------------------------------------------------------

    def prepare_turn(
        self,
        user_input: str,
        response: Response,
        *,
        fence: int | None,
        window: int = DEFAULT_WINDOW,
        latency_ms: float = 0.0,
        release_value: str | None = None,
    ) -> tuple[TurnWrite, Context]:
        """Build the sealed records of one turn; return the write and the new context."""
        seq = self.version + 1
        now = time.time()
        text = response.redacted_input if response.redacted_input is not None else user_input
        exchange = Exchange(
            seq=seq,
            ts=now,
            user=text,
            reply=response.reply,
            intent=response.intent,
            topic=response.topic,
            sentiment=response.sentiment.score,
        )
        context = self.context.appended(exchange, window=window)
        context.slots.update(response.slots)
        entry = TurnRecord(
            seq=seq,
            ts=now,
            user=text,
            reply=response.reply,
            intent=response.intent,
            topic=response.topic,
            confidence=response.confidence,
            sentiment=response.sentiment,
            entities=response.entities,
            actions=response.actions,
            fence=fence,
            latency_ms=latency_ms,
            prev=self.head,
        )
        sealed_entry = self.seal(entry, records.KIND_LOG, seq)
        vault = None
        if response.sensitive:
            record = records.VaultRecord(seq=seq, ts=now, values=response.sensitive)
            vault = self.seal(record, records.KIND_VAULT, seq)
        write = TurnWrite(
            session_id=self.id,
            fence=fence,
            expected_version=self.version,
            ctx=self.seal(context, records.KIND_CONTEXT, seq),
            log_entry=sealed_entry,
            head=hashlib.sha256(sealed_entry).digest(),
            vault=vault,
            release_value=release_value,
            owner_hash=self.owner_hash,
        )
        return write, context

    def applied(self, write: TurnWrite, context: Context) -> None:
        """Adopt a committed turn as the session's state."""
        self.version = write.expected_version + 1
        self.head = write.head
        self.context = context

    async def commit(self, user_input: str, response: Response) -> int:
        """Commit a turn processed outside ``SessionManager.handle`` (the guide's form).

        Uses the fencing token of the ``DistributedLock`` the caller holds on this session;
        without one, the commit is a compare-and-set on the version. The text kept is
        redacted here as in the pipeline: raw values go to the vault only.
        """
        if self.redactor is not None:
            kept = response.redacted_input if response.redacted_input is not None else user_input
            redaction = await self.redactor.redact(kept, self.capabilities)
            response.redacted_input = None
            user_input = merged(response, redaction).redacted_input or ""
        write, context = self.prepare_turn(
            user_input, response, fence=held_fence(self.lock_resource)
        )
        await self.store.commit(write)
        self.applied(write, context)
        return self.version


class _RuntimeChange:
    """Awaitable result of ``enable_isolated_runtime``: stores the change of a stored session."""

    def __init__(self, session: Session, before: str) -> None:
        self.session = session
        self.before = before

    def __await__(self):  # type: ignore[no-untyped-def]
        """Write the new runtime to the session's metadata (no-op before registration)."""
        return self._store().__await__()

    async def _store(self) -> None:
        session = self.session
        if not session.persisted:
            return
        if not await session.store.swap_meta_field(
            session.id, "rt", self.before, session.runtime_field
        ):
            raise SessionNotFound(
                f"session {session.id} changed or no longer exists; load it and retry"
            )
