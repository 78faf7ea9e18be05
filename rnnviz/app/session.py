"""One training session: the trainer, its worker thread, and the RunData the panels read.

The session lives on the GUI thread. Its slot only files the worker's batches into
RunData (cheap NumPy appends) and acknowledges them; drawing happens on the window's timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rnnviz.app.qt import QtCore, Signal, Slot
from rnnviz.app.run_data import RunData, task_info
from rnnviz.app.worker import ReportBatch, TrainingWorker
from rnnviz.core import RNN, Vocabulary
from rnnviz.training import TrainConfig, Trainer


class TrainingSession(QtCore.QObject):
    """Start, pause, step, reset, save and load; everything the GUI asks of training."""

    failed = Signal(str, str)  # message, traceback
    diverged = Signal(int)  # the step at which the loss became non-finite
    running_changed = Signal(bool)
    run_replaced = Signal()  # a new trainer (reset or checkpoint): panels start over

    def __init__(self, trainer: Trainer, parent: QtCore.QObject | None = None,
                 max_rate_hz: float = 40.0) -> None:
        super().__init__(parent)
        self.trainer = trainer
        self.data = RunData(task_info(trainer), trainer.config)
        self.worker = TrainingWorker(trainer, max_rate_hz=max_rate_hz)
        self.thread = QtCore.QThread()
        self.thread.setObjectName("rnnviz-training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.batch_ready.connect(self._take_batch)
        self.worker.failed.connect(self._worker_failed)
        self._running = False
        self._closed = False
        self.thread.start()

    # ------------------------------------------------------------------ control
    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self._closed:
            return
        self.worker.resume()
        self._set_running(True)

    def pause(self) -> None:
        self.worker.pause()
        self._set_running(False)

    def toggle(self) -> None:
        if self._running:
            self.pause()
        else:
            self.start()

    def step_once(self) -> None:
        """One batch, then stay paused."""
        self.pause()
        self.worker.step_once()

    def update_live(self, **changes: Any) -> None:
        """Learning rate, clipping, intervals: applied before the next step (ConfigError if bad)."""
        self.trainer.update_live(**changes)

    def replace_trainer(self, trainer: Trainer) -> None:
        """Continue with ``trainer`` (built by the caller, so a failure leaves this run alone)."""
        self.worker.replace_trainer(trainer)
        self.trainer = trainer
        self.data = RunData(task_info(trainer), trainer.config)
        self.data.running = self._running
        self.run_replaced.emit()

    def reset(self, config: TrainConfig) -> None:
        """A fresh trainer for ``config``; raises (ConfigError, TaskError...) and keeps this run."""
        self.replace_trainer(Trainer(config))

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue from a checkpoint; raises CheckpointError (or TaskError) and keeps this run."""
        self.replace_trainer(Trainer.from_checkpoint(path))

    def save_checkpoint(self, path: str | Path) -> Path:
        with self.worker.access() as trainer:
            return trainer.save(path)

    def model_for_sampling(self) -> tuple[RNN, Vocabulary | None, int, int]:
        """A private copy of the model, its vocabulary, its step and the run's seed."""
        with self.worker.access() as trainer:
            return trainer.model_copy(), trainer.task.vocab, trainer.step_count, trainer.config.seed

    @contextmanager
    def trainer_between_steps(self) -> Iterator[Trainer]:
        with self.worker.access() as trainer:
            yield trainer

    def shutdown(self) -> None:
        """Stop the worker and wait for its thread (a running QThread must never be destroyed)."""
        if self._closed:
            return
        self._closed = True
        self.worker.stop()
        self.thread.quit()
        self.thread.wait()
        self._set_running(False)

    # ----------------------------------------------------------- worker signals
    def _set_running(self, running: bool) -> None:
        self.data.running = running
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)

    @Slot(object)
    def _take_batch(self, batch: ReportBatch) -> None:
        try:
            if batch.generation != self.worker.generation:
                return  # from a trainer that has since been replaced
            self.data.add_batch(batch)
            if batch.scalars["diverged"].any():
                self._set_running(False)
                self.diverged.emit(int(batch.latest.step))
            elif not batch.running and self._running and not self.worker.running:
                self._set_running(False)
        finally:
            self.worker.acknowledge()

    @Slot(str, str)
    def _worker_failed(self, message: str, details: str) -> None:
        self._set_running(False)
        self.failed.emit(message, details)
