"""Settings of isolated agent runtimes (issue 18): the driver, the warm pool, the limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentgpt.config.durations import Duration

#: What a region name may look like (also the key suffix of its limits in the store).
REGION_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"

_STRICT = ConfigDict(extra="forbid")


class FirecrackerSettings(BaseModel):
    """Where the firecracker driver finds its binary and guest images."""

    model_config = _STRICT

    binary: str = Field(default="firecracker", description="name on PATH or absolute path")
    kernel: Path | None = Field(default=None, description="uncompressed guest kernel (vmlinux)")
    rootfs: Path | None = Field(default=None, description="ext4 root filesystem with python")
    vcpus: int = Field(default=1, ge=1, le=32)
    memory_mib: int = Field(default=256, ge=64, le=32768)


class RuntimeSettings(BaseModel):
    """Isolated runtimes: which driver, how many warm workers, per-turn deadline."""

    model_config = _STRICT

    default: Literal["none", "sandbox", "firecracker"] = Field(
        default="none",
        description="runtime of sessions that do not choose one (none: in the service process)",
    )
    min_ready: int = Field(default=2, ge=0, le=1024, description="pre-warmed idle workers")
    max_workers: int = Field(default=64, ge=1, le=4096)
    idle_recycle: Duration = Field(
        default=timedelta(seconds=60),
        description="a bound worker idle this long is killed (wiped) and replaced",
    )
    turn_timeout: Duration = Field(
        default=timedelta(seconds=10), description="a turn running longer kills its worker"
    )
    start_timeout: Duration = timedelta(seconds=20)
    cgroup_parent: str = Field(
        default="agentgpt",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="cgroup (under each hierarchy's root) holding one child per worker",
    )
    default_memory: str = Field(default="512Mi", description="memory of a worker without limits")
    default_cpu: float = Field(
        default=0.5,
        gt=0,
        le=1024,
        description="CPU cap of a worker without limits, and of every worker while it starts "
        "(a replacement's imports never take more than this from other sessions)",
    )
    default_pids: int = Field(default=64, ge=8, le=100_000)
    limits_cache: Duration = Field(
        default=timedelta(seconds=5), description="how long a region's limits are cached"
    )
    firecracker: FirecrackerSettings = Field(default_factory=FirecrackerSettings)
