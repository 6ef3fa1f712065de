"""SessionManager: creates, loads, runs, closes and erases sessions.

``handle(session_id, text)`` is the turn path of DESIGN.md as a short sequence of named
steps: validate, lock-and-load (one round trip), process with a pooled agent, commit-and-
release (one round trip), fire hooks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from datetime import timedelta
from typing import Any

import msgspec

from agentgpt.agents.context import Context
from agentgpt.agents.faq_agent import FAQAgent
from agentgpt.agents.nlp_agent import NLPAgent
from agentgpt.agents.pool import AgentPool
from agentgpt.agents.response import Action, Response
from agentgpt.agents.turn_pii import turn_values
from agentgpt.analytics.alerts import Alert
from agentgpt.analytics.events import TurnEvent
from agentgpt.analytics.snapshot import Analytics
from agentgpt.config.defaults import default_settings
from agentgpt.config.settings import AnalyticsSettings, SessionSettings
from agentgpt.errors import (
    AgentError,
    AgentGPTError,
    IntegrityError,
    InvalidInput,
    SessionClosed,
    SessionLimitExceeded,
    SessionNotFound,
    UnknownProtocol,
)
from agentgpt.nlu.pii import PIIRedactor
from agentgpt.observability import tracing
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.security.owners import OwnerHasher, normalise_user
from agentgpt.security.ratchet import PROTOCOL, Handshake
from agentgpt.security.ratchet.prekeys import Prekeys
from agentgpt.security.session_keys import SessionKeyManager
from agentgpt.sessions import end_to_end
from agentgpt.sessions.class_hooks import class_hooks, class_or_instance_hook
from agentgpt.sessions.hooks import Event, Hook, HookEvent, HookRegistry
from agentgpt.sessions.idempotency import key_digest, replayed
from agentgpt.sessions.ids import generate_session_id
from agentgpt.sessions.isolation import IsolatedTurns
from agentgpt.sessions.key_managers import default_key_manager
from agentgpt.sessions.records import TurnRecord
from agentgpt.sessions.redaction import TurnRedactor, merged
from agentgpt.sessions.session import BoundAgent, Session
from agentgpt.sessions.sweeper import Sweeper
from agentgpt.sessions.turn import TurnLock
from agentgpt.sessions.validation import validate_message
from agentgpt.store import keys, records
from agentgpt.store.buckets import Bucket
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.keys import validate_session_id
from agentgpt.store.records import flag_active

DEFAULT_CAPABILITIES = ("intent_detection", "sentiment_analysis")
#: Attributes where the guide's subclasses keep their pool.
GUIDE_POOL_NAMES = ("agents", "nlp_agents")
# Span names of the turn path (tracing is optional: see agentgpt.observability).
TURN_SPAN = "agentgpt.turn"
LOCK_LOAD_SPAN = "agentgpt.turn.lock_load"
PROCESS_SPAN = "agentgpt.turn.process"
COMMIT_SPAN = "agentgpt.turn.commit"


class SessionManager:
    """Runs many isolated sessions on one store with a shared pool of agents.

    The pool is ``agent_pool=``, or the guide's ``self.agents`` / ``self.nlp_agents``, else
    a pool of ``NLPAgent`` (``sessions.agent: faq`` picks the rule-based ``FAQAgent``). A
    subclass may override ``create_session``: the session it returns is registered
    (admission, owner, data key, ``created`` hook) when it comes back.
    """

    def __init__(
        self,
        max_concurrent_sessions: int | None = None,
        session_ttl: float | timedelta | None = None,
        *,
        store: RedisContextStore | None = None,
        encryption: SessionKeyManager | None = None,
        idle_timeout: float | timedelta | None = None,
        sensitive_ttl: float | timedelta | None = None,
        settings: SessionSettings | None = None,
        sweep_interval: float = 1.0,
        analytics: Analytics | None = None,
        analytics_settings: AnalyticsSettings | None = None,
        redactor: PIIRedactor | None = None,
        agent_pool: AgentPool[Any] | None = None,
    ) -> None:
        """Configure the manager; arguments override the loaded configuration."""
        if settings is None or redactor is None:
            loaded = default_settings()
            settings = settings or loaded.sessions
            analytics_settings = analytics_settings or loaded.analytics
            redactor = redactor or PIIRedactor(loaded.nlu.phone_region)
        analytics_settings = analytics_settings or AnalyticsSettings()
        self.settings = settings
        self.max_concurrent_sessions = (
            max_concurrent_sessions or self.settings.max_concurrent_sessions
        )
        self.idle_timeout = _seconds(idle_timeout) or self.settings.idle_timeout.total_seconds()
        self.max_sessions_per_user = self.settings.max_sessions_per_user
        self._owners: OwnerHasher | None = None
        base = store if store is not None else RedisContextStore()
        self.store = base.with_retention(_delta(session_ttl), _delta(sensitive_ttl))
        self.encryption = encryption
        self.hooks = HookRegistry()
        self.redactor = TurnRedactor(redactor)
        self.sweeper = Sweeper(
            self.store, self.hooks.fire, idle_timeout=self.idle_timeout, interval=sweep_interval
        )
        self._pool = agent_pool
        self._default_pool: AgentPool[Any] | None = None
        self._prekeys: Prekeys | None = None
        # --- analytics (issue 5) ---
        self.analytics = analytics or Analytics(
            self.store,
            analytics_settings,
            idle_timeout=self.idle_timeout,
        )
        if self.analytics.on_alert is None:
            self.analytics.on_alert = self._alert_hook
        # --- isolated runtimes (issue 18) ---
        self.isolation = IsolatedTurns(
            self.settings, self.store, lambda: self.agent_pool.agent_class
        )
        for event, callback in class_hooks(type(self)):
            self.register_hook(event, callback)

        override = type(self).create_session
        if override is not SessionManager.create_session:
            # The guide's subclass returns a Session it built: register it when it comes
            # back (admission, owner, data key, ``created`` hook) on this instance.
            self.create_session = functools.partial(  # type: ignore[method-assign]
                self._create_and_register, functools.partial(override, self)
            )

    # --- configuration ------------------------------------------------------------------

    @property
    def agent_pool(self) -> AgentPool[Any]:
        """The pool serving this manager's sessions.

        The one given as ``agent_pool=``, else the pool the guide's subclass sets as
        ``self.agents`` or ``self.nlp_agents``, else a pool of the configured agent.
        """
        if self._pool is not None:
            return self._pool
        for name in GUIDE_POOL_NAMES:
            value = getattr(self, name, None)
            if isinstance(value, AgentPool):
                return value
        if self._default_pool is None:
            agent_class: type[Any] = NLPAgent if self.settings.agent == "nlp" else FAQAgent
            self._default_pool = AgentPool(agent_class, min_ready=4, max_connections=64)
        return self._default_pool

    @property
    def key_manager(self) -> SessionKeyManager:
        """The key manager encrypting session records."""
        if self.encryption is None:
            self.encryption = default_key_manager(self.settings)
        return self.encryption

    @property
    def owners(self) -> OwnerHasher:
        """The keyed hash that stores session owners (the data directory's owner key)."""
        if self._owners is None:
            self._owners = OwnerHasher()
        return self._owners

    def owns(self, session: Session, user: str) -> bool:
        """True when ``user`` owns ``session`` (constant-time, NFC, keyed hash or legacy id)."""
        return self.owners.matches(session.owner_hash or session.owner or "", user)

    @class_or_instance_hook
    def register_hook(self, event: str, callback: Hook) -> None:
        """Call ``callback(Event)`` on ``event`` (created, turn, ...); on the class: for all."""
        self.hooks.register(event, callback)
        if event in {HookEvent.TIMEOUT, HookEvent.EXPIRED}:
            self._start_sweeper()

    def _start_sweeper(self) -> None:
        # Without a running loop there is nothing to start yet: any async entry point
        # (create_session, __aenter__) calls this again.
        with contextlib.suppress(RuntimeError):
            self.sweeper.start()

    async def aclose(self) -> None:
        """Stop background work: sweeper, analytics flush (connections stay open)."""
        await self.sweeper.stop()
        await self.isolation.aclose()
        if self._prekeys is not None:
            await self._prekeys.stop()
        await self.analytics.aclose()

    async def __aenter__(self) -> SessionManager:
        """Start background work: the sweeper when hooks need it, the analytics flusher.

        The key re-wrap is an operation over the whole store: the service starts it
        (``agentgpt.operations.rewrap.start_background_rewrap``), not each manager.
        """
        if self.hooks.wants(HookEvent.TIMEOUT) or self.hooks.wants(HookEvent.EXPIRED):
            self.sweeper.start()
        self.analytics.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop background work."""
        await self.aclose()

    # --- lifecycle ----------------------------------------------------------------------

    async def create_session(
        self,
        user_id: str,
        *,
        region: str | None = None,
        runtime: str | None = None,
        cpu_guarantee: float | None = None,
    ) -> Session:
        """Create and persist a session owned by ``user_id`` (``SessionLimitExceeded``).

        ``region`` (default: ``sessions.region``) chooses the resource limits of its
        isolated runtime; ``runtime`` (``sandbox``, ``firecracker``; default:
        ``sessions.runtime.default``) runs its turns in an isolated worker.
        """
        session = Session(id=generate_session_id(user_id), context_store=self.store)
        session.attach_agent(self.agent_pool, DEFAULT_CAPABILITIES)
        session.region = region or ""
        if runtime:
            session.enable_isolated_runtime(runtime, cpu_guarantee)
        await self._register(session, user_id)
        return session

    async def _create_and_register(
        self, create: Any, user_id: str, *args: Any, **kwargs: Any
    ) -> Session:
        session: Session = await create(user_id, *args, **kwargs)
        if not session.persisted:
            await self._register(session, user_id)
        return session

    async def _register(self, session: Session, user_id: str) -> None:
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
            raise InvalidInput("user_id must be a non-empty string of at most 256 characters")
        user_id = normalise_user(user_id)
        owner_hash = self.owners.digest(user_id)
        session.region = self.isolation.region(session.region)
        if not session.runtime:
            session.runtime = self.isolation.default_runtime()
        await self._admit(session.id, owner_hash)
        try:
            await self._persist(session, user_id, owner_hash)
        except BaseException:
            await self.store.release_admission(session.id, owner_hash)
            raise
        session.persisted = True
        if self.hooks.wants(HookEvent.TIMEOUT) or self.hooks.wants(HookEvent.EXPIRED):
            self._start_sweeper()
        await self._fire(HookEvent.CREATED, session.id)

    async def _persist(self, session: Session, user_id: str, owner_hash: str) -> None:
        # The guide's form: Session(..., encryption=SessionEncryptor(...)) chooses its own.
        key_manager = session.encryption if session.encryption is not None else self.key_manager
        wrapped, cipher = await key_manager.new_session_key(session.id)
        session.store = self.store
        session.redactor = self.redactor
        session.owner, session.owner_hash = user_id, owner_hash
        session.use_cipher(cipher)
        if not session.agents:
            session.attach_agent(self.agent_pool, DEFAULT_CAPABILITIES)
        fields: dict[str, bytes | str | int] = {
            "oh": owner_hash,  # never the user id in clear
            "created": int(session.created * 1000),
            "caps": ",".join(session.capabilities),
            "dk": wrapped,
            "version": 0,
            "region": session.region,
            "rt": session.runtime_field,
        }
        if not await self.store.create(session.id, fields):
            raise InvalidInput(f"session id {session.id} is already in use")

    async def _admit(self, session_id: str, owner_hash: str) -> None:
        # Check and take in one script: count-then-create let 60 racing creates past 20.
        status, count = await self.store.admit(
            session_id,
            owner_hash,
            int(self.idle_timeout * 1000),
            self.max_concurrent_sessions,
            self.max_sessions_per_user,
        )
        if status == 0:
            raise SessionLimitExceeded(
                f"{count} sessions are active (limit {self.max_concurrent_sessions}); "
                "retry when sessions time out, or raise max_concurrent_sessions"
            )
        if status < 0:
            raise SessionLimitExceeded(
                f"this user already has {count} live sessions (limit "
                f"{self.max_sessions_per_user}); end one, or raise max_sessions_per_user"
            )

    async def count_active(self) -> int:
        """Sessions with activity within the idle timeout, across all processes."""
        since = int((time.time() - self.idle_timeout) * 1000)
        return await self.store.count_active(since)

    async def load_session(self, session_id: str, *, owner: str | None = None) -> Session:
        """Load a session's metadata and context (decrypted); ``SessionNotFound``.

        ``owner``: the caller's user; a session of someone else is reported missing (None:
        an operator, or the library's own caller).
        """
        raw, ctx = await self.store.load(session_id)
        self._check_owner(session_id, raw, owner)
        session = await self._materialise(session_id, raw, ctx)
        if owner is not None:
            session.owner = owner  # the stored owner is a keyed hash; this is who it names
        return session

    def _check_owner(self, session_id: str, raw: dict[bytes, bytes], owner: str | None) -> None:
        # The one ownership check of every entry point, made on the data it loaded.
        if owner is None:
            return
        meta = records.SessionMeta.from_hash(raw)
        if not self.owners.matches(meta.owner_hash or meta.owner, owner):
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")

    async def _materialise(
        self, session_id: str, raw: dict[bytes, bytes], ctx: bytes | None
    ) -> Session:
        meta = records.SessionMeta.from_hash(raw)
        session = Session(id=session_id, context_store=self.store, owner=meta.owner or None)
        session.owner_hash = meta.owner_hash
        session.redactor = self.redactor
        session.use_cipher(await self.key_manager.open_session_key(session_id, meta.wrapped_key))
        session.version, session.head, session.closed = meta.version, meta.head, meta.closed
        session.created, session.persisted = meta.created, True
        session.capabilities = list(meta.capabilities)
        session.agents = [BoundAgent(self.agent_pool, meta.capabilities)]
        session.region = meta.region or self.settings.region
        session.runtime, session.cpu_guarantee = meta.runtime, meta.cpu_guarantee
        if meta.version:
            if ctx is None:
                raise IntegrityError(f"session {session_id}: context missing at v{meta.version}")
            session.context = session.open(ctx, records.KIND_CONTEXT, meta.version, Context)
        return session

    async def turns(
        self, session_id: str, offset: int = 0, limit: int = 50, *, owner: str | None = None
    ) -> list[TurnRecord]:
        """Page through the session's turn log (decrypted, PII already redacted)."""
        return (await self.turns_page(session_id, offset, limit, owner=owner))[1]

    async def turns_page(
        self, session_id: str, offset: int = 0, limit: int = 50, *, owner: str | None = None
    ) -> tuple[Session, list[TurnRecord]]:
        """The session (loaded once, ownership checked) and a page of its turn log."""
        if offset < 0 or not 1 <= limit <= 500:
            raise InvalidInput("offset must be >= 0 and limit between 1 and 500")
        session = await self.load_session(session_id, owner=owner)
        blobs = await self.store.read_log(session_id, offset, offset + limit - 1)
        entries = [
            session.open(blob, records.KIND_LOG, offset + i + 1, TurnRecord)
            for i, blob in enumerate(blobs)
        ]
        return session, entries

    async def close(self, session_id: str, *, owner: str | None = None) -> None:
        """Close a session: no more turns; its data stays for its retention period."""
        await self.require_owner(session_id, owner)
        await self.store.close_session(session_id)
        await self.isolation.release(session_id)
        await self._fire(HookEvent.CLOSED, session_id)

    async def require_owner(self, session_id: str, owner: str | None) -> None:
        """Raise ``SessionNotFound`` unless ``owner`` (None: any) owns the live session."""
        if owner is None:
            return
        meta = await self.store.meta(session_id)
        if not meta:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        self._check_owner(session_id, meta, owner)

    async def erase(self, session_id: str, *, owner: str | None = None) -> int:
        """Erase a session now (crypto-shredding); return the number of keys deleted.

        The unwrapped data keys leave this process's cache, then one script deletes the
        metadata holding the wrapped keys before every other key of the session. Copies of
        the wrapped keys in AOF files and backups are put beyond use when the KEK versions
        that wrapped them are retired (``agentgpt security rotate-keys --retire-before``).
        """
        meta = await self.store.meta(session_id)
        if not meta:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        self._check_owner(session_id, meta, owner)
        self.key_manager.forget(session_id)
        deleted = await self.store.erase(session_id)
        self.key_manager.forget(session_id)  # a turn racing the erase may have cached it again
        await self.isolation.release(session_id)  # its worker's tmp goes with it
        await self._fire(HookEvent.ERASED, session_id)
        return deleted

    async def erase_user(self, user_id: str) -> list[str]:
        """Erase every session of ``user_id`` (GDPR Art. 17); return the erased ids."""
        erased = []
        for session_id in await self.user_sessions(user_id):
            try:
                await self.erase(session_id)
            except SessionNotFound:
                continue
            erased.append(session_id)
        return erased

    async def user_sessions(self, user_id: str) -> list[str]:
        """The ids of ``user_id``'s sessions that still exist (hashed and legacy index)."""
        user_id = normalise_user(user_id)
        return await self.store.user_sessions(
            keys.owner_index_key(self.owners.digest(user_id)), keys.user_key(user_id)
        )

    # --- the turn path ------------------------------------------------------------------

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

    # --- end-to-end encryption (issue 17) ------------------------------------------------

    @property
    def _e2e_required(self) -> bool:
        return self.settings.end_to_end == "required"

    @property
    def prekeys(self) -> Prekeys:
        """The deployment's prekey bundle (``EndToEndRequired`` when end-to-end is off)."""
        if self._prekeys is None:
            key_manager = self.key_manager
            if self.settings.end_to_end == "off" or not isinstance(key_manager, SessionEncryptor):
                raise UnknownProtocol(
                    "end-to-end encryption is off here (sessions.end_to_end: off, or "
                    "sessions.encryption: none, which leaves no key provider for its keys)"
                )
            self._prekeys = Prekeys(
                self.store,
                key_manager.provider,
                self.settings.prekey_rotation.total_seconds(),
                stock=self.settings.one_time_prekeys,
            )
        return self._prekeys

    async def establish_e2e(
        self,
        session_id: str,
        handshake: Handshake,
        *,
        protocol: str = PROTOCOL,
        key_rotation: str | timedelta | None = None,
        owner: str | None = None,
    ) -> float:
        """Answer a client's X3DH handshake under the turn lock; return the rotation period."""
        rotation = end_to_end.rotation_seconds(protocol, key_rotation)
        validate_session_id(session_id)
        lock = self._turn_lock(session_id, None)
        try:
            session = await self.begin_turn(lock, owner)
            fields = await end_to_end.respond_to_handshake(
                session, lock.meta, self.prekeys, handshake, rotation
            )
            await self.store.set_fields(session_id, fields, fence=lock.fence)
        finally:
            await lock.release()
        return rotation

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

    async def record_auth(
        self, session_id: str, success: bool, method: str, *, owner: str | None = None
    ) -> int:
        """Record an authentication attempt; return the session's recent failures.

        Three failures within ten minutes (configurable) flag the session
        (``analytics.is_flagged``) and raise a critical ``alert``.
        """
        validate_session_id(session_id)
        await self.require_owner(session_id, owner)
        return await self.analytics.record_auth(session_id, success, method)

    async def _alert_hook(self, alert: Alert) -> None:
        subject = alert.subject if alert.rule == "auth_failures" else ""
        await self._fire(HookEvent.ALERT, subject, **msgspec.to_builtins(alert))

    async def _fire(self, event: HookEvent, session_id: str, **data: Any) -> None:
        if self.hooks.wants(event):
            await self.hooks.fire(Event(event, session_id, data=data))


def _delta(value: float | timedelta | None) -> timedelta | None:
    if value is None:
        return None
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def _seconds(value: float | timedelta | None) -> float | None:
    delta = _delta(value)
    return delta.total_seconds() if delta is not None else None
