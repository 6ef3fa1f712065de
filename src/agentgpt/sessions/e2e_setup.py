"""End-to-end encryption set-up (issue 17): the prekey bundle and the X3DH handshake.

The encrypted turns themselves run through ``TurnPath.handle``; this part answers a
client's handshake under the same turn lock.
"""

from __future__ import annotations

from datetime import timedelta

from agentgpt.errors import UnknownProtocol
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.security.ratchet import PROTOCOL, Handshake
from agentgpt.security.ratchet.prekeys import Prekeys
from agentgpt.sessions import end_to_end
from agentgpt.sessions.turn_path import TurnPath
from agentgpt.store.keys import validate_session_id


class EndToEndSetup(TurnPath):
    """The manager's end-to-end part: the deployment's prekeys, the session handshake."""

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
