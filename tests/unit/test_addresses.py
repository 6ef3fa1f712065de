"""Store addresses: credentials masked by the one renderer; the URL replaces the whole address."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgpt.config import StoreSettings, load_settings
from agentgpt.config.addresses import describe_store, mask_url, scrub
from agentgpt.errors import ConfigError
from agentgpt.store.failures import store_unavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://default:s3cret@host:6379/0", "redis://default:***@host:6379/0"),
        ("rediss://app:p%40ss%3Aw0rd@h.example:6380/2", "rediss://app:***@h.example:6380/2"),
        ("redis://:s3cret@host", "redis://:***@host"),
        ("redis://s3cret@host", "redis://***@host"),  # a lone user part may be a password
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis+cluster://u:s3cret@h1:7000,h2:7001", "redis+cluster://u:***@h1:7000,h2:7001"),
        ("unix://:s3cret@/run/valkey.sock?db=1", "unix://:***@/run/valkey.sock?db=1"),
        ("redis://host/0?password=s3cret&db=1", "redis://host/0?password=***&db=1"),
        ("redis://[::1]:6379/0", "redis://[::1]:6379/0"),
        ("redis://[::1:6379/0", "<unparsable address>"),
        ("h1:7000,h2:7001", "h1:7000,h2:7001"),
        ("user:s3cret@host", "<unparsable address>"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert "s3cret" not in mask_url(url)


@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30))
def test_no_password_survives_masking(password: str) -> None:
    from urllib.parse import quote

    quoted = quote(password, safe="")
    shown = mask_url(f"redis://default:{quoted}@host:6379/0")
    assert shown == "redis://default:***@host:6379/0"


def test_describe_store_masks_every_form() -> None:
    standalone = StoreSettings.from_url("redis://default:s3cret@h:6379/0")
    assert describe_store(standalone) == "redis://default:***@h:6379/0"
    cluster = StoreSettings(cluster_mode=True, nodes=["h1:1", "h2:2"], username="app",
                            password="s3cret")  # type: ignore[arg-type]  # fmt: skip
    assert describe_store(cluster) == "redis+cluster://app:***@h1:1,h2:2"
    tls = StoreSettings(url="redis://h:6379/0", tls=True)
    assert describe_store(tls) == "redis://h:6379/0 with TLS"
    assert describe_store(StoreSettings(), "/tmp/v.sock") == "embedded valkey unix:///tmp/v.sock"


def test_scrub_and_store_errors_never_quote_the_password() -> None:
    settings = StoreSettings.from_url("redis://default:s3cr%2Fet@h:1/0")
    assert scrub("AUTH s3cr/et failed, s3cr%2Fet too", settings) == "AUTH *** failed, *** too"
    error = store_unavailable(OSError("could not use s3cr/et\non h:1"), settings)
    assert str(error) == (
        "session store unreachable (redis://default:***@h:1/0): could not use *** on h:1"
    )


def test_store_url_replaces_the_whole_address_of_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shipped file is a TLS cluster: the variable makes it one plain standalone server.
    monkeypatch.setenv("AGENTGPT_STORE_URL", "redis://localhost:6379/3")
    store = load_settings(ROOT / "conf" / "session-store.yaml").store
    assert (store.url, store.cluster_mode, store.nodes, store.db) == (
        "redis://localhost:6379/3", False, [], 3)  # fmt: skip
    assert not store.uses_tls
    assert store.data_retention.sensitive.days == 7  # what is not the address stays
    monkeypatch.setenv("AGENTGPT_STORE_URL", "rediss+cluster://u:pw@a:1,b:2")
    store = load_settings(ROOT / "conf" / "session-store.yaml").store
    assert (store.cluster_mode, store.nodes, store.uses_tls, store.username) == (
        True, ["a:1", "b:2"], True, "u")  # fmt: skip
    assert store.password is not None
    assert store.password.get_secret_value() == "pw"


def test_credentials_of_the_file_stay_when_the_url_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("session_storage:\n  config:\n    url: redis://a:1/0\n    username: app\n"
                    "    password: from-file\n    connect_timeout: 0.25\n")  # fmt: skip
    monkeypatch.setenv("AGENTGPT_STORE_URL", "redis+cluster://b:2,c:3")
    store = load_settings(conf).store
    assert (store.nodes, store.username, store.connect_timeout) == (["b:2", "c:3"], "app", 0.25)
    assert store.password is not None
    assert store.password.get_secret_value() == "from-file"


@pytest.mark.parametrize(
    ("url", "needle"),
    [("ftp://x", "unsupported store URL scheme"), ("redis+cluster://", "names its nodes"),
     ("redis+cluster://a:1,nonsense", "must be host:port")],
)  # fmt: skip
def test_a_bad_store_url_is_one_configuration_line(
    monkeypatch: pytest.MonkeyPatch, url: str, needle: str
) -> None:
    monkeypatch.setenv("AGENTGPT_STORE_URL", url)
    with pytest.raises(ConfigError, match=needle) as info:
        load_settings()
    assert "AGENTGPT_STORE_URL" in str(info.value)
    assert "\n" not in str(info.value)


def test_tls_true_with_a_redis_url_uses_tls() -> None:
    from agentgpt.store.connection import create_client

    settings = StoreSettings(url="redis://h:6379/0", tls=True)
    assert settings.uses_tls
    client = create_client(settings)  # was a TypeError: ssl options on a plain connection
    pool = client.connection_pool
    assert pool.connection_class.__mro__[1].__name__ == "SSLConnection"
