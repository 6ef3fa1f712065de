"""Issue 18 without workers: policy parsing, the turn protocol, the firecracker driver's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgpt.config.runtime_settings import FirecrackerSettings
from agentgpt.errors import InvalidInput, RuntimeUnavailable, WorkerFailed
from agentgpt.runtime import frames, parse_cpu, parse_memory, parse_pids
from agentgpt.runtime.firecracker import FirecrackerDriver, boot_calls
from agentgpt.runtime.policy import ResourcePolicy, format_memory


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


# Firecracker's published API (src/firecracker/swagger/firecracker.yaml, API 1.9.0-dev,
# firecracker-microvm/firecracker at cd76b45a): the operations we call, each body's required
# properties, the properties it defines, and the constraints we depend on.
SPEC = {
    ("PUT", "/machine-config"): (
        {"vcpu_count", "mem_size_mib"},
        {"cpu_template", "smt", "mem_size_mib", "track_dirty_pages", "vcpu_count", "huge_pages"},
    ),
    ("PUT", "/boot-source"): (
        {"kernel_image_path"}, {"boot_args", "initrd_path", "kernel_image_path"},
    ),
    ("PUT", "/drives/{drive_id}"): (
        {"drive_id", "is_root_device"},
        {"drive_id", "partuuid", "is_root_device", "cache_type", "is_read_only", "path_on_host",
         "rate_limiter", "io_engine", "socket"},
    ),
    ("PUT", "/vsock"): ({"guest_cid", "uds_path"}, {"guest_cid", "uds_path", "vsock_id"}),
    ("PUT", "/actions"): ({"action_type"}, {"action_type"}),
}  # fmt: skip
ACTION_TYPES = {"FlushMetrics", "InstanceStart", "SendCtrlAltDel"}


def test_firecracker_api_calls_match_the_published_specification(tmp_path: Path) -> None:
    settings = FirecrackerSettings(kernel=tmp_path / "vmlinux", rootfs=tmp_path / "rootfs.ext4")
    calls = boot_calls(settings, ResourcePolicy(max_cpu=2, max_memory=512 * 2**20), "/v.sock", 3)
    assert [c.path for c in calls][-1] == "/actions"  # InstanceStart comes last
    for call in calls:
        template = "/drives/{drive_id}" if call.path.startswith("/drives/") else call.path
        required, known = SPEC[(call.method, template)]
        assert required <= set(call.body), call.path
        assert set(call.body) <= known, call.path
    bodies = {c.path: c.body for c in calls}
    assert 1 <= bodies["/machine-config"]["vcpu_count"] <= 32
    assert bodies["/machine-config"]["mem_size_mib"] == 512
    assert bodies["/drives/rootfs"]["drive_id"] == "rootfs"  # path parameter = body id
    assert bodies["/vsock"]["guest_cid"] >= 3
    assert bodies["/actions"]["action_type"] in ACTION_TYPES


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
