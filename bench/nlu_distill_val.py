"""Does the fast model gain from the accurate backend as a teacher? Validation only (issue 15).

Usage: AGENTGPT_MINILM_DIR=DIR nice -n 10 python bench/nlu_distill_val.py \
           --layers FILE [--copies 2] [--seed 0]

``FILE``: fine-tuned layers trained without the hold-out (scripts/finetune_minilm.py
--holdout 0.2). The split is bench/nlu_val.py's: the default model's data with a seeded
stratified 20% of BANKING77 train held out. The teacher is the accurate backend trained on
the rest. Each training text of BANKING77 gets ``copies`` perturbed copies (one word
dropped, or two neighbours swapped: what customers' typing does to a sentence), labelled by
the teacher's prediction; the student is the fast model trained on the original rows plus
those. Reports the fast model's hold-out accuracy without and with them, and the teacher's.
Test sets are never read. The student costs what the fast model costs (same features).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from agentgpt.nlu import classifier, corpus, dataset, embedding_backend, minilm

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def perturbed(text: str, rng: random.Random) -> str:
    """``text`` with one word dropped or two neighbouring words swapped."""
    words = text.split()
    if len(words) < 4:
        return text
    i = rng.randrange(len(words) - 1)
    if rng.random() < 0.5:
        del words[i]
    else:
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def accuracy(model: classifier.Classifier, held: dataset.Dataset) -> float:
    """Argmax accuracy on the hold-out (no out-of-scope threshold)."""
    texts = classifier.redacted(held.texts)
    pred = np.array(model.labels)[model.proba(texts).argmax(1)]
    return round(float((pred == np.array(held.labels)).mean()), 4)


def main() -> None:
    """Train teacher, plain student and distilled student; print one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--banking77", type=Path, default=DATA / "banking77")
    parser.add_argument("--clinc150", type=Path, default=DATA / "clinc150")
    parser.add_argument("--layers", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    folder = minilm.weights_dir()
    assert folder is not None, "set AGENTGPT_MINILM_DIR"
    encoder = minilm.Encoder(folder, layers=args.layers)
    embedding_backend._encoder = lambda: encoder  # type: ignore[misc]  # a bench's swap
    fit, held = corpus.banking77_holdout(args.banking77)
    others = [corpus.clinc(args.clinc150, "train"), corpus.in_house()]
    data = corpus.combined([fit, *others])
    teacher = classifier.train(data, "accurate")
    plain = classifier.train(data, "fast")
    rng = random.Random(args.seed)
    extra = [perturbed(t, rng) for t in fit.texts for _ in range(args.copies)]
    extra = [t for t in dict.fromkeys(extra) if t not in set(fit.texts)]
    labels = np.array(teacher.labels)[teacher.proba(classifier.redacted(extra)).argmax(1)]
    augmented = dataset.from_rows(extra, [str(label) for label in labels])
    student = classifier.train(corpus.combined([fit, augmented, *others]), "fast")
    print(
        json.dumps(
            {
                "layers": str(args.layers),
                "copies": args.copies,
                "extra_rows": len(extra),
                "teacher_holdout": accuracy(teacher, held),
                "fast_holdout": accuracy(plain, held),
                "distilled_fast_holdout": accuracy(student, held),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
