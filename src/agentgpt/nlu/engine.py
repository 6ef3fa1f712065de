"""The per-process inference engine: one classifier, one redactor, one micro-batcher.

The fast backend analyses a message in ~100 us, less than handing it to a worker thread
and back costs (a few hundred us of wake-ups and futures): the agent runs it inline
(``shared_analyzer``). The accurate backend's encoder takes milliseconds and gains from
batches: it goes through the batcher, off the event loop.
"""

from __future__ import annotations

import threading

from agentgpt.config.settings import NLUSettings
from agentgpt.nlu.analysis import Analysis, Analyzer, Request
from agentgpt.nlu.batcher import MicroBatcher
from agentgpt.nlu.models import shared_classifier
from agentgpt.nlu.pii import PIIRedactor

_lock = threading.Lock()
_engines: dict[str, MicroBatcher[Request, Analysis]] = {}
_analyzers: dict[str, Analyzer] = {}


def shared_analyzer(settings: NLUSettings | None = None) -> Analyzer:
    """Return the process's analyzer for ``settings`` (its model loaded once)."""
    settings = settings or NLUSettings()
    key = settings.model_dump_json()
    with _lock:
        analyzer = _analyzers.get(key)
        if analyzer is None:
            analyzer = Analyzer(shared_classifier(settings), PIIRedactor(settings.phone_region))
            _analyzers[key] = analyzer
        return analyzer


def shared_engine(settings: NLUSettings | None = None) -> MicroBatcher[Request, Analysis]:
    """Return the process's batcher for ``settings`` (built, and its model loaded, once)."""
    settings = settings or NLUSettings()
    key = settings.model_dump_json()
    analyzer = shared_analyzer(settings)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = MicroBatcher(
                analyzer, max_batch=settings.batch_size, max_wait=settings.batch_wait_ms / 1000
            )
            _engines[key] = engine
        return engine
