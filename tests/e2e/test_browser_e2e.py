"""The browser's end-to-end encryption (``static/e2ee.js``) against the Python side (issue 17).

Headless Chromium (Playwright) runs the page's WebCrypto implementation: against vectors
the Python protocol code makes and opens in this process (both directions, out of order,
replayed, tampered, a forced rotation, a forged or unpinned bundle), and against a real
``agentgpt serve`` requiring end-to-end encryption, over REST and over the WebSocket,
including the chat page itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgpt.errors import BrokenMessage, ReplayedMessage
from agentgpt.security.ratchet import double_ratchet as DR
from agentgpt.security.ratchet import primitives as P
from agentgpt.security.ratchet import x3dh as X
from tests.e2e.conftest import start_server, stop_server
from tests.e2e.test_end_to_end import _store_bytes

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("AGENTGPT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium."""
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module")
def required_server(standalone_url: str) -> Iterator[str]:
    """``agentgpt serve`` refusing plain messages (``sessions.end_to_end: required``)."""
    base, proc = start_server(standalone_url, AGENTGPT_SESSIONS__END_TO_END="required")
    try:
        yield base
    finally:
        stop_server(proc)


@pytest.fixture
def page(browser: Any, required_server: str) -> Iterator[Any]:
    """A fresh page (own storage) with the chat loaded, so ``AgentE2E`` is defined."""
    page = browser.new_page()
    page.goto(required_server)
    page.wait_for_function("typeof AgentE2E === 'object'")
    try:
        yield page
    finally:
        page.close()


# --- vectors: the browser against the Python protocol code in this process ---------------


def _bundle(with_otpk: bool = True) -> tuple[X.PrekeyBundle, bytes, bytes, bytes | None]:
    """A signed bundle and its private keys (identity, signed prekey, one-time prekey)."""
    ik, ik_pub = P.new_private()
    spk, spk_pub = P.new_private()
    opk, opk_pub = P.new_private()
    signer = Ed25519PrivateKey.generate()
    expires = time.time() + 86400.5  # a fraction: the signature covers its whole seconds
    bundle = X.PrekeyBundle(
        identity_key=X.b64(ik_pub),
        signing_key=X.b64(signer.public_key().public_bytes_raw()),
        signed_prekey=X.SignedPrekey(
            id=70_000,
            key=X.b64(spk_pub),
            expires=expires,
            signature=X.b64(signer.sign(X.signed_payload(ik_pub, 70_000, spk_pub, expires))),
        ),
        one_time_prekey=X.OneTimePrekey(id=3, key=X.b64(opk_pub)) if with_otpk else None,
    )
    return bundle, ik, spk, opk if with_otpk else None


def _flip(wire: str, index: int) -> str:
    raw = bytearray(X.unb64(wire))
    raw[index] ^= 0x01
    return X.b64(bytes(raw))


_CONNECT = """async ([bundle, rotation, pinned]) => {
  const { handshake, channel } = await AgentE2E.connect(bundle, rotation, pinned);
  window.testChannel = channel;
  return handshake; }"""
_ENCRYPT = """async (texts) => { const out = [];
  for (const t of texts) out.push(await testChannel.encrypt(t));
  return out; }"""
# Decrypt each wire in turn; a refusal is returned as its code, and must leave the state.
_DECRYPT = """async (wires) => { const out = [];
  for (const w of wires) {
    try { out.push(await testChannel.decrypt(w)); }
    catch (e) { out.push("!" + (e.code || e.name)); }
  }
  return out; }"""
_RATCHET_KEY = "() => AgentE2E.b64(testChannel.state.dhsPub)"


def _code(page: Any, script: str, arg: object) -> str:
    try:
        page.evaluate(script, arg)
    except playwright_api.Error as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("with_otpk", [True, False])
