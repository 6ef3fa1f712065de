"""Which model a process uses: the configured one, or a model shipped in the package.

Both backends ship a default model trained on the same data (``default_model`` and
``default_model_accurate``, built by ``scripts/train_default_model.py``): nothing is
trained at first run. The accurate one adds an embedding head to the fast one; it runs only
with the embeddings extra and the MiniLM weights installed. Every agent of a process shares
one classifier (and one batcher, see ``batcher``): a model is loaded once per process, never
once per agent.
"""

from __future__ import annotations

import threading
from importlib import resources

from agentgpt.config.settings import NLUSettings
from agentgpt.nlu import classifier, dataset
from agentgpt.nlu.classifier import Classifier

STARTER_CSV = "starter.csv"
#: The shipped model of each backend (a folder of the ``agentgpt.nlu`` package).
DEFAULT_MODELS: dict[classifier.Backend, str] = {
    "fast": "default_model",
    "accurate": "default_model_accurate",
}
DEFAULT_MODEL = DEFAULT_MODELS["fast"]
_lock = threading.Lock()
_loaded: dict[tuple[str, str], Classifier] = {}


def starter_dataset() -> dataset.Dataset:
    """The project's own training set (86 intents) shipped inside the package."""
    source = resources.files("agentgpt.nlu.starter_data").joinpath(STARTER_CSV)
    with resources.as_file(source) as path:
        return dataset.load(path)


def default_model(backend: classifier.Backend = "fast") -> Classifier:
    """Load the model of ``backend`` shipped in the package (verified by its digest)."""
    source = resources.files("agentgpt.nlu").joinpath(DEFAULT_MODELS[backend])
    with resources.as_file(source) as folder:
        return classifier.load(folder)


def shared_classifier(settings: NLUSettings | None = None) -> Classifier:
    """Return this process's classifier for ``settings`` (loaded on first use)."""
    settings = settings or NLUSettings()
    key = (settings.backend, str(settings.model_path or ""))
    with _lock:
        if key not in _loaded:
            if settings.model_path is not None:
                _loaded[key] = classifier.load(settings.model_path)
            else:
                _loaded[key] = default_model(settings.backend)
        return _loaded[key]


def forget_loaded() -> None:
    """Drop the process's loaded models (tests; after retraining in place)."""
    with _lock:
        _loaded.clear()
