"""Gradient norms per parameter and overall, before and after clipping, on a log axis.

The clip threshold is a line; steps where clipping fired are a red band along the bottom
of the plot (on the curve, a mark per step would cover it when clipping fires on every
step), and the summary says on what fraction of steps it fired (overall and recently).
Zero norms are real values: they are drawn on the axis's "0" floor.

Each cell's own parameters have a curve: the vanilla cell's b_h, the gated cells' b_xh and b_hh
(PyTorch's two bias vectors). In the LSTM both biases add to the same pre-activation, so their
gradients are equal: b_hh's thin line runs inside b_xh's wide one.
"""

from __future__ import annotations

import math
import time

import numpy as np

from rnnviz.app.panels.base import (
    BLACK,
    GREY,
    PARAM_COLOURS,
    PURPLE,
    VERMILION,
    ZERO_ROOM,
    ComparisonCurves,
    LegendText,
    Panel,
    StableRange,
    at_floor,
    compared_series,
    comparison_swatch,
    dense_curve,
    ends,
    envelope,
    fmt,
    log_floor,
    new_plot,
    new_view,
    pen,
    plot_columns,
    set_line,
    show_view_marker,
    view_marker,
)
from rnnviz.app.qt import QtWidgets, pg
from rnnviz.app.run_data import RECENT_WINDOW, RunData
from rnnviz.training.metrics import ALL_PARAM_NAMES, param_names

CLIP_MARKS_HZ = 4.0
WINE = "#882255"  # Paul Tol's: apart from PURPLE for colour-blind readers too
COLOURS = {**PARAM_COLOURS, "b_xh": PURPLE, "b_hh": WINE}
EQUAL_BIAS_WIDTH = 3.0  # the LSTM's b_xh line: wide, so the equal b_hh line shows inside it


