"""What the window is waiting for: a line in the status bar with a busy bar and Cancel.

Requests to the training process never block the window; while one is out, this says what
it is ("Opening big.txt… 4 s"), shows a busy cursor over the window, and offers Cancel, which
restarts the training process from the current run's autosave (the only way to interrupt a
request that is busy loading a file or building a huge model, or a process that hangs).
"""

from __future__ import annotations

import time

from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets
from rnnviz.app.session import TrainingSession

SHOW_AFTER_S = 0.3  # quick requests (a model copy, a small reset) do not flash the bar
REFRESH_MS = 250


class PendingIndicator(QtWidgets.QWidget):
    """Status-bar widget: the oldest pending request, how long it has taken, Cancel."""

    def __init__(self, session: TrainingSession, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(8, 0, 8, 0)
        self.label = QtWidgets.QLabel()
        row.addWidget(self.label)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 0)  # busy: the training process does not report progress
        self.bar.setFixedWidth(90)
        self.bar.setTextVisible(False)
        row.addWidget(self.bar)
        self.cancel = QtWidgets.QPushButton("Cancel")
        self.cancel.setToolTip("Stop waiting: the training process is restarted and the current run "
                               "continues from its last autosave")
        self.cancel.clicked.connect(session.cancel_pending)
        row.addWidget(self.cancel)
        self._cursor_window: QtWidgets.QWidget | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        session.pending_changed.connect(self.refresh)
        self.hide()

    def refresh(self) -> None:
        pending = [p for p in self.session.pending if p.kind != "describe"]
        if not pending:
            self.timer.stop()
            self._set_busy_cursor(False)
            self.hide()
            return
        if not self.timer.isActive():
            self.timer.start()
        oldest = pending[0]
        waited = time.monotonic() - oldest.started
        if waited < SHOW_AFTER_S:
            return
        more = f" (+{len(pending) - 1} more)" if len(pending) > 1 else ""
        self.label.setText(f"{oldest.description}… {waited:.0f} s{more}")
        self._set_busy_cursor(True)
        self.show()

    def _set_busy_cursor(self, busy: bool) -> None:
        """A busy cursor over the window (it still takes clicks: nothing is blocked)."""
        window = self.window()
        if busy and self._cursor_window is None:
            window.setCursor(QtGui.QCursor(Qt.CursorShape.BusyCursor))
            self._cursor_window = window
        elif not busy and self._cursor_window is not None:
            self._cursor_window.unsetCursor()
            self._cursor_window = None

    def stop(self) -> None:
        self.timer.stop()
        self._set_busy_cursor(False)
