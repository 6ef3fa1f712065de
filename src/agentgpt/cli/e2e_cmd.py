"""``agentgpt security e2e-identity``: the deployment's end-to-end identity, to pin in clients."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from agentgpt.cli.options import ConfigFile, StoreUrl, run, settings_from
from agentgpt.errors import ConfigError

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings


def e2e_identity(
    file: ConfigFile = None,
    url: StoreUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print both keys as JSON")] = False,
) -> None:
    """Print the signing key that end-to-end clients pin (created on first use).

    Example: agentgpt security e2e-identity

    Give it to clients out of band: AsyncClient(..., end_to_end=True, identity_key=KEY)
    then refuses any prekey bundle not signed by it (a rewritten bundle in transit).
    """
    keys = run(_identity(settings_from(file, url)))
    typer.echo(json.dumps(keys) if as_json else keys["signing_key"])


async def _identity(settings: Settings) -> dict[str, str]:
    from agentgpt.security.encryptor import SessionEncryptor
    from agentgpt.security.ratchet import x3dh
    from agentgpt.security.ratchet.prekeys import Prekeys
    from agentgpt.sessions.key_managers import default_key_manager
    from agentgpt.store.context_store import RedisContextStore

    if settings.sessions.end_to_end == "off":
        raise ConfigError("sessions.end_to_end is off: this deployment has no end-to-end identity")
    encryptor = default_key_manager(settings.sessions)
    if not isinstance(encryptor, SessionEncryptor):
        raise ConfigError("sessions.encryption is 'none': no key provider wraps an identity key")
    store = RedisContextStore(settings.store)
    try:
        rotation = settings.sessions.prekey_rotation.total_seconds()
        identity = await Prekeys(store, encryptor.provider, rotation).identity()
    finally:
        await store.aclose()
    return {
        "signing_key": x3dh.b64(identity.sign_public),
        "identity_key": x3dh.b64(identity.dh_public),
    }
