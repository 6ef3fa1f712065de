"""Record ciphers, keyrings and the local keyset (real AES-GCM, no server)."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.config.durations import parse_rotation
from agentgpt.config.settings import KmsSettings, SessionSettings
from agentgpt.errors import ConfigError, IntegrityError, KeyProviderUnavailable
from agentgpt.security import SessionEncryptor
from agentgpt.security.aead import SessionCipher, record_key_id, seal
from agentgpt.security.key_providers.local import KEYSET_ENV, LocalKeyProvider
from agentgpt.security.key_providers.resolve import provider_for
from agentgpt.store.records import associated_data


def encryptor(tmp_path: Path, **kw: object) -> SessionEncryptor:
    return SessionEncryptor(
        f"local:{tmp_path / 'keys' / 'keyset.json'}",
        settings=SessionSettings(),
        **kw,  # type: ignore[arg-type]
    )


def test_record_cipher_binds_session_kind_and_version() -> None:
    cipher = SessionCipher({1: AESGCM(AESGCM.generate_key(256))}, 1)
    ad = associated_data("sess_aaaaaaaa", "ctx", 3)
    blob = cipher.encrypt(b"hello", ad)
    assert cipher.decrypt(blob, ad) == b"hello"
    assert record_key_id(blob)[0] == 1
    for other in (
        associated_data("sess_bbbbbbbb", "ctx", 3),
        associated_data("sess_aaaaaaaa", "log", 3),
        associated_data("sess_aaaaaaaa", "ctx", 4),
    ):
        with pytest.raises(IntegrityError):
            cipher.decrypt(blob, other)
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(IntegrityError):
        cipher.decrypt(bytes(tampered), ad)
    with pytest.raises(IntegrityError):
        cipher.decrypt(b"\x02\x00", ad)


def test_records_name_their_data_key_and_old_keys_still_decrypt() -> None:
    k1, k2 = AESGCM(AESGCM.generate_key(256)), AESGCM(AESGCM.generate_key(256))
    old = SessionCipher({1: k1}, 1).encrypt(b"before", b"ad")
    rotated = SessionCipher({1: k1, 2: k2}, 2)
    new = rotated.encrypt(b"after", b"ad")
    assert record_key_id(new)[0] == 2
    assert rotated.decrypt(old, b"ad") == b"before"
    assert rotated.decrypt(new, b"ad") == b"after"
    with pytest.raises(IntegrityError, match="data key 2"):
        SessionCipher({1: k1}, 1).decrypt(new, b"ad")


def test_keyset_file_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyset.json"
    first = LocalKeyProvider(path)
    kek = first.primary()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["primary"] == kek.id == 1
    assert LocalKeyProvider(path).keyset_id == first.keyset_id


def test_rotation_adds_a_primary_and_keeps_old_versions(tmp_path: Path) -> None:
    path = tmp_path / "keyset.json"
    provider = LocalKeyProvider(path)
    one = provider.primary()
    assert provider.rotate(if_older_than=3600).id == one.id  # young primary: no rotation
    two = provider.rotate()
    assert two.id == 2
    assert [v.id for v in provider.versions()] == [1, 2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = LocalKeyProvider(path)  # another process
    assert other.primary().id == 2
    assert other.kek(1).aead is not None
    provider.retire(1)
    with pytest.raises(KeyProviderUnavailable, match="KEK version 1"):
        LocalKeyProvider(path).kek(1)
    with pytest.raises(KeyProviderUnavailable, match="primary"):
        provider.retire(2)


def test_keyset_from_environment_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = LocalKeyProvider(tmp_path / "keyset.json")
    source.primary()
    monkeypatch.setenv(KEYSET_ENV, (tmp_path / "keyset.json").read_text())
    provider = LocalKeyProvider(tmp_path / "unused.json")
    assert provider.keyset_id == source.keyset_id
    assert not provider.rotatable
    with pytest.raises(KeyProviderUnavailable, match="environment"):
        provider.rotate()
    assert not (tmp_path / "unused.json").exists()


async def test_wrapped_keys_record_kek_version_and_are_bound_to_session(tmp_path: Path) -> None:
    enc = encryptor(tmp_path, key_rotation="never")
    wrapped, cipher = await enc.new_session_key("sess_aaaaaaaa")
    assert enc.kek_ids("sess_aaaaaaaa", wrapped) == {1}
    blob = cipher.encrypt(b"x", b"ad")
    enc.forget("sess_aaaaaaaa")
    assert (await enc.open_session_key("sess_aaaaaaaa", wrapped)).decrypt(blob, b"ad") == b"x"
    enc.forget("sess_bbbbbbbb")
    with pytest.raises(IntegrityError):
        await enc.open_session_key("sess_bbbbbbbb", wrapped)
    with pytest.raises(IntegrityError, match="no data key"):
        await enc.open_session_key("sess_cccccccc", b"")


async def test_scheduled_rotation_makes_a_new_primary(tmp_path: Path) -> None:
    enc = encryptor(tmp_path, key_rotation=timedelta(seconds=0.2))
    first, _ = await enc.new_session_key("sess_aaaaaaaa")
    await asyncio.sleep(0.25)
    second, _ = await enc.new_session_key("sess_bbbbbbbb")
    assert enc.kek_ids("sess_aaaaaaaa", first) == {1}
    assert enc.kek_ids("sess_bbbbbbbb", second) == {2}
    enc.forget("sess_aaaaaaaa")
    await enc.open_session_key("sess_aaaaaaaa", first)  # old version still unwraps


def test_rotation_periods_and_key_references() -> None:
    assert parse_rotation("daily") == timedelta(days=1)
    assert parse_rotation("12h") == timedelta(hours=12)
    assert parse_rotation("never") is None
    settings = SessionSettings(kms=KmsSettings(keys={"eu-1a": "arn:aws:kms:eu-west-1:1:key/x"}))
    assert provider_for("aws:kms:eu-1a", settings).kind == "aws-kms"
    with pytest.raises(ConfigError, match=r"sessions\.kms\.keys\.us-9"):
        provider_for("aws:kms:us-9", settings)
    with pytest.raises(ConfigError, match="unknown key reference"):
        provider_for("gcp:kms:x", settings)


async def test_data_written_before_keysets_still_opens(tmp_path: Path) -> None:
    # The previous single-KEK format: keys/local-kek, dk = 0x01|nonce|ct, records 0x01|nonce|ct.
    keys = tmp_path / "keys"
    keys.mkdir()
    kek, dk = AESGCM.generate_key(256), AESGCM.generate_key(256)
    (keys / "local-kek").write_bytes(kek)
    wrapped = b"\x01" + seal(AESGCM(kek), dk, b"dk|sess_legacy01")
    ad = associated_data("sess_legacy01", "ctx", 1)
    record = b"\x01" + seal(AESGCM(dk), b"old record", ad)
    enc = SessionEncryptor(f"local:{keys / 'local-keyset.json'}", settings=SessionSettings())
    cipher = await enc.open_session_key("sess_legacy01", wrapped)
    assert cipher.decrypt(record, ad) == b"old record"
    primary = await enc.primary_kek()
    rewrapped, added = enc.rewrapped("sess_legacy01", wrapped, primary, {1: primary}, time.time())
    assert rewrapped is not None
    assert added  # its only data key dates from the epoch: a fresh one is added
    enc.forget("sess_legacy01")
    assert (await enc.open_session_key("sess_legacy01", rewrapped)).decrypt(
        record, ad
    ) == b"old record"
