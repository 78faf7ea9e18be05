"""What the panels draw: histories and latest values, built only from the worker's batches.

One ``RunData`` per trainer: a reset or a loaded checkpoint starts a new one. Nothing here
imports Qt, so it is tested and benchmarked like any other NumPy code.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.app.history import DecimatingHistory, DecimatingMatrix
from rnnviz.app.training_process import SCALAR_FIELDS, ReportBatch
from rnnviz.core.connectivity import Connectivity
from rnnviz.core.rnn import PARAM_NAMES
from rnnviz.core.vocab import Vocabulary
from rnnviz.training import EvalReport, StepReport, TrainConfig

GRAD_COLUMNS = tuple(f"grad_{when}.{name}" for when in ("before", "after") for name in PARAM_NAMES)
STEP_COLUMNS = (*SCALAR_FIELDS, "smoothed_loss", *GRAD_COLUMNS)
EVAL_COLUMNS = ("step", "val_loss", "accuracy", "rmse")
SPECTRUM_COLUMNS = ("step", "spectral_radius", "largest_singular_value")
SMOOTHING = 0.97  # EMA weight for the smoothed training loss (debiased, like TensorBoard)
RECENT_WINDOW = 100  # steps for "clipped in the last N steps"


@dataclass(frozen=True)
class TaskInfo:
    """The few facts about a task the panels need, copied once from the trainer.

    A panel that shows input tokens (``StepReport.input_tokens``: one string per timestep,
    padding already removed) must not assume they are characters: for ``token_kind`` "word"
    each is a whole word or a marker such as ``<s>`` (escape it in rich text), and readable
    text is ``vocab.join(tokens)`` (spaces between words, none between characters).
    """

    name: str
    head: str
    baseline_loss: float
    token_kind: str  # "character", "word" or "value": what tokens_seen counts
    can_sample: bool  # a next-character or next-word model: the sampler can stream text from it
    vocab_size: int
    vocab: Vocabulary | None  # to name unknown seed characters or words as the user types


def task_info(details: dict[str, Any]) -> TaskInfo:
    """TaskInfo from the training process's description of a run (``run_details``)."""
    tokens = details["vocab_tokens"]
    vocab = Vocabulary(tokens, kind=details["vocab_kind"]) if tokens is not None else None
    kind = vocab.kind if vocab is not None else "value"
    return TaskInfo(name=details["task_name"], head=details["head"],
                    baseline_loss=float(details["baseline_loss"]), token_kind=kind,
                    can_sample=bool(vocab is not None and details["head"] == "seq_softmax"
                                    and kind in ("character", "word")),
                    vocab_size=len(vocab) if vocab is not None else 0, vocab=vocab)


_HEADS = {"charlm": "seq_softmax", "sentiment": "last_softmax", "sine": "seq_mse", "recall": "last_softmax"}


def placeholder_task_info(config: TrainConfig) -> TaskInfo:
    """What the panels can know of a run before the training process has built it: its task's
    name and head, nothing that needs the data (the window shows at once; the facts follow)."""
    return TaskInfo(name=config.task, head=_HEADS.get(config.task, "seq_softmax"),
                    baseline_loss=math.nan, token_kind="value", can_sample=False, vocab_size=0,
                    vocab=None)


