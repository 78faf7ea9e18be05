"""What the panels draw: histories and latest values, built only from the worker's batches.

One ``RunData`` per trainer: a reset or a loaded checkpoint starts a new one. Nothing here
imports Qt, so it is tested and benchmarked like any other NumPy code.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.app.history import DecimatingHistory, DecimatingMatrix, HistoryStateError
from rnnviz.app.training_process import SCALAR_FIELDS, ReportBatch
from rnnviz.core.connectivity import Connectivity
from rnnviz.core.vocab import Vocabulary
from rnnviz.runs.codec import CodecError, decode, encode
from rnnviz.training import ConfigError, EvalReport, StepReport, TrainConfig
from rnnviz.training.metrics import ALL_PARAM_NAMES
from rnnviz.training.timeline import Timeline, TimelineSnapshot

# Every cell's parameters (a run fills its own cell's; the others stay NaN).
GRAD_COLUMNS = tuple(f"grad_{when}.{name}" for when in ("before", "after") for name in ALL_PARAM_NAMES)
# Running counts of the steps trained (not diverged) and of those clipped, up to each row:
# kept rows stay exact under decimation, so a rewind or a fork recounts from them.
COUNT_COLUMNS = ("counted_steps", "clipped_steps")
STEP_COLUMNS = (*SCALAR_FIELDS, "smoothed_loss", *COUNT_COLUMNS, *GRAD_COLUMNS)
EVAL_COLUMNS = ("step", "val_loss", "accuracy", "rmse", "val_loss_se", "val_windows")
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
        self.live_latest: StepReport | None = None  # the newest step's report
        self.live_eval: EvalReport | None = None  # the newest evaluation
        self.timeline = Timeline()  # snapshots over the whole run, for rewinding and forking
        self.viewed: TimelineSnapshot | None = None  # a snapshot the array panels show instead
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
        clipped = batch.scalars["clipped"] > 0.5
        diverged = batch.scalars["diverged"] > 0.5
        scalars["counted_steps"] = self.total_steps + np.cumsum(~diverged)
        scalars["clipped_steps"] = self.total_clipped + np.cumsum(clipped & ~diverged)
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
                # charlm's: the windows scored and the standard error of the estimate
                "val_loss_se": [e.metrics.get("val_loss_se", math.nan) for e in batch.evaluations],
                "val_windows": [e.metrics.get("val_windows", math.nan) for e in batch.evaluations],
            })
            self.live_eval = batch.evaluations[-1]
        self.total_steps += int((~diverged).sum())
        self.total_clipped += int((clipped & ~diverged).sum())
        self.recent_clipped.extend(clipped[~diverged].tolist())
        # A diverged step is not counted (its report carries the last good step): the step that
        # went non-finite is the next one, as the banner says.
        self.divergences.extend(int(s) + 1 for s in batch.scalars["step"][diverged])
        for snapshot in batch.snapshots:
            self.timeline.add(snapshot)
        self.live_latest = batch.latest
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
        self.timeline.truncate_after(step)
        if self.viewed is not None and self.viewed.step > step:
            self.viewed = None
        if self.live_latest is not None and self.live_latest.step > step:
            self.live_latest = None
        if self.live_eval is not None and self.live_eval.step > step:
            self.live_eval = None
        if self.live_latest is None:
            self.start_step = step  # what the status bar shows until the next batch
        self._recount_clipping()
        smoothed = self.steps.last("smoothed_loss")
        if math.isfinite(smoothed) and self._ema_weight > 0:
            self._ema = smoothed * self._ema_weight
        self.version += 1

    def inherit(self, original: RunData, step: int) -> None:
        """This run is a fork of ``original`` at ``step``: its curves, marks and snapshots up
        to that step are this run's past, and the new steps continue them."""
        for name in ("steps", "evals", "spectra", "flow"):
            setattr(self, name, copy.deepcopy(getattr(original, name)))
        self.first_dh_norms = original.first_dh_norms
        self.divergences = deque((s for s in original.divergences if s <= step),
                                 maxlen=original.divergences.maxlen)
        self.marks = deque(((s, text) for s, text in original.marks if s <= step),
                           maxlen=original.marks.maxlen)
        self.total_steps, self.total_clipped = original.total_steps, original.total_clipped
        self.recent_clipped = deque(original.recent_clipped, maxlen=RECENT_WINDOW)  # recounted below
        self._ema, self._ema_weight = original._ema, original._ema_weight
        for kept in original.timeline.steps:
            snapshot = original.timeline.get(kept)
            if snapshot is not None and kept <= step:
                self.timeline.add(snapshot)
        snapshot = original.timeline.get(step)
        if snapshot is not None:
            self.live_latest, self.live_eval = snapshot.report, snapshot.evaluation
        self.truncate_after(step)
        self.start_step = step

    def _recount_clipping(self) -> None:
        """The clipping counts as of the last step kept: exact from the running counts, and the
        recent window from the kept rows (each standing for ``stride`` steps once decimated)."""
        counted, clipped = self.steps.column("counted_steps"), self.steps.column("clipped_steps")
        if not counted.size:
            self.total_steps, self.total_clipped = 0, 0
            self.recent_clipped.clear()
            return
        if not (math.isfinite(counted[-1]) and math.isfinite(clipped[-1])):
            return  # a run file from before the running counts: keep what it said
        self.total_steps, self.total_clipped = int(counted[-1]), int(clipped[-1])
        steps, flags = self.steps.column("step"), self.steps.column("clipped") > 0.5
        trained = self.steps.column("diverged") < 0.5
        recent = (steps > steps[-1] - RECENT_WINDOW) & trained
        self.recent_clipped.clear()
        for flag in flags[recent]:
            self.recent_clipped.extend([bool(flag)] * self.steps.stride)

    def _smooth(self, losses: np.ndarray) -> np.ndarray:
        out = np.empty_like(losses)
        for i, loss in enumerate(losses):
            if math.isfinite(loss):
                self._ema = SMOOTHING * self._ema + (1.0 - SMOOTHING) * loss
                self._ema_weight = SMOOTHING * self._ema_weight + (1.0 - SMOOTHING)
            out[i] = self._ema / self._ema_weight if self._ema_weight > 0 else math.nan
        return out

    # ------------------------------------------------------------------ viewing
    @property
    def latest(self) -> StepReport | None:
        """The report the array panels draw: the viewed snapshot's, else the newest step's."""
        return self.viewed.report if self.viewed is not None else self.live_latest

    @property
    def latest_eval(self) -> EvalReport | None:
        """The evaluation the task panel shows: as of the viewed snapshot, else the newest."""
        return self.viewed.evaluation if self.viewed is not None else self.live_eval

    def view(self, step: int | None) -> TimelineSnapshot | None:
        """Show the snapshot at ``step`` (None: live) in the array panels; the curves stay
        whole and training goes on. Returns the snapshot shown, if any."""
        snapshot = self.timeline.get(step) if step is not None else None
        if snapshot is not self.viewed:
            self.viewed = snapshot
            self.version += 1
        return snapshot

    # ---------------------------------------------------------------- summaries
    @property
    def clipped_fraction(self) -> float:
        return self.total_clipped / self.total_steps if self.total_steps else 0.0

    @property
    def recent_clipped_fraction(self) -> float:
        return float(np.mean(self.recent_clipped)) if self.recent_clipped else 0.0

    @property
    def step(self) -> int:
        """The latest step trained (whatever snapshot is viewed), or the step the run starts from
        (a loaded checkpoint's) before any."""
        return self.live_latest.step if self.live_latest is not None else self.start_step

    @property
    def connectivity(self) -> Connectivity | None:
        """The connectivity of the latest report: each report carries the newest one the trainer
        has computed (every few steps), so RunData need keep nothing of its own."""
        return self.latest.connectivity if self.latest is not None else None

    @property
    def token_word(self) -> str:
        """What the task's tokens are called, plural: characters, words, symbols (the recall
        task's inputs are words of a tiny vocabulary: A, B, …, ?) or values."""
        if self.task.name == "recall":
            return "symbols"
        return {"character": "characters", "word": "words"}.get(self.task.token_kind, "values")

    # ------------------------------------------------------------- run files
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Everything the panels draw, as JSON-ready metadata and named arrays (copies), for a
        run file. Histories are written column by column under their own names, so columns
        added or renamed later need no change here."""
        arrays: dict[str, np.ndarray] = {}
        vocab = self.task.vocab
        meta: dict[str, Any] = {
            "task": {"task_name": self.task.name, "head": self.task.head,
                     "baseline_loss": self.task.baseline_loss,
                     "vocab_tokens": vocab.tokens if vocab is not None else None,
                     "vocab_kind": vocab.kind if vocab is not None else None},
            "config": self.config.to_dict(),
            "steps": self.steps.to_state("steps", arrays),
            "evals": self.evals.to_state("evals", arrays),
            "spectra": self.spectra.to_state("spectra", arrays),
            "flow": self.flow.to_state("flow", arrays),
            "start_step": self.start_step,
            "total_steps": self.total_steps,
            "total_clipped": self.total_clipped,
            "recent_clipped": [bool(c) for c in self.recent_clipped],
            "divergences": list(self.divergences),
            "marks": [[step, text] for step, text in self.marks],
            "ema": self._ema,
            "ema_weight": self._ema_weight,
            "first_dh_norms": encode(self.first_dh_norms, "first_dh_norms", arrays),
            "latest": encode(self.live_latest, "latest", arrays),
            "latest_eval": encode(self.live_eval, "latest_eval", arrays),
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> RunData:
        """The RunData that :meth:`to_state` described, paused; ValueError (one sentence) if
        the description is damaged. Columns this rnnviz no longer has are left out, and
        columns it has that the file lacks are NaN."""
        try:
            config = TrainConfig.from_dict(meta["config"])
            data = cls(task_info(meta["task"]), config, capacity=int(meta["steps"]["capacity"]),
                       flow_capacity=int(meta["flow"]["capacity"]))
            data.steps, data.evals, data.spectra = (
                DecimatingHistory.from_state(history.names, meta[name], name, arrays)
                for name, history in (("steps", data.steps), ("evals", data.evals),
                                      ("spectra", data.spectra)))
            data.flow = DecimatingMatrix.from_state(meta["flow"], "flow", arrays)
            data.start_step = int(meta["start_step"])
            data.total_steps = int(meta["total_steps"])
            data.total_clipped = int(meta["total_clipped"])
            data.recent_clipped.extend(bool(c) for c in meta["recent_clipped"])
            data.divergences.extend(int(s) for s in meta["divergences"])
            data.marks.extend((int(step), str(text)) for step, text in meta["marks"])
            data._ema, data._ema_weight = float(meta["ema"]), float(meta["ema_weight"])
            first = decode(meta["first_dh_norms"], arrays)
            data.first_dh_norms = np.asarray(first) if first is not None else None
            data.live_latest = decode(meta["latest"], arrays)
            data.live_eval = decode(meta["latest_eval"], arrays)
        except (CodecError, HistoryStateError) as exc:
            raise ValueError(f"its history is damaged: {exc}") from exc
        except KeyError as exc:
            raise ValueError(f"its history lacks {exc.args[0]}") from exc
        except ConfigError as exc:
            raise ValueError(f"its settings are not valid here: {exc}") from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError("its history is damaged or from an incompatible rnnviz (a value has the "
                             "wrong form)") from exc
        if (data.latest is not None and not isinstance(data.latest, StepReport)) \
                or (data.latest_eval is not None and not isinstance(data.latest_eval, EvalReport)):
            raise ValueError("its history is damaged: the latest step is not a step report")
        data.running = False
        data.version = 1
        return data
