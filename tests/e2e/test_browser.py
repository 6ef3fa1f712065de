"""The web pages in a real browser: Playwright driving Debian's headless Chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agentgpt.store.context_store import RedisContextStore
from tests import servers
from tests.e2e.conftest import start_server, stop_server
from tests.surge import inject, seed_calm_history

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("AGENTGPT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The README's screenshots are refreshed only on request, so a test run leaves the tree clean:
#   AGENTGPT_UPDATE_SCREENSHOTS=1 pytest tests/e2e/test_browser.py
_DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = _DOCS if os.environ.get("AGENTGPT_UPDATE_SCREENSHOTS") else Path(tempfile.mkdtemp())

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium."""
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        try:
            yield instance
        finally:
            instance.close()


def test_chat_round_trip_and_dashboard_within_two_seconds(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    ops = browser.new_page(viewport={"width": 1200, "height": 1100})
    ops.goto(f"{live_server}/ops")
    ops.fill("#window", "5m")
    ops.click("text=Open the dashboard")
    ops.wait_for_selector("#dash:not([hidden])")
    ops.wait_for_function("document.querySelector('#updated').textContent !== 'never'")
    before = int(ops.text_content("#active").replace(",", "") or 0)

    chat = browser.new_page(viewport={"width": 1000, "height": 800})
    chat.goto(live_server)
    chat.fill("#user", "browser-customer")
    chat.click("#signin-btn")
    chat.wait_for_selector("#chat:not([hidden])")
    for i, text in enumerate(["I forgot my password",
                              "I think my card was stolen, this is outrageous"], 1):  # fmt: skip
        chat.fill("#text", text)
        chat.click("#send")
        chat.wait_for_function(f"document.querySelectorAll('.msg.bot').length >= {i}")
    sent_at = time.monotonic()
    # The customer sees replies only: no intent, topic or sentiment tags.
    assert "topic:" not in chat.inner_text("#log")
    chat.wait_for_selector(".banner.escalate")
    chat.screenshot(path=str(SHOTS / "chat.png"))
    assert (SHOTS / "chat.png").stat().st_size > 0

    # The dashboard shows the new session and its turns within 2 seconds.
    ops.wait_for_function(
        f"parseInt(document.querySelector('#active').textContent.replace(/,/g, '')) > {before}"
        " && document.querySelector('#topics').textContent.includes('%')",
        timeout=2000,
    )
    assert time.monotonic() - sent_at <= 2.0
    ops.screenshot(path=str(SHOTS / "ops.png"), full_page=True)
    chat.close()
    ops.close()


def test_chat_debug_switch_shows_what_the_agent_understood(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    chat = browser.new_page()
    chat.goto(f"{live_server}/?debug=1")
    chat.fill("#user", "browser-operator")
    chat.click("#signin-btn")
    chat.wait_for_selector("#chat:not([hidden])")
    chat.fill("#text", "I forgot my password")
    chat.click("#send")
    chat.wait_for_selector(".msg.bot")
    shown = chat.inner_text(".msg.bot >> nth=0")
    assert "topic: Password & access" in shown
    assert "intent:" in shown
    chat.close()


def test_api_docs_render_without_internet(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    # This machine has no route to a CDN: Swagger UI renders only if the app serves it.
    page = browser.new_page()
    try:
        page.goto(f"{live_server}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
        assert "agentgpt sessions" in page.inner_text(".swagger-ui .info .title")
        route = "/v1/sessions/{session_id}/messages"
        page.wait_for_selector(f".opblock-summary-path[data-path='{route}']", timeout=5_000)
    finally:
        page.close()


# Pixels of the chart in the turns/s colour (#38bdf8) above its zero line: the line drawn
# once the rate rose, not the axis or the CSS background.
_RATE_LINE = """() => { const c = document.querySelector('#chart');
  const d = c.getContext('2d').getImageData(0, 0, c.width - 90, c.height - 12).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i + 3] > 200 && Math.abs(d[i] - 56) < 24 && Math.abs(d[i + 1] - 189) < 24
        && Math.abs(d[i + 2] - 248) < 24) n++;
  return n; }"""


def _store_do(url: str, step: str) -> None:
    # Playwright's sync API runs its own loop in this thread: the store's loop gets another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _store_step(url, step)).result()


async def _store_step(url: str, step: str) -> None:
    store = RedisContextStore(url)
    try:
        if step == "history":
            await seed_calm_history(store, "Fraud alerts")
        else:
            await inject(store, "Fraud alerts", 90)
    finally:
        await store.aclose()


def test_dashboard_follows_a_surge_from_zero(browser) -> None:  # type: ignore[no-untyped-def]
    # A topic the last 8 days never saw: its ratio to the baseline is infinite. The stream
    # used to send "ratio": Infinity, which JSON.parse refuses: the page froze on "never".
    with servers.standalone() as url:
        _store_do(url, "history")
        base, proc = start_server(url, AGENTGPT_ANALYTICS__EVALUATE_INTERVAL="2s")
        errors: list[str] = []
        page = browser.new_page(viewport={"width": 1200, "height": 1100})
        try:
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/ops")
            page.fill("#window", "5m")
            page.click("text=Open the dashboard")
            page.wait_for_function("document.querySelector('#updated').textContent !== 'never'")
            assert page.text_content("#rate") == "0.0"
            _store_do(url, "surge")
            page.wait_for_function(
                "parseFloat(document.querySelector('#rate').textContent) > 0"
                " && document.querySelector('#topics').textContent.includes('Fraud alerts')"
                " && document.querySelector('#topics').textContent.includes('surge')",
                timeout=15_000,
            )
            first = page.text_content("#updated")
            page.wait_for_function(f"document.querySelector('#updated').textContent !== '{first}'",
                                   timeout=15_000)  # fmt: skip
            assert page.evaluate(_RATE_LINE) > 20
            assert errors == []
        finally:
            page.close()
            stop_server(proc)
