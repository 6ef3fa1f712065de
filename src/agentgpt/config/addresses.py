"""Store addresses as people may see them: the one place that renders a URL or DSN.

Every error message, log line, health check, CLI message and metric that names the store
goes through ``mask_url`` (one URL) or ``describe_store`` (the configured store), so a
password never leaves the process. What is masked:

* the password of the URL's user information (``redis://default:***@host:6379/0``); a user
  part without a password is masked too (``redis://***@host``), because some clients read
  ``redis://SECRET@host`` as a password;
* the values of query parameters that name a secret (``?password=***``);
* anything that cannot be parsed as a URL, as a whole (``<unparsable address>``).

Host names, ports, database numbers and socket paths stay: they are what an operator needs
to find the node that does not answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from agentgpt.config.settings import StoreSettings

#: What replaces a secret.
MASK = "***"

#: Query parameters whose value is a secret (compared in lower case).
SECRET_PARAMETERS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "access_token",
        "auth",
        "api_key",
        "apikey",
        "credentials",
        "signature",
        "sig",
        "x-amz-signature",
    }
)


def mask_url(url: str) -> str:
    """``url`` with its credentials masked: ``redis://default:***@host:6379/0``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return "<unparsable address>"
    if not parts.scheme or "://" not in url:
        # Not a URL: a bare host:port or a socket path holds no credentials, anything
        # else (a DSN in another syntax) is not shown at all.
        return url if _looks_like_address(url) else "<unparsable address>"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = hosts
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hosts}" if colon else f"{MASK}@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if k.lower() in SECRET_PARAMETERS else v) for k, v in pairs],
            safe="*/:,",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _looks_like_address(text: str) -> bool:
    # host, host:port, host1:p1,host2:p2 or /a/socket/path: nothing that could be a secret.
    if text.startswith("/"):
        return "?" not in text and "@" not in text
    return all(part and "@" not in part and " " not in part for part in text.split(","))


def mask_node(node: str) -> str:
    """A ``host:port`` node name as shown (a user part, if any, masked)."""
    _userinfo, at, host = node.rpartition("@")
    return f"{MASK}@{host}" if at else node


def describe_store(settings: StoreSettings, embedded_socket: str | None = None) -> str:
    """The configured store as shown to people: a masked URL, the cluster nodes, or embedded."""
    if embedded_socket is not None:
        return f"embedded valkey unix://{embedded_socket}"
    if settings.cluster_mode:
        scheme = "rediss+cluster" if settings.uses_tls else "redis+cluster"
        user = f"{settings.username}:{MASK}@" if settings.password else ""
        return f"{scheme}://{user}{','.join(mask_node(n) for n in settings.nodes)}"
    if settings.url:
        shown = mask_url(settings.url)
        plain_scheme = not settings.url.lower().startswith(("rediss", "valkeys"))
        return f"{shown} with TLS" if settings.uses_tls and plain_scheme else shown
    return "embedded valkey"


def scrub(text: str, settings: StoreSettings | None) -> str:
    """``text`` with the store's password (plain or URL-quoted) replaced by the mask.

    A second line of defence for messages that quote a library's error text: redis-py does
    not print passwords today, but a message built here never relies on that.
    """
    if settings is None:
        return text
    for secret in _secrets_of(settings):
        if len(secret) >= 3:  # masking "a" everywhere would garble the message, not protect
            text = text.replace(secret, MASK)
    return text


def _secrets_of(settings: StoreSettings) -> set[str]:
    found: set[str] = set()
    if settings.password is not None:
        found.add(settings.password.get_secret_value())
    if settings.url:
        try:
            parts = urlsplit(settings.url)
        except ValueError:
            parts = None
        if parts is not None:
            userinfo, at, _hosts = parts.netloc.rpartition("@")
            if at:
                user, colon, password = userinfo.partition(":")
                found.add(password if colon else user)
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                if key.lower() in SECRET_PARAMETERS:
                    found.add(value)
    return {variant for s in found if s for variant in (s, unquote(s), quote(s, safe=""))}
