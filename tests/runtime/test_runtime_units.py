"""Issue 18 without workers: policy parsing, the turn protocol, the firecracker driver's checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentgpt.config.runtime_settings import FirecrackerSettings
from agentgpt.errors import InvalidInput, RuntimeUnavailable, WorkerFailed
from agentgpt.runtime import frames, parse_cpu, parse_memory, parse_pids
from agentgpt.runtime.driver import HandlerSpec
from agentgpt.runtime.firecracker import FirecrackerDriver, boot_calls
from agentgpt.runtime.policy import ResourcePolicy, format_memory
from tests.runtime.firecracker_api import problems


def test_sizes_and_cpus_parse_like_kubernetes_quantities() -> None:
    assert parse_memory("512Mi") == 512 * 2**20
    assert parse_memory("1G") == 10**9
    assert format_memory(parse_memory("2Gi")) == "2Gi"
    assert parse_cpu("500m") == 0.5
    assert parse_cpu("2") == 2.0
    assert parse_pids("64") == 64


@pytest.mark.parametrize(
    ("parse", "value"),
    [(parse_memory, "lots"), (parse_memory, "1Mi"), (parse_cpu, "0"), (parse_cpu, "x"),
     (parse_cpu, "5000"), (parse_pids, "2"), (parse_pids, "many")],
)  # fmt: skip
def test_bad_values_are_refused_with_one_line(parse: object, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(value)  # type: ignore[operator]
    assert "\n" not in str(caught.value)


def test_the_session_guarantee_wins_over_region_caps_for_the_weight_only() -> None:
    region = ResourcePolicy(max_cpu=2, max_memory=2**29)
    merged = ResourcePolicy(cpu_guarantee=0.5).merged(region)
    assert (merged.max_cpu, merged.max_memory, merged.cpu_guarantee) == (2, 2**29, 0.5)


def test_frames_round_trip_and_refuse_another_version() -> None:
    frame = frames.Frame(frames.PROTOCOL_VERSION, "call", 7, b"body")
    encoded = frames.encode(frame)
    assert frames.decode(encoded[4:]) == frame
    other = frames.encode(frames.Frame(frames.PROTOCOL_VERSION + 1, "hello"))
    with pytest.raises(WorkerFailed, match="protocol v2"):
        frames.decode(other[4:])
    with pytest.raises(WorkerFailed, match="broke the turn protocol"):
        frames.decode(b"\xc1garbage")


def test_firecracker_refuses_with_one_line_naming_what_is_missing(tmp_path: Path) -> None:
    driver = FirecrackerDriver(
        FirecrackerSettings(binary="firecracker-not-installed", rootfs=tmp_path / "none.ext4")
    )
    with pytest.raises(RuntimeUnavailable) as caught:
        driver.probe()
    message = str(caught.value)
    assert "\n" not in message
    assert "'firecracker-not-installed' binary is not on PATH" in message
    assert "no guest kernel image" in message
    assert "none.ext4 does not exist" in message


def test_firecracker_api_calls_match_the_published_specification(tmp_path: Path) -> None:
    settings = FirecrackerSettings(kernel=tmp_path / "vmlinux", rootfs=tmp_path / "rootfs.ext4")
    for policy in (ResourcePolicy(), ResourcePolicy(max_cpu=64, max_memory=2**40)):
        calls = boot_calls(settings, policy, "/v.sock", 3)
        assert [c.path for c in calls][-1] == "/actions"  # InstanceStart comes last
        for call in calls:
            assert problems(call.method, call.path, call.body) == [], call.path
    bodies = {c.path: c.body for c in calls}
    assert bodies["/machine-config"]["vcpu_count"] == 32  # capped at the spec's maximum
    assert bodies["/actions"] == {"action_type": "InstanceStart"}


def test_the_specification_check_refuses_what_firecracker_would() -> None:
    # So that the test above cannot pass by checking nothing.
    assert problems("PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 128})
    assert problems("PUT", "/machine-config", {"vcpu_count": 1})  # mem_size_mib required
    assert problems("PUT", "/vsock", {"guest_cid": 2, "uds_path": "/v"})  # CIDs 0-2 reserved
    assert problems("PUT", "/actions", {"action_type": "Start"})
    assert problems("PUT", "/boot-source", {"kernel_image_path": "/k", "cmdline": "x"})
    assert problems("PUT", "/drives/a", {"drive_id": "b", "is_root_device": True})
    assert problems("PATCH", "/vm", {"state": "Paused"})


async def test_firecracker_driver_boots_and_calls_through_a_spec_checking_api(
    tmp_path: Path,
) -> None:
    """The driver's HTTP calls, vsock handshake and turn protocol, against a stand-in binary.

    Not a microVM: no usable KVM here. The stand-in answers 400 to anything the
    specification refuses, as Firecracker does, and plays the guest's worker over the vsock.
    """
    log = tmp_path / "api.jsonl"
    binary = tmp_path / "firecracker"
    binary.write_text(
        f"#!/bin/sh\nexport FAKE_FC_LOG={log} PYTHONPATH={Path(__file__).parents[2]}\n"
        f'exec {sys.executable} -m tests.runtime.fake_firecracker "$@"\n'
    )
    binary.chmod(0o755)
    settings = FirecrackerSettings(kernel=tmp_path / "vmlinux", rootfs=tmp_path / "rootfs.ext4")
    driver = FirecrackerDriver(settings)
    driver._binary = str(binary)  # probe() would refuse: this machine cannot run a microVM
    worker = await driver.start(HandlerSpec("unused:here"), ResourcePolicy(max_memory=2**29))
    try:
        assert await worker.call(b"a turn", 5) == b"a turn"
        assert await worker.call(b"another", 5) == b"another"
    finally:
        await worker.stop()
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["problems"] for r in requests] == [[]] * 5
    assert [r["path"] for r in requests] == [
        "/machine-config", "/boot-source", "/drives/rootfs", "/vsock", "/actions",
    ]  # fmt: skip
    assert requests[0]["body"]["mem_size_mib"] == 512
    assert not worker.folder.exists()  # its sockets are removed with it


def test_a_path_under_tmp_is_bound_on_top_of_the_private_tmp(tmp_path: Path) -> None:
    # A checkout or virtual environment under /tmp (as a CI clone may be) was filtered out and
    # then hidden by the worker's private tmpfs: every isolated turn failed to import.
    from agentgpt.runtime.sandbox import _bind_args, _import_paths

    assert str(tmp_path.resolve()) in _import_paths((str(tmp_path),))
    assert "/tmp" not in _import_paths(("/tmp",))  # the host's /tmp itself is never bound
    args = _bind_args([str(tmp_path)])
    tmpfs = args.index("--tmpfs")
    assert args[tmpfs + 1] == "/tmp"
    triple = ["--ro-bind", str(tmp_path), str(tmp_path)]
    bound = [i for i in range(len(args) - 2) if args[i : i + 3] == triple]
    assert bound
    assert bound[0] > tmpfs  # mounted after the tmpfs, so on top of it


def test_a_worker_imports_neither_the_store_nor_the_service() -> None:
    # The package exports are lazy so that a sandboxed worker's cold start and idle memory
    # are its agent's own (they were ~1 s and ~60 MiB when the worker imported everything).
    import subprocess

    probe = (
        "import sys, agentgpt.runtime.worker, agentgpt.agents.isolated, agentgpt.agents.faq_agent;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'redis', 'fastapi', 'sklearn'}"
        " or m.startswith(('agentgpt.store', 'agentgpt.sessions', 'agentgpt.nlu'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
