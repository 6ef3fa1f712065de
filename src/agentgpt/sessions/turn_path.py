"""The turn path of DESIGN.md: ``handle`` and its named steps.

validate, lock-and-load (one round trip), redact, process with a pooled agent (or the
session's isolated runtime), commit-and-release (one round trip), record analytics, fire
hooks.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from agentgpt.agents.response import Action, Response
from agentgpt.agents.turn_pii import turn_values
from agentgpt.analytics.events import TurnEvent
from agentgpt.errors import AgentError, AgentGPTError, SessionClosed
from agentgpt.observability import tracing
from agentgpt.sessions import end_to_end
from agentgpt.sessions.hooks import HookEvent
from agentgpt.sessions.idempotency import key_digest, replayed
from agentgpt.sessions.manager_base import ManagerBase
from agentgpt.sessions.records import TurnRecord
from agentgpt.sessions.redaction import merged
from agentgpt.sessions.session import Session
from agentgpt.sessions.turn import TurnLock
from agentgpt.sessions.validation import validate_message
from agentgpt.store import records
from agentgpt.store.buckets import Bucket
from agentgpt.store.keys import validate_session_id
from agentgpt.store.records import flag_active

# Span names of the turn path (tracing is optional: see agentgpt.observability).
TURN_SPAN = "agentgpt.turn"
LOCK_LOAD_SPAN = "agentgpt.turn.lock_load"
PROCESS_SPAN = "agentgpt.turn.process"
COMMIT_SPAN = "agentgpt.turn.commit"


class TurnPath(ManagerBase):
    """The manager's turn part: one customer message in order, under the session's lock."""

    async def handle(
        self,
        session_id: str,
        text: object | end_to_end.EncryptedMessage,
        *,
        owner: str | None = None,
        lock_wait: float | None = None,
        idempotency_key: str | None = None,
        rate_bucket: Bucket | None = None,
    ) -> Response:
        """Process one customer message in order under the session's lock and commit it.

        ``owner``: when given, the session must belong to that user (else it is reported
        missing, revealing nothing). ``lock_wait``: seconds to queue behind a running turn
        (default from settings; ``0`` rejects at once with ``LockTimeout`` when busy).
        ``text`` may be an ``EncryptedMessage`` (issue 17): it is decrypted under the lock
        and its answer encrypted into ``text.reply``, the ratchet committed with the turn.
        ``idempotency_key``: a retry with the key of a committed turn returns that turn's
        answer and stores nothing (within ``idempotency_ttl``); for an encrypted message
        the answer is encrypted again with the ratchet's next key (the retried ciphertext
        was consumed by the first attempt), and only the ratchet state is written.
        ``rate_bucket``: the caller's request bucket, spent in the lock's round trip
        (``RateLimited``).
        """
        started = time.perf_counter()
        try:
            validate_session_id(session_id)  # before the span: attributes must be valid ids
            sealed = text if isinstance(text, end_to_end.EncryptedMessage) else None
            if sealed is None:
                message = validate_message(text, self.settings.max_message_bytes)
            digest = key_digest(idempotency_key) if idempotency_key is not None else None
        except AgentGPTError:
            # A refused request still costs its caller a token, as it always did.
            retry = await self.store.spend(rate_bucket) if rate_bucket is not None else None
            if rate_bucket is not None and retry is not None:
                raise rate_bucket.refused(retry) from None
            raise
        with tracing.span(TURN_SPAN, {"session.id": session_id}) as span:
            lock = self._turn_lock(session_id, lock_wait, rate_bucket)
            committed = False
            try:
                with tracing.span(LOCK_LOAD_SPAN):
                    session = await self.begin_turn(lock, owner)
                    lock_wait_ms = (time.perf_counter() - started) * 1000
                    meta = lock.meta
                    if sealed is None:
                        end_to_end.require_plain_allowed(meta, self._e2e_required, session_id)
                    if digest is not None and (done := await self._replay(session, digest)):
                        if sealed is not None:
                            await self._replay_encrypted(session, meta or {}, sealed, done, lock)
                        return done  # the lock is released below; nothing new is stored
                    if sealed is not None:
                        ratchet, plain = end_to_end.decrypt_turn(session, meta or {}, sealed)
                        message = validate_message(plain, self.settings.max_message_bytes)
                with tracing.span(PROCESS_SPAN):
                    redaction = await self.redactor.redact(message, session.capabilities)
                    with turn_values(redaction.values):
                        response = await self._process(session, redaction.text)
                    merged(response, redaction)
                self._require_verification_if_flagged(lock, response)
                latency_ms = (time.perf_counter() - started) * 1000
                with tracing.span(COMMIT_SPAN):
                    state = None
                    if sealed is not None:
                        state = end_to_end.encrypt_reply(session, ratchet, sealed, response)
                    await self.commit_turn(lock, session, response, latency_ms, digest, state)
                committed = True
            finally:
                # release() is a no-op when acquire() failed (no fence yet).
                if committed:
                    lock.forget()
                else:
                    await lock.release()
            self._record_turn(response, latency_ms)
            await self._fire_turn(session, response, latency_ms, lock_wait_ms)
            if span is not None:
                # Ids and counters only: intent/topic come from pluggable agents and could
                # echo customer text.
                span.set_attribute("agentgpt.turn.seq", session.version)
        return response

    @property
    def _e2e_required(self) -> bool:
        return self.settings.end_to_end == "required"

    async def _replay_encrypted(
        self,
        session: Session,
        meta: dict[bytes, bytes],
        sealed: end_to_end.EncryptedMessage,
        done: Response,
        lock: TurnLock,
    ) -> None:
        # The first attempt's ciphertext answer was lost with its reply: encrypt the
        # replayed answer with the next key of the chain and keep the advanced state.
        ratchet = end_to_end.open_state(session, meta)
        fields = end_to_end.replay_reply(session, ratchet, sealed, done, done.seq)
        await self.store.set_fields(session.id, fields, fence=lock.fence)

    async def _replay(self, session: Session, digest: str) -> Response | None:
        seq = await self.store.idempotent_seq(session.id, digest)
        if seq is None or seq > session.version:
            return None
        ttl_ms = int(self.settings.idempotency_ttl.total_seconds() * 1000)
        await self.store.confirm_durable(session.id, digest, seq, ttl_ms)
        blobs = await self.store.read_log(session.id, seq - 1, seq - 1)
        return (
            replayed(session.open(blobs[0], records.KIND_LOG, seq, TurnRecord)) if blobs else None
        )

    def _turn_lock(
        self, session_id: str, lock_wait: float | None, bucket: Bucket | None = None
    ) -> TurnLock:
        wait = self.settings.lock_wait.total_seconds() if lock_wait is None else lock_wait
        lease = self.settings.lock_lease.total_seconds()
        return TurnLock(session_id, store=self.store, timeout=wait, lease=lease, bucket=bucket)

    async def begin_turn(self, lock: TurnLock, owner: str | None) -> Session:
        """Take the turn lock and load the session with it (one round trip); check owner."""
        await lock.acquire()
        self._check_owner(lock.session_id, lock.meta, owner)
        session = await self._materialise(lock.session_id, lock.meta, lock.ctx)
        if session.closed:
            raise SessionClosed(f"session {session.id} is closed; create a new session")
        return session

    async def commit_turn(
        self,
        lock: TurnLock,
        session: Session,
        response: Response,
        latency_ms: float,
        digest: str | None = None,
        e2e: Any = None,
    ) -> None:
        """Seal and commit the turn with the lock's fence, releasing it (one round trip).

        What is kept is the redacted text (``response.redacted_input``); raw values go to
        the vault only. ``digest``: the idempotency key's digest, stored with the turn;
        ``e2e``: the session's advanced ratchet state (an end-to-end encrypted turn).
        """
        text = response.redacted_input or ""
        write, context = session.prepare_turn(
            text,
            response,
            fence=lock.fence,
            window=self.settings.context_window,
            latency_ms=latency_ms,
            release_value=lock.value,
        )
        if digest is not None:
            ttl_ms = int(self.settings.idempotency_ttl.total_seconds() * 1000)
            write = dataclasses.replace(write, idempotency_digest=digest, idempotency_ttl_ms=ttl_ms)
        if e2e is not None:
            write = dataclasses.replace(write, e2e=e2e)
        await self.store.commit(write)
        session.applied(write, context)
        response.seq = session.version

    async def _process(self, session: Session, message: str) -> Response:
        try:
            if session.runtime:
                return await self.isolation.process(session, message)
            return await session.agents[0].process(input=message, context=session.context)
        except AgentError as exc:  # from an isolated worker: reported, that session only
            await self._fire(HookEvent.ERROR, session.id, error=exc.code, detail=str(exc))
            raise
        except AgentGPTError:
            raise
        except Exception as exc:
            await self._fire(HookEvent.ERROR, session.id, error=type(exc).__name__)
            raise AgentError(
                f"the agent failed on session {session.id} ({type(exc).__name__}); "
                "the turn was not recorded"
            ) from exc

    async def _fire_turn(
        self, session: Session, response: Response, latency_ms: float, lock_wait_ms: float
    ) -> None:
        if self.hooks.wants(HookEvent.TURN):
            await self._fire(
                HookEvent.TURN,
                session.id,
                seq=session.version,
                intent=response.intent,
                topic=response.topic,
                latency_ms=latency_ms,
                lock_wait_ms=lock_wait_ms,
                actions=[a.value for a in response.actions],
            )

    # --- analytics (issue 5) -------------------------------------------------------------

    def _require_verification_if_flagged(self, lock: TurnLock, response: Response) -> None:
        # The flag is a field of the meta loaded with the lock: no extra round trip.
        flagged = flag_active(lock.meta, self.analytics.clock())
        if flagged and Action.REQUIRE_VERIFICATION not in response.actions:
            response.actions.append(Action.REQUIRE_VERIFICATION)

    def _record_turn(self, response: Response, latency_ms: float) -> None:
        # In-memory only: a slow or dead analytics store never slows or fails the turn.
        self.analytics.record_turn(
            TurnEvent(
                time=self.analytics.clock(),
                region=self.analytics.settings.region,
                topic=response.topic,
                intent=response.intent,
                confidence=response.confidence,
                sentiment=response.sentiment.score,
                latency_ms=latency_ms,
                escalated=response.escalate,
            )
        )
