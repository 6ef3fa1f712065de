"""The model file format: a JSON manifest and a numpy ``.npz`` of plain arrays, no pickle.

A model is a directory holding ``manifest.json`` and ``arrays.npz``. Arrays are read with
``allow_pickle=False`` so loading never runs code. The manifest records the format, the
backend, the label set, the training-data fingerprint and a sha256 digest over the manifest
and every array (name, dtype, shape, bytes); a file that does not match is refused with
``IntegrityError``. The digest detects corruption and casual edits, not a forger who can
rewrite both files: protect the model directory like any other code you deploy.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agentgpt.errors import IntegrityError, InvalidInput

FORMAT = "agentgpt-nlu-model/1"
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"

Arrays = dict[str, npt.NDArray[Any]]


def digest(manifest: dict[str, Any], arrays: Arrays) -> str:
    """Return the sha256 over the manifest (without its digest) and every array."""
    h = hashlib.sha256()
    body = {k: v for k, v in manifest.items() if k != "digest"}
    h.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        h.update(f"\x1e{name}\x1f{array.dtype.str}\x1f{array.shape}\x1f".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def save(path: str | Path, manifest: dict[str, Any], arrays: Arrays) -> Path:
    """Write the model directory at ``path`` atomically (a reader never sees half a model)."""
    target = Path(path)
    pickled = sorted(name for name, array in arrays.items() if array.dtype.hasobject)
    if pickled:
        raise ValueError(f"arrays {pickled} hold Python objects; the model file takes plain arrays")
    target.parent.mkdir(parents=True, exist_ok=True)
    full = {**manifest, "format": FORMAT}
    full["digest"] = digest(full, arrays)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    named: dict[str, Any] = dict(arrays)  # numpy's stubs type **kwds as allow_pickle's bool
    np.savez_compressed(staging / ARRAYS, **named)
    (staging / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    if target.exists():
        # Replace an older model: move it aside first so the rename below is atomic.
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "model")
        os.replace(staging, target)
        _remove(old)
    else:
        os.replace(staging, target)
    return target


def _remove(folder: Path) -> None:
    for child in sorted(folder.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    folder.rmdir()


def load(path: str | Path) -> tuple[dict[str, Any], Arrays]:
    """Read and verify a model directory; raise ``IntegrityError`` if it was altered."""
    folder = Path(path)
    if not (folder / MANIFEST).is_file() or not (folder / ARRAYS).is_file():
        raise InvalidInput(
            f"{folder} is not a model directory (needs {MANIFEST} and {ARRAYS}); "
            "train one with `agentgpt nlu train --data PATH --out DIR`"
        )
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        with np.load(folder / ARRAYS, allow_pickle=False) as npz:
            arrays: Arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        # ValueError also covers arrays that would need pickle to load (object dtype).
        raise IntegrityError(f"model {folder} is unreadable ({exc}); retrain it") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IntegrityError(f"model {folder} is not in format {FORMAT}; retrain it")
    if manifest.get("digest") != digest(manifest, arrays):
        raise IntegrityError(
            f"model {folder} does not match its digest (modified or corrupt); "
            "retrain it or restore it from a trusted copy"
        )
    return manifest, arrays
