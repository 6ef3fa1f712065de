"""The ``nlu`` section of the settings: defaults, environment overrides, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgpt.config import NLUSettings, load_settings
from agentgpt.errors import ConfigError


def test_defaults_are_the_fast_starter_model() -> None:
    nlu = load_settings().nlu
    assert nlu == NLUSettings()
    assert nlu.backend == "fast"
    assert nlu.model_path is None


def test_environment_and_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "agentgpt.yaml"
    config.write_text("nlu:\n  batch_size: 128\n  phone_region: GB\n")
    monkeypatch.setenv("AGENTGPT_NLU__BACKEND", "accurate")
    monkeypatch.setenv("AGENTGPT_NLU__MODEL_PATH", str(tmp_path / "model"))
    nlu = load_settings(config).nlu
    assert (nlu.backend, nlu.batch_size, nlu.phone_region) == ("accurate", 128, "GB")
    assert nlu.model_path == tmp_path / "model"


@pytest.mark.parametrize("body", ["nlu:\n  backend: huge\n", "nlu:\n  batch_size: 0\n"])
def test_bad_values_are_config_errors(tmp_path: Path, body: str) -> None:
    config = tmp_path / "agentgpt.yaml"
    config.write_text(body)
    with pytest.raises(ConfigError, match="nlu"):
        load_settings(config)
