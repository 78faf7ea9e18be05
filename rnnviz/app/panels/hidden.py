"""Hidden state: units × timesteps of the watched sequence of the current batch, with its inputs.

Colour levels are fixed by the activation's range (tanh [-1, 1], sigmoid [0, 1], relu
[0, a round number that only changes in steps]), so a colour means the same value from one
frame to the next. Raw unit order is hard to read (the ecco lesson), so units can be sorted
by their running mean or placed next to units that behave alike.

For a gated cell the panel can show, instead of h, the LSTM's cell state c (unbounded: a
symmetric scale of round numbers that changes only in steps) or one gate's activations: the
sigmoid gates on a sequential [0, 1] scale, the tanh candidate on the symmetric [-1, 1] one.
"""

from __future__ import annotations

import html
import math
import time
from collections import deque

import numpy as np

from rnnviz.app.panels.base import GREY, VERMILION, OptionRow, Panel, fmt, new_plot, new_view
from rnnviz.app.qt import QtCore, QtGui, QtWidgets, pg
from rnnviz.app.run_data import RunData
from rnnviz.app.steady_label import SteadyLabel
from rnnviz.core.gated import CELLS, GRU, LSTM
from rnnviz.training import StepReport

ORDERINGS = ("unit number", "mean activation", "similar units together")
REORDER_SECONDS = 1.0  # sorted orders change at most this often, so rows do not flicker
VISIBLE_TOKENS = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}
PAD_LABEL = "·"  # what the sentiment task calls a padding position
HOVER_HINT = "Point at a cell to read it."
LABEL_OVERHANG_PX = 24  # how far the last input's label may reach past the plot (towards the colour bar)

GATE_ORDER = {"lstm": LSTM.gates, "gru": GRU.gates}  # the gates' blocks of StepReport.gates
SIGMOID_GATES = frozenset("ifozr")  # in [0, 1]; the candidates g and n are tanh, in [-1, 1]
NAMES = {"h": "hidden state", "c": "cell state", "i": "input gate", "f": "forget gate", "g": "candidate",
         "o": "output gate", "r": "reset gate", "z": "update gate", "n": "candidate"}
# What the "Show" menu offers (key, entry), per cell: h, the LSTM's c, then each gate in the
# cell's order; the vanilla cell has only h (no menu).
SHOWN = {cell: (("h", "h (hidden state)"), *((("c", "c (cell state)"),) if cell == "lstm" else ()),
                *((gate, f"{gate} — {NAMES[gate]}") for gate in GATE_ORDER.get(cell, ())))
         for cell in CELLS}
NEAR = 0.1  # a sigmoid gate above 1 - NEAR is "open", below NEAR "shut"
SCALE_DECAY = 0.98  # per redraw, of the colour scale of unbounded values (ReLU h, the LSTM's c)


def shown_values(report: StepReport, cell: str, key: str) -> np.ndarray | None:
    """The (T, H) values of ``key`` ("h", "c" or a gate's letter) in a report, None if absent."""
    if key == "h":
        return np.asarray(report.hidden)
    if key == "c":
        return None if report.cell_state is None else np.asarray(report.cell_state)
    if report.gates is None or key not in GATE_ORDER.get(cell, ()):
        return None
    gates = np.asarray(report.gates)
    size = gates.shape[1] // len(GATE_ORDER[cell])
    k = GATE_ORDER[cell].index(key)
    return gates[:, k * size:(k + 1) * size]


