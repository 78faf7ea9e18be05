"""The training loop in a child process, and what it sends to the app.

Why a process and not a QThread: a training step is mostly Python and small NumPy calls
that hold the GIL, and so is pyqtgraph's painting. On a thread the two take turns on one
core and, at 25+ frames a second, the window left the trainer about a third of its headless
speed. In its own process the trainer has a core to itself; the app only draws.

Nothing here imports Qt. The protocol is built so that the two sides cannot get out of step:

- The app names every run (``run``, a number it chooses). ``reset`` and ``load`` requests
  carry the new run's number; when this process starts that run it announces it with
  ``("run", run, details)`` before any of its batches, and the app adopts whatever run is
  announced, whether or not it still waits for the reply. A lost announcement is asked for
  again (``describe``).
- Every batch carries its run and a sequence number that only grows within this process,
  so a duplicated or late batch is recognised and dropped.
- Requests are answered with ``("reply", id, ok, payload)``; the app never waits for one.
- The process writes an autosave of the current run (an ordinary checkpoint, atomically)
  every few seconds of training and whenever it pauses; if it dies, the app starts a new
  process from that file and loses at most those seconds.

Batches go out at most ``max_rate_hz`` times a second, with at most ``MAX_IN_FLIGHT`` not yet
acknowledged, so the pipe never fills up. Every step's scalars travel (no point of a curve is
lost); only the latest step's arrays do, and the ‖∂L/∂h_t‖ profiles are thinned when the app
falls behind, so the backlog is bounded in bytes as well as in steps.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.training import EvalReport, StepReport, TrainConfig, Trainer
from rnnviz.training.timeline import TimelineSnapshot, snapshot_due, snapshot_interval, take_snapshot

SCALAR_FIELDS = ("step", "tokens_seen", "elapsed_s", "loss", "lr", "clip_value", "global_before",
                 "global_after", "clipped", "saturation", "diverged")
MAX_IN_FLIGHT = 2  # batches sent and not yet acknowledged
MAX_PENDING_STEPS = 20_000  # if the app falls this far behind, training waits for it
MAX_PENDING_PROFILE_BYTES = 4 << 20  # ‖∂L/∂h_t‖ profiles kept for the app; thinned beyond this
IDLE_POLL_S = 0.05
AUTOSAVE_EVERY_S = 5.0  # at least; slower when saving is slow (a huge model)
AUTOSAVE_MAX_SHARE = 0.05  # of the training time spent writing autosaves
TRAINING_NICENESS = 5  # added to the training process's nice value


@dataclass
class ReportBatch:
    """Everything since the previous batch: per-step scalars, the latest step's arrays."""

    run: int  # the run it belongs to (named by the app)
    seq: int  # grows with every batch this process sends: duplicates and stragglers are dropped
    scalars: dict[str, np.ndarray]  # SCALAR_FIELDS and grad_before.<p> / grad_after.<p>, p the cell's own
    dh_steps: np.ndarray  # the steps whose ‖∂L/∂h_t‖ profile is in dh_norms (all, unless thinned)
    dh_norms: list[np.ndarray]  # one (T,) array per step in dh_steps
    spectra: list[tuple[int, float, float]]  # (step, spectral radius, largest singular value)
    evaluations: list[EvalReport]
    latest: StepReport
    running: bool  # whether training continues after this batch
    snapshots: list[TimelineSnapshot] = field(default_factory=list)  # taken since the last batch


