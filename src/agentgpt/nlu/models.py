"""Which model a process uses: the configured one, or the shipped default model.

The default (fast) model ships inside the package (``default_model``, built by
``scripts/train_default_model.py``): nothing is trained at first run. The accurate backend
has no shipped model (its head needs the embeddings extra): without a ``model_path`` it
trains the starter model once and caches it. Every agent of a process shares one classifier
(and one batcher, see ``batcher``): a model is loaded once per process, never once per agent.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

from agentgpt.config.paths import data_home, ensure_dir
from agentgpt.config.settings import NLUSettings
from agentgpt.errors import IntegrityError
from agentgpt.nlu import classifier, dataset
from agentgpt.nlu.classifier import Classifier

STARTER_CSV = "starter.csv"
DEFAULT_MODEL = "default_model"
_lock = threading.Lock()
_loaded: dict[tuple[str, str], Classifier] = {}


def starter_dataset() -> dataset.Dataset:
    """The project's own training set (86 intents) shipped inside the package."""
    source = resources.files("agentgpt.nlu.starter_data").joinpath(STARTER_CSV)
    with resources.as_file(source) as path:
        return dataset.load(path)


def default_model() -> Classifier:
    """Load the model shipped in the package (verified by its digest like any model)."""
    source = resources.files("agentgpt.nlu").joinpath(DEFAULT_MODEL)
    with resources.as_file(source) as folder:
        return classifier.load(folder)


def starter_model_dir(backend: classifier.Backend = "fast") -> Path:
    """Where the starter model is cached: keyed by backend and training-data fingerprint."""
    fingerprint = starter_dataset().fingerprint[:16]
    return data_home() / "models" / f"starter-{backend}-{fingerprint}"


def starter_model(backend: classifier.Backend = "fast") -> Classifier:
    """Load the cached starter model, training and caching it first if needed (seconds)."""
    folder = starter_model_dir(backend)
    if folder.exists():
        try:
            return classifier.load(folder)
        except IntegrityError:
            pass  # a damaged cache is rebuilt from the shipped data, never trusted
    model = classifier.train(starter_dataset(), backend)
    ensure_dir(folder.parent)
    model.save(folder)
    return model


def shared_classifier(settings: NLUSettings | None = None) -> Classifier:
    """Return this process's classifier for ``settings`` (loaded or trained on first use)."""
    settings = settings or NLUSettings()
    key = (settings.backend, str(settings.model_path or ""))
    with _lock:
        if key not in _loaded:
            if settings.model_path is not None:
                _loaded[key] = classifier.load(settings.model_path)
            elif settings.backend == "fast":
                _loaded[key] = default_model()
            else:
                _loaded[key] = starter_model(settings.backend)
        return _loaded[key]


def forget_loaded() -> None:
    """Drop the process's loaded models (tests; after retraining in place)."""
    with _lock:
        _loaded.clear()
