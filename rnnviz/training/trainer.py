"""The Trainer: one optimizer step at a time, each returning an immutable StepReport.

The same Trainer runs behind the GUI's worker thread, the headless CLI, the tests and the
benchmarks; nothing here knows about Qt. All randomness (initialisation, batches) comes
from one ``numpy.random.Generator`` owned by the trainer, so a seed reproduces a run, and a
checkpoint stores that generator's state so a resumed run continues exactly.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz import __version__
from rnnviz.core.checkpoint import (
    CheckpointError,
    check_cell,
    checkpoint_cell,
    load_checkpoint,
    save_checkpoint,
)
from rnnviz.core.connectivity import Connectivity, connectivity
from rnnviz.core.diagnostics import (
    GateTrace,
    Spectrum,
    gate_trace,
    mean_recurrent_jacobian,
    saturation_fraction,
    spectrum,
)
from rnnviz.core.gated import make_model
from rnnviz.core.optim import HalveOnPlateau, clip_gradients, make_optimizer
from rnnviz.core.rnn import PARAM_NAMES, RNN
from rnnviz.core.vocab import END, START, Vocabulary
from rnnviz.tasks import Task, TaskError, make_task
from rnnviz.training.config import LIVE_FIELDS, ConfigError, TrainConfig
from rnnviz.training.report import EvalReport, StepReport, frozen_array, frozen_mapping
from rnnviz.training.snapshots import EVERY as SNAPSHOT_EVERY
from rnnviz.training.snapshots import SnapshotRing

# The optimizer sees all parameters as one vector under this name (see RNN.flat_params).
_FLAT = "theta"
# The connectivity of the watched sequence is computed at the first step, and again once the
# training time since the last one is its cost / CONNECTIVITY_SHARE, so it takes that share of
# the time. Training time is the wall clock from step to step, each gap counted up to
# CONNECTIVITY_GAP_S: flat out, the steps' own time; at a slow pace (5 steps a second) the idle
# time between steps, so it follows every step; a pause adds no more than one gap.
CONNECTIVITY_SHARE = 0.03
CONNECTIVITY_MAX_AGE = 50  # steps: a fast run (the command line) still gets a recent one
CONNECTIVITY_GAP_S = 1.0


class Trainer:
    """Owns the model, optimizer, task, random generator and carried hidden state."""

    def __init__(self, config: TrainConfig, task: Task | None = None) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.task = task if task is not None else make_task(config)
        self.model = make_model(config.cell, self.task.input_size, config.hidden, self.task.output_size,
                                forget_bias=config.forget_bias, activation=config.activation,
                                init=config.init, spectral_radius=config.spectral_radius,
                                dtype=config.dtype, rng=self.rng)
        self.optimizer = make_optimizer(config.optimizer, config.lr)
        self.schedule = HalveOnPlateau()
        self.step_count = 0
        self.tokens_seen = 0
        self.elapsed_s = 0.0
        self.carried_state: np.ndarray | None = None
        self.diverged = False
        self.last_eval: EvalReport | None = None
        self.watched_sequence = 0  # which sequence of the batch reports show (clamped to B-1)
        # One sentence each about how the data was read (vocabulary coverage, validation on the
        # training lines) or a checkpoint was loaded (e.g. its optimizer state was missing and
        # the optimizer starts afresh): for the app's banner and the CLI.
        self.load_notes: list[str] = list(self.task.notes)
        self._spectrum: Spectrum | None = self._weight_spectrum()
        self._spectrum_step = 0
        self._connectivity: Connectivity | None = None
        # Share of the training time for the connectivity; 0 turns it off (a caller that never
        # shows it, such as a headless run, need not pay for it).
        self.connectivity_share = CONNECTIVITY_SHARE
        self._connectivity_wait_s = 0.0  # training time still to pass before it is computed again
        self._last_step_at: float | None = None
        self._pending: dict[str, Any] = {}
        self._pending_lock = threading.Lock()
        flat = self.model.flat_params
        self.snapshots = SnapshotRing(state_bytes=3 * flat.nbytes)  # parameters + optimizer moments
        self._take_snapshot()

    # ------------------------------------------------------------- live settings
    def update_live(self, **changes: Any) -> None:
        """Change settings that apply without a reset (learning rate, clipping, intervals).

        Safe to call from another thread: the change is applied before the next step.
        """
        not_live = set(changes) - LIVE_FIELDS
        if not_live:
            raise ConfigError(f"{', '.join(sorted(not_live))} can only change on reset")
        self.config.replace(**changes)  # validate now, so the caller hears of bad values
        with self._pending_lock:
            self._pending.update(changes)

    def _apply_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        if pending:
            self.config = self.config.replace(**pending)
            if "lr" in pending:
                self.optimizer.lr = float(pending["lr"])

    # ---------------------------------------------------------------------- step
    def step(self) -> StepReport:
        """One batch: forward, BPTT, clip, update; evaluation and spectrum when due.

        If the loss, a gradient or an updated parameter is not finite, the parameters and
        optimizer state are left as they were before this step, ``diverged`` is set, and
        the report says so (``report.diverged``); the caller decides whether to go on.
        """
        self._apply_pending()
        cfg = self.config
        started = time.perf_counter()
        if self._last_step_at is not None:
            self._connectivity_wait_s -= min(started - self._last_step_at, CONNECTIVITY_GAP_S)
        self._last_step_at = started
        batch = self.task.next_batch(self.rng)
        h0 = self.carried_state if batch.carry_state else None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = self.model.loss_and_grads(batch.x, batch.y, head=self.task.head, h0=h0,
                                               truncate=cfg.truncate, mask=batch.mask)
            # In place: result.grads are views of result.flat_grads, which the optimizer reads.
            clip = clip_gradients(result.grads, cfg.clip, cfg.clip_value, in_place=True)
            diverged = not (np.isfinite(result.loss) and np.isfinite(clip.global_before))
            watched = min(max(int(self.watched_sequence), 0), result.hidden.shape[1] - 1)
            # Padding (line mode) is no part of what the model read: not shown, not counted.
            length = batch.length(watched)
            # Before the update: the gates and Jacobian belong to the weights of this forward pass.
            trace = self._watched_trace(batch.x, h0, result.hidden, watched, length)
            # This step is number step_count + 1: its spectrum is measured if it is one of every
            # spectrum_every, the first, or none is known yet.
            spectrum_due = ((self.step_count + 1) % cfg.spectrum_every == 0 or self.step_count == 0
                            or self._spectrum is None)
            jacobian = mean_recurrent_jacobian(self.model, trace) \
                if trace is not None and spectrum_due else None
            if not diverged:
                assert result.flat_grads is not None  # loss_and_grads always fills it
                diverged = not self._update(result.flat_grads)
        self.diverged = diverged
        self.snapshots.record(float(result.loss) if not diverged else math.nan, float(clip.global_before))
        if not diverged:
            self.step_count += 1
            self.tokens_seen += batch.tokens
            self.carried_state = result.h_last
        evaluation, lr_halved = None, False
        if not diverged:
            if spectrum_due:
                measured = (self._weight_spectrum() if self.model.cell == "rnn"
                            else spectrum(jacobian) if jacobian is not None and np.isfinite(jacobian).all()
                            else None)
                if measured is not None:
                    self._spectrum, self._spectrum_step = measured, self.step_count
            if self.step_count % cfg.eval_every == 0:
                evaluation = self.evaluate()
                if cfg.lr_schedule == "plateau":
                    lr_halved = self.schedule.update(self.optimizer, evaluation.val_loss)
        share = self.connectivity_share
        stale = self._connectivity is None or self._connectivity_wait_s <= 0 \
            or self.step_count - self._connectivity.step >= CONNECTIVITY_MAX_AGE
        if not diverged and share > 0 and stale:
            began = time.perf_counter()
            self._connectivity = self.watched_connectivity(batch.x, batch.y, h0, watched, length)
            self._connectivity_wait_s = (time.perf_counter() - began) / share
        self.elapsed_s += time.perf_counter() - started
        if not diverged and self.step_count % SNAPSHOT_EVERY == 0:
            self._take_snapshot()
        real_hidden = result.hidden if batch.mask is None else result.hidden[batch.mask.astype(bool)]
        return StepReport(
            step=self.step_count,
            tokens_seen=self.tokens_seen,
            elapsed_s=self.elapsed_s,
            loss=float(result.loss),
            lr=self.optimizer.lr,
            clip_mode=cfg.clip,
            clip_value=cfg.clip_value,
            grad_norms_before=frozen_mapping(clip.norms_before),
            grad_norms_after=frozen_mapping(clip.norms_after),
            global_norm_before=clip.global_before,
            global_norm_after=clip.global_after,
            clipped=clip.fired,
            dh_norms=frozen_array(result.dh_norms),
            dc_norms=frozen_array(result.dc_norms) if result.dc_norms is not None else None,
            cell_state=frozen_array(trace.c) if trace is not None and trace.c is not None else None,
            gates=frozen_array(trace.gates, dtype=np.float32) if trace is not None else None,
            hidden=frozen_array(result.hidden[:length, watched, :], dtype=np.float64),
            input_tokens=self.task.input_labels(batch.x, watched)[:length],
            watched_sequence=watched,
            saturation=saturation_fraction(real_hidden, cfg.activation),
            activation=cfg.activation,
            spectrum=self._spectrum,
            spectrum_step=self._spectrum_step,
            evaluation=evaluation,
            lr_halved=lr_halved,
            diverged=diverged,
            connectivity=self._connectivity,
        )

    def watched_connectivity(self, x: np.ndarray, y: np.ndarray, h0: np.ndarray | None, column: int,
                             length: int) -> Connectivity:
        """How much each input of one sequence of a batch sways each of its predictions, with
        the current weights (``rnnviz.core.connectivity``); padding is left out."""
        head, vocab = self.task.head, self.task.vocab
        inputs = x[:length, column]
        start = None if h0 is None else h0[column]
        targets: np.ndarray | int | None = None
        labels: tuple[str, ...] = ()
        if head == "seq_softmax":
            targets = y[:length, column]
            if vocab is not None and self.task.output_size == len(vocab):  # next tokens, same vocabulary
                labels = tuple(vocab.tokens[int(i)] for i in targets)
        elif head == "last_softmax":
            targets = int(y[column])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            matrix = connectivity(self.model, inputs, start, targets, head)
        return Connectivity(step=self.step_count, matrix=frozen_array(matrix),
                            tokens=self.task.input_labels(x, column)[:length], targets=labels,
                            score="log p" if head.endswith("softmax") else "prediction")

    def _weight_spectrum(self) -> Spectrum | None:
        """The vanilla cell's spectrum of W_hh; None for a gated cell, whose spectrum is of the
        recurrent Jacobian along a sequence and waits for the next batch."""
        return spectrum(self.model.recurrent_matrix) if self.model.cell == "rnn" else None

    def _watched_trace(self, x: np.ndarray, h0: np.ndarray | None, hidden: np.ndarray, watched: int,
                       length: int) -> GateTrace | None:
        """A gated cell's gates (and c) along the watched sequence's real steps, from the
        hidden states the forward pass made; None for the vanilla cell or a non-finite pass."""
        if self.model.cell == "rnn" or length == 0:
            return None
        seen = hidden[:length, watched]
        if not np.isfinite(seen).all():
            return None
        return gate_trace(self.model, x[:length, watched], h0[watched] if h0 is not None else None, seen)

    def _update(self, flat_grads: np.ndarray) -> bool:
        """Optimizer step on the flat parameter vector; undone (returns False) if it makes
        anything non-finite."""
        flat = self.model.flat_params
        before_params = flat.copy()
        before_optim = self.optimizer.state_dict()
        self.optimizer.step({_FLAT: flat}, {_FLAT: flat_grads})
        if not np.isfinite(flat).all():
            flat[...] = before_params
            self.optimizer.load_state_dict(before_optim)
            return False
        return True

    def evaluate(self) -> EvalReport:
        """Held-out metrics with frozen weights, every sequence from a zero hidden state.

        Uses its own generator (seeded by the run's seed and the step), so evaluating more
        or less often never changes the training run itself.
        """
        eval_rng = np.random.default_rng([self.config.seed, self.step_count, 1])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            metrics, preview = self.task.evaluate(self.model, eval_rng)
        for key, value in preview.items():
            if isinstance(value, np.ndarray):
                preview[key] = frozen_array(value)
        report = EvalReport(step=self.step_count, val_loss=float(metrics["val_loss"]),
                            metrics=frozen_mapping(metrics), preview=frozen_mapping(preview))
        self.last_eval = report
        return report

    # ---------------------------------------------------------------- checkpoints
    def save(self, path: str | Path) -> Path:
        """Write parameters, optimizer state, RNG state, data position and config."""
        return save_checkpoint(path, *self.state())

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything a checkpoint holds, as arrays and JSON-ready metadata (not copied)."""
        arrays: dict[str, np.ndarray] = {f"param.{k}": v for k, v in self.model.params.items()}
        arrays.update({f"optim.{k}": v for k, v in self.optimizer.state_dict().items()})
        if self.carried_state is not None:
            arrays["carried_state"] = self.carried_state
        meta = {
            "rnnviz_version": __version__,
            "config": self.config.to_dict(),
            "cell": self.model.cell,
            "task": self.task.name,
            "head": self.task.head,
            "sizes": [self.model.input_size, self.model.hidden_size, self.model.output_size],
            "vocab": self.task.vocab.tokens if self.task.vocab is not None else None,
            "vocab_kind": self.task.vocab.kind if self.task.vocab is not None else None,
            "step": self.step_count,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": self.elapsed_s,
            "lr": self.optimizer.lr,
            "rng_state": self.rng.bit_generator.state,
            "task_state": self.task.state(),
            "schedule": self.schedule.state(),
            "last_val_loss": self.last_eval.val_loss if self.last_eval else None,
        }
        return arrays, meta

    # ------------------------------------------------------------------ rewind
    def _take_snapshot(self) -> None:
        arrays, meta = self.state()
        meta.pop("vocab")  # the same for the whole run (up to 8,000 words): not copied every 5 steps
        self.snapshots.take(self.step_count, arrays, meta)

    def rewind_to_healthy(self) -> int | None:
        """After a divergence: go back to the latest kept state after which training looked
        normal (see ``snapshots``), keeping the current settings and learning rate; return its
        step, or None if none is kept."""
        snapshot = self.snapshots.healthy()
        if snapshot is None:
            return None
        lr, elapsed = self.optimizer.lr, self.elapsed_s
        self._restore(snapshot.arrays, snapshot.meta, f"the state of step {snapshot.step}")
        self.load_notes = list(self.task.notes)
        self.optimizer.lr, self.elapsed_s = lr, elapsed  # settings chosen since then stay
        self.diverged = False
        self.snapshots.forget_after(snapshot.step)
        return snapshot.step

    @classmethod
    def from_checkpoint(cls, path: str | Path, config: TrainConfig | None = None,
                        changes: dict[str, Any] | None = None) -> Trainer:
        """Rebuild a trainer that continues exactly where the checkpoint left off.

        ``config`` replaces the stored one outright (it must describe the same model shapes);
        ``changes`` are checked against the stored one: a moved corpus and the live settings
        may change, anything that shapes the model or the data raises ConfigError.
        """
        arrays, meta = load_checkpoint(path)
        try:
            stored = TrainConfig.from_dict(meta["config"])
            if config is None:
                config = stored.resumed_with(changes or {})
            trainer = cls(config)
            trainer._restore(arrays, meta, path)
            trainer.snapshots = SnapshotRing(state_bytes=3 * trainer.model.flat_params.nbytes)
            trainer._take_snapshot()  # the loaded state is the first one to go back to
            if changes and "lr" in changes:  # asked for: it replaces the stored (maybe halved) rate
                trainer.optimizer.lr = float(config.lr)
        except (CheckpointError, ConfigError, TaskError):
            raise  # already a clear message for the user
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path} is damaged or from an incompatible rnnviz: {exc}") from exc
        return trainer

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], path: str | Path) -> None:
        vocab = meta.get("vocab")
        if self.task.vocab is not None and vocab is not None and vocab != self.task.vocab.tokens:
            raise CheckpointError("the checkpoint's vocabulary does not match this corpus")
        check_cell(meta, self.model.cell, path)
        self.model.set_params(finite_params(arrays, path, self.model.param_names))
        self._restore_optimizer({k[len("optim."):]: v for k, v in arrays.items() if k.startswith("optim.")},
                                path)
        self.optimizer.lr = float(meta.get("lr", self.config.lr))
        self.carried_state = (np.array(arrays["carried_state"], dtype=self.model.dtype)
                              if "carried_state" in arrays else None)
        self.step_count = int(meta["step"])
        self.tokens_seen = int(meta["tokens_seen"])
        self.elapsed_s = float(meta.get("elapsed_s", 0.0))
        self.rng.bit_generator.state = meta["rng_state"]
        self.task.load_state(meta.get("task_state", {}))
        self.schedule.load_state(meta.get("schedule", self.schedule.state()))
        self._spectrum = self._weight_spectrum()
        self._spectrum_step = self.step_count
        self._connectivity = None  # of other weights: computed afresh at the next step

    def _restore_optimizer(self, state: dict[str, np.ndarray], path: str | Path) -> None:
        """Load the optimizer's state; if the checkpoint lacks it, keep a fresh optimizer and
        add a note, since the next updates then differ from an uninterrupted run's."""
        # What this optimizer keeps once it has stepped (e.g. Adam: steps, m.theta, v.theta).
        probe = make_optimizer(self.config.optimizer, 1.0)
        probe.step({_FLAT: np.zeros(1)}, {_FLAT: np.zeros(1)})
        needed = set(probe.state_dict())
        never_stepped = set(state) == {"steps"} and int(state["steps"]) == 0
        if not needed <= set(state) and not never_stepped:
            self.load_notes.append(f"{path} has no {self.config.optimizer} optimizer state, so the "
                                   "optimizer starts afresh and the next steps differ from an "
                                   "uninterrupted run")
            return
        flat = self.model.flat_params
        for name, value in state.items():
            if name != "steps" and np.shape(value) != flat.shape:
                raise CheckpointError(f"{path} is damaged: its optimizer state {name} has shape "
                                      f"{np.shape(value)}, expected {flat.shape}")
        self.optimizer.load_state_dict(state)


