"""The ``sandbox`` driver: each worker a process under bubblewrap namespaces and a cgroup.

Namespaces: own user, pid, network (loopback only, down), ipc, uts and mount namespaces;
the filesystem is read-only and holds only the interpreter, the import path and a few
system libraries (never the data directory), plus a private tmpfs ``/tmp`` that dies
with the worker. No capabilities, no new privileges, uid ``nobody``. The cgroup caps CPU
(quota), memory and processes, and gives the session its CPU weight.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from agentgpt.config.paths import data_home
from agentgpt.errors import AgentError, RuntimeUnavailable, WorkerFailed, WorkerLimitExceeded
from agentgpt.runtime import cgroups, frames
from agentgpt.runtime.cgroups import CgroupLayout, WorkerCgroup
from agentgpt.runtime.driver import HandlerSpec
from agentgpt.runtime.policy import ResourcePolicy, format_memory
from agentgpt.runtime.worker import REAP_ENV

#: System directories the interpreter needs (read-only); missing ones are skipped.
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime")
NOBODY = 65534
#: The worker's private tmpfs (inside its own mount namespace, gone with the worker).
SANDBOX_TMP = "/tmp"  # noqa: S108
# Joins the worker's cgroups before anything of the worker runs, then becomes bubblewrap.
_JOIN = 'for f in $AGENTGPT_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"'
_ids = itertools.count(1)


class SandboxDriver:
    """Starts workers under bubblewrap with a cgroup each (cgroup v1 or v2)."""

    name = "sandbox"

    def __init__(self, cgroup_parent: str = "agentgpt", start_timeout: float = 20.0) -> None:
        """Put worker cgroups under ``cgroup_parent`` in each hierarchy."""
        self.cgroup_parent = f"{cgroup_parent}/{os.getpid()}"
        self.start_timeout = start_timeout
        self._layout: CgroupLayout | None = None
        self._bwrap: str | None = None

    def probe(self) -> None:
        """Check bubblewrap, namespaces and writable cgroups; raise ``RuntimeUnavailable``."""
        if sys.platform != "linux":
            raise RuntimeUnavailable("sandbox runtime: needs Linux (namespaces and cgroups)")
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise RuntimeUnavailable(
                "sandbox runtime: bubblewrap (bwrap) is not on PATH; apt-get install bubblewrap"
            )
        self._layout = cgroups.detect()
        trial = subprocess.run(  # noqa: S603 - our own argument list
            [bwrap, *_namespace_args(), *_bind_args(()), "--", "/bin/true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        if trial.returncode != 0:
            reason = trial.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeUnavailable(
                "sandbox runtime: bubblewrap cannot create namespaces here "
                f"({reason[-1] if reason else f'exit {trial.returncode}'})"
            )
        self._bwrap = bwrap

    async def start(self, handler: HandlerSpec, policy: ResourcePolicy) -> SandboxWorker:
        """Start one worker and wait for its hello."""
        if self._layout is None or self._bwrap is None:
            await asyncio.to_thread(self.probe)
        assert self._layout is not None
        assert self._bwrap is not None
        name = f"w{next(_ids)}"
        group = WorkerCgroup(self._layout, self.cgroup_parent, name)
        await asyncio.to_thread(group.create, policy)
        try:
            process = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                _JOIN,
                "sh",
                *self.command(handler),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env={
                    "AGENTGPT_CGROUP_PROCS": " ".join(map(str, group.procs_files)),
                    "PATH": "/usr/bin:/bin",
                },
            )
            worker = SandboxWorker(name, process, group, policy)
            await worker.wait_ready(self.start_timeout)
        except BaseException:
            await asyncio.to_thread(group.destroy)
            raise
        return worker

    def command(self, handler: HandlerSpec) -> list[str]:
        """The bubblewrap command line of a worker running ``handler``."""
        assert self._bwrap is not None
        paths = _import_paths(handler.paths)
        return [
            self._bwrap,
            *_namespace_args(),
            *_bind_args(paths),
            "--clearenv",
            "--setenv",
            "PYTHONPATH",
            os.pathsep.join(paths),
            "--setenv",
            "HOME",
            SANDBOX_TMP,
            "--setenv",
            "PYTHONDONTWRITEBYTECODE",
            "1",
            "--setenv",
            REAP_ENV,
            "1",
            "--",
            sys.executable,
            "-m",
            "agentgpt.runtime.worker",
            handler.factory,
            handler.arg,
        ]


def _namespace_args() -> list[str]:
    return [
        "--unshare-all",
        "--die-with-parent",
        # The worker is the pid namespace's init: every process an agent forks stays its
        # descendant (orphans come back to init; init may not clone siblings), so "no child
        # left" after a turn is one waitpid, and when the worker dies the kernel kills the rest.
        "--as-pid-1",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]


def _import_paths(extra: tuple[str, ...]) -> list[str]:
    paths = [p for p in (*sys.path, *extra) if p and Path(p).is_dir()]
    resolved = dict.fromkeys(Path(p).resolve() for p in paths)
    # /tmp itself (or "/") would expose the host's /tmp; a folder inside it (a checkout or
    # a virtual environment under /tmp, as CI may have) is bound read-only like any other.
    return [str(p) for p in resolved if not Path(SANDBOX_TMP).is_relative_to(p)]


def _bind_args(paths: list[str] | tuple[str, ...]) -> list[str]:
    # The private tmp first: paths bound after it that lie inside /tmp are mounted on top of
    # it (read-only), and nothing else of the host's /tmp is visible.
    args: list[str] = ["--tmpfs", SANDBOX_TMP]
    for system in SYSTEM_DIRS:
        path = Path(system)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), system]
        elif path.exists():
            args += ["--ro-bind", system, system]
    interpreters = {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)}
    for path in sorted({*interpreters, *paths} - {"/", SANDBOX_TMP}):
        args += ["--ro-bind", path, path]
    home = data_home().resolve()
    if any(home.is_relative_to(p) for p in {*interpreters, *paths}) and home.exists():
        args += ["--tmpfs", str(home)]  # the data directory (keys, store) is never visible
    return [*args, "--chdir", SANDBOX_TMP]


class SandboxWorker:
    """A running sandboxed worker: its process, its pipes and its cgroup."""

    def __init__(
        self,
        name: str,
        process: asyncio.subprocess.Process,
        group: WorkerCgroup,
        policy: ResourcePolicy,
    ) -> None:
        """Wrap a started process; call ``wait_ready`` before use."""
        self.name = name
        self.process = process
        self.group = group
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._policy = policy

    async def wait_ready(self, time_limit: float) -> None:
        """Wait for the worker's hello (its handler is loaded)."""
        assert self.process.stdout is not None
        try:
            frame = await asyncio.wait_for(frames.read_frame(self.process.stdout), time_limit)
        except TimeoutError:
            raise WorkerFailed(f"the worker did not start within {time_limit:g}s") from None
        if frame.kind != "hello":
            raise WorkerFailed(f"the worker failed to start: {frame.error or frame.kind}")

    async def call(self, body: bytes, time_limit: float) -> bytes:
        """Send one request and wait up to ``time_limit`` seconds for its reply."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        async with self._lock:
            request = frames.Frame(frames.PROTOCOL_VERSION, "call", next(self._ids), body)
            try:
                # asyncio.timeout, not wait_for: no task per call (two loop passes fewer).
                async with asyncio.timeout(time_limit):
                    self.process.stdin.write(frames.encode(request))
                    await self.process.stdin.drain()
                    reply = await frames.read_frame(self.process.stdout)
            except TimeoutError:
                raise WorkerLimitExceeded(
                    f"the agent ran longer than the {time_limit:g}s turn limit; the turn was not "
                    "recorded and its worker was replaced"
                ) from None
            except (WorkerFailed, ConnectionError) as exc:
                raise await self._death_cause() from exc
        if reply.kind == "error":
            raise AgentError(f"the agent failed in its isolated worker ({reply.error})")
        if reply.kind != "reply" or reply.id != request.id:
            raise WorkerFailed("the worker answered out of turn")
        return reply.body

    async def _death_cause(self) -> AgentError:
        if await asyncio.to_thread(self.group.oom_kills):
            limit = self._policy.max_memory
            shown = format_memory(limit) if limit is not None else "its"
            return WorkerLimitExceeded(
                f"the agent went over the {shown} memory limit; the turn was not recorded "
                "and its worker was replaced"
            )
        return WorkerFailed("the isolated worker exited during the turn; it was replaced")

    async def apply(self, policy: ResourcePolicy) -> None:
        """Write new limits to the worker's cgroup."""
        await asyncio.to_thread(self.group.apply, policy)
        self._policy = policy

    async def memory_usage(self) -> int:
        """Bytes charged to the worker's cgroup."""
        return await asyncio.to_thread(self.group.memory_usage)

    async def stop(self) -> None:
        """Kill the worker's processes, remove its cgroup (its tmpfs goes with it)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()  # reaped by asyncio before the cgroup sweep kills the rest
        await asyncio.to_thread(self.group.destroy)
