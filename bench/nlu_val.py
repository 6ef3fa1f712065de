"""Try fast-model variants on validation data only (issue 15's accuracy attempt).

Usage: nice -n 10 python bench/nlu_val.py [--banking77 ../shared/data/banking77]
           [--clinc150 ../shared/data/clinc150] [--c 1.4,2.8] [--word-weights 1.0,0.7]
           [--min-df 2] [--other-weights 1.0,0.5] [--losses squared_hinge,crammer_singer,
           logreg,squared_hinge+logreg]

Trains on the default model's data with a seeded stratified 20% of BANKING77 train held
out (the other 80% + CLINC150 train + in-house), then reports, per variant, the accuracy on
that hold-out and on CLINC150 *val* (in-scope accuracy and out-of-scope recall of the
trained class, argmax only: no threshold). Test sets are never read. Features are computed
once. Each variant is free at run time (still one linear model on the same features):
``word weight`` rescales the word block (its idf) before the l2 norm; ``other weight`` is
the sample weight of the CLINC150 and in-house rows (BANKING77's are 1); a ``+`` loss
averages standardised scores of two linear models (a linear model again). Prints one JSON
line per variant; the first variant of the defaults is the shipped configuration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from scipy import sparse

from agentgpt.nlu import classifier, corpus
from agentgpt.nlu.fast_backend import FastParams
from agentgpt.nlu.features import Featurizer, Vocabulary
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def unnormalised(featurizer: Featurizer, texts: list[str]) -> sparse.csr_matrix:
    """Binary tf times idf, no norm (so block weights can be applied before it)."""
    x = featurizer.transform(texts).astype(np.float64)
    x.data[:] = 1.0
    return (x @ sparse.diags(featurizer.idf.astype(np.float64))).tocsr()


def stem_bigrams(texts: list[str], fit: list[str], cut: int) -> sparse.csr_matrix:
    """Binary tf-idf of bigrams of words cut to ``cut`` characters (vocabulary from ``fit``)."""

    def grams(text: str) -> set[str]:
        stems = [w[:cut] for w in re.findall(r"\w+", text.lower())]
        return {f"{a}~{b}" for a, b in itertools.pairwise(stems)}

    vocab = Vocabulary.fit((grams(t) for t in fit), 2)
    rows, cols = [], []
    for i, text in enumerate(texts):
        for g in grams(text):
            if g in vocab.index:
                rows.append(i)
                cols.append(vocab.index[g])
    return sparse.csr_matrix(
        (vocab.idf[cols].astype(np.float64), (rows, cols)), shape=(len(texts), len(vocab.terms))
    )


def weighted(x: sparse.csr_matrix, n_words: int, word_weight: float) -> sparse.csr_matrix:
    """Scale the word columns by ``word_weight``, then l2-normalise each row."""
    scale = np.ones(x.shape[1])
    scale[:n_words] = word_weight
    out = (x @ sparse.diags(scale)).tocsr()
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return (sparse.diags(1.0 / norms) @ out).astype(np.float32).tocsr()


def fitted(loss: str, x: sparse.csr_matrix, y: np.ndarray, c: float, sw: np.ndarray) -> Any:
    """Fit one linear model of ``loss`` (class-balanced, seeded)."""
    if loss == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c * 10, class_weight="balanced", max_iter=300).fit(
            x, y, sample_weight=sw
        )
    from sklearn.svm import LinearSVC

    # The shipped model's SVM (fast_backend._svm) for squared_hinge; crammer_singer else.
    multi_class = "ovr" if loss == "squared_hinge" else loss
    svm = LinearSVC(
        C=c, class_weight="balanced", multi_class=multi_class, max_iter=5_000, random_state=0
    )
    return svm.fit(x, y, sample_weight=sw)


def combined_scores(models: list[Any], x: sparse.csr_matrix) -> np.ndarray:
    """Sum of each model's scores standardised per model (one linear model again)."""
    out = np.zeros((x.shape[0], len(models[0].classes_)))
    for model in models:
        s = model.decision_function(x)
        out += (s - s.mean()) / s.std()
    return out


def main() -> None:
    """Run every variant and print its validation figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--banking77", type=Path, default=DATA / "banking77")
    parser.add_argument("--clinc150", type=Path, default=DATA / "clinc150")
    parser.add_argument("--c", default="1.4")
    parser.add_argument("--word-weights", default="1.0,0.7,1.4")
    parser.add_argument("--stem-cut", type=int, default=0, help="add stem bigrams (0: no)")
    parser.add_argument("--min-df", type=int, default=2)
    parser.add_argument(
        "--other-weights", default="1.0", help="sample weight of non-BANKING77 rows"
    )
    parser.add_argument(
        "--losses",
        default="squared_hinge",
        help="also: crammer_singer, logreg, squared_hinge+logreg",
    )
    args = parser.parse_args()
    fit, held = corpus.banking77_holdout(args.banking77)
    data = corpus.combined([fit, corpus.clinc(args.clinc150, "train"), corpus.in_house()])
    val = corpus.clinc(args.clinc150, "val")
    labels = data.label_set
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[label] for label in data.labels])
    texts = classifier.redacted(data.texts)
    held_texts, val_texts = classifier.redacted(held.texts), classifier.redacted(val.texts)
    spec = msgspec.structs.replace(FastParams().features, min_df=args.min_df)
    featurizer = Featurizer.fit(texts, spec)
    n_words = len(featurizer.words.terms)
    raw = {
        k: unnormalised(featurizer, t)
        for k, t in (("fit", texts), ("held", held_texts), ("val", val_texts))
    }
    if args.stem_cut:
        parts = (("fit", texts), ("held", held_texts), ("val", val_texts))
        raw = {
            k: sparse.hstack([raw[k], stem_bigrams(t, texts, args.stem_cut)]).tocsr()
            for k, t in parts
        }
    held_truth = np.array(held.labels)
    val_truth = np.array(val.labels)
    outside = val_truth == OUT_OF_SCOPE
    for loss, ow, c, ww in itertools.product(
        args.losses.split(","),
        [float(v) for v in args.other_weights.split(",")],
        [float(v) for v in args.c.split(",")],
        [float(v) for v in args.word_weights.split(",")],
    ):
        started = time.perf_counter()
        x = {k: weighted(m, n_words, ww) for k, m in raw.items()}
        sw = np.full(len(y), ow)
        sw[: len(fit)] = 1.0
        models = [fitted(part, x["fit"], y, c, sw) for part in loss.split("+")]
        names = np.array(labels)[models[0].classes_]
        held_pred = names[combined_scores(models, x["held"]).argmax(1)]
        val_pred = names[combined_scores(models, x["val"]).argmax(1)]
        print(
            json.dumps(
                {
                    "loss": loss,
                    "min_df": args.min_df,
                    "stem_cut": args.stem_cut,
                    "other_weight": ow,
                    "c": c,
                    "word_weight": ww,
                    "banking77_holdout": round(float((held_pred == held_truth).mean()), 4),
                    "clinc_val_in_scope": round(float((val_pred == val_truth)[~outside].mean()), 4),
                    "clinc_val_oos_recall": round(
                        float((val_pred == OUT_OF_SCOPE)[outside].mean()), 4
                    ),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
