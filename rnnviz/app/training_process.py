"""The training loop in a child process, and what it sends to the app.

Why a process and not a QThread: a training step is mostly Python and small NumPy calls
that hold the GIL, and so is pyqtgraph's painting. On a thread the two take turns on one
core and, at 25+ frames a second, the window left the trainer about a third of its headless
speed. In its own process the trainer has a core to itself; the app only draws.

Nothing here imports Qt. The app sends commands down a pipe; this process answers requests
(reset, load, save, model) with ``("reply", id, ok, payload)`` and sends ``("batch", batch)``
at most ``max_rate_hz`` times a second, with at most ``MAX_IN_FLIGHT`` batches the app has
not acknowledged yet, so the pipe never fills up, and a frame that keeps the app busy for a
moment does not hold the next batch back. Every step's scalars travel in the batch (no point of a
curve is lost); only the latest step's arrays do.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from rnnviz.core.rnn import PARAM_NAMES
from rnnviz.training import EvalReport, StepReport, TrainConfig, Trainer

SCALAR_FIELDS = ("step", "tokens_seen", "elapsed_s", "loss", "lr", "clip_value", "global_before",
                 "global_after", "clipped", "saturation", "diverged")
MAX_IN_FLIGHT = 2  # batches sent and not yet acknowledged
MAX_PENDING_STEPS = 50_000  # if the app falls this far behind, training waits for it
IDLE_POLL_S = 0.05


@dataclass
class ReportBatch:
    """Everything since the previous batch: per-step scalars, the latest step's arrays."""

    generation: int  # which trainer produced it; batches of a replaced trainer are dropped
    scalars: dict[str, np.ndarray]  # SCALAR_FIELDS and grad_before.<p> / grad_after.<p>
    dh_norms: list[np.ndarray]  # one (T,) array per step
    spectra: list[tuple[int, float, float]]  # (step, spectral radius, largest singular value)
    evaluations: list[EvalReport]
    latest: StepReport
    running: bool  # whether training continues after this batch

    @property
    def steps(self) -> int:
        return len(self.scalars["step"])


@dataclass
class _Accumulator:
    rows: dict[str, list[float]] = field(default_factory=dict)
    dh_norms: list[np.ndarray] = field(default_factory=list)
    spectra: list[tuple[int, float, float]] = field(default_factory=list)
    evaluations: list[EvalReport] = field(default_factory=list)
    latest: StepReport | None = None
    last_spectrum_step: int = -1

    def __len__(self) -> int:
        return len(self.dh_norms)

    def add(self, report: StepReport) -> None:
        values = {
            "step": report.step, "tokens_seen": report.tokens_seen, "elapsed_s": report.elapsed_s,
            "loss": report.loss, "lr": report.lr, "clip_value": report.clip_value,
            "global_before": report.global_norm_before, "global_after": report.global_norm_after,
            "clipped": float(report.clipped), "saturation": report.saturation,
            "diverged": float(report.diverged),
        }
        for name in PARAM_NAMES:
            values[f"grad_before.{name}"] = report.grad_norms_before.get(name, np.nan)
            values[f"grad_after.{name}"] = report.grad_norms_after.get(name, np.nan)
        for key, value in values.items():
            self.rows.setdefault(key, []).append(value)
        self.dh_norms.append(report.dh_norms)
        spec = report.spectrum
        if spec is not None and report.spectrum_step != self.last_spectrum_step:
            self.last_spectrum_step = report.spectrum_step
            self.spectra.append((report.spectrum_step, spec.spectral_radius, spec.largest_singular_value))
        if report.evaluation is not None:
            self.evaluations.append(report.evaluation)
        self.latest = report

    def take(self, generation: int, running: bool) -> ReportBatch:
        assert self.latest is not None
        batch = ReportBatch(generation=generation,
                            scalars={k: np.asarray(v, dtype=np.float64) for k, v in self.rows.items()},
                            dh_norms=self.dh_norms, spectra=self.spectra,
                            evaluations=self.evaluations, latest=self.latest, running=running)
        self.rows, self.dh_norms, self.spectra, self.evaluations = {}, [], [], []
        self.latest = None
        return batch


@dataclass(frozen=True)
class ModelSnapshot:
    """A copy of the model's parameters, enough to rebuild it in the app for sampling."""

    flat_params: np.ndarray
    sizes: tuple[int, int, int]
    activation: str
    dtype: str
    vocab_tokens: list[str] | None
    vocab_kind: str | None
    step: int
    seed: int


def run_details(trainer: Trainer) -> dict[str, Any]:
    """What the app needs to know about a (new) run: its config and task facts."""
    task = trainer.task
    return {"config": trainer.config.to_dict(), "step": trainer.step_count, "task_name": task.name,
            "head": task.head, "baseline_loss": float(task.baseline_loss),
            "vocab_tokens": task.vocab.tokens if task.vocab is not None else None,
            "vocab_kind": task.vocab.kind if task.vocab is not None else None}


