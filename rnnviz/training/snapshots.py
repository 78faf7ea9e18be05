"""Recent states of a run, to go back to when the loss diverges.

When a run blows up, the last finite parameters are usually ruined already: the blow-up
starts a few steps before the loss turns non-finite (in the ``exploding`` preset the gradient
norm goes 3 → 257 → 4.9e6 before the NaN), and continuing from there with a lower learning
rate or clipping only diverges again. So the trainer keeps its whole state every few steps,
notes the loss and gradient norm of the steps that followed each copy, and on divergence goes
back to the latest copy after which training still looked normal: every following step had a
finite loss at most twice (or one nat above) the median of the steps before the copy, and a
gradient norm at most ten times theirs.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EVERY = 5  # steps between copies
KEPT = 12  # copies kept (at most): the last ~60 steps
BUDGET_BYTES = 256 << 20  # fewer copies of a huge model
BASELINE_STEPS = 50  # steps before a copy that define "normal" for it
LOSS_FACTOR, LOSS_MARGIN = 2.0, 1.0
NORM_FACTOR = 10.0


@dataclass
class Snapshot:
    step: int
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    baseline: tuple[float, float] | None  # median loss and gradient norm before the copy
    after: list[tuple[float, float]] = field(default_factory=list)  # (loss, norm) of the next steps

    def looked_normal(self) -> bool:
        """Every step after the copy (up to the next copy) was finite and in the normal range.
        A copy with no step after it yet is not known to be healthy."""
        finite = all(math.isfinite(loss) and math.isfinite(norm) for loss, norm in self.after)
        if not self.after or not finite:
            return False
        if self.baseline is None:
            return True
        loss_median, norm_median = self.baseline
        loss_limit = max(LOSS_FACTOR * loss_median, loss_median + LOSS_MARGIN)
        return all(loss <= loss_limit and norm <= NORM_FACTOR * norm_median for loss, norm in self.after)


class SnapshotRing:
    """The last few states of a trainer, and which of them to go back to."""

    def __init__(self, state_bytes: int) -> None:
        kept = max(2, min(KEPT, BUDGET_BYTES // max(state_bytes, 1)))
        self.snapshots: deque[Snapshot] = deque(maxlen=kept)
        self.history: deque[tuple[float, float]] = deque(maxlen=BASELINE_STEPS)

    def record(self, loss: float, norm: float) -> None:
        """One step's loss and global gradient norm (before clipping); NaN for a diverged step."""
        for snapshot in self.snapshots:
            if len(snapshot.after) < EVERY:
                snapshot.after.append((loss, norm))
        if math.isfinite(loss) and math.isfinite(norm):
            self.history.append((loss, norm))

    def take(self, step: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        baseline = None
        if len(self.history) >= 3:
            values = np.asarray(self.history)
            baseline = (float(np.median(values[:, 0])), float(np.median(values[:, 1])))
        self.snapshots.append(Snapshot(step, {k: np.array(v, copy=True) for k, v in arrays.items()},
                                       copy.deepcopy(meta), baseline))

    def healthy(self) -> Snapshot | None:
        """The latest copy after which training looked normal, else the oldest kept."""
        for snapshot in reversed(self.snapshots):
            if snapshot.looked_normal():
                return snapshot
        return self.snapshots[0] if self.snapshots else None

    def forget_after(self, step: int) -> None:
        """Going back to ``step``: later copies describe a future that will not happen."""
        while self.snapshots and self.snapshots[-1].step > step:
            self.snapshots.pop()
        if self.snapshots:
            self.snapshots[-1].after.clear()
        self.history.clear()
