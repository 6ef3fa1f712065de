"""The torch-free MiniLM encoder: its ONNX graph against a numpy BERT, and the real weights."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

# onnx, onnxruntime, tokenizers and safetensors come with the dev extra (the embeddings
# extra): a test environment without them is broken, so they are imported, not skipped.
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from agentgpt.errors import ConfigError
from agentgpt.nlu import minilm

HIDDEN, HEADS, LAYERS, FFN = 8, 2, 2, 16
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "my", "card", "was", "stolen", "send", "money"]
WORDS += ["##s", "##ed", "to", "iban", "hello", "world", "block", "it", "now"]

Weights = dict[str, npt.NDArray[np.float32]]


def tiny_weights(rng: np.random.Generator) -> Weights:
    """A random BERT of Hugging Face's tensor names, small enough to check by hand."""

    def r(*shape: int) -> npt.NDArray[np.float32]:
        return rng.normal(0, 0.5, shape).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(len(WORDS), HIDDEN),
        "embeddings.position_embeddings.weight": r(32, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN),
        "embeddings.LayerNorm.bias": r(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        for name in ("query", "key", "value"):
            w[f"{p}.attention.self.{name}.weight"] = r(HIDDEN, HIDDEN)
            w[f"{p}.attention.self.{name}.bias"] = r(HIDDEN)
        w[f"{p}.attention.output.dense.weight"] = r(HIDDEN, HIDDEN)
        w[f"{p}.attention.output.dense.bias"] = r(HIDDEN)
        w[f"{p}.intermediate.dense.weight"] = r(FFN, HIDDEN)
        w[f"{p}.intermediate.dense.bias"] = r(FFN)
        w[f"{p}.output.dense.weight"] = r(HIDDEN, FFN)
        w[f"{p}.output.dense.bias"] = r(HIDDEN)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{norm}.weight"] = 1 + r(HIDDEN)
            w[f"{p}.{norm}.bias"] = r(HIDDEN)
    return w


def reference(w: Weights, ids: list[int]) -> npt.NDArray[np.float64]:
    """BERT + mean pooling + unit length, written out in numpy (float64) for one text."""
    from scipy.special import erf

    def norm(x: npt.NDArray[np.float64], p: str) -> npt.NDArray[np.float64]:
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[f"{p}.weight"] + w[f"{p}.bias"]

    def lin(x: npt.NDArray[np.float64], p: str) -> npt.NDArray[np.float64]:
        return x @ w[f"{p}.weight"].T.astype(np.float64) + w[f"{p}.bias"]

    n, size = len(ids), HIDDEN // HEADS
    x = w["embeddings.word_embeddings.weight"][ids].astype(np.float64)
    x = x + w["embeddings.position_embeddings.weight"][:n]
    x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    for i in range(LAYERS):
        p = f"encoder.layer.{i}.attention"
        q, k, v = (
            lin(x, f"{p}.self.{m}").reshape(n, HEADS, size) for m in ("query", "key", "value")
        )
        s = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(size)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = np.einsum("hqk,khd->qhd", a, v).reshape(n, HIDDEN)
        x = norm(lin(ctx, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        h = lin(x, f"encoder.layer.{i}.intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        p = f"encoder.layer.{i}.output"
        x = norm(lin(h, f"{p}.dense") + x, f"{p}.LayerNorm")
    pooled = x.mean(0)
    unit: npt.NDArray[np.float64] = pooled / np.linalg.norm(pooled)
    return unit


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Weights]:
    """A model folder as the weights package lays it out, with a random tiny BERT."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    weights = tiny_weights(np.random.default_rng(7))
    save_file(weights, str(folder / "model.safetensors"))
    config = {"num_attention_heads": HEADS, "layer_norm_eps": 1e-12, "hidden_size": HIDDEN}
    (folder / "config.json").write_text(json.dumps(config))
    tokenizer = Tokenizer(models.WordPiece({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder, weights


@pytest.mark.parametrize("quantized", [False, True])
def test_the_onnx_graph_computes_bert_with_mean_pooling(
    tiny_model: tuple[Path, Weights], quantized: bool
) -> None:
    folder, weights = tiny_model
    encoder = minilm.Encoder(folder, threads=1, quantized=quantized)
    # Different lengths in one call: padding must change nothing (mask and pooling).
    texts = ["my card was stolen", "hello", "send money to iban now block it", "unknown words"]
    got = encoder.encode(texts, batch_size=3)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for text, row in zip(texts, got, strict=True):
        want = reference(weights, tokenizer.encode(text).ids)
        # float32 matches to rounding; int8 weights stay close on a unit vector.
        assert float(row @ want) > (0.99 if quantized else 0.99999), text
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_encode_keeps_the_order_of_its_input(tiny_model: tuple[Path, Weights]) -> None:
    encoder = minilm.Encoder(tiny_model[0], threads=1, quantized=False)
    texts = ["send money to iban now", "hello", "my card", "hello world block it"]
    together = encoder.encode(texts, batch_size=2)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.skipif(minilm.weights_dir() is None, reason="MiniLM weights not installed")
def test_the_real_weights_give_the_published_embedding() -> None:
    # all-MiniLM-L6-v2's embedding of "hello world" as sentence-transformers computes it
    # (first five values, as published in fastembed's tests): the float32 graph must agree.
    encoder = minilm.default_encoder(threads=1, quantized=False, tuned=False)
    assert encoder.variant == minilm.BASE_VARIANT
    got = encoder.encode(["hello world"])[0, :5]
    assert np.allclose(got, [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362], atol=1e-4)


def layer_file(
    path: Path, base: Path, tensors: Weights, *, variant: str = minilm.TUNED_VARIANT
) -> Path:
    """A fine-tuned layer file as scripts/finetune_minilm.py writes it (float16)."""
    digest = hashlib.sha256((base / "model.safetensors").read_bytes()).hexdigest()
    halves = {name: array.astype(np.float16) for name, array in tensors.items()}
    save_file(halves, str(path), metadata={"variant": variant, "base_sha256": digest})
    return path


def test_fine_tuned_layers_are_overlaid_on_the_base_weights(
    tiny_model: tuple[Path, Weights], tmp_path: Path
) -> None:
    folder, weights = tiny_model
    rng = np.random.default_rng(11)
    top = {k: rng.normal(0, 0.5, v.shape).astype(np.float32) for k, v in weights.items()
           if k.startswith(f"encoder.layer.{LAYERS - 1}.")}  # fmt: skip
    layers = layer_file(tmp_path / "layers.safetensors", folder, top)
    encoder = minilm.Encoder(folder, layers=layers, threads=1, quantized=False)
    assert encoder.variant == minilm.TUNED_VARIANT
    tuned = weights | {k: v.astype(np.float16).astype(np.float32) for k, v in top.items()}
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    texts = ["my card was stolen", "send money to iban now", "hello"]
    for text, row in zip(texts, encoder.encode(texts), strict=True):
        ids = tokenizer.encode(text).ids
        assert float(row @ reference(tuned, ids)) > 0.99999, text
        # The overlay changed the output: the base weights alone give another vector.
        assert float(row @ reference(weights, ids)) < 0.999, text


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("variant", "variant 'all-MiniLM-L6-v2\\+other/9'"),
        ("base", "other base weights"),
        ("shape", r"encoder.layer.1.output.dense.bias \(3,\) does not fit"),
        ("name", r"encoder.layer.7.output.dense.bias .*\(no such tensor\)"),
        ("empty", "hold no tensor"),
        ("garbage", "unreadable"),
        ("missing", "unreadable"),
    ],
)
def test_a_layer_file_that_does_not_fit_is_refused_with_a_clear_error(
    tiny_model: tuple[Path, Weights], tmp_path: Path, case: str, message: str
) -> None:
    folder, weights = tiny_model
    good = {"encoder.layer.1.output.dense.bias": weights["encoder.layer.1.output.dense.bias"]}
    path = tmp_path / "layers.safetensors"
    if case == "variant":
        layer_file(path, folder, good, variant="all-MiniLM-L6-v2+other/9")
    elif case == "base":
        layer_file(path, folder, good)
        meta = {"variant": minilm.TUNED_VARIANT, "base_sha256": "0" * 64}
        save_file({k: v.astype(np.float16) for k, v in good.items()}, str(path), metadata=meta)
    elif case == "shape":
        layer_file(path, folder, {"encoder.layer.1.output.dense.bias": np.zeros(3, np.float32)})
    elif case == "name":
        layer_file(path, folder, {"encoder.layer.7.output.dense.bias": np.zeros(3, np.float32)})
    elif case == "empty":
        layer_file(path, folder, {})
    elif case == "garbage":
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header")
    with pytest.raises(ConfigError, match=message):
        minilm.Encoder(folder, layers=path, threads=1, quantized=False)


@given(st.lists(st.integers(1, 40), max_size=80), st.integers(1, 9), st.integers(0, 4))
def test_passes_cover_every_text_once_within_size_and_length_slack(
    lengths: list[int], most: int, slack: int
) -> None:
    groups = minilm.passes(lengths, most, slack)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for group in groups:
        assert 1 <= len(group) <= most
        assert max(lengths[i] for i in group) - min(lengths[i] for i in group) <= slack
    # Shortest first, so consecutive passes never overlap in length.
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(flat)


def test_the_shipped_layers_are_all_six_of_the_tuned_variant() -> None:
    # Readable without the base weights: what overlaid() checks against them is the variant,
    # the names and the shapes; the base's sha256 is checked by the real-weights test below.
    from safetensors import safe_open

    with safe_open(str(minilm.SHIPPED_LAYERS), framework="np") as handle:
        meta = handle.metadata() or {}
        shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    assert meta["variant"] == minilm.TUNED_VARIANT
    assert len(meta["base_sha256"]) == 64
    layers = {name.split(".")[2] for name in shapes if name.startswith("encoder.layer.")}
    assert layers == {str(i) for i in range(6)}
    assert shapes["encoder.layer.5.attention.self.query.weight"] == (384, 384)
    assert not any(name.startswith("embeddings.") for name in shapes)


@pytest.mark.skipif(minilm.weights_dir() is None, reason="MiniLM weights not installed")
def test_the_shipped_layers_fit_the_installed_weights() -> None:
    encoder = minilm.default_encoder(threads=1, quantized=False)
    assert encoder.variant == minilm.TUNED_VARIANT
    a, b, c = encoder.encode(["my card has not arrived", "my card never came", "hello"])
    assert float(a @ b) > float(a @ c)
