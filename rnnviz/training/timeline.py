"""A run's snapshots over its whole length: what rewinding and forking go back to.

Every N steps the training process copies the trainer's whole state (weights, optimizer
moments, random generator, carried hidden state: what a checkpoint holds, so a fork from it
continues exactly as the original did) together with the step's report (the arrays the
panels draw: hidden states of the watched sequence, ‖∂L/∂h_t‖, the spectrum) and the latest
evaluation. N doubles as the run grows, as the curves' histories thin out, so a run of any
length keeps at most ``kept`` snapshots, spread evenly over it: the kept steps are always the
multiples of ``snapshot_interval(latest step)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.training.report import EvalReport, StepReport

BASE_EVERY = 10  # steps between snapshots at the start of a run
KEPT = 64  # snapshots kept at most (fewer for a big model: see ``kept_for``)
BUDGET_BYTES = 256 << 20  # all snapshots of a run together


def kept_for(state_bytes: int) -> int:
    """How many snapshots of a state this big fit the budget (4 to KEPT)."""
    return int(max(4, min(KEPT, BUDGET_BYTES // max(state_bytes, 1))))


def snapshot_interval(step: int, kept: int = KEPT, base: int = BASE_EVERY) -> int:
    """N at ``step``: ``base`` doubled until at most ``kept`` multiples of N fit in 1..step."""
    every = base
    while step // every > kept:
        every *= 2
    return every


@dataclass(frozen=True)
class TimelineSnapshot:
    """The run as it was after ``step``: enough to redraw that step and to train on from it."""

    step: int
    arrays: dict[str, np.ndarray]  # Trainer.state(): param.*, optim.*, carried_state
    meta: dict[str, Any]  # Trainer.state(): config, rng state, schedule, task state, …
    report: StepReport  # the step's report: what the array panels show
    evaluation: EvalReport | None  # the latest evaluation as of this step
    kept: int = KEPT  # the run's bound, from its state size

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values()) + self.report.hidden.nbytes


def take_snapshot(trainer: Any, report: StepReport) -> TimelineSnapshot:
    """A private copy of ``trainer``'s state after the step that produced ``report``."""
    arrays, meta = trainer.state()
    arrays = {name: np.array(value, copy=True) for name, value in arrays.items()}
    kept = kept_for(sum(a.nbytes for a in arrays.values()))
    return TimelineSnapshot(step=report.step, arrays=arrays, meta=meta, report=report,
                            evaluation=trainer.last_eval, kept=kept)


def snapshot_due(step: int, state_bytes: int) -> bool:
    """Whether the step just taken is one the timeline keeps."""
    return step > 0 and step % snapshot_interval(step, kept_for(state_bytes)) == 0


class Timeline:
    """The snapshots of one run, in step order, thinned as the run grows."""

    def __init__(self) -> None:
        self._snapshots: dict[int, TimelineSnapshot] = {}

    def __len__(self) -> int:
        return len(self._snapshots)

    @property
    def steps(self) -> list[int]:
        return sorted(self._snapshots)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._snapshots.values())

    def add(self, snapshot: TimelineSnapshot) -> None:
        self._snapshots[snapshot.step] = snapshot
        every = snapshot_interval(max(self._snapshots), snapshot.kept)
        for step in [s for s in self._snapshots if s % every]:
            del self._snapshots[step]

    def get(self, step: int) -> TimelineSnapshot | None:
        return self._snapshots.get(step)

    def at_or_before(self, step: int) -> TimelineSnapshot | None:
        earlier = [s for s in self._snapshots if s <= step]
        return self._snapshots[max(earlier)] if earlier else None

    def truncate_after(self, step: int) -> None:
        """The run goes on from ``step`` (a restart, a rewind): later snapshots will come again."""
        for later in [s for s in self._snapshots if s > step]:
            del self._snapshots[later]
