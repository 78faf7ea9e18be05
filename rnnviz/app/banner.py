"""Messages for the user: a banner across the top of the window, and the sentence helpers.

A problem (a bad corpus, a corrupt checkpoint, a diverging run, a restarted training process)
is one or two sentences; the banner shows them all, the status bar its first sentence.
"""

from __future__ import annotations

from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets


def first_sentence(text: str) -> str:
    """The first sentence: what fits a status bar at 1280 px (the banner shows the rest)."""
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def as_sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop: how every message ends up."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


class Banner(QtWidgets.QFrame):
    """A message across the top of the window: visible without hiding the panels."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setMinimumSize(1, 1)  # not a wrapped label's own guess: see sizeHint
        row.addWidget(self.label, 1)
        self.dismiss = QtWidgets.QPushButton("Dismiss")
        row.addWidget(self.dismiss)

    def show_message(self, text: str, kind: str = "error") -> None:
        colours = {"error": ("#FDECEA", "#B00020"), "warning": ("#FFF4E5", "#8A5300"),
                   "info": ("#E8F4FD", "#0B4F8A")}
        background, foreground = colours.get(kind, colours["info"])
        self.setStyleSheet(f"#banner {{ background: {background}; border-bottom: 1px solid {foreground}; }}"
                           f"#banner QLabel {{ color: {foreground}; font-weight: bold; }}")
        self.label.setText(text)
        self.show()
        self.updateGeometry()

    # A toolbar knows nothing of word wrap and gave one line the height of many: the banner
    # asks for the height its text needs at the width it has.
    def _text_height(self) -> int:
        layout = self.layout()
        assert layout is not None  # the row made in __init__
        return layout.heightForWidth(max(self.width(), 200))

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(super().sizeHint().width(), self._text_height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(super().minimumSizeHint().width(), self._text_height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # narrower, more lines; wider, fewer
