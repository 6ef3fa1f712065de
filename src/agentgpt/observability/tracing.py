"""Optional OpenTelemetry spans: a near-free no-op unless tracing was switched on.

Tracing is off until ``configure(settings)`` (the server's lifespan) or ``install()`` (a
library user, a test) gives this module a tracer. Until then ``span()`` returns one shared
``nullcontext`` and never touches OpenTelemetry, so the turn path pays a function call per
span (about 0.1 µs) and the package works without OpenTelemetry installed.

Span attributes carry ids and labels only, never message text or PII.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentgpt.config.settings import TracingSettings
from agentgpt.errors import AgentGPTError, ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

INSTRUMENTATION = "agentgpt"
MISSING = "tracing needs OpenTelemetry: pip install 'agentgpt-sessions[otel]'"
_OTLP_MODULES = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
)

# One reusable no-op context manager: the disabled path allocates nothing.
_NULL: contextlib.nullcontext[None] = contextlib.nullcontext()
_tracer: Tracer | None = None
_owned: SdkTracerProvider | None = None  # a provider configure() built and must shut down


def enabled() -> bool:
    """True when spans are being created."""
    return _tracer is not None


def span(
    name: str, attributes: Mapping[str, AttributeValue] | None = None
) -> contextlib.AbstractContextManager[Span | None]:
    """A child span of the current one, made current; ``None`` (no-op) when disabled."""
    tracer = _tracer
    if tracer is None:
        return _NULL
    return _Scope(
        tracer.start_as_current_span(
            name, attributes=attributes, record_exception=False, set_status_on_exception=False
        )
    )


def server_span(
    name: str,
    headers: Iterable[tuple[bytes, bytes]],
    attributes: Mapping[str, AttributeValue] | None = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """A server span continuing the caller's trace (W3C ``traceparent``) if it sent one."""
    tracer = _tracer
    if tracer is None:
        return _NULL
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in headers}
    return _Scope(
        tracer.start_as_current_span(
            name,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        )
    )


def record_error(span: Span, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc``: its type, and the message only if it is ours.

    OpenTelemetry's own recording would add the message and the chained traceback of any
    exception, and an agent's exception may quote the customer's text.
    """
    from opentelemetry.trace import Status, StatusCode

    event: dict[str, AttributeValue] = {"exception.type": type(exc).__qualname__}
    if isinstance(exc, AgentGPTError):  # our messages name ids and limits, never text
        event["exception.message"] = str(exc)
        event["agentgpt.error.code"] = exc.code
    span.add_event("exception", event)
    span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))


class _Scope:
    """Enters an OpenTelemetry span context and records a failure the PII-safe way."""

    __slots__ = ("_inner", "_span")

    def __init__(self, inner: contextlib.AbstractContextManager[Span]) -> None:
        self._inner = inner

    def __enter__(self) -> Span:
        self._span = self._inner.__enter__()
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # Cancellation (a BaseException) ends the span without marking it failed.
        if isinstance(exc, Exception):
            record_error(self._span, exc)
        return self._inner.__exit__(exc_type, exc, tb)


def current_ids() -> tuple[str, str] | None:
    """The current (trace id, span id) in hex, or ``None`` outside a valid span."""
    # Whoever started a span imported the API first: if nobody did, there is no span, and
    # a log line need not pay for the import.
    if "opentelemetry.trace" not in sys.modules:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def install(provider: TracerProvider | None = None) -> None:
    """Trace with ``provider``'s tracer, or the global ``get_tracer("agentgpt")``."""
    global _tracer
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ConfigError(MISSING) from exc
    if provider is None:
        _tracer = trace.get_tracer(INSTRUMENTATION)
    else:
        _tracer = provider.get_tracer(INSTRUMENTATION)


def uninstall() -> None:
    """Stop tracing (spans become no-ops again); does not shut a provider down."""
    global _tracer
    _tracer = None


def check(settings: TracingSettings) -> None:
    """Raise the ``ConfigError`` ``configure`` would raise, without configuring anything.

    ``agentgpt serve`` calls it before starting the server, so a missing package is one line
    and exit 78 rather than a failed lifespan's traceback.
    """
    if not settings.enabled:
        return
    if not _importable("opentelemetry.sdk.trace"):
        raise ConfigError(MISSING)
    if settings.exporter == "otlp" and not any(_importable(m) for m in _OTLP_MODULES):
        raise ConfigError(
            "tracing.exporter 'otlp' needs an OTLP exporter: "
            "pip install opentelemetry-exporter-otlp"
        )


def _importable(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):  # a parent package is missing, or blocked
        return False


def configure(settings: TracingSettings, *, set_global: bool = True) -> bool:
    """Build an SDK provider and exporter from ``settings`` and trace with it.

    Returns False (and changes nothing) when tracing is disabled. ``set_global`` also
    makes it OpenTelemetry's global provider unless one is set already, so that other
    instrumented libraries join the same traces. ``ConfigError`` when the packages are
    missing.
    """
    global _owned
    if not settings.enabled:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio
    except ImportError as exc:
        raise ConfigError(MISSING) from exc
    exporter = _exporter(settings.exporter)
    provider = SdkTracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        sampler=ParentBasedTraceIdRatio(settings.sample_ratio),
    )
    if exporter is not None:
        # Batched: exporting never runs on the request that produced the span.
        provider.add_span_processor(BatchSpanProcessor(exporter))
    shutdown()
    if set_global and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    install(provider)
    _owned = provider
    return True


def shutdown() -> None:
    """Stop tracing; flush and shut down the provider ``configure`` built, if any."""
    global _owned
    uninstall()
    provider, _owned = _owned, None
    if provider is not None:
        provider.shutdown()


@contextlib.contextmanager
def configured(settings: TracingSettings, *, set_global: bool = True) -> Iterator[bool]:
    """``configure(settings)`` for the duration of the block (e.g. a server's lifespan)."""
    active = configure(settings, set_global=set_global)
    try:
        yield active
    finally:
        if active:
            shutdown()


def _exporter(kind: str) -> SpanExporter | None:
    if kind == "none":
        return None
    if kind in {"auto", "otlp"}:
        for module_name in _OTLP_MODULES:
            try:
                module: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            # Endpoint, headers and TLS come from the standard OTEL_EXPORTER_OTLP_* variables.
            otlp: SpanExporter = module.OTLPSpanExporter()
            return otlp
        if kind == "otlp":
            raise ConfigError(
                "tracing.exporter 'otlp' needs an OTLP exporter: "
                "pip install opentelemetry-exporter-otlp"
            )
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    # sys.stdout as it is now: the SDK's default is the one bound when it was imported.
    return ConsoleSpanExporter(out=sys.stdout)
