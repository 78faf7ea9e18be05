"""What every panel shares: a widget with a one-line live summary, colours, readable axes.

A panel is a plain Python object owning ``widget``; its only input is ``update(data)``
with the current :class:`~rnnviz.app.run_data.RunData`. (It is not a QWidget subclass, so
its ``update`` never shadows ``QWidget.update``.)
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets, pg
from rnnviz.app.run_data import RunData
from rnnviz.app.steady_label import SteadyLabel

# Okabe-Ito: distinguishable with the common colour-vision deficiencies and on projectors.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#7F7F7F"
PARAM_COLOURS = {"W_xh": ORANGE, "W_hh": BLUE, "W_hy": GREEN, "b_h": PURPLE, "b_y": SKY}

DEFAULT_FONT_PT = 10
SUMMARY_HZ = 5.0  # live summaries: fast enough to follow, slow enough to read


def pen(colour: str, width: float = 1, dashed: bool = False, alpha: int = 255) -> QtGui.QPen:
    qcolour = QtGui.QColor(colour)
    qcolour.setAlpha(alpha)
    p = pg.mkPen(qcolour, width=width)
    if dashed:
        p.setStyle(pg.QtCore.Qt.PenStyle.DashLine)
    p.setCosmetic(True)
    return p


def fmt(value: float, digits: int = 3) -> str:
    """Compact, exact-enough numbers for labels: 0.00123 → 1.23e-3, 1234.5 → 1.23e+3."""
    if value is None or not math.isfinite(value):
        return "—" if value is None or math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.{digits}g}"


def style_plot(plot: pg.PlotItem, font_pt: int) -> None:
    """Tick and label fonts big enough to read from the back of a classroom."""
    tick_font = QtGui.QFont()
    tick_font.setPointSize(max(font_pt - 1, 7))
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setStyle(tickFont=tick_font, tickTextOffset=4)
        axis.setTextPen("#202020")
        style = {**axis.labelStyle, "font-size": f"{font_pt}pt"}
        shown = axis.label.isVisible()
        axis.setLabel(axis.labelText, units=axis.labelUnits, unitPrefix=axis.labelUnitPrefix, **style)
        axis.showLabel(shown)
    if plot.legend is not None:
        plot.legend.setLabelTextSize(f"{max(font_pt - 1, 7)}pt")


def new_view() -> pg.GraphicsLayoutWidget:
    """A plot canvas that repaints whole, not just the items that changed.

    In a live panel nearly every item changes every frame anyway, and with pyqtgraph's
    minimal updates the view computes an exposed region item by item and then paints
    through that ragged clip, which sends every large blend through Qt's thread pool and
    waits for it; a plain rectangle is painted directly. Measured with
    ``benchmarks/gui.py`` at 1920×1080: about a third more frames per second.
    """
    view = pg.GraphicsLayoutWidget()
    view.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
    return view


# Items that change far less often than the curves: kept as pixmaps (see cache_decorations).
_DECORATIONS = (pg.AxisItem, pg.LegendItem, pg.graphicsItems.LegendItem.ItemSample, pg.LabelItem, pg.TextItem,
                QtWidgets.QGraphicsTextItem)


def cache_decorations(widget: QtWidgets.QWidget) -> None:
    """Keep every axis, legend and label in ``widget``'s plots as a pixmap.

    The views repaint whole (see :func:`new_view`), and tick text is the costliest thing to
    paint; a cached item is drawn again only when it changes (a new range, new levels on a
    colour bar), and otherwise blitted.
    """
    for view in widget.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, _DECORATIONS):
                item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
TICK_GAP_PX = 6  # the least clear space between two tick labels (about one character)


def log_tick_text(value: float) -> str:
    """A tick label for a log axis: 0.02, 300, 10⁻⁵, 2·10⁻⁵ (never more than 4 characters of
    digits, so labels stay narrow)."""
    if 1e-3 <= value < 1e4:
        text = f"{value:.3g}"
        return f"{value:.0f}" if "e" in text else text
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    return power if mantissa == "1" else f"{mantissa}·{power}"


def linear_tick_text(value: float, places: int) -> str:
    """A tick label on a linear axis: 0.25, 40, 12k, 1.5M (training steps run into millions)."""
    magnitude = abs(value)
    if magnitude >= 1e4:
        for limit, suffix in ((1e6, "M"), (1e3, "k")):
            if magnitude >= limit:
                return f"{value / limit:.3g}{suffix}"
    if value == 0 or magnitude >= 1e-3:
        return f"{value:.{places}f}"
    return f"{value:.2g}"


def _nice_steps(span: float, integer: bool) -> list[float]:
    """1, 2, 5 × powers of ten from about a thousandth of ``span`` up to ``span`` itself."""
    top = math.floor(math.log10(span))
    steps = [m * 10.0 ** e for e in range(top - 3, top + 1) for m in (1, 2, 5)]
    return [s for s in steps if (not integer or s >= 1) and span / s <= 200]


def _multiples(low: float, high: float, step: float, offset: float = 0.0) -> np.ndarray:
    """offset + k·step within [low, high]."""
    first = math.ceil((low - offset) / step - 1e-9)
    last = math.floor((high - offset) / step + 1e-9)
    return np.arange(first, last + 1) * step + offset


def tick_candidates(low: float, high: float, log: bool, integer: bool = False) -> list[np.ndarray]:
    """Sets of tick values for the range [low, high]: round ones densest first, then shifted
    ones (1, 3, 5…; 2.5, 7.5…), which fit two labels where round ones would sit at the ends.

    On a log axis the values are log10 of the data: within each decade 1…9, 1-2-5, 1 (and
    every 2nd, 5th, 10th decade over wide ranges); over less than two decades also evenly
    spaced values of the data itself (0.01, 0.015, 0.02, …), so a narrow range still gets
    two or more labels.
    """
    span = high - low
    out: list[np.ndarray] = []
    shifted: list[np.ndarray] = []
    if not log:
        for step in _nice_steps(span, integer):
            out.append(_multiples(low, high, step))
            if round(step / 10 ** math.floor(math.log10(step))) != 1:
                shifted.append(_multiples(low, high, step, offset=step / 2))
    else:
        decades = range(math.floor(low), math.ceil(high) + 1)
        for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1,)):
            values = np.array([d + math.log10(m) for d in decades for m in mantissas])
            out.append(values[(values >= low - 1e-9) & (values <= high + 1e-9)])
        for every in (2, 5, 10, 20, 50):
            out.append(_multiples(low, high, every))
        shifted.append(_multiples(low, high, 2, offset=1))
        if span < 2:
            data_low, data_high = 10.0 ** low, 10.0 ** high
            for step in _nice_steps(data_high - data_low, False):
                values = _multiples(data_low, data_high, step)
                values = values[values > 0]
                if 1 < values.size <= 40:
                    out.append(np.log10(values))
    def densest_first(sets: list[np.ndarray]) -> list[np.ndarray]:
        return sorted((c for c in sets if c.size), key=lambda c: -c.size)

    return densest_first(out) + densest_first(shifted)


class ReadableAxis(pg.AxisItem):
    """An axis whose tick labels never overlap, at any size and range.

    pyqtgraph spaces ticks by the axis length alone and always draws its top level of labels,
    so a narrow plot runs "200400600800" together and a log axis spanning less than a decade
    piles up "0.01 0.009 0.008". Here the labelled ticks are the densest set of round values
    whose labels, measured in the tick font, keep ``TICK_GAP_PX`` apart; the next denser set
    is drawn as unlabelled minor ticks. On a log axis ``zero_at`` (log10 of a floor below
    all positive data) is labelled "0": zeros are drawn there (see :func:`log_floor`).
    """

    def __init__(self, orientation: str, integer: bool = False, **options) -> None:
        super().__init__(orientation, **options)
        self.integer = integer
        self.zero_at: float | None = None
        self.setStyle(maxTextLevel=0)  # labels on the chosen ticks only

    def set_zero_at(self, value: float | None) -> None:
        if value != self.zero_at:
            self.zero_at = value
            self.picture = None
            self.update()

    def _font_metrics(self) -> QtGui.QFontMetricsF:
        return QtGui.QFontMetricsF(self.style["tickFont"] or QtGui.QFont())

    def overhang(self) -> float:
        """How far past the axis's ends pyqtgraph still draws a label (it drops the rest)."""
        if self.grid is not False and self.linkedView() is not None:
            return 0.0  # the drawable area is then the axis and its view, no further
        hide = self.style["hideOverlappingLabels"]
        return 0.0 if hide is True else 15.0 if hide is False else float(hide)

    def label_extents(self, values: np.ndarray, low: float, high: float, size: float) -> tuple:
        """Each label's first and last pixel along an axis ``size`` pixels long showing [low, high]."""
        positions = (np.asarray(values, dtype=np.float64) - low) / (high - low) * size
        metrics = self._font_metrics()
        if self.orientation in ("left", "right"):
            half = np.full(positions.size, 0.8 * metrics.height() / 2)  # pyqtgraph's own text box
        else:
            texts = self.tickStrings(list(values), 1.0, 1.0)
            half = np.array([metrics.horizontalAdvance(t) for t in texts]) / 2
        return positions - half, positions + half

    def shown_labels(self, values: np.ndarray, low: float, high: float, size: float) -> np.ndarray | None:
        """The values whose labels pyqtgraph will draw (inside the axis), or None if any two of
        them would be closer than TICK_GAP_PX."""
        if values.size == 0:
            return values
        start, stop = self.label_extents(values, low, high, size)
        margin = self.overhang()
        inside = (start >= -margin - 1e-6) & (stop <= size + margin + 1e-6)
        start, stop = start[inside], stop[inside]
        if start.size > 1 and np.any(start[1:] - stop[:-1] < TICK_GAP_PX):
            return None
        return values[inside]

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        low, high = sorted((float(minVal), float(maxVal)))
        if not (math.isfinite(low) and math.isfinite(high)) or high <= low or size <= 0:
            return []
        floor = self.zero_at if self.logMode and self.zero_at is not None else None
        candidates = tick_candidates(low, high, self.logMode, self.integer)
        if floor is not None:  # nothing below the floor; the floor itself is "0"
            zero = np.array([floor]) if low - 1e-9 <= floor <= high + 1e-9 else np.empty(0)
            candidates = [np.concatenate([zero, c[c > floor + 0.3]]) for c in candidates]
            candidates = [c for c in candidates if c.size]
        chosen, minor, labelled = None, None, -1
        for index, values in enumerate(candidates):  # densest first
            shown = self.shown_labels(values, low, high, size)
            if shown is None or shown.size <= labelled:
                continue
            denser = candidates[index - 1] if index > 0 else None
            if denser is not None and not all(np.isclose(denser, v).any() for v in values):
                denser = None  # minor ticks only between the labelled ones
            chosen, minor, labelled = values, denser, shown.size
            if labelled >= 2:
                break
        if chosen is None:
            return []
        levels = [(1.0, list(chosen))]
        if minor is not None and minor.size > 1 and np.min(np.diff(minor)) / (high - low) * size >= 4:
            levels.append((1.0, [v for v in minor if not np.isclose(chosen, v).any()]))
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.logMode:
            if not values:
                return []
            step = min(np.diff(values)) if len(values) > 1 else abs(values[0]) or 1.0
            places = max(0, math.ceil(-math.log10(step) - 1e-9)) if step > 0 else 0
            return [linear_tick_text(v * scale, places) for v in values]
        zero = self.zero_at
        return ["0" if zero is not None and abs(v - zero) < 1e-9 else log_tick_text(10.0 ** v)
                for v in values]


