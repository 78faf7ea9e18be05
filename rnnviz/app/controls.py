"""The controls dock: preset chooser and every TrainConfig field.

Live settings (learning rate, schedule, clipping, intervals) go to the running trainer as
soon as they are edited; structural ones are marked and apply on Reset. The form never
trains anything itself: it emits what the user asked for. Every editor's range, decimals,
choices, tooltip and live mark come from the field's ``Setting`` in ``rnnviz.training.config``.
"""

from __future__ import annotations

import re
from typing import Any

from rnnviz.app.banner import as_sentence
from rnnviz.app.keys import LeaveOnEnter, WheelOnlyWhenFocused
from rnnviz.app.panels.base import ORANGE
from rnnviz.app.qt import QtCore, QtGui, QtWidgets, Signal
from rnnviz.training import (
    DEFAULT_PRESET,
    LIVE_FIELDS,
    SETTINGS,
    ConfigError,
    Preset,
    Setting,
    TrainConfig,
    list_presets,
    load_preset,
)

FALLBACK_PRESET = Preset(
    name=DEFAULT_PRESET, title="Character language model",
    description="A character-level RNN learns to continue a lighthouse keeper's log, one "
                "character at a time, with Adam and gradient-norm clipping.",
    watch="The validation loss (from a zero hidden state) falls below the uniform baseline; "
          "samples go from noise to words.",
    config=TrainConfig())

CUSTOM = "custom"  # the preset box's entry for settings no preset has
CUSTOM_TITLE = "Custom settings"
CUSTOM_DESCRIPTION = ("The running settings match no preset: an opened corpus, a loaded checkpoint or "
                      "settings changed in this form.")
CUSTOM_WATCH = ("custom settings, so no preset's notes apply. Compare the loss with its baseline (what "
                "a model that learned nothing scores) and keep an eye on the gradient norms.")


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


def live_label(name: str) -> str:
    """The form's label for a field, with ● when it applies while training runs."""
    setting = SETTINGS[name]
    return setting.label + (" ●" if setting.live else "")


def bounds(setting: Setting) -> tuple[float, float]:
    """A number setting's closed range [low, high] (every int and float Setting declares both)."""
    if setting.low is None or setting.high is None:
        raise TypeError(f"the {setting.label!r} setting is a number but declares no low and high")
    return setting.low, setting.high


def none_value(setting: Setting) -> float:
    """The number an optional setting's spin box shows as None: one step below ``low``."""
    return round(bounds(setting)[0] - 10.0 ** -setting.decimals, setting.decimals)


class DecimalSpinBox(QtWidgets.QDoubleSpinBox):
    """A QDoubleSpinBox that drops trailing zeros (0.003, not 0.003000): six decimals for a
    learning rate of 1e-6 without every value looking like a long number."""

    def textFromValue(self, value: float) -> str:
        locale = self.locale()
        text = locale.toString(value, "f", self.decimals())
        if not self.isGroupSeparatorShown():
            text = text.replace(locale.groupSeparator(), "")
        point = locale.decimalPoint()
        return text.rstrip("0").rstrip(point) if point in text else text


