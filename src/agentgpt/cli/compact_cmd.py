"""``agentgpt security compact``: rewrite every store node's AOF/RDB after erasures."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agentgpt.cli.connect import ConfigOption, UrlOption, open_store
from agentgpt.cli.options import run


def compact(
    file: ConfigOption = None,
    url: UrlOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait per node", min=1)] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Rewrite each primary's AOF (and RDB snapshot) so erased sessions leave its disk.

    Replicas rewrite their own files on their own schedule and backups keep what they
    hold until they expire: see docs/security.md.

    Example: agentgpt security compact --url rediss://user:pass@store:6380/0
    """

    from agentgpt.store.maintenance import compact as compact_store

    async def work() -> dict[str, list[str]]:
        _, store = open_store(file, url)
        try:
            return await compact_store(store, timeout)
        finally:
            await store.aclose()

    done = run(work())
    if as_json:
        typer.echo(json.dumps(done))
        return
    for node, files in done.items():
        typer.echo(f"{node}: rewrote {', '.join(files) or 'nothing (no persistence)'}")