def finite_params(arrays: dict[str, np.ndarray], path: str | Path,
                  names: tuple[str, ...] = PARAM_NAMES) -> dict[str, np.ndarray]:
    """The RNN parameters stored in a checkpoint, refused if any is NaN or infinite.

    Training from such weights diverges at once and sampling from them prints noise, so
    resuming, loading in the app and sampling all refuse the file with this one check.
    """
    params: dict[str, np.ndarray] = {}
    for name in names:
        key = f"param.{name}"
        if key not in arrays:
            raise CheckpointError(f"{path} is damaged: it has no parameter {name}")
        value = np.asarray(arrays[key])
        if value.dtype.kind != "f":
            raise CheckpointError(f"{path} is damaged: parameter {name} is not an array of numbers")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path} holds non-finite weights (NaN or infinity in {name}), so it "
                                  "cannot be trained or sampled")
        params[name] = value
    return params


def load_model(path: str | Path) -> tuple[RNN, Vocabulary | None, dict[str, Any]]:
    """Just the model and its vocabulary from a checkpoint (no corpus needed): for sampling."""
    arrays, meta = load_checkpoint(path)
    model, vocab = model_from_state(arrays, meta, path)
    return model, vocab, meta


def model_from_state(arrays: dict[str, np.ndarray], meta: dict[str, Any],
                     source: str | Path) -> tuple[RNN, Vocabulary | None]:
    """The model and vocabulary that ``Trainer.state()`` (a checkpoint, a snapshot) describes;
    CheckpointError names ``source`` if the description is damaged or its weights non-finite."""
    try:
        cfg = meta["config"]
        input_size, hidden_size, output_size = (int(n) for n in meta["sizes"])
        model = make_model(checkpoint_cell(meta), input_size, hidden_size, output_size,
                           activation=cfg["activation"], dtype=cfg["dtype"], seed=0)
        model.set_params(finite_params(arrays, source, model.param_names))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{source} is damaged or from an incompatible rnnviz: {exc}") from exc
    vocab = Vocabulary(meta["vocab"], kind=meta.get("vocab_kind") or "character") \
        if meta.get("vocab") else None
    return model, vocab


