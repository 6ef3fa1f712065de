"""Record codec and key schema: property tests."""

from __future__ import annotations

import hashlib
from importlib import resources

import msgspec
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from agentgpt.agents.context import Context, Exchange
from agentgpt.errors import CodecError, InvalidSessionId
from agentgpt.store import keys as K
from agentgpt.store.codec import DICTIONARY_V1, DICTIONARY_V1_SHA256, RecordCodec

codec = RecordCodec()
exchanges = st.builds(
    Exchange, seq=st.integers(0, 2**40), ts=st.floats(0, 2e9), user=st.text(max_size=500),
    reply=st.text(max_size=500), intent=st.none() | st.text(max_size=30),
)  # fmt: skip


@given(st.lists(exchanges, max_size=10), st.dictionaries(st.text(max_size=10), st.text()))
def test_context_round_trips(window: list[Exchange], slots: dict[str, str]) -> None:
    ctx = Context(window=window, slots=slots, turns=len(window))
    assert codec.decode(codec.encode(ctx), Context) == ctx


@given(st.binary(max_size=300))
def test_garbage_never_decodes_silently(data: bytes) -> None:
    try:
        codec.decode(data, Context)
    except CodecError:
        return
    # The only accepted inputs are real encodings of a Context.
    assert data[:1] == bytes([0xA1])


def test_unknown_flags_refused() -> None:
    blob = bytearray(codec.encode(Context()))
    blob[1] = 0x80
    with pytest.raises(CodecError, match="unknown flags"):
        codec.decode(bytes(blob), Context)


def test_large_records_are_compressed() -> None:
    ctx = Context(slots={"note": "same words again " * 200})
    assert len(codec.encode(ctx)) < len(msgspec.msgpack.encode(ctx)) / 4


@given(st.from_regex(r"[A-Za-z0-9_-]{8,128}", fullmatch=True))
def test_every_key_of_a_session_shares_its_hash_tag(session_id: str) -> None:
    keys = K.session_keys(session_id)
    tag = "{" + session_id + "}"
    assert all(tag in key for key in keys)
    assert tag in keys.vault(7)
    assert K.lock_keys(f"session_{session_id}").lock == keys.lock


@given(st.text(max_size=300).filter(lambda s: not K._SESSION_ID.fullmatch(s)))
def test_malformed_ids_refused(session_id: str) -> None:
    with pytest.raises(InvalidSessionId):
        K.session_keys(session_id)


def test_records_written_before_the_dictionary_still_decode() -> None:
    # Version 1 of the format: a standard zstd frame (flag 0x01) or raw msgpack (0x00).
    ctx = Context(slots={"note": "same words again " * 20}, turns=3)
    raw = msgspec.msgpack.encode(ctx)
    old_zstd = bytes((0xA1, 0x01)) + zstandard.ZstdCompressor(level=3).compress(raw)
    assert codec.decode(old_zstd, Context) == ctx
    assert codec.decode(bytes((0xA1, 0x00)) + raw, Context) == ctx


def test_the_shipped_dictionary_is_the_pinned_one() -> None:
    # Records compressed with records-v1.dict cannot be read without that exact file.
    data = (resources.files("agentgpt.store") / "zstd" / DICTIONARY_V1).read_bytes()
    assert hashlib.sha256(data).hexdigest() == DICTIONARY_V1_SHA256


def test_small_session_records_shrink_with_the_dictionary() -> None:
    window = [Exchange(seq=i, ts=1.8e9 + i, user="I lost my card, please block it",
                       reply="I've blocked the card ending <CARD_1>. A replacement is on its way.",
                       intent="lost_or_stolen_card") for i in range(3)]  # fmt: skip
    ctx = Context(window=window, turns=3)
    encoded = codec.encode(ctx)
    assert encoded[1] == 0x02
    assert len(encoded) < len(msgspec.msgpack.encode(ctx)) / 2
    assert codec.decode(encoded, Context) == ctx


def test_both_compression_flags_at_once_are_refused() -> None:
    with pytest.raises(CodecError, match="unknown flags"):
        codec.decode(bytes((0xA1, 0x03, 0x00)), Context)
