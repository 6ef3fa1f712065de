"""End-to-end encryption between a customer's client and the session's agent (issue 17).

X3DH against the deployment's prekey bundle (``x3dh``), then the Double Ratchet
(``double_ratchet``) for every message and reply; ``prekeys`` keeps the bundle's secrets
in the store, wrapped by the key provider's KEK.
"""

from agentgpt.security.ratchet.double_ratchet import RatchetState
from agentgpt.security.ratchet.policy import PROTOCOL
from agentgpt.security.ratchet.x3dh import Handshake, PrekeyBundle

__all__ = ["PROTOCOL", "Handshake", "PrekeyBundle", "RatchetState"]
