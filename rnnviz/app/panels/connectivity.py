"""Connectivity: how much each earlier input sways the prediction at each position (Madsen 2019).

Top: the watched sequence as text, each input's background shaded by its influence
‖∂ log p(y_t)/∂ e_s‖ on the prediction at the position under the mouse (or the clicked one;
the last by default). Bottom: every position t against distance k = t − s, on a log colour
scale shared with the text's shading. The numbers come from ``rnnviz.core.connectivity``,
computed by the trainer every few steps (``StepReport.connectivity``).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from typing import cast

import numpy as np

from rnnviz.app.panels.base import (
    GREY,
    OnResize,
    Panel,
    fmt,
    log_colour_bar_ticks,
    log_tick_text,
    new_plot,
    new_view,
)
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets, pg
from rnnviz.app.run_data import RunData
from rnnviz.app.steady_label import SteadyLabel
from rnnviz.core.connectivity import Connectivity, by_distance_matrix, distance_profile, text_connectivity

COLOUR_MAP = "CET-L18"  # white, yellow, orange, red: light where influence is small, text stays readable
MAP_START = 0.06  # the lowest influence is a pale yellow, not the white of the page
NO_VALUE = "#D8D8D8"  # heatmap cells with no value (an input after the position: k > t)
TENTH = 0.1  # "strong" influence: at least a tenth of the peak
FAR = 10  # the summary compares the input this many steps back (or the farthest) with the current one
HOVER_HINT = "Point at a position (click to keep it) to see which earlier inputs its prediction depends on."
VISIBLE = {" ": " ", "\n": "⏎", "\t": "⇥", "\r": "␍"}
TYPED_REFRESH_S = 3.0  # typed text is scored again with a fresh model copy this often while training runs
TYPED_HINT = ("Type your own text and press Enter to see what the model, as it is now, reads in it; "
              "empty the field to see the training sequence again")
NOT_A_TEXT_MODEL = "Typed text needs a next-character or next-word model (this task has none)"
HEAT_SLACK_PX = 12  # besides the axes and the view: the canvas's own margins
LABEL_GAP_PX = 4  # clear space between two colour-bar labels
# The window's way to ask for a model copy without waiting (as the sampler's): it calls back
# with (ok, payload), payload (model, vocab, step, seed), None when the run has no text model,
# or a message when it failed.
ModelSource = Callable[[Callable[[bool, object], None]], None]


def shown_token(token: str, kind: str) -> str:
    """A token as the text view writes it: spaces stay spaces between characters; a newline is ⏎."""
    if not token:
        return "·"
    return token if kind == "word" else "".join(VISIBLE.get(ch, ch) for ch in token)


def readable(token: str, kind: str) -> str:
    """A token named in a sentence: a space is ␣ there."""
    return "␣" if token == " " else shown_token(token, kind)


def strong_reach(profile: np.ndarray) -> int:
    """How many of the nearest distances k = 0, 1, … in a row have at least a tenth of the
    profile's peak influence."""
    finite = profile[np.isfinite(profile)]
    if finite.size == 0:
        return 0
    peak = float(finite.max())
    count = 0
    for value in profile:
        if not (np.isfinite(value) and value >= TENTH * peak):
            break
        count += 1
    return count


def far_distance(profile: np.ndarray, single_row: bool) -> int:
    """The distance the summary compares with k = 0: the farthest input for one scored row,
    else FAR steps back (or the farthest there is)."""
    reached = np.flatnonzero(np.isfinite(profile))
    farthest = int(reached[-1]) if reached.size else 0
    return farthest if single_row else min(FAR, farthest)


