"""A surge from zero in a real store: calm history without a topic, then only that topic."""

from __future__ import annotations

import time

from agentgpt.analytics.writer import AggregateWriter
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.demo.traffic import DEFAULT_MIX, TrafficModel, seed, simulate
from agentgpt.store.context_store import RedisContextStore

DAY = 1440


async def seed_calm_history(store: RedisContextStore, topic: str, quiet_min: int = 10) -> None:
    """Eight days of seasonal traffic that never mentions ``topic``, ending ``quiet_min`` ago."""
    mix = {t: share for t, share in DEFAULT_MIX.items() if t != topic}
    end = int(time.time() // 60) - quiet_min
    calm = simulate(TrafficModel(mix=mix), end - 8 * DAY, 8 * DAY + 1, seed=5)
    await seed(store, AnalyticsSettings(), calm, end - 8 * DAY, end)


async def inject(store: RedisContextStore, topic: str, turns: int) -> None:
    """Count ``turns`` turns of ``topic`` (and nothing else) into the current minute."""
    tally = {"n": turns, "sc": turns, "t:" + topic: turns, "ss": -300 * turns,
             "sq": 250 * turns, "l:30": turns, "lu": 120_000 * turns}  # fmt: skip
    await AggregateWriter(store, AnalyticsSettings()).write({int(time.time() // 60): tally})