def test_browser_and_python_vectors_both_ways(page: Any, with_otpk: bool) -> None:
    bundle, ik, spk, opk = _bundle(with_otpk)
    rotation = 1.0
    handshake = page.evaluate(_CONNECT, [msgspec_builtins(bundle), rotation, None])
    server = X.respond(X.Handshake(**handshake), ik, spk, opk, rotation)
    for round_ in range(3):  # every round is a DH ratchet step each way
        # Browser -> Python, delivered out of order; a replay and a tampered copy refused.
        texts = [f"round {round_} message {i} · ünïcødé €" for i in range(6)]
        wires = page.evaluate(_ENCRYPT, texts)
        for i in (2, 0, 1, 5, 3):
            server, plain = DR.decrypt(server, X.unb64(wires[i]))
            assert plain.decode() == texts[i]
        for index in (0, 1, 40, len(X.unb64(wires[4])) - 1):
            with pytest.raises(BrokenMessage):
                DR.decrypt(server, X.unb64(_flip(wires[4], index)))
        server, plain = DR.decrypt(server, X.unb64(wires[4]))
        assert plain.decode() == texts[4]
        with pytest.raises(ReplayedMessage):
            DR.decrypt(server, X.unb64(wires[0]))

        # Python -> browser, out of order, with a replay and tampered copies in between.
        answers = []
        for i in range(5):
            server, wire = DR.encrypt(server, f"answer {round_}.{i} ✓".encode())
            answers.append(X.b64(wire))
        tampered = [_flip(answers[3], i) for i in (0, 2, 45, len(X.unb64(answers[3])) - 1)]
        order = [answers[4], answers[0], *tampered, answers[3], answers[0], answers[1], answers[2]]
        got = page.evaluate(_DECRYPT, order)
        assert got == [
            f"answer {round_}.4 ✓",
            f"answer {round_}.0 ✓",
            "!e2e-broken-message",
            "!e2e-broken-message",
            "!e2e-broken-message",
            "!e2e-broken-message",
            f"answer {round_}.3 ✓",
            "!e2e-replayed-message",
            f"answer {round_}.1 ✓",
            f"answer {round_}.2 ✓",
        ]

    # The forced rotation: once the period is over, the browser's idle ratchet key is
    # replaced before it sends, and Python follows.
    before = page.evaluate(_RATCHET_KEY)
    time.sleep(rotation + 0.2)
    (wire,) = page.evaluate(_ENCRYPT, ["after the rotation"])
    assert X.b64(DR.parse_header(X.unb64(wire))[0]) != before
    server, plain = DR.decrypt(server, X.unb64(wire))
    assert plain == b"after the rotation"

    # More than the window skipped: refused, and the state still opens the next message.
    wires = []
    for i in range(DR.MAX_SKIP + 2):
        server, raw = DR.encrypt(server, b"skipped %d" % i)
        wires.append(X.b64(raw))
    assert page.evaluate(_DECRYPT, [wires[-1], wires[0]]) == ["!e2e-too-many-skipped", "skipped 0"]


def msgspec_builtins(bundle: X.PrekeyBundle) -> dict[str, Any]:
    """The bundle as the service serves it (JSON)."""
    result: dict[str, Any] = msgspec.to_builtins(bundle)
    return result