def connectivity_summary(found: Connectivity | None, token_word: str, typed: bool = False) -> str:
    """One sentence about the matrix shown, every number read from it (``distance_profile``);
    ``typed``: it is of the user's text, not of the training sequence."""
    if found is None:
        return "waiting for the first connectivity (computed every few steps)"
    matrix = np.asarray(found.matrix, dtype=np.float64)
    rows = int(np.isfinite(matrix).any(axis=1).sum())
    head = f"{'your text · ' if typed else ''}step {found.step:,} · "
    profile = distance_profile(matrix)
    if rows == 0 or not np.isfinite(profile[0]):
        return head + "no finite influence (the weights have blown up)"
    singular = token_word[:-1] if token_word.endswith("s") else token_word
    far = far_distance(profile, rows == 1)
    near = float(profile[0])
    if rows == 1:
        text = (f"the prediction at the end: the first {singular} ({far} back) sways it "
                f"<b>{fmt(profile[far] / near) if near > 0 else '—'}×</b> as much as the last one")
        return head + text
    reach = strong_reach(profile)
    text = f"median prediction: ≥ 10% of the peak influence from the last <b>{reach}</b> {token_word}"
    if far > 0 and near > 0:
        text += f"; {far} back: <b>{fmt(profile[far] / near)}×</b> the current one"
    return head + text


