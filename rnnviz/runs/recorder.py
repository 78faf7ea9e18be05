"""Recording a run headless: ``rnnviz train`` files its StepReports exactly as the app files the
training process's batches (the same accumulation, the same RunData), so the run file the CLI
writes is the one the app would have saved."""

from __future__ import annotations

import math
import time
from pathlib import Path

from rnnviz.app.run_data import RunData, task_info
from rnnviz.app.training_process import StepAccumulator, run_details
from rnnviz.runs.file import save_run
from rnnviz.training import StepReport, Trainer
from rnnviz.training.timeline import snapshot_due, take_snapshot

BATCH_STEPS = 250  # reports gathered before they are filed into the history, as one app batch
SAVE_EVERY_S = 5.0  # at least; less often when writing is slow
SAVE_MAX_SHARE = 0.05  # of the training time spent writing the run file


class RunRecorder:
    """The history of ``trainer``'s run, written to ``path`` every few seconds and on demand."""

    def __init__(self, trainer: Trainer, path: str | Path, data: RunData | None = None) -> None:
        self.trainer = trainer
        self.path = Path(path)
        if data is None:
            data = RunData(task_info(run_details(trainer)), trainer.config)
            data.start_step = trainer.step_count
        self.data = data
        self._pending = StepAccumulator()
        last_spectrum = data.spectra.last("step")
        if math.isfinite(last_spectrum):  # a resumed run: that spectrum is in the history already
            self._pending.last_spectrum_step = int(last_spectrum)
        self._seq = 0
        self._state_bytes = sum(a.nbytes for a in trainer.state()[0].values())
        self._saved_at = time.monotonic()
        self._save_cost_s = 0.0

    def add(self, report: StepReport) -> None:
        self._pending.add(report)
        if not report.diverged and snapshot_due(report.step, self._state_bytes):
            snapshot = take_snapshot(self.trainer, report)  # the timeline, as the app keeps it
            self._state_bytes = sum(a.nbytes for a in snapshot.arrays.values())
            self._pending.snapshots.append(snapshot)
        if len(self._pending) >= BATCH_STEPS:
            self.flush()

    def flush(self) -> None:
        """File the gathered reports into the history."""
        if len(self._pending):
            self._seq += 1
            self.data.add_batch(self._pending.take(run=1, seq=self._seq, running=False))

    def mark(self, step: int, text: str) -> None:
        self.flush()
        self.data.add_mark(step, text)

    def went_back(self, step: int) -> None:
        """Training diverged and went back to ``step``: the history continues from there."""
        self.flush()
        self.data.truncate_after(step)

    def save_if_due(self) -> Path | None:
        interval = max(SAVE_EVERY_S, self._save_cost_s / SAVE_MAX_SHARE)
        if time.monotonic() - self._saved_at >= interval:
            return self.save()
        return None

    def save(self) -> Path:
        """Write the run file now (atomically): the history so far and the trainer's state."""
        self.flush()
        self.data.config = self.trainer.config  # live settings may have changed
        started = time.monotonic()
        path = save_run(self.path, self.data, self.trainer.state())
        self._saved_at = time.monotonic()
        self._save_cost_s = self._saved_at - started
        return path
