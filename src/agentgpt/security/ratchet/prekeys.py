"""The deployment's prekey bundle in the store: identity keys, signed and one-time prekeys.

Private keys are stored wrapped by the key provider's primary KEK (AES-256-GCM bound to
what the key is and its id), exactly like session data keys: a store dump alone opens
none of them. The signed prekey is published for one rotation period and accepted by
handshakes for one more (a client that fetched the bundle just before a rotation still
completes its handshake); one-time prekeys are handed out once (``LPOP``) and consumed
once (``HGET`` + ``HDEL`` in one transaction), and a background task keeps ``stock`` of
them ready.
"""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgpt.background_tasks import stop_task
from agentgpt.errors import IntegrityError, PrekeyExpired, StoreError
from agentgpt.security import aead
from agentgpt.security.key_providers.protocol import Kek, KeyProvider
from agentgpt.security.ratchet import primitives, x3dh
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.prekey_repository import PrekeyRepository

log = logging.getLogger("agentgpt.e2e")
_CURRENT = "current"


class Wrapped(msgspec.Struct, array_like=True, frozen=True):
    """Key material sealed by KEK version ``kek``."""

    kek: int
    blob: bytes


class SignedPrekeyRecord(msgspec.Struct, array_like=True, frozen=True):
    """A signed prekey as stored: public parts and the wrapped private key."""

    id: int
    public: bytes
    created: float
    expires: float
    signature: bytes
    private: Wrapped


class IdentityRecord(msgspec.Struct, array_like=True, frozen=True):
    """The deployment's identity: public keys and the wrapped private keys (dh | sign)."""

    dh_public: bytes
    sign_public: bytes
    private: Wrapped


class Identity(msgspec.Struct, frozen=True):
    """The unwrapped identity keys (kept in memory only)."""

    dh_private: bytes
    dh_public: bytes
    signer: bytes
    sign_public: bytes


_enc = msgspec.msgpack.Encoder().encode


