"""Compare accurate-backend encoders on validation data only (issue 15, fine-tuned MiniLM).

Usage: AGENTGPT_MINILM_DIR=DIR nice -n 10 python bench/nlu_encoder_val.py \
           [--banking77 ../shared/data/banking77] [--layers base,FILE.safetensors,...]

For each encoder (``base``: the published weights; a file: fine-tuned layers written by
scripts/finetune_minilm.py --holdout 0.2, i.e. trained without the hold-out), trains the
accurate backend as bench/nlu.py does (fast model + embedding head, C and beta chosen out of
fold) on BANKING77 train less the seeded stratified 20% hold-out (bench/nlu_val.py's split)
and reports its accuracy on that hold-out. Test sets are never read. Prints one JSON line
per encoder.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from agentgpt.nlu import classifier, corpus, embedding_backend, minilm
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def use(name: str) -> None:
    """Make ``name`` (base or a layer file) the backend's process-wide encoder."""
    folder = minilm.weights_dir()
    assert folder is not None, "set AGENTGPT_MINILM_DIR"
    encoder = minilm.Encoder(folder, layers=None if name == "base" else Path(name))
    embedding_backend._encoder = lambda: encoder  # type: ignore[misc]  # a bench's swap


def clinc_val(args: argparse.Namespace) -> None:
    """Accurate backend on the default model's data; CLINC150 val, argmax (no threshold)."""
    data = corpus.default_training_set(args.banking77, args.clinc150)
    val = corpus.clinc(args.clinc150, "val")
    texts, truth = classifier.redacted(val.texts), np.array(val.labels)
    outside = truth == OUT_OF_SCOPE
    for name in args.layers.split(","):
        started = time.perf_counter()
        use(name)
        model = classifier.train(data, "accurate")
        assert model.head is not None
        labels = np.array(model.labels)
        fast_s = model.fast.scores(texts)
        head_s = model.head.scores(embedding_backend.encode(texts))
        out: dict[str, object] = {"encoder": name, "beta": model.head.beta}
        for what, scores in (
            ("accurate", fast_s + model.head.beta * head_s),
            ("head_alone", head_s),
            ("fast_alone", fast_s),
        ):
            pred = labels[scores.argmax(1)]
            out[what] = {
                "in_scope_accuracy": round(float((pred == truth)[~outside].mean()), 4),
                "oos_recall": round(float((pred == OUT_OF_SCOPE)[outside].mean()), 4),
            }
        out["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(out), flush=True)


def main() -> None:
    """Train and score the accurate backend once per encoder."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--banking77", type=Path, default=DATA / "banking77")
    parser.add_argument("--layers", default="base")
    parser.add_argument(
        "--clinc150", type=Path, default=None, help="instead: default data, CLINC150 val"
    )
    parser.add_argument(
        "--fixed-passes", type=int, default=0, help="N: passes of N texts in length order"
    )
    parser.add_argument(
        "--float32", action="store_true", help="the encoder unquantised (int8's cost)"
    )
    args = parser.parse_args()
    if args.fixed_passes:
        # The grouping before minilm.passes (int8 activations are quantised per pass).
        def fixed(lengths: list[int], most: int, slack: int = 0) -> list[list[int]]:
            order = sorted(range(len(lengths)), key=lengths.__getitem__)
            return [
                order[i : i + args.fixed_passes] for i in range(0, len(order), args.fixed_passes)
            ]

        minilm.passes = fixed  # type: ignore[assignment]
    if args.clinc150:
        clinc_val(args)
        return
    fit, held = corpus.banking77_holdout(args.banking77)
    folder = minilm.weights_dir()
    assert folder is not None, "set AGENTGPT_MINILM_DIR"
    for name in args.layers.split(","):
        started = time.perf_counter()
        layers = None if name == "base" else Path(name)
        encoder = minilm.Encoder(folder, layers=layers, quantized=not args.float32)
        # The backend's process-wide encoder, swapped for this one (a bench, not the service).
        embedding_backend._encoder = lambda encoder=encoder: encoder  # type: ignore[misc]
        model = classifier.train(fit, "accurate")
        texts = classifier.redacted(held.texts)
        pred = np.array(model.labels)[model.proba(texts).argmax(1)]
        fast_pred = np.array(model.labels)[model.fast.proba(texts).argmax(1)]
        assert model.head is not None
        head_only = model.head.scores(embedding_backend.encode(texts)).argmax(1)
        truth = np.array(held.labels)
        # Hold-out accuracy at each mix (validation: what a wider beta grid would give).
        fast_s = model.fast.scores(texts)
        head_s = model.head.scores(embedding_backend.encode(texts))
        by_beta = {
            str(b): round(
                float((np.array(model.labels)[(fast_s + b * head_s).argmax(1)] == truth).mean()), 4
            )
            for b in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)
        }
        print(
            json.dumps(
                {
                    "encoder": name,
                    "banking77_holdout": round(float((pred == truth).mean()), 4),
                    "head_alone": round(
                        float((np.array(model.labels)[head_only] == truth).mean()), 4
                    ),
                    "fast_alone": round(float((fast_pred == truth).mean()), 4),
                    "beta": model.head.beta,
                    "holdout_by_beta": by_beta,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
