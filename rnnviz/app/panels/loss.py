"""Loss: every step's training loss (faint), its smoothed curve, and validation from h = 0.

The validation loss starts every sequence from a zero hidden state; a model can look good
on carried state and be broken from a fresh start (ANCHORS.md), so both are on one plot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

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
    compared_series,
    comparison_swatch,
    dense_curve,
    ends,
    envelope,
    fmt,
    keep_label_inside,
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
from rnnviz.app.run_data import RunData

MAX_MARKS = 6  # the latest changes marked on the curve
MARK_COLOUR = "#5E35B1"  # violet: not a curve's colour
LEGEND = [("<span style='color:#9E9E9E'>━</span>", "each step"),
          (f"<span style='color:{BLUE}'>━</span>", "smoothed"),
          (f"<span style='color:{ORANGE}'>━●</span>", "validation, from h = 0"),
          (f"<span style='color:{GREY}'>┄</span>", "baseline")]


class LossPanel(Panel):
    title = "Loss"
    key = "loss"

    def __init__(self) -> None:
        super().__init__()
        options = QtWidgets.QHBoxLayout()
        self.log_y = QtWidgets.QCheckBox("log scale")
        self.log_y.setToolTip("Plot the loss on a logarithmic axis")
        self.log_y.toggled.connect(self._set_log)
        options.addWidget(self.log_y)
        options.addStretch(1)
        self.layout.addLayout(options)

        self.view = new_view()
        self.plot = new_plot("training step", "loss")
        self.view.addItem(self.plot)
        self.layout.addWidget(self.view, 1)
        self.plots.append(self.plot)
        # The legend is a line above the plot: inside, it covered the baseline's label.
        self.legend_text = LegendText(LEGEND)  # its own entries, then the compared runs'
        self.legend = self.legend_text.label
        self.layout.insertWidget(self.layout.indexOf(self.view), self.legend)
        self.raw = dense_curve(self.plot, pen=pen("#BDBDBD", 1), name="training loss, each step",
                               connect="finite")  # an opaque grey: alpha blending is slow to paint
        self.smoothed = dense_curve(self.plot, pen=pen(BLUE, 2), name="training loss, smoothed",
                                    connect="finite")
        self.compared = ComparisonCurves(self.plot)  # other runs' smoothed training loss
        self.val = self.plot.plot(pen=pen(ORANGE, 2), symbol="o", symbolSize=6, symbolBrush=ORANGE,
                                  symbolPen=None, name="validation loss, from h = 0", connect="finite")
        self.baseline = pg.InfiniteLine(angle=0, pen=pen(GREY, 1, dashed=True), movable=False,
                                        label="baseline",
                                        # At the right end, where the loss has fallen away from it,
                                        # on the side of the line facing the middle of the view.
                                        labelOpts={"position": 0.98, "color": GREY,
                                                   "fill": (255, 255, 255, 210),
                                                   "anchors": [(1, 0), (1, 1)]})
        self.baseline.setZValue(10)
        self.plot.addItem(self.baseline, ignoreBounds=True)
        self.divergence = pg.InfiniteLine(angle=90, pen=pen(VERMILION, 2), movable=False,
                                          label="loss non-finite",
                                          labelOpts={"position": 0.85, "color": VERMILION,
                                                     "fill": (255, 255, 255, 210),
                                                     "anchors": [(1, 0.5), (1, 0.5)]})
        self.plot.addItem(self.divergence, ignoreBounds=True)
        self.divergence.hide()
        self.viewing = view_marker(self.plot)  # the History bar's snapshot, when one is viewed
        # Changes (a live learning rate or clipping, a load, a restart): thin lines, short labels,
        # at staggered heights so neighbours do not cover each other.
        self.marks: list[pg.InfiniteLine] = []
        for i in range(MAX_MARKS):
            label_options: dict[str, object] = {"position": 0.72 - 0.1 * (i % 3), "color": MARK_COLOUR,
                       "fill": (255, 255, 255, 210), "anchors": [(0, 0.5), (0, 0.5)]}
            line = pg.InfiniteLine(angle=90, pen=pen(MARK_COLOUR, 1, dashed=True), movable=False,
                                   label="", labelOpts=label_options)
            line.hide()
            self.plot.addItem(line, ignoreBounds=True)
            self.marks.append(line)
        self._baseline_value = math.nan
        self._baseline_text = "baseline"
        self.range = StableRange(self.plot)
        self._evals_drawn: tuple = ()
        self._marks_drawn: tuple = ()

    def start_run(self, data: RunData) -> None:
        self._baseline_value = data.task.baseline_loss
        # Short: at 1280×800 with large text the axis is only a few centimetres tall.
        unit = "MSE" if data.task.head.endswith("mse") else "nats/" + (
            "phrase" if data.task.name == "sentiment" else "sequence" if data.task.name == "recall" else
            "word" if data.task.token_kind == "word" else "char")
        self.plot.setLabel("left", f"loss ({unit})")
        if data.task.head.endswith("mse"):
            text = f"predicting 0: {fmt(self._baseline_value)}"
        else:
            v = (data.task.vocab_size if data.task.name == "charlm" else
                 data.config.recall_symbols if data.task.name == "recall" else 2)
            text = f"uniform guess: ln {v} = {fmt(self._baseline_value)}"
        self._baseline_text = text
        self._place_baseline()
        self.divergence.hide()
        for line in self.marks:
            line.hide()
        self._evals_drawn = ()
        self._marks_drawn = ()
        self.range.reset()
        for curve in (self.raw, self.smoothed, self.val):
            curve.setData([], [])
        top = self._baseline_value * 1.2 if self._baseline_value > 0 else 1.0  # (NaN > 0 is False)
        empty = (math.log10(top) - 2, math.log10(top)) if self.log_y.isChecked() else (0, top)
        self.plot.setRange(xRange=(data.step, data.step + 10), yRange=empty, padding=0.02)

    def _set_log(self, on: bool) -> None:
        self.plot.setLogMode(y=on)
        self._place_baseline()
        self.range.reset()
        self.invalidate()

    def _place_baseline(self) -> None:
        value = self._baseline_value
        if not math.isfinite(value) or (self.log_y.isChecked() and value <= 0):
            self.baseline.hide()
            return
        set_line(self.baseline, math.log10(value) if self.log_y.isChecked() else value, self._baseline_text)

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or len(data.steps) == 0:
            return  # a run with no steps yet keeps its waiting summary
        steps = data.steps
        x, (raw, smoothed) = envelope(steps.column("step"),
                                      [steps.column("loss"), steps.column("smoothed_loss")],
                                      plot_columns(self.plot))
        evals = data.evals
        val = evals.column("val_loss")
        log = self.log_y.isChecked()
        # A loss of exactly 0 (a corpus of one repeated character) has no logarithm: on the log
        # axis it is drawn on a floor a decade below everything else, labelled "0".
        floor = None
        if log and any(bool((y == 0).any()) for y in (raw, smoothed, val)):
            floor = log_floor([raw, smoothed, val], extra=self._baseline_value)
            raw, smoothed, val = (at_floor(y, floor) for y in (raw, smoothed, val))
        self.plot.getAxis("left").set_zero_at(math.log10(floor) if floor is not None else None)
        self.raw.setData(x, raw)
        self.smoothed.setData(x, smoothed)
        other_x = self._draw_comparisons(floor)  # (the y range is the current run's)
        if (len(evals), floor) != self._evals_drawn:  # symbols are slow to rebuild: only when new
            self._evals_drawn = (len(evals), floor)
            self.val.setData(evals.column("step"), val)
            self.view.setToolTip(validation_tooltip(data.latest_eval.metrics if data.latest_eval else {}))
        room = [np.array([floor / ZERO_ROOM])] if floor is not None else []  # for the "0" label
        self.range.fit([ends(steps.column("step")), evals.column("step"), *other_x],
                       [raw, val, np.array([self._baseline_value]), *room], log_y=log)
        if data.divergences:
            step = data.divergences[-1]
            set_line(self.divergence, step, f" loss non-finite at step {step:,} ")
            keep_label_inside(self.divergence, step)
        self._draw_marks(data)
        show_view_marker(self.viewing, data)
        parts = [f"<b>step {data.step:,}</b>"]
        smoothed_now = steps.last("smoothed_loss")
        parts.append(f"training <b style='color:{BLUE}'>{fmt(smoothed_now)}</b>")
        if len(evals):
            parts.append(f"validation <b style='color:{ORANGE}'>{fmt(evals.last('val_loss'))}</b> "
                         f"(step {int(evals.last('step')):,})")
        else:
            parts.append(f"validation every {data.config.eval_every} steps")
        if data.latest_eval is not None and data.latest_eval.metrics.get("val_on_training_lines"):
            parts.append(f"<span style='color:{VERMILION}'>validation is on the training lines</span>")
        if data.latest is not None and not data.latest.finite:
            parts.append(f"<b style='color:{VERMILION}'>loss is non-finite: training paused</b>")
        if steps.stride > 1:
            parts.append(f"<span style='color:{GREY}'>history thinned to 1 in {steps.stride} steps</span>")
        self.set_live_summary(" · ".join(parts))

    def _draw_comparisons(self, floor: float | None) -> list[np.ndarray]:
        """The other visible runs' smoothed training loss, dashed in their colours, and their
        names in the legend. Returns their first and last steps, for the view's x range."""
        series, steps, _ = compared_series(self.comparisons, "steps", "smoothed_loss",
                                           plot_columns(self.plot))
        if floor is not None:
            series = [(colour, x, at_floor(y, floor)) for colour, x, y in series]
        self.compared.draw(series)
        self.legend_text.set_runs([(comparison_swatch(run.colour), run.name) for run in self.comparisons])
        return steps

    def _draw_marks(self, data: RunData) -> None:
        """The latest changes, each a thin line where it happened (stagger by order). Labels
        are laid out again only when the marks or the view change, not with every batch."""
        shown = [(step, text) for step, text in data.marks if step <= data.step][-MAX_MARKS:]
        key = (tuple(shown), tuple(self.plot.viewRange()[0]), self.view.width(), self._font_pt)
        if key == self._marks_drawn:
            return
        self._marks_drawn = key
        for i, line in enumerate(self.marks):
            if i < len(shown):
                step, text = shown[i]
                set_line(line, step, f" {text} ")
                line.label.setPosition(0.72 - 0.1 * (i % 3))
                keep_label_inside(line, step)
            else:
                line.hide()


def validation_tooltip(metrics: Mapping[str, float]) -> str:
    """What the validation points measure, with how many held-out windows were scored."""
    text = ("Validation loss: frozen weights, every held-out sequence started from a zero hidden "
            "state (no carried state).")
    if metrics.get("val_on_training_lines"):
        return text + (" Too few lines to hold some out (fewer than ten): validation is on the training "
                       "lines, so it cannot show overfitting.")
    if "val_lines" in metrics:
        return text + f" Scored on the {int(metrics['val_lines']):,} held-out lines (every tenth line)."
    scored, total = int(metrics.get("val_windows", 0)), int(metrics.get("val_windows_total", 0))
    if not total:
        return text
    if scored >= total:
        return text + (f" Scored on all {total:,} windows of the held-out last 10% of the text "
                       "(no sampling error).")
    se = metrics.get("val_loss_se", math.nan)
    return text + (f" Scored on {scored:,} evenly spaced of the {total:,} held-out windows, the same ones "
                   f"every time: standard error {se:.3f} against all of them. Changes along the curve "
                   "are measured on the same windows, so they are more precise than that.")
