"""Text sampler: prime the model with seed text and watch it write, one character at a time.

Sampling runs on a private copy of the model (taken between two training steps), pulled
from ``sample_text``'s iterator by a QTimer on the GUI thread, so training never waits for
it and the text appears as it is generated. Unknown seed characters are named in the panel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from rnnviz.app.keys import LeaveOnEnter, WheelOnlyWhenFocused
from rnnviz.app.panels.base import GREY, VERMILION, Panel
from rnnviz.app.qt import QtCore, QtGui, QtWidgets
from rnnviz.app.run_data import RunData
from rnnviz.core import RNN, UnknownTokensError, Vocabulary
from rnnviz.training import sample_text

CHARS_PER_TICK = 2
READY = "Type a seed and press Generate."
TICK_MS = 15  # ~130 characters a second: fast enough to read along, slow enough to see
# The window's way to ask for a model copy without waiting: it calls back with (ok, payload),
# payload (model, vocab, step, seed), None when the run cannot be sampled, or a message.
ModelCallback = Callable[[bool, "tuple[RNN, Vocabulary, int, int] | str | None"], None]
ModelSource = Callable[[ModelCallback], None]


class SamplerPanel(Panel):
    title = "Text sampler"
    key = "sampler"

    def __init__(self, model_source: ModelSource) -> None:
        super().__init__()
        self._model_source = model_source
        self.pages = QtWidgets.QStackedWidget()
        self.layout.addWidget(self.pages, 1)

        self.not_text = QtWidgets.QLabel()
        self.not_text.setWordWrap(True)
        self.not_text.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(self.not_text)

        page = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        # A grid of four short rows, the seed across the whole width: the panel stays narrow
        # enough for a 1280-pixel screen with large text, and the seed field wide.
        grid = QtWidgets.QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        self.seed = QtWidgets.QLineEdit("The ")
        self.seed.setPlaceholderText("text to start from")
        self.seed.setToolTip("The model reads this text first, then continues it")
        self.seed.textChanged.connect(self._check_seed)
        self.seed.returnPressed.connect(self.generate)
        grid.addWidget(QtWidgets.QLabel("Seed"), 0, 0)
        grid.addWidget(self.seed, 0, 1, 1, 2)

        self.temperature = QtWidgets.QDoubleSpinBox()
        self.temperature.setRange(0.0, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setValue(0.8)
        self.temperature.setSpecialValueText("0 (greedy)")
        self.temperature.setToolTip("Low: safe, repetitive text; high: surprising text. 0 always "
                                    "picks the most likely character")
        grid.addWidget(QtWidgets.QLabel("Temperature"), 1, 0)
        grid.addWidget(self.temperature, 1, 1)
        self.generate_button = QtWidgets.QPushButton("Generate")
        self.generate_button.setToolTip("Sample from a copy of the model as it is now (Enter)")
        self.generate_button.clicked.connect(self.generate)
        grid.addWidget(self.generate_button, 1, 2)

        self.length = QtWidgets.QSpinBox()
        self.length.setRange(1, 20_000)
        self.length.setValue(300)
        self.length.setSuffix(" chars")
        grid.addWidget(QtWidgets.QLabel("Length"), 2, 0)
        grid.addWidget(self.length, 2, 1)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        grid.addWidget(self.stop_button, 2, 2)

        repeat = QtWidgets.QHBoxLayout()
        self.live = QtWidgets.QCheckBox("every")  # "Repeat ☐ every 500 steps"
        self.live.setToolTip("While training, generate a fresh sample from the seed every N steps")
        repeat.addWidget(self.live)
        self.live_every = QtWidgets.QSpinBox()
        self.live_every.setRange(1, 1_000_000)
        self.live_every.setValue(500)
        self.live_every.setSuffix(" steps")
        repeat.addWidget(self.live_every, 1)
        grid.addWidget(QtWidgets.QLabel("Repeat"), 3, 0)
        grid.addLayout(repeat, 3, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)

        self.warning = QtWidgets.QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(f"color: {VERMILION}; font-weight: bold")
        self.warning.hide()
        column.addWidget(self.warning)
        self.output = QtWidgets.QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("Press Generate to see what the model writes after the seed.")
        column.addWidget(self.output, 1)
        self.pages.addWidget(page)
        self.text_page = page

        self._timer = QtCore.QTimer(self.widget)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._pull)
        self._stream: Iterator[str] | None = None
        self._request_token = 0
        self._produced = 0
        self._target = 0
        self._sample_step = 0
        self._generations = 0
        self._next_live_step = 0
        self._vocab: Vocabulary | None = None
        self._seed_error_shown = False  # the summary names unknown seed characters
        self.set_summary(READY)
        # The summary line wraps as its numbers grow; two lines held for it keep the controls
        # below from moving under the pointer.
        self.summary.setMinimumHeight(2 * self.summary.fontMetrics().lineSpacing())
        leave, wheel = LeaveOnEnter(self.widget), WheelOnlyWhenFocused(self.widget)
        for editor in (self.seed, self.temperature, self.length, self.live_every):
            leave.watch(editor)
        for editor in (self.temperature, self.length, self.live_every):
            wheel.watch(editor)

    # ----------------------------------------------------------------- run state
    def start_run(self, data: RunData) -> None:
        self.stop()
        self._vocab = data.task.vocab
        self._next_live_step = 0
        self.length.setSuffix(" words" if data.task.token_kind == "word" else " chars")
        self.output.clear()  # the old run's sample is not this run's
        if data.task.can_sample:
            self.pages.setCurrentWidget(self.text_page)
            self._check_seed()
            self.set_summary(READY)
        else:
            self.not_text.setText(f"Sampling text needs a language model; the {data.task.name} task "
                                  "does not predict characters or words. Choose the charlm preset or "
                                  "task to sample.")
            self.pages.setCurrentWidget(self.not_text)
            self.set_summary(f"<span style='color:{GREY}'>not available for {data.task.name}</span>")

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or not data.task.can_sample:
            return
        if (self.live.isChecked() and data.running and self._stream is None
                and data.step >= self._next_live_step):
            every = self.live_every.value()
            self._next_live_step = (data.step // every + 1) * every
            self.generate()

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    # ------------------------------------------------------------------ sampling
    def _check_seed(self) -> bool:
        """Name characters the model has never seen, as the user types."""
        if self._vocab is None:
            return True
        unknown = self._vocab.unknown(self.seed.text())
        if unknown:
            self._show_unknown(unknown)
            return False
        self.warning.hide()
        if self._seed_error_shown:  # the seed is fixed: the complaint goes too
            self._seed_error_shown = False
            self.set_summary(READY)
        return True

    def _show_unknown(self, unknown: list[str]) -> None:
        shown = ", ".join(repr(ch) for ch in unknown[:12])
        more = f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
        plural = "s" if len(unknown) > 1 else ""
        kind = self._vocab.kind if self._vocab is not None else "character"
        self.warning.setText(f"The model has never seen the {kind}{plural} {shown}{more}; "
                             "remove or replace them to sample.")
        self.warning.show()

    def generate(self) -> None:
        """Ask for a copy of the model as it is now; streaming starts when it arrives."""
        self.stop()
        token = self._request_token
        self.generate_button.setEnabled(False)

        def arrived(ok: bool, payload: object) -> None:
            if token != self._request_token:
                return  # the run changed or the user stopped meanwhile
            self.generate_button.setEnabled(True)
            if not ok:
                self.warning.setText(f"Could not copy the model to sample from: {payload}.")
                self.warning.show()
                return
            if payload is not None:
                self._begin(*payload)  # type: ignore[misc]

        self._model_source(arrived)

    def _begin(self, model: RNN, vocab: Vocabulary, step: int, seed: int) -> None:
        """Stream a new sample from ``model`` (a private copy)."""
        self._vocab = vocab
        rng = np.random.default_rng([seed, step, self._generations])
        self._generations += 1
        try:
            stream = sample_text(model, vocab, self.seed.text(), self.length.value(),
                                 temperature=self.temperature.value(), rng=rng)
        except UnknownTokensError as exc:
            self._show_unknown(exc.unknown)
            self.set_summary(f"<span style='color:{VERMILION}'>{exc}</span>")
            self._seed_error_shown = True
            return
        except ValueError as exc:
            self.warning.setText(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            self.warning.show()
            return
        self.warning.hide()
        self._seed_error_shown = False
        self.output.clear()
        cursor = self.output.textCursor()
        seed_format = QtGui.QTextCharFormat()
        seed_format.setForeground(QtGui.QColor(GREY))
        seed_format.setFontUnderline(True)
        cursor.insertText(self.seed.text(), seed_format)
        cursor.setCharFormat(QtGui.QTextCharFormat())
        self.output.setTextCursor(cursor)
        self._stream, self._produced, self._sample_step = stream, 0, step
        self._target = self.length.value()
        self.stop_button.setEnabled(True)
        self._timer.start()
        self._describe()

    def stop(self) -> None:
        self._timer.stop()
        self._stream = None
        self._request_token += 1  # a model copy still on its way is not used
        self.generate_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _pull(self) -> None:
        if self._stream is None:
            self._timer.stop()
            return
        chunk = []
        for _ in range(CHARS_PER_TICK):
            try:
                chunk.append(next(self._stream))
            except StopIteration:
                self.stop()
                break
        if chunk:
            self._produced += len(chunk)
            cursor = self.output.textCursor()
            cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
            cursor.insertText("".join(chunk), QtGui.QTextCharFormat())
            self.output.setTextCursor(cursor)
        self._describe()

    def _describe(self) -> None:
        writing = self._stream is not None
        unit = "words" if self._vocab is not None and self._vocab.kind == "word" else "characters"
        # Two short lines, not one that wraps now and then: the controls below never jump.
        text = (f"step {self._sample_step:,} model · temperature {self.temperature.value():g}<br>"
                f"{self._produced:,} of {self._target:,} {unit} · {'writing' if writing else 'done'}")
        # The count moves with every character: a live summary; the final one shows at once.
        if writing:
            self.set_live_summary(text)
        else:
            self.set_summary(text)

    def set_summary(self, html: str) -> None:
        super().set_summary(html)
        # The summary's height only grows (until the text size changes): if a narrow panel
        # wraps a line, the controls move down once, not back and forth with every sample.
        if not self.summary.isVisible():
            return  # not laid out yet: its width means nothing
        needed = self.summary.heightForWidth(self.summary.width())
        if needed > self.summary.minimumHeight():
            self.summary.setMinimumHeight(needed)

    def output_text(self) -> str:
        return self.output.toPlainText()

    def set_font_size(self, font_pt: int) -> None:
        super().set_font_size(font_pt)
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(font_pt + 1)
        self.output.setFont(mono)
        self.summary.setMinimumHeight(2 * self.summary.fontMetrics().lineSpacing())
