"""Record codec: msgpack (msgspec) then zstd, behind a one-byte versioned header.

Layout: ``MAGIC | FLAGS | payload``. FLAGS says how the payload is compressed:

* ``0x00`` raw msgpack (records that compression would not shrink);
* ``0x01`` a standard zstd frame (what versions before the dictionary wrote: still read);
* ``0x02`` a zstd frame made with the shipped dictionary ``zstd/records-v1.dict``, without
  the frame's magic number, dictionary id and checksum (the flag implies the first two;
  AES-GCM above this layer authenticates every byte, so a checksum adds nothing).

Session records are small (a turn's log entry is ~200-300 bytes of msgpack): too small for
zstd to find repetitions inside one record, so plain zstd saves little. The dictionary,
trained by ``scripts/train_record_dictionary.py`` on simulated conversations, supplies the
repetitions (field layout, intents, topics, the playbook's replies). A shipped dictionary
never changes: a new one gets a new file and a new flag, and old records keep theirs.
Encryption happens above this layer, on the encoded bytes.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import Any, TypeVar

import msgspec
import zstandard

from agentgpt.errors import CodecError

MAGIC = 0xA1
_ZSTD = 0x01
_ZSTD_DICT_V1 = 0x02
_KNOWN_FLAGS = _ZSTD | _ZSTD_DICT_V1
DICTIONARY_V1 = "records-v1.dict"
#: sha256 of the shipped dictionary: records written with it are unreadable without it.
DICTIONARY_V1_SHA256 = "277208273d1edc4d6fbd4f68b48dd2523f20cbe8348685ff6864def4ac28681b"
#: Records shorter than this are stored raw.
COMPRESS_MIN = 24
#: Refuse to inflate a record past this size (a corrupt or hostile frame).
MAX_DECODED = 16 * 1024 * 1024

T = TypeVar("T")


class RecordCodec:
    """Encodes msgspec structs to compact bytes and back."""

    def __init__(self, *, compression: str = "zstd", level: int = 3) -> None:
        """Create a codec; ``compression`` is ``"zstd"`` or ``"none"``."""
        self._compress = compression == "zstd"
        self._encoder = msgspec.msgpack.Encoder()
        dictionary = _dictionary_v1()
        params = zstandard.ZstdCompressionParameters.from_level(
            level,
            format=zstandard.FORMAT_ZSTD1_MAGICLESS,
            write_checksum=0,
            write_dict_id=0,
            write_content_size=1,
        )
        self._zc = zstandard.ZstdCompressor(dict_data=dictionary, compression_params=params)
        self._zd = zstandard.ZstdDecompressor()
        self._zd_v1 = zstandard.ZstdDecompressor(
            dict_data=dictionary, format=zstandard.FORMAT_ZSTD1_MAGICLESS
        )
        self._decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}

    def encode(self, obj: object, *, compress: bool = True) -> bytes:
        """Return the header and the (possibly compressed) msgpack of ``obj``.

        ``compress=False`` skips zstd for a record known not to shrink (key material).
        """
        raw = self._encoder.encode(obj)
        if compress and self._compress and len(raw) >= COMPRESS_MIN:
            packed = self._zc.compress(raw)
            if len(packed) < len(raw):
                return bytes((MAGIC, _ZSTD_DICT_V1)) + packed
        return bytes((MAGIC, 0)) + raw

    def decode(self, data: bytes, type_: type[T]) -> T:
        """Decode bytes produced by ``encode`` into ``type_``; raise ``CodecError``."""
        if len(data) < 2 or data[0] != MAGIC:
            raise CodecError("record has no valid header (unknown format or corrupt)")
        flags = data[1]
        if flags & ~_KNOWN_FLAGS or flags == _KNOWN_FLAGS:
            raise CodecError(f"record uses unknown flags {flags:#04x}: upgrade agentgpt")
        body = memoryview(data)[2:]
        raw: bytes | memoryview
        try:
            if flags & _ZSTD_DICT_V1:
                raw = self._zd_v1.decompress(body, max_output_size=MAX_DECODED)
            elif flags & _ZSTD:
                raw = self._zd.decompress(body, max_output_size=MAX_DECODED)
            else:
                raw = body
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


@functools.cache
def _dictionary_v1() -> zstandard.ZstdCompressionDict:
    data = (resources.files("agentgpt.store") / "zstd" / DICTIONARY_V1).read_bytes()
    if hashlib.sha256(data).hexdigest() != DICTIONARY_V1_SHA256:
        # Compressing with another dictionary would write records nobody can read later.
        raise CodecError(f"{DICTIONARY_V1} is not the shipped dictionary: reinstall agentgpt")
    return zstandard.ZstdCompressionDict(data)
