"""The ``firecracker`` driver: one microVM per worker, configured over Firecracker's API socket.

Not yet run on a real KVM host (the machines this was built on have no Firecracker binary
and no usable hardware virtualisation); the request bodies follow Firecracker's published
OpenAPI specification (``src/firecracker/swagger/firecracker.yaml``, API 1.9) and the tests
check them against its required fields and enums. The guest image must start
``python -m agentgpt.runtime.worker`` on vsock port ``GUEST_PORT`` (e.g. with socat).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agentgpt.config.runtime_settings import FirecrackerSettings
from agentgpt.errors import AgentError, RuntimeUnavailable, WorkerFailed, WorkerLimitExceeded
from agentgpt.runtime import frames
from agentgpt.runtime.driver import HandlerSpec
from agentgpt.runtime.policy import ResourcePolicy

KVM = Path("/dev/kvm")
KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_API_VERSION = 0xAE00, 0xAE01, 12
GUEST_PORT = 52
BOOT_ARGS = "console=ttyS0 reboot=k panic=1 pci=off ro"
_cids = itertools.count(3)  # guest CIDs 0-2 are reserved


@dataclass(frozen=True)
class ApiCall:
    """One request to Firecracker's API socket."""

    method: str
    path: str
    body: dict[str, Any]


def kvm_problem(device: Path = KVM) -> str | None:
    """Why KVM is unusable here, or None when a VM can be created."""
    if not device.exists():
        return f"{device} does not exist (no KVM)"
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"{device} cannot be opened read-write ({exc.strerror})"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != KVM_API_VERSION:
            return f"{device} speaks an unknown KVM API version"
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
    except OSError as exc:
        return f"{device} cannot create a VM ({exc.strerror})"
    finally:
        os.close(fd)
    return None


def boot_calls(
    settings: FirecrackerSettings, policy: ResourcePolicy, vsock_path: str, cid: int
) -> list[ApiCall]:
    """The API calls that configure and start one worker's microVM, in order."""
    assert settings.kernel is not None
    assert settings.rootfs is not None
    memory_mib = settings.memory_mib
    if policy.max_memory is not None:
        memory_mib = max(64, policy.max_memory // 2**20)
    vcpus = settings.vcpus if policy.max_cpu is None else max(1, int(policy.max_cpu))
    return [
        ApiCall(
            "PUT",
            "/machine-config",
            {"vcpu_count": min(vcpus, 32), "mem_size_mib": memory_mib, "smt": False},
        ),
        ApiCall(
            "PUT",
            "/boot-source",
            {"kernel_image_path": str(settings.kernel), "boot_args": BOOT_ARGS},
        ),
        ApiCall(
            "PUT",
            "/drives/rootfs",
            {
                "drive_id": "rootfs",
                "path_on_host": str(settings.rootfs),
                "is_root_device": True,
                "is_read_only": True,
            },
        ),
        ApiCall("PUT", "/vsock", {"guest_cid": cid, "uds_path": vsock_path}),
        ApiCall("PUT", "/actions", {"action_type": "InstanceStart"}),
    ]


class FirecrackerDriver:
    """Starts one Firecracker microVM per worker; the turn protocol runs over vsock."""

    name = "firecracker"

    def __init__(self, settings: FirecrackerSettings) -> None:
        """Use the binary and guest images named in ``settings``."""
        self.settings = settings
        self._binary: str | None = None

    def probe(self) -> None:
        """Check KVM, the binary and both images; ``RuntimeUnavailable`` names what is missing."""
        missing = []
        if (kvm := kvm_problem()) is not None:
            missing.append(kvm)
        binary = shutil.which(self.settings.binary)
        if binary is None:
            missing.append(f"the {self.settings.binary!r} binary is not on PATH")
        for label, path in (("kernel", self.settings.kernel), ("rootfs", self.settings.rootfs)):
            if path is None:
                missing.append(f"no guest {label} image (sessions.runtime.firecracker.{label})")
            elif not path.is_file():
                missing.append(f"guest {label} image {path} does not exist")
        if missing:
            raise RuntimeUnavailable("firecracker runtime: " + "; ".join(missing))
        self._binary = binary

    async def start(self, handler: HandlerSpec, policy: ResourcePolicy) -> FirecrackerWorker:
        """Boot a microVM and connect to its worker over vsock."""
        if self._binary is None:
            await asyncio.to_thread(self.probe)
        assert self._binary is not None
        folder = Path(tempfile.mkdtemp(prefix="agentgpt-fc-"))
        api, vsock = folder / "api.sock", folder / "vsock.sock"
        process = await asyncio.create_subprocess_exec(
            self._binary,
            "--api-sock",
            str(api),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        worker = FirecrackerWorker(f"fc{process.pid}", process, folder)
        try:
            await _wait_for(api)
            transport = httpx.AsyncHTTPTransport(uds=str(api))
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
                for call in boot_calls(self.settings, policy, str(vsock), next(_cids)):
                    answer = await c.request(call.method, call.path, json=call.body)
                    if answer.status_code != 204:
                        raise WorkerFailed(f"firecracker refused {call.path}: {answer.text[:200]}")
            await worker.connect(vsock)
        except BaseException:
            await worker.stop()
            raise
        return worker


async def _wait_for(path: Path, time_limit: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + time_limit
    while not await asyncio.to_thread(path.exists):
        if loop.time() > until:
            raise WorkerFailed(f"firecracker did not open its API socket {path}")
        await asyncio.sleep(0.01)


class FirecrackerWorker:
    """A microVM running the worker; frames go over the vsock's host-side unix socket."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, folder: Path) -> None:
        """Wrap a started Firecracker process."""
        self.name = name
        self.process = process
        self.folder = folder
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)

    async def connect(self, vsock: Path, time_limit: float = 20.0) -> None:
        """Connect to the guest's worker port and wait for its hello."""
        await _wait_for(vsock, time_limit)
        self._reader, self._writer = await asyncio.open_unix_connection(str(vsock))
        self._writer.write(f"CONNECT {GUEST_PORT}\n".encode())
        await self._writer.drain()
        if not (await self._reader.readline()).startswith(b"OK"):
            raise WorkerFailed("the microVM's worker did not accept the vsock connection")
        hello = await asyncio.wait_for(frames.read_frame(self._reader), time_limit)
        if hello.kind != "hello":
            raise WorkerFailed(f"the microVM's worker failed to start: {hello.error}")

    async def call(self, body: bytes, time_limit: float) -> bytes:
        """One request over vsock."""
        assert self._reader is not None
        assert self._writer is not None
        request = frames.Frame(frames.PROTOCOL_VERSION, "call", next(self._ids), body)
        try:
            async with asyncio.timeout(time_limit):
                self._writer.write(frames.encode(request))
                await self._writer.drain()
                reply = await frames.read_frame(self._reader)
        except TimeoutError:
            raise WorkerLimitExceeded(f"the agent ran longer than {time_limit:g}s") from None
        if reply.kind == "error":
            raise AgentError(f"the agent failed in its microVM ({reply.error})")
        return reply.body

    async def apply(self, policy: ResourcePolicy) -> None:
        """A microVM's size is fixed at boot: limits apply to the next worker started."""

    async def memory_usage(self) -> int:
        """Resident memory of the Firecracker process (guest memory it touched)."""
        status = await asyncio.to_thread(Path(f"/proc/{self.process.pid}/status").read_text)
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return int(kib) * 1024

    async def stop(self) -> None:
        """Kill the microVM and remove its sockets."""
        if self._writer is not None:
            self._writer.close()
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)