class WideSpinBox(QtWidgets.QAbstractSpinBox):
    """An integer spin box for the whole 64-bit range (QSpinBox stops at 2^31 - 1).

    Values are Python ints, exact to the last digit; like a QSpinBox without keyboard
    tracking, ``valueChanged`` fires when typing is finished (Enter, focus out) or on a step.
    """

    valueChanged = Signal(object)  # a Python int: a Signal(int) would be 32-bit

    _DIGITS = re.compile(r"-?[0-9]*")

    def __init__(self, minimum: int, maximum: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._minimum, self._maximum, self._value = int(minimum), int(maximum), int(minimum)
        self.lineEdit().setText(str(self._value))
        self.editingFinished.connect(self._commit)

    def minimum(self) -> int:
        return self._minimum

    def maximum(self) -> int:
        return self._maximum

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        value = min(max(int(value), self._minimum), self._maximum)
        changed = value != self._value
        self._value = value
        self.lineEdit().setText(str(value))
        if changed:
            self.valueChanged.emit(value)

    def validate(self, text: str, pos: int) -> tuple[QtGui.QValidator.State, str, int]:
        """Acceptable in range; Intermediate while more typing can still reach the range;
        Invalid once it cannot (too many digits, a sign the range excludes, a letter)."""
        state = QtGui.QValidator.State
        stripped = text.strip()
        if not self._DIGITS.fullmatch(stripped) or (stripped.startswith("-") and self._minimum >= 0):
            return state.Invalid, text, pos
        if stripped in ("", "-"):
            return state.Intermediate, text, pos
        number = int(stripped)
        if self._minimum <= number <= self._maximum:
            return state.Acceptable, text, pos
        if (number > self._maximum and number >= 0) or (number < self._minimum and number < 0):
            return state.Invalid, text, pos  # more digits only move it further out
        return state.Intermediate, text, pos

    def fixup(self, text: str) -> str:
        return str(self._value)

    def stepBy(self, steps: int) -> None:
        self._commit()
        self.setValue(self._value + steps)
        self.selectAll()

    def stepEnabled(self) -> QtWidgets.QAbstractSpinBox.StepEnabledFlag:
        flags = QtWidgets.QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > self._minimum:
            flags |= QtWidgets.QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < self._maximum:
            flags |= QtWidgets.QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags

    def sizeHint(self) -> QtCore.QSize:
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance(str(self._maximum) + "  ") + 30
        return QtCore.QSize(max(hint.width(), width), hint.height())

    def _commit(self) -> None:
        """Take the typed number if it is in range; otherwise show the current value again."""
        text = self.lineEdit().text().strip()
        state = self.validate(text, 0)[0]
        if state == QtGui.QValidator.State.Acceptable:
            self.setValue(int(text))
        else:
            self.lineEdit().setText(str(self._value))


GROUPS = (
    ("Task and data", ("task", "corpus", "tokens", "lines", "vocab_size", "sine_freq", "sine_noise",
                       "recall_distance", "recall_symbols", "recall_filler",
                       "seq_len", "batch")),
    ("Model", ("cell", "hidden", "activation", "forget_bias", "init", "spectral_radius", "dtype", "seed")),
    ("Optimisation", ("optimizer", "lr", "lr_schedule", "clip", "clip_value", "truncate")),
    ("Diagnostics", ("eval_every", "spectrum_every")),
)


class ControlsPanel(QtWidgets.QWidget):
    """Preset chooser plus one editor per TrainConfig field."""

    live_changed = Signal(dict)  # {field: value} for the running trainer
    preset_chosen = Signal(str)  # the user picked a preset: apply it now
    reset_requested = Signal()
    open_corpus_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        # One sentence per preset file that did not load (shown under the preset chooser).
        self.presets, self.preset_problems = available_presets()
        self._running_config = TrainConfig()
        self._running_preset = DEFAULT_PRESET
        self._filling = False
        self._leave_on_enter = LeaveOnEnter(self)
        self._wheel_guard = WheelOnlyWhenFocused(self)
        self.editors: dict[str, QtWidgets.QWidget] = {}
        self.labels: dict[str, QtWidgets.QLabel] = {}

        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        inner = QtWidgets.QWidget()
        scroll.setWidget(inner)
        self._scroll, self._inner = scroll, inner  # no horizontal scrolling: see _fit_width
        column = QtWidgets.QVBoxLayout(inner)
        column.setContentsMargins(6, 6, 6, 6)

        # Preset chooser with its description and "what to watch".
        box = QtWidgets.QGroupBox("Preset")
        form = QtWidgets.QVBoxLayout(box)
        self.preset_combo = QtWidgets.QComboBox()
        for preset in self.presets:
            self.preset_combo.addItem(preset.title if preset.title != preset.name
                                      else preset.name, preset.name)
        # What runs when it came from no preset; shown, never chosen (it has no settings).
        self.preset_combo.addItem(CUSTOM_TITLE, CUSTOM)
        combo_model = self.preset_combo.model()
        assert isinstance(combo_model, QtGui.QStandardItemModel)  # a QComboBox's own model, never replaced
        combo_model.item(self.preset_combo.count() - 1).setEnabled(False)
        self._wheel_guard.watch(self.preset_combo)
        # In the toolbar beside Speed and History: at most about 24 characters wide (a longer
        # title is cut), while the list that opens is as wide as the longest title.
        self.preset_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(24)
        self.preset_combo.view().setMinimumWidth(self.preset_combo.view().sizeHintForColumn(0) + 24)
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
        self.preset_problem_label = QtWidgets.QLabel()
        self.preset_problem_label.setWordWrap(True)
        self.preset_problem_label.setStyleSheet("color: #B00020")
        self.preset_problem_label.setObjectName("preset-problems")
        self.preset_problem_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.preset_problem_label.setText("\n".join(
            f"Not loaded: {as_sentence(problem)}" for problem in self.preset_problems))
        self.preset_problem_label.setVisible(bool(self.preset_problems))
        form.addWidget(self.preset_problem_label)
        column.addWidget(box)

        for title, names in GROUPS:
            box = QtWidgets.QGroupBox(title)
            grid = QtWidgets.QFormLayout(box)
            grid.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            # In a narrow dock (large text on a small screen) a field goes under its label
            # rather than past the dock's edge.
            grid.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
            for name in names:
                help_text = SETTINGS[name].help
                label = QtWidgets.QLabel(live_label(name))
                label.setToolTip(help_text)
                editor = self._make_editor(name)
                editor.setToolTip(help_text)
                editor.setObjectName(f"field-{name}")
                self._guard_input(editor)
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
        self.set_config(TrainConfig())
        self._fit_width()

    # ------------------------------------------------------------------ layout
    def _guard_input(self, editor: QtWidgets.QWidget) -> None:
        """Return/Escape leaves a field; the wheel changes only the focused editor."""
        targets = [*editor.findChildren(QtWidgets.QWidget), editor]
        for widget in targets:
            if isinstance(widget, (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox)):
                self._wheel_guard.watch(widget)
                # A spin box's width is otherwise its widest value (19 digits for the seed):
                # the form would be that wide even when the value is 0.
                policy = widget.sizePolicy()
                policy.setHorizontalPolicy(QtWidgets.QSizePolicy.Policy.Preferred)
                widget.setSizePolicy(policy)
            if isinstance(widget, (QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)) \
                    and not isinstance(widget.parentWidget(), QtWidgets.QAbstractSpinBox):
                self._leave_on_enter.watch(widget)

    def _fit_width(self) -> None:
        """The dock is never narrower than the form: nothing is cut off on the right (the form
        does not scroll sideways), at either text size."""
        scroll_bar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._inner.minimumSizeHint().width() + scroll_bar)

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            # A label with a style sheet keeps the font it had when the sheet was set: large
            # text has to be handed to it.
            for label in self.findChildren(QtWidgets.QLabel):
                if label.styleSheet():
                    label.setFont(self.font())
            # After the children have their new font: large text needs a wider form, and back.
            QtCore.QTimer.singleShot(0, self._fit_width)

    # ------------------------------------------------------------------ editors
    def _make_editor(self, name: str) -> QtWidgets.QWidget:
        """The editor ``name``'s Setting calls for: a combo, a path, or a spin box whose
        range is exactly the Setting's (plus one step below it for None when optional)."""
        setting = SETTINGS[name]
        if setting.choices:
            combo = QtWidgets.QComboBox()
            combo.addItems(setting.choices)
            combo.currentIndexChanged.connect(lambda _=0, n=name: self._edited(n))
            return combo
        if setting.path:
            holder = QtWidgets.QWidget()
            row = QtWidgets.QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            self.corpus_edit = QtWidgets.QLineEdit()
            self.corpus_edit.setPlaceholderText("built-in lighthouse log")
            self.corpus_edit.editingFinished.connect(lambda n=name: self._edited(n))
            row.addWidget(self.corpus_edit, 1)
            button = QtWidgets.QPushButton("Open…")
            button.setToolTip("Choose a UTF-8 text file to train on (Ctrl+O)")
            button.clicked.connect(self.open_corpus_requested)
            row.addWidget(button)
            return holder
        spin: QtWidgets.QAbstractSpinBox
        low, high = bounds(setting)
        if setting.kind is float:
            spin = DecimalSpinBox()
            spin.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            spin.setDecimals(setting.decimals)
            spin.setRange(none_value(setting) if setting.optional else low, high)
        else:  # int: the bounds are whole numbers
            lowest = int(low) - 1 if setting.optional else int(low)
            if high <= 2**31 - 1 and low > -(2**31):
                spin = QtWidgets.QSpinBox()
                spin.setRange(lowest, int(high))
            else:
                spin = WideSpinBox(lowest, int(high))
        if setting.optional:
            spin.setSpecialValueText(setting.none_text)
        if not isinstance(spin, WideSpinBox):
            spin.setKeyboardTracking(False)  # one value when the user is done, not per keystroke
        spin.valueChanged.connect(lambda _=0, n=name: self._edited(n))
        return spin

    def _value(self, name: str) -> Any:
        setting, editor = SETTINGS[name], self.editors[name]
        if setting.path:
            return self.corpus_edit.text().strip() or None
        if isinstance(editor, QtWidgets.QComboBox):
            return editor.currentText()
        value = _number_box(editor).value()
        if setting.optional and value < bounds(setting)[0]:
            return None
        return float(value) if setting.kind is float else int(value)

    def _set_value(self, name: str, value: Any) -> None:
        setting, editor = SETTINGS[name], self.editors[name]
        if setting.path:
            self.corpus_edit.setText(value or "")
        elif isinstance(editor, QtWidgets.QComboBox):
            editor.setCurrentIndex(max(editor.findText(str(value)), 0))
        elif isinstance(spin := _number_box(editor), QtWidgets.QDoubleSpinBox):
            spin.setValue(spin.minimum() if value is None else float(value))
        else:  # QSpinBox or WideSpinBox: an int setting, validated as a whole number
            spin.setValue(spin.minimum() if value is None else int(value))

    # ------------------------------------------------------------------- public
    def set_config(self, config: TrainConfig, preset: str | None = None) -> None:
        """Show ``config`` as the running one (after a reset, a preset or a checkpoint), and the
        preset it is (``preset`` names the likely one), or "custom" when it is none."""
        self._filling = True
        try:
            for name in SETTINGS:
                self._set_value(name, getattr(config, name))
        finally:
            self._filling = False
        self._running_config = config
        self._running_preset = self.preset_for(config, preset)
        self.show_running_preset()
        self._refresh_state()

    def preset_for(self, config: TrainConfig, likely: str | None = None) -> str:
        """The preset whose settings ``config`` has (``likely`` first), else CUSTOM."""
        candidates = [p for p in self.presets if p.name == likely] + self.presets
        return next((p.name for p in candidates if p.config == config), CUSTOM)

    def show_running_preset(self) -> None:
        """The preset box and its texts show the running run's preset again (e.g. after the
        user picked another preset and then kept the current run)."""
        index = self.preset_combo.findData(self._running_preset)
        if index >= 0:
            self.preset_combo.setCurrentIndex(index)
        self._show_preset_text(self._running_preset)

    def preset(self, name: str) -> Preset | None:
        return next((p for p in self.presets if p.name == name), None)

    @property
    def current_preset(self) -> str:
        """The running run's preset, or CUSTOM (what the settings remember for the next start)."""
        return self._running_preset

    def form_config(self) -> TrainConfig:
        """The settings in the form; ConfigError names the first invalid one."""
        return TrainConfig.from_dict({name: self._value(name) for name in SETTINGS})

    # ----------------------------------------------------------------- reacting
    def _show_preset_text(self, name: str) -> None:
        preset = self.preset(name)
        description, watch = (preset.description, preset.watch) if preset is not None \
            else (CUSTOM_DESCRIPTION, CUSTOM_WATCH)
        self.preset_description.setText(description)
        self.preset_watch.setText(f"<b>What to watch:</b> {watch}" if watch else "")
        self.preset_watch.setVisible(bool(watch))

    def _preset_activated(self, index: int) -> None:
        name = str(self.preset_combo.itemData(index))
        if self.preset(name) is None:
            self.show_running_preset()  # "custom" is shown, not chosen
            return
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
        self.form_error.setText(as_sentence(message))
        self.form_error.show()

    def _refresh_state(self) -> None:
        task, cell = self._value("task"), self._value("cell")
        for name, setting in SETTINGS.items():
            if setting.tasks or setting.cells:
                used = setting.used_with(task, cell)
                self.editors[name].setEnabled(used)
                self.labels[name].setEnabled(used)
        try:
            pending = self.form_config().needs_reset(self._running_config)
            self.form_error.hide()
        except ConfigError as exc:
            pending = []
            self._show_form_error(str(exc))
        for name, label in self.labels.items():
            base = live_label(name)
            if name in pending:
                label.setText(f"{base} ↻")
                label.setStyleSheet(f"color: {ORANGE}; font-weight: bold")
            else:
                label.setText(base)
                label.setStyleSheet("")
        if pending:
            names = ", ".join(SETTINGS[n].label.lower() for n in pending)
            self.pending.setText(f"↻ Changes apply on Reset: {names}")
            self.pending.show()
        else:
            self.pending.hide()


def _number_box(editor: QtWidgets.QWidget) -> QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox | WideSpinBox:
    """A number setting's editor, as ``_make_editor`` built it (the form's other editors are a
    combo box for choices and a line edit with a button for the path)."""
    assert isinstance(editor, (QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox, WideSpinBox)), editor
    return editor

