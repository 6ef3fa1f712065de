"""Configuration: one typed settings tree loaded from YAML and the environment."""

from agentgpt.config.durations import Duration, parse_duration
from agentgpt.config.loader import load_settings
from agentgpt.config.paths import data_home
from agentgpt.config.settings import (
    AnalyticsSettings,
    DataRetention,
    NLUSettings,
    SessionSettings,
    SessionStorage,
    Settings,
    StoreSettings,
    TracingSettings,
)

__all__ = [
    "AnalyticsSettings",
    "DataRetention",
    "Duration",
    "NLUSettings",
    "SessionSettings",
    "SessionStorage",
    "Settings",
    "StoreSettings",
    "TracingSettings",
    "data_home",
    "load_settings",
    "parse_duration",
]
