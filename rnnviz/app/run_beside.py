"""Run both: a second run trained at the same time as the current one, in its own process.

An instructor starts "exploding" and "exploding-clipped" together and watches them part: the
current run restarts from step 0 and the chosen run starts from step 0 beside it, in a second
training process (each has a core of its own on a two-core laptop; the window only draws).
The run beside is drawn like any other compared run, live; Start/Pause, Step and the speed
apply to both. One run beside at a time: a third process would compete with the window.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from rnnviz.app.qt import QtCore
from rnnviz.app.runs import RunEntry, RunList
from rnnviz.app.session import TrainingSession
from rnnviz.training import TrainConfig

log = logging.getLogger(__name__)

REDRAW_HZ = 5.0  # the run beside's curves: often enough to watch them move
BATCH_HZ = 10.0  # batches a second from the run beside's training process


class RunBeside(QtCore.QObject):
    """Owns the second training session and keeps it in step with the window's controls."""

    def __init__(self, main: TrainingSession, runs: RunList, on_data: Callable[[], None],
                 on_problem: Callable[[str, str], None], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.main = main
        self.runs = runs
        self.session: TrainingSession | None = None
        self.entry: RunEntry | None = None
        self._on_data = on_data  # the panels draw the run beside: redraw them
        self._on_problem = on_problem  # (sentence, kind) for the banner
        self._drawn_at = -math.inf
        runs.changed.connect(self._runs_changed)

    @property
    def active(self) -> bool:
        return self.session is not None

    def start(self, entry: RunEntry, pace: float | None) -> None:
        """Restart the current run from step 0 and ``entry``'s settings beside it (``entry`` is
        another run of the list: the current one is already training)."""
        if entry is self.runs.current:
            return
        self.stop()
        config: TrainConfig = entry.data.config
        name = entry.name
        self.entry = entry
        self.runs.replace_current_next = True  # the restarted run takes its own place in the list
        self.main.reset(self.main.config, start=True, on_done=self._main_started, description="Run both")
        # Fewer, larger batches than the current run's (every step's scalars still arrive): the
        # window files and draws them far less often, so two runs cost it little more than one.
        session = TrainingSession(config, parent=self, start=True, max_rate_hz=BATCH_HZ,
                                  on_started=lambda ok, payload: self._started(ok, payload, name))
        session.set_pace(pace)
        session.run_replaced.connect(self._adopt)
        session.data_arrived.connect(self._data_arrived)
        session.notice.connect(lambda message, kind: self._on_problem(f"{name}: {message}", kind))
        session.failed.connect(lambda message, _details: self._on_problem(f"{name}: {message}", "error"))
        session.diverged.connect(
            lambda step, back: self._on_problem(diverged_beside(name, step, back), "warning"))
        self.session = session

    def stop(self) -> None:
        """End the run beside (its curves stay in the list as they are)."""
        session, self.session = self.session, None
        if self.entry is not None:
            self.entry.live = False
        self.entry = None
        if session is not None:
            session.shutdown()
            session.deleteLater()

    # ------------------------------------------------- following the controls
    def follow_running(self) -> None:
        """Start or Pause was pressed: the run beside does the same."""
        if self.session is not None:
            self.session.start() if self.main.running else self.session.pause()

    def step_once(self) -> None:
        if self.session is not None:
            self.session.step_once()

    def set_pace(self, steps_per_second: float | None) -> None:
        if self.session is not None:
            self.session.set_pace(steps_per_second)

    # --------------------------------------------------------------- internals
    def _main_started(self, ok: bool, payload: object) -> None:
        if not ok:
            self.runs.replace_current_next = False
            self._on_problem(f"The current run could not restart for Run both: {payload}", "warning")

    def _started(self, ok: bool, payload: object, name: str) -> None:
        if not ok:
            self._on_problem(f"{name} could not start beside the current run: {payload}", "warning")
            self.stop()

    def _adopt(self) -> None:
        """The run beside started: its entry now shows its live data."""
        if self.session is not None and self.entry is not None:
            self.runs.take_over(self.entry, self.session.data)

    def _data_arrived(self) -> None:
        """Redraw the compared curves at most REDRAW_HZ times a second: the run beside is drawn
        dashed behind the current one, and redrawing every panel for its batches too would
        halve the window's frame rate."""
        now = time.monotonic()
        if self.entry is not None and self.entry.visible and now - self._drawn_at >= 1.0 / REDRAW_HZ:
            self._drawn_at = now
            self._on_data()

    def _runs_changed(self) -> None:
        if self.entry is not None and self.entry not in self.runs.entries:
            self.stop()  # removed from the list: nothing would show it


def diverged_beside(name: str, step: int, back: int | None) -> str:
    """The banner's sentence when the run beside blows up (it pauses itself, as the current
    run does; Start continues both)."""
    where = f"went back to step {back:,}" if back is not None else "kept its last finite state"
    return (f"{name}, training beside: the loss became non-finite at step {step:,}; that run {where} "
            "and is paused (Start continues it with the current run).")