def log_floor(values: list[np.ndarray], extra: float | None = None) -> float:
    """Where zeros are drawn on a log axis: the power of ten below the smallest positive
    value (of ``values`` and ``extra``), at least a decade below it; 1e-3 if nothing is
    positive. A zero gradient is a real, finite value, and log10(0) would not be drawn."""
    arrays = [np.asarray(x, dtype=np.float64) for x in values]
    positive = [v[(v > 0) & np.isfinite(v)] for v in arrays if len(v)]
    smallest = min((float(p.min()) for p in positive if p.size), default=math.inf)
    if extra is not None and extra > 0 and math.isfinite(extra):
        smallest = min(smallest, extra)
    if not math.isfinite(smallest):
        return 1e-3
    return 10.0 ** (math.floor(math.log10(smallest)) - 1)


ZERO_ROOM = 3.0  # a view with zeros reaches this factor below the floor: room for the "0" label


def at_floor(values: np.ndarray, floor: float) -> np.ndarray:
    """``values`` with zeros (and anything below the floor) raised to ``floor`` for drawing."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values < floor, floor, values)


def set_line(line: pg.InfiniteLine, position: float, text: str) -> None:
    """Show an InfiniteLine at ``position`` with the label ``text``.

    The line is shown before the label is set: a label ignores new text while its line is
    hidden, and would otherwise keep what it said the last time the line was visible.
    """
    line.show()
    line.setPos(position)
    line.label.setFormat(text)


VIEW_COLOUR = "#00838F"  # teal: the History bar's "you are here"


def view_marker(plot: pg.PlotItem) -> pg.InfiniteLine:
    """A vertical line at the snapshot the History bar shows (hidden while live)."""
    line = pg.InfiniteLine(angle=90, pen=pen(VIEW_COLOUR, 3), movable=False, label="",
                           labelOpts={"position": 0.95, "color": VIEW_COLOUR, "fill": (255, 255, 255, 220),
                                      "anchors": [(0, 0.5), (0, 0.5)]})
    line.setZValue(20)
    plot.addItem(line, ignoreBounds=True)
    line.hide()
    return line


def show_view_marker(line: pg.InfiniteLine, data: RunData) -> None:
    """Put ``line`` at the viewed snapshot's step, or hide it when the panels show live data."""
    if data.viewed is None:
        line.hide()
        return
    step = data.viewed.step
    set_line(line, step, f" viewing step {step:,} ")
    box = line.getViewBox()
    if box is not None and line.label.boundingRect().width() > box.width():
        line.label.setFormat(f" {step:,} ")  # a narrow plot: the number alone, never cut
    keep_label_inside(line, step)


