"""One training session: the training process, and the RunData the panels read.

The session lives on the GUI thread. A QTimer drains the pipe from the training process:
batches are filed into RunData (cheap NumPy appends) and acknowledged; drawing happens on
the window's own timer. Requests that must succeed or fail as a whole (reset, load, save,
model copy) wait for their reply, so a bad corpus or a corrupt checkpoint raises here and
the current run carries on untouched.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from pathlib import Path
from typing import Any

from rnnviz.app.qt import QtCore, Signal
from rnnviz.app.run_data import RunData, task_info
from rnnviz.app.training_process import ModelSnapshot, ReportBatch, training_process_main
from rnnviz.core import RNN, Vocabulary
from rnnviz.training import LIVE_FIELDS, ConfigError, TrainConfig

POLL_MS = 5
REQUEST_TIMEOUT_S = 120.0  # a 100 MB corpus loads in about a second; this is only a backstop
STOP_TIMEOUT_S = 2.0


class SessionError(RuntimeError):
    """A request the training process refused; the message is one sentence for the user."""


class TrainingSession(QtCore.QObject):
    """Start, pause, step, reset, save and load: everything the app asks of training."""

    failed = Signal(str, str)  # message, traceback
    diverged = Signal(int)  # the step at which the loss became non-finite
    running_changed = Signal(bool)
    run_replaced = Signal()  # a new trainer (reset or checkpoint): panels start over

    def __init__(self, config: TrainConfig, parent: QtCore.QObject | None = None,
                 max_rate_hz: float = 60.0) -> None:
        """Start the training process with ``config``; raises SessionError if it cannot start
        (a missing corpus, say) after stopping the process again."""
        super().__init__(parent)
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
        self._conn, child = context.Pipe()
        self.process = context.Process(target=training_process_main, args=(child, max_rate_hz),
                                       name="rnnviz-training", daemon=True)
        self.process.start()
        child.close()
        self._running = False
        self._closed = False
        self._request_id = 0
        self._replies: dict[int, tuple[bool, Any]] = {}
        self._generation = 0
        self.config = config
        self.step_count = 0
        self.data: RunData | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._drain)
        try:
            self.reset(config)
        except Exception:
            self.shutdown()
            raise
        self.timer.start()

    # ------------------------------------------------------------------ control
    @property
    def running(self) -> bool:
        return self._running

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def start(self) -> None:
        if not self._closed:
            self._send("start")
            self._set_running(True)

    def pause(self) -> None:
        if not self._closed:
            self._send("pause")
        self._set_running(False)

    def toggle(self) -> None:
        self.pause() if self._running else self.start()

    def step_once(self) -> None:
        """One batch, then stay paused."""
        self.pause()
        self._send("step")

    def watch_sequence(self, index: int) -> None:
        self._send("watch", int(index))

    def update_live(self, **changes: Any) -> None:
        """Learning rate, clipping, intervals: applied before the next step (ConfigError if bad)."""
        not_live = set(changes) - LIVE_FIELDS
        if not_live:
            raise ConfigError(f"{', '.join(sorted(not_live))} can only change on reset")
        self.config = self.config.replace(**changes)  # validates; raises ConfigError
        self._send("live", changes)

    def reset(self, config: TrainConfig) -> None:
        """A fresh run for ``config``; raises SessionError (bad corpus...) and keeps this run."""
        self._new_run(self._request("reset", config.to_dict()))

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue from a checkpoint; raises SessionError and keeps this run."""
        self._new_run(self._request("load", str(path)))

    def save_checkpoint(self, path: str | Path) -> Path:
        return Path(self._request("save", str(path)))

    def model_for_sampling(self) -> tuple[RNN, Vocabulary | None, int, int]:
        """A private copy of the model, its vocabulary, its step and the run's seed."""
        snap: ModelSnapshot = self._request("model")
        model = RNN(*snap.sizes, activation=snap.activation, dtype=snap.dtype, seed=0)
        model.flat_params[...] = snap.flat_params
        vocab = Vocabulary(snap.vocab_tokens, kind=snap.vocab_kind or "character") \
            if snap.vocab_tokens is not None else None
        return model, vocab, snap.step, snap.seed

    def shutdown(self) -> None:
        """Stop the training process and wait for it (at most a couple of seconds)."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        with contextlib.suppress(OSError, ValueError):  # the process may be gone already
            self._conn.send(("stop",))
        # Keep reading while it stops: a batch it is sending could otherwise block on a full pipe.
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.process.is_alive() and time.monotonic() < deadline:
            try:
                if self._conn.poll(0.02):
                    self._conn.recv()
            except (EOFError, OSError):
                break
        self.process.join(STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_TIMEOUT_S)
        self._conn.close()
        self._set_running(False)

    # ------------------------------------------------------------ the pipe
    def _send(self, *message: Any) -> None:
        if self._closed:
            return
        try:
            self._conn.send(message)
        except (OSError, ValueError) as exc:
            self._process_lost(exc)

    def _request(self, kind: str, argument: Any = None) -> Any:
        """Send a request and wait for its reply, filing any batches that arrive meanwhile."""
        if self._closed or not self.process.is_alive():
            raise SessionError("the training process is not running; restart rnnviz")
        self._request_id += 1
        request = self._request_id
        self._send(kind, request, argument)
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        while request not in self._replies:
            if time.monotonic() > deadline or not self.process.is_alive():
                raise SessionError(f"the training process did not answer the {kind} request")
            try:
                if self._conn.poll(0.05):
                    self._handle(self._conn.recv())
            except (EOFError, OSError) as exc:
                self._process_lost(exc)
                raise SessionError("the training process stopped unexpectedly") from exc
        ok, payload = self._replies.pop(request)
        if not ok:
            raise SessionError(payload)
        return payload

    def _drain(self) -> None:
        """Timer slot: take everything the training process has sent."""
        try:
            while not self._closed and self._conn.poll():
                self._handle(self._conn.recv())
        except (EOFError, OSError) as exc:
            self._process_lost(exc)

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "batch":
            self._take_batch(message[1])
        elif kind == "reply":
            self._replies[message[1]] = (message[2], message[3])
        elif kind == "failed":
            self._set_running(False)
            self.failed.emit(message[1], message[2])

    def _process_lost(self, exc: BaseException) -> None:
        if not self._closed:
            self._closed = True
            self.timer.stop()
            self._set_running(False)
            self.failed.emit("the training process stopped unexpectedly; save your settings and "
                             "restart rnnviz", repr(exc))

    # ----------------------------------------------------------- bookkeeping
    def _new_run(self, details: dict[str, Any]) -> None:
        self._generation += 1
        self.config = TrainConfig.from_dict(details["config"])
        self.step_count = int(details["step"])
        self.data = RunData(task_info(details), self.config)
        self.data.start_step = self.step_count
        self.data.running = False
        self._set_running(False)
        self.run_replaced.emit()

    def _set_running(self, running: bool) -> None:
        if self.data is not None and self.data.running != running:
            self.data.running = running
            self.data.version += 1  # panels that thin out their redraws while running show all now
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)

    def _take_batch(self, batch: ReportBatch) -> None:
        try:
            if batch.generation != self._generation:
                return  # from a run that has since been replaced
            assert self.data is not None
            self.data.add_batch(batch)
            self.data.running = self._running  # a batch sent before a pause arrived still says running
            self.step_count = batch.latest.step
            if batch.scalars["diverged"].any():  # the training process paused itself
                self._set_running(False)
                self.diverged.emit(int(batch.latest.step))
        finally:
            self._send("ack")
