"""``agentgpt serve``: the HTTP service on uvicorn (uvloop + httptools)."""

from __future__ import annotations

from typing import Annotated

import typer

from agentgpt.cli.options import ConfigFile, StoreUrl, settings_from


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default from config)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default from config: 8080)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes", min=1, max=64)] = None,
    config: ConfigFile = None,
    url: StoreUrl = None,
    demo_tokens: Annotated[
        bool,
        typer.Option(
            "--demo-tokens",
            help="serve /v1/demo/token for the web pages (development, loopback bind only)",
        ),
    ] = False,
) -> None:
    """Serve the REST/WebSocket API, /metrics and the web pages.

    Examples:
      agentgpt serve                      # embedded store, http://127.0.0.1:8080
      agentgpt serve --port 9000 --workers 2 -f conf/session-store.yaml
      agentgpt serve --demo-tokens        # the web pages sign in by themselves (dev only)

    A store that does not answer does not stop the service: /readyz is 503 until it does.
    Exit codes: 2 bad option, 78 a configuration the service refuses.
    """
    import os

    # The app (in each worker) reads these: it checks the bind and the demo-token switch.
    if host:
        os.environ["AGENTGPT_SERVER__HOST"] = host
    if demo_tokens:
        os.environ["AGENTGPT_SERVER__DEMO_TOKENS"] = "true"
    settings = settings_from(config, url)  # validate before forking workers
    from agentgpt.server.app import startup_checks
    from agentgpt.server.safety import bind_warning

    startup_checks(settings)  # a refused configuration: one line and exit 78, no traceback
    warning = bind_warning(settings)
    if warning:
        typer.echo(warning, err=True)
    if config is not None:
        os.environ["AGENTGPT_CONFIG"] = str(config)
    if url:
        os.environ["AGENTGPT_STORE_URL"] = url
    from agentgpt.server.listeners import run
    from agentgpt.server.middleware import configure_logging

    configure_logging(settings.server.log_json)
    # With several workers, each accepts on its own socket (server/listeners.py: one shared
    # socket let one worker take every connection of a burst).
    run(
        "agentgpt.server.app:create_app",
        factory=True,
        host=host or settings.server.host,
        port=port if port is not None else settings.server.port,
        workers=workers or settings.server.workers,
        loop="uvloop",
        http="httptools",
        # uvicorn 0.54 deprecates its legacy "websockets" protocol for the sans-I/O one.
        ws="websockets-sansio",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
