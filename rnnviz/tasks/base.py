"""What every task gives the trainer: batches, a head, held-out evaluation, labels."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import Vocabulary


class TaskError(ValueError):
    """Bad task input (corpus, dataset, settings); the message is one sentence for the user."""


@dataclass(frozen=True)
class Batch:
    x: np.ndarray  # (T, B) token ids or (T, B, I) values
    y: np.ndarray  # targets, shaped for the task's head
    carry_state: bool  # True: start from the previous batch's last hidden state
    tokens: int  # how many input tokens this batch consumed (for throughput)
    # (T, B) 1 for a real target, 0 for padding (line mode), or None: every target is real.
    mask: np.ndarray | None = None

    def length(self, column: int) -> int:
        """Timesteps of sequence ``column`` before its padding starts."""
        if self.mask is None:
            return int(self.x.shape[0])
        return int(self.mask[:, column].sum())


class Task(ABC):
    """A source of training batches plus an honest held-out evaluation.

    Subclasses set ``name``, ``head``, ``input_size``, ``output_size``, ``vocab`` (None for
    real-valued inputs) and ``baseline_loss`` (the loss of a model that has learned nothing).
    """

    name: str
    head: str
    input_size: int
    output_size: int
    vocab: Vocabulary | None = None
    baseline_loss: float = float("nan")
    # One sentence each about how the data was read (vocabulary coverage, validation on the
    # training lines): the CLI prints them, the app shows them with the run.
    notes: Sequence[str] = ()

    @abstractmethod
    def next_batch(self, rng: np.random.Generator) -> Batch: ...

    @abstractmethod
    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        """(metrics with at least ``val_loss``, preview for the task panel); frozen weights."""

    @abstractmethod
    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        """Readable labels of the inputs of one sequence of a batch, one per timestep."""

    def state(self) -> dict[str, Any]:
        """JSON-serialisable position in the data, for exact resume."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - stateless by default
        """Restore :meth:`state`."""
