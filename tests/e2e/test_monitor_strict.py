"""``/v1/monitor`` through a surge from zero: an infinite ratio is null, never a 500."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from agentgpt.analytics import Analytics
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.security.tokens import TokenIssuer
from agentgpt.server import create_app
from agentgpt.store.context_store import RedisContextStore
from tests.e2e.conftest import make_settings
from tests.surge import inject, seed_calm_history


def _refuse(name: str) -> object:
    raise ValueError(f"not JSON: {name}")


async def test_a_surge_from_zero_is_strict_json_with_a_readable_alert(
    standalone_store: RedisContextStore, standalone_url: str, issuer: TokenIssuer
) -> None:
    await seed_calm_history(standalone_store, "Fraud alerts")
    await inject(standalone_store, "Fraud alerts", 60)
    # The alert rules read complete minutes: evaluate as of the next minute.
    analytics = Analytics(standalone_store, AnalyticsSettings())
    raised = await analytics.evaluate(now=analytics.clock() + 60)
    surges = [a.message for a in raised if a.rule == "critical_surge"]
    assert surges == ["Fraud alerts: 60 turns in 5 min, none in the same hours of the last 7 days"]
    # Every other topic fell to zero: drops, said in counts, with no "x" ratio.
    assert all(" 0 turns in 5 min (0.0% of turns), about " in a.message
               for a in raised if a.rule == "topic_drop")  # fmt: skip
    headers = {"Authorization": f"Bearer {issuer.issue('ops', ('session:monitor',), 600)}"}
    with TestClient(create_app(make_settings(standalone_url))) as client:
        response = client.get("/v1/monitor?window=5m&severity=debug", headers=headers)
    assert response.status_code == 200, response.text
    doc = json.loads(response.text, parse_constant=_refuse)
    surges = [(t["subject"], t["ratio"]) for t in doc["trends"] if t["kind"] == "surge"]
    assert surges == [("Fraud alerts", None)]
