"""Record codec: msgpack (msgspec) then zstd, behind a one-byte versioned header.

Layout: ``MAGIC | FLAGS | payload``. FLAGS bit 0 says the payload is zstd-compressed;
small records are stored raw because zstd's frame overhead would make them larger.
Encryption happens above this layer, on the encoded bytes.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import zstandard

from agentgpt.errors import CodecError

MAGIC = 0xA1
_ZSTD = 0x01
_KNOWN_FLAGS = _ZSTD
#: Records shorter than this are not worth compressing.
COMPRESS_MIN = 96
#: Refuse to inflate a record past this size (a corrupt or hostile frame).
MAX_DECODED = 16 * 1024 * 1024

T = TypeVar("T")


class RecordCodec:
    """Encodes msgspec structs to compact bytes and back."""

    def __init__(self, *, compression: str = "zstd", level: int = 3) -> None:
        """Create a codec; ``compression`` is ``"zstd"`` or ``"none"``."""
        self._compress = compression == "zstd"
        self._encoder = msgspec.msgpack.Encoder()
        self._zc = zstandard.ZstdCompressor(level=level)
        self._zd = zstandard.ZstdDecompressor()
        self._decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}

    def encode(self, obj: object) -> bytes:
        """Return the header and the (possibly compressed) msgpack of ``obj``."""
        raw = self._encoder.encode(obj)
        if self._compress and len(raw) >= COMPRESS_MIN:
            packed = self._zc.compress(raw)
            if len(packed) < len(raw):
                return bytes((MAGIC, _ZSTD)) + packed
        return bytes((MAGIC, 0)) + raw

    def decode(self, data: bytes, type_: type[T]) -> T:
        """Decode bytes produced by ``encode`` into ``type_``; raise ``CodecError``."""
        if len(data) < 2 or data[0] != MAGIC:
            raise CodecError("record has no valid header (unknown format or corrupt)")
        flags = data[1]
        if flags & ~_KNOWN_FLAGS:
            raise CodecError(f"record uses unknown flags {flags:#04x}: upgrade agentgpt")
        body = memoryview(data)[2:]
        try:
            raw = self._zd.decompress(body, max_output_size=MAX_DECODED) if flags & _ZSTD else body
        except zstandard.ZstdError as exc:
            raise CodecError(f"record payload is corrupt: {exc}") from None
        try:
            return self._decoder(type_).decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise CodecError(f"record does not decode as {type_.__name__}: {exc}") from None

    def _decoder(self, type_: type[T]) -> msgspec.msgpack.Decoder[T]:
        decoder = self._decoders.get(type_)
        if decoder is None:
            decoder = self._decoders[type_] = msgspec.msgpack.Decoder(type_)
        return decoder
