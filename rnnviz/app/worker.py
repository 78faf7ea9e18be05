"""The training loop on its own thread, and what it sends to the GUI.

``TrainingWorker`` is a parentless QObject moved to a QThread; ``run()`` loops over
``trainer.step()``. The GUI steers it through ``threading.Event``s set directly (a queued
slot could never reach a busy loop). It emits at most ``max_rate_hz`` batches a second and
only after the GUI has taken the previous one, so the event queue never holds more than one
batch; every step's scalars travel in the batch (no point of a curve is lost), but only the
latest step's arrays do.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from rnnviz.app.qt import QtCore, Signal
from rnnviz.core.rnn import PARAM_NAMES
from rnnviz.training import EvalReport, StepReport, Trainer

SCALAR_FIELDS = ("step", "tokens_seen", "elapsed_s", "loss", "lr", "clip_value", "global_before",
                 "global_after", "clipped", "saturation", "diverged")
MAX_PENDING_STEPS = 50_000  # if the GUI falls this far behind, training waits for it


@dataclass
class ReportBatch:
    """Everything since the previous batch: per-step scalars, the latest step's arrays."""

    generation: int  # which trainer produced it; batches of a replaced trainer are dropped
    scalars: dict[str, np.ndarray]  # SCALAR_FIELDS and grad_before.<p> / grad_after.<p>
    dh_norms: list[np.ndarray]  # one (T,) array per step
    spectra: list[tuple[int, float, float]]  # (step, spectral radius, largest singular value)
    evaluations: list[EvalReport]
    latest: StepReport
    running: bool  # whether the worker is still training after this batch

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


class TrainingWorker(QtCore.QObject):
    """Runs ``trainer.step()`` in a loop; controlled by events, reporting by throttled signals."""

    batch_ready = Signal(object)  # ReportBatch
    failed = Signal(str, str)  # one-line message, traceback text
    finished = Signal()

    def __init__(self, trainer: Trainer, max_rate_hz: float = 40.0) -> None:
        super().__init__()  # no parent: it is moved to a QThread
        self.lock = threading.Lock()  # held around every step; hold it to touch the trainer
        self._trainer = trainer
        self._generation = 0
        self._min_interval = 1.0 / max_rate_hz
        self._running = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._consumed = threading.Event()
        self._consumed.set()
        self._command_lock = threading.Lock()
        self._step_requests = 0
        self._waiting_for_access = 0
        self._acc = _Accumulator()

    # ------------------------------------------------------- called from the GUI thread
    @property
    def generation(self) -> int:
        return self._generation

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def resume(self) -> None:
        self._running.set()
        self._wake.set()

    def pause(self) -> None:
        self._running.clear()
        self._wake.set()

    def step_once(self) -> None:
        """Train exactly one batch (while paused)."""
        with self._command_lock:
            self._step_requests += 1
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.clear()
        self._wake.set()
        self._consumed.set()

    def acknowledge(self) -> None:
        """The GUI took the last batch; the next one may be sent."""
        self._consumed.set()
        self._wake.set()

    @contextmanager
    def access(self) -> Iterator[Trainer]:
        """The trainer, between two steps (for a model copy or a checkpoint)."""
        with self._command_lock:
            self._waiting_for_access += 1
        try:
            with self.lock:
                yield self._trainer
        finally:
            with self._command_lock:
                self._waiting_for_access -= 1

    def replace_trainer(self, trainer: Trainer) -> int:
        """Swap in a new trainer between steps; returns the new generation number."""
        with self.access():
            self._trainer = trainer
            self._generation += 1
            self._acc = _Accumulator()
            with self._command_lock:
                self._step_requests = 0
            return self._generation

    # ------------------------------------------------------------ on the worker thread
    def run(self) -> None:
        last_emit = 0.0
        while not self._stop.is_set():
            single = False
            if not self._running.is_set():
                with self._command_lock:
                    if self._step_requests:
                        self._step_requests -= 1
                        single = True
                if not single:
                    if len(self._acc) and self._consumed.is_set():
                        self._emit()
                        last_emit = time.monotonic()
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
            if len(self._acc) >= MAX_PENDING_STEPS and not self._consumed.is_set():
                self._consumed.wait(0.05)  # back-pressure: the GUI is far behind
                continue
            while self._waiting_for_access:  # let the GUI thread in between two steps
                time.sleep(0.0005)
            try:
                with self.lock:
                    report = self._trainer.step()
                    self._acc.add(report)
            except Exception as exc:  # any failure: pause, tell the GUI, stay alive
                self._running.clear()
                self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
                continue
            if report.diverged:
                self._running.clear()
            now = time.monotonic()
            due = now - last_emit >= self._min_interval or single or not self._running.is_set()
            if due and self._consumed.is_set():
                self._emit()
                last_emit = now
        if len(self._acc):
            self._emit()
        self.finished.emit()

    def _emit(self) -> None:
        with self.lock:
            if not len(self._acc):
                return
            batch = self._acc.take(self._generation, self._running.is_set())
            self._consumed.clear()
        self.batch_ready.emit(batch)
