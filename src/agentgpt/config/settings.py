"""One typed settings tree, loaded from YAML and overridden by the environment.

The YAML shape is the guide's ``conf/session-store.yaml``; every setting can be overridden
by an environment variable ``AGENTGPT_<PATH>`` with ``__`` between levels, e.g.
``AGENTGPT_SESSION_STORAGE__CONFIG__TLS=true``. ``AGENTGPT_STORE_URL`` (and the CLI's
``--url``) replaces the whole store address of the file: see ``StoreSettings.with_address``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agentgpt.config.durations import Duration, Rotation
from agentgpt.config.runtime_settings import REGION_PATTERN, RuntimeSettings

_STRICT = ConfigDict(extra="forbid")


class DataRetention(BaseModel):
    """How long each retention class lives in the store (enforced by key TTLs)."""

    model_config = _STRICT

    default: Duration = timedelta(days=30)
    sensitive: Duration = timedelta(days=7)
    sliding: bool = Field(default=True, description="extend `default` on every turn")

    @model_validator(mode="after")
    def _sensitive_not_longer(self) -> DataRetention:
        if self.sensitive > self.default:
            raise ValueError("sensitive retention must not exceed the default retention")
        return self


class StoreSettings(BaseModel):
    """Connection and retention settings of the Redis-protocol session store."""

    model_config = _STRICT

    url: str | None = None
    cluster_mode: bool = False
    nodes: list[str] = Field(default_factory=list)
    tls: bool = False
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_check_hostname: bool = True
    username: str | None = None
    password: SecretStr | None = None
    db: int = 0
    compression: Literal["zstd", "none"] = "zstd"
    data_retention: DataRetention = Field(default_factory=DataRetention)
    max_connections: int = Field(default=64, ge=1, le=10_000)
    socket_timeout: float = Field(default=5.0, gt=0)
    connect_timeout: float = Field(default=2.0, gt=0)
    pool_timeout: float = Field(default=30.0, gt=0, description="wait for a free connection")
    appendfsync: Literal["always", "everysec"] = "everysec"
    durability: Literal["local", "aof", "replica"] = Field(
        default="local",
        description="what a commit waits for before it is acknowledged: local (the "
        "primary's memory), aof (WAITAOF: fsynced on the primary), replica (WAIT: in "
        "durability_replicas replicas); not reached in durability_timeout: 503",
    )
    durability_replicas: int = Field(default=1, ge=1, le=16)
    durability_timeout: Duration = timedelta(seconds=1)
    erase_compaction_delay: Duration = Field(
        default=timedelta(seconds=10),
        description="embedded store: rewrite the AOF this long after an erasure, so erased "
        "sessions leave the disk (bound: this delay plus the rewrite, documented as 60 s)",
    )
    embedded_max_restarts: int = Field(
        default=5,
        ge=0,
        le=100,
        description="restarts of a crashed embedded server within embedded_restart_window; "
        "past them the process reports unhealthy (/healthz 503)",
    )
    embedded_restart_window: Duration = timedelta(minutes=5)

    @model_validator(mode="after")
    def _nodes_need_cluster(self) -> StoreSettings:
        for node in self.nodes:
            host, _, port = node.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"node {node!r} must be host:port")
        return self

    @classmethod
    def from_url(cls, url: str, **overrides: object) -> StoreSettings:
        """Build settings from ``redis://``, ``rediss://``, ``unix://`` or ``*+cluster://``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        base, _, flavour = scheme.partition("+")
        if base not in {"redis", "rediss", "valkey", "valkeys", "unix"} or flavour not in {
            "",
            "cluster",
        }:
            raise ValueError(
                f"unsupported store URL scheme {parts.scheme!r}: use redis://, rediss://, "
                "unix://, or redis+cluster://"
            )
        values: dict[str, object] = {"url": url, "tls": base in {"rediss", "valkeys"}}
        if flavour == "cluster":
            values["cluster_mode"] = True
            values["nodes"] = [n for n in parts.netloc.rpartition("@")[2].split(",") if n]
            if not values["nodes"]:
                raise ValueError("a cluster URL names its nodes: redis+cluster://h1:p1,h2:p2")
        elif base != "unix" and parts.path.strip("/").isdigit():
            values["db"] = int(parts.path.strip("/"))
        if parts.username:
            values["username"] = unquote(parts.username)
        if parts.password:
            values["password"] = unquote(parts.password)
        values.update(overrides)
        return cls.model_validate(values)

    def with_address(self, url: str) -> StoreSettings:
        """These settings with the whole address replaced by ``url`` (``ValueError``).

        The address is the URL, ``cluster_mode``, ``nodes``, ``db`` and TLS on or off (from
        the scheme: ``rediss://`` or ``rediss+cluster://`` for TLS). Credentials in the URL
        replace the file's; a URL without them keeps the file's ``username``/``password``.
        Everything else (TLS files, timeouts, pool size, retention) stays.
        """
        address = StoreSettings.from_url(url)
        update: dict[str, object] = {
            "url": address.url,
            "cluster_mode": address.cluster_mode,
            "nodes": address.nodes,
            "db": address.db,
            "tls": address.tls,
        }
        if address.username is not None or address.password is not None:
            update |= {"username": address.username, "password": address.password}
        return self.model_copy(update=update)

    @property
    def uses_tls(self) -> bool:
        """True when connections use TLS: ``tls: true`` or a ``rediss://`` URL."""
        scheme = (self.url or "").partition("://")[0].partition("+")[0].lower()
        return self.tls or scheme in {"rediss", "valkeys"}

    @property
    def is_embedded(self) -> bool:
        """True when no server is named: the embedded Valkey is used."""
        return self.url is None and not self.nodes