@dataclass
class StepAccumulator:
    """Steps gathered for the next batch: every step's scalars, the ‖∂L/∂h_t‖ profiles (thinned
    past MAX_PENDING_PROFILE_BYTES), spectra, evaluations, snapshots and the latest report.
    The training process sends its batches from it, and ``rnnviz train --out`` files its
    steps through it, so the app and the command line build the same history."""

    rows: dict[str, list[float]] = field(default_factory=dict)
    dh_steps: list[int] = field(default_factory=list)
    dh_norms: list[np.ndarray] = field(default_factory=list)
    dh_bytes: int = 0
    spectra: list[tuple[int, float, float]] = field(default_factory=list)
    evaluations: list[EvalReport] = field(default_factory=list)
    latest: StepReport | None = None
    snapshots: list[TimelineSnapshot] = field(default_factory=list)
    last_spectrum_step: int = -1
    steps: int = 0

    def __len__(self) -> int:
        return self.steps

    def add(self, report: StepReport) -> None:
        values = {
            "step": report.step, "tokens_seen": report.tokens_seen, "elapsed_s": report.elapsed_s,
            "loss": report.loss, "lr": report.lr, "clip_value": report.clip_value,
            "global_before": report.global_norm_before, "global_after": report.global_norm_after,
            "clipped": float(report.clipped), "saturation": report.saturation,
            "diverged": float(report.diverged),
        }
        # The cell's own parameters: b_h for the vanilla cell, b_xh and b_hh for the gated ones.
        for name, norm in report.grad_norms_before.items():
            values[f"grad_before.{name}"] = float(norm)
        for name, norm in report.grad_norms_after.items():
            values[f"grad_after.{name}"] = float(norm)
        for key, value in values.items():
            self.rows.setdefault(key, []).append(value)
        self.steps += 1
        self.dh_steps.append(report.step)
        self.dh_norms.append(report.dh_norms)
        self.dh_bytes += report.dh_norms.nbytes
        if self.dh_bytes > MAX_PENDING_PROFILE_BYTES and len(self.dh_norms) > 2:
            # The app is far behind: keep every other profile (the newest always), as its own
            # history would when full, rather than holding an unbounded backlog.
            keep = list(range(len(self.dh_norms) - 1, -1, -2))[::-1]
            self.dh_steps = [self.dh_steps[i] for i in keep]
            self.dh_norms = [self.dh_norms[i] for i in keep]
            self.dh_bytes = sum(p.nbytes for p in self.dh_norms)
        spec = report.spectrum
        if spec is not None and report.spectrum_step != self.last_spectrum_step:
            self.last_spectrum_step = report.spectrum_step
            self.spectra.append((report.spectrum_step, spec.spectral_radius, spec.largest_singular_value))
        if report.evaluation is not None:
            self.evaluations.append(report.evaluation)
        self.latest = report

    def take(self, run: int, seq: int, running: bool) -> ReportBatch:
        assert self.latest is not None
        batch = ReportBatch(run=run, seq=seq,
                            scalars={k: np.asarray(v, dtype=np.float64) for k, v in self.rows.items()},
                            dh_steps=np.asarray(self.dh_steps, dtype=np.int64), dh_norms=self.dh_norms,
                            spectra=self.spectra, evaluations=self.evaluations, latest=self.latest,
                            running=running, snapshots=self.snapshots)
        self.rows, self.dh_steps, self.dh_norms, self.dh_bytes, self.snapshots = {}, [], [], 0, []
        self.spectra, self.evaluations, self.latest, self.steps = [], [], None, 0
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
    cell: str = "rnn"


def run_details(trainer: Trainer) -> dict[str, Any]:
    """What the app needs to know about a (new) run: its config and task facts."""
    task = trainer.task
    return {"config": trainer.config.to_dict(), "step": trainer.step_count, "task_name": task.name,
            "head": task.head, "baseline_loss": float(task.baseline_loss),
            "vocab_tokens": task.vocab.tokens if task.vocab is not None else None,
            "vocab_kind": task.vocab.kind if task.vocab is not None else None,
            "notes": list(trainer.load_notes), "running": False}


def autosave_path(folder: str | Path, run: int) -> Path:
    """Where the autosave of ``run`` lives: one file per run, so a restarted process can
    never mistake another run's weights for this one's."""
    return Path(folder) / f"run-{run}.npz"