class TrainingLoop:
    """The child process's state: one trainer at a time, run, paused or stepped on command."""

    def __init__(self, conn: Connection, max_rate_hz: float = 60.0) -> None:
        self.conn = conn
        self.trainer: Trainer | None = None
        self.generation = 0
        self.running = False
        self.step_requests = 0
        self.in_flight = 0  # batches sent, not yet acknowledged
        self.stopped = False
        self.min_interval = 1.0 / max_rate_hz
        self.acc = _Accumulator()

    def run(self) -> None:
        last_emit = 0.0
        while not self.stopped:
            busy = self.trainer is not None and (self.running or self.step_requests > 0)
            try:
                if self.conn.poll(0 if busy else IDLE_POLL_S):
                    while not self.stopped:
                        self.handle(self.conn.recv())
                        if not self.conn.poll():
                            break
            except (EOFError, OSError):  # the app is gone: nothing left to train for
                return
            if self.stopped:
                break
            single = False
            if self.trainer is not None and (self.running or self.step_requests > 0):
                if len(self.acc) >= MAX_PENDING_STEPS and self.in_flight >= MAX_IN_FLIGHT:
                    time.sleep(0.005)  # back-pressure: the app is far behind
                    continue
                if not self.running:
                    self.step_requests -= 1
                    single = True
                self.train_one()
            now = time.monotonic()
            due = single or not self.running or now - last_emit >= self.min_interval
            if len(self.acc) and self.in_flight < MAX_IN_FLIGHT and due:
                self.send_batch()
                last_emit = now

    def train_one(self) -> None:
        assert self.trainer is not None
        try:
            report = self.trainer.step()
        except Exception as exc:  # any failure: pause, tell the app, stay alive
            self.running, self.step_requests = False, 0
            self.conn.send(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            return
        self.acc.add(report)
        if report.diverged:
            self.running, self.step_requests = False, 0

    def send_batch(self) -> None:
        batch = self.acc.take(self.generation, self.running)
        self.in_flight += 1
        self.conn.send(("batch", batch))

    # ----------------------------------------------------------------- commands
    def handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ack":
            self.in_flight = max(self.in_flight - 1, 0)
        elif kind == "start":
            self.running = True
        elif kind == "pause":
            self.running = False
        elif kind == "step":
            self.step_requests += 1
        elif kind == "live":
            if self.trainer is not None:
                try:
                    self.trainer.update_live(**message[1])
                except ValueError as exc:  # the app validates first; this is a safety net
                    self.conn.send(("failed", str(exc), traceback.format_exc()))
        elif kind == "watch":
            if self.trainer is not None:
                self.trainer.watched_sequence = int(message[1])
        elif kind == "stop":
            self.stopped = True
        elif kind in ("reset", "load", "save", "model"):
            self.answer(kind, message[1], message[2] if len(message) > 2 else None)

    def answer(self, kind: str, request: int, argument: Any) -> None:
        """Do a request and reply; a failure replies with its message and changes nothing."""
        try:
            if kind in ("reset", "load"):
                trainer = (Trainer(TrainConfig.from_dict(argument)) if kind == "reset"
                           else Trainer.from_checkpoint(argument))
                self.replace(trainer)
                payload: Any = run_details(trainer)
            elif self.trainer is None:
                raise RuntimeError("no training run has started yet")
            elif kind == "save":
                payload = str(self.trainer.save(argument))
            else:
                payload = self.snapshot()
        except Exception as exc:
            self.conn.send(("reply", request, False, str(exc) or type(exc).__name__))
            return
        self.conn.send(("reply", request, True, payload))

    def replace(self, trainer: Trainer) -> None:
        """A new run starts paused; the app starts it when it wants it running."""
        self.trainer = trainer
        self.running = False
        self.generation += 1
        self.acc = _Accumulator()
        self.step_requests = 0  # batches of the old run still in flight are acknowledged as usual

    def snapshot(self) -> ModelSnapshot:
        trainer = self.trainer
        assert trainer is not None
        model, vocab = trainer.model, trainer.task.vocab
        return ModelSnapshot(flat_params=model.flat_params.copy(),
                             sizes=(model.input_size, model.hidden_size, model.output_size),
                             activation=model.activation, dtype=str(model.dtype),
                             vocab_tokens=vocab.tokens if vocab is not None else None,
                             vocab_kind=vocab.kind if vocab is not None else None,
                             step=trainer.step_count, seed=trainer.config.seed)


def training_process_main(conn: Connection, max_rate_hz: float = 60.0) -> None:
    """Entry point of the child process."""
    from rnnviz.blas import limit_blas_threads

    limit_blas_threads()
    try:
        TrainingLoop(conn, max_rate_hz).run()
    finally:
        conn.close()
