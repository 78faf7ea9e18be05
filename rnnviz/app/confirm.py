"""Asking before a new run throws away a long one.

R is one key, and a stray one (typed while the keyboard focus was not where the user
thought) used to end a 5,000-step run at once. Reset and choosing a preset now ask first
when the current run has more than a few hundred steps; the question can be turned off
("Don't ask again", kept in the settings). Tests replace :attr:`DiscardGuard.ask`.
"""

from __future__ import annotations

from collections.abc import Callable

from rnnviz.app.qt import QtCore, QtWidgets
from rnnviz.app.stored import read_setting

ASK_ABOVE_STEPS = 300  # shorter runs are seconds of training: starting again costs nothing
SKIP_KEY = "confirm/skip_discard"


class DiscardGuard:
    """``allows(what, steps)``: whether to go ahead with ``what`` (e.g. "Reset"), which ends a
    run of ``steps`` steps. ``ask(question) -> bool`` is the dialog; a test can swap it."""

    def __init__(self, parent: QtWidgets.QWidget, settings: QtCore.QSettings) -> None:
        self._parent = parent
        self._settings = settings
        self.ask: Callable[[str], bool] = self._ask_with_dialog

    @property
    def skip(self) -> bool:
        return read_setting(self._settings, SKIP_KEY, False)

    @skip.setter
    def skip(self, value: bool) -> None:
        self._settings.setValue(SKIP_KEY, bool(value))

    def allows(self, what: str, steps: int) -> bool:
        if steps <= ASK_ABOVE_STEPS or self.skip:
            return True
        return self.ask(f"{what} starts a new run at step 0: the current run stops training after "
                        f"{steps:,} steps. Its curves and snapshots stay in the Runs list to compare "
                        "and fork from until the window closes (File → Save run keeps them).")

    def _ask_with_dialog(self, question: str) -> bool:
        box = QtWidgets.QMessageBox(self._parent)
        box.setObjectName("confirm-discard")
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("Start again?")
        box.setText(question)
        go = box.addButton("Start again", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep this run", QtWidgets.QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)  # Enter or Space right after a stray R keeps the run
        box.setEscapeButton(keep)
        dont_ask = QtWidgets.QCheckBox("Don't ask again")
        box.setCheckBox(dont_ask)
        box.exec()
        agreed = box.clickedButton() is go
        if agreed and dont_ask.isChecked():
            self.skip = True
        return agreed
