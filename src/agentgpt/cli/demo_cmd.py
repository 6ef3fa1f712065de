"""``agentgpt demo``: the command's options here, its work in ``agentgpt.demo.driver``.

The driver imports the HTTP client, the wire models and the crypto of the end-to-end
protocol; Typer needs only the signature to build the CLI, so this module repeats it and
imports the driver when the command runs. ``tests/unit/test_cli_startup.py`` keeps the
two signatures and help texts equal.
"""

from __future__ import annotations

from typing import Annotated

import typer


def demo(
    customers: Annotated[int, typer.Option(help="simulated customers", min=1, max=10_000)] = 20,
    duration: Annotated[float, typer.Option(help="seconds of load", min=1, max=3600)] = 20,
    port: Annotated[int, typer.Option(help="port to serve on (0: a free one)", min=0)] = 0,
    server: Annotated[
        str | None, typer.Option(help="drive a running service at this URL instead")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="store URL for the service (default: embedded)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed for the workload")] = 7,
    keep_serving: Annotated[
        bool, typer.Option(help="keep the service up after the load, until Ctrl-C")
    ] = False,
) -> None:
    """Start the store and the service, run simulated customers over HTTP, print a summary.

    Examples:
      agentgpt demo                                    # 20 customers for 20 s, then stop
      agentgpt demo --customers 200 --duration 60 --keep-serving
      agentgpt demo --server http://127.0.0.1:8080     # against a running agentgpt serve
    """
    from agentgpt.demo import driver

    driver.demo(
        customers=customers,
        duration=duration,
        port=port,
        server=server,
        url=url,
        seed=seed,
        keep_serving=keep_serving,
    )