class RunData:
    """Bounded histories of one run plus the latest step's arrays and evaluation."""

    def __init__(self, task: TaskInfo, config: TrainConfig, capacity: int = 20_000,
                 flow_capacity: int = 600) -> None:
        self.task = task
        self.config = config
        self.steps = DecimatingHistory(STEP_COLUMNS, capacity)
        self.evals = DecimatingHistory(EVAL_COLUMNS, max(capacity // 4, 16))
        self.spectra = DecimatingHistory(SPECTRUM_COLUMNS, max(capacity // 4, 16))
        self.flow = DecimatingMatrix(flow_capacity)
        self.latest: StepReport | None = None
        self.latest_eval: EvalReport | None = None
        self.first_dh_norms: np.ndarray | None = None  # the gradient profile at the first step
        self.version = 0  # bumped on every batch: panels redraw only when it moved
        self.start_step = 0
        self.total_steps = 0
        self.total_clipped = 0
        self.recent_clipped: deque[bool] = deque(maxlen=RECENT_WINDOW)
        self.divergences: deque[int] = deque(maxlen=100)  # steps where the loss went non-finite
        self.marks: deque[tuple[int, str]] = deque(maxlen=50)  # (step, what changed there)
        self.running = False
        self._ema = 0.0
        self._ema_weight = 0.0

    # ------------------------------------------------------------------ ingest
    def add_batch(self, batch: ReportBatch) -> None:
        scalars = dict(batch.scalars)
        scalars["smoothed_loss"] = self._smooth(scalars["loss"])
        self.steps.extend(scalars)
        self.flow.extend(batch.dh_steps, batch.dh_norms)
        if self.first_dh_norms is None and batch.dh_norms:
            self.first_dh_norms = np.asarray(batch.dh_norms[0])
        if batch.spectra:
            rows = np.asarray(batch.spectra, dtype=np.float64)
            self.spectra.extend({"step": rows[:, 0], "spectral_radius": rows[:, 1],
                                 "largest_singular_value": rows[:, 2]})
        if batch.evaluations:
            self.evals.extend({
                "step": [e.step for e in batch.evaluations],
                "val_loss": [e.val_loss for e in batch.evaluations],
                "accuracy": [e.metrics.get("accuracy", math.nan) for e in batch.evaluations],
                "rmse": [e.metrics.get("rmse", math.nan) for e in batch.evaluations],
            })
            self.latest_eval = batch.evaluations[-1]
        clipped = batch.scalars["clipped"] > 0.5
        diverged = batch.scalars["diverged"] > 0.5
        self.total_steps += int((~diverged).sum())
        self.total_clipped += int((clipped & ~diverged).sum())
        self.recent_clipped.extend(clipped[~diverged].tolist())
        self.divergences.extend(int(s) for s in batch.scalars["step"][diverged])
        self.latest = batch.latest
        self.running = batch.running
        self.version += 1

    def add_mark(self, step: int, text: str) -> None:
        """Note a change at ``step`` (a live setting, a load, a restart) for the loss panel, so
        cause and effect sit on the same axis."""
        self.marks.append((int(step), text))
        self.version += 1

    def truncate_after(self, step: int) -> None:
        """Forget everything after ``step``: the run continues from there (a restarted
        training process resumes from its autosave), so those steps will come again."""
        for history in (self.steps, self.evals, self.spectra):
            history.truncate_after(step)
        self.flow.truncate_after(step)
        if self.latest is not None and self.latest.step > step:
            self.latest = None
        if self.latest_eval is not None and self.latest_eval.step > step:
            self.latest_eval = None
        if self.latest is None:
            self.start_step = step  # what the status bar shows until the next batch
        smoothed = self.steps.last("smoothed_loss")
        if math.isfinite(smoothed) and self._ema_weight > 0:
            self._ema = smoothed * self._ema_weight
        self.version += 1

    def _smooth(self, losses: np.ndarray) -> np.ndarray:
        out = np.empty_like(losses)
        for i, loss in enumerate(losses):
            if math.isfinite(loss):
                self._ema = SMOOTHING * self._ema + (1.0 - SMOOTHING) * loss
                self._ema_weight = SMOOTHING * self._ema_weight + (1.0 - SMOOTHING)
            out[i] = self._ema / self._ema_weight if self._ema_weight > 0 else math.nan
        return out

    # ---------------------------------------------------------------- summaries
    @property
    def clipped_fraction(self) -> float:
        return self.total_clipped / self.total_steps if self.total_steps else 0.0

    @property
    def recent_clipped_fraction(self) -> float:
        return float(np.mean(self.recent_clipped)) if self.recent_clipped else 0.0

    @property
    def step(self) -> int:
        """The latest step, or the step the run starts from (a loaded checkpoint's) before any."""
        return self.latest.step if self.latest is not None else self.start_step

    @property
    def connectivity(self) -> Connectivity | None:
        """The connectivity of the latest report: each report carries the newest one the trainer
        has computed (every few steps), so RunData need keep nothing of its own."""
        return self.latest.connectivity if self.latest is not None else None

    @property
    def token_word(self) -> str:
        """What the task's tokens are called, plural: characters, words or values."""
        return {"character": "characters", "word": "words"}.get(self.task.token_kind, "values")
