"""Gradient flow through time: ‖∂L/∂h_t‖ against t now, and against t and step over training.

A straight line on the log axis falling towards t = 0 is vanishing; rising is exploding.
The heatmap shows when that happened during training (log colour scale).
"""

from __future__ import annotations

import math

import numpy as np

from rnnviz.app.panels.base import (
    BLUE,
    GREY,
    ORANGE,
    VERMILION,
    ZERO_ROOM,
    ComparisonCurves,
    LegendText,
    Panel,
    StableRange,
    at_floor,
    comparison_swatch,
    fmt,
    log_colour_bar_ticks,
    log_floor,
    log_tick_text,
    new_plot,
    new_view,
    pen,
    show_view_marker,
    view_marker,
)
from rnnviz.app.qt import QtCore, pg
from rnnviz.app.run_data import RunData

FLAT = 1.5  # a profile within this factor end to end is "flat"
STEEP = 1e2  # and beyond a hundredfold it is vanishing or exploding


def log10_or_nan(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(values)
    out[~np.isfinite(out)] = np.nan
    return out


def shown(value: float) -> float:
    """The value as the summary prints it: comparisons are made on what the reader sees."""
    return float(fmt(value))


def flow_summary(step: int, norms: np.ndarray, aligned: bool) -> str:
    """One line on the profile ‖∂L/∂hₜ‖ over t, every claim following from the numbers in it.

    ``aligned``: only the last timestep has a loss (sentiment), so whatever reaches t = 0 came
    back through time and the end-to-end ratio is the vanishing/exploding factor. Otherwise
    every timestep has its own loss: ‖∂L/∂h₀‖ is its own loss's share plus what the later
    losses send back, so a ratio near 1 (a flat curve) means little of that reaches t = 0.
    """
    norms = np.asarray(norms, dtype=np.float64)
    head = f"step {step:,} · "
    if norms.size == 0:
        return head + "no timesteps"
    if not np.isfinite(norms).all():
        return head + "‖∂L/∂hₜ‖ is not finite"
    last = norms.size - 1
    if not norms.any():
        return head + "<b>the gradient is zero</b> at every t"
    if norms[-1] == 0:
        return head + f"‖∂L/∂h<sub>{last}</sub>‖ = 0, ‖∂L/∂h₀‖ = <b>{fmt(norms[0])}</b>"
    ratio = norms[0] / norms[-1]
    seen = shown(ratio)
    if aligned:
        if seen < 1 / STEEP:
            verdict = f": <b style='color:{BLUE}'>vanishing</b>"
        elif seen > STEEP:
            verdict = f": <b style='color:{VERMILION}'>exploding</b>"
        else:
            verdict = ""
        return head + f"‖∂L/∂h₀‖ = <b>{fmt(ratio)}×</b> ‖∂L/∂h<sub>{last}</sub>‖ (at the loss){verdict}"
    if seen > STEEP:
        verdict = f"<b style='color:{VERMILION}'>exploding</b>"
    elif seen >= FLAT:
        verdict = "later losses reach back"
    elif seen > 1 / FLAT:
        verdict = "flat: little reaches back"
    elif seen >= 1 / STEEP:
        verdict = "smaller at t = 0"
    else:
        verdict = f"<b style='color:{BLUE}'>vanishing</b>"
    return head + f"‖∂L/∂h₀‖ = <b>{fmt(ratio)}×</b> ‖∂L/∂h<sub>{last}</sub>‖ ({verdict})"


class GradientFlowPanel(Panel):
    title = "Gradient flow"  # through time: the summary and the axes say it; short for 1280 px
    key = "flow"

    def __init__(self) -> None:
        super().__init__()
        self.legend_text = LegendText([(f"<span style='color:{GREY}'>┄</span>", "at step 1"),
                                  (f"<span style='color:{BLUE}'>━●</span>", "now")])
        self.legend = self.legend_text.label
        self.layout.addWidget(self.legend)
        self.view = new_view()
        self.profile = new_plot("timestep t", "‖∂L/∂hₜ‖", integer_x=True)
        self.profile.setLogMode(y=True)
        self.profile.setClipToView(False)
        self.heat = new_plot("training step", "timestep t", integer_y=True)
        self.heat.setClipToView(False)
        self.heat.showGrid(x=False, y=False)
        # Stacked, not side by side: both keep a readable width in a narrow dock.
        self.view.addItem(self.profile, row=0, col=0)
        self.view.addItem(self.heat, row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 1)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        self.layout.addWidget(self.view, 1)
        self.plots += [self.profile, self.heat]

        self.first = self.profile.plot(pen=pen(GREY, 1, dashed=True), connect="finite")
        self.current = self.profile.plot(pen=pen(BLUE, 2), symbol="o", symbolSize=4, symbolBrush=BLUE,
                                         symbolPen=None, connect="finite")
        # The LSTM's cell state: the path the error takes back through the forget gates (the
        # "constant error carousel"), drawn beside ‖∂L/∂h_t‖ when the run's cell has one.
        self.cell_state = self.profile.plot(pen=pen(ORANGE, 2), connect="finite")
        self.compared = ComparisonCurves(self.profile)  # other runs' latest ‖∂L/∂h_t‖
        self.image = pg.ImageItem(axisOrder="row-major")
        self.heat.addItem(self.image)
        self.viewing = view_marker(self.heat)  # the History bar's snapshot, when one is viewed
        self.colour_bar = pg.ColorBarItem(values=(-3, 0), colorMap="viridis", interactive=False,
                                          label="‖∂L/∂hₜ‖", width=16, colorMapMenu=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.heat)
        # The image holds log10 values; the bar names them as gradient norms (0.01, not -2), at
        # round values (not 10^-0.5 = 0.316).
        self.colour_bar.axis.tickStrings = lambda values, scale, spacing: [
            log_tick_text(10.0 ** v) for v in values]
        self.colour_bar.axis.tickValues = log_colour_bar_ticks
        self.profile_range = StableRange(self.profile)
        self._heat_extent: tuple[float, float, int] | None = None
        self._levels: tuple[float, float] = (-3.0, 0.0)
        self._aligned = False

    def start_run(self, data: RunData) -> None:
        self.profile_range.reset()
        self._heat_extent = None
        self.first.setData([], [])
        self.current.setData([], [])
        self.cell_state.setData([], [])
        has_cell = data.config.cell == "lstm"
        entries = [(f"<span style='color:{GREY}'>┄</span>", "at step 1"),
                   (f"<span style='color:{BLUE}'>━●</span>", "‖∂L/∂hₜ‖ now" if has_cell else "now")]
        if has_cell:
            entries.append((f"<span style='color:{ORANGE}'>━</span>", "‖∂L/∂cₜ‖ now (cell state)"))
        self.legend_text.set_entries(entries)
        self.image.clear()
        self.profile.getAxis("left").set_zero_at(None)
        timesteps = data.config.seq_len
        self.profile.setRange(xRange=(0, timesteps - 1), yRange=(-3, 0), padding=0.02)  # log10 units
        self.heat.setRange(xRange=(data.step, data.step + 10), yRange=(0, timesteps), padding=0)
        self._aligned = data.task.head.startswith("last")
        where = ("Only the last step has a loss: everything at earlier t came back through time. "
                 "Timesteps are aligned at the last input: shorter phrases start later."
                 if self._aligned else
                 "Every step has its own loss; what later losses send back adds up towards t = 0, so a "
                 "flat curve means little reaches back.")
        self.summary.setToolTip(where)
        self.heat.getAxis("left").setToolTip(where)

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None:
            return
        norms = np.asarray(data.latest.dh_norms, dtype=np.float64)
        first = np.asarray(data.first_dh_norms if data.first_dh_norms is not None else np.empty(0),
                           dtype=np.float64)
        floor = log_floor([norms, first])
        has_zero = bool((norms == 0).any() or (first == 0).any())
        self.profile.getAxis("left").set_zero_at(math.log10(floor) if has_zero else None)
        drawn = at_floor(norms, floor) if has_zero else norms
        drawn_first = at_floor(first, floor) if has_zero else first
        if np.isfinite(drawn).any():
            self.current.setData(np.arange(norms.size), drawn)
        else:  # nothing drawable (the summary says it is not finite)
            self.current.setData([], [])
        self.first.setData(np.arange(first.size), drawn_first)
        cell = data.latest.dc_norms
        cell_drawn = np.empty(0)
        if cell is not None:
            cell_drawn = np.asarray(cell, dtype=np.float64)
            cell_drawn = np.where(cell_drawn > 0, cell_drawn, np.nan)  # log axis: zeros are gaps
            self.cell_state.setData(np.arange(cell_drawn.size), cell_drawn)
        room = [np.array([floor / ZERO_ROOM])] if has_zero else []  # the "0" label fits below
        other_t = self._draw_comparisons()  # (the y range is the current run's: others may leave it)
        self.profile_range.fit([np.arange(norms.size), *other_t],
                               [drawn, drawn_first, cell_drawn, *room], log_y=True)
        self._draw_heatmap(data)
        show_view_marker(self.viewing, data)
        self.set_live_summary(flow_summary(data.latest.step, norms, self._aligned))

    def _draw_comparisons(self) -> list[np.ndarray]:
        """Each other visible run's latest ‖∂L/∂h_t‖ profile (zeros as gaps on the log axis),
        dashed in its colour and named with its step in the legend."""
        series, timesteps, names = [], [], []
        for run in self.comparisons:
            latest = run.data.latest
            if latest is None or len(latest.dh_norms) == 0:
                continue
            norms = np.asarray(latest.dh_norms, dtype=np.float64)
            norms = np.where((norms > 0) & np.isfinite(norms), norms, np.nan)
            if not np.isfinite(norms).any():
                continue  # nothing to draw (a run that blew up): not named in the legend either
            t = np.arange(norms.size)
            series.append((run.colour, t, norms))
            timesteps.append(t[[0, -1]])
            names.append((comparison_swatch(run.colour), f"{run.name} (step {latest.step:,})"))
        self.compared.draw(series)
        self.legend_text.set_runs(names)
        return timesteps

    def _draw_heatmap(self, data: RunData) -> None:
        flow = data.flow
        if len(flow) == 0 or flow.width == 0:
            return
        matrix = flow.matrix.T  # (timesteps, stored steps)
        logs = log10_or_nan(matrix)
        finite = logs[np.isfinite(logs)]
        if finite.size:
            low, high = np.percentile(finite, [1, 99])
            low, high = math.floor(low * 2) / 2, math.ceil(high * 2) / 2  # half-decades: fewer jumps
            if high - low < 0.5:
                high = low + 0.5
        else:
            low, high = self._levels  # nothing positive: keep the scale, zeros drawn at its bottom
        logs[matrix == 0] = low  # a zero gradient is the bottom colour, not a hole
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
