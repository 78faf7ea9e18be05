"""Gradient flow through time: ‖∂L/∂h_t‖ against t now, and against t and step over training.

A straight line on the log axis falling towards t = 0 is vanishing; rising is exploding.
The heatmap shows when that happened during training (log colour scale).
"""

from __future__ import annotations

import math

import numpy as np

from rnnviz.app.panels.base import (
    BLACK,
    BLUE,
    GREY,
    VERMILION,
    Panel,
    StableRange,
    fmt,
    new_plot,
    new_view,
    pen,
)
from rnnviz.app.qt import QtCore, pg
from rnnviz.app.run_data import RunData


def log10_or_nan(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(values)
    out[~np.isfinite(out)] = np.nan
    return out


class GradientFlowPanel(Panel):
    title = "Gradient flow through time"
    key = "flow"

    def __init__(self) -> None:
        super().__init__()
        self.view = new_view()
        self.profile = new_plot("timestep t", "‖∂L/∂hₜ‖")
        self.profile.setLogMode(y=True)
        self.profile.setClipToView(False)
        self.heat = new_plot("training step", "timestep t")
        self.heat.setClipToView(False)
        self.heat.showGrid(x=False, y=False)
        # Stacked, not side by side: both keep a readable width in a narrow dock.
        self.view.addItem(self.profile, row=0, col=0)
        self.view.addItem(self.heat, row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 1)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        self.layout.addWidget(self.view, 1)
        self.plots += [self.profile, self.heat]

        self.profile.addLegend(offset=(8, 8), labelTextColor=BLACK, brush=(255, 255, 255, 200))
        self.first = self.profile.plot(pen=pen(GREY, 1, dashed=True), name="at step 1",
                                       connect="finite")
        self.current = self.profile.plot(pen=pen(BLUE, 2), symbol="o", symbolSize=4, symbolBrush=BLUE,
                                         symbolPen=None, name="now", connect="finite")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.heat.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-3, 0), colorMap="viridis", interactive=False,
                                          label="log₁₀ ‖∂L/∂hₜ‖", width=16, colorMapMenu=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.heat)
        self._first_set = False
        self.profile_range = StableRange(self.profile)
        self._heat_extent: tuple[float, float, int] | None = None
        self._levels: tuple[float, float] | None = None

    def start_run(self, data: RunData) -> None:
        self._first_set = False
        self.profile_range.reset()
        self._heat_extent = None
        self.first.setData([], [])
        self.current.setData([], [])
        self.image.clear()
        aligned = data.task.head.startswith("last")
        self.heat.setLabel("left", "timestep t (aligned at the last input)" if aligned else "timestep t")
        self.summary.setToolTip(
            "Only the last step has a loss: everything at earlier t came back through time." if aligned else
            "Every step has its own loss; what later losses send back adds up towards t = 0, so a flat "
            "curve means little reaches back.")
        self._levels = None

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None:
            return
        norms = np.asarray(data.latest.dh_norms, dtype=np.float64)
        self.current.setData(np.arange(norms.size), norms)
        first = data.first_dh_norms if data.first_dh_norms is not None else np.empty(0)
        self.profile_range.fit([np.arange(norms.size)], [norms, first], log_y=True)
        if not self._first_set and data.first_dh_norms is not None:
            self._first_set = True
            self.first.setData(np.arange(data.first_dh_norms.size), data.first_dh_norms)
        self._draw_heatmap(data)
        self._summarise(data, norms)

    def _draw_heatmap(self, data: RunData) -> None:
        flow = data.flow
        if len(flow) == 0 or flow.width == 0:
            return
        logs = log10_or_nan(flow.matrix.T)  # (timesteps, stored steps)
        finite = logs[np.isfinite(logs)]
        if finite.size == 0:
            return
        low, high = np.percentile(finite, [1, 99])
        low, high = math.floor(low * 2) / 2, math.ceil(high * 2) / 2  # half-decades: fewer jumps
        if high - low < 0.5:
            high = low + 0.5
        self.image.setImage(logs, levels=(low, high), autoLevels=False)
        if (low, high) != self._levels:  # the bar and its axis redraw only when the levels move
            self._levels = (low, high)
            self.colour_bar.setLevels((low, high))
        keys = flow.keys
        first, last = float(keys[0]), float(keys[-1])
        span = max(last - first, 1.0)
        self.image.setRect(QtCore.QRectF(first, 0, span, flow.width))
        # The image stretches over the steps seen so far; move the view only in coarse jumps.
        extent = self._heat_extent
        if extent is None or first + span > extent[1] or first < extent[0] or flow.width != extent[2]:
            right = first + max(span * 1.25, 10.0)
            self._heat_extent = (first, right, flow.width)
            self.heat.setRange(xRange=(first, right), yRange=(0, flow.width), padding=0)

    def _summarise(self, data: RunData, norms: np.ndarray) -> None:
        if norms.size < 2 or not np.isfinite(norms).all() or norms[-1] <= 0:
            self.set_live_summary(f"step {data.step:,} · ‖∂L/∂hₜ‖ is not finite")
            return
        ratio = norms[0] / norms[-1]
        last = norms.size - 1
        if data.task.head.startswith("last"):
            # Only the last step has a loss: everything at t < T-1 came back through time.
            if ratio < 1e-2:
                verdict = f": <b style='color:{BLUE}'>vanishing</b>"
            elif ratio > 1e2:
                verdict = f": <b style='color:{VERMILION}'>exploding</b>"
            else:
                verdict = ""
            self.set_live_summary(f"step {data.step:,} · the gradient reaching t = 0 is <b>{fmt(ratio)}×</b> "
                                  f"the one at t = {last}, where the loss enters{verdict}")
        else:
            self.set_live_summary(f"step {data.step:,} · ‖∂L/∂h₀‖ = <b>{fmt(ratio)}×</b> "
                                  f"‖∂L/∂h<sub>{last}</sub>‖ (a flat curve: little reaches back)")
