"""The part of Firecracker's published API the firecracker driver calls, as JSON Schema.

Transcribed (names, types, required properties, enums and bounds; descriptions left out)
from the ``definitions`` of Firecracker's OpenAPI (Swagger 2.0) specification,
``src/firecracker/swagger/firecracker.yaml`` of firecracker-microvm/firecracker, API
1.17.0-dev (commit 004d935); the five definitions below are unchanged in their required
properties since API 1.9. The file itself is not vendored: no PyPI or npm package ships it
(firecracker-python and hysn-firecracker-python were checked), and this repository's
policy keeps other repositories' files out of it. ``additionalProperties: false`` is ours:
the driver must send nothing the specification does not define.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}

DEFINITIONS: dict[str, dict[str, Any]] = {
    "MachineConfiguration": {
        "required": ["mem_size_mib", "vcpu_count"],
        "properties": {
            "cpu_template": {"enum": ["C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"]},
            "smt": _BOOL,
            "mem_size_mib": {"type": "integer"},
            "track_dirty_pages": _BOOL,
            "vcpu_count": {"type": "integer", "minimum": 1, "maximum": 32},
            "huge_pages": {"enum": ["None", "Transparent", "2M"]},
        },
    },
    "BootSource": {
        "required": ["kernel_image_path"],
        "properties": {"boot_args": _STRING, "initrd_path": _STRING, "kernel_image_path": _STRING},
    },
    "Drive": {
        "required": ["drive_id", "is_root_device"],
        "properties": {
            "drive_id": _STRING,
            "partuuid": _STRING,
            "is_root_device": _BOOL,
            "cache_type": {"enum": ["Unsafe", "Writeback"]},
            "is_read_only": _BOOL,
            "path_on_host": _STRING,
            "rate_limiter": {"type": "object"},
            "io_engine": {"enum": ["Sync", "Async"]},
            "socket": _STRING,
        },
    },
    "Vsock": {
        "required": ["guest_cid", "uds_path"],
        "properties": {
            "guest_cid": {"type": "integer", "minimum": 3},
            "uds_path": _STRING,
            "vsock_id": _STRING,
        },
    },
    "InstanceActionInfo": {
        "required": ["action_type"],
        "properties": {
            "action_type": {"enum": ["FlushMetrics", "InstanceStart", "SendCtrlAltDel"]}
        },
    },
}

#: The operations the driver uses: (method, path template) -> the body's definition.
OPERATIONS = {
    ("PUT", "/machine-config"): "MachineConfiguration",
    ("PUT", "/boot-source"): "BootSource",
    ("PUT", "/drives/{drive_id}"): "Drive",
    ("PUT", "/vsock"): "Vsock",
    ("PUT", "/actions"): "InstanceActionInfo",
}


def template(path: str) -> str:
    """The specification's path template of a request path."""
    return "/drives/{drive_id}" if path.startswith("/drives/") else path


def problems(method: str, path: str, body: object) -> list[str]:
    """What is wrong with one request by the specification (empty: nothing)."""
    name = OPERATIONS.get((method, template(path)))
    if name is None:
        return [f"{method} {path} is not an operation the driver may use"]
    schema = {"type": "object", "additionalProperties": False, **DEFINITIONS[name]}
    found = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(body)]
    if name == "Drive" and isinstance(body, dict) and path != f"/drives/{body.get('drive_id')}":
        found.append("the drive_id path parameter differs from the body's drive_id")
    return found