def one_line(exc: ValueError) -> str:
    """A ``ValueError``'s message on one line (a ``ValidationError``: its first problem)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        return f"{where}: {problem}" if where else problem
    return " ".join(str(exc).split())


class SessionStorage(BaseModel):
    """The guide's ``session_storage`` block."""

    model_config = _STRICT

    engine: Literal["redis", "valkey", "embedded"] = "embedded"
    config: StoreSettings = Field(default_factory=StoreSettings)


class KmsSettings(BaseModel):
    """AWS KMS for ``aws:kms:<alias>`` key references (encryption at rest, issue 4)."""

    model_config = _STRICT

    keys: dict[str, str] = Field(
        default_factory=dict, description="alias (as in aws:kms:<alias>) -> KMS key id or ARN"
    )
    region: str | None = None
    endpoint_url: str | None = Field(default=None, description="e.g. a VPC endpoint")
    keyset_path: Path | None = Field(default=None, description="default: the data directory")
    cache_ttl: Duration = timedelta(minutes=5)


#: The shortest turn-lock lease accepted (see ``SessionSettings.lock_lease``).
MIN_LOCK_LEASE = timedelta(milliseconds=500)


class SessionSettings(BaseModel):
    """Limits and timeouts of the session engine."""

    model_config = _STRICT

    max_concurrent_sessions: int = Field(default=10_000, ge=1)
    max_sessions_per_user: int = Field(
        default=10, ge=1, description="live sessions one user may hold at once"
    )
    idle_timeout: Duration = timedelta(minutes=15)
    max_message_bytes: int = Field(default=8 * 1024, ge=16, le=1024 * 1024)
    context_window: int = Field(default=8, ge=1, le=200)
    lock_lease: Duration = Field(
        default=timedelta(seconds=2),
        description="a turn's lock lease, renewed every third of it while the turn runs: "
        "a crashed holder blocks its session for at most this long",
    )
    lock_wait: Duration = timedelta(seconds=30)
    idempotency_ttl: Duration = Field(
        default=timedelta(minutes=10),
        description="how long a turn's Idempotency-Key is remembered (a retry within it "
        "replays the answer); at least lock_lease plus 5 s",
    )
    agent: Literal["nlp", "faq"] = Field(
        default="nlp", description="the default agent: NLPAgent, or the rule-based FAQAgent"
    )
    encryption: Literal["local", "kms", "none"] = "local"
    key_arn: str | None = None
    # --- encryption at rest (issue 4) ---
    key_rotation: Rotation = timedelta(days=1)
    kms: KmsSettings = Field(default_factory=KmsSettings)
    # --- end-to-end encryption (issue 17) ---
    end_to_end: Literal["off", "optional", "required"] = Field(
        default="optional",
        description="optional: sessions may apply the double ratchet; required: plain "
        "messages are refused (400 e2e-required); off: no prekey bundle is published",
    )
    prekey_rotation: Duration = Field(
        default=timedelta(days=1), description="how long a signed prekey is published"
    )
    one_time_prekeys: int = Field(default=100, ge=4, le=10_000)
    # --- isolated runtimes and regions (issue 18) ---
    region: str = Field(default="default", pattern=REGION_PATTERN)
    regions: list[str] = Field(
        default_factory=list, description="regions a session may name (empty: any valid name)"
    )
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)

    @model_validator(mode="after")
    def _lease_can_be_renewed(self) -> SessionSettings:
        # The lease is renewed every third of it through the store: below half a second
        # the renewals become a busy loop of round trips and one slow store reply loses
        # the lock mid-turn.
        if self.lock_lease < MIN_LOCK_LEASE:
            raise ValueError(
                f"lock_lease must be at least {MIN_LOCK_LEASE.total_seconds():g}s "
                "(it is renewed every third of it while a turn runs); 2s is the default"
            )
        return self

    @model_validator(mode="after")
    def _idempotency_outlives_the_lease(self) -> SessionSettings:
        # A retry can wait behind its own first attempt for a whole lease: the key must
        # still be remembered when that attempt commits.
        if self.idempotency_ttl < self.lock_lease + timedelta(seconds=5):
            raise ValueError("idempotency_ttl must be at least lock_lease plus 5 seconds")
        return self