def keep_label_inside(line: pg.InfiniteLine, position: float) -> None:
    """Put a vertical line's label right of it if it fits in the view, else shifted left just
    enough (at most to the axis), so it is never cut at the plot's edge."""
    box = line.getViewBox()
    if box is None:
        return
    left, right = box.viewRange()[0]
    width = max(line.label.boundingRect().width() * box.viewPixelSize()[0], 1e-9)
    side = min(max((position + width - right) / width, 0.0), max((position - left) / width, 0.0), 1.0)
    line.label.anchors = [(side, 0.5), (side, 0.5)]
    line.label.updatePosition()


def log_colour_bar_ticks(low: float, high: float, size: float) -> list:
    """Ticks for a colour bar over log10 values: decades (or 1-2-5 within them), about 20
    pixels apart or more (a ``tickValues`` for the bar's axis)."""
    low, high = sorted((low, high))
    if not high > low:
        return []
    candidates = tick_candidates(low, high, log=True)  # densest first
    spaced = [c for c in candidates if c.size >= 2 and np.min(np.diff(c)) / (high - low) * size >= 20]
    chosen: np.ndarray | list[float] = spaced[0] if spaced else candidates[-1] if candidates else []
    return [(1.0, list(chosen))]


class OnResize(QtCore.QObject):
    """Calls ``fit`` when the widget it watches is resized or shown: the panels are no QObjects,
    so this filters their widgets' events for them (parts that share a panel's height)."""

    def __init__(self, widget: QtWidgets.QWidget, fit: Callable[[], None]) -> None:
        super().__init__(widget)
        self.fit = fit
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Show):
            self.fit()
        return False


