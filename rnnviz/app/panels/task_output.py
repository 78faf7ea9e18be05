"""What the model does on its task, from the latest evaluation's ``preview``.

sine: truth, one-step predictions and free-running generation; sentiment: per-class
probabilities on held-out phrases and accuracy; charlm: the latest periodic sample (of
characters or words; in line mode, sampled lines), with the loss per token and perplexity;
recall: held-out sequences with the model's answer beside the right one, and accuracy against
the distance the symbol had to be remembered over, with chance marked.
"""

from __future__ import annotations

import re

import numpy as np

from rnnviz.app.panels.base import (
    BLACK,
    GREEN,
    GREY,
    ORANGE,
    SKY,
    VERMILION,
    OnResize,
    Panel,
    fmt,
    legend_row,
    new_plot,
    new_view,
    pen,
)
from rnnviz.app.qt import QtCore, QtGui, QtWidgets, pg
from rnnviz.app.run_data import RunData
from rnnviz.training import EvalReport

RECALL_X_LABEL = "distance (steps to remember)"
RECALL_X_SHORT = "distance (steps)"  # in a plot too narrow for the whole title (large text)
RECALL_Y_LABEL = "accuracy"
# A plot too short for the y title written upwards: the x title says what both axes are.
RECALL_BOTH_LABELS = ("accuracy by distance (steps)", "accuracy by distance")
PLOT_SLACK_PX = 24  # besides the left axis and the x label: the canvas's margins and the axis's


def compact_input(text: str) -> str:
    """"C A B … D ?" as "C ·39· ?": the symbol to remember, how many steps of filler follow
    it, and the question, readable in a narrow column (the row's tooltip has all of it)."""
    tokens = text.split()
    if len(tokens) < 3:
        return text
    filler = 0
    for token in tokens[1:-1]:  # the task shortens a long filler to "…(N)…": N steps
        shortened = re.fullmatch(r"…\((\d+)\)…", token)
        filler += int(shortened.group(1)) if shortened else 1
    return f"{tokens[0]} ·{filler}· {tokens[-1]}"


