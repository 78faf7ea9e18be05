"""Delayed recall: see one symbol, wait a number of steps, then say which symbol it was.

The classic long-memory test (in the family of Hochreiter and Schmidhuber's copy and
adding problems, 1997): the input is a symbol (A, B, C, ...), then ``distance - 1``
filler steps that carry no information, then a ``?`` that asks for the symbol. The only
way to answer is to hold the symbol in the hidden state for ``distance`` steps, so the
distance is the knob: a model that cannot carry information that far stays at chance
(1 / number of symbols). Many-to-one: the answer is read at the last step only.

Filler is either a blank (the same ``·`` every step) or random distractor symbols drawn
from the same alphabet, which the model must ignore.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnviz.core.heads import softmax, softmax_cross_entropy
from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import Vocabulary
from rnnviz.tasks.base import Batch, Task, TaskError

BLANK, QUERY = "·", "?"
SYMBOL_NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
FILLERS = ("blank", "distractors")
EVAL_SEQUENCES = 256  # held-out sequences per evaluated distance
EVAL_DISTANCES = 4  # distances evaluated: distance/4, distance/2, 3·distance/4, distance
PREVIEW_EXAMPLES = 8


def eval_distances(distance: int) -> list[int]:
    """The distances the panel plots accuracy against: up to four, ending at the trained one."""
    return sorted({max(1, round(distance * k / EVAL_DISTANCES)) for k in range(1, EVAL_DISTANCES + 1)})


class RecallTask(Task):
    """Batches of (symbol, filler…, ?) sequences; the target is the first symbol."""

    vocab: Vocabulary

    name = "recall"
    head = "last_softmax"

    def __init__(self, distance: int, symbols: int, batch: int, filler: str = "blank") -> None:
        if not 1 <= symbols <= len(SYMBOL_NAMES):
            raise TaskError(f"recall needs from 1 to {len(SYMBOL_NAMES)} symbols; got {symbols}")
        if distance < 1:
            raise TaskError(f"recall distance must be at least 1 step; got {distance}")
        if filler not in FILLERS:
            raise TaskError(f"recall filler must be one of {', '.join(FILLERS)}; got {filler!r}")
        self.distance, self.symbols, self.batch, self.filler = distance, symbols, batch, filler
        # Ids: 0 blank, 1 query, 2.. symbols; outputs are the symbols only (class k = symbol k).
        self.vocab = Vocabulary([BLANK, QUERY, *SYMBOL_NAMES[:symbols]], kind="word")
        self.input_size = len(self.vocab)
        self.output_size = symbols
        self.baseline_loss = math.log(symbols)

    def sequences(self, rng: np.random.Generator, count: int, distance: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, count) input ids with T = distance + 1, and the (count,) symbol to recall."""
        answers = rng.integers(0, self.symbols, size=count)
        if self.filler == "blank":
            x = np.zeros((distance + 1, count), dtype=np.int64)
        else:
            x = rng.integers(0, self.symbols, size=(distance + 1, count)) + 2
        x[0] = answers + 2
        x[-1] = 1
        return x, answers.astype(np.int64)

    def next_batch(self, rng: np.random.Generator) -> Batch:
        x, y = self.sequences(rng, self.batch, self.distance)
        return Batch(x=x, y=y, carry_state=False, tokens=int(x.size))

    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        """Fresh sequences at several distances; ``accuracy`` and ``val_loss`` are at the
        trained distance, ``accuracy_by_distance`` goes to the panel."""
        by_distance: list[float] = []
        distances = eval_distances(self.distance)
        for distance in distances:
            x, y = self.sequences(rng, EVAL_SEQUENCES, distance)
            logits, _ = model.predict(x, head=self.head)
            logits = logits.astype(np.float64)
            by_distance.append(float(np.mean(logits.argmax(axis=1) == y)))
        # ``x, y, logits`` are now those of the trained distance (the last one evaluated).
        val_loss, _ = softmax_cross_entropy(logits, y)
        probs = softmax(logits)
        shown = slice(0, PREVIEW_EXAMPLES)
        names = self.vocab.tokens[2:]
        preview = {"kind": "recall", "symbols": list(names), "distance": self.distance,
                   "chance": 1.0 / self.symbols,
                   "inputs": [self._short(x[:, col]) for col in range(min(PREVIEW_EXAMPLES, x.shape[1]))],
                   "answers": y[shown].tolist(), "probs": probs[shown],
                   "distances": distances, "accuracy_by_distance": by_distance}
        return {"val_loss": val_loss, "accuracy": by_distance[-1]}, preview

    def _short(self, ids: np.ndarray) -> str:
        """A sequence as text, the middle of a long filler shortened to '…'."""
        tokens = [self.vocab.tokens[int(i)] for i in ids]
        if len(tokens) > 14:
            tokens = [*tokens[:6], f"…({len(tokens) - 12})…", *tokens[-6:]]
        return " ".join(tokens)

    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        return tuple(self.vocab.tokens[int(i)] for i in x[:, column])
