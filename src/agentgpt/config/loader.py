"""Load and validate the configuration, turning every problem into one-line ConfigErrors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agentgpt.config.settings import Settings
from agentgpt.errors import ConfigError

#: Environment variable naming the YAML configuration file.
CONFIG_ENV = "AGENTGPT_CONFIG"


def load_settings(path: str | Path | None = None) -> Settings:
    """Load settings from ``path`` (or ``$AGENTGPT_CONFIG``) and the environment."""
    source = path or os.environ.get(CONFIG_ENV)
    data = _read_yaml(Path(source)) if source else {}
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (session_storage: ...)")
    return data


def describe_validation_error(exc: ValidationError, source: object = None) -> str:
    """Return a one-line message naming the first bad setting and what is wrong."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "configuration"
    if first["type"] == "extra_forbidden":
        problem = "unknown setting"
    else:
        problem = first["msg"].removeprefix("Value error, ")
    prefix = f"{source}: " if source else ""
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{prefix}{where}: {problem}{more}"
