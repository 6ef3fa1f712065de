"""Every wrong command line: one line on stderr, no traceback, the README's exit code.

Against real servers: a plain Valkey, a TLS-only redis-server (when one is on PATH), a
Valkey with ``requirepass``, a cluster with one master stopped, and ports nobody listens on.
Rows marked ``process`` run as real processes (``python -m agentgpt ...``, several at a
time: exit status and stderr as a shell sees them); the others in-process through
``agentgpt.cli.main`` (the same code path, without paying the interpreter start each time).
Exit codes (README, ``agentgpt --help``): 2 usage, 69 store unavailable, 78 configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from agentgpt.cli.app import main
from tests import servers
from tests.tls_certs import make_pki

USAGE, UNAVAILABLE, CONFIG = 2, 69, 78
SECRET = "Pw-9f3kQ-never-shown"  # a test password that must appear nowhere
TLS_BINARY = servers.tls_server_binary()


@dataclass(frozen=True)
class Case:
    """One wrong command line: its arguments, environment and what must come out."""

    argv: tuple[str, ...]
    code: int
    needle: str
    env: dict[str, str] = field(default_factory=dict)
    needs_tls_binary: bool = False
    process: bool = False


BROKEN_YAML = "session_storage: [1, 2\n"
UNKNOWN_KEY = "session_storage:\n  config:\n    clustre_mode: true\n"
BAD_DURATION = "sessions:\n  idle_timeout: 15 fortnights\n"
TLS_ON_PLAIN = "session_storage:\n  engine: redis\n  config:\n    url: {plain}\n    tls: true\n"


def _case(code: int, needle: str, *argv: str, env: dict[str, str] | None = None,
          process: bool = False, tls: bool = False) -> Case:  # fmt: skip
    return Case(argv, code, needle, env or {}, tls, process)


DEAD_ENV = {"AGENTGPT_STORE_URL": "{dead_url}"}
DEAD_CLUSTER_ENV = {"AGENTGPT_STORE_URL": "{dead_cluster}"}
SID = "sess_abcdefgh"

# fmt: off
CASES: dict[str, Case] = {
    # --- usage: unknown command or option, missing or bad value (exit 2)
    "unknown-command": _case(USAGE, "No such command 'sessoin'", "sessoin", "list",
                             process=True),
    "unknown-option": _case(USAGE, "--idd", "session", "verify", "--idd", "x"),
    "missing-option": _case(USAGE, "Missing option '--id'", "session", "show", process=True),
    "missing-subcommand": _case(USAGE, "missing command", "session"),
    "bad-integer": _case(USAGE, "--sample", "session", "verify", "--all", "--sample", "x"),
    "verify-neither": _case(USAGE, "--id", "session", "verify"),
    "erase-both": _case(USAGE, "exactly one", "session", "erase", "--id", SID, "--user", "u",
                        "--yes"),
    "monitor-bad-window": _case(USAGE, "--window", "session", "monitor", "--window", "2h"),
    "scan-neither": _case(USAGE, "--all", "security", "scan"),
    "rotate-bad-horizon": _case(USAGE, "--retire-before", "security", "rotate-keys",
                                "--retire-before", "soon"),
    "token-bad-ttl": _case(USAGE, "--ttl", "token", "create", "--user", "a", "--scope",
                           "session:read", "--ttl", "forever"),
    "token-missing-value": _case(USAGE, "requires an argument", "token", "create", "--user",
                                 process=True),
    "serve-bad-workers": _case(USAGE, "--workers", "serve", "--workers", "0"),
    "serve-bad-port": _case(USAGE, "--port", "serve", "--port", "eighty", process=True),
    "nlu-missing-data": _case(USAGE, "--data", "nlu", "train"),
    "demo-bad-count": _case(USAGE, "--customers", "demo", "--customers", "0"),
    # --- store unavailable: one line naming the node, credentials masked (exit 69)
    "standalone-down-list": _case(UNAVAILABLE, "127.0.0.1:{dead}", "session", "list", "--url",
                                  "{dead_url}", process=True),
    "standalone-down-init": _case(UNAVAILABLE, "127.0.0.1:{dead}", "session", "store", "init",
                                  "--url", "{dead_url}"),
    "standalone-down-scan": _case(UNAVAILABLE, "127.0.0.1:{dead}", "security", "scan", "--all",
                                  "--url", "{dead_url}"),
    "standalone-down-rotate": _case(UNAVAILABLE, "127.0.0.1:{dead}", "security", "rotate-keys",
                                    "--url", "{dead_url}"),
    "standalone-down-env": _case(UNAVAILABLE, "127.0.0.1:{dead}", "session", "erase", "--id",
                                 SID, "--yes", env=DEAD_ENV, process=True),
    "cluster-down-show": _case(UNAVAILABLE, "127.0.0.1:{dead2}", "session", "show", "--id", SID,
                               "--url", "{dead_cluster}", process=True),
    "cluster-down-verify": _case(UNAVAILABLE, "Redis Cluster", "session", "verify", "--id", SID,
                                 "--url", "{dead_cluster}"),
    "cluster-down-monitor": _case(UNAVAILABLE, "redis+cluster://u:***@", "session", "monitor",
                                  "--url", "{dead_cluster}"),
    "cluster-down-init-env": _case(UNAVAILABLE, "127.0.0.1:{dead}", "session", "store", "init",
                                   env=DEAD_CLUSTER_ENV, process=True),
    "cluster-master-stopped-init": _case(UNAVAILABLE, "{stopped_node}", "session", "store",
                                         "init", "--url", "{partial}", process=True),
    "cluster-master-stopped-list": _case(UNAVAILABLE, "{stopped_node}", "session", "list",
                                         "--url", "{partial}"),
    "tls-url-on-plain-server": _case(UNAVAILABLE, "rediss://127.0.0.1:{plain_port}/0",
                                     "session", "list", "--url", "{plain_tls_url}",
                                     process=True),
    "tls-true-with-redis-url": _case(UNAVAILABLE, "with TLS", "session", "monitor", "-f",
                                     "{tls_on_plain}", process=True),
    "plaintext-on-tls-server": _case(UNAVAILABLE, "redis://app:***@127.0.0.1:{tls_port}/0",
                                     "session", "list", "--url",
                                     f"redis://app:{SECRET}@127.0.0.1:{{tls_port}}/0",
                                     tls=True, process=True),
    "wrong-password": _case(UNAVAILABLE, "redis://default:***@", "session", "list", "--url",
                            f"redis://default:wrong-{SECRET}@127.0.0.1:{{pw_port}}/0",
                            process=True),
    "demo-service-down": _case(UNAVAILABLE, "cannot reach http://127.0.0.1:{dead}", "demo",
                               "--server", "http://127.0.0.1:{dead}", "--duration", "1",
                               "--customers", "1"),
    # --- configuration mistakes (exit 78)
    "missing-file": _case(CONFIG, "nope.yaml", "session", "list", "-f", "{tmp}/nope.yaml",
                          process=True),
    "broken-yaml-init": _case(CONFIG, "not valid YAML", "session", "store", "init", "-f",
                              "{broken}"),
    "broken-yaml-serve": _case(CONFIG, "not valid YAML", "serve", "-f", "{broken}",
                               process=True),
    "unknown-setting": _case(CONFIG, "clustre_mode", "session", "monitor", "-f", "{unknown}"),
    "bad-duration": _case(CONFIG, "idle_timeout", "security", "scan", "--all", "-f",
                          "{bad_duration}"),
    "bad-url-scheme": _case(CONFIG, "--url", "session", "list", "--url", "ftp://x"),
    "cluster-url-without-nodes": _case(CONFIG, "nodes", "session", "store", "init", "--url",
                                       "redis+cluster://"),
    "bad-env-url": _case(CONFIG, "AGENTGPT_STORE_URL", "session", "verify", "--id", SID,
                         env={"AGENTGPT_STORE_URL": "http://x"}, process=True),
    "serve-refused-configuration": _case(CONFIG, "refused in production", "serve",
                                         env={"AGENTGPT_SERVER__ENVIRONMENT": "production",
                                              "AGENTGPT_SESSIONS__ENCRYPTION": "none"},
                                         process=True),
    "bad-env-setting": _case(CONFIG, "max_concurrent_sessions", "security", "rotate-keys",
                             env={"AGENTGPT_SESSIONS__MAX_CONCURRENT_SESSIONS": "-1"}),
}
# fmt: on

#: Short timeouts for every row (a TLS handshake with a plaintext server waits for them).
TIMEOUTS = {"AGENTGPT_SESSION_STORAGE__CONFIG__CONNECT_TIMEOUT": "1",
            "AGENTGPT_SESSION_STORAGE__CONFIG__SOCKET_TIMEOUT": "2"}  # fmt: skip


@pytest.fixture(scope="module")
def places(standalone_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """What the command lines name: servers up, down and half-down, and bad files."""
    tmp = tmp_path_factory.mktemp("cli-errors")
    files = {"broken": BROKEN_YAML, "unknown": UNKNOWN_KEY, "bad_duration": BAD_DURATION,
             "tls_on_plain": TLS_ON_PLAIN.format(plain=standalone_url)}  # fmt: skip
    names: dict[str, str] = {"tmp": str(tmp), "plain_port": standalone_url.split(":")[2][:-2]}
    for name, body in files.items():
        (tmp / f"{name}.yaml").write_text(body)
        names[name] = str(tmp / f"{name}.yaml")
    dead, dead2 = servers.free_port(), servers.free_port()
    names |= {
        "dead": str(dead), "dead2": str(dead2),
        "dead_url": f"redis://default:{SECRET}@127.0.0.1:{dead}/0",
        "dead_cluster": f"redis+cluster://u:{SECRET}@127.0.0.1:{dead},127.0.0.1:{dead2}",
        "plain_tls_url": f"rediss://127.0.0.1:{names['plain_port']}/0",
    }  # fmt: skip
    with (
        servers.standalone(password=SECRET) as protected,
        servers.restartable_cluster(3) as partial,
    ):
        names["pw_port"] = protected.rsplit(":", 1)[1].split("/")[0]
        partial.stop(0)
        names["stopped_node"] = partial.nodes[0]
        names["partial"] = "redis+cluster://" + ",".join(partial.nodes)
        if TLS_BINARY is None:
            yield names
            return
        (tmp / "pki").mkdir()
        pki = make_pki(tmp / "pki")
        with servers.tls_standalone(TLS_BINARY, pki, "app", SECRET) as tls_port:
            names["tls_port"] = str(tls_port)
            yield names


def _run(case: Case, names: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TIMEOUTS, **{k: v.format(**names) for k, v in case.env.items()}}
    argv = [sys.executable, "-m", "agentgpt", *(a.format(**names) for a in case.argv)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def processes(places: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """The ``process`` rows, each its own ``python -m agentgpt``, four at a time."""
    chosen = {k: c for k, c in CASES.items()
              if c.process and ("tls_port" in places or not c.needs_tls_binary)}  # fmt: skip
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, case, places) for name, case in chosen.items()}
        return {name: future.result() for name, future in futures.items()}


def test_the_table_covers_every_command_and_every_kind_of_mistake() -> None:
    lines = [" ".join(c.argv) for c in CASES.values()]
    commands = ("session show", "session list", "session erase", "session verify",
                "session monitor", "session store init", "security scan", "security rotate-keys",
                "token create", "nlu train", "serve", "demo")  # fmt: skip
    for command in commands:
        assert any(line.startswith(command) for line in lines), command
    codes = [c.code for c in CASES.values()]
    assert min(codes.count(USAGE), codes.count(UNAVAILABLE), codes.count(CONFIG)) >= 8
    assert sum(c.process for c in CASES.values()) >= 12
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_wrong_command_line_is_one_line_with_the_documented_exit_code(
    name: str, places: dict[str, str], processes: dict[str, subprocess.CompletedProcess[str]],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    case = CASES[name]
    if case.needs_tls_binary and "tls_port" not in places:
        pytest.skip("needs a TLS-built redis-server on PATH (.ci/run installs one)")
    if case.process:
        done = processes[name]
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        for key, value in {**TIMEOUTS, **case.env}.items():
            monkeypatch.setenv(key, value.format(**places))
        code = main([a.format(**places) for a in case.argv])
        out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert SECRET not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    assert case.needle.format(**places) in lines[0]
    assert code == case.code, lines[0]
