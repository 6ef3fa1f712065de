"""Start-up checks: production refuses development shortcuts; plain HTTP in the open warns."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from agentgpt.config.settings import Settings, StoreSettings
from agentgpt.errors import ConfigError


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_unsafe(settings: Settings) -> None:
    """Raise ``ConfigError`` for a configuration the service must not run with."""
    server = settings.server
    if server.demo_tokens and not is_loopback(server.host):
        raise ConfigError(
            f"demo tokens need a loopback bind, not {server.host}: serve on 127.0.0.1, "
            "or turn server.demo_tokens off and mint tokens with agentgpt token create"
        )
    if server.environment != "production":
        return
    if settings.sessions.encryption == "none":
        raise ConfigError("encryption 'none' (plaintext at rest) is refused in production")
    if server.demo_tokens:
        raise ConfigError(
            "demo tokens are refused in production: turn server.demo_tokens off and mint "
            "tokens with agentgpt token create"
        )
    if not is_loopback(server.host) and not server.tls_proxy:
        raise ConfigError(
            f"plain HTTP on {server.host} is refused in production: terminate TLS in a "
            "proxy in front and set server.tls_proxy: true, or bind 127.0.0.1"
        )
    plain = _plaintext_store_hosts(settings.store)
    if plain:
        raise ConfigError(
            f"the session store link to {', '.join(plain)} is not encrypted: use rediss:// "
            "or session_storage.config.tls: true in production"
        )


def bind_warning(settings: Settings) -> str | None:
    """A one-line warning when plain HTTP is served beyond this machine, else None."""
    server = settings.server
    if is_loopback(server.host) or server.tls_proxy:
        return None
    return (
        f"warning: serving plain HTTP on {server.host}:{server.port}; bearer tokens cross the "
        "network in clear unless a TLS proxy is in front (then set server.tls_proxy: true)"
    )


def _plaintext_store_hosts(store: StoreSettings) -> list[str]:
    if store.is_embedded or store.tls:
        return []
    hosts = [node.rpartition(":")[0] for node in store.nodes]
    if store.url and not store.nodes:
        parts = urlsplit(store.url)
        if parts.scheme.lower() != "unix" and parts.hostname:
            hosts.append(parts.hostname)
    return [h for h in hosts if not is_loopback(h)]
