"""``agentgpt security scan``: the cross-session leakage audit.

Exit codes: 0 nothing found, 1 any finding, 2 bad arguments or an unknown session.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentgpt.cli.connect import ConfigOption, UrlOption, key_manager_for, open_store
from agentgpt.cli.options import run
from agentgpt.errors import InvalidInput

if TYPE_CHECKING:
    from agentgpt.operations.leakage_scan import ScanReport


def scan_command(
    sessions: Annotated[
        list[str] | None, typer.Option("--sessions", help="session ids to audit (repeatable)")
    ] = None,
    ids: Annotated[
        list[str] | None, typer.Argument(help="more session ids", show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="audit every session of the store")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    file: ConfigOption = None,
    url: UrlOption = None,
) -> None:
    """Find records, PII, keys or pooled agents that leak across sessions.

    Example: agentgpt security scan --sessions SESS_A SESS_B ; agentgpt security scan --all
    """
    import msgspec

    from agentgpt.operations.leakage_scan import ALL

    chosen = [*(sessions or []), *(ids or [])]
    if bool(chosen) == all_:
        raise InvalidInput("give either --sessions SESSION_ID [SESSION_ID ...] or --all")
    report = run(_run(chosen or ALL, file, url))
    if as_json:
        typer.echo(json.dumps({**msgspec.to_builtins(report), "clean": report.clean}))
    else:
        for line in report.lines():
            typer.echo(line)
    if not report.clean:
        raise typer.Exit(1)


async def _run(sessions: Any, file: ConfigOption, url: UrlOption) -> ScanReport:
    from agentgpt.agents.faq_agent import FAQAgent
    from agentgpt.agents.pool import AgentPool
    from agentgpt.operations.leakage_scan import scan

    settings, store = open_store(file, url)
    # This process serves no sessions, so it audits the agent class the service runs: a
    # canary call goes through a pool and the agent must hold nothing after check-in.
    # Servers audit their live pools with scan(..., pools=[manager.agent_pool]).
    pool = AgentPool(FAQAgent, min_ready=1, max_connections=1)
    try:
        return await scan(
            store,
            key_manager_for(settings),
            sessions,
            pools=[pool],
            probe=True,
        )
    finally:
        await store.aclose()