class OptionRow(QtWidgets.QWidget):
    """Labelled boxes side by side, or one under another when the panel is too narrow to show
    every entry whole: a box cut to "unit numbe" reads badly on a projector. The boxes may
    shrink below their longest entry, so the row never widens its dock (the open list still
    shows each entry whole)."""

    def __init__(self, pairs: list[tuple[QtWidgets.QLabel, QtWidgets.QComboBox]]) -> None:
        super().__init__()
        self.pairs = pairs
        self.box = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        for label, combo in pairs:
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(4)
            combo.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            row = QtWidgets.QHBoxLayout()
            row.addWidget(label)
            row.addWidget(combo, 1)
            self.box.addLayout(row, 1)

    def whole_width(self) -> int:
        """The width at which every shown box has room for its longest entry."""
        total, shown = 0, 0
        for label, combo in self.pairs:
            if label.isHidden() and combo.isHidden():
                continue
            longest = max((combo.fontMetrics().horizontalAdvance(combo.itemText(i))
                           for i in range(combo.count())), default=0)
            option = QtWidgets.QStyleOptionComboBox()
            combo.initStyleOption(option)
            size = combo.style().sizeFromContents(QtWidgets.QStyle.ContentsType.CT_ComboBox, option,
                                                  QtCore.QSize(longest, combo.fontMetrics().height()), combo)
            total += label.sizeHint().width() + self.box.spacing() + size.width()
            shown += 1
        return total + self.box.spacing() * max(shown - 1, 0)

    def arrange(self) -> None:
        wide = self.width() >= self.whole_width()
        direction = QtWidgets.QBoxLayout.Direction.LeftToRight if wide else \
            QtWidgets.QBoxLayout.Direction.TopToBottom
        if self.box.direction() != direction:
            self.box.setDirection(direction)
        # One under another, the boxes line up: every label as wide as the widest.
        labels = [label for label, _ in self.pairs]
        widest = max(label.sizeHint().width() for label in labels)
        for label in labels:
            label.setMinimumWidth(0 if wide else widest)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self.arrange()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self.arrange()


