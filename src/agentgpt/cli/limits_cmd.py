"""``agentgpt session limits set|show|unset``: resource limits of isolated runtimes per region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentgpt.cli.options import ConfigFile, Json, StoreUrl, emit, run, settings_from
from agentgpt.errors import InvalidInput

if TYPE_CHECKING:
    from agentgpt.runtime import ResourcePolicy
    from agentgpt.store.context_store import RedisContextStore

limits_app = typer.Typer(
    help="Resource limits (CPU, memory, processes) of isolated agent workers, per region.",
    no_args_is_help=True,
)
Region = Annotated[
    str | None, typer.Option("--region", help="the region (default: sessions.region)")
]


def policy_view(policy: ResourcePolicy) -> dict[str, Any]:
    """A policy as people and scripts read it (memory as ``512Mi``)."""
    from agentgpt.runtime.policy import format_memory

    return {
        "max_cpu": policy.max_cpu,
        "max_memory": format_memory(policy.max_memory) if policy.max_memory else None,
        "max_pids": policy.max_pids,
    }


async def _run(store: RedisContextStore, work: Any) -> Any:
    from agentgpt.runtime import RegionLimits

    try:
        return await work(RegionLimits(store, cache_seconds=0))
    finally:
        await store.aclose()


@limits_app.command("set")
def set_limits(
    max_cpu: Annotated[str | None, typer.Option("--max-cpu", help="CPUs: 2, 0.5, 500m")] = None,
    max_memory: Annotated[
        str | None, typer.Option("--max-memory", help="bytes: 512Mi, 2Gi, 1G")
    ] = None,
    max_pids: Annotated[str | None, typer.Option("--max-pids", help="processes+threads")] = None,
    region: Region = None,
    config: ConfigFile = None,
    url: StoreUrl = None,
    as_json: Json = False,
) -> None:
    """Set the limits every isolated worker of a region runs under (replaces the old ones).

    Example: agentgpt session limits set --max-cpu=2 --max-memory=512Mi --region=eu-central
    """
    from agentgpt.runtime import (
        ResourcePolicy,
        parse_cpu,
        parse_memory,
        parse_pids,
        validate_region,
    )
    from agentgpt.store.context_store import RedisContextStore

    if max_cpu is None and max_memory is None and max_pids is None:
        raise InvalidInput("give at least one of --max-cpu, --max-memory, --max-pids")
    policy = ResourcePolicy(
        max_cpu=parse_cpu(max_cpu) if max_cpu is not None else None,
        max_memory=parse_memory(max_memory) if max_memory is not None else None,
        max_pids=parse_pids(max_pids) if max_pids is not None else None,
    )
    settings = settings_from(config, url)
    name = validate_region(region or settings.sessions.region, settings.sessions.regions)
    run(_run(RedisContextStore(settings.store), lambda lim: lim.set(name, policy)))
    emit({"region": name, **policy_view(policy)}, as_json, [f"{name}: {policy.describe()}"])


@limits_app.command("show")
def show_limits(
    region: Region = None, config: ConfigFile = None, url: StoreUrl = None, as_json: Json = False
) -> None:
    """Show the limits of one region, or of every region that has some.

    Example: agentgpt session limits show --region=eu-central --json
    """
    from agentgpt.runtime import validate_region
    from agentgpt.store.context_store import RedisContextStore

    settings = settings_from(config, url)
    store = RedisContextStore(settings.store)
    if region is not None:
        name = validate_region(region)
        policy = run(_run(store, lambda lim: lim.get(name)))
        policies = {name: policy} if policy is not None else {}
    else:
        policies = run(_run(store, lambda lim: lim.all()))
    data = {name: policy_view(p) for name, p in policies.items()}
    lines = [f"{name}: {p.describe()}" for name, p in policies.items()] or [
        "no limits set (workers run under sessions.runtime defaults)"
    ]
    emit(data, as_json, lines)


@limits_app.command("unset")
def unset_limits(region: Region = None, config: ConfigFile = None, url: StoreUrl = None) -> None:
    """Remove a region's limits (its workers fall back to the defaults).

    Example: agentgpt session limits unset --region=eu-central
    """
    from agentgpt.runtime import validate_region
    from agentgpt.store.context_store import RedisContextStore

    settings = settings_from(config, url)
    name = validate_region(region or settings.sessions.region)
    removed = run(_run(RedisContextStore(settings.store), lambda lim: lim.unset(name)))
    typer.echo(f"{name}: limits removed" if removed else f"{name}: had no limits (nothing to do)")