def round_up(value: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, ... at or above ``value``: a level that moves in steps."""
    top = 1.0
    while top < value and top < 1e12:
        top *= 2.5 if str(int(top))[0] == "2" else 2.0
    return top


def levels_of(key: str, activation: str, recent_max: float) -> tuple[tuple[float, float], str]:
    """Colour levels and map for what is shown: sigmoid gates on [0, 1] with a sequential map,
    tanh quantities on the symmetric [-1, 1], c on ± a round number above its recent size."""
    if key in SIGMOID_GATES:
        return (0.0, 1.0), "viridis"
    if key in ("g", "n"):
        return (-1.0, 1.0), "CET-D1"
    if key == "c":
        top = round_up(recent_max)
        return (-top, top), "CET-D1"
    levels = activation_levels(activation, recent_max)
    return levels, {"tanh": "CET-D1", "sigmoid": "viridis"}.get(activation, "inferno")


def next_scale(recent_max: float, top: float) -> float:
    """The colour scale's next size, live: it decays slowly from its recent peak, so it does not
    flicker, but drops at once to values ten times smaller (after a blow-up was rolled back and
    clipping turned on, 1e12 would otherwise draw 7 as black for a thousand redraws). A snapshot
    the History bar shows gets its own scale instead."""
    if top < 0.1 * recent_max:
        return top
    return max(SCALE_DECAY * recent_max, top)


def gated_summary(key: str, values: np.ndarray) -> str:
    """One sentence about a gate or c along the sequence shown, true of the numbers printed."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return f"{NAMES[key]} {key} is not finite"
    if key in SIGMOID_GATES:
        mean = float(finite.mean())
        open_share, shut_share = float(np.mean(finite > 1 - NEAR)), float(np.mean(finite < NEAR))
        text = (f"<b>{NAMES[key]} {key}</b>: mean <b>{mean:.2f}</b> · {key} &gt; {1 - NEAR:g} (open) "
                f"in <b>{open_share:.0%}</b> · {key} &lt; {NEAR:g} (shut) in <b>{shut_share:.0%}</b>")
        if key == "f":
            text += " · f ≈ 1 keeps c"
        return text
    magnitude = np.abs(finite)
    if key == "c":
        return (f"<b>cell state c</b>: mean |c| <b>{fmt(float(magnitude.mean()))}</b> · largest |c| "
                f"<b>{fmt(float(magnitude.max()))}</b> (c is not squashed)")
    return (f"<b>{NAMES[key]} {key}</b>: mean |{key}| <b>{float(magnitude.mean()):.2f}</b> · "
            f"<b>{float(np.mean(magnitude > 0.99)):.0%}</b> saturated (|{key}| &gt; 0.99)")


def token_label(token: str) -> str:
    return "".join(VISIBLE_TOKENS.get(ch, ch) for ch in token) if token else "·"


def activation_levels(activation: str, recent_max: float) -> tuple[float, float]:
    """Fixed colour levels for an activation's output range."""
    if activation == "tanh":
        return -1.0, 1.0
    if activation == "sigmoid":
        return 0.0, 1.0
    return 0.0, round_up(recent_max)  # relu is unbounded: a round number above what the units reach


def spaced_labels(labels: list[str], widths: list[float], cell_px: float, gap_px: float,
                  right_edge: float = math.inf) -> list[int]:
    """Which timesteps' labels to show so that none overlap, cells ``cell_px`` wide.

    Chosen from the last input backwards (where a phrase ends and the loss enters), skipping
    padding; each label is centred on its cell, keeps ``gap_px`` from its neighbour and ends
    before ``right_edge``.
    """
    chosen: list[int] = []
    left_edge = right_edge + gap_px  # the left edge of the label chosen last, in pixels
    for t in range(len(labels) - 1, -1, -1):
        if labels[t] == PAD_LABEL:
            continue
        centre = (t + 0.5) * cell_px
        if centre + widths[t] / 2 + gap_px <= left_edge:
            chosen.append(t)
            left_edge = centre - widths[t] / 2
    return sorted(chosen)


def similarity_order(history: list[np.ndarray]) -> np.ndarray:
    """Units ordered by angle in the plane of the top two principal components.

    Units that rise and fall together get similar angles and end up next to each other,
    anti-correlated ones end up far apart; a 1-D ordering that is cheap (SVD of a few
    hundred timesteps) and stable from one second to the next.
    """
    stacked = np.concatenate(history, axis=0)  # (timesteps, units)
    centred = stacked - stacked.mean(axis=0)
    if stacked.shape[0] < 2 or not np.isfinite(centred).all() or not centred.any():
        return np.arange(stacked.shape[1])
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    first = vt[0]
    second = vt[1] if vt.shape[0] > 1 else np.zeros_like(first)
    return np.argsort(np.arctan2(second, first), kind="stable")


class HiddenStatePanel(Panel):
    title = "Hidden state"
    key = "hidden"

    def __init__(self) -> None:
        super().__init__()
        self.ordering = QtWidgets.QComboBox()
        self.ordering.addItems(ORDERINGS)
        self.ordering.setToolTip("Sorting puts units with similar behaviour next to each other, "
                                 "so patterns over time become visible")
        self.ordering.currentIndexChanged.connect(self._ordering_changed)
        self.show_label = QtWidgets.QLabel("Show")
        self.shown = QtWidgets.QComboBox()
        self.shown.setToolTip("A gated cell's hidden state h, the LSTM's cell state c, or one gate's "
                              "activations at every unit and timestep")
        self.shown.currentIndexChanged.connect(self._shown_changed)
        self.options = OptionRow([(QtWidgets.QLabel("Order by"), self.ordering),
                                  (self.show_label, self.shown)])
        self.layout.addWidget(self.options)

        self.view = new_view()
        self.plot = new_plot("input at each timestep", "hidden unit", integer_y=True)
        self.plot.invertY(True)
        self.plot.setClipToView(False)
        self.plot.showGrid(x=False, y=False)
        self.plot.getAxis("bottom").setStyle(hideOverlappingLabels=LABEL_OVERHANG_PX)
        self.view.addItem(self.plot)
        self.plots.append(self.plot)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-1, 1), colorMap="CET-D1", interactive=False,
                                          label="activation h", width=16, colorMapMenu=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        self.layout.addWidget(self.view, 1)
        # Wrapped, so a long phrase does not widen the dock; a SteadyLabel, as the text changes
        # with every batch.
        self.hover = SteadyLabel(HOVER_HINT)
        palette = self.hover.palette()
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(GREY))
        self.hover.setPalette(palette)
        self.layout.addWidget(self.hover)
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)

        self._hidden: np.ndarray | None = None
        self._tokens: tuple[str, ...] = ()
        self._order: np.ndarray | None = None
        self._mean = None
        self._recent: deque[np.ndarray] = deque(maxlen=12)
        self._ordered_at = 0.0
        self._shape: tuple[int, int] | None = None
        self._levels = (-1.0, 1.0)
        self._activation = ("", "")
        self._hover_cell: tuple[int, int] | None = None
        self._tick_key: tuple = ()
        self._recent_max = 1.0
        self._key = "h"  # what the image shows
        self._cell = ""
        self._fill_shown("rnn")

    @property
    def shown_key(self) -> str:
        """What is shown: "h", "c" or a gate's letter."""
        key = self.shown.currentData()
        return key if isinstance(key, str) else "h"

    def _fill_shown(self, cell: str) -> None:
        """The menu's entries for ``cell``, keeping the choice if the cell has it (else h)."""
        if cell == self._cell:
            return
        keep = self.shown_key if self.shown.count() else "h"
        entries = SHOWN.get(cell, SHOWN["rnn"])
        self.shown.blockSignals(True)
        self.shown.clear()
        for key, text in entries:
            self.shown.addItem(text, key)
        self.shown.setCurrentIndex(max(self.shown.findData(keep), 0))
        self.shown.blockSignals(False)
        self._cell = cell
        gated = len(entries) > 1
        self.show_label.setVisible(gated)
        self.shown.setVisible(gated)
        self.options.arrange()

    def start_run(self, data: RunData) -> None:
        self._hidden, self._order, self._mean, self._shape = None, None, None, None
        self._tokens = ()
        self._hover_cell = None
        self.hover.setText(HOVER_HINT)
        self._recent.clear()
        self._activation = ("", "")
        self._tick_key = ()
        self._recent_max = 1.0
        self.image.clear()
        self.plot.getAxis("bottom").setTicks([[], []])  # the old run's inputs
        self._fill_shown(data.config.cell)

    def _shown_changed(self) -> None:
        """Another quantity: its own scale, running mean and sorted order from now on."""
        self._recent.clear()
        self._mean, self._order, self._recent_max, self._ordered_at = None, None, 1.0, 0.0
        self._shape = None
        self._hover_cell = None
        if self._data is not None:
            self.invalidate()
            self.update(self._data)

    def _ordering_changed(self) -> None:
        self._ordered_at = 0.0
        if self._data is not None and self._hidden is not None:
            self.invalidate()
            self.update(self._data)

    # ------------------------------------------------------------------ drawing
    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None:
            return
        report = data.latest
        cell = data.config.cell
        self._fill_shown(cell)
        key = self.shown_key
        hidden = shown_values(report, cell, key)  # (T, H)
        if hidden is None:
            key, hidden = "h", np.asarray(report.hidden)
        if hidden.ndim != 2 or hidden.size == 0:
            return
        self._key = key
        self._hidden, self._tokens = hidden, report.input_tokens
        steps, units = hidden.shape
        finite = hidden[np.isfinite(hidden)]
        if finite.size:
            size = np.abs(finite) if key == "c" else finite
            top = float(np.percentile(size, 99))
            self._recent_max = top if data.viewed is not None else next_scale(self._recent_max, top)
        if self._shape is None or self._shape[1] != units:
            self._order = np.arange(units)
            self._mean = None
            self._recent.clear()
        self._update_order(hidden)
        self._set_levels(key, report.activation)
        self.image.setImage(hidden.T[self._order], levels=self._levels, autoLevels=False)
        if self._shape != hidden.shape:
            self._shape = hidden.shape
            self.image.setRect(QtCore.QRectF(0, 0, steps, units))
            # Limits first: the old shape's limits would clamp a range for a bigger one.
            self.plot.setLimits(xMin=0, xMax=steps, yMin=0, yMax=units)
            self.plot.setRange(xRange=(0, steps), yRange=(0, units), padding=0)
        self._set_time_ticks()
        self._refresh_hover()
        shape = f"<b>{units} units × {steps} timesteps</b> · step {report.step:,}"
        if key != "h":
            self.set_live_summary(f"{gated_summary(key, hidden)} · {shape}")
            return
        sat = report.saturation
        what = "dead (h = 0)" if report.activation == "relu" else "saturated (f′ ≈ 0)"
        colour = VERMILION if sat > 0.5 else "#202020"
        self.set_live_summary(f"{shape} · <b style='color:{colour}'>{sat:.1%}</b> {what}")

    def _set_levels(self, key: str, activation: str) -> None:
        levels, colour_map = levels_of(key, activation, self._recent_max)
        scale = (key, activation)
        if scale != self._activation or levels != self._levels:
            if scale != self._activation:
                self.colour_bar.setColorMap(colour_map)
                axis = self.colour_bar.getAxis("left")
                label = "activation h" if key == "h" else f"{NAMES[key]} {key}"
                axis.setLabel(label, **axis.labelStyle)
            self._activation, self._levels = scale, levels
            self.colour_bar.setLevels(levels)

    def _update_order(self, hidden: np.ndarray) -> None:
        mean = hidden.mean(axis=0)
        self._mean = mean if self._mean is None else 0.9 * self._mean + 0.1 * mean
        self._recent.append(hidden)
        choice = self.ordering.currentIndex()
        now = time.monotonic()
        if choice == 0:
            self._order = np.arange(hidden.shape[1])
        elif now - self._ordered_at >= REORDER_SECONDS or self._order is None:
            self._ordered_at = now
            if choice == 1:
                assert self._mean is not None  # set above from the recent sequences
                self._order = np.argsort(-self._mean, kind="stable")
            else:
                self._order = similarity_order(list(self._recent))

    def _set_time_ticks(self) -> None:
        """Input tokens under the time axis: as many as fit without overlapping, the last
        input's always; padding is left blank (the words are what a reader needs)."""
        labels = [token_label(t) for t in self._tokens]
        if not labels:
            return
        width_px = max(self.plot.vb.width(), 50.0)
        axis = self.plot.getAxis("bottom")
        metrics = QtGui.QFontMetricsF(axis.style["tickFont"] or QtGui.QFont())
        key = (tuple(labels), round(width_px), metrics.height())
        if key == self._tick_key:
            return
        self._tick_key = key
        widths = [metrics.horizontalAdvance(label) for label in labels]
        shown = spaced_labels(labels, widths, width_px / len(labels), gap_px=metrics.horizontalAdvance(" "),
                              right_edge=width_px + LABEL_OVERHANG_PX)
        axis.setTicks([[(t + 0.5, labels[t]) for t in shown], []])
        words = [label for label in labels if label != PAD_LABEL]
        if self._hover_cell is None and self._data is not None and self._data.task.token_kind == "word":
            # Escaped: the hover is rich text, and a word model's "<s>" is a tag there.
            self.hover.setText(f"input: “{html.escape(' '.join(words))}” · {HOVER_HINT.lower()}")

    # ------------------------------------------------------------------- hover
    def _mouse_moved(self, scene_pos) -> None:
        if self._hidden is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            self._hover_cell = None
        else:
            point = self.plot.vb.mapSceneToView(scene_pos)
            t, row = math.floor(point.x()), math.floor(point.y())
            steps, units = self._hidden.shape
            self._hover_cell = (t, row) if 0 <= t < steps and 0 <= row < units else None
        self._refresh_hover()

    def hover_text(self, t: int, row: int) -> str:
        """What hovering the cell at (timestep t, displayed row) shows; live as training runs."""
        assert self._hidden is not None and self._order is not None
        unit = int(self._order[row])
        token = self._tokens[t] if t < len(self._tokens) else ""
        return (f"t = {t}   input {token_label(token)!r}   unit {unit}   "
                f"{self._key} = {fmt(float(self._hidden[t, unit]), 4)}")

    def _refresh_hover(self) -> None:
        if self._hover_cell is None or self._hidden is None:
            return
        t, row = self._hover_cell
        if t < self._hidden.shape[0] and row < self._hidden.shape[1]:
            self.hover.setText(html.escape(self.hover_text(t, row)))
