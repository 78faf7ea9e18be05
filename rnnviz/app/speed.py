"""The speed control: how many training steps a second, so a story can go at the pace of speech.

A preset can set its pace (``pace = 5`` in its TOML); the user changes it from the toolbar,
the Training menu, or with ``[`` (slower) and ``]`` (faster). The training process sleeps
between steps to keep the pace; "as fast as possible" lets it run free.
"""

from __future__ import annotations

from rnnviz.app.qt import QtCore, QtGui, QtWidgets, Signal

PACES: tuple[float | None, ...] = (1.0, 5.0, 20.0, 100.0, None)  # steps a second; None: no limit


def pace_label(pace: float | None) -> str:
    if pace is None:
        return "as fast as possible"
    return f"{pace:g} step/s" if pace == 1 else f"{pace:g} steps/s"


class SpeedControl(QtCore.QObject):
    """A combo box for the toolbar and matching actions for the menu, kept in agreement."""

    changed = Signal(object)  # the new pace: steps a second, or None

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self._paces: list[float | None] = list(PACES)
        self.combo = QtWidgets.QComboBox()
        self.combo.setToolTip("Training speed: slow a story down to the pace of speech ([ slower, ] faster)")
        self.combo.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.group = QtGui.QActionGroup(self)
        self.menu = QtWidgets.QMenu("Speed", parent)
        self.slower_action = QtGui.QAction("Slower", self)
        self.slower_action.setShortcut(QtGui.QKeySequence("["))
        self.slower_action.triggered.connect(lambda: self.step(-1))
        self.faster_action = QtGui.QAction("Faster", self)
        self.faster_action.setShortcut(QtGui.QKeySequence("]"))
        self.faster_action.triggered.connect(lambda: self.step(+1))
        self._rebuild()
        self._pace: float | None = None
        self._show(None)
        self.combo.activated.connect(lambda index: self.set_pace(self._paces[index]))

    def _rebuild(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.menu.clear()
        for action in self.group.actions():
            self.group.removeAction(action)
        for pace in self._paces:
            self.combo.addItem(pace_label(pace))
            action = QtGui.QAction(pace_label(pace), self)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, p=pace: self.set_pace(p))
            self.group.addAction(action)
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.slower_action)
        self.menu.addAction(self.faster_action)
        self.combo.blockSignals(False)

    @property
    def pace(self) -> float | None:
        return self._pace

    def set_pace(self, pace: float | None) -> None:
        """Choose a pace (a preset's own, not in the list, is added to it) and announce it."""
        if pace is not None and pace not in self._paces:
            limited = {p for p in self._paces if p is not None} | {float(pace)}
            self._paces = [*sorted(limited), None]
            self._rebuild()
        self._show(pace)
        self._pace = pace
        self.changed.emit(pace)

    def step(self, direction: int) -> None:
        """One notch slower (-1) or faster (+1); "as fast as possible" is the fastest."""
        index = self._paces.index(self._pace) + direction
        if 0 <= index < len(self._paces):
            self.set_pace(self._paces[index])

    def _show(self, pace: float | None) -> None:
        index = self._paces.index(pace)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self.group.actions()[index].setChecked(True)
        self.slower_action.setEnabled(index > 0)
        self.faster_action.setEnabled(index < len(self._paces) - 1)


def saved_pace_ok(settings: QtCore.QSettings) -> bool:
    """Whether the settings hold a pace from the last session ("" means as fast as possible)."""
    return settings.contains("run/pace")


def saved_pace(settings: QtCore.QSettings) -> float | None:
    value = settings.value("run/pace", "", type=str)
    try:
        pace = float(str(value))
    except ValueError:
        return None
    return pace if pace > 0 else None