class Prekeys:
    """Publishes the prekey bundle and hands the handshake its private keys."""

    def __init__(
        self,
        store: RedisContextStore,
        provider: KeyProvider,
        rotation: float,
        *,
        stock: int = 100,
    ) -> None:
        """Keep the bundle in ``store``, wrapped by ``provider``; rotate every ``rotation`` s."""
        self.store = store
        self._repo = PrekeyRepository(store)
        self.provider = provider
        self.rotation = rotation
        self.stock = stock
        self._identity: Identity | None = None
        self._task: asyncio.Task[None] | None = None

    # --- wrapping -------------------------------------------------------------------------

    async def _kek(self, kek_id: int | None = None) -> Kek:
        kek = self.provider.cached(kek_id)
        if kek is not None:
            return kek
        if kek_id is None:
            return await asyncio.to_thread(self.provider.primary)
        return await asyncio.to_thread(self.provider.kek, kek_id)

    async def _wrap(self, private: bytes, what: bytes) -> Wrapped:
        kek = await self._kek()
        return Wrapped(kek.id, aead.seal(kek.aead, private, b"ag-e2e|" + what))

    async def _unwrap(self, wrapped: Wrapped, what: bytes) -> bytes:
        kek = await self._kek(wrapped.kek)
        return aead.open_sealed(kek.aead, wrapped.blob, b"ag-e2e|" + what, "an end-to-end prekey")

    # --- identity and signed prekeys ------------------------------------------------------

    async def identity(self) -> Identity:
        """The deployment's identity keys (created once, by whichever process comes first)."""
        if self._identity is not None:
            return self._identity
        raw = await self._repo.identity()
        if raw is None:
            dh_private, dh_public = primitives.new_private()
            signer = Ed25519PrivateKey.generate()
            record = IdentityRecord(
                dh_public,
                signer.public_key().public_bytes_raw(),
                await self._wrap(dh_private + signer.private_bytes_raw(), b"identity"),
            )
            raw = await self._repo.add_identity(_enc(record))
        if raw is None:
            raise IntegrityError("the end-to-end identity key vanished from the store")
        record = msgspec.msgpack.decode(raw, type=IdentityRecord)
        private = await self._unwrap(record.private, b"identity")
        self._identity = Identity(private[:32], record.dh_public, private[32:], record.sign_public)
        return self._identity

    async def _new_signed_prekey(self, identity: Identity, now: float) -> SignedPrekeyRecord:
        prekey_id = await self._repo.next_prekey_ids()
        private, public = primitives.new_private()
        expires = now + 2 * self.rotation
        payload = x3dh.signed_payload(identity.dh_public, prekey_id, public, expires)
        signature = Ed25519PrivateKey.from_private_bytes(identity.signer).sign(payload)
        wrapped = await self._wrap(private, b"spk|%d" % prekey_id)
        record = SignedPrekeyRecord(prekey_id, public, now, expires, signature, wrapped)
        await self._repo.put_signed(prekey_id, _enc(record))
        return record

    async def signed_prekey(self, now: float | None = None) -> SignedPrekeyRecord:
        """The signed prekey to publish; a new one once the current is a period old."""
        now = time.time() if now is None else now
        identity = await self.identity()
        current = await self._repo.current_signed_id()
        record = await self._signed_record(current) if current is not None else None
        if record is None or now - record.created >= self.rotation:
            record = await self._new_signed_prekey(identity, now)
        return record

    async def _signed_record(self, prekey_id: int) -> SignedPrekeyRecord | None:
        raw = await self._repo.signed(prekey_id)
        return None if raw is None else msgspec.msgpack.decode(raw, type=SignedPrekeyRecord)

    # --- the bundle and the handshake -----------------------------------------------------

    async def bundle(self) -> x3dh.PrekeyBundle:
        """A bundle for one client: the identity, the signed prekey and a one-time prekey.

        The first bundle served starts the background replenishment: a deployment that
        never serves end-to-end sessions does no prekey work at all.
        """
        self.start()
        identity = await self.identity()
        spk = await self.signed_prekey()
        free = await self._repo.pop_free()
        one_time = None
        if free is not None:
            prekey_id, public = free.split(b"|", 1)
            one_time = x3dh.OneTimePrekey(id=int(prekey_id), key=x3dh.b64(public))
        return x3dh.PrekeyBundle(
            identity_key=x3dh.b64(identity.dh_public),
            signing_key=x3dh.b64(identity.sign_public),
            signed_prekey=x3dh.SignedPrekey(
                id=spk.id,
                key=x3dh.b64(spk.public),
                expires=spk.expires,
                signature=x3dh.b64(spk.signature),
            ),
            one_time_prekey=one_time,
        )

    async def secrets_for(
        self, handshake: x3dh.Handshake, now: float | None = None
    ) -> tuple[bytes, bytes, bytes | None]:
        """(identity, signed prekey, one-time prekey) private keys; consumes the one-time one."""
        now = time.time() if now is None else now
        identity = await self.identity()
        spk = await self._signed_record(handshake.signed_prekey_id)
        if spk is None or now >= spk.expires:
            raise PrekeyExpired(
                "the handshake used a signed prekey that has been retired; fetch a new "
                "prekey bundle (GET /v1/e2e/bundle) and run the handshake again"
            )
        spk_private = await self._unwrap(spk.private, b"spk|%d" % spk.id)
        opk_private = None
        if handshake.one_time_prekey_id is not None:
            opk_id = handshake.one_time_prekey_id
            raw = await self._repo.take_one_time(opk_id)
            if raw is None:
                raise PrekeyExpired(
                    "the handshake used a one-time prekey that was already used or retired; "
                    "fetch a new prekey bundle and run the handshake again"
                )
            wrapped = msgspec.msgpack.decode(raw, type=Wrapped)
            opk_private = await self._unwrap(wrapped, b"opk|%d" % opk_id)
        return identity.dh_private, spk_private, opk_private

    # --- background replenishment ---------------------------------------------------------

    async def replenish(self) -> int:
        """Top the one-time prekeys up to ``stock``, drop retired prekeys; return keys added."""
        await self.signed_prekey()
        missing = self.stock - await self._repo.free_count()
        if missing > self.stock // 4:
            last = await self._repo.next_prekey_ids(missing)
            privates: dict[str, bytes] = {}
            free = []
            for prekey_id in range(last - missing + 1, last + 1):
                private, public = primitives.new_private()
                privates[str(prekey_id)] = _enc(await self._wrap(private, b"opk|%d" % prekey_id))
                free.append(b"%d|" % prekey_id + public)
            await self._repo.add_one_time(privates, free)
        else:
            missing = 0
        await self._retire()
        return missing

    async def _retire(self) -> None:
        # Handed-out one-time prekeys that no handshake used, and expired signed prekeys.
        ids = await self._repo.one_time_ids()
        if len(ids) > 4 * self.stock:
            oldest = sorted(ids)[: len(ids) - 2 * self.stock]
            await self._repo.drop_one_time(oldest)
        records = await self._repo.signed_all()
        now = time.time()
        expired = [
            field
            for field, raw in records.items()
            if field != _CURRENT.encode()
            and msgspec.msgpack.decode(raw, type=SignedPrekeyRecord).expires <= now
        ]
        if expired:
            await self._repo.drop_signed(expired)

    def start(self, interval: float = 30.0) -> Prekeys:
        """Replenish in the background every ``interval`` seconds until ``stop``."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(interval), name="agentgpt-prekeys")
        return self

    async def stop(self) -> None:
        """Stop the background replenishment."""
        task, self._task = self._task, None
        await stop_task(task)

    async def _run(self, interval: float) -> None:
        while True:
            try:
                await self.replenish()
            except (StoreError, IntegrityError) as exc:
                log.warning("prekey replenishment failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(interval)
