"""Tracing: the no-op path, configuration, PII-safe error recording, trace ids in logs."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentgpt.config.settings import Settings, TracingSettings
from agentgpt.errors import ConfigError, SessionNotFound
from agentgpt.observability import tracing
from agentgpt.server.middleware import JsonFormatter

SECRET = "my IBAN is DE89370400440532013000"


def log_line(message: str) -> dict[str, object]:
    """Format one record with the JSON formatter and parse it back."""
    record = logging.LogRecord("agentgpt.test", logging.INFO, __file__, 1, message, None, None)
    return dict(json.loads(JsonFormatter().format(record)))


def test_disabled_by_default_and_spans_are_no_ops() -> None:
    assert not tracing.enabled()
    with tracing.span("agentgpt.turn", {"session.id": "sess_x"}) as span:
        assert span is None
        assert tracing.current_ids() is None
    with tracing.server_span(
        "GET", [(b"traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]
    ) as span:
        assert span is None


def test_disabled_span_does_not_swallow_errors() -> None:
    with pytest.raises(SessionNotFound), tracing.span("agentgpt.turn"):
        raise SessionNotFound("gone")


def test_tracing_settings_default_off_and_env_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().tracing.enabled is False
    monkeypatch.setenv("AGENTGPT_TRACING__ENABLED", "true")
    monkeypatch.setenv("AGENTGPT_TRACING__EXPORTER", "console")
    tracing_settings = Settings().tracing
    assert tracing_settings.enabled is True
    assert tracing_settings.exporter == "console"


def test_configure_disabled_changes_nothing() -> None:
    assert tracing.configure(TracingSettings(enabled=False)) is False
    assert not tracing.enabled()


def test_configure_without_the_sdk_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'agentgpt-sessions\[otel\]'"):
        tracing.configure(TracingSettings(enabled=True))
    assert not tracing.enabled()


def test_check_says_what_configure_would_without_configuring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracing.check(TracingSettings(enabled=False))
    tracing.check(TracingSettings(enabled=True, exporter="console"))
    assert not tracing.enabled()
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'agentgpt-sessions\[otel\]'"):
        tracing.check(TracingSettings(enabled=True))
    tracing.check(TracingSettings(enabled=False))


def test_install_without_the_api_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigError, match=r"agentgpt-sessions\[otel\]"):
        tracing.install()


def test_explicit_otlp_without_the_exporter_is_a_config_error() -> None:
    try:
        import opentelemetry.exporter.otlp  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("an OTLP exporter is installed here")
    with pytest.raises(ConfigError, match="opentelemetry-exporter-otlp"):
        tracing.configure(TracingSettings(enabled=True, exporter="otlp"), set_global=False)
    assert not tracing.enabled()


def test_configured_console_exporter_prints_spans_and_shuts_down(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = TracingSettings(enabled=True, exporter="console", service_name="svc-under-test")
    with tracing.configured(settings, set_global=False) as active:
        assert active
        assert tracing.enabled()
        with tracing.span("agentgpt.turn", {"session.id": "sess_abc"}):
            pass
    assert not tracing.enabled()  # the block's exit flushed and uninstalled
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # global untouched
    printed = capsys.readouterr().out
    assert '"name": "agentgpt.turn"' in printed
    assert "svc-under-test" in printed


def test_configure_none_exporter_still_gives_trace_ids() -> None:
    try:
        assert tracing.configure(TracingSettings(enabled=True, exporter="none"), set_global=False)
        with tracing.span("agentgpt.turn"):
            ids = tracing.current_ids()
        assert ids is not None
        assert len(ids[0]) == 32
        assert len(ids[1]) == 16
    finally:
        tracing.shutdown()


def test_spans_nest_and_carry_attributes(spans: InMemorySpanExporter) -> None:
    with tracing.span("outer", {"session.id": "sess_a"}) as outer, tracing.span("inner"):
        assert outer is not None
    inner_span, outer_span = spans.get_finished_spans()
    assert (inner_span.name, outer_span.name) == ("inner", "outer")
    assert inner_span.parent is not None
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert dict(outer_span.attributes or {}) == {"session.id": "sess_a"}


def test_foreign_exception_is_recorded_without_its_message(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError, match="IBAN"), tracing.span("agentgpt.turn.process"):
        raise ValueError(SECRET)
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    (event,) = span.events
    assert dict(event.attributes or {}) == {"exception.type": "ValueError"}
    assert SECRET not in repr(span.to_json())


def test_our_exception_is_recorded_with_message_and_code(spans: InMemorySpanExporter) -> None:
    with pytest.raises(SessionNotFound), tracing.span("agentgpt.turn"):
        raise SessionNotFound("session sess_x does not exist")
    (span,) = spans.get_finished_spans()
    (event,) = span.events
    assert event.attributes is not None
    assert event.attributes["agentgpt.error.code"] == "session-not-found"
    assert event.attributes["exception.message"] == "session sess_x does not exist"


def test_server_span_continues_the_callers_trace(spans: InMemorySpanExporter) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = [(b"traceparent", f"00-{trace_id}-{parent_id}-01".encode())]
    with tracing.server_span("GET", headers):
        pass
    (span,) = spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == parent_id


def test_json_log_lines_carry_trace_ids_only_inside_a_span(spans: InMemorySpanExporter) -> None:
    assert "trace_id" not in log_line("outside")
    with tracing.span("agentgpt.turn") as span:
        inside = log_line("inside")
    assert span is not None
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert inside["request_id"] == "-"
