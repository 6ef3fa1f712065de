"""Turn a key reference (``local:``, ``aws:kms:<alias>``, ``arn:aws:kms:...``) into a provider."""

from __future__ import annotations

from pathlib import Path

from agentgpt.config.settings import SessionSettings
from agentgpt.errors import ConfigError
from agentgpt.security.key_providers.aws_kms import AwsKmsKeyProvider
from agentgpt.security.key_providers.local import LocalKeyProvider
from agentgpt.security.key_providers.protocol import KeyProvider


def provider_for(key_arn: str, settings: SessionSettings) -> KeyProvider:
    """Return the provider ``key_arn`` names (``ConfigError`` with the fix if it cannot)."""
    if key_arn.startswith("local:"):
        path = key_arn.removeprefix("local:")
        return LocalKeyProvider(Path(path).expanduser() if path else None)
    kms = settings.kms
    if key_arn.startswith("aws:kms:"):
        alias = key_arn.removeprefix("aws:kms:")
        key_id = kms.keys.get(alias)
        if key_id is None:
            raise ConfigError(
                f"{key_arn!r} names KMS alias {alias!r}, which the configuration does not map: "
                f"set sessions.kms.keys.{alias} to a KMS key id or ARN "
                f'(env AGENTGPT_SESSIONS__KMS__KEYS=\'{{"{alias}": "arn:aws:kms:..."}}\')'
            )
    elif key_arn.startswith("arn:aws:kms:"):
        key_id = key_arn
    else:
        raise ConfigError(
            f"unknown key reference {key_arn!r}: use 'local:', 'aws:kms:<alias>' or "
            "'arn:aws:kms:<region>:<account>:key/<id>'"
        )
    return AwsKmsKeyProvider(
        key_id,
        region=kms.region,
        endpoint_url=kms.endpoint_url,
        path=kms.keyset_path,
        cache_ttl=kms.cache_ttl.total_seconds(),
    )
