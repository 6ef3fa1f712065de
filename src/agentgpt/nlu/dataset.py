"""Labelled training data: CSV files with ``text,category`` columns (BANKING77 layout)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import msgspec

from agentgpt.errors import InvalidInput

#: Longest text accepted in training data (characters); longer rows are a format error.
MAX_TEXT = 4_000


class Dataset(msgspec.Struct, frozen=True):
    """Parallel lists of texts and labels, with the sha256 of the rows they came from."""

    texts: list[str]
    labels: list[str]
    fingerprint: str
    source: str

    def __len__(self) -> int:
        """Number of examples."""
        return len(self.texts)

    @property
    def label_set(self) -> list[str]:
        """The distinct labels, sorted."""
        return sorted(set(self.labels))

    def counts(self) -> Counter[str]:
        """Examples per label."""
        return Counter(self.labels)

    def subset(self, per_label: int) -> Dataset:
        """Return the first ``per_label`` examples of each label (for quick tests)."""
        seen: Counter[str] = Counter()
        texts, labels = [], []
        for text, label in zip(self.texts, self.labels, strict=True):
            if seen[label] < per_label:
                seen[label] += 1
                texts.append(text)
                labels.append(label)
        return from_rows(texts, labels, source=f"{self.source}[:{per_label}/label]")


def fingerprint(texts: list[str], labels: list[str]) -> str:
    """Return the sha256 of the rows, independent of the file they were read from."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8") + b"\x1f" + label.encode("utf-8") + b"\x1e")
    return digest.hexdigest()


def from_rows(texts: list[str], labels: list[str], *, source: str = "<memory>") -> Dataset:
    """Build a dataset from parallel lists, checking that it can train a classifier."""
    if len(texts) != len(labels):
        raise InvalidInput(f"{source}: {len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise InvalidInput(f"{source}: no examples; expected rows of text,category")
    if len(set(labels)) < 2:
        raise InvalidInput(f"{source}: needs at least 2 distinct categories to train")
    return Dataset(texts, labels, fingerprint(texts, labels), source)


def _resolve(path: Path, split: str) -> Path:
    if path.is_dir():
        candidate = path / f"{split}.csv"
        if not candidate.is_file():
            raise InvalidInput(f"{path} is a folder without {split}.csv; pass a CSV file")
        return candidate
    if not path.is_file():
        raise InvalidInput(f"no such data file or folder: {path}")
    return path


def load(path: str | Path, split: str = "train") -> Dataset:
    """Read ``path`` (a CSV, or a folder holding ``train.csv``/``test.csv``) for ``split``."""
    file = _resolve(Path(path), split)
    texts: list[str] = []
    labels: list[str] = []
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"text", "category"} <= columns:
                raise InvalidInput(
                    f"{file}: header must have columns text,category (found {sorted(columns)})"
                )
            for line, row in enumerate(reader, start=2):
                text, label = (row.get("text") or "").strip(), (row.get("category") or "").strip()
                if not text or not label:
                    raise InvalidInput(f"{file}:{line}: empty text or category")
                if len(text) > MAX_TEXT:
                    raise InvalidInput(f"{file}:{line}: text longer than {MAX_TEXT} characters")
                texts.append(text)
                labels.append(label)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file}: not UTF-8 text (byte {exc.start}); re-save as UTF-8") from None
    except csv.Error as exc:
        raise InvalidInput(f"{file}: malformed CSV ({exc})") from None
    return from_rows(texts, labels, source=str(file))
