"""The controls dock: preset chooser and every TrainConfig field.

Live settings (learning rate, schedule, clipping, intervals) go to the running trainer as
soon as they are edited; structural ones are marked and apply on Reset. The form never
trains anything itself: it emits what the user asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rnnviz.app.panels.base import ORANGE
from rnnviz.app.qt import QtCore, QtWidgets, Signal
from rnnviz.core import ACTIVATIONS, CLIP_MODES, DTYPES, INITS, OPTIMIZERS
from rnnviz.training import (
    DEFAULT_PRESET,
    LIVE_FIELDS,
    TASKS,
    ConfigError,
    Preset,
    TrainConfig,
    list_presets,
    load_preset,
)
from rnnviz.training.config import LR_SCHEDULES

FALLBACK_PRESET = Preset(
    name=DEFAULT_PRESET, title="Character language model",
    description="A character-level RNN learns to continue a lighthouse keeper's log, one "
                "character at a time, with Adam and gradient-norm clipping.",
    watch="The validation loss (from a zero hidden state) falls below the uniform baseline; "
          "samples go from noise to words.",
    config=TrainConfig())


def available_presets() -> tuple[list[Preset], list[str]]:
    """Every preset that loads, and one message per preset that does not."""
    presets, problems = [], []
    try:
        names = list_presets()
    except OSError as exc:
        names, problems = [], [f"cannot list presets: {exc}"]
    for name in names:
        try:
            presets.append(load_preset(name))
        except ConfigError as exc:
            problems.append(str(exc))
    if not any(p.name == DEFAULT_PRESET for p in presets):
        presets.insert(0, FALLBACK_PRESET)
    return presets, problems


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    help: str


FIELD_HELP = {
    "task": ("Task", "charlm: predict the next character; sentiment: read a phrase, say positive or "
                     "negative; sine: predict the next value of a wave"),
    "corpus": ("Corpus", "A UTF-8 text file for charlm; empty = the built-in lighthouse log"),
    "sine_freq": ("Sine frequency", "Cycles per timestep of the sine task's waves"),
    "sine_noise": ("Sine input noise", "Standard deviation of Gaussian noise on the sine inputs"),
    "seq_len": ("Sequence length", "Timesteps per training sequence (T)"),
    "batch": ("Batch size", "Sequences trained in parallel per step (B)"),
    "hidden": ("Hidden units", "Size of the hidden state h (H)"),
    "activation": ("Activation", "The hidden nonlinearity f in h_t = f(W_xh x_t + W_hh h_{t-1} + b_h)"),
    "init": ("Initialisation", "How the weights start; 'small' is min-char-rnn's randn×0.01"),
    "spectral_radius": ("Spectral radius", "Rescale W_hh at the start so max|λ| equals this; "
                                           "'as initialised' keeps it"),
    "dtype": ("Precision", "float32 is faster; float64 is exact enough for gradient checks"),
    "seed": ("Seed", "The same seed gives the same run, step for step"),
    "optimizer": ("Optimizer", "The update rule"),
    "lr": ("Learning rate", "Step size; applies immediately"),
    "lr_schedule": ("LR schedule", "plateau: halve the learning rate when the validation loss stops "
                                   "improving; applies immediately"),
    "clip": ("Clipping", "norm: rescale the whole gradient when its norm exceeds the threshold; "
                         "value: clamp each element; applies immediately"),
    "clip_value": ("Clip threshold", "The norm (or element bound) clipping enforces; applies immediately"),
    "truncate": ("BPTT truncation", "Backpropagate each loss through at most k steps; 'full' = all"),
    "eval_every": ("Evaluate every", "Steps between validation runs (from h = 0); applies immediately"),
    "spectrum_every": ("Spectrum every", "Steps between eigenvalue computations of W_hh; applies "
                                         "immediately"),
}

GROUPS = (
    ("Task and data", ("task", "corpus", "sine_freq", "sine_noise", "seq_len", "batch")),
    ("Model", ("hidden", "activation", "init", "spectral_radius", "dtype", "seed")),
    ("Optimisation", ("optimizer", "lr", "lr_schedule", "clip", "clip_value", "truncate")),
    ("Diagnostics", ("eval_every", "spectrum_every")),
)


class ControlsPanel(QtWidgets.QWidget):
    """Preset chooser plus one editor per TrainConfig field."""

    live_changed = Signal(dict)  # {field: value} for the running trainer
    preset_chosen = Signal(str)  # the user picked a preset: apply it now
    reset_requested = Signal()
    open_corpus_requested = Signal()
    pending_changed = Signal(list)  # structural fields that differ from the running config

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        self.presets, self.preset_problems = available_presets()
        self._running_config = TrainConfig()
        self._filling = False
        self.editors: dict[str, QtWidgets.QWidget] = {}
        self.labels: dict[str, QtWidgets.QLabel] = {}

        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)  # no horizontal scrolling, so never narrower than the form
        outer.addWidget(scroll)
        inner = QtWidgets.QWidget()
        scroll.setWidget(inner)
        column = QtWidgets.QVBoxLayout(inner)
        column.setContentsMargins(6, 6, 6, 6)

        # Preset chooser with its description and "what to watch".
        box = QtWidgets.QGroupBox("Preset")
        form = QtWidgets.QVBoxLayout(box)
        self.preset_combo = QtWidgets.QComboBox()
        for preset in self.presets:
            self.preset_combo.addItem(preset.title if preset.title != preset.name
                                      else preset.name, preset.name)
        self.preset_combo.setToolTip("Choosing a preset loads its settings and starts it from step 0")
        self.preset_combo.activated.connect(self._preset_activated)
        form.addWidget(self.preset_combo)
        self.preset_description = QtWidgets.QLabel()
        self.preset_description.setWordWrap(True)
        form.addWidget(self.preset_description)
        self.preset_watch = QtWidgets.QLabel()
        self.preset_watch.setWordWrap(True)
        self.preset_watch.setStyleSheet("background: #FFF6D5; border: 1px solid #E6C35C; "
                                        "border-radius: 3px; padding: 4px")
        form.addWidget(self.preset_watch)
        column.addWidget(box)

        for title, names in GROUPS:
            box = QtWidgets.QGroupBox(title)
            grid = QtWidgets.QFormLayout(box)
            grid.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for name in names:
                label_text, help_text = FIELD_HELP[name]
                label = QtWidgets.QLabel(label_text)
                label.setToolTip(help_text)
                editor = self._make_editor(name)
                editor.setToolTip(help_text)
                editor.setObjectName(f"field-{name}")
                self.labels[name], self.editors[name] = label, editor
                grid.addRow(label, editor)
            column.addWidget(box)

        self.pending = QtWidgets.QLabel()
        self.pending.setWordWrap(True)
        self.pending.setStyleSheet(f"color: {ORANGE}; font-weight: bold")
        self.pending.hide()
        column.addWidget(self.pending)
        self.reset_button = QtWidgets.QPushButton("Reset with these settings (R)")
        self.reset_button.clicked.connect(self.reset_requested)
        column.addWidget(self.reset_button)
        self.form_error = QtWidgets.QLabel()
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet("color: #B00020")
        self.form_error.hide()
        column.addWidget(self.form_error)
        legend = QtWidgets.QLabel("● live: applies immediately   ↻ applies on Reset")
        legend.setStyleSheet("color: #606060")
        legend.setWordWrap(True)
        column.addWidget(legend)
        column.addStretch(1)
        self._mark_live_labels()
        self.set_config(TrainConfig())

    # ------------------------------------------------------------------ editors
    def _make_editor(self, name: str) -> QtWidgets.QWidget:
        choices = {"task": TASKS, "optimizer": OPTIMIZERS, "clip": CLIP_MODES, "init": INITS,
                   "activation": ACTIVATIONS, "dtype": DTYPES, "lr_schedule": LR_SCHEDULES}
        if name in choices:
            combo = QtWidgets.QComboBox()
            combo.addItems(choices[name])
            combo.currentIndexChanged.connect(lambda _=0, n=name: self._edited(n))
            return combo
        if name == "corpus":
            holder = QtWidgets.QWidget()
            row = QtWidgets.QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            self.corpus_edit = QtWidgets.QLineEdit()
            self.corpus_edit.setPlaceholderText("built-in lighthouse log")
            self.corpus_edit.editingFinished.connect(lambda: self._edited("corpus"))
            row.addWidget(self.corpus_edit, 1)
            button = QtWidgets.QPushButton("Open…")
            button.setToolTip("Choose a UTF-8 text file to train on (Ctrl+O)")
            button.clicked.connect(self.open_corpus_requested)
            row.addWidget(button)
            return holder
        if name in ("lr", "clip_value", "spectral_radius", "sine_freq", "sine_noise"):
            spin = QtWidgets.QDoubleSpinBox()
            spin.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            ranges = {"lr": (1e-6, 100.0, 6), "clip_value": (1e-3, 1e9, 3),
                      "spectral_radius": (0.0, 1e6, 3), "sine_freq": (0.001, 0.5, 3),
                      "sine_noise": (0.0, 10.0, 3)}
            low, high, decimals = ranges[name]
            spin.setDecimals(decimals)
            spin.setRange(low, high)
            if name == "spectral_radius":
                spin.setSpecialValueText("as initialised")
            spin.setKeyboardTracking(False)  # one value when the user is done, not per keystroke
            spin.valueChanged.connect(lambda _=0.0, n=name: self._edited(n))
            return spin
        spin = QtWidgets.QSpinBox()
        ranges_int = {"hidden": (1, 4096), "seq_len": (1, 10_000), "batch": (1, 65_536),
                      "truncate": (-1, 10_000), "seed": (0, 2**31 - 1),
                      "eval_every": (1, 10**9), "spectrum_every": (1, 10**9)}
        low, high = ranges_int[name]
        spin.setRange(low, high)
        if name == "truncate":
            spin.setSpecialValueText("full")
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda _=0, n=name: self._edited(n))
        return spin

    def _mark_live_labels(self) -> None:
        for name, label in self.labels.items():
            if name in LIVE_FIELDS:
                label.setText(f"{FIELD_HELP[name][0]} ●")

    def _value(self, name: str) -> Any:
        editor = self.editors[name]
        if name == "corpus":
            text = self.corpus_edit.text().strip()
            return text or None
        if isinstance(editor, QtWidgets.QComboBox):
            return editor.currentText()
        value = editor.value()
        if name == "truncate":
            return None if value < 0 else int(value)
        if name == "spectral_radius":
            return None if value <= 0 else float(value)
        return value

    def _set_value(self, name: str, value: Any) -> None:
        editor = self.editors[name]
        if name == "corpus":
            self.corpus_edit.setText(value or "")
        elif isinstance(editor, QtWidgets.QComboBox):
            editor.setCurrentIndex(max(editor.findText(str(value)), 0))
        elif name == "truncate":
            editor.setValue(-1 if value is None else int(value))
        elif name == "spectral_radius":
            editor.setValue(0.0 if value is None else float(value))
        else:
            editor.setValue(value)

    # ------------------------------------------------------------------- public
    def set_config(self, config: TrainConfig, preset: str | None = None) -> None:
        """Show ``config`` as the running one (after a reset, a preset or a checkpoint)."""
        self._filling = True
        try:
            for f in fields(TrainConfig):
                self._set_value(f.name, getattr(config, f.name))
            if preset is not None:
                index = self.preset_combo.findData(preset)
                if index >= 0:
                    self.preset_combo.setCurrentIndex(index)
                self._show_preset_text(preset)
        finally:
            self._filling = False
        self._running_config = config
        self._refresh_state()

    def preset(self, name: str) -> Preset | None:
        return next((p for p in self.presets if p.name == name), None)

    @property
    def current_preset(self) -> str:
        return str(self.preset_combo.currentData())

    def form_config(self) -> TrainConfig:
        """The settings in the form; ConfigError names the first invalid one."""
        values = {f.name: self._value(f.name) for f in fields(TrainConfig)}
        return TrainConfig.from_dict(values)

    def pending_fields(self) -> list[str]:
        try:
            return self.form_config().needs_reset(self._running_config)
        except ConfigError:
            return []

    def set_corpus(self, path: str) -> None:
        self.corpus_edit.setText(path)
        self._set_value("task", "charlm")

    # ----------------------------------------------------------------- reacting
    def _show_preset_text(self, name: str) -> None:
        preset = self.preset(name)
        if preset is None:
            self.preset_description.setText("")
            self.preset_watch.setText("")
            return
        self.preset_description.setText(preset.description)
        self.preset_watch.setText(f"<b>What to watch:</b> {preset.watch}" if preset.watch else "")
        self.preset_watch.setVisible(bool(preset.watch))

    def _preset_activated(self, index: int) -> None:
        name = str(self.preset_combo.itemData(index))
        self._show_preset_text(name)
        self.preset_chosen.emit(name)

    def _edited(self, name: str) -> None:
        if self._filling:
            return
        if name in LIVE_FIELDS:
            value = self._value(name)
            try:
                self._running_config.replace(**{name: value})
            except ConfigError as exc:
                self._show_form_error(str(exc))
                return
            self._running_config = self._running_config.replace(**{name: value})
            self.live_changed.emit({name: value})
        self._refresh_state()

    def _show_form_error(self, message: str) -> None:
        self.form_error.setText(message[:1].upper() + message[1:] + ".")
        self.form_error.show()

    def _refresh_state(self) -> None:
        task = self._value("task")
        for name, wanted in (("corpus", "charlm"), ("sine_freq", "sine"), ("sine_noise", "sine")):
            self.editors[name].setEnabled(task == wanted)
            self.labels[name].setEnabled(task == wanted)
        try:
            pending = self.form_config().needs_reset(self._running_config)
            self.form_error.hide()
        except ConfigError as exc:
            pending = []
            self._show_form_error(str(exc))
        for name, label in self.labels.items():
            base = FIELD_HELP[name][0] + (" ●" if name in LIVE_FIELDS else "")
            if name in pending:
                label.setText(f"{base} ↻")
                label.setStyleSheet(f"color: {ORANGE}; font-weight: bold")
            else:
                label.setText(base)
                label.setStyleSheet("")
        if pending:
            names = ", ".join(FIELD_HELP[n][0].lower() for n in pending)
            self.pending.setText(f"↻ Changes apply on Reset: {names}")
            self.pending.show()
        else:
            self.pending.hide()
        self.pending_changed.emit(pending)
