"""The Python client pins the deployment's end-to-end identity (issue 17).

Against a real ``agentgpt serve``: the key ``agentgpt security e2e-identity`` prints is the
one the service signs with; a client configured with it talks, one configured with
another refuses; a client trusting on first use refuses a bundle that something in the
middle re-signed with its own key (a rewriting transport, as a TLS proxy would be).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgpt.cli.app import main
from agentgpt.client import AsyncClient
from agentgpt.errors import IdentityKeyChanged
from agentgpt.security.ratchet import primitives as P
from agentgpt.security.ratchet import x3dh as X


def _forged_bundle() -> bytes:
    """A well-formed bundle with a valid signature by a key that is not the service's."""
    _, ik_pub = P.new_private()
    _, spk_pub = P.new_private()
    signer = Ed25519PrivateKey.generate()
    expires = time.time() + 86400
    bundle = X.PrekeyBundle(
        identity_key=X.b64(ik_pub),
        signing_key=X.b64(signer.public_key().public_bytes_raw()),
        signed_prekey=X.SignedPrekey(
            id=1,
            key=X.b64(spk_pub),
            expires=expires,
            signature=X.b64(signer.sign(X.signed_payload(ik_pub, 1, spk_pub, expires))),
        ),
    )
    return msgspec.json.encode(bundle)


class _RewritingProxy(httpx.AsyncBaseTransport):
    """Forwards to the service; once ``active``, replaces every prekey bundle by a forged one."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.active = False
        self.handshakes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/e2e"):
            self.handshakes += 1
        if self.active and request.url.path == "/v1/e2e/bundle":
            return httpx.Response(200, content=_forged_bundle(), request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _token(base: str, user: str) -> str:
    async with AsyncClient(base) as anonymous:
        return (await anonymous.demo_token(user, "customer")).token


async def test_a_configured_key_is_required_and_another_refused(
    live_server: str,
    standalone_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTGPT_STORE_URL", standalone_url)
    token = await _token(live_server, "pin-alice")
    # The first bundle creates the identity if no test did yet; the CLI reads the same one.
    async with AsyncClient(live_server, token, end_to_end=True) as first:
        await first.create_session()
        assert first.ratchets is not None
        served = first.ratchets.pinned
    # The CLI runs its own event loop: in a thread, as from a shell.
    assert await asyncio.to_thread(main, ["security", "e2e-identity", "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert keys["signing_key"] == served

    async with AsyncClient(
        live_server, token, end_to_end=True, identity_key=keys["signing_key"]
    ) as pinned:
        sid = (await pinned.create_session()).id
        assert (await pinned.send(sid, "my card is blocked")).seq == 1

    other = X.b64(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    async with AsyncClient(live_server, token, end_to_end=True, identity_key=other) as wrong:
        with pytest.raises(IdentityKeyChanged, match="not the pinned"):
            await wrong.create_session()


async def test_trust_on_first_use_refuses_a_bundle_re_signed_in_the_middle(
    live_server: str,
) -> None:
    token = await _token(live_server, "pin-bob")
    proxy = _RewritingProxy()
    async with httpx.AsyncClient(transport=proxy) as http:
        client = AsyncClient(live_server, token, http=http, end_to_end=True)
        sid = (await client.create_session()).id  # the genuine bundle: pinned
        assert client.ratchets is not None
        pinned = client.ratchets.pinned
        assert pinned is not None
        assert proxy.handshakes == 1
        proxy.active = True
        with pytest.raises(IdentityKeyChanged, match="rewriting"):
            await client.create_session()
        assert proxy.handshakes == 1  # refused before any handshake was sent
        assert client.ratchets.pinned == pinned
        assert (await client.send(sid, "still talking on the first session")).seq == 1
