"""The main window: docks of panels around a training session, menus, shortcuts, status bar.

It wires user actions to the session and redraws the panels on a timer; it holds no
training logic. Every failure (worker exception, non-finite loss, bad corpus, corrupt
checkpoint) becomes a sentence in a banner and the status bar, training pauses, and the
current model and settings stay as they were.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rnnviz.app.animation import ask_and_export
from rnnviz.app.banner import Banner, as_sentence, first_sentence
from rnnviz.app.confirm import DiscardGuard
from rnnviz.app.controls import FALLBACK_PRESET, ControlsPanel
from rnnviz.app.dock_layout import DockLayout
from rnnviz.app.export import ImageOptions, export_panel_images, write_metrics_csv
from rnnviz.app.export_dialog import ExportDialog
from rnnviz.app.help import Help
from rnnviz.app.panels import ALL_PANELS
from rnnviz.app.panels.base import DEFAULT_FONT_PT, Panel, cache_decorations
from rnnviz.app.panels.connectivity import ConnectivityPanel
from rnnviz.app.panels.loss import LossPanel
from rnnviz.app.panels.sampler import SamplerPanel
from rnnviz.app.pending import PendingIndicator
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets
from rnnviz.app.run_beside import RunBeside
from rnnviz.app.run_files import RunFiles
from rnnviz.app.runs import RunList
from rnnviz.app.runs_dock import RunsDock, connect_runs
from rnnviz.app.session import TrainingSession
from rnnviz.app.speed import SpeedControl, saved_pace, saved_pace_ok
from rnnviz.app.steady_label import SteadyLabel
from rnnviz.app.stored import read_setting
from rnnviz.app.timeline_bar import install_history
from rnnviz.blas import limit_blas_threads
from rnnviz.training import DEFAULT_PRESET, ConfigError, TrainConfig

log = logging.getLogger(__name__)

REDRAW_MS = 13  # each pass draws half the panels: every panel up to ~38 times a second
REDRAW_GROUPS = 2
STATUS_MS = 500
STATE_VERSION = 5  # bump when the dock layout changes, so old saved layouts are ignored
LARGE_FONT_PT = 13


class MainWindow(QtWidgets.QMainWindow):
    """rnnviz's window; ``config`` or ``preset`` choose the first run (tests pass a config), and
    ``run_file`` a saved run to show, paused, in its place."""

    def __init__(self, config: TrainConfig | None = None, preset: str | None = None,
                 settings: QtCore.QSettings | None = None, start: bool = True,
                 restore_last_run: bool = True, run_file: str | Path | None = None) -> None:
        super().__init__()
        limit_blas_threads()  # the worker's small matrix products run fastest on one BLAS thread
        self.setWindowTitle("rnnviz — watch an RNN train")
        self.settings = settings if settings is not None else QtCore.QSettings(
            QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, "rnnviz", "rnnviz")
        self.last_problem = ""
        self.discard_guard = DiscardGuard(self, self.settings)  # asks before R ends a long run
        self._rates: deque[tuple[float, int, int]] = deque(maxlen=16)

        self.controls = ControlsPanel()
        self.starting = True  # until the first run is up
        self._first_data_seen = False
        self.session, preset_name, problem = self._first_session(config, preset, restore_last_run,
                                                                 start and not run_file)
        self.panels: list[Panel] = [cls() for cls in ALL_PANELS]
        self.sampler = SamplerPanel(self._request_model)
        self.panels.append(self.sampler)
        for panel in self.panels:
            if isinstance(panel, ConnectivityPanel):
                panel.model_source = self._request_model  # typed text is scored with a model copy
        for panel in self.panels:
            cache_decorations(panel.widget)
            panel.on_invalidate = self._wake_redraw
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.redraw_timer = QtCore.QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw_next_group)
        self._next_group = 0
        self.frames_drawn = 0
        self._closing_done = False
        self._default_layout_pending = False
        self.status_timer = QtCore.QTimer(self)
        self.status_timer.setInterval(STATUS_MS)
        self.status_timer.timeout.connect(self._update_status)

        self.runs = RunList({p.name: p.config for p in self.controls.presets}, parent=self)
        self.runs_view = RunsDock(self.runs)
        connect_runs(self.runs, self.session, self.panels)
        self.beside = RunBeside(self.session, self.runs, self._comparisons_changed,
                                lambda message, kind: self.show_problem(message, kind=kind), parent=self)
        self._build_banner()
        self._build_actions()
        self.speed = SpeedControl(self)
        self.addActions([self.speed.slower_action, self.speed.faster_action])
        self._build_menus()
        self._build_toolbar()
        self.history = install_history(self)
        self._build_docks()
        self.help = Help(self, self.panels)  # the Help menu and every panel's "?"
        self._build_status_bar()
        self._connect()
        self.controls.set_config(self.session.config, preset=preset_name)
        self.speed.set_pace(self._first_pace)
        self._font_pt = DEFAULT_FONT_PT
        self._restore_settings()
        self._apply_font(self._font_pt)

        self.redraw_timer.start()
        self.status_timer.start()
        if self.controls.preset_problems:
            broken = " ".join(as_sentence(p) for p in self.controls.preset_problems)
            problem = f"{problem} Some preset files could not be loaded: {broken}".strip()
        if problem:
            self.show_problem(problem, kind="warning")
        self.redraw()
        self._update_status()
        if run_file:
            self.run_files.open(run_file)

    # ------------------------------------------------------------ construction
    def _first_session(self, config: TrainConfig | None, preset: str | None, restore_last_run: bool,
                       start: bool) -> tuple[TrainingSession, str, str]:
        """The first run: explicit config, else explicit preset, else the last run, else default.

        The window does not wait for it: the training process builds the run while the window
        appears, and if a candidate cannot start (a corpus that has gone), the next is tried.
        """
        problem = ""
        candidates: list[tuple[TrainConfig, str]] = []
        if config is not None:
            candidates.append((config, preset or ""))
        elif preset is not None:
            chosen = self.controls.preset(preset)
            if chosen is None:
                raise ConfigError(f"unknown preset {preset!r}; choose one of "
                                  f"{', '.join(p.name for p in self.controls.presets)}")
            candidates.append((chosen.config, chosen.name))
        elif restore_last_run:
            saved = read_setting(self.settings, "run/config", "")
            if saved:
                try:
                    candidates.append((TrainConfig.from_dict(json.loads(saved)),
                                       read_setting(self.settings, "run/preset", "")))
                except (ConfigError, ValueError, TypeError) as exc:
                    problem = f"The last session's settings could not be used ({exc}); " \
                              "starting the default preset instead."
        default = self.controls.preset(DEFAULT_PRESET) or FALLBACK_PRESET
        candidates.append((default.config, default.name))
        candidates.append((FALLBACK_PRESET.config, FALLBACK_PRESET.name))
        first, name = candidates[0]
        self._first_pace = self._pace_of(name)
        if restore_last_run and config is None and preset is None and saved_pace_ok(self.settings):
            self._first_pace = saved_pace(self.settings)
        self._start_first = start
        self._fallbacks = candidates[1:]
        self._first_label = "last session" if restore_last_run and config is None and preset is None \
            and len(candidates) > 2 else name or "chosen"
        session = TrainingSession(first, parent=self, on_started=self._first_run_started, start=start)
        return session, name, problem

    def _pace_of(self, preset: str) -> float | None:
        chosen = self.controls.preset(preset) if preset else None
        return chosen.pace if chosen is not None else None

    def _first_run_started(self, ok: bool, payload: object) -> None:
        """The first run is up, or could not start: then the next candidate is tried."""
        if not ok and self.run_files.shown_any:
            self.starting = False  # a run file is on screen already: no other run is needed
            return
        if ok:
            self.starting = False
            log.info("training process %s (pid %s) started the run", self.session.process_number,
                     self.session.process.pid)
            self._show_notes()
            self._update_status()
            return
        if not self._fallbacks:
            self.starting = False
            self.show_problem(as_sentence(f"No run could start: {payload}"))
            return
        config, name = self._fallbacks.pop(0)
        self.speed.set_pace(self._pace_of(name))
        self.show_problem(as_sentence(f"Could not start the {self._first_label} settings: {payload}")
                          + " Starting the default preset instead.", kind="warning")
        self._first_label = name
        self.controls.set_config(config, preset=name)
        self.session.reset(config, start=self._start_first, on_done=self._first_run_started,
                           description="Starting")

    def _build_banner(self) -> None:
        self.banner = Banner()
        bar = QtWidgets.QToolBar("Messages")
        bar.setObjectName("banner-bar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setVisible(False)
        # A widget in a toolbar is shown and hidden through its action, not by itself.
        self.banner_action = bar.addWidget(self.banner)
        self.banner.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                                  QtWidgets.QSizePolicy.Policy.Preferred)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.banner_bar = bar
        bar.hide()
        self.banner.dismiss.clicked.connect(self.hide_banner)

    def hide_banner(self) -> None:
        self.banner_bar.hide()

    def _action(self, text: str, slot: Callable[..., object],
                shortcut: str | QtGui.QKeySequence | QtGui.QKeySequence.StandardKey | None = None,
                tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_actions(self) -> None:
        keys = QtGui.QKeySequence.StandardKey
        self.start_action = self._action("Start", self.toggle_running, "Space",
                                         "Start or pause training (Space)")
        self.step_action = self._action("Step one batch", self.step_once, "S",
                                        "Train exactly one batch, then pause (S)")
        self.reset_action = self._action("Reset", self._reset_asked, "R",
                                         "Start again from step 0 with the settings in the form (R)")
        self.open_corpus_action = self._action("Open corpus…", self.open_corpus, keys.Open,
                                               "Train the character model on a text file (Ctrl+O)")
        self.save_action = self._action("Save checkpoint…", self.save_checkpoint, "Ctrl+Shift+S",
                                        "Save the model, optimizer and data position (Ctrl+Shift+S)")
        self.load_action = self._action("Load checkpoint…", self.load_checkpoint, "Ctrl+L",
                                        "Continue training from a saved checkpoint")
        self.export_png_action = self._action("Export panels…", self.export_png, "Ctrl+E",
                                              "Save every visible panel as PNG (any size) or SVG")
        self.export_csv_action = self._action("Export metrics as CSV…", self.export_csv, "Ctrl+Shift+E",
                                              "Save every training metric as a table")
        self.export_animation_action = self._action(
            "Export animation (GIF/MP4)…", lambda: ask_and_export(self), "Ctrl+Shift+A",
            "Animate a panel or the window over the run's snapshots, for slides")
        self.quit_action = self._action("Quit", self.close, "Ctrl+Q")
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.large_text_action = self._action("Large text (projector)", self._toggle_large_text, "Ctrl+=")
        self.large_text_action.setCheckable(True)
        self.default_layout_action = self._action("Restore default layout", self.restore_default_layout)
        self.run_files = RunFiles(self)  # Open run…, Save run… (Ctrl+S), files dropped on the window

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for action in (self.run_files.open_action, self.run_files.save_action, None, self.open_corpus_action,
                       None, self.save_action, self.load_action, None,
                       self.export_png_action, self.export_csv_action, self.export_animation_action, None,
                       self.quit_action):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu = self.menuBar().addMenu("&Training")
        for action in (self.start_action, self.step_action, self.reset_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addMenu(self.speed.menu)
        self.view_menu = self.menuBar().addMenu("&View")
        self.view_menu.addAction(self.large_text_action)
        self.view_menu.addAction(self.default_layout_action)
        self.view_menu.addSeparator()

    def _build_toolbar(self) -> None:
        bar = QtWidgets.QToolBar("Training")
        bar.setObjectName("training-bar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.setMovable(False)
        for action in (self.start_action, self.step_action, self.reset_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" Preset "))
        bar.addWidget(self.controls.preset_combo)
        bar.addWidget(QtWidgets.QLabel(" Speed "))
        bar.addWidget(self.speed.combo)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.training_bar = bar

    def _build_docks(self) -> None:
        self.dock_layout = DockLayout(self, self._wake_redraw)
        self.dock_layout.add("Settings", "controls", self.controls)
        self.dock_layout.add("Runs", "runs", self.runs_view)
        for panel in self.panels:
            self.dock_layout.add(panel.title, panel.key, panel.widget)
        self.docks = self.dock_layout.docks
        self.restore_default_layout()

    def restore_default_layout(self) -> None:
        self.dock_layout.restore_default()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        # Steady labels: a new number every half second is a repaint, not a window layout.
        self.state_label = SteadyLabel(wrap=False)
        self.step_label = SteadyLabel(wrap=False)
        self.rate_label = SteadyLabel(wrap=False)
        self.tokens_label = SteadyLabel(wrap=False)
        self.elapsed_label = SteadyLabel(wrap=False)
        for label in (self.state_label, self.step_label, self.rate_label, self.tokens_label,
                      self.elapsed_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)
        self.pending_indicator = PendingIndicator(self.session)
        bar.insertPermanentWidget(0, self.pending_indicator)

    def _connect(self) -> None:
        s = self.session
        s.failed.connect(self._worker_failed)
        s.diverged.connect(self._diverged)
        s.running_changed.connect(self._running_changed)
        s.run_replaced.connect(self._run_replaced)
        s.data_arrived.connect(self._wake_redraw)
        s.notice.connect(lambda message, kind: self.show_problem(message, kind=kind))
        self.speed.changed.connect(s.set_pace)
        self.speed.changed.connect(self.beside.set_pace)
        self.start_action.triggered.connect(self.beside.follow_running)
        self.step_action.triggered.connect(self.beside.step_once)
        self.runs_view.run_both_requested.connect(lambda entry: self.beside.start(entry, self.speed.pace))
        self.runs_view.add_file_requested.connect(lambda: self.run_files.add_to_compare())
        c = self.controls
        c.live_changed.connect(self._apply_live)
        c.preset_chosen.connect(lambda name: self.choose_preset(name, confirm=True))
        c.reset_requested.connect(self._reset_asked)
        c.open_corpus_requested.connect(self.open_corpus)
        self._running_changed(s.running)

    # ---------------------------------------------------------------- settings
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(self._default_size())
        state = s.value("window/state")
        if state is None or not self.restoreState(state, STATE_VERSION):
            # Dock sizes only stick once the window has its real size: lay out once it is shown.
            self._default_layout_pending = True
        if read_setting(s, "view/large_text", False):
            self._font_pt = LARGE_FONT_PT
            self.large_text_action.setChecked(True)
        self.loss_panel.log_y.setChecked(read_setting(s, "loss/log_y", False))
        self.sampler.seed.setText(read_setting(s, "sampler/seed", self.sampler.seed.text()))
        self.sampler.temperature.setValue(read_setting(s, "sampler/temperature", 0.8))
        self.sampler.length.setValue(read_setting(s, "sampler/length", 300))
        self.sampler.live.setChecked(read_setting(s, "sampler/live", False))
        self.sampler.live_every.setValue(read_setting(s, "sampler/live_every", 500))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.setValue("run/config", json.dumps(self.session.config.to_dict()))
        s.setValue("run/preset", self.controls.current_preset)
        s.setValue("run/pace", "" if self.speed.pace is None else self.speed.pace)
        s.setValue("view/large_text", self._font_pt == LARGE_FONT_PT)
        s.setValue("loss/log_y", self.loss_panel.log_y.isChecked())
        s.setValue("sampler/seed", self.sampler.seed.text())
        s.setValue("sampler/temperature", self.sampler.temperature.value())
        s.setValue("sampler/length", self.sampler.length.value())
        s.setValue("sampler/live", self.sampler.live.isChecked())
        s.setValue("sampler/live_every", self.sampler.live_every.value())
        s.sync()

    def _default_size(self) -> QtCore.QSize:
        screen = QtGui.QGuiApplication.primaryScreen()
        if screen is None:
            return QtCore.QSize(1280, 800)
        available = screen.availableGeometry()
        return QtCore.QSize(min(1600, int(available.width() * 0.92)),
                            min(1000, int(available.height() * 0.92)))

    def _toggle_large_text(self, on: bool) -> None:
        self._apply_font(LARGE_FONT_PT if on else DEFAULT_FONT_PT)

    def _apply_font(self, font_pt: int) -> None:
        self._font_pt = font_pt
        font = QtGui.QFont(self.font())
        font.setPointSize(font_pt)
        self.setFont(font)
        for panel in self.panels:
            panel.set_font_size(font_pt)
        for panel in self.panels:
            panel.invalidate()  # redraw with the new sizes

    # ---------------------------------------------------------------- panels
    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)

    @property
    def loss_panel(self) -> LossPanel:
        panel = self.panel(LossPanel.key)
        assert isinstance(panel, LossPanel)  # ALL_PANELS makes one LossPanel, the only panel with its key
        return panel

    def redraw(self) -> None:
        """Bring every visible panel up to date now (a new run, an export)."""
        self._redraw(self.panels)
        self.frames_drawn += 1

    def _redraw_next_group(self) -> None:
        """The redraw timer: feed new data to every other panel in turn.

        Qt paints all the panels changed in one pass together, without a break for input; half
        the panels per pass halves that longest wait, at twice the timer rate, so each panel
        still redraws as often. ``frames_drawn`` counts complete rounds.
        """
        group = self._next_group
        self._redraw(self.panels[group::REDRAW_GROUPS])
        self._next_group = (group + 1) % REDRAW_GROUPS
        if self._next_group == 0:
            self.frames_drawn += 1
            # Paused and everything drawn: the timer stops (an idle window does not wake the
            # machine ~75 times a second); new data, a new run or a changed view option wake it.
            if not self.session.running and self._all_drawn():
                for panel in self.panels:
                    panel.flush_summary(force=True)  # the final numbers, not a stale live one
                self.redraw_timer.stop()

    def _all_drawn(self) -> bool:
        """Every panel on screen shows the latest data (a batch that came in mid-round has
        not reached the panels drawn before it)."""
        data = self.session.data
        return all(panel._data is data and panel._version == data.version
                   for panel in self.panels if self._on_screen(panel))

    @staticmethod
    def _on_screen(panel: Panel) -> bool:
        """Shown and not behind another tab (a tabbed dock's hidden page still counts as
        visible to Qt): only these are drawn; raising a tab wakes the redraw timer."""
        return panel.widget.isVisible() and not panel.widget.visibleRegion().isEmpty()

    def _comparisons_changed(self) -> None:
        """A run drawn beside the current one has new data: the panels that draw it redraw."""
        for panel in self.panels:
            if panel.comparisons:
                panel.invalidate()

    def _wake_redraw(self) -> None:
        """New data or a changed view: redraw at the full frame rate until paused and drawn."""
        if not self._first_data_seen and self.session.data.latest is not None:
            self._first_data_seen = True
            log.info("first data: step %d", self.session.data.step)
        if not self.redraw_timer.isActive() and not self._closing_done:
            self.redraw_timer.start()

    def _redraw(self, panels: list[Panel]) -> None:
        data = self.session.data
        for panel in panels:
            if self._on_screen(panel) or panel._data is not data:
                try:
                    panel.update(data)
                except Exception as exc:  # a drawing bug must not take training down with it
                    self.redraw_timer.stop()
                    self.show_problem(f"The {panel.title} panel failed to draw: {type(exc).__name__}: "
                                      f"{exc}. Drawing has stopped; training continues.")
                    raise
            panel.flush_summary()

    def _update_status(self) -> None:
        data = self.session.data
        now = time.monotonic()
        latest = data.live_latest  # (not a snapshot the History bar shows)
        step = data.step
        tokens = latest.tokens_seen if latest else 0
        self._rates.append((now, step, tokens))
        first = next((r for r in self._rates if now - r[0] <= 2.5), self._rates[0])
        span = now - first[0]
        steps_rate = (step - first[1]) / span if span > 0.2 else 0.0
        tokens_rate = (tokens - first[2]) / span if span > 0.2 else 0.0
        if self.starting:
            self.state_label.setText("<b style='color:#0B4F8A'>starting…</b>")
        elif self.session.waiting_for_process:
            self.state_label.setText("<b style='color:#8A5300'>waiting for the training process…</b>")
        elif self.session.running:
            self.state_label.setText("<b style='color:#007A4D'>● training</b>")
        elif latest is not None and not latest.finite:
            self.state_label.setText("<b style='color:#B00020'>■ paused: loss non-finite</b>")
        else:
            self.state_label.setText("<b style='color:#8A5300'>❚❚ paused</b>")
        self.step_label.setText(f"step {step:,}")
        self.rate_label.setText(f"{steps_rate:,.0f} steps/s")
        self.tokens_label.setText(f"{tokens_rate:,.0f} {data.token_word}/s")
        elapsed = latest.elapsed_s if latest else 0.0
        minutes, seconds = divmod(int(elapsed), 60)
        hours, minutes = divmod(minutes, 60)
        self.elapsed_label.setText(f"trained {hours}:{minutes:02d}:{seconds:02d}")
        lr = f"lr {latest.lr:.3g}" if latest else ""
        self.elapsed_label.setToolTip(f"Training time, pauses excluded. {lr}")

    # ---------------------------------------------------------------- messages
    def show_problem(self, message: str, kind: str = "error", details: str = "") -> None:
        """A sentence in the banner and the status bar; details (a traceback) go to stderr."""
        self.last_problem = message
        self.banner.show_message(message, kind)
        self.banner_action.setVisible(True)
        self.banner_bar.show()
        self.statusBar().showMessage(first_sentence(message), 15_000)  # the banner has it all
        log.warning("%s", message)
        if details:
            log.error("%s", details.rstrip())

    def _show_notes(self) -> None:
        """What the new run's data or checkpoint says about itself (vocabulary coverage,
        validation on the training lines, an optimizer that starts afresh)."""
        if self.session.load_notes:
            self.show_problem(" ".join(as_sentence(n) for n in self.session.load_notes), kind="info")

    def _worker_failed(self, message: str, details: str) -> None:
        self.show_problem(f"Training stopped with an error: {message}. Training is paused; the model "
                          "and settings are kept. Press Start to try again.", details=details)

    def _diverged(self, step: int, back: int | None) -> None:
        """Say what happened and what to do; the advice works, because training went back to a
        state from before the blow-up (the last finite weights are usually ruined already)."""
        latest = self.session.data.live_latest
        lr = f" (learning rate {latest.lr:.3g})" if latest is not None else ""
        where = (f"Training went back to step {back:,}, the last state before the loss left its normal "
                 "range, and is paused. " if back is not None else
                 "The parameters from before that step are kept and training is paused. ")
        then = f"continue from step {back:,}" if back is not None else "continue"
        self.show_problem(f"The loss became non-finite at step {step:,}{lr}. {where}Lower the learning "
                          f"rate or turn on clipping, then press Start to {then}.")

    def _running_changed(self, running: bool) -> None:
        self.start_action.setText("Pause" if running else "Start")
        self._wake_redraw()
        self._update_status()

    def _run_replaced(self) -> None:
        self._rates.clear()
        self.redraw()
        self._wake_redraw()

    # ----------------------------------------------------------------- actions
    def toggle_running(self) -> None:
        if not self.session.running:
            self.hide_banner()
        self.session.toggle()

    def step_once(self) -> None:
        self.session.step_once()

    def _apply_live(self, changes: dict) -> None:
        try:
            self.session.update_live(**changes)
        except ConfigError as exc:
            self.show_problem(as_sentence(str(exc)), kind="warning")
            return
        if self.runs.current is not None:
            self.runs.settings_changed(self.runs.current)
        names = ", ".join(f"{k.replace('_', ' ')} = {v}" for k, v in changes.items())
        self.statusBar().showMessage(f"Applied live: {names}", 5000)

    def _reset_asked(self) -> None:
        self.reset(confirm=True)

    def reset(self, confirm: bool = False) -> int | None:
        """Step 0 again with the form's settings (the same seed gives the same start).

        ``confirm``: ask first if that ends a long run (what R, the button and the menu do).
        """
        try:
            config = self.controls.form_config()
        except ConfigError as exc:
            self.show_problem(as_sentence(str(exc)) + " Nothing was reset.", kind="warning")
            return None
        if confirm and not self.discard_guard.allows("Reset", self.session.data.step):
            return None
        return self._start_new_run(config, self.controls.current_preset, "Reset")

    def choose_preset(self, name: str, confirm: bool = False) -> int | None:
        """Start ``name`` from step 0; ``confirm``: ask first if that ends a long run."""
        preset = self.controls.preset(name)
        if preset is None:
            self.show_problem(f"Unknown preset {name!r}.", kind="warning")
            return None
        if confirm and not self.discard_guard.allows(f"The {preset.title} preset", self.session.data.step):
            self.controls.show_running_preset()
            return None
        previous_pace = self.speed.pace
        self.speed.set_pace(preset.pace)  # before the new run, so it starts at its pace

        def failed() -> None:
            self.speed.set_pace(previous_pace)

        return self._start_new_run(preset.config, name, f"Loading the {preset.title} preset", start=True,
                                   on_failure=failed)

    def _start_new_run(self, config: TrainConfig, preset: str, what: str, start: bool = False,
                       on_failure: Callable[[], None] | None = None) -> int:
        """Ask for a new run; the current one carries on until it is replaced, and stays if the
        new one cannot start (a bad corpus, not enough memory)."""
        def done(ok: bool, payload: object) -> None:
            if not ok:
                if on_failure is not None:
                    on_failure()
                self.show_problem(f"{what} failed: {as_sentence(str(payload))} The current run carries on.",
                                  kind="warning")
                return
            self.hide_banner()
            self._show_notes()
            self.controls.set_config(self.session.config, preset=preset or None)
            self.statusBar().showMessage(f"{what}: step 0, seed {config.seed}", 5000)

        # A reset while training goes on training, from step 0.
        return self.session.reset(config, start=start or self.session.running, on_done=done,
                                  description=what)

    def open_corpus(self, path: str | None = None) -> int | None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Open a text file to train on", str(Path.home()), "Text files (*.txt);;All files (*)")
            if not path:
                return None
        config = self.session.config
        try:
            config = config.replace(task="charlm", corpus=str(path))
        except ConfigError as exc:
            self.show_problem(as_sentence(str(exc)), kind="warning")
            return None
        return self._start_new_run(config, "", f"Opening {Path(path).name}")

    def save_checkpoint(self, path: str | None = None) -> int | None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save checkpoint", str(Path.home() / "rnnviz-checkpoint.npz"),
                "rnnviz checkpoints (*.npz)")
            if not path:
                return None
        step = self.session.data.step

        def done(ok: bool, payload: object) -> None:
            if not ok:
                self.show_problem(f"Could not save the checkpoint: {as_sentence(str(payload))}")
                return
            self.statusBar().showMessage(f"Saved checkpoint {payload} (step {step:,} or later)", 8000)

        return self.session.save_checkpoint(path, on_done=done)

    def load_checkpoint(self, path: str | None = None) -> int | None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Load checkpoint", str(Path.home()), "rnnviz checkpoints (*.npz);;All files (*)")
            if not path:
                return None

        def done(ok: bool, payload: object) -> None:
            if not ok:  # CheckpointError, TaskError (corpus moved), anything else
                self.show_problem(f"Could not load the checkpoint: {as_sentence(str(payload))} The current "
                                  "run carries on.")
                return
            self.hide_banner()
            self.controls.set_config(self.session.config)
            self.statusBar().showMessage(f"Loaded {Path(path).name}: continuing from step "
                                         f"{self.session.step_count:,}", 8000)
            self._show_notes()

        return self.session.load_checkpoint(path, start=self.session.running, on_done=done)

    def export_png(self, folder: str | None = None, options: ImageOptions | None = None) -> list[Path]:
        """Every visible panel as PNG (1×, 2× or a chosen width) or SVG, asked for when no folder
        is given; drawn from the panels' parts (export.py), without dock buttons."""
        if not folder:
            chosen = ExportDialog.ask(self, self.settings)
            if chosen is None:
                return []
            folder, options = chosen
        self.redraw()
        for panel in self.panels:
            panel.flush_summary(force=True)
        shown = [p for p in self.panels if self.docks[p.key].isVisible() and p.widget.width() >= 2]
        try:
            written = export_panel_images(shown, folder, options or ImageOptions(), window=self)
        except OSError as exc:
            self.show_problem(f"Export failed: {as_sentence(str(exc))}")
            return []
        self.statusBar().showMessage(f"Exported {len(written)} images to {folder}", 8000)
        return written

    def export_csv(self, path: str | None = None) -> Path | None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export metrics", str(Path.home() / "rnnviz-metrics.csv"), "CSV (*.csv)")
            if not path:
                return None
        try:
            written = write_metrics_csv(self.session.data, path)
        except OSError as exc:
            self.show_problem(f"Export failed: cannot write {path}: {exc.strerror or exc}.")
            return None
        self.statusBar().showMessage(f"Exported metrics to {written}", 8000)
        return written

    def _request_model(self, on_done) -> None:
        """The sampler's model copy, asked of the training process without waiting (or the
        viewed snapshot's, made here)."""
        if not self.session.data.task.can_sample:
            on_done(True, None)
            return
        viewed = self.history.viewed_model()
        if viewed is not None:
            on_done(True, viewed)
            return

        def done(ok: bool, payload: object) -> None:
            if ok and payload is not None and payload[1] is None:  # type: ignore[index]
                payload = None  # not a text model (the run changed meanwhile)
            on_done(ok, payload)

        self.session.model_for_sampling(done)

    # ------------------------------------------------------------------ closing
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._default_layout_pending:
            self._default_layout_pending = False
            QtCore.QTimer.singleShot(0, self.restore_default_layout)
        else:
            QtCore.QTimer.singleShot(0, self.dock_layout.hide_stale_tab_bars)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closing_done:
            self._closing_done = True
            self.redraw_timer.stop()
            self.status_timer.stop()
            self.sampler.stop()
            self.pending_indicator.stop()
            try:
                self._save_settings()
            finally:
                self.beside.stop()
                self.session.shutdown()
        super().closeEvent(event)
