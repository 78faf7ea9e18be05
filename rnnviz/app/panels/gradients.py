"""Gradient norms per parameter and overall, before and after clipping, on a log axis.

The clip threshold is a line; steps where clipping fired are marked on the global-norm
curve, and the summary says on what fraction of steps it fired (overall and recently).
"""

from __future__ import annotations

import math
import time

import numpy as np

from rnnviz.app.panels.base import (
    BLACK,
    GREY,
    PARAM_COLOURS,
    VERMILION,
    Panel,
    StableRange,
    dense_curve,
    ends,
    envelope,
    fmt,
    new_plot,
    new_view,
    pen,
    plot_columns,
)
from rnnviz.app.qt import QtWidgets, pg
from rnnviz.app.run_data import RECENT_WINDOW, RunData
from rnnviz.core.rnn import PARAM_NAMES

CLIP_MARKS_HZ = 4.0


class GradientNormsPanel(Panel):
    title = "Gradient norms"
    key = "gradients"

    def __init__(self) -> None:
        super().__init__()
        options = QtWidgets.QHBoxLayout()
        self.show_params_after = QtWidgets.QCheckBox("per parameter after clipping")
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
        swatches = [f"<span style='color:{PARAM_COLOURS[n]}'>━</span>&nbsp;{n}" for n in PARAM_NAMES]
        swatches += ["<b>━</b>&nbsp;global before", f"<span style='color:{GREY}'>┅</span>&nbsp;global after",
                     f"<span style='color:{VERMILION}'>▲</span>&nbsp;clipping fired",
                     f"<span style='color:{VERMILION}'>┄</span>&nbsp;threshold"]
        self.legend = QtWidgets.QLabel("&nbsp; ".join(swatches))
        self.legend.setWordWrap(True)
        self.layout.insertWidget(self.layout.indexOf(self.view), self.legend)
        self.before: dict[str, pg.PlotDataItem] = {}
        self.after: dict[str, pg.PlotDataItem] = {}
        for name in PARAM_NAMES:
            self.before[name] = dense_curve(self.plot, pen=pen(PARAM_COLOURS[name], 1), name=name,
                                            connect="finite")
        for name in PARAM_NAMES:
            curve = dense_curve(self.plot, pen=pen(PARAM_COLOURS[name], 1, dashed=True), connect="finite")
            curve.hide()
            self.after[name] = curve
        self.global_before = dense_curve(self.plot, pen=pen(BLACK, 2), name="global, before clipping",
                                         connect="finite")
        self.global_after = dense_curve(self.plot, pen=pen(GREY, 2, dashed=True),
                                        name="global, after clipping", connect="finite")
        self.clip_marks = self.plot.plot(pen=None, symbol="t", symbolSize=7, symbolPen=None,
                                         symbolBrush=VERMILION, name="clipping fired")
        self.threshold = pg.InfiniteLine(angle=0, pen=pen(VERMILION, 1, dashed=True), movable=False,
                                         label="clip threshold",
                                         labelOpts={"position": 0.02, "color": VERMILION,
                                                    "anchors": [(0, 1), (0, 1)]})
        self.plot.addItem(self.threshold, ignoreBounds=True)
        self._threshold_key: tuple = ()
        self.range = StableRange(self.plot)
        self._marks_key: tuple = ()
        self._marks_at = -math.inf

    def start_run(self, data: RunData) -> None:
        self._threshold_key = ()
        self._marks_key = ()
        self._marks_at = -math.inf
        self.range.reset()
        for curve in (*self.before.values(), *self.after.values(), self.global_before,
                      self.global_after, self.clip_marks):
            curve.setData([], [])

    def _toggle_after(self, on: bool) -> None:
        for curve in self.after.values():
            curve.setVisible(on)
        if self._data is not None:
            self._version = -1
            self.update(self._data)

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None:
            return
        steps = data.steps
        names = [f"grad_before.{name}" for name in PARAM_NAMES]
        if self.show_params_after.isChecked():
            names += [f"grad_after.{name}" for name in PARAM_NAMES]
        names += ["global_before", "global_after"]
        x, drawn = envelope(steps.column("step"), [steps.column(n) for n in names], plot_columns(self.plot))
        curves = dict(zip(names, drawn, strict=True))
        for name in PARAM_NAMES:
            self.before[name].setData(x, curves[f"grad_before.{name}"])
            if self.show_params_after.isChecked():
                self.after[name].setData(x, curves[f"grad_after.{name}"])
        self.global_before.setData(x, curves["global_before"])
        self.global_after.setData(x, curves["global_after"])
        threshold = [np.array([data.latest.clip_value])] if data.latest.clip_mode == "norm" else []
        shown = [y for n, y in curves.items() if n != "global_after"]  # after ≤ before: never the extreme
        self.range.fit([ends(steps.column("step"))], [*shown, *threshold], log_y=True)
        self._mark_clipping(steps, final=not data.running)
        report = data.latest
        self._place_threshold(report.clip_mode, report.clip_value)

        parts = [f"global ‖g‖ <b>{fmt(report.global_norm_before)}</b>"]
        if report.clip_mode == "norm":
            parts[0] += f" → <b>{fmt(report.global_norm_after)}</b> after clipping"
            rule = f"clip to norm {fmt(report.clip_value)}"
        elif report.clip_mode == "value":
            parts[0] += f" → <b>{fmt(report.global_norm_after)}</b> after clipping"
            rule = f"clip each element to ±{fmt(report.clip_value)} (no norm threshold)"
        else:
            rule = "no clipping"
        parts.append(rule)
        if report.clip_mode != "none":
            colour = VERMILION if data.recent_clipped_fraction > 0.5 else "#202020"
            parts.append(f"fired on <b style='color:{colour}'>{data.clipped_fraction:.0%}</b> of steps "
                         f"({data.recent_clipped_fraction:.0%} of the last "
                         f"{min(RECENT_WINDOW, len(data.recent_clipped))})")
        self.set_live_summary(" · ".join(parts))

    def _mark_clipping(self, steps, final: bool) -> None:
        """A triangle on the global-norm curve where clipping fired: at most one per pixel column
        (more would draw on top of each other), rebuilt at most CLIP_MARKS_HZ times a second, as
        a scatter of symbols is slow to rebuild and clipping can fire on every step."""
        clipped = np.flatnonzero(steps.column("clipped") > 0.5)
        key = (clipped.size, int(clipped[-1]) if clipped.size else -1, steps.stride)
        now = time.monotonic()
        recent = now - self._marks_at < 1.0 / CLIP_MARKS_HZ
        if key == self._marks_key or (recent and not final):  # paused: always the final marks
            return
        self._marks_key, self._marks_at = key, now
        if clipped.size:
            size = max(math.ceil(len(steps) / plot_columns(self.plot)), 1)
            first_in_column = np.flatnonzero(np.diff(clipped // size, prepend=-1))
            clipped = clipped[first_in_column]
        self.clip_marks.setData(steps.column("step")[clipped], steps.column("global_before")[clipped])

    def _place_threshold(self, mode: str, value: float) -> None:
        key = (mode, value)
        if key == self._threshold_key:
            return
        self._threshold_key = key
        if mode == "norm" and value > 0 and math.isfinite(value):
            self.threshold.setPos(math.log10(value))  # the axis is in log10 units
            self.threshold.label.setFormat(f"clip threshold {fmt(value)}")
            self.threshold.show()
        else:
            self.threshold.hide()
