"""Options every command that reaches the store shares: configuration file, URL, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agentgpt.config.loader import load_settings
from agentgpt.config.settings import Settings

ConfigFile = Annotated[
    Path | None,
    typer.Option("-f", "--config", help="YAML configuration (default: $AGENTGPT_CONFIG)"),
]
StoreUrl = Annotated[
    str | None,
    typer.Option("--url", help="store URL, e.g. redis://host:6379/0 (default: embedded)"),
]
Json = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def settings_from(config: Path | None, url: str | None) -> Settings:
    """Load the configuration; ``--url`` overrides the store it names."""
    settings = load_settings(config)
    if url:
        settings = Settings(**{**settings.model_dump(exclude_unset=True), "store_url": url})
    return settings


def emit(data: Any, as_json: bool, lines: list[str]) -> None:
    """Print ``data`` as JSON or the readable ``lines``."""
    if as_json:
        typer.echo(json.dumps(data, default=str))
    else:
        for line in lines:
            typer.echo(line)