class AnalyticsSettings(BaseModel):
    """Cross-session analytics: aggregates, trend detection and alert rules (issue 5)."""

    model_config = _STRICT

    enabled: bool = True
    region: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    retention: Duration = timedelta(days=30)
    minute_retention: Duration = Field(
        default=timedelta(days=2), description="minute buckets; hours and days keep `retention`"
    )
    shards: int = Field(default=8, ge=1, le=64)
    flush_interval: Duration = timedelta(seconds=1)
    flush_timeout: Duration = timedelta(milliseconds=500)
    max_pending_events: int = Field(default=100_000, ge=1)
    latency_objective_p99_ms: float = Field(default=500.0, gt=0)
    latency_breach_for: Duration = timedelta(minutes=5)
    critical_topics: list[str] = Field(default_factory=lambda: ["Fraud alerts"])
    other_topic: str = "other"
    severity: Literal["debug", "info", "warning", "critical", "prod"] = "info"
    top_topics: int = Field(default=5, ge=1, le=100)
    detection_window: Duration = timedelta(minutes=5)
    evaluate_interval: Duration = timedelta(minutes=1)
    surge_ratio: float = Field(default=2.0, gt=1)
    ratio_mode: Literal["consistent", "point"] = "consistent"
    ratio_alpha: float = Field(default=0.1, gt=0, lt=1)
    significance: float = Field(default=0.001, gt=0, lt=0.5)
    min_count: int = Field(default=40, ge=1)
    alert_cooldown: Duration = timedelta(minutes=30)
    alert_stream_maxlen: int = Field(default=10_000, ge=100)
    auth_failures: int = Field(default=3, ge=1, description="failed attempts that flag a session")
    auth_window: Duration = timedelta(minutes=10)
    flag_ttl: Duration = timedelta(days=1)
    unreachable_after: Duration = timedelta(seconds=10)


class ServerSettings(BaseModel):
    """The HTTP service (``agentgpt serve``)."""

    model_config = _STRICT

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    environment: Literal["development", "production"] = "development"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    rate_per_user: float = Field(default=20.0, gt=0, description="requests/s per user")
    rate_burst: int = Field(default=40, ge=1)
    monitor_interval: Duration = timedelta(seconds=1)
    log_json: bool = False
    demo_tokens: bool = Field(
        default=False,
        description="serve /v1/demo/token for the web pages: development, loopback bind only "
        "(`agentgpt demo` and `agentgpt serve --demo-tokens` turn it on)",
    )
    tls_proxy: bool = Field(
        default=False,
        description="a proxy in front terminates TLS (required to bind a non-loopback "
        "address in production)",
    )


class NLUSettings(BaseModel):
    """The NLP agent's models: which backend, which model file, how inference is batched."""

    model_config = _STRICT

    backend: Literal["fast", "accurate"] = "fast"
    model_path: Path | None = Field(
        default=None,
        description="a model directory; none = the shipped default model (fast backend)",
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    batch_wait_ms: float = Field(
        default=0.0,
        ge=0.0,
        le=100.0,
        description="wait this long for a fuller batch; 0 = dispatch as soon as the worker is free",
    )
    playbook_path: Path | None = Field(default=None, description="operator's reply playbook")
    phone_region: str | None = Field(
        default=None, description="ISO country for phone numbers written without +, e.g. GB"
    )


class TracingSettings(BaseModel):
    """OpenTelemetry tracing of the turn path (needs the ``otel`` extra when enabled)."""

    model_config = _STRICT

    enabled: bool = False
    exporter: Literal["auto", "console", "otlp", "none"] = Field(
        default="auto",
        description="auto: OTLP when opentelemetry-exporter-otlp is installed, else console; "
        "none: spans only for trace ids in logs and propagation",
    )
    service_name: str = Field(default="agentgpt-sessions", min_length=1, max_length=200)
    sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="share of new traces kept (parent-based)"
    )


class Settings(BaseSettings):
    """The whole configuration of agentgpt sessions."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTGPT_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    session_storage: SessionStorage = Field(default_factory=SessionStorage)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    nlu: NLUSettings = Field(default_factory=NLUSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    store_url: str | None = Field(
        default=None,
        description="replaces the whole store address of session_storage.config (url, "
        "cluster_mode, nodes, db, TLS on/off)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment overrides the YAML file (passed as init values)."""
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _apply_store_url(self) -> Settings:
        # AGENTGPT_STORE_URL replaces the file's whole address, cluster nodes included.
        if self.store_url:
            try:
                config = self.session_storage.config.with_address(self.store_url)
            except ValueError as exc:
                raise ValueError(f"store_url (AGENTGPT_STORE_URL): {one_line(exc)}") from None
            self.session_storage.config = config
            if self.session_storage.engine == "embedded":
                self.session_storage.engine = "redis"
        return self

    @property
    def store(self) -> StoreSettings:
        """The store connection settings."""
        return self.session_storage.config
