"""One training session: the training process, and the RunData the panels read.

The session lives on the GUI thread and never waits for the training process. Messages are
read when the pipe has data (a socket notifier; a short timer where there is none), batches
are filed into RunData (cheap NumPy appends) and acknowledged, and requests (reset, load,
save, a model copy for sampling) return at once: their answer arrives later through the
callback given with them. While one is pending the old run carries on, and a request that
fails changes nothing.

Every run is named by a number the session chooses; the training process announces each run
it starts and tags its batches with it, and the session follows what is announced (see
``training_process``), so no timeout, lost, duplicated or reordered message can leave the
two sides out of step. If the process dies (or a pending request is cancelled), a new one
starts from the run's latest autosave and the window keeps its curves up to that step.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnviz.app.pipe_reader import MessageReader
from rnnviz.app.qt import QtCore, Signal
from rnnviz.app.run_data import RunData, placeholder_task_info, task_info
from rnnviz.app.training_process import ModelSnapshot, ReportBatch, autosave_path, training_process_main
from rnnviz.core import Vocabulary, make_model
from rnnviz.core.checkpoint import save_checkpoint
from rnnviz.training import LIVE_FIELDS, ConfigError, TrainConfig

log = logging.getLogger(__name__)

FALLBACK_POLL_MS = 5  # only where the pipe cannot be watched by a socket notifier
DRAIN_LIMIT = 200  # messages handled per pass, so input events are never starved
WATCH_MS = 250  # how often the process's health is checked
STOP_TIMEOUT_S = 1.0
STALL_AFTER_S = 2.0  # no batch for this long while training: say the process is not answering
MAX_RESTARTS = 3  # in RESTART_WINDOW_S; then the session gives up and says so
RESTART_WINDOW_S = 60.0
Done = Callable[[bool, Any], None]  # (ok, payload or one-sentence error)


class SessionError(RuntimeError):
    """A request the training process refused; the message is one sentence for the user."""


@dataclass
class PendingRequest:
    id: int
    kind: str
    description: str  # for the status bar: "Opening big.txt"
    on_done: Done | None
    started: float = field(default_factory=time.monotonic)


def _ignore(ok: bool, payload: Any) -> None:
    """The default callback: failures are logged (the caller chose not to show them)."""
    if not ok:
        log.warning("request failed: %s", payload)


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"it was ended by {name}"
    return f"it exited with code {exitcode}"


def describe_change(before: TrainConfig, after: TrainConfig) -> str:
    """A short label for a live change: "lr 0.003 → 0.01", "clip none → norm 5"."""
    def clip(config: TrainConfig) -> str:
        return "none" if config.clip == "none" else f"{config.clip} {config.clip_value:g}"

    parts = []
    if before.lr != after.lr:
        parts.append(f"lr {before.lr:g} → {after.lr:g}")
    if clip(before) != clip(after):
        parts.append(f"clip {clip(before)} → {clip(after)}")
    if before.lr_schedule != after.lr_schedule:
        parts.append(f"schedule {before.lr_schedule} → {after.lr_schedule}")
    return ", ".join(parts)


class TrainingSession(QtCore.QObject):
    """Start, pause, step, reset, save and load: everything the app asks of training."""

    failed = Signal(str, str)  # message, traceback
    diverged = Signal(int, object)  # the step whose loss was non-finite, the step gone back to (or None)
    running_changed = Signal(bool)
    run_replaced = Signal()  # a new run (reset or checkpoint): panels start over
    data_arrived = Signal()  # a batch was filed
    pending_changed = Signal()  # a request started or finished
    notice = Signal(str, str)  # a sentence for the user and its kind ("info", "warning", "error")

    def __init__(self, config: TrainConfig, parent: QtCore.QObject | None = None,
                 max_rate_hz: float = 60.0, autosave_dir: str | Path | None = None,
                 on_started: Done | None = None, start: bool = False) -> None:
        """Start the training process and ask it for a run of ``config`` (training at once if
        ``start``). The window does not wait: ``on_started(ok, details_or_message)`` says how
        that went."""
        super().__init__(parent)
        self._max_rate_hz = max_rate_hz
        self._own_autosave_dir = autosave_dir is None
        self.autosave_dir = Path(autosave_dir) if autosave_dir is not None else \
            Path(tempfile.mkdtemp(prefix="rnnviz-autosave-"))
        self._running = False
        self._closed = False
        self._request_ids = itertools.count(1)
        self._run_ids = itertools.count(1)
        self._pending: dict[int, PendingRequest] = {}
        self._asked_about: set[int] = set()
        self._restarts: deque[float] = deque(maxlen=MAX_RESTARTS)
        self._pace: float | None = None
        self.run_id = 0  # the run the panels show; 0 until the first is announced
        self.config = config
        self.step_count = 0
        self.autosaved_step: int | None = None
        self.load_notes: list[str] = []  # what a loaded checkpoint could not restore
        # Why the run on screen cannot train (a run file whose weights could not be loaded);
        # None when the training process holds it.
        self.unavailable: str | None = None
        self._oldest_adoptable = 0  # runs before one shown from a file are not adopted after it
        self._run_files: dict[int, str] = {}  # run -> the run file it came from (to restart from)
        self._rewound_to: int | None = None  # after a divergence: where training went back to
        self._inherit: tuple[int, RunData, int] | None = None  # a fork's run, original and step
        self.last_batch_at = time.monotonic()
        self.process_number = 0
        self.data = RunData(placeholder_task_info(config), config)
        self.watch_timer = QtCore.QTimer(self)
        self.watch_timer.setInterval(WATCH_MS)
        self.watch_timer.timeout.connect(self._check_process)
        self._spawn()
        self.reset(config, start=start, on_done=on_started, description="Starting")
        self.watch_timer.start()

    # ----------------------------------------------------------------- process
    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
        self._conn, child = context.Pipe()
        self.process = context.Process(target=training_process_main,
                                       args=(child, self._max_rate_hz, str(self.autosave_dir)),
                                       name="rnnviz-training", daemon=True)
        self.process.start()
        child.close()
        self.process_number += 1
        log.info("training process %d started (pid %s)", self.process_number, self.process.pid)
        self._last_seq = 0
        self.last_batch_at = time.monotonic()
        self._notifier: QtCore.QSocketNotifier | None = None
        self._poll_timer: QtCore.QTimer | None = None
        self._reader: MessageReader | None = None
        if os.name == "posix":
            self._reader = MessageReader(self._conn)
            readable = QtCore.QSocketNotifier.Type.Read
            self._notifier = QtCore.QSocketNotifier(self._reader.fileno(), readable, self)
            self._notifier.activated.connect(self._drain)
        else:  # pragma: no cover - Windows pipes are not sockets
            self._poll_timer = QtCore.QTimer(self)
            self._poll_timer.setInterval(FALLBACK_POLL_MS)
            self._poll_timer.timeout.connect(self._drain)
            self._poll_timer.start()

    def _retire_process(self, timeout: float) -> None:
        """Stop watching the current process's pipe and make sure the process is gone."""
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        with contextlib.suppress(OSError, ValueError):  # the process may be gone already
            self._conn.send(("stop",))
        # Keep reading while it stops: a batch it is sending could otherwise block on a full pipe.
        deadline = time.monotonic() + timeout
        while self.process.is_alive() and time.monotonic() < deadline:
            if self._reader is not None:
                self._reader.read()
                if self._reader.eof:
                    break
                time.sleep(0.01)
                continue
            try:  # pragma: no cover - Windows
                if self._conn.poll(0.02):
                    self._conn.recv()
            except (EOFError, OSError):
                break
        self.process.join(max(0.0, deadline - time.monotonic()))
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(0.5)
        if self.process.is_alive():  # pragma: no cover - a process that ignores SIGTERM
            self.process.kill()
            self.process.join(0.5)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._conn.close()

    # ------------------------------------------------------------------ control
    @property
    def running(self) -> bool:
        return self._running

    @property
    def alive(self) -> bool:
        return not self._closed and self.process.is_alive()

    @property
    def pending(self) -> list[PendingRequest]:
        """Requests sent and not answered yet, oldest first."""
        return list(self._pending.values())

    @property
    def pace(self) -> float | None:
        return self._pace

    @property
    def waiting_for_process(self) -> bool:
        """Training, but no batch for a while: the process is busy, stopped or hung."""
        if not self._running or self._closed:
            return False
        expected = STALL_AFTER_S if self._pace is None else max(STALL_AFTER_S, 3.0 / self._pace)
        return time.monotonic() - self.last_batch_at > expected

    def _refuse_unavailable(self) -> bool:
        if self.unavailable is not None:
            self.notice.emit(f"This run cannot train: {self.unavailable}. Reset or choose a preset to "
                             "train anew.", "warning")
            return True
        return False

    def start(self) -> None:
        if self._refuse_unavailable():
            return
        if not self._closed:
            if not self._running:
                self.last_batch_at = time.monotonic()
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
        if self._refuse_unavailable():
            return
        self._send("step")

    def set_pace(self, steps_per_second: float | None) -> None:
        """Train at most this many steps a second (None: as fast as possible)."""
        self._pace = steps_per_second
        self._send("pace", steps_per_second)

    def update_live(self, **changes: Any) -> None:
        """Learning rate, clipping, intervals: applied before the next step (ConfigError if bad)."""
        not_live = set(changes) - LIVE_FIELDS
        if not_live:
            raise ConfigError(f"{', '.join(sorted(not_live))} can only change on reset")
        before = self.config
        self.config = self.config.replace(**changes)  # validates; raises ConfigError
        self.data.config = self.config  # the run's settings as they are now (its file, its Runs row)
        self._send("live", changes)
        text = describe_change(before, self.config)
        if text:
            # After a divergence training goes on from the step it went back to, not the last shown.
            self.data.add_mark(self._rewound_to if self._rewound_to is not None else self.data.step, text)

    # ----------------------------------------------------------------- requests
    def reset(self, config: TrainConfig, start: bool = False, on_done: Done | None = None,
              description: str = "Resetting") -> int:
        """A fresh run for ``config`` (training at once if ``start``); until the training
        process announces it, the current run carries on, and if it fails, it stays."""
        run = next(self._run_ids)
        return self._request("reset", {"run": run, "config": config.to_dict(), "start": start},
                             description, on_done)

    def load_checkpoint(self, path: str | Path, start: bool = False, on_done: Done | None = None) -> int:
        """Continue from a checkpoint; a failure keeps the current run."""
        run = next(self._run_ids)
        return self._request("load", {"run": run, "path": str(path), "start": start},
                             f"Loading {Path(path).name}", on_done)

    def fork(self, original: RunData, step: int, changes: dict[str, Any],
             on_done: Done | None = None) -> int:
        """A new run from ``original``'s snapshot at ``step`` (weights, optimizer, random state),
        with ``changes`` to the settings a resumed run may change; paused, its curves continue
        the original's. With no changes its steps are the original's exactly."""
        snapshot = original.timeline.get(step)
        if snapshot is None:
            raise ValueError(f"there is no snapshot at step {step}")
        run = next(self._run_ids)
        path = save_checkpoint(self.autosave_dir / f"fork-{run}.npz", snapshot.arrays, snapshot.meta)
        self._inherit = (run, original, step)
        return self._request("load", {"run": run, "path": str(path), "start": False, "fork": True,
                                      "changes": changes}, f"Forking from step {step:,}", on_done)

    def show_run(self, data: RunData, path: str | Path, on_done: Done | None = None) -> int:
        """Show a saved run (a run file's history, ``data``) at once, paused, under a new run
        number, and have the training process load the file's weights under that number, so
        Start continues it. ``on_done(ok, details_or_message)``; if the weights cannot be loaded
        (its corpus is not on this machine), the run stays on screen and ``unavailable`` says why."""
        run = next(self._run_ids)
        self.pause()
        self.run_id = run
        self._oldest_adoptable = run
        self._run_files[run] = str(path)
        self.config = data.config
        self.data = data
        self.step_count = data.step
        self.autosaved_step = None
        self.unavailable = None
        self.load_notes = []
        self._last_seq = 0
        self._rewound_to = None
        data.add_mark(data.step, f"opened {Path(path).name}")
        self.run_replaced.emit()

        def done(ok: bool, payload: Any) -> None:
            if run == self.run_id:
                if ok:
                    self.load_notes = [str(note) for note in payload.get("notes", [])]
                else:
                    self.unavailable = f"its weights could not be loaded ({str(payload).rstrip('.')})"
                    self.pause()
            (on_done or _ignore)(ok, payload)
        return self._request("load", {"run": run, "path": str(path), "start": False},
                             f"Opening {Path(path).name}", done)

    def save_checkpoint(self, path: str | Path, on_done: Done | None = None) -> int:
        """``on_done(True, path)`` once written."""
        run = self.run_id

        def done(ok: bool, payload: Any) -> None:
            if ok and (self.unavailable is not None or run != self.run_id):
                ok, payload = False, self.unavailable or "the run changed while it was being saved"
            (on_done or _ignore)(ok, Path(payload) if ok else payload)
        return self._request("save", str(path), f"Saving {Path(path).name}", done)

    def model_for_sampling(self, on_done: Callable[[bool, Any], None]) -> int:
        """``on_done(True, (model, vocab, step, seed))``: a private copy to sample from."""
        def done(ok: bool, payload: Any) -> None:
            if ok and self.unavailable is not None:
                ok, payload = False, f"this run has no model to sample: {self.unavailable}"
            if not ok:
                on_done(False, payload)
                return
            snap: ModelSnapshot = payload
            model = make_model(snap.cell, *snap.sizes, activation=snap.activation, dtype=snap.dtype, seed=0)
            model.flat_params[...] = snap.flat_params
            vocab = Vocabulary(snap.vocab_tokens, kind=snap.vocab_kind or "character") \
                if snap.vocab_tokens is not None else None
            on_done(True, (model, vocab, snap.step, snap.seed))
        return self._request("model", None, "Copying the model", done)

    def _request(self, kind: str, argument: Any, description: str, on_done: Done | None) -> int:
        request = next(self._request_ids)
        if self._closed:
            (on_done or _ignore)(False, "the training process has stopped")
            return request
        self._pending[request] = PendingRequest(request, kind, description, on_done)
        self._send("request", request, kind, argument)
        self.pending_changed.emit()
        return request

    def cancel_pending(self) -> None:
        """Give up on every pending request: the training process is restarted from the
        current run's autosave (the only way to interrupt one that is busy or hung)."""
        if self._pending and not self._closed:
            self._restart("The training process was restarted to cancel a request",
                          failure="cancelled by the user")

    def _finish(self, request: int, ok: bool, payload: Any) -> None:
        pending = self._pending.pop(request, None)
        if pending is None:
            return  # answered after it was cancelled
        self.pending_changed.emit()
        (pending.on_done or _ignore)(ok, payload)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop the training process and wait for it (about a second at most)."""
        if self._closed:
            return
        self._closed = True
        self.watch_timer.stop()
        self._retire_process(STOP_TIMEOUT_S)
        for request in list(self._pending):
            self._finish(request, False, "rnnviz is closing")
        self._set_running(False)
        if self._own_autosave_dir:
            shutil.rmtree(self.autosave_dir, ignore_errors=True)

    # ------------------------------------------------------------ the pipe
    def _send(self, *message: Any) -> None:
        if self._closed:
            return
        try:
            self._conn.send(message)
        except (OSError, ValueError) as exc:
            log.warning("could not send %s to the training process: %r", message[0], exc)
            # The watch timer notices the dead process and restarts it.

    def _drain(self, *_: Any) -> None:
        """Take the whole messages the training process has sent; never wait for more."""
        if self._closed:
            return
        if self._reader is None:  # pragma: no cover - Windows: poll, then a whole message
            try:
                for _attempt in range(DRAIN_LIMIT):
                    if self._closed or not self._conn.poll():
                        break
                    self._handle(self._conn.recv())
            except (EOFError, OSError) as exc:
                self._process_lost(exc)
            return
        reader = self._reader
        messages = reader.read(limit=DRAIN_LIMIT)
        for message in messages:
            if self._closed or reader is not self._reader:
                return  # closed or restarted while handling an earlier message
            self._handle(message)
        if reader.eof and reader is self._reader and not self._closed:
            self._process_lost(EOFError("the pipe was closed"))
        elif reader is self._reader and len(messages) == DRAIN_LIMIT:
            QtCore.QTimer.singleShot(0, self._drain)  # more whole messages may be buffered

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "batch":
            self._take_batch(message[1])
        elif kind == "run":
            self._adopt(message[1], message[2])
        elif kind == "reply":
            self._finish(message[1], message[2], message[3])
        elif kind == "failed":
            if message[1] == self.run_id:
                self._set_running(False)
                self.failed.emit(message[2], message[3])
        elif kind == "rewound":
            if message[1] == self.run_id:
                self._set_running(False)
                self._rewound_to = message[3]
                self.diverged.emit(int(message[2]), message[3])
        elif kind == "autosaved":
            if message[1] == self.run_id:
                self.autosaved_step = int(message[2])
        elif kind == "autosave_failed":
            log.warning("autosave failed: %s", message[2])
            self.notice.emit(f"Could not write the autosave ({message[2]}); if the training process "
                             "stops, recent steps may be lost.", "warning")

    def _check_process(self) -> None:
        """Timer: a process that died without closing the pipe is noticed here."""
        if not self._closed and not self.process.is_alive():
            self._drain()
            if not self._closed and not self.process.is_alive():
                self._process_lost(None)

    def _process_lost(self, exc: BaseException | None) -> None:
        if self._closed:
            return
        self.process.join(0.2)
        reason = describe_exit(self.process.exitcode if not self.process.is_alive() else None)
        log.error("the training process stopped unexpectedly: %s (%r)", reason, exc)
        self._restart(f"The training process stopped unexpectedly ({reason})",
                      failure="the training process stopped before answering")

    def _restart(self, why: str, failure: str) -> None:
        """A new training process that continues the current run from its autosave."""
        was_running = self._running
        self._retire_process(0.2)
        for request in list(self._pending):
            self._finish(request, False, failure)
        now = time.monotonic()
        if len(self._restarts) == MAX_RESTARTS and now - self._restarts[0] < RESTART_WINDOW_S:
            self._closed = True
            self.watch_timer.stop()
            self._set_running(False)
            self.notice.emit(f"{why}, and it has stopped {MAX_RESTARTS} times within a minute, so rnnviz "
                             "gave up restarting it. Your settings are kept; save them and restart "
                             "rnnviz to train again.", "error")
            return
        self._restarts.append(now)
        self._spawn()
        path = autosave_path(self.autosave_dir, self.run_id)
        if not path.is_file() and self.run_id in self._run_files:
            path = Path(self._run_files[self.run_id])  # opened from a run file, not autosaved yet
        from_autosave = path.is_file()  # written atomically: if it is there, it is whole
        if from_autosave:
            argument: dict[str, Any] = {"run": self.run_id, "path": str(path), "start": was_running}
            kind = "load"
        else:
            argument = {"run": self.run_id, "config": self.config.to_dict(), "start": was_running}
            kind = "reset"

        def recovered(ok: bool, payload: Any) -> None:
            if not ok:
                self._set_running(False)
                self.notice.emit(f"{why}; restarting it failed: {payload}.", "error")
                return
            step = int(payload["step"])
            source = "the last autosave" if path.parent == self.autosave_dir else path.name
            where = (f"from step {step:,}, {source}" if from_autosave
                     else "from step 0 (there was no autosave yet)")
            self.notice.emit(f"{why}; a new one continues the run {where}.", "warning")
            self.data.add_mark(step, "training process restarted")

        self._pending_restart(kind, argument, recovered)

    def _pending_restart(self, kind: str, argument: dict[str, Any], on_done: Done) -> None:
        self._request(kind, argument, "Restarting the training process", on_done)
        live = {name: getattr(self.config, name) for name in LIVE_FIELDS}
        self._send("live", live)  # the form's live settings may be newer than the autosave's
        if self._pace is not None:
            self._send("pace", self._pace)

    # ----------------------------------------------------------- bookkeeping
    def _adopt(self, run: int, details: dict[str, Any]) -> None:
        """The training process started ``run``: follow it. The same run announced again (a
        restarted process) keeps the curves up to the step it continues from."""
        if run < self._oldest_adoptable:
            return  # requested before a run file was shown: that run is over already
        config = TrainConfig.from_dict(details["config"])
        step = int(details["step"])
        self.step_count = step
        self.autosaved_step = None
        running = bool(details.get("running", False))
        if run == self.run_id:
            self.config = config.replace(**{name: getattr(self.config, name) for name in LIVE_FIELDS})
            self.data.truncate_after(step)
            self._last_seq = 0
            self._set_running(running)
            self.data_arrived.emit()
            return
        self.run_id = run
        self.config = config
        self._last_seq = 0
        self._rewound_to = None
        self.unavailable = None
        self.data = RunData(task_info(details), config)
        self.data.start_step = step
        if self._inherit is not None and self._inherit[0] == run:
            _, original, fork_step = self._inherit
            self.data.inherit(original, fork_step)
            self.data.add_mark(fork_step, "fork")
        self._inherit = None
        if details.get("loaded_from"):
            self.data.add_mark(step, f"loaded {Path(details['loaded_from']).name}")
        self.data.running = running
        self.last_batch_at = time.monotonic()
        self._set_running(running)
        self.load_notes = [str(note) for note in details.get("notes", [])]
        self.run_replaced.emit()

    def _set_running(self, running: bool) -> None:
        if self.data.running != running:
            self.data.running = running
            self.data.version += 1  # panels that thin out their redraws while running show all now
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)

    def _take_batch(self, batch: ReportBatch) -> None:
        try:
            if batch.run != self.run_id:
                if batch.run > self.run_id and batch.run not in self._asked_about:
                    self._asked_about.add(batch.run)  # its announcement was lost: ask again
                    self._request("describe", None, "Catching up with the training process", None)
                return
            if batch.seq <= self._last_seq:
                return  # a duplicate, or a batch overtaken by a newer one
            self._last_seq = batch.seq
            self.last_batch_at = time.monotonic()
            if self._rewound_to is not None:
                # The first steps after going back: the curves continue from that step (the
                # blow-up stayed on screen while paused; its marker stays).
                self.data.truncate_after(self._rewound_to)
                self._rewound_to = None
            self.data.add_batch(batch)
            self.data.running = self._running  # a batch sent before a pause arrived still says running
            self.step_count = batch.latest.step
            if batch.scalars["diverged"].any():  # the training process paused itself
                self._set_running(False)
            self.data_arrived.emit()
        finally:
            self._send("ack")
