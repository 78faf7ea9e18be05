"""The Runs dock: every run of this window with its colour, settings and latest losses.

Each run takes two rows: its name (with a visibility box; double-click to rename), steps
and latest losses, then, across the table, its preset and what differs from it. Each name has
a visibility box; the current run (the one training, whose
arrays the panels show) is in bold and drawn in the panels' own colours, the others as
dashed curves in the colour of their swatch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rnnviz.app.panels.base import Panel, fmt
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets, Signal
from rnnviz.app.runs import RunEntry, RunList
from rnnviz.app.session import TrainingSession
from rnnviz.training.config import config_differences

COLUMNS = ("Run", "Steps", "Train", "Val")
SETTINGS_COLOUR = "#505050"
REFRESH_MS = 500  # steps and losses of a training run change; a table need not follow every batch


def swatch(colour: str, size: int = 14, dashed: bool = True) -> QtGui.QIcon:
    """A short line in the run's colour, dashed as its curves are."""
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pixmap)
    pen = QtGui.QPen(QtGui.QColor(colour), 3)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.drawLine(1, size // 2, size - 1, size // 2)
    painter.end()
    return QtGui.QIcon(pixmap)


class RunsDock(QtWidgets.QWidget):
    """A table over a RunList; edits (name, visibility) go back to the list."""

    run_both_requested = Signal(object)  # the RunEntry to train beside the current run
    add_file_requested = Signal()  # a saved run to add to the list

    def __init__(self, runs: RunList, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)  # (the settings row wraps: resizeRowsToContents)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
                                   | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Tick a run to draw it beside the current one (dashed, in its colour). "
                              "Double-click a name to change it.")
        layout.addWidget(self.table, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("Forget the selected run (not the one training)")
        self.remove_button.clicked.connect(self._remove_selected)
        buttons.addWidget(self.remove_button)
        self.run_both_button = QtWidgets.QPushButton("Run both")
        self.run_both_button.setToolTip("Start the current run again from step 0, and the selected run's "
                                        "settings from step 0 beside it, in a second training process")
        self.run_both_button.clicked.connect(self._run_both_selected)
        buttons.addWidget(self.run_both_button)
        self.add_button = QtWidgets.QPushButton("Add file…")
        self.add_button.setToolTip("Add a saved run (.rnnviz) to the list, to compare with the current run")
        self.add_button.clicked.connect(self.add_file_requested)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._filling = False
        self._fitted_width = -1
        self._rows: list[RunEntry] = []
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        runs.changed.connect(self.refresh)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh_numbers)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the rows (runs added, removed, renamed or shown)."""
        self._filling = True
        try:
            self._rows = list(self.runs.entries)
            self.table.clearSpans()
            self.table.setRowCount(2 * len(self._rows))
            for index, entry in enumerate(self._rows):
                row = 2 * index
                current = entry is self.runs.current
                name = QtWidgets.QTableWidgetItem(entry.name)
                name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsEditable
                              | (Qt.ItemFlag.NoItemFlags if current else Qt.ItemFlag.ItemIsUserCheckable))
                if current:
                    name.setToolTip("The run training now: the panels show its arrays, in their own colours")
                    font = name.font()
                    font.setBold(True)
                    name.setFont(font)
                else:
                    name.setCheckState(Qt.CheckState.Checked if entry.visible else Qt.CheckState.Unchecked)
                    name.setIcon(swatch(entry.colour))
                    name.setToolTip(entry.source or "Tick to draw this run beside the current one")
                self.table.setItem(row, 0, name)
                for column in range(1, len(COLUMNS)):
                    item = QtWidgets.QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self._read_only(item)
                    self.table.setItem(row, column, item)
                text = entry.settings_text
                if not current and self.runs.current is not None:
                    # What a student compares: how this run's settings differ from the one training.
                    contrast = config_differences(self.runs.current.data.config, entry.data.config)
                    if contrast:
                        text += " · from the current run: " + ", ".join(contrast)
                settings = QtWidgets.QTableWidgetItem(text)
                settings.setToolTip(text)
                settings.setForeground(QtGui.QColor(SETTINGS_COLOUR))
                self._read_only(settings)
                self.table.setItem(row + 1, 0, settings)
                self.table.setSpan(row + 1, 0, 1, len(COLUMNS))
            self._fill_numbers()
            self.table.resizeRowsToContents()
            self._fit_settings_rows()
        finally:
            self._filling = False
        self._selection_changed()

    def _fit_settings_rows(self) -> None:
        """A settings row spans the table and wraps; Qt sizes spanned rows by one column's width,
        so their height is measured here at the table's width."""
        width = max(self.table.viewport().width() - 8, 80)
        metrics = self.table.fontMetrics()
        for index in range(len(self._rows)):
            item = self.table.item(2 * index + 1, 0)
            if item is None:
                continue
            box = metrics.boundingRect(QtCore.QRect(0, 0, width, 10_000),
                                       int(Qt.TextFlag.TextWordWrap), item.text())
            self.table.setRowHeight(2 * index + 1, box.height() + 8)
        self._fitted_width = self.table.viewport().width()

    def refresh_numbers(self) -> None:
        """Steps and losses: the current run's change as it trains."""
        if self.isVisible():
            self._filling = True
            try:
                self._fill_numbers()
                if self.table.viewport().width() != self._fitted_width:  # the dock was resized
                    self._fit_settings_rows()
            finally:
                self._filling = False

    def _fill_numbers(self) -> None:
        for index, entry in enumerate(self._rows):
            row = 2 * index
            data = entry.data
            val = data.evals.last("val_loss") if len(data.evals) else math.nan
            texts = (f"{data.step:,}", fmt(data.steps.last("smoothed_loss")) if len(data.steps) else "–",
                     fmt(val) if math.isfinite(val) else "–")
            for column, text in enumerate(texts, start=1):
                item = self.table.item(row, column)
                if item is not None and item.text() != text:
                    item.setText(text)

    @staticmethod
    def _read_only(item: QtWidgets.QTableWidgetItem) -> None:
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)

    def _item_changed(self, item: QtWidgets.QTableWidgetItem) -> None:
        if self._filling or item.column() != 0 or item.row() % 2 or item.row() // 2 >= len(self._rows):
            return
        entry = self._rows[item.row() // 2]
        name, checked = item.text(), item.checkState() == Qt.CheckState.Checked  # (a change rebuilds rows)
        if entry is not self.runs.current:
            self.runs.set_visible(entry, checked)
        if name.strip():
            self.runs.rename(entry, name)
        else:
            self.refresh()  # an empty name is not a name: show the old one again

    def _selected(self) -> RunEntry | None:
        rows = self.table.selectionModel().selectedRows()
        index = rows[0].row() // 2 if rows else len(self._rows)
        return self._rows[index] if index < len(self._rows) else None

    def _selection_changed(self) -> None:
        entry = self._selected()
        other = entry is not None and entry is not self.runs.current
        self.remove_button.setEnabled(other)
        self.run_both_button.setEnabled(other)

    def _run_both_selected(self) -> None:
        entry = self._selected()
        if entry is not None and entry is not self.runs.current:
            self.run_both_requested.emit(entry)

    def _remove_selected(self) -> None:
        entry = self._selected()
        if entry is not None:
            self.runs.remove(entry)


def connect_runs(runs: RunList, session: TrainingSession, panels: Sequence[Panel]) -> None:
    """Keep ``runs`` following the session's current run and the panels drawing its others."""
    def adopt() -> None:
        runs.adopt(session.data)

    def compare() -> None:
        others = runs.comparisons()
        for panel in panels:
            panel.set_comparisons(others)

    session.run_replaced.connect(adopt)
    runs.changed.connect(compare)
    adopt()