def sample_text(model: RNN, vocab: Vocabulary, seed_text: str, length: int,
                temperature: float = 1.0, rng: np.random.Generator | None = None) -> Iterator[str]:
    """Check the seed now (UnknownTokensError names unknown characters or words), then stream
    the text that follows it, one token at a time (a word comes with its leading space).

    A line-mode model (its vocabulary has the ``<s>``/``</s>`` markers) is primed with ``<s>``
    and the seed, and stops at ``</s>``: it completes one line. Its seed may be empty.
    """
    lines = START in vocab.index and END in vocab.index
    if lines:
        seed_text = seed_text.strip()
    elif not seed_text:
        raise ValueError(f"the seed text is empty; type at least one {vocab.kind}")
    prime = vocab.encode(seed_text).tolist()
    if not prime and not lines:
        raise ValueError(f"the seed text holds no {vocab.kind}; type at least one")
    if lines:
        prime = [vocab.index[START], *prime]
    ids = model.sample(prime, length, temperature=temperature, rng=rng)
    return _pieces(ids, vocab, vocab.index[END] if lines else -1)


def _pieces(ids: Iterator[int], vocab: Vocabulary, end: int) -> Iterator[str]:
    space = " " if vocab.kind == "word" else ""
    for token in ids:
        if token == end:
            return
        yield space + vocab.tokens[token]
