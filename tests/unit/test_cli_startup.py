"""The CLI starts without the engine: ``agentgpt --help`` loads typer, not the session stack.

Guarded by what a fresh interpreter has imported, never by timing (the figures are in
docs/benchmarks.md, "CLI start-up").
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from agentgpt.cli import demo_cmd, token_cmd

#: Packages that cost tens to hundreds of milliseconds to import and that no ``--help``
#: needs: the NLU stack, the HTTP service, the store client, YAML, crypto. (Not pydantic:
#: typer >= 0.29 builds its parameter types with it; our configuration is guarded below
#: as ``agentgpt.config``.)
HEAVY = (
    "sklearn", "scipy", "numpy", "fastapi", "starlette", "uvicorn", "httpx", "redis",
    "yaml", "cryptography", "jwt", "msgspec", "asyncio",
)  # fmt: skip

#: The only agentgpt modules the CLI may load before a command runs.
LIGHT_AGENTGPT = ("agentgpt", "agentgpt.errors")

#: Every group and command of the CLI, as ``--help`` is asked of it.
HELPS = [
    [], ["session"], ["session", "show"], ["session", "list"], ["session", "erase"],
    ["session", "verify"], ["session", "monitor"], ["session", "store"],
    ["session", "store", "init"], ["session", "limits"], ["session", "limits", "set"],
    ["session", "limits", "show"], ["session", "limits", "unset"], ["token"],
    ["token", "create"], ["security"], ["security", "rotate-keys"], ["security", "scan"],
    ["security", "compact"], ["security", "e2e-identity"], ["nlu"], ["nlu", "train"],
    ["nlu", "eval"], ["demo"], ["serve"],
]  # fmt: skip


def _loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded: list[str] = json.loads(out.splitlines()[-1])
    return loaded


def _heavy(loaded: list[str]) -> list[str]:
    """The modules of ``loaded`` that the CLI must not import before a command runs."""

    def ours_but_heavy(name: str) -> bool:
        light = name in LIGHT_AGENTGPT or name == "agentgpt.cli"
        # "agentgpt.cli." with the dot: agentgpt.client is not part of the CLI.
        return name.startswith("agentgpt.") and not light and not name.startswith("agentgpt.cli.")

    return sorted(m for m in loaded if m.split(".")[0] in HEAVY or ours_but_heavy(m))


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded = _loaded_after("import agentgpt.cli.app")
    assert "agentgpt.cli.app" in loaded  # the probe ran what it says
    assert _heavy(loaded) == []
    assert "pydantic" not in loaded  # typer needs it only to build the commands


def test_every_help_loads_no_heavy_module() -> None:
    # Building each command reads its signature (typing.get_type_hints): an option type
    # from a heavy module would be imported here.
    code = (
        "import contextlib, io\n"
        "from agentgpt.cli import main\n"
        f"for argv in {HELPS!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "        code = main([*argv, '--help'])\n"
        "    assert code == 0 and 'Usage' in out.getvalue(), (argv, code, out.getvalue())\n"
    )
    loaded = _loaded_after(code)
    assert "agentgpt.cli.verify_cmd" in loaded
    assert _heavy(loaded) == []


def test_a_command_still_loads_what_it_needs() -> None:
    # The guard above is only meaningful if the probe sees imports that do happen.
    loaded = _loaded_after(
        "from agentgpt.cli.options import settings_from\nsettings_from(None, None)"
    )
    assert "pydantic" in loaded
    assert "agentgpt.config.settings" in loaded


def test_token_help_names_every_scope() -> None:
    from agentgpt.security.tokens import SCOPES

    assert token_cmd.SCOPES == SCOPES


@pytest.mark.parametrize("attribute", ["__doc__", "__signature__"])
def test_demo_options_are_the_drivers(attribute: str) -> None:
    from agentgpt.demo import driver

    def view(func: Callable[..., object]) -> object:
        # Under ``from __future__ import annotations`` the signatures hold the annotations
        # as source text: equal signatures mean equal options, defaults and help.
        return inspect.signature(func) if attribute == "__signature__" else inspect.getdoc(func)

    assert view(demo_cmd.demo) == view(driver.demo)
