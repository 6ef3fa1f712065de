"""``agentgpt session verify``: check the integrity of one session or a random sample.

Exit codes: 0 sound, 1 corrupt, 2 no such session (or bad arguments).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from agentgpt.cli.connect import ConfigOption, UrlOption, key_manager_for, open_store
from agentgpt.cli.options import run
from agentgpt.errors import InvalidInput

if TYPE_CHECKING:
    from agentgpt.operations.verify import VerifyReport

#: Sessions checked by ``--all`` without ``--sample``.
DEFAULT_SAMPLE = 100


def verify(
    session_id: Annotated[str | None, typer.Option("--id", help="the session to check")] = None,
    all_: Annotated[bool, typer.Option("--all", help="check a random sample of the store")] = False,
    sample: Annotated[
        int | None, typer.Option("--sample", min=1, help="sessions to check with --all [100]")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    file: ConfigOption = None,
    url: UrlOption = None,
) -> None:
    """Verify that a session's records authenticate, chain and expire as they must.

    Example: agentgpt session verify --id sess_abc... ; agentgpt session verify --all --sample 50
    """
    if (session_id is None) == (not all_) or (sample is not None and not all_):
        raise InvalidInput("give either --id SESSION_ID or --all [--sample N]")
    import msgspec

    reports = run(_run(session_id, sample or DEFAULT_SAMPLE, file, url, not as_json))
    if as_json:
        typer.echo(json.dumps(msgspec.to_builtins(_summary(reports))))
    else:
        for report in reports:
            for line in report.lines():
                typer.echo(line)
        if all_:
            bad = sum(not r.sound for r in reports)
            typer.echo(f"{len(reports)} sessions checked, {bad} corrupt")
    if any(not r.sound for r in reports):
        raise typer.Exit(1)


async def _run(
    session_id: str | None, sample: int, file: ConfigOption, url: UrlOption, show_bar: bool
) -> list[VerifyReport]:
    from rich.console import Console
    from rich.progress import Progress

    from agentgpt.operations.verify import verify_sample, verify_session

    settings, store = open_store(file, url)
    key_manager = key_manager_for(settings)
    try:
        if session_id is not None:
            return [await verify_session(store, key_manager, session_id)]
        # A progress bar on stderr for bulk checks (stdout stays the report).
        with Progress(console=Console(stderr=True), transient=True, disable=not show_bar) as bar:
            task = bar.add_task("verifying", total=None)
            return await verify_sample(
                store,
                key_manager,
                sample,
                lambda done, total: bar.update(task, completed=done, total=total),
            )
    finally:
        await store.aclose()


def _summary(reports: list[VerifyReport]) -> dict[str, object]:
    import msgspec

    return {
        "sound": all(r.sound for r in reports),
        "checked": len(reports),
        "sessions": [{**msgspec.to_builtins(r), "sound": r.sound} for r in reports],
    }
