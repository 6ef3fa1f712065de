"""The per-process inference engine: one classifier, one redactor, one micro-batcher."""

from __future__ import annotations

import threading

from agentgpt.config.settings import NLUSettings
from agentgpt.nlu.analysis import Analysis, Analyzer, Request
from agentgpt.nlu.batcher import MicroBatcher
from agentgpt.nlu.models import shared_classifier
from agentgpt.nlu.pii import PIIRedactor

_lock = threading.Lock()
_engines: dict[str, MicroBatcher[Request, Analysis]] = {}


def shared_engine(settings: NLUSettings | None = None) -> MicroBatcher[Request, Analysis]:
    """Return the process's batcher for ``settings`` (built, and its model loaded, once)."""
    settings = settings or NLUSettings()
    key = settings.model_dump_json()
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            analyzer = Analyzer(shared_classifier(settings), PIIRedactor(settings.phone_region))
            engine = MicroBatcher(
                analyzer, max_batch=settings.batch_size, max_wait=settings.batch_wait_ms / 1000
            )
            _engines[key] = engine
        return engine