class TaskOutputPanel(Panel):
    title = "Task output"
    key = "task"

    def __init__(self) -> None:
        super().__init__()
        self.pages = QtWidgets.QStackedWidget()
        self.layout.addWidget(self.pages, 1)

        self.waiting = QtWidgets.QLabel("The first evaluation has not run yet.")
        self.waiting.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.waiting.setWordWrap(True)
        self.pages.addWidget(self.waiting)

        self.sine_canvas = new_view()
        self.sine_plot = new_plot("timestep", "value")
        self.sine_plot.setClipToView(False)
        self.sine_canvas.addItem(self.sine_plot)
        self.plots.append(self.sine_plot)
        # The truth is a thin black line drawn over a wider one-step prediction, so both stay
        # visible where they agree; the legend is a line above the plot, clear of the peaks.
        self.one_step = self.sine_plot.plot(pen=pen(SKY, 5), connect="finite")
        self.free_run = self.sine_plot.plot(pen=pen(ORANGE, 2, dashed=True), connect="finite")
        self.truth = self.sine_plot.plot(pen=pen(BLACK, 1.5))
        self.sine_legend = legend_row([("<b>━</b>", "truth"),
                                       (f"<span style='color:{SKY}'>█</span>", "one-step prediction"),
                                       (f"<span style='color:{ORANGE}'>┅</span>", "free-running")])
        self.sine_view = QtWidgets.QWidget()
        sine_layout = QtWidgets.QVBoxLayout(self.sine_view)
        sine_layout.setContentsMargins(0, 0, 0, 0)
        sine_layout.addWidget(self.sine_legend)
        sine_layout.addWidget(self.sine_canvas, 1)
        self.prime_line = pg.InfiniteLine(angle=90, pen=pen(GREY, 1, dashed=True), movable=False,
                                          label="free-running from here",
                                          labelOpts={"position": 0.97, "color": GREY,
                                                     "anchors": [(0, 0), (0, 0)]})
        self.sine_plot.addItem(self.prime_line, ignoreBounds=True)
        self.pages.addWidget(self.sine_view)

        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["phrase", "label", "P(positive)", ""])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.pages.addWidget(self.table)

        self.recall_table = QtWidgets.QTableWidget(0, 4)
        self.recall_table.setHorizontalHeaderLabels(["input", "right", "model", ""])
        input_header = self.recall_table.horizontalHeaderItem(0)
        if input_header is not None:
            input_header.setToolTip("the symbol to remember, how many filler steps follow it, then ?; "
                                    "point at a row for all of it")
        self.recall_table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.recall_table.verticalHeader().hide()
        self.recall_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.recall_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        header = self.recall_table.horizontalHeader()
        for col in (0, 1, 2, 3):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.recall_canvas = new_view()
        self.recall_plot = new_plot(RECALL_X_LABEL, RECALL_Y_LABEL)
        self.recall_canvas.addItem(self.recall_plot)
        self.plots.append(self.recall_plot)
        self.recall_curve = self.recall_plot.plot(pen=pen(SKY, 2), symbol="o", symbolBrush=SKY,
                                                  symbolPen=None)
        self.chance_line = pg.InfiniteLine(angle=0, pen=pen(GREY, 1, dashed=True), movable=False,
                                           label="chance", labelOpts={"position": 0.05, "color": GREY,
                                                                      "anchors": [(0, 0), (0, 1)]})
        self.recall_plot.addItem(self.chance_line, ignoreBounds=True)
        self.recall_view = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.recall_view.addWidget(self.recall_table)
        self.recall_view.addWidget(self.recall_canvas)
        self.recall_view.setChildrenCollapsible(False)
        self.recall_view.setStretchFactor(0, 3)
        self.recall_view.setStretchFactor(1, 2)
        self.pages.addWidget(self.recall_view)
        # A new size: the table and the plot side by side, or one above the other.
        self._resizes = OnResize(self.recall_view, self.arrange_recall)

        self.sample = QtWidgets.QPlainTextEdit()
        self.sample.setReadOnly(True)
        self.sample.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.pages.addWidget(self.sample)
        self._eval_step = -1

    def start_run(self, data: RunData) -> None:
        self._eval_step = -1
        self.waiting.setText(f"The first evaluation runs at step {data.config.eval_every:,}.")
        self.pages.setCurrentWidget(self.waiting)
        self.set_summary(f"<b>{data.task.name}</b>: waiting for the first evaluation")

    def set_font_size(self, font_pt: int) -> None:
        super().set_font_size(font_pt)
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(font_pt + 1)
        self.sample.setFont(mono)
        self.arrange_recall()  # the titles' lengths changed

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data):
            return
        evaluation = data.latest_eval
        if evaluation is None:
            if self._eval_step != -1:  # back (History bar) to a step before the first evaluation
                self._eval_step = -1
                step = data.latest.step if data.latest is not None else data.step
                self.waiting.setText(f"No evaluation yet at step {step:,}: the first runs at step "
                                     f"{data.config.eval_every:,}.")
                self.pages.setCurrentWidget(self.waiting)
                self.set_summary(f"<b>{data.task.name}</b>: no evaluation yet at step {step:,}")
            return
        if evaluation.step == self._eval_step:
            return
        self._eval_step = evaluation.step
        kind = evaluation.preview.get("kind")
        if kind == "sine":
            self._show_sine(evaluation)
        elif kind == "sentiment":
            self._show_sentiment(evaluation)
        elif kind == "charlm":
            self._show_sample(evaluation)
        elif kind == "recall":
            self._show_recall(evaluation)

    def _show_sine(self, evaluation: EvalReport) -> None:
        preview = evaluation.preview
        truth = np.asarray(preview["truth"])
        t = np.arange(truth.size)
        self.truth.setData(t, truth)
        self.one_step.setData(t, np.asarray(preview["one_step"]))
        self.free_run.setData(t, np.asarray(preview["free_run"]))
        # Room above the curves for the "free-running from here" label.
        values = np.concatenate([truth, np.asarray(preview["one_step"]), np.asarray(preview["free_run"])])
        values = values[np.isfinite(values)]
        if values.size:
            low, high = float(values.min()), float(values.max())
            span = max(high - low, 1e-6)
            self.sine_plot.setRange(xRange=(0, max(truth.size - 1, 1)),
                                    yRange=(low - 0.05 * span, high + 0.25 * span), padding=0)
        self.prime_line.setPos(int(preview["prime_len"]))
        self.pages.setCurrentWidget(self.sine_view)
        rmse = evaluation.metrics.get("rmse", float("nan"))
        self.set_summary(f"held-out wave at step {evaluation.step:,} · one-step RMSE <b>{fmt(rmse)}</b> · "
                         "free-running: fed its own predictions")

    def _show_sentiment(self, evaluation: EvalReport) -> None:
        preview = evaluation.preview
        classes = list(preview["classes"])
        probs = np.asarray(preview["probs"])
        positive = classes.index("positive") if "positive" in classes else probs.shape[1] - 1
        phrases, labels = preview["phrases"], preview["labels"]
        self.table.setRowCount(len(phrases))
        for row, (phrase, label) in enumerate(zip(phrases, labels, strict=True)):
            p_pos = float(probs[row, positive])
            predicted = int(np.argmax(probs[row]))
            right = predicted == int(label)
            cells = [phrase, classes[int(label)], f"{p_pos:.2f}", "✓" if right else "✗"]
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if col == 2:  # the probability as a colour from red (negative) to green (positive)
                    shade = QtGui.QColor(VERMILION) if p_pos < 0.5 else QtGui.QColor(GREEN)
                    shade.setAlpha(int(40 + 180 * abs(p_pos - 0.5) * 2))
                    item.setBackground(shade)
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                if col == 3:
                    item.setForeground(QtGui.QColor(GREEN if right else VERMILION))
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, col, item)
        self.pages.setCurrentWidget(self.table)
        accuracy = evaluation.metrics.get("accuracy", float("nan"))
        self.set_summary(f"held-out accuracy <b>{accuracy:.0%}</b> at step {evaluation.step:,} · "
                         f"validation loss {fmt(evaluation.val_loss)} · first {len(phrases)} test phrases")

    def _show_recall(self, evaluation: EvalReport) -> None:
        preview = evaluation.preview
        symbols = list(preview["symbols"])
        probs = np.asarray(preview["probs"])
        inputs, answers = preview["inputs"], preview["answers"]
        self.recall_table.setRowCount(len(inputs))
        for row, (text, answer) in enumerate(zip(inputs, answers, strict=True)):
            predicted = int(np.argmax(probs[row]))
            right = predicted == int(answer)
            cells = [compact_input(text), symbols[int(answer)],
                     f"{symbols[predicted]}  ({probs[row, predicted]:.2f})", "✓" if right else "✗"]
            for col, cell in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(cell)
                if col == 0:
                    item.setToolTip(text)
                if col == 3:
                    item.setForeground(QtGui.QColor(GREEN if right else VERMILION))
                if col:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                self.recall_table.setItem(row, col, item)
        distances = np.asarray(preview["distances"], dtype=float)
        by_distance = np.asarray(preview["accuracy_by_distance"], dtype=float)
        self.recall_curve.setData(distances, by_distance)
        chance = float(preview["chance"])
        self.chance_line.setPos(chance)
        self.recall_plot.setRange(xRange=(0, float(distances.max())), yRange=(0, 1.05), padding=0.02)
        self.pages.setCurrentWidget(self.recall_view)
        # The table as wide as its columns (and a scroll bar), the plot the rest.
        scroll_bar = self.recall_table.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        table = self.recall_table
        wanted = table.horizontalHeader().length() + 2 * table.frameWidth() + scroll_bar
        self.recall_table.setMinimumWidth(wanted)
        self.arrange_recall()
        accuracy = evaluation.metrics.get("accuracy", float("nan"))
        self.set_summary(f"held-out accuracy <b>{accuracy:.0%}</b> at distance {int(preview['distance'])} "
                         f"(chance {chance:.0%}) at step {evaluation.step:,} · validation loss "
                         f"{fmt(evaluation.val_loss)} · first {len(inputs)} held-out sequences")

    def _title_length(self, title: str) -> int:
        font = QtGui.QFont(self.widget.font())
        font.setPointSize(self._font_pt)
        return QtGui.QFontMetrics(font).horizontalAdvance(title)

    def recall_plot_least_width(self, title: str = RECALL_X_LABEL) -> int:
        """The plot's width at which nothing of it is cut: its left axis and its x title."""
        return int(self.recall_plot.getAxis("left").width()) + self._title_length(title) + PLOT_SLACK_PX

    def recall_plot_least_height(self) -> int:
        """The plot's height at which its y title ("accuracy", written upwards) is whole."""
        return int(self.recall_plot.getAxis("bottom").height()) + self._title_length(RECALL_Y_LABEL) \
            + 2 * PLOT_SLACK_PX

    def arrange_recall(self) -> None:
        """The table beside the plot where both fit side by side, else the plot under the table
        (a narrow dock once cut the plot at the window's edge)."""
        view = self.recall_view
        width = view.width() if view.isVisible() else self.pages.width()
        needed = self.recall_table.minimumWidth() + view.handleWidth() + self.recall_plot_least_width()
        orientation = QtCore.Qt.Orientation.Horizontal if width >= needed else QtCore.Qt.Orientation.Vertical
        if orientation != view.orientation():
            view.setOrientation(orientation)
            if orientation == QtCore.Qt.Orientation.Horizontal:
                view.setSizes([3, 2])
        vertical = orientation == QtCore.Qt.Orientation.Vertical
        plot_height = height = view.height() if view.isVisible() else self.pages.height()
        if vertical:  # the plot whole, the table the rest (it scrolls)
            plot_height = max(self.recall_plot_least_height(), (height - view.handleWidth()) // 2)
            sizes = [max(height - view.handleWidth() - plot_height, 0), plot_height]
            if view.sizes() != sizes:
                view.setSizes(sizes)
            table_least = self.recall_table.minimumSizeHint().height()
            plot_height = min(plot_height, height - view.handleWidth() - table_least)
        # Titles that fit: the whole x title, else a shorter one; a plot too short for the y title
        # written upwards names both axes under it.
        plot_width = width if vertical else width - needed + self.recall_plot_least_width()
        y_title = plot_height >= self.recall_plot_least_height()
        bottom, left = self.recall_plot.getAxis("bottom"), self.recall_plot.getAxis("left")
        if left.label.isVisible() != y_title:
            left.showLabel(y_title)  # the axis narrows or widens at once: measured below
        titles = (RECALL_X_LABEL, RECALL_X_SHORT) if y_title else RECALL_BOTH_LABELS
        title = next((t for t in titles if plot_width >= self.recall_plot_least_width(t)), titles[-1])
        if bottom.labelText != title:
            bottom.setLabel(title, **bottom.labelStyle)
            bottom.resizeEvent()  # pyqtgraph centres a title only when its axis is resized

    def _show_sample(self, evaluation: EvalReport) -> None:
        preview = evaluation.preview
        prime = str(preview.get("prime", ""))
        self.sample.setPlainText(prime + str(preview.get("sample", "")))
        self.pages.setCurrentWidget(self.sample)
        self.set_summary(sample_summary(evaluation))


def sample_summary(evaluation: EvalReport) -> str:
    """The task panel's line for a language model: what the sample is, the loss per token
    (character or word) with its perplexity, and where validation was measured."""
    preview, metrics = evaluation.preview, evaluation.metrics
    unit = "word" if preview.get("token_kind") == "word" else "char"
    if preview.get("lines"):
        what = f"sampled lines at step {evaluation.step:,} (temperature 1, from &lt;s&gt; to &lt;/s&gt;)"
    else:
        what = (f"sample at step {evaluation.step:,} (temperature 1, from h = 0, primed with "
                f"{str(preview.get('prime', ''))!r})")
    text = f"{what} · validation loss <b>{fmt(evaluation.val_loss)}</b> nats/{unit}"
    if "perplexity" in metrics:
        text += f" · perplexity {fmt(metrics['perplexity'])}"
    if unit == "word" and "coverage" in preview:
        text += f" · the vocabulary covers {float(preview['coverage']):.1%} of the text's words"
    if metrics.get("val_on_training_lines"):
        text += f" · <span style='color:{VERMILION}'>validation is on the training lines</span>"
    return text
