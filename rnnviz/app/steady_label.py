"""A rich-text label for numbers that change many times a second.

A QLabel asks its parent layout to recompute on every ``setText``, and in a QMainWindow
that ripples up into laying out every dock again, which cost more than drawing the new
text. This label only asks for a new layout when the text needs a different height (or,
unwrapped, more width than it has ever had); otherwise a new text is just a repaint.
"""

from __future__ import annotations

import math

from rnnviz.app.qt import QtCore, QtGui, QtWidgets


class SteadyLabel(QtWidgets.QWidget):
    """Word-wrapped (or single-line) rich text with QLabel's ``text``/``setText``."""

    def __init__(self, text: str = "", wrap: bool = True, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._wrap = wrap
        self._html = ""
        self._document = QtGui.QTextDocument(self)
        self._document.setDocumentMargin(0)
        self._document.setDefaultFont(self.font())
        self._widest = 0  # unwrapped: the width asked for never shrinks, so nothing jitters
        policy = QtWidgets.QSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred,
                                       QtWidgets.QSizePolicy.Policy.Preferred if wrap
                                       else QtWidgets.QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(wrap)
        self.setSizePolicy(policy)
        if text:
            self.setText(text)

    def text(self) -> str:
        return self._html

    def plain_text(self) -> str:
        return self._document.toPlainText()

    def setText(self, html: str) -> None:  # QLabel's name: either can be used
        if html == self._html:
            return
        old_hint = self.sizeHint() if not self._wrap else None
        old_height = self._height_for(self._text_width()) if self._wrap else 0
        self._html = html
        self._document.setHtml(html)
        if self._wrap:
            if self._height_for(self._text_width()) != old_height:
                self.updateGeometry()
        elif self.sizeHint() != old_hint:
            self.updateGeometry()
        self.update()

    # ------------------------------------------------------------------ sizes
    def _margins(self) -> tuple[int, int]:
        m = self.contentsMargins()
        return m.left() + m.right(), m.top() + m.bottom()

    def _text_width(self) -> int:
        return max(self.width() - self._margins()[0], 1)

    def _height_for(self, text_width: int) -> int:
        self._document.setTextWidth(text_width)
        return math.ceil(self._document.size().height())

    def hasHeightForWidth(self) -> bool:
        return self._wrap

    def heightForWidth(self, width: int) -> int:
        across, down = self._margins()
        return self._height_for(max(width - across, 1)) + down

    def sizeHint(self) -> QtCore.QSize:
        across, down = self._margins()
        self._document.setTextWidth(-1)
        ideal = math.ceil(self._document.idealWidth())
        if self._wrap:
            width = min(ideal, 480)
            return QtCore.QSize(width + across, self._height_for(width) + down)
        self._widest = max(self._widest, ideal)
        return QtCore.QSize(self._widest + across, math.ceil(self._document.size().height()) + down)

    def minimumSizeHint(self) -> QtCore.QSize:
        if not self._wrap:
            return self.sizeHint()
        across, down = self._margins()
        return QtCore.QSize(min(self.sizeHint().width(), 40 + across), self.fontMetrics().height() + down)

    # --------------------------------------------------------------- painting
    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._document.setDefaultFont(self.font())
            self._widest = 0
            self.updateGeometry()
        super().changeEvent(event)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        rect = self.contentsRect()
        self._document.setTextWidth(rect.width() if self._wrap else -1)
        painter.translate(rect.topLeft())
        context = QtGui.QAbstractTextDocumentLayout.PaintContext()
        palette = QtGui.QPalette(self.palette())
        palette.setColor(QtGui.QPalette.ColorRole.Text, palette.color(QtGui.QPalette.ColorRole.WindowText))
        context.palette = palette
        context.clip = QtCore.QRectF(0, 0, rect.width(), rect.height())
        painter.setClipRect(context.clip)
        self._document.documentLayout().draw(painter, context)