class GradientNormsPanel(Panel):
    title = "Gradient norms"
    key = "gradients"

    def __init__(self) -> None:
        super().__init__()
        options = QtWidgets.QHBoxLayout()
        self.show_params_after = QtWidgets.QCheckBox("each after clipping")
        self.show_params_after.setToolTip("Also draw each parameter's gradient norm after clipping "
                                          "(dashed)")
        self.show_params_after.toggled.connect(self._toggle_after)
        options.addWidget(self.show_params_after)
        options.addStretch(1)
        self.layout.addLayout(options)

        self.view = new_view()
        self.plot = new_plot("training step", "gradient norm ‖g‖")
        self.plot.setLogMode(y=True)
        self.view.addItem(self.plot)
        self.layout.addWidget(self.view, 1)
        self.plots.append(self.plot)
        # The legend is a line of coloured text above the plot: it never covers the curves in a
        # narrow dock, and an exported PNG of the panel still carries it.
        self.legend_text = LegendText([])  # the cell's parameters (start_run), then compared runs
        self.legend = self.legend_text.label
        self.layout.insertWidget(self.layout.indexOf(self.view), self.legend)
        # A curve for every cell's parameters; ``before`` and ``after`` hold those of the run's cell
        # (see start_run), and the others are hidden.
        self._all_before: dict[str, pg.PlotDataItem] = {}
        self._all_after: dict[str, pg.PlotDataItem] = {}
        for name in ALL_PARAM_NAMES:
            self._all_before[name] = dense_curve(self.plot, pen=pen(COLOURS[name], 1), name=name,
                                                 connect="finite")
        for name in ALL_PARAM_NAMES:
            curve = dense_curve(self.plot, pen=pen(COLOURS[name], 1, dashed=True), connect="finite")
            curve.hide()
            self._all_after[name] = curve
        self.names: tuple[str, ...] = ()
        self.before: dict[str, pg.PlotDataItem] = {}
        self.after: dict[str, pg.PlotDataItem] = {}
        self._show_params("rnn")
        self.compared = ComparisonCurves(self.plot)  # other runs' global norm before clipping
        self.viewing = view_marker(self.plot)
        self.global_before = dense_curve(self.plot, pen=pen(BLACK, 2), name="global, before clipping",
                                         connect="finite")
        self.global_after = dense_curve(self.plot, pen=pen(GREY, 2, dashed=True),
                                        name="global, after clipping", connect="finite")
        self.clip_marks = self.plot.plot(pen=pen(VERMILION, 5), connect="pairs")
        self.threshold = pg.InfiniteLine(angle=0, pen=pen(VERMILION, 1, dashed=True), movable=False,
                                         label="clip threshold",
                                         # on the side of the line facing the middle of the view,
                                         # on a light box so the curves do not hide it
                                         labelOpts={"position": 0.02, "color": VERMILION,
                                                    "fill": (255, 255, 255, 210),
                                                    "anchors": [(0, 0), (0, 1)]})
        self.threshold.setZValue(10)
        self.plot.addItem(self.threshold, ignoreBounds=True)
        self._threshold_key: tuple = ()
        self.range = StableRange(self.plot)
        self._marks_key: tuple = ()
        self._marks_at = -math.inf

    def _show_params(self, cell: str) -> None:
        """Curves and legend for the cell's own parameters; the others' curves are hidden."""
        self.names = param_names(cell)
        self.before = {name: self._all_before[name] for name in self.names}
        self.after = {name: self._all_after[name] for name in self.names}
        width = EQUAL_BIAS_WIDTH if cell == "lstm" else 1
        self._all_before["b_xh"].setPen(pen(COLOURS["b_xh"], width))
        self._all_after["b_xh"].setPen(pen(COLOURS["b_xh"], width, dashed=True))
        for name in ALL_PARAM_NAMES:
            mine = name in self.names
            self._all_before[name].setVisible(mine)
            self._all_after[name].setVisible(mine and self.show_params_after.isChecked())
            if not mine:
                self._all_before[name].setData([], [])
                self._all_after[name].setData([], [])
        swatches = [(f"<span style='color:{COLOURS[n]}'>━</span>", n) for n in self.names]
        swatches += [("<b>━</b>", "global"), (f"<span style='color:{GREY}'>┅</span>", "after clipping"),
                     (f"<span style='color:{VERMILION}'>▬</span>", "clipped"),
                     (f"<span style='color:{VERMILION}'>┄</span>", "threshold")]
        self.legend_text.set_entries(swatches)
        tip = ("Thin lines: each parameter's gradient norm; black: all together. The red band along the "
               "bottom marks the steps where clipping fired.")
        if cell == "lstm":
            tip += " The LSTM's b_xh and b_hh get equal gradients: b_hh's line runs inside b_xh's."
        self.legend.setToolTip(tip)

    def start_run(self, data: RunData) -> None:
        self._show_params(data.config.cell)
        self._threshold_key = ()
        self._marks_key = ()
        self._marks_at = -math.inf
        self.range.reset()
        for curve in (*self.before.values(), *self.after.values(), self.global_before,
                      self.global_after, self.clip_marks):
            curve.setData([], [])
        self.threshold.hide()
        self.plot.getAxis("left").set_zero_at(None)
        self.plot.setRange(xRange=(data.step, data.step + 10), yRange=(-3, 1), padding=0.02)  # log10 units

    def _toggle_after(self, on: bool) -> None:
        for curve in self.after.values():
            curve.setVisible(on)
        if self._data is not None:
            self.invalidate()
            self.update(self._data)

    def waiting_summary(self, data: RunData) -> str:
        return f"step {data.step:,} · no gradient yet"

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None:
            return
        steps = data.steps
        names = [f"grad_before.{name}" for name in self.names]
        if self.show_params_after.isChecked():
            names += [f"grad_after.{name}" for name in self.names]
        names += ["global_before", "global_after"]
        x, drawn = envelope(steps.column("step"), [steps.column(n) for n in names], plot_columns(self.plot))
        # The threshold line is today's setting, drawn across the whole curve, even while the
        # History bar shows an earlier snapshot (the summary then reads that step's norms).
        report = data.live_latest or data.latest
        threshold = report.clip_value if report.clip_mode == "norm" else None
        # A zero norm (a loss that no longer changes) has no logarithm: draw it on a floor
        # a decade below everything else, which the axis labels "0".
        has_zero = any(bool((y == 0).any()) for y in drawn)
        floor = log_floor(drawn, extra=threshold)
        self.plot.getAxis("left").set_zero_at(math.log10(floor) if has_zero else None)
        if has_zero:
            drawn = [at_floor(y, floor) for y in drawn]
        curves = dict(zip(names, drawn, strict=True))
        for name in self.names:
            self.before[name].setData(x, curves[f"grad_before.{name}"])
            if self.show_params_after.isChecked():
                self.after[name].setData(x, curves[f"grad_after.{name}"])
        self.global_before.setData(x, curves["global_before"])
        self.global_after.setData(x, curves["global_after"])
        shown = [y for n, y in curves.items() if n != "global_after"]  # after ≤ before: never the extreme
        limits = [np.array([threshold])] if threshold is not None else []
        if has_zero:
            limits.append(np.array([floor / ZERO_ROOM]))  # room below the floor for its "0" label
        series, other_x, others = compared_series(self.comparisons, "steps", "global_before",
                                                  plot_columns(self.plot))
        # (the log axis leaves zeros out; the current run's floor is for its own curves)
        others = [np.where(y > 0, y, np.nan) for y in others]
        self.compared.draw([(c, x_, y_) for (c, x_, _), y_ in zip(series, others, strict=True)])
        self.legend_text.set_runs([(comparison_swatch(run.colour), f"{run.name}: global")
                                   for run in self.comparisons])
        self.range.fit([ends(steps.column("step")), *other_x], [*shown, *limits], log_y=True)
        show_view_marker(self.viewing, data)
        self._mark_clipping(steps, final=not data.running)
        self._place_threshold(report.clip_mode, report.clip_value)
        self.set_live_summary(self._summary(data))

    @staticmethod
    def _summary(data: RunData) -> str:
        report = data.latest
        assert report is not None
        before, after = report.global_norm_before, report.global_norm_after
        if not math.isfinite(before):
            return f"step {report.step:,} · ‖g‖ is not finite: this step was not applied"
        if before == 0:
            return f"step {report.step:,} · ‖g‖ = 0: <b>the gradient is zero</b>, nothing changes"
        parts = [f"‖g‖ <b>{fmt(before)}</b>"]
        if data.viewed is not None:
            parts[0] = f"step {report.step:,} · {parts[0]}"  # the snapshot's, not the newest step's
        if report.clip_mode == "none":
            parts.append("no clipping")
            return " · ".join(parts)
        rule = (f"at norm {fmt(report.clip_value)}" if report.clip_mode == "norm"
                else f"each element to ±{fmt(report.clip_value)}")
        parts[0] += f" → <b>{fmt(after)}</b> (clip {rule})"
        colour = VERMILION if data.recent_clipped_fraction > 0.5 else "#202020"
        recent = min(RECENT_WINDOW, len(data.recent_clipped))
        whose = "the run's " if data.viewed is not None else ""  # the counts are the run's so far
        parts.append(f"fired on <b style='color:{colour}'>{data.clipped_fraction:.0%}</b> of {whose}steps "
                     f"(last {recent}: {data.recent_clipped_fraction:.0%})")
        return " · ".join(parts)

    def _mark_clipping(self, steps, final: bool) -> None:
        """A red band along the bottom of the plot over the steps where clipping fired, one
        segment per run of pixel columns in which it fired; rebuilt at most CLIP_MARKS_HZ times
        a second (clipping can fire on every step), and whenever the view's bottom moves."""
        clipped = np.flatnonzero(steps.column("clipped") > 0.5)
        bottom = self.range.current[2] if self.range.current is not None else 0.0  # log10 units
        key = (clipped.size, int(clipped[-1]) if clipped.size else -1, steps.stride, bottom)
        now = time.monotonic()
        recent = now - self._marks_at < 1.0 / CLIP_MARKS_HZ
        same_bottom = self._marks_key[3:] == (bottom,)
        if key == self._marks_key or (recent and not final and same_bottom):
            return
        self._marks_key, self._marks_at = key, now
        if not clipped.size:
            self.clip_marks.setData([], [])
            return
        x = steps.column("step")
        size = max(math.ceil(len(steps) / plot_columns(self.plot)), 1)  # stored steps per column
        column = clipped // size
        breaks = np.flatnonzero(np.diff(column) > 1)  # a gap of a whole column ends a run
        starts = np.concatenate([[0], breaks + 1])
        stops = np.concatenate([breaks, [column.size - 1]])
        xs = np.empty(2 * starts.size)  # the pen's square caps keep a lone clipped step visible
        xs[0::2], xs[1::2] = x[clipped[starts]], x[clipped[stops]]
        self.clip_marks.setData(xs, np.full(xs.size, 10.0 ** bottom))

    def _place_threshold(self, mode: str, value: float) -> None:
        key = (mode, value)
        if key == self._threshold_key:
            return
        self._threshold_key = key
        if mode == "norm" and value > 0 and math.isfinite(value):
            set_line(self.threshold, math.log10(value), f"clip threshold {fmt(value)}")  # log10 units
        else:
            self.threshold.hide()
