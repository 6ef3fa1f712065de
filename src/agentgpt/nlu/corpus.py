"""The default model's training data: BANKING77, CLINC150 (mapped) and the in-house examples.

The public sets live beside the project (``../shared/data``), never inside it; the in-house
examples ship in ``starter_data``. Each reader returns a ``Dataset`` in the project's
taxonomy (see ``taxonomy``), so that training and evaluation see the same labels.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from agentgpt.errors import InvalidInput
from agentgpt.nlu import dataset
from agentgpt.nlu.dataset import Dataset
from agentgpt.nlu.taxonomy import from_clinc

IN_HOUSE_FILES = ("starter.csv", "inhouse.csv")


def in_house() -> Dataset:
    """The project's own examples (shipped in the package), both files together."""
    texts: list[str] = []
    labels: list[str] = []
    for name in IN_HOUSE_FILES:
        source = resources.files("agentgpt.nlu.starter_data").joinpath(name)
        with resources.as_file(source) as path:
            part = dataset.load(path)
        texts += part.texts
        labels += part.labels
    return dataset.from_rows(texts, labels, source="agentgpt.nlu.starter_data")


def is_clinc(path: str | Path) -> bool:
    """True when ``path`` is (a file of) CLINC150: its folder holds ``domains.json``."""
    folder = Path(path)
    return (folder if folder.is_dir() else folder.parent).joinpath("domains.json").is_file()


def clinc(path: str | Path, split: str) -> Dataset:
    """CLINC150's ``split`` (train/val/test) with every label mapped to the project's intents."""
    raw = dataset.load(path, split)
    return dataset.from_rows(
        raw.texts, [from_clinc(label) for label in raw.labels], source=f"{raw.source} (mapped)"
    )


def combined(parts: list[Dataset]) -> Dataset:
    """One dataset of every part's rows, in order."""
    if not parts:
        raise InvalidInput("no training data given")
    texts = [t for part in parts for t in part.texts]
    labels = [label for part in parts for label in part.labels]
    return dataset.from_rows(texts, labels, source=" + ".join(p.source for p in parts))


def default_training_set(banking77: str | Path, clinc150: str | Path) -> Dataset:
    """What the shipped model is trained on: both public train splits and the in-house set."""
    return combined([dataset.load(banking77, "train"), clinc(clinc150, "train"), in_house()])


def banking77_holdout(banking77: str | Path, fraction: float = 0.2) -> tuple[Dataset, Dataset]:
    """BANKING77 train split into (fit, held): a seeded stratified ``fraction`` held out.

    The one validation split of the project's model work (bench/nlu_val.py,
    nlu_encoder_val.py, nlu_distill_val.py, scripts/finetune_minilm.py --holdout): figures
    from different tools are comparable because they hold out the same rows.
    """
    from sklearn.model_selection import train_test_split  # training tools only; slow import

    b77 = dataset.load(banking77, "train")
    fit_rows, held_rows = train_test_split(
        range(len(b77)), test_size=fraction, stratify=b77.labels, random_state=0
    )

    def pick(rows: list[int]) -> Dataset:
        return dataset.from_rows([b77.texts[i] for i in rows], [b77.labels[i] for i in rows])

    return pick(fit_rows), pick(held_rows)
