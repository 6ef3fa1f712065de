"""The turn protocol between the service and a worker: small, versioned msgpack frames.

Each frame is a 4-byte big-endian length and a msgpack ``Frame``. The worker says
``hello`` once its handler is loaded (the worker is warm); then every ``call`` gets exactly
one ``reply`` with the same ``id``. The body is opaque here: the layer above (the agents'
turn handler) encodes what the agent sees, which is one session's decrypted context only.
"""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Literal

import msgspec

from agentgpt.errors import WorkerFailed

#: Bumped on any incompatible change; a worker of another version is refused at hello.
PROTOCOL_VERSION = 1
MAX_FRAME = 16 * 2**20
_HEADER = struct.Struct(">I")

Kind = Literal["hello", "call", "reply", "error"]


class Frame(msgspec.Struct, array_like=True, frozen=True):
    """One message: ``kind``, correlation ``id``, opaque ``body``, ``error`` text on failure."""

    v: int
    kind: Kind
    id: int = 0
    body: bytes = b""
    error: str = ""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def encode(frame: Frame) -> bytes:
    """The frame with its length prefix."""
    payload = _encoder.encode(frame)
    return _HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> Frame:
    """Parse one frame (without its prefix); ``WorkerFailed`` on garbage or another version."""
    try:
        frame = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise WorkerFailed(f"the worker broke the turn protocol ({exc})") from None
    if frame.v != PROTOCOL_VERSION:
        raise WorkerFailed(
            f"the worker speaks turn protocol v{frame.v}, the service v{PROTOCOL_VERSION}"
        )
    return frame


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """Read one frame; ``WorkerFailed`` when the worker is gone or oversized."""
    try:
        (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        if size > MAX_FRAME:
            raise WorkerFailed(f"the worker sent a {size}-byte frame (max {MAX_FRAME})")
        return decode(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise WorkerFailed("the worker exited during the turn") from exc


def read_frame_blocking(fd: int) -> Frame | None:
    """The worker's side: read one frame from ``fd``; None at end of input."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        return None
    body = _read_exactly(fd, size)
    return None if body is None else decode(body)


def write_frame_blocking(fd: int, frame: Frame) -> None:
    """The worker's side: write one frame to ``fd``."""
    data = memoryview(encode(frame))
    while data:
        data = data[os.write(fd, data) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
