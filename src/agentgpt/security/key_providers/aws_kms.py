"""The AWS KMS provider: KEK versions generated and wrapped by a KMS key (real boto3).

Each KEK version is a KMS data key (``GenerateDataKey``, AES-256) whose ciphertext blob
is kept in the keyset file; a process calls ``Decrypt`` once per version and caches the
result for ``cache_ttl`` seconds, so revoking the KMS grant stops new sessions within
that time. Session data keys are then wrapped locally under the KEK with the session id
as associated data. Why not one KMS call per session: KMS cannot rotate daily (yearly, or
10 on-demand rotations per key), a per-session call adds a network round trip to every
session open and counts against KMS quotas; daily rotation is therefore the keyset's, and
KMS stays the root that no file or backup can open without (SECURITY-NOTES).

``EncryptionContext`` binds every blob to its purpose, keyset and version, so a blob
moved to another keyset or version does not decrypt, and CloudTrail shows which one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from agentgpt.config.paths import data_home
from agentgpt.errors import ConfigError, KeyProviderUnavailable
from agentgpt.security.key_providers.keyset import KeysetDoc, KeysetProvider

DEFAULT_CACHE_TTL = 300.0


def default_kms_keyset_path(key_id: str) -> Path:
    """``<data dir>/keys/kms-<key>.json`` (holds only KMS ciphertext blobs)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in key_id)[-80:]
    return data_home() / "keys" / f"kms-{safe}.json"


class AwsKmsKeyProvider(KeysetProvider):
    """KEK versions protected by an AWS KMS key, through boto3's KMS client."""

    kind = "aws-kms"

    def __init__(
        self,
        key_id: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        path: Path | None = None,
        cache_ttl: float | None = DEFAULT_CACHE_TTL,
        client: Any = None,
    ) -> None:
        """Use KMS key ``key_id`` (key id, alias or ARN) in ``region`` (from the ARN if any)."""
        super().__init__(path or default_kms_keyset_path(key_id), cache_ttl=cache_ttl)
        self.key_id = key_id
        self.region = region or _region_of(key_id)
        self.endpoint_url = endpoint_url
        self._client = client

    def describe(self) -> str:
        """The KMS key, region, endpoint and keyset file."""
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        region = self.region or "default region"
        return f"AWS KMS key {self.key_id} ({region}{where}), keyset {self.path}"

    def _kms(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise ConfigError(
                    "AWS KMS needs boto3: pip install 'agentgpt-sessions[kms]'"
                ) from None
            # Fail fast: a turn must not hang on an unreachable KMS; the error says what to check.
            config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2})
            self._client = boto3.client(
                "kms", region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        return self._client

    def _context(self, kek_id: int, keyset_id: str) -> dict[str, str]:
        return {
            "agentgpt:purpose": "kek",
            "agentgpt:keyset": keyset_id,
            "agentgpt:kek": str(kek_id),
        }

    def _new_material(self, kek_id: int) -> tuple[bytes, bytes]:
        keyset_id = self._doc.keyset_id if self._doc is not None else self._pending_id
        reply = self._call(
            "GenerateDataKey",
            KeyId=self.key_id,
            KeySpec="AES_256",
            EncryptionContext=self._context(kek_id, keyset_id),
        )
        return bytes(reply["Plaintext"]), bytes(reply["CiphertextBlob"])

    def _unwrap_material(self, kek_id: int, material: bytes) -> bytes:
        reply = self._call(
            "Decrypt",
            KeyId=self.key_id,
            CiphertextBlob=material,
            EncryptionContext=self._context(kek_id, self._document().keyset_id),
        )
        return bytes(reply["Plaintext"])

    def _create(self) -> KeysetDoc:
        # The keyset id goes into the first version's EncryptionContext: choose it first.
        self._pending_id = secrets.token_hex(8)
        return super()._create()

    def _initial_doc(self, plain: bytes, material: bytes) -> KeysetDoc:
        doc = super()._initial_doc(plain, material)
        doc.keyset_id = self._pending_id
        doc.extra["kms_key_id"] = self.key_id
        return doc

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = {"GenerateDataKey": "generate_data_key", "Decrypt": "decrypt"}[operation]
        try:
            reply: dict[str, Any] = getattr(self._kms(), method)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise KeyProviderUnavailable(
                f"{self.describe()}: KMS refused {operation} ({error.get('Code')}: "
                f"{error.get('Message')}); check the key id, its key policy/grants and the "
                "credentials in use"
            ) from None
        except BotoCoreError as exc:
            raise KeyProviderUnavailable(
                f"{self.describe()}: KMS {operation} failed ({exc}); check the endpoint/region, "
                "the network and the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID ...)"
            ) from None
        return reply

    _pending_id = ""


def _region_of(key_id: str) -> str | None:
    # arn:aws:kms:<region>:<account>:key/<id>
    parts = key_id.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "kms":
        return parts[3]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