def legend_html(entries: list[tuple[str, str]]) -> str:
    """``entries`` ((swatch html, name) pairs) as one line that breaks between entries only."""
    return "&nbsp; ".join(f"{swatch}&nbsp;{unbroken(name)}" for swatch, name in entries)


def unbroken(text: str) -> str:
    """``text`` as HTML that a wrapping label never breaks: non-breaking spaces and hyphens, and
    a word joiner after each "|" (Qt breaks after one, as in "|λ| = 1")."""
    return html.escape(text).replace(" ", "&nbsp;").replace("-", "\u2011").replace("|", "|\u2060")


def legend_row(entries: list[tuple[str, str]]) -> QtWidgets.QLabel:
    """A legend as a line of coloured text above a plot: it never covers a curve or a label.
    ``entries``: (swatch html, name) pairs."""
    label = QtWidgets.QLabel(legend_html(entries))
    label.setWordWrap(True)
    return label


class LegendText:
    """A panel's legend line: its own entries, then one per compared run. The label's text is
    set only when it changes: every new text lays the dock out again."""

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        self.label = legend_row(entries)
        self.entries = list(entries)
        self.runs: list[tuple[str, str]] = []

    def set_entries(self, entries: list[tuple[str, str]]) -> None:
        """The panel's own entries (a new run's cell may change them); no compared runs yet."""
        self.entries, self.runs = list(entries), []
        self._show()

    def set_runs(self, runs: list[tuple[str, str]]) -> None:
        """(swatch html, name) per compared run drawn."""
        if runs != self.runs:
            self.runs = list(runs)
            self._show()

    def _show(self) -> None:
        text = legend_html(self.entries + self.runs)
        if text != self.label.text():
            self.label.setText(text)


