"""The customer's end of the end-to-end protocol (issue 17), for ``AsyncClient``.

Ratchet states live in this object only (in memory): the service never sees them, and a
client that loses them starts a new session. Every call that changes a state does so
without awaiting in between, so concurrent sends on one client never fork a chain.

The deployment's identity is pinned: its Ed25519 signing key, which signs the signed
prekey together with the X25519 identity key, so pinning it pins both. Configured
(``identity_key=``, from ``agentgpt security e2e-identity``) or trusted on first use;
a bundle signed by any other key is refused (``IdentityKeyChanged``) before any X3DH.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec

from agentgpt.client.models import Turn
from agentgpt.errors import EndToEndNotEstablished, IdentityKeyChanged
from agentgpt.security.ratchet import double_ratchet, x3dh
from agentgpt.security.ratchet.policy import rotation_seconds


class ClientRatchets:
    """The client's ratchet state per session."""

    def __init__(
        self, key_rotation: str | timedelta = "daily", identity_key: str | None = None
    ) -> None:
        """Replace an idle ratchet key once it is older than ``key_rotation``.

        ``identity_key``: the deployment's signing key (unpadded base64url) to require;
        None trusts the first bundle's and requires it from then on (``pinned``).
        """
        self.key_rotation = key_rotation
        self.rotation = rotation_seconds("double_ratchet", key_rotation)
        self.pinned = identity_key
        self._states: dict[str, double_ratchet.RatchetState] = {}

    def __contains__(self, session_id: object) -> bool:
        """True when the handshake of ``session_id`` was made by this client."""
        return session_id in self._states

    def start(self, session_id: str, bundle: bytes) -> x3dh.Handshake:
        """Run X3DH against a bundle (JSON); keep the state, return the handshake to send."""
        parsed = msgspec.json.decode(bundle, type=x3dh.PrekeyBundle)
        if self.pinned is not None and parsed.signing_key != self.pinned:
            raise IdentityKeyChanged(
                f"the service's prekey bundle is signed by key {parsed.signing_key[:12]}..., "
                f"not the pinned {self.pinned[:12]}...: something between this client and "
                "the service may be rewriting it. If the deployment's identity was replaced "
                "on purpose, pass its new key as AsyncClient(identity_key=...) (printed by "
                "agentgpt security e2e-identity)"
            )
        handshake, state = x3dh.initiate(parsed, self.rotation)  # verifies the signature
        self.pinned = parsed.signing_key
        self._states[session_id] = state
        return handshake

    def encrypt(self, session_id: str, text: str) -> str:
        """A Double Ratchet message carrying ``text`` (unpadded base64url)."""
        state, wire = double_ratchet.encrypt(self._state(session_id), text.encode())
        self._states[session_id] = state
        return x3dh.b64(wire)

    def decrypt_turn(self, session_id: str, wire: str) -> Turn:
        """Decrypt the service's encrypted answer into a ``Turn``."""
        state, plaintext = double_ratchet.decrypt(
            self._state(session_id), x3dh.unb64(wire, "the answer")
        )
        self._states[session_id] = state
        return Turn.model_validate_json(plaintext)

    def state(self, session_id: str) -> double_ratchet.RatchetState:
        """A copy of the session's state (for tests and audits)."""
        return self._state(session_id).copy()

    def forget(self, session_id: str) -> None:
        """Drop the session's state (after erasure)."""
        self._states.pop(session_id, None)

    def _state(self, session_id: str) -> double_ratchet.RatchetState:
        state = self._states.get(session_id)
        if state is None:
            raise EndToEndNotEstablished(
                f"this client holds no end-to-end keys for session {session_id}: only the "
                "client that created it (with end_to_end=True) can talk to it"
            )
        return state
