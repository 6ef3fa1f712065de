"""Choose the fast backend's hyper-parameters by cross-validation on the training set only.

Usage: python bench/nlu_cv.py [--data ../shared/data/banking77] [--folds 3]
Prints one JSON line: the mean CV accuracy of each candidate and the best one. The
defaults of ``FastParams`` are set from this script's output (never from test.csv).
Selection is on the CV mean per-intent recall (balanced accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import msgspec
import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold

from agentgpt.nlu import dataset
from agentgpt.nlu.fast_backend import FastParams, encode_labels, train_linear
from agentgpt.nlu.features import FeatureSpec

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [
    FastParams(c=0.5, balanced=False),
    FastParams(c=1.0, balanced=False),
    FastParams(c=0.5, balanced=True),
    FastParams(c=0.7, balanced=True),
    FastParams(c=1.0, balanced=True),
    FastParams(c=0.7, balanced=True, features=FeatureSpec(word_max_n=3)),
    FastParams(c=0.7, balanced=True, features=FeatureSpec(char_min_n=1, char_max_n=5)),
    FastParams(c=0.7, balanced=True, features=FeatureSpec(char_min_n=2, char_max_n=6)),
    FastParams(c=0.7, balanced=True, features=FeatureSpec(min_df=2)),
]


def main() -> None:
    """Run the search and print the JSON line."""
    default = os.environ.get("AGENTGPT_BANKING77", str(ROOT.parent / "shared/data/banking77"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=default)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    train = dataset.load(args.data, "train")
    labels, y = encode_labels(train)
    texts = np.array(train.texts, dtype=object)
    results = []
    for params in CANDIDATES:
        started = time.perf_counter()
        accs: list[float] = []
        recalls: list[float] = []
        for fit, held in StratifiedKFold(args.folds, shuffle=True, random_state=0).split(texts, y):
            no_cal = msgspec.structs.replace(params, calibration_folds=0)
            model = train_linear(list(texts[fit]), y[fit], len(labels), no_cal)
            predicted = model.scores(list(texts[held])).argmax(1)
            accs.append(float((predicted == y[held]).mean()))
            recalls.append(float(balanced_accuracy_score(y[held], predicted)))
        results.append(
            {
                "c": params.c,
                "features": [
                    getattr(params.features, f) for f in params.features.__struct_fields__
                ],
                "balanced": params.balanced,
                "cv_accuracy": round(float(np.mean(accs)), 4),
                "cv_balanced_accuracy": round(float(np.mean(recalls)), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    # BANKING77's test split is balanced (40 per intent) while train is not: select on
    # the mean per-intent recall, which weights every intent equally.
    best = max(results, key=lambda r: r["cv_balanced_accuracy"])
    print(json.dumps({"folds": args.folds, "candidates": results, "best": best}))


if __name__ == "__main__":
    main()