def comparison_swatch(colour: str, dotted: bool = False) -> str:
    """The legend's mark for a compared run: a dashed (or dotted) line in its colour."""
    return f"<span style='color:{colour}'>{'┈┈' if dotted else '╍╍'}</span>"


def compared_series(runs: list[Any], history: str, column: str, columns: int,
                    ) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], list[np.ndarray], list[np.ndarray]]:
    """(colour, steps, values) of ``history.column`` for each compared run that has any, thinned
    to ``columns`` pixel columns; plus their step ends and values, for fitting a view range."""
    series, steps, values = [], [], []
    for run in runs:
        table = getattr(run.data, history)
        if len(table) == 0:
            continue
        x, (y,) = envelope(table.column("step"), [table.column(column)], columns)
        series.append((run.colour, x, y))
        steps.append(ends(x))
        values.append(y)
    return series, steps, values


class ComparisonCurves:
    """One dashed curve per compared run (another run of the window, drawn beside the current
    one in its own colour), made as needed and emptied when no longer used. Panels fit their
    y range to the current run only: a compared run that blew up leaves the plot at the top
    instead of flattening the run being watched."""

    def __init__(self, plot: pg.PlotItem, width: float = 2, dotted: bool = False) -> None:
        self.plot = plot
        self.width = width
        self.dotted = dotted  # a second quantity per run (σ₁ beside ρ): dots instead of dashes
        self.items: list[pg.PlotDataItem] = []
        self._drawn: list[tuple[str, bytes, bytes]] = []  # what each item shows

    def draw(self, series: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
        """``series``: (colour, x, y) per compared run, already thinned to the plot's width.
        A curve whose points did not change is left alone: a finished run's curves are the
        same every frame, and giving them to pyqtgraph again cost a Run-both window a frame
        in four."""
        while len(self.items) < len(series):
            item = dense_curve(self.plot, connect="finite")
            item.setZValue(-1)  # under the current run's curves
            self.items.append(item)
        drawn = [(colour, np.ascontiguousarray(x).tobytes(), np.ascontiguousarray(y).tobytes())
                 for colour, x, y in series]
        for i, (item, (colour, x, y)) in enumerate(zip(self.items, series, strict=False)):
            before = self._drawn[i] if i < len(self._drawn) else None
            if before == drawn[i]:
                continue
            if before is None or before[0] != colour:
                line = pen(colour, self.width, dashed=True)
                if self.dotted:
                    line.setStyle(Qt.PenStyle.DotLine)
                item.setPen(line)
            item.setData(x, y)
        for item in self.items[len(series):len(self._drawn)]:
            item.setData([], [])
        self._drawn = drawn


def new_plot(x_label: str, y_label: str, integer_x: bool = False, integer_y: bool = False) -> pg.PlotItem:
    """A PlotItem with labelled axes whose tick labels never overlap, a light grid and the
    fast-drawing options. ``integer_x``/``integer_y``: ticks only at whole numbers (timesteps,
    units)."""
    plot = pg.PlotItem(axisItems={"bottom": ReadableAxis("bottom", integer=integer_x),
                                  "left": ReadableAxis("left", integer=integer_y)})
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom"):
        plot.getAxis(name).enableAutoSIPrefix(False)  # plain numbers: no "(x0.001)" rescaling
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    plot.hideButtons()
    plot.setMenuEnabled(True)
    return plot


def dense_curve(plot: pg.PlotItem, **options) -> pg.PlotDataItem:
    """A curve of one point per training step, given :func:`envelope` data to draw.

    pyqtgraph's own auto-downsampling is left on as a backstop at one min/max pair per pixel
    column (its default keeps five, which only costs time).
    """
    return plot.plot(autoDownsampleFactor=1.0, **options)


def plot_columns(plot: pg.PlotItem) -> int:
    """The plot area's width in device pixels: how many columns a curve can show."""
    return max(int(plot.getViewBox().width()), 16)


def ends(x: np.ndarray) -> np.ndarray:
    """The first and last of increasing values: all a view range needs of them."""
    return x[[0, -1]] if len(x) else x


def envelope(x: np.ndarray, ys: list[np.ndarray], columns: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each curve reduced to the minimum and maximum of every bucket of steps, with at most
    ``columns`` buckets: exactly what a plot ``columns`` pixels wide can show of it.

    A 20,000-row history drawn in a 600-pixel plot is 1,200 points instead of 20,000; every
    spike is kept (it is its bucket's maximum), and so are each curve's overall extremes, so
    a view range fitted to the result fits the data. NaN values are skipped within a bucket
    (a bucket of nothing but NaN stays NaN); an infinite value is its bucket's extreme, so
    either way the curve shows a gap there with ``connect="finite"``.
    ``x`` must be increasing; each bucket is drawn at its first step.
    """
    n = len(x)
    if n <= 2 * columns:
        return x, list(ys)
    size = -(-n // columns)  # ceil: steps per bucket
    starts = np.arange(0, n, size)
    x_out = np.repeat(np.asarray(x)[starts], 2)
    out = []
    for y in ys:
        low, high = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)  # fmin/fmax skip NaN
        pairs = np.empty(2 * starts.size)
        pairs[0::2], pairs[1::2] = low, high
        out.append(pairs)
    return x_out, out


class Panel:
    """A titled view of the run; subclasses build their widgets and implement ``update``."""

    title = ""
    key = ""  # file and settings name, e.g. "loss"

    def __init__(self) -> None:
        self.widget = QtWidgets.QWidget()
        self.widget.setObjectName(f"panel-{self.key}")
        self.layout = QtWidgets.QVBoxLayout(self.widget)
        self.layout.setContentsMargins(6, 4, 6, 4)
        self.layout.setSpacing(4)
        self.summary = SteadyLabel()
        header = QtWidgets.QHBoxLayout()  # the summary, and a "?" that opens this panel's help
        header.setSpacing(2)
        header.addWidget(self.summary, 1)
        self.help_button = QtWidgets.QToolButton()
        self.help_button.setText("?")
        self.help_button.setAutoRaise(True)
        self.help_button.setToolTip(f"What the {self.title} panel shows and how to read it")
        self.help_button.clicked.connect(lambda: self.on_help(self.key) if self.on_help else None)
        header.addWidget(self.help_button, 0, Qt.AlignmentFlag.AlignTop)
        self.layout.addLayout(header)
        self.on_help: Callable[[str], object] | None = None  # the window: open the help at this panel
        self.plots: list[pg.PlotItem] = []
        self._data: RunData | None = None
        self._version = -1
        self._font_pt = DEFAULT_FONT_PT
        self._pending_summary: str | None = None
        self._summary_shown_at = -math.inf
        self.on_invalidate: Callable[[], None] | None = None  # the window: redraw soon
        # Other runs of the window to draw beside the current one (RunEntry: data, name, colour);
        # panels that can put several runs on one axis use them, the others ignore them.
        self.comparisons: list[Any] = []

    def invalidate(self) -> None:
        """Draw again at the next frame (a view option changed), even while paused."""
        self._version = -1
        if self.on_invalidate is not None:
            self.on_invalidate()

    def needs_redraw(self, data: RunData) -> bool:
        """True once per new batch (or a new run); also notes that the redraw happened."""
        fresh_run = data is not self._data
        if not fresh_run and data.version == self._version:
            return False
        if fresh_run:
            self._data = data
            self._summary_shown_at = -math.inf  # a new run's first numbers show at once
            self.set_summary(self.waiting_summary(data))  # nothing of the old run's text stays
            self.start_run(data)
        self._version = data.version
        return True

    def set_comparisons(self, runs: list[Any]) -> None:
        """The runs to draw beside the current one changed (shown, hidden, renamed, added)."""
        self.comparisons = list(runs)
        self.invalidate()

    def start_run(self, data: RunData) -> None:
        """A new trainer (reset, checkpoint): forget the old run's items and state."""

    def waiting_summary(self, data: RunData) -> str:
        """The summary of a run that has no steps yet (replaces the previous run's text)."""
        return f"step {data.step:,} · waiting for the first training step"

    def update(self, data: RunData) -> None:
        raise NotImplementedError

    def set_summary(self, html: str) -> None:
        self._pending_summary = None
        if html != self.summary.text():
            self.summary.setText(html)

    def set_live_summary(self, html: str) -> None:
        """A summary that changes with every batch: shown at most SUMMARY_HZ times a second.

        Numbers that change 30 times a second cannot be read, and every new text makes Qt lay
        out the label and its dock again; :meth:`flush_summary` shows the latest one when due.
        """
        self._pending_summary = html
        self.flush_summary()

    def flush_summary(self, force: bool = False) -> None:
        if self._pending_summary is None:
            return
        now = time.monotonic()
        if force or now - self._summary_shown_at >= 1.0 / SUMMARY_HZ:
            self._summary_shown_at = now
            self.set_summary(self._pending_summary)

    def set_font_size(self, font_pt: int) -> None:
        self._font_pt = font_pt
        font = QtGui.QFont(self.widget.font())
        font.setPointSize(font_pt + 1)
        self.summary.setFont(font)
        for plot in self.plots:
            style_plot(plot, font_pt)


def _snap_outward(low: float, high: float) -> tuple[float, float]:
    """Widen [low, high] to a coarse grid (a twentieth of a power of ten of the span), so that a
    slowly growing curve keeps the same range for many frames."""
    span = high - low
    if span <= 0:
        span = abs(high) if high != 0 else 1.0
        low, high = low - span / 2, high + span / 2
    grid = 10 ** math.floor(math.log10(span)) / 2
    return math.floor(low / grid) * grid, math.ceil(high / grid) * grid


class StableRange:
    """Sets a plot's view range itself, and only when the data leave it or shrink well inside.

    pyqtgraph's auto-range moves the view a little on every new point, and every move makes
    the axes lay out and paint their tick labels again, the costliest part of a frame. Here
    the range changes in coarse jumps, so most frames repaint only the curves.
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.current: tuple[float, float, float, float] | None = None
        plot.disableAutoRange()

    def reset(self) -> None:
        self.current = None

    def fit(self, x: list, y: list, log_y: bool = False) -> None:
        """``x`` and ``y``: lists of arrays (one per curve) in data units."""
        bounds = []
        for values, log in ((x, False), (y, log_y)):
            parts = [np.asarray(v, dtype=np.float64).ravel() for v in values if len(v)]
            data = np.concatenate(parts) if parts else np.empty(0)
            if log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    data = np.log10(data)
            data = data[np.isfinite(data)]
            if data.size == 0:
                return
            bounds.append((float(data.min()), float(data.max())))
        (x_lo, x_hi), (y_lo, y_hi) = bounds
        if self.current is not None:
            cx_lo, cx_hi, cy_lo, cy_hi = self.current
            inside = cx_lo <= x_lo and x_hi <= cx_hi and cy_lo <= y_lo and y_hi <= cy_hi
            snug = (x_hi - x_lo) >= 0.5 * (cx_hi - cx_lo) and (y_hi - y_lo) >= 0.5 * (cy_hi - cy_lo)
            if inside and snug:
                return
        x_range = _snap_outward(x_lo, x_hi)
        y_range = _snap_outward(y_lo, y_hi)
        self.current = (*x_range, *y_range)
        self.plot.setRange(xRange=x_range, yRange=y_range, padding=0.02)
