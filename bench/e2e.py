"""CPU cost of end-to-end encryption (issue 17) on the service side, per turn and handshake.

Runs the service's own code paths (``agentgpt.sessions.end_to_end``) on a real session
with a real data-key cipher, in one process, sequentially; every figure is CPU time
(``time.process_time``) per operation, median of ``--rounds`` rounds. Prints one JSON line:

* ``turn_added_ms``: what a turn adds on the service: open the sealed ratchet state,
  decrypt the message (a DH ratchet step: the client answered the last reply), encrypt the
  answer, seal the new state (target <= 0.3 ms);
* ``baseline_seal_context_ms``: same run, the at-rest sealing every turn already does
  (one context record of ~2 KB): the scale to read the figure against;
* ``handshake_server_ms`` / ``handshake_client_ms``: X3DH on each side (the server's
  includes sealing the first state; the prekey look-ups are store round trips, not here);
* ``state_bytes``: the sealed state stored per session;
* ``baseline_x25519_ms``: same run, one X25519 exchange with loaded keys, and
  ``turn_in_x25519``: the turn's figure in those units (the load on a shared machine moves
  both; their ratio says what the code costs: the DH ratchet step needs at least three
  X25519 operations).

    python bench/e2e.py --turns 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.agents.context import Context, Exchange
from agentgpt.agents.response import Response
from agentgpt.security.aead import SessionCipher
from agentgpt.security.ratchet import double_ratchet as DR
from agentgpt.security.ratchet import primitives as P
from agentgpt.security.ratchet import x3dh as X
from agentgpt.sessions import end_to_end as E2E
from agentgpt.sessions.session import Session
from agentgpt.store import records as R

TEXT = "I lost my card, please block it"


def cpu_ms(fn: Callable[[], object], n: int, rounds: int) -> float:
    """Median over ``rounds`` of the CPU milliseconds per call of ``fn`` (``n`` calls)."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            fn()
        samples.append((time.process_time() - start) * 1000 / n)
    return statistics.median(samples)


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    ik, ik_pub = P.new_private()
    spk, spk_pub = P.new_private()
    signer = Ed25519PrivateKey.generate()
    expires = time.time() + 86400
    bundle = X.PrekeyBundle(
        identity_key=X.b64(ik_pub), signing_key=X.b64(signer.public_key().public_bytes_raw()),
        signed_prekey=X.SignedPrekey(
            id=1, key=X.b64(spk_pub), expires=expires,
            signature=X.b64(signer.sign(X.signed_payload(ik_pub, 1, spk_pub, expires))),
        ),
    )  # fmt: skip
    session = Session(id="bench_" + secrets.token_hex(8))
    session.use_cipher(SessionCipher({0: AESGCM(AESGCM.generate_key(256))}, 0))
    handshake, client = X.initiate(bundle, 86400.0)
    server = X.respond(handshake, ik, spk, None, 86400.0)
    meta = {b"e2e": E2E.seal_state(session, server, 0)}

    def render(response: Response, seq: int) -> bytes:
        return b'{"reply": "%s", "seq": %d}' % (response.reply.encode(), seq)

    answer = Response(reply="I have blocked your card. A new one is on its way.")

    def service_turns(n: int) -> float:
        """Ping-pong ``n`` turns; CPU ms per turn of the service's calls only."""
        nonlocal client, meta
        spent = 0.0
        for _ in range(n):
            client, wire = DR.encrypt(client, TEXT.encode())
            message = E2E.EncryptedMessage(wire, render)
            start = time.process_time()
            state, _ = E2E.decrypt_turn(session, meta, message)
            sealed = E2E.encrypt_reply(session, state, message, answer)
            spent += time.process_time() - start
            meta = {b"e2e": sealed}
            session.version += 1  # what the turn's commit does
            client, _ = DR.decrypt(client, message.reply)  # the next turn is a DH step
        return spent * 1000 / n

    turn_ms = statistics.median(service_turns(args.turns) for _ in range(args.rounds))
    state_bytes = len(meta[b"e2e"])
    context = Context()
    for i in range(8):
        context = context.appended(
            Exchange(
                seq=i,
                ts=0.0,
                user=TEXT * 2,
                reply=answer.reply * 2,
                intent="card_lost",
                topic="Cards",
                sentiment=0.0,
            )
        )
    baseline = cpu_ms(lambda: session.seal(context, R.KIND_CONTEXT, 1), args.turns, args.rounds)
    server_handshake = cpu_ms(
        lambda: E2E.seal_state(session, X.respond(handshake, ik, spk, None, 86400.0), 0),
        200, args.rounds,
    )  # fmt: skip
    client_handshake = cpu_ms(lambda: X.initiate(bundle, 86400.0), 200, args.rounds)
    ours, theirs = X25519PrivateKey.generate(), X25519PrivateKey.generate().public_key()
    x25519 = cpu_ms(lambda: ours.exchange(theirs), args.turns, args.rounds)
    print(json.dumps({
        "bench": "e2e", "turns": args.turns, "rounds": args.rounds,
        "turn_added_ms": round(turn_ms, 4),
        "baseline_seal_context_ms": round(baseline, 4),
        "handshake_server_ms": round(server_handshake, 4),
        "handshake_client_ms": round(client_handshake, 4),
        "state_bytes": state_bytes,
        "baseline_x25519_ms": round(x25519, 4),
        "turn_in_x25519": round(turn_ms / x25519, 2),
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
