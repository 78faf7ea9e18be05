"""Many-to-one word-level sentiment: read a short phrase, say positive or negative.

The dataset (``resources/datasets/sentiment.tsv``) is the project's own, in the spirit of
the classic from-scratch tutorial: negations such as "not bad" or "not at all happy" mean
the model must remember what came before the sentiment word.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.core.heads import softmax, softmax_cross_entropy
from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import Vocabulary
from rnnviz.resource_files import resource_dir
from rnnviz.tasks.base import Batch, Task, TaskError

CLASSES = ("negative", "positive")
PAD, UNK = "<pad>", "<unk>"
PREVIEW_PHRASES = 8


def default_dataset() -> Path:
    return resource_dir("datasets", "sentiment.tsv")


def load_dataset(path: str | Path) -> dict[str, list[tuple[list[str], int]]]:
    """Read ``split<TAB>label<TAB>text`` lines into {"train": [...], "test": [...]}."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"cannot read sentiment dataset {path}: {exc}") from exc
    splits: dict[str, list[tuple[list[str], int]]] = {"train": [], "test": []}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in splits or parts[1] not in CLASSES or not parts[2].split():
            raise TaskError(f"{path.name} line {number} is not 'split<TAB>label<TAB>text'")
        splits[parts[0]].append((parts[2].split(), CLASSES.index(parts[1])))
    if not splits["train"] or not splits["test"]:
        raise TaskError(f"{path.name} needs both train and test examples")
    return splits


class SentimentTask(Task):
    """Batches of phrases, left-padded so that every phrase ends at the last timestep."""

    vocab: Vocabulary  # always set: these tasks read tokens

    name = "sentiment"
    head = "last_softmax"

    def __init__(self, batch: int, dataset: str | Path | None = None) -> None:
        splits = load_dataset(dataset if dataset is not None else default_dataset())
        self.train, self.test = splits["train"], splits["test"]
        words = sorted({w for phrase, _ in self.train for w in phrase})
        self.vocab = Vocabulary([PAD, UNK, *words], kind="word")
        self.input_size = len(self.vocab)
        self.output_size = len(CLASSES)
        self.baseline_loss = math.log(len(CLASSES))
        self.batch = batch

    def encode(self, phrases: list[list[str]]) -> np.ndarray:
        """(T, B) ids, left-padded with <pad>; words never seen in training become <unk>."""
        width = max(len(p) for p in phrases)
        ids = np.zeros((width, len(phrases)), dtype=np.int64)  # 0 is <pad>
        unk = self.vocab.index[UNK]
        for col, phrase in enumerate(phrases):
            ids[width - len(phrase) :, col] = [self.vocab.index.get(w, unk) for w in phrase]
        return ids

    def next_batch(self, rng: np.random.Generator) -> Batch:
        picks = rng.integers(0, len(self.train), size=self.batch)
        phrases = [self.train[i][0] for i in picks]
        labels = np.array([self.train[i][1] for i in picks], dtype=np.int64)
        return Batch(x=self.encode(phrases), y=labels, carry_state=False,
                     tokens=sum(len(p) for p in phrases))

    def predict_proba(self, model: RNN, phrases: list[list[str]]) -> np.ndarray:
        logits, _ = model.predict(self.encode(phrases), head=self.head)
        return softmax(logits.astype(np.float64))

    def accuracy(self, model: RNN, examples: list[tuple[list[str], int]]) -> float:
        probs = self.predict_proba(model, [p for p, _ in examples])
        return float(np.mean(probs.argmax(axis=1) == np.array([y for _, y in examples])))

    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        phrases = [p for p, _ in self.test]
        labels = np.array([y for _, y in self.test], dtype=np.int64)
        logits, _ = model.predict(self.encode(phrases), head=self.head)
        logits = logits.astype(np.float64)
        val_loss, _ = softmax_cross_entropy(logits, labels)
        probs = softmax(logits)
        accuracy = float(np.mean(probs.argmax(axis=1) == labels))
        shown = slice(0, PREVIEW_PHRASES)
        preview = {"kind": "sentiment", "classes": list(CLASSES),
                   "phrases": [" ".join(p) for p in phrases[shown]],
                   "labels": labels[shown].tolist(), "probs": probs[shown]}
        return {"val_loss": val_loss, "accuracy": accuracy}, preview

    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        return tuple("·" if i == 0 else self.vocab.tokens[int(i)] for i in x[:, column])