class TrainingLoop:
    """The child process's state: one trainer at a time, run, paused or stepped on command."""

    def __init__(self, conn: Connection, max_rate_hz: float = 60.0,
                 autosave_dir: str | None = None) -> None:
        self.conn = conn
        self.trainer: Trainer | None = None
        self.run_id = 0
        self.seq = 0
        self.running = False
        self.step_requests = 0
        self.in_flight = 0  # batches sent, not yet acknowledged
        self.stopped = False
        self.min_interval = 1.0 / max_rate_hz
        self.pace: float | None = None  # steps a second; None = as fast as possible
        self.next_step_at = 0.0
        self.autosave_dir = autosave_dir
        self.saved_step = -1  # the step of the latest autosave of this run
        self.last_save_at = time.monotonic()
        self.save_cost_s = 0.0
        self.acc = StepAccumulator()
        self.state_bytes = 0  # of the trainer's whole state: how many snapshots the run keeps

    def run(self) -> None:
        last_emit = 0.0
        while not self.stopped:
            wants_step = self.trainer is not None and (self.running or self.step_requests > 0)
            wait = 0.0 if wants_step else IDLE_POLL_S
            if wants_step and self.pace is not None and self.running:
                wait = max(0.0, min(self.next_step_at - time.monotonic(), IDLE_POLL_S))
            try:
                if self.conn.poll(wait):
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
                now = time.monotonic()
                if self.running and self.pace is not None and now < self.next_step_at:
                    continue
                if not self.running:
                    self.step_requests -= 1
                    single = True
                elif self.pace is not None:
                    self.next_step_at = max(self.next_step_at + 1.0 / self.pace, now)
                self.train_one()
            now = time.monotonic()
            due = single or not self.running or self.pace is not None or now - last_emit >= self.min_interval
            if len(self.acc) and self.in_flight < MAX_IN_FLIGHT and due:
                self.send_batch()
                last_emit = now
            self.autosave_if_due()
        self.autosave(force=False)  # stopping: the latest state, for whoever comes next

    def train_one(self) -> None:
        assert self.trainer is not None
        try:
            report = self.trainer.step()
        except Exception as exc:  # any failure: pause, tell the app, stay alive
            self.running, self.step_requests = False, 0
            self.conn.send(("failed", self.run_id, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            return
        self.acc.add(report)
        if not report.diverged and snapshot_due(report.step, self.state_bytes):
            snapshot = take_snapshot(self.trainer, report)
            self.state_bytes = sum(a.nbytes for a in snapshot.arrays.values())  # optimizer state included now
            self.acc.snapshots.append(snapshot)
            # An app far behind holds no more of them than its timeline would keep.
            self.acc.snapshots = [snap for snap in self.acc.snapshots
                                  if snap.step % snapshot_interval(report.step, snap.kept) == 0]
        if report.diverged:
            # Pause, show the blow-up, and go back to the last state before the loss left its
            # normal range (the last finite one is usually ruined already): Start continues there.
            self.running, self.step_requests = False, 0
            self.send_batch()
            back = self.trainer.rewind_to_healthy()
            self.conn.send(("rewound", self.run_id, report.step + 1, back))

    def send_batch(self) -> None:
        self.seq += 1
        batch = self.acc.take(self.run_id, self.seq, self.running)
        self.in_flight += 1
        self.conn.send(("batch", batch))

    # ---------------------------------------------------------------- autosave
    def autosave_if_due(self) -> None:
        if self.trainer is None or self.autosave_dir is None:
            return
        if self.running:
            interval = max(AUTOSAVE_EVERY_S, self.save_cost_s / AUTOSAVE_MAX_SHARE)
            if time.monotonic() - self.last_save_at >= interval:
                self.autosave()
        elif self.step_requests == 0:
            self.autosave()  # paused: keep what the user is looking at

    def autosave(self, force: bool = False) -> None:
        """Write the current run to its autosave file if it moved on since the last one."""
        trainer = self.trainer
        if trainer is None or self.autosave_dir is None:
            return
        if not force and trainer.step_count == self.saved_step:
            self.last_save_at = time.monotonic()
            return
        started = time.monotonic()
        try:
            path = trainer.save(autosave_path(self.autosave_dir, self.run_id))
        except Exception as exc:  # a full disk must not stop training; the app hears of it
            self.saved_step = trainer.step_count  # do not retry at every step
            self.last_save_at = time.monotonic()
            self.conn.send(("autosave_failed", self.run_id, str(exc) or type(exc).__name__))
            return
        self.save_cost_s = time.monotonic() - started
        self.last_save_at = time.monotonic()
        self.saved_step = trainer.step_count
        self.conn.send(("autosaved", self.run_id, trainer.step_count, str(path)))

    # ----------------------------------------------------------------- commands
    def handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ack":
            self.in_flight = max(self.in_flight - 1, 0)
        elif kind == "start":
            self.running = True
            self.next_step_at = time.monotonic()
        elif kind == "pause":
            self.running = False
        elif kind == "step":
            self.step_requests += 1
        elif kind == "pace":
            pace = message[1]
            self.pace = float(pace) if pace is not None and math.isfinite(pace) and pace > 0 else None
            self.next_step_at = time.monotonic()
        elif kind == "live":
            if self.trainer is not None:
                try:
                    self.trainer.update_live(**message[1])
                except ValueError as exc:  # the app validates first; this is a safety net
                    self.conn.send(("failed", self.run_id, str(exc), traceback.format_exc()))
        elif kind == "stop":
            self.stopped = True
        elif kind == "request":
            _, request, what, argument = message[:4]
            self.answer(request, what, argument)

    def answer(self, request: int, kind: str, argument: Any) -> None:
        """Do a request and reply; a failure replies with its message and changes nothing."""
        try:
            if kind in ("reset", "load"):
                run = int(argument["run"])
                if kind == "reset":
                    trainer = Trainer(TrainConfig.from_dict(argument["config"]))
                else:
                    # A fork may change the settings that a resumed run may change (clipping,
                    # learning rate, …): the rest shapes the model or the data.
                    changes = argument.get("changes") or None
                    trainer = Trainer.from_checkpoint(argument["path"], changes=changes)
                self.replace(trainer, run, start=bool(argument.get("start", False)),
                             loaded_from=argument.get("path") if kind == "load" and not argument.get("fork")
                             else None)
                payload: Any = run_details(trainer)
                payload["running"] = self.running
            elif kind == "describe":
                if self.trainer is not None:
                    details = {**run_details(self.trainer), "running": self.running}
                    self.conn.send(("run", self.run_id, details))
                payload = self.run_id
            elif self.trainer is None:
                raise RuntimeError("no training run has started yet")
            elif kind == "save":
                payload = str(self.trainer.save(argument))
            elif kind == "model":
                payload = self.snapshot()
            else:
                raise ValueError(f"unknown request {kind!r}")
        except Exception as exc:
            self.conn.send(("reply", request, False, str(exc) or type(exc).__name__))
            return
        self.conn.send(("reply", request, True, payload))

    def replace(self, trainer: Trainer, run: int, start: bool, loaded_from: str | None = None) -> None:
        """The new run trains at once if the app asked for that (it did if the old one was
        training), else it waits paused; the announcement says which."""
        self.trainer = trainer
        self.state_bytes = sum(a.nbytes for a in trainer.state()[0].values())
        self.run_id = run
        self.running = start
        self.next_step_at = time.monotonic()
        self.acc = StepAccumulator()
        self.step_requests = 0  # batches of the old run still in flight are acknowledged as usual
        self.conn.send(("run", run, {**run_details(trainer), "running": start, "loaded_from": loaded_from}))
        self.saved_step = -1
        self.autosave(force=True)

    def snapshot(self) -> ModelSnapshot:
        trainer = self.trainer
        assert trainer is not None
        model, vocab = trainer.model, trainer.task.vocab
        return ModelSnapshot(flat_params=model.flat_params.copy(),
                             sizes=(model.input_size, model.hidden_size, model.output_size),
                             activation=model.activation, dtype=str(model.dtype),
                             vocab_tokens=vocab.tokens if vocab is not None else None,
                             vocab_kind=vocab.kind if vocab is not None else None,
                             step=trainer.step_count, seed=trainer.config.seed, cell=model.cell)


def training_process_main(conn: Connection, max_rate_hz: float = 60.0,
                          autosave_dir: str | None = None) -> None:
    """Entry point of the child process.

    Ctrl+C in a terminal reaches the whole process group; the window decides when this
    process stops (it sends ``stop``), so SIGINT is ignored here.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from rnnviz.blas import limit_blas_threads

    limit_blas_threads()
    # Below the window in the scheduler's eyes: with one training process nothing changes (it
    # has a core to itself), but when two train at once (Run both) on a two-core machine, the
    # window still gets the CPU the moment it has a frame to draw or a click to answer.
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not allowed here: the default priority is fine too
            os.nice(TRAINING_NICENESS)
    try:
        TrainingLoop(conn, max_rate_hz, autosave_dir).run()
    finally:
        conn.close()
