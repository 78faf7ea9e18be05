"""The History bar: go back to any snapshot of the current run, return to Live, fork from there.

Moving back shows the snapshot's arrays (hidden state, ‖∂L/∂h_t‖, the spectrum, the task
output and the sampler's model) while the curves stay whole with a line where you are, and
training carries on. "Fork from here" starts a new run from the snapshot's exact state with
the settings in the form that a resumed run may change (clipping, learning rate, schedule):
"turn clipping on at the step before the loss exploded". The original stays in the Runs list.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from rnnviz.app.banner import as_sentence
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets
from rnnviz.app.run_data import RunData
from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import Vocabulary
from rnnviz.training import RESUMABLE_FIELDS, SETTINGS, ConfigError, TrainConfig
from rnnviz.training.config import config_differences
from rnnviz.training.timeline import TimelineSnapshot
from rnnviz.training.trainer import model_from_state

REFRESH_MS = 250


def fork_changes(snapshot_config: TrainConfig, form: TrainConfig) -> tuple[dict[str, Any], list[str]]:
    """The form's settings a fork can take (those a resumed run may change), and the names of
    those it cannot (they shape the model or the data: they need Reset)."""
    changes, refused = {}, []
    for name in SETTINGS:
        before, after = getattr(snapshot_config, name), getattr(form, name)
        if before == after:
            continue
        if name in RESUMABLE_FIELDS:
            changes[name] = after
        else:
            refused.append(SETTINGS[name].label.lower())
    return changes, refused


class TimelineBar(QtWidgets.QToolBar):
    """A slider over the current run's snapshots, with Live at its right end."""

    def __init__(self, current_data: Callable[[], RunData], on_view: Callable[[], None],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("History", parent)
        self.setObjectName("history-bar")
        self.setMovable(False)
        self._data = current_data
        self._on_view = on_view  # the window: redraw now
        self.on_fork: Callable[[RunData, int], None] | None = None
        self.addWidget(QtWidgets.QLabel(" History "))
        self.slider = QtWidgets.QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(80)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys below work everywhere
        self.slider.setToolTip("Go back to a snapshot of this run (the array panels, task output and "
                               "sampler show it; training goes on). Keys: , back · . forward · L live")
        self.slider.valueChanged.connect(self._moved)
        self.addWidget(self.slider)
        self.where = QtWidgets.QLabel()
        self.addWidget(self.where)
        self.live_action = QtGui.QAction("Live", self)
        self.live_action.setShortcut(QtGui.QKeySequence("L"))
        self.live_action.setToolTip("Back to the present (L)")
        self.live_action.triggered.connect(lambda: self.view(None))
        self.addAction(self.live_action)
        self.fork_action = QtGui.QAction("Fork from here", self)
        self.fork_action.setToolTip("A new run from this snapshot's exact state, with the clipping, learning "
                                    "rate and schedule now in the settings; this run stays in the Runs list")
        self.fork_action.triggered.connect(self._fork)
        self.addAction(self.fork_action)
        self.back_action = QtGui.QAction("Back one snapshot", self)
        self.back_action.setShortcut(QtGui.QKeySequence(","))
        self.back_action.triggered.connect(lambda: self.step_by(-1))
        self.forward_action = QtGui.QAction("Forward one snapshot", self)
        self.forward_action.setShortcut(QtGui.QKeySequence("."))
        self.forward_action.triggered.connect(lambda: self.step_by(1))
        self._filling = False
        self._shown: tuple = ()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # ----------------------------------------------------------------- queries
    @property
    def viewed(self) -> TimelineSnapshot | None:
        return self._data().viewed

    def viewed_model(self) -> tuple[RNN, Vocabulary | None, int, int] | None:
        """The sampler's model when a snapshot is viewed: (model, vocab, step, seed)."""
        data = self._data()
        snapshot = data.viewed
        if snapshot is None:
            return None
        model, vocab = model_from_state(snapshot.arrays, snapshot.meta,
                                        f"the snapshot of step {snapshot.step}")
        return model, vocab, snapshot.step, data.config.seed

    # ----------------------------------------------------------------- actions
    def view(self, step: int | None) -> None:
        """Show the snapshot at ``step`` (None: live)."""
        self._data().view(step)
        self.refresh()
        self._on_view()

    def step_by(self, offset: int) -> None:
        steps = self._data().timeline.steps
        if not steps:
            return
        position = self.slider.value() + offset
        position = min(max(position, 0), len(steps))
        self.view(steps[position] if position < len(steps) else None)

    def refresh(self) -> None:
        """Follow the current run: its snapshots grow, thin out, or a new run begins."""
        data = self._data()
        steps = data.timeline.steps
        viewed = data.viewed
        key = (id(data), tuple(steps), viewed.step if viewed else None, data.step)
        if key == self._shown:
            return
        self._shown = key
        self._filling = True
        try:
            self.slider.setRange(0, len(steps))  # the last position is Live
            # A viewed snapshot may have been thinned out of the timeline since: the slider
            # stands at the nearest kept one before it.
            self.slider.setValue(max(bisect.bisect_right(steps, viewed.step) - 1, 0) if viewed is not None
                                 else len(steps))
        finally:
            self._filling = False
        count = f"{len(steps)} snapshot{'s' if len(steps) != 1 else ''}" if steps else "no snapshot yet"
        # Short texts: the bar shares the toolbar's row with Preset and Speed at 1280 pixels.
        self.where.setText(f" step {viewed.step:,}/{data.step:,} " if viewed is not None else " live ")
        self.where.setToolTip(f"{count} kept of this run" + (f"; showing step {viewed.step:,}, training is "
                                                           f"at step {data.step:,}" if viewed else ""))
        self.slider.setEnabled(bool(steps))
        self.live_action.setEnabled(viewed is not None)
        self.fork_action.setEnabled(viewed is not None)
        self.back_action.setEnabled(bool(steps))
        self.forward_action.setEnabled(viewed is not None)

    def _moved(self, position: int) -> None:
        if self._filling:
            return
        steps = self._data().timeline.steps
        self.view(steps[position] if position < len(steps) else None)

    def _fork(self) -> None:
        data = self._data()
        if data.viewed is not None and self.on_fork is not None:
            self.on_fork(data, data.viewed.step)


def fork_request(form: Callable[[], TrainConfig], data: RunData, step: int) -> tuple[dict[str, Any], str]:
    """What to fork with, or a sentence saying why not: ({changes}, "") or ({}, problem)."""
    snapshot = data.timeline.get(step)
    if snapshot is None:
        return {}, f"Step {step:,} is no longer kept; choose another snapshot."
    try:
        wanted = form()
    except ConfigError as exc:
        return {}, as_sentence(str(exc)) + " Nothing was forked."
    changes, refused = fork_changes(TrainConfig.from_dict(snapshot.meta["config"]), wanted)
    if refused:
        return {}, (f"A fork keeps its run's model and data, so {', '.join(refused)} cannot change; "
                    "Reset starts a run with them. Nothing was forked.")
    return changes, ""


def install_history(window: Any) -> TimelineBar:
    """The History bar under the training bar of ``window`` (a MainWindow), with forking wired
    to its session, Runs list and settings form."""
    bar = TimelineBar(lambda: window.session.data, window._wake_redraw, parent=window)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)  # beside the training bar: no extra row
    window.addActions([bar.back_action, bar.forward_action])

    def fork(data: RunData, step: int) -> None:
        changes, problem = fork_request(window.controls.form_config, data, step)
        if problem:
            window.show_problem(problem, kind="warning")
            return
        snapshot = data.timeline.get(step)
        if window.runs.current is not None and snapshot is not None:
            # Measured from the settings in force at that step: live edits made since (to set up
            # the fork) also reached the original, so its settings now would hide them.
            window.runs.fork_next(window.runs.current, step, TrainConfig.from_dict(snapshot.meta["config"]))

        def done(ok: bool, payload: object) -> None:
            if not ok:
                window.runs.cancel_fork()
                window.show_problem(f"Forking from step {step:,} failed: {as_sentence(str(payload))} "
                                    "The current run carries on.", kind="warning")
                return
            changed = config_differences(TrainConfig.from_dict(snapshot.meta["config"]),
                                         window.session.config) if snapshot is not None else []
            what = f" with {', '.join(changed)}" if changed else " with the same settings"
            window.show_problem(f"Forked from step {step:,}{what}: the fork is paused there. Press Start "
                                "(Space) to train it; the original stays in the Runs list.", kind="info")

        window.session.fork(data, step, changes, on_done=done)

    bar.on_fork = fork
    return bar
