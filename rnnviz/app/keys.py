"""Keyboard and mouse-wheel rules that keep the window's controls from surprising anyone.

The single-key shortcuts (Space, S, R) are ordinary window shortcuts. Qt first offers every
key to the focused widget as a ShortcutOverride, and a text field (a line edit, a spin box,
an editable text box) claims printable keys there, so while one has focus the keys type and
never pause, step or reset; with anything else focused, the shortcuts fire. What made the
keys seem dead was focus staying in a settings field after the user was done with it, or
landing in a spin box the mouse wheel merely passed over. So:

- Return, Enter or Escape in a field commits it and hands focus back to the window
  (:class:`LeaveOnEnter`), and the shortcuts work again at once.
- Spin boxes and combo boxes take focus only by click or Tab and take the wheel only when
  focused (:class:`WheelOnlyWhenFocused`); otherwise the wheel scrolls the form around them.
"""

from __future__ import annotations

from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets

# The keys a window binds without a modifier: they must never fire while a text field has focus.
SINGLE_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_S, Qt.Key.Key_R)
_LEAVE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


def is_text_field(widget: QtWidgets.QWidget | None) -> bool:
    """Whether typed letters and spaces belong to ``widget`` (so a single-key shortcut must wait)."""
    if widget is None:
        return False
    if isinstance(widget, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QTextEdit,
                           QtWidgets.QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.isEditable()
    return False


class LeaveOnEnter(QtCore.QObject):
    """Return, Enter or Escape in a watched field: the field takes the key (it commits the value
    or, for the sampler's seed, starts sampling), then focus goes back to the window."""

    def watch(self, field: QtWidgets.QWidget) -> None:
        field.installEventFilter(self)
        if isinstance(field, QtWidgets.QAbstractSpinBox):
            field.lineEdit().installEventFilter(self)  # keys sent to the spin box's own line edit

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.KeyPress and isinstance(event, QtGui.QKeyEvent) \
                and event.key() in _LEAVE_KEYS and isinstance(watched, QtWidgets.QWidget):
            spin_box = watched.parentWidget()  # set when the key went to a spin box's own line edit
            field = spin_box if isinstance(spin_box, QtWidgets.QAbstractSpinBox) else watched
            # After the field has handled the key: a spin box commits on Return and on losing focus.
            QtCore.QTimer.singleShot(0, lambda: self._leave(field))
        return False

    def _leave(self, field: QtWidgets.QWidget) -> None:
        focus = QtWidgets.QApplication.focusWidget()
        if focus is not None and (focus is field or field.isAncestorOf(focus)):  # it may have moved on
            field.window().setFocus(Qt.FocusReason.OtherFocusReason)
            if field.hasFocus():
                field.clearFocus()


class WheelOnlyWhenFocused(QtCore.QObject):
    """The wheel over an unfocused spin box or combo box scrolls what holds it instead of
    changing the value (sequence length 40 → 39 while scrolling the settings form)."""

    def watch(self, editor: QtWidgets.QWidget) -> None:
        editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: the wheel does not focus it
        editor.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Wheel and isinstance(watched, QtWidgets.QWidget) \
                and not watched.hasFocus():
            area = watched.parentWidget()
            while area is not None and not isinstance(area, QtWidgets.QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:  # handed on here: Qt itself passes on only a real wheel's events
                QtWidgets.QApplication.sendEvent(area.verticalScrollBar(), event)
                return True
            event.ignore()  # nothing to scroll: the editor keeps its value
            return True
        return False
