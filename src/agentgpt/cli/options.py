"""Options every command that reaches the store shares: configuration file, URL, JSON.

This module is imported when the CLI starts (every command's signature names its types),
so it imports only the standard library and typer: the configuration (pydantic, YAML) is
loaded inside ``settings_from``, when a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings

ConfigFile = Annotated[
    Path | None,
    typer.Option("-f", "--config", "--file", help="YAML configuration (default: $AGENTGPT_CONFIG)"),
]
StoreUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="store address, replacing the configuration's: redis://host:6379/0, "
        "rediss://..., redis+cluster://h1:p1,h2:p2 (default: $AGENTGPT_STORE_URL, the file, "
        "or the embedded store)",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, importing asyncio (~20 ms) only when a command runs."""
    import asyncio

    return asyncio.run(main)


def settings_from(config: Path | None, url: str | None) -> Settings:
    """Load the configuration; ``--url`` replaces the store's address (``ConfigError``).

    Like ``AGENTGPT_STORE_URL``: the whole address (URL, cluster nodes, TLS on/off) comes
    from ``url``; the file's retention classes, TLS files, timeouts and pool size stay.
    """
    from pydantic import ValidationError

    from agentgpt.config.loader import describe_validation_error, load_settings
    from agentgpt.config.settings import one_line
    from agentgpt.errors import ConfigError

    settings = load_settings(config)
    if not url:
        return settings
    try:
        store = settings.store.with_address(url)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, "--url")) from None
    except ValueError as exc:
        raise ConfigError(f"--url: {one_line(exc)}") from None
    storage = settings.session_storage.model_copy(update={"config": store, "engine": "redis"})
    return settings.model_copy(update={"session_storage": storage})


def emit(data: Any, as_json: bool, lines: list[str]) -> None:
    """Print ``data`` as JSON or the readable ``lines``."""
    if as_json:
        typer.echo(json.dumps(data, default=str))
    else:
        for line in lines:
            typer.echo(line)