def test_the_browser_refuses_a_forged_or_unpinned_bundle(page: Any) -> None:
    bundle, *_ = _bundle()
    good = msgspec_builtins(bundle)
    forged = {**good, "signed_prekey": {**good["signed_prekey"], "key": X.b64(P.new_private()[1])}}
    assert "prekey bundle's signature does not verify" in _code(page, _CONNECT, [forged, 60, None])
    other = X.b64(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    assert "not the one pinned" in _code(page, _CONNECT, [good, 60, other])
    assert _code(page, _CONNECT, [good, 60, good["signing_key"]]) == ""


# --- the browser against a real service requiring end-to-end encryption ------------------

# The conversation's script (a function of [transport, user, marker, rotation seconds]).
_CONVERSE = (Path(__file__).parent / "e2e_conversation.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_the_browser_holds_a_50_message_conversation_with_the_service(
    page: Any, standalone_url: str, transport: str
) -> None:
    marker = f"MARK{uuid.uuid4().hex[:12]}"
    result = page.evaluate(_CONVERSE, [transport, f"browser-e2e-{transport}", marker, 2])
    assert result["seqs"] == list(range(1, 54))
    assert result["refused"] == [
        *["e2e-broken-message"] * 3,
        "e2e-replayed-message",
        "400 e2e-replayed-message",
        *["400 e2e-broken-message"] * 4,
        "400 e2e-required",
    ]
    assert result["changed"]
    # Playwright's sync API runs its own loop in this thread: the store's gets another.
    with ThreadPoolExecutor(1) as pool:
        dump = pool.submit(asyncio.run, _store_bytes(standalone_url)).result()
    assert marker.encode() not in dump


def test_the_chat_page_talks_end_to_end_and_pins_the_service_key(
    browser: Any, required_server: str
) -> None:
    chat = browser.new_page()
    try:
        chat.goto(f"{required_server}/?debug=1")
        chat.fill("#user", "browser-e2e-page")
        chat.click("#signin-btn")
        chat.wait_for_selector("#chat:not([hidden])")
        assert chat.text_content("#e2e") == "end-to-end encrypted"
        frames: list[str] = []
        chat.on("websocket", lambda ws: ws.on("framesent", lambda f: frames.append(str(f))))
        chat.reload()  # the socket opened before the listener: sign in again
        chat.fill("#user", "browser-e2e-page")
        chat.click("#signin-btn")
        chat.wait_for_selector("#chat:not([hidden])")
        for i, text in enumerate(["I forgot my password", "my card was stolen"], 1):
            chat.fill("#text", text)
            chat.click("#send")
            chat.wait_for_function(f"document.querySelectorAll('.msg.bot').length >= {i}")
        assert chat.text_content("#error") == ""
        # The answer was decrypted: the debug chips come from the encrypted TurnOut.
        assert "topic: Password & access" in chat.inner_text(".msg.bot >> nth=0")
        assert frames
        assert all('"e2e"' in f and "password" not in f for f in frames)
        pinned = chat.evaluate("localStorage.getItem('agentgpt.e2e.signing_key')")
        bundle_key = chat.evaluate(
            """async () => { const t = await (await fetch('/v1/demo/token', {method: 'POST',
                 headers: {'content-type': 'application/json'},
                 body: JSON.stringify({user: 'x', role: 'customer'})})).json();
               return (await (await fetch('/v1/e2e/bundle',
                 {headers: {authorization: 'Bearer ' + t.token}})).json()).signing_key; }"""
        )
        assert pinned == bundle_key

        # Another key pinned in this origin: the page refuses to start, saying why.
        other = X.b64(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
        chat.evaluate(f"localStorage.setItem('agentgpt.e2e.signing_key', '{other}')")
        chat.reload()
        chat.fill("#user", "browser-e2e-page")
        chat.click("#signin-btn")
        chat.wait_for_function("document.querySelector('#signin-error').textContent !== ''")
        assert "not the one pinned" in chat.text_content("#signin-error")
        assert chat.is_hidden("#chat")
    finally:
        chat.close()


def test_the_chat_page_says_so_when_the_service_has_end_to_end_off(
    browser: Any, standalone_url: str
) -> None:
    base, proc = start_server(standalone_url, AGENTGPT_SESSIONS__END_TO_END="off")
    chat = browser.new_page()
    try:
        chat.goto(base)
        chat.fill("#user", "browser-plain")
        chat.click("#signin-btn")
        chat.wait_for_selector("#chat:not([hidden])")
        assert chat.text_content("#e2e") == "not end-to-end encrypted (off on this service)"
        chat.fill("#text", "I forgot my password")
        chat.click("#send")
        chat.wait_for_selector(".msg.bot")
        assert chat.text_content("#error") == ""
    finally:
        chat.close()
        stop_server(proc)
