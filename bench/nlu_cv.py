"""Choose the fast backend's hyper-parameters by cross-validation on the training set only.

Usage: python bench/nlu_cv.py [--data ../shared/data/banking77] [--folds 3]
Prints one JSON line: the mean CV accuracy of each candidate and the best one. The
defaults of ``FastParams`` are set from this script's output (never from test.csv).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from agentgpt.nlu import dataset
from agentgpt.nlu.fast_backend import FastParams, encode_labels, train_linear
from agentgpt.nlu.features import FeatureSpec

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [
    FastParams(c=0.25),
    FastParams(c=0.5),
    FastParams(c=1.0),
    FastParams(c=0.5, features=FeatureSpec(word_max_n=3)),
    FastParams(c=0.5, features=FeatureSpec(char_min_n=1, char_max_n=6)),
    FastParams(c=0.5, features=FeatureSpec(min_df=2)),
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
        accs = []
        for fit, held in StratifiedKFold(args.folds, shuffle=True, random_state=0).split(texts, y):
            no_cal = FastParams(c=params.c, features=params.features, calibration_folds=0)
            model = train_linear(list(texts[fit]), y[fit], len(labels), no_cal)
            accs.append(float((model.scores(list(texts[held])).argmax(1) == y[held]).mean()))
        results.append(
            {
                "c": params.c,
                "features": [
                    getattr(params.features, f) for f in params.features.__struct_fields__
                ],
                "cv_accuracy": round(float(np.mean(accs)), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    best = max(results, key=lambda r: r["cv_accuracy"])
    print(json.dumps({"folds": args.folds, "candidates": results, "best": best}))


if __name__ == "__main__":
    main()