def log_levels(values: np.ndarray, previous: tuple[float, float]) -> tuple[float, float]:
    """Colour levels in log10 units: the 1st to 99th percentile in half decades, at least one
    decade wide; the previous levels when nothing is positive."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return previous
    logs = np.log10(positive)
    low, high = np.percentile(logs, [1, 99])
    low, high = math.floor(low * 2) / 2, math.ceil(high * 2) / 2
    if high - low < 1.0:
        low = high - 1.0
    return float(low), float(high)


class ConnectivityPanel(Panel):
    title = "Connectivity"
    key = "connectivity"

    def __init__(self) -> None:
        super().__init__()
        self.model_source: ModelSource | None = None  # set by the window: typed text needs a model copy
        # Typed text: Enter scores it; emptying the field (its clear button) goes back to the
        # training sequence. No button beside it: the panel stays narrow in large text.
        self.typed = QtWidgets.QLineEdit()
        self.typed.setPlaceholderText("type your own text, then Enter")
        self.typed.setClearButtonEnabled(True)
        self.typed.setToolTip(TYPED_HINT)
        self.typed.returnPressed.connect(self.score_typed)
        self.typed.textChanged.connect(lambda text: None if text.strip() else self.use_training_sequence())
        self.layout.addWidget(self.typed)
        full_map = pg.colormap.get(COLOUR_MAP)
        stops = np.linspace(MAP_START, 1.0, 16)
        self.colour_map = pg.ColorMap(np.linspace(0.0, 1.0, 16), full_map.map(stops, mode="byte"))

        self.text = QtWidgets.QTextEdit()
        self.text.setReadOnly(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.text.setWordWrapMode(QtGui.QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.text.viewport().setMouseTracking(True)
        self._mouse = _TextMouse(self)  # the panel is no QObject: this filters the text's events
        self.text.viewport().installEventFilter(self._mouse)
        self.text.setToolTip(HOVER_HINT)
        self.text.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        self.layout.addWidget(self.text)
        self.readout = SteadyLabel(HOVER_HINT)
        palette = self.readout.palette()
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(GREY))
        self.readout.setPalette(palette)
        self.layout.addWidget(self.readout)
        self._readout_shown = True  # hidden when the panel is too short for it (see _fit_parts)
        self._readout_needed = False  # a message about typed text: shown even in a short panel

        self.view = new_view()
        self.heat = new_plot("inputs back, k = t − s", "position t", integer_x=True, integer_y=True)
        self.heat.invertY(True)
        self.heat.setClipToView(False)
        self.heat.showGrid(x=False, y=False)
        self.heat.getViewBox().setBackgroundColor(NO_VALUE)
        self.view.addItem(self.heat)
        self.plots.append(self.heat)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.heat.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-3, 0), colorMap=self.colour_map, interactive=False,
                                          label="influence", width=16, colorMapMenu=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.heat)
        self.colour_bar.axis.tickStrings = lambda values, scale, spacing: [
            log_tick_text(10.0 ** v) for v in values]
        self.colour_bar.axis.tickValues = self._colour_bar_ticks
        self.marker = pg.PlotDataItem(pen=pg.mkPen("#0072B2", width=2))  # the chosen position's row
        self.heat.addItem(self.marker)
        self.layout.addWidget(self.view, 1)
        self.view.scene().sigMouseMoved.connect(self._heat_mouse_moved)
        self.view.scene().sigMouseClicked.connect(self._heat_clicked)

        self._shown: Connectivity | None = None
        self._levels: tuple[float, float] = (-3.0, 0.0)
        self._spans: list[tuple[int, int]] = []  # each token's characters in the text document
        self._hovered: int | None = None
        self._pinned: int | None = None
        self._kind = "character"
        self._extent: tuple[int, int] | None = None
        self._token_word = "characters"
        self._typed_text: str | None = None  # scoring this text instead of the training sequence
        self._typed_request = 0  # a model copy still on its way for an older request is not used
        self._typed_waiting = False
        self._typed_asked_at = -math.inf
        self._typed_for: Connectivity | None = None  # the training one when a copy was last asked for
        self._typed_shown = False
        self._fitting = False
        self._resizes = OnResize(self.widget, self._fit_parts)  # the parts share its height again
        self._set_typing_enabled(False)

    # ---------------------------------------------------------------- run state
    def start_run(self, data: RunData) -> None:
        self._shown = None
        self._hovered = self._pinned = None
        self._spans = []
        self._extent = None
        self._kind = data.task.token_kind
        self._token_word = data.token_word
        self._typed_text, self._typed_shown, self._typed_waiting = None, False, False
        self._typed_request += 1  # a copy of the old run's model is not used
        self.set_font_size(self._font_pt)  # characters in a fixed-width font, words in the panel's
        self.text.clear()
        self.image.clear()
        self.marker.setData([], [])
        self._set_readout(HOVER_HINT)
        score = ("the prediction o<sub>t</sub> (a value: no probability)" if data.task.head.endswith("mse")
                 else "log p(y<sub>t</sub>) of the actual next token" if data.task.head.startswith("seq")
                 else "log p of the right answer, read at the last input only")
        self.summary.setToolTip(f"Influence of an input on {score}: ‖∂score/∂e<sub>s</sub>‖.")

    def waiting_summary(self, data: RunData) -> str:
        return f"step {data.step:,} · waiting for the first connectivity (computed every few steps)"

    # ------------------------------------------------------------------ drawing
    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data):
            return
        self._set_typing_enabled(data.task.can_sample and self.model_source is not None)
        self._kind, self._token_word = data.task.token_kind, data.token_word
        found = data.connectivity
        if self._typed_text is not None:
            # The typed text is scored again with a newer model copy while training goes on.
            fresh = found is not None and found is not self._typed_for and not self._typed_waiting
            if fresh and time.monotonic() - self._typed_asked_at >= TYPED_REFRESH_S:
                self._typed_for = found
                self._request_typed()
            return
        # Every report carries the newest connectivity, and each batch arrives as a fresh copy
        # from the training process: a new one is one of a later step (or of a new run).
        if found is None or (self._shown is not None and not self._typed_shown
                             and found.step == self._shown.step):
            return
        self._show(found, typed=False)

    def _show(self, found: Connectivity, typed: bool) -> None:
        self._shown, self._typed_shown = found, typed
        self._draw_heatmap(found)
        self._draw_text()
        self.set_live_summary(connectivity_summary(found, self._token_word, typed))

    # --------------------------------------------------------------- typed text
    def _set_typing_enabled(self, enabled: bool) -> None:
        """The field is shown only where it can be used (see _fit_parts): a task without a text
        model leaves its height to the heatmap."""
        if enabled != self.typed.isEnabled():
            self.typed.setEnabled(enabled)
            self.typed.setToolTip(TYPED_HINT if enabled else NOT_A_TEXT_MODEL)
            if not enabled:
                self.typed.hide()
            self._fit_parts()

    def score_typed(self) -> None:
        """Score the text in the field with a copy of the model as it is now (empty: the training
        sequence again)."""
        text = self.typed.text()
        if not text.strip():
            self.use_training_sequence()
            return
        if self.model_source is None:
            return
        self._typed_text = text
        self._typed_for = self._data.connectivity if self._data is not None else None
        self._request_typed()

    def use_training_sequence(self) -> None:
        """Back to the sequence training reads."""
        if self._typed_text is None:
            return
        self._typed_text, self._typed_shown, self._typed_waiting = None, False, False
        self._typed_request += 1
        self._hovered = self._pinned = None
        if self._data is not None and self._data.connectivity is not None:
            self._show(self._data.connectivity, typed=False)
        else:
            self._shown = None
            self.invalidate()

    def _request_typed(self) -> None:
        assert self.model_source is not None and self._typed_text is not None
        self._typed_request += 1
        request, text = self._typed_request, self._typed_text
        self._typed_waiting, self._typed_asked_at = True, time.monotonic()

        def arrived(ok: bool, payload: object) -> None:
            if request != self._typed_request:
                return  # asked again since, or back to the training sequence
            self._typed_waiting = False
            if not ok or payload is None:
                problem = f"could not copy the model: {payload}" if not ok else NOT_A_TEXT_MODEL
                self._set_readout(html.escape(problem), needed=True)
                return
            model, vocab, step, _ = cast(tuple, payload)
            try:
                found = text_connectivity(model, vocab, text, step)
            except ValueError as exc:  # unknown characters, too short: one sentence
                self._set_readout(html.escape(f"Your text cannot be scored: {exc}."), needed=True)
                return
            self._show(found, typed=True)

        self.model_source(arrived)

    def scored_rows(self) -> np.ndarray:
        """The positions whose prediction is scored (every one, or only the last)."""
        if self._shown is None:
            return np.empty(0, dtype=int)
        return np.flatnonzero(np.isfinite(np.asarray(self._shown.matrix)).any(axis=1))

    def chosen_position(self) -> int | None:
        """The position whose influences the text shows: hovered, else clicked, else the last scored."""
        rows = self.scored_rows()
        if rows.size == 0:
            return None
        steps = np.asarray(self._shown.matrix).shape[0] if self._shown is not None else 0
        for candidate in (self._hovered, self._pinned):
            if candidate is not None and 0 <= candidate < steps:
                return candidate
        return int(rows[-1])

    def _draw_heatmap(self, found: Connectivity) -> None:
        matrix = np.asarray(found.matrix, dtype=np.float64)
        steps = matrix.shape[0]
        self._levels = levels = log_levels(matrix, self._levels)
        by_k = by_distance_matrix(matrix)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(by_k)
        logs[by_k == 0] = levels[0]  # an exact zero is the bottom colour, not a hole
        rows = self.scored_rows()
        first = int(rows[0]) if rows.size else 0
        self.image.setImage(logs[first:], levels=levels, autoLevels=False)
        # Cells centred on whole numbers: the tick "t" sits on row t, "k" on column k.
        self.image.setRect(QtCore.QRectF(-0.5, first - 0.5, steps, steps - first))
        if tuple(self.colour_bar.levels()) != levels:
            self.colour_bar.setLevels(levels)
        if self._extent != (first, steps):
            self._extent = (first, steps)
            self.heat.setLimits(xMin=-0.5, xMax=steps - 0.5, yMin=first - 0.5, yMax=steps - 0.5)
            self.heat.setRange(xRange=(-0.5, steps - 0.5), yRange=(first - 0.5, steps - 0.5), padding=0)

    def _colour(self, value: float) -> QtGui.QColor:
        low, high = self._levels
        if not np.isfinite(value):
            return QtGui.QColor(NO_VALUE)
        position = 0.0 if value <= 0 else (math.log10(value) - low) / (high - low)
        return self.colour_map.map(min(max(position, 0.0), 1.0), mode="qcolor")

    def _draw_text(self) -> None:
        """The tokens, each shaded by its influence on the chosen position's prediction."""
        found = self._shown
        if found is None:
            return
        matrix = np.asarray(found.matrix, dtype=np.float64)
        chosen = self.chosen_position()
        row = matrix[chosen] if chosen is not None else np.full(matrix.shape[0], np.nan)
        scroll_bar = self.text.verticalScrollBar()
        scrolled = scroll_bar.value()
        self.text.clear()
        cursor = self.text.textCursor()
        plain = QtGui.QTextCharFormat()
        self._spans = []
        for s, token in enumerate(found.tokens):
            if s > 0 and self._kind != "character":
                cursor.insertText(" ", plain)
            shown = shown_token(token, self._kind)
            form = QtGui.QTextCharFormat()
            if chosen is not None and s <= chosen and np.isfinite(row[s]):
                background = self._colour(float(row[s]))
                form.setBackground(background)
                if background.lightnessF() < 0.45:
                    form.setForeground(QtGui.QColor("white"))
            elif chosen is not None and s > chosen:
                form.setForeground(QtGui.QColor("#A0A0A0"))  # later inputs: no influence on it
            if s == chosen:
                form.setFontUnderline(True)
                form.setFontWeight(QtGui.QFont.Weight.Bold)
            start = cursor.position()
            cursor.insertText(shown, form)
            self._spans.append((start, cursor.position()))
            if token == "\n":
                cursor.insertText("\n", plain)
        self._draw_marker(chosen, matrix.shape[0])
        self._draw_readout(chosen)
        self._fit_parts()  # the text and the hover line may need other heights now
        self._scroll_to(chosen, scrolled)

    def _scroll_to(self, chosen: int | None, scrolled: int) -> None:
        """A text taller than its view scrolls by whole lines: it stays where it was (``scrolled``)
        if the chosen token's line is in view, else just enough lines to bring it in."""
        scroll_bar = self.text.verticalScrollBar()
        scroll_bar.setValue(scrolled)
        if chosen is None or chosen >= len(self._spans) or scroll_bar.maximum() <= 0:
            return
        document = self.text.document()
        margin = document.documentMargin()
        line = self._line_height(document)
        at_chosen = QtGui.QTextCursor(document)
        at_chosen.setPosition(self._spans[chosen][0])
        top = self.text.cursorRect(at_chosen).top() + scroll_bar.value()  # in the document
        index = max(round((top - margin) / line), 0)
        # The view is whole lines and one margin tall: line ``first`` at its top edge.
        shown = max(math.floor((self.text.viewport().height() - margin) / line), 1)
        first = max(round((scroll_bar.value() - margin) / line), 0)
        if index < first:
            first = index
        elif index >= first + shown:
            first = index - shown + 1
        scroll_bar.setValue(min(round(margin + first * line) if first else 0, scroll_bar.maximum()))

    def _heat_least_height(self) -> int:
        """The canvas height at which the heatmap is readable: its view as tall as the longer of
        the vertical axis titles ("position t", "influence"), plus the bottom axis."""
        font = QtGui.QFont(self.widget.font())
        font.setPointSize(self._font_pt)
        metrics = QtGui.QFontMetrics(font)
        titles = max(metrics.horizontalAdvance("position t"), metrics.horizontalAdvance("influence"))
        bottom = self.heat.getAxis("bottom")
        return titles + 2 * LABEL_GAP_PX + int(bottom.height()) + HEAT_SLACK_PX

    def _fit_parts(self) -> None:
        """Share the panel's height so that nothing overlaps and the heatmap stays readable.

        The summary takes what it needs; the heatmap gets at least
        :meth:`_heat_least_height`; the text takes whole lines of what is left (up to 40% of the
        panel, or all of it when the text is shorter), and scrolls for the rest. The hover line
        is shown only if the text still gets two lines (or all of it) beside it; otherwise its
        words are the tooltip of the text and the heatmap. The field for typed text is shown for a
        text model, unless even one line of text would not fit beside it (large text in a small
        dock) while no typed text is in use. Heights are set only when they change, as a new one
        lays out the dock again.
        """
        if self._fitting or self.widget.height() <= 0:
            return
        self._fitting = True
        try:
            margins = self.layout.contentsMargins()
            spacing = self.layout.spacing()
            width = self.widget.width() - margins.left() - margins.right()
            first = self.layout.itemAt(0)
            header = first.layout() if first is not None else None
            assert header is not None  # the summary row, made in __init__
            header_height = header.heightForWidth(width) if header.hasHeightForWidth() \
                else header.sizeHint().height()
            room = self.widget.height() - margins.top() - margins.bottom() - header_height - 2 * spacing
            room -= self._heat_least_height()

            # Measured on a copy: the text view lays out its own document (a scroll bar's width less).
            document = self.text.document().clone()
            scroll_bar = self.text.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
            document.setTextWidth(max(width - 2 * self.text.frameWidth() - scroll_bar, 1))
            frame = 2 * self.text.frameWidth() + 2
            margin = 2 * document.documentMargin()
            wanted = math.ceil(document.size().height()) + frame
            line = self._line_height(document)
            one_line = min(wanted, math.ceil(line + margin / 2) + 2 * self.text.frameWidth())
            two_lines = min(wanted, math.ceil(2 * line + margin) + frame)

            field_height = self.typed.sizeHint().height() + spacing
            in_use = self._typed_text is not None or self.typed.hasFocus() or bool(self.typed.text())
            show_field = self.typed.isEnabled() and (in_use or room - field_height >= one_line)
            if show_field:
                room -= field_height
            if show_field == self.typed.isHidden():
                self.typed.setVisible(show_field)
            readout_height = self.readout.heightForWidth(width) + spacing
            show_readout = self._readout_needed or room - readout_height >= two_lines
            if show_readout:
                room -= readout_height
            room = min(room, max(int(0.4 * self.widget.height()), two_lines))
            if wanted > room:  # whole lines only (see _scroll_to): a half-drawn line looks broken
                lines = max(math.floor((room - frame - margin) / line), 1)
                wanted = math.ceil(lines * line + margin / 2) + 2 * self.text.frameWidth()
            if wanted != self.text.height():
                self.text.setFixedHeight(wanted)
            if show_readout != self._readout_shown:
                self._readout_shown = show_readout
                self.readout.setVisible(show_readout)
                self._set_readout(self.readout.text(), self._readout_needed)
        finally:
            self._fitting = False

    def _line_height(self, document: QtGui.QTextDocument) -> float:
        """The height of one line of the laid-out text (shaded tokens are taller than the font's
        line spacing)."""
        document.size()  # lays it out
        count, block = 0, document.firstBlock()
        while block.isValid():
            count += block.layout().lineCount() if block.layout() is not None else 0
            block = block.next()
        height = document.size().height() - 2 * document.documentMargin()
        return height / count if count and height > 0 else float(self.text.fontMetrics().lineSpacing())

    def _set_readout(self, text: str, needed: bool = False) -> None:
        """What the hover line says; a hidden line's words are the tooltip of the text and the
        heatmap. ``needed``: a message about typed text, shown even when the panel is short."""
        self.readout.setText(text)
        if needed != self._readout_needed:
            self._readout_needed = needed
            self._fit_parts()
        tip = HOVER_HINT if self._readout_shown or text == HOVER_HINT else f"{text}<br>{HOVER_HINT}"
        self.text.setToolTip(tip)
        self.view.setToolTip("" if self._readout_shown else tip)

    def _colour_bar_ticks(self, low: float, high: float, size: float) -> list:
        """The colour bar's labelled decades (``log_colour_bar_ticks``), thinned until two labels
        are a line of text and a gap apart: a short bar once wrote "0.1" over "0.001"."""
        values = list(log_colour_bar_ticks(low, high, size)[0][1])
        span = abs(high - low)
        if len(values) < 2 or span <= 0 or size <= 0:
            return [(1.0, values)]
        tick_font = self.colour_bar.axis.style.get("tickFont") or QtGui.QFont()
        needed = QtGui.QFontMetricsF(tick_font).height() + LABEL_GAP_PX
        gap = float(np.min(np.diff(sorted(values)))) / span * size
        every = max(math.ceil(needed / max(gap, 1e-9)), 1)
        if every * gap > size:  # room for one label only: the top one (the strongest influence)
            return [(1.0, [max(values)])]
        top_first = sorted(values, reverse=True)
        return [(1.0, sorted(top_first[::every]))]

    def _draw_marker(self, chosen: int | None, steps: int) -> None:
        if chosen is None:
            self.marker.setData([], [])
            return
        right, top, bottom = chosen + 0.5, chosen - 0.5, chosen + 0.5  # the row's cells k = 0 … t
        self.marker.setData([-0.5, right, right, -0.5, -0.5], [top, top, bottom, bottom, top])

    def _draw_readout(self, chosen: int | None) -> None:
        found = self._shown
        if found is None or chosen is None:
            self._set_readout(HOVER_HINT)
            return
        row = np.asarray(found.matrix, dtype=np.float64)[chosen]
        token = html.escape(readable(found.tokens[chosen], self._kind))
        where = f"position {chosen} (after “{token}”"
        if chosen < len(found.targets):
            where += f", predicting “{html.escape(readable(found.targets[chosen], self._kind))}”"
        where += ")"
        if not np.isfinite(row).any():
            self._set_readout(f"{where}: no prediction is scored here, only at the last position")
            return
        strongest = int(np.nanargmax(row))
        name = html.escape(readable(found.tokens[strongest], self._kind))
        kept = self._pinned == chosen and self._hovered is None
        pinned = " · kept (click it again to release)" if kept else ""
        self._set_readout(f"{where}: the strongest influence is “{name}”, {chosen - strongest} back "
                          f"({fmt(float(row[strongest]))}){pinned}")

    # -------------------------------------------------------------------- mouse
    def token_at(self, point: QtCore.QPoint) -> int | None:
        """The token whose characters are under ``point`` (viewport coordinates)."""
        cursor = self.text.cursorForPosition(point)
        position = cursor.position()
        if self.text.cursorRect(cursor).x() > point.x():
            position -= 1  # the caret is after the character the pointer is on
        for index, (start, stop) in enumerate(self._spans):
            if start <= position < stop:
                return index
        return None

    def _hover(self, position: int | None) -> None:
        if position != self._hovered:
            self._hovered = position
            self._draw_text()

    def pin(self, position: int | None) -> None:
        """Keep showing ``position`` when the mouse leaves (the same position again releases it)."""
        self._pinned = None if position is None or position == self._pinned else position
        self._hovered = None
        self._draw_text()

    def _heat_row(self, scene_pos) -> int | None:
        if self._shown is None or not self.heat.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.heat.vb.mapSceneToView(scene_pos)
        row = math.floor(point.y() + 0.5)
        return row if 0 <= row < np.asarray(self._shown.matrix).shape[0] else None

    def _heat_mouse_moved(self, scene_pos) -> None:
        self._hover(self._heat_row(scene_pos))

    def _heat_clicked(self, event) -> None:
        self.pin(self._heat_row(event.scenePos()))

    # ------------------------------------------------------------------- fonts
    def set_font_size(self, font_pt: int) -> None:
        super().set_font_size(font_pt)
        if self._kind == "character":
            font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        else:
            font = QtGui.QFont(self.widget.font())
        # Text is read from the back of a room; a wave's values only need to be found.
        font.setPointSize(font_pt + (2 if self._kind == "value" else 8))
        self.text.setFont(font)
        self.text.document().setDefaultFont(font)
        self._draw_text()
        self._fit_parts()


class _TextMouse(QtCore.QObject):
    """Hover and click on the text view: the position whose influences are shown."""

    def __init__(self, panel: ConnectivityPanel) -> None:
        super().__init__()
        self.panel = panel

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if kind == QtCore.QEvent.Type.MouseMove and isinstance(event, QtGui.QMouseEvent):
            self.panel._hover(self.panel.token_at(event.position().toPoint()))
        elif kind == QtCore.QEvent.Type.Leave:
            self.panel._hover(None)
        elif kind == QtCore.QEvent.Type.MouseButtonPress and isinstance(event, QtGui.QMouseEvent):
            self.panel.pin(self.panel.token_at(event.position().toPoint()))
        return False
