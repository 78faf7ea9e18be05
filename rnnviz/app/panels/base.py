"""What every panel shares: a widget with a one-line live summary, colours, readable axes.

A panel is a plain Python object owning ``widget``; its only input is ``update(data)``
with the current :class:`~rnnviz.app.run_data.RunData`. (It is not a QWidget subclass, so
its ``update`` never shadows ``QWidget.update``.)
"""

from __future__ import annotations

import math
import time

import numpy as np

from rnnviz.app.qt import QtGui, QtWidgets, pg
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
        axis.labelStyle["font-size"] = f"{font_pt}pt"
        axis._updateLabel()
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


def new_plot(x_label: str, y_label: str) -> pg.PlotItem:
    """A PlotItem with labelled axes, a light grid and the fast-drawing options."""
    plot = pg.PlotItem()
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
        self.layout.addWidget(self.summary)
        self.plots: list[pg.PlotItem] = []
        self._data: RunData | None = None
        self._version = -1
        self._font_pt = DEFAULT_FONT_PT
        self._pending_summary: str | None = None
        self._summary_shown_at = -math.inf

    def needs_redraw(self, data: RunData) -> bool:
        """True once per new batch (or a new run); also notes that the redraw happened."""
        fresh_run = data is not self._data
        if not fresh_run and data.version == self._version:
            return False
        if fresh_run:
            self._data = data
            self._summary_shown_at = -math.inf  # a new run's first numbers show at once
            self.start_run(data)
        self._version = data.version
        return True

    def start_run(self, data: RunData) -> None:
        """A new trainer (reset, checkpoint): forget the old run's items and state."""

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
