"""Reading the window's QSettings with the type each value was written with.

``QSettings.value(key, default, type=int)`` converts what the settings file holds (a value
edited by hand included: "abc" becomes 0) and so always returns an int, but PySide6 declares
its result as ``object``. :func:`read_setting` gives it the type of ``default``.
"""

from __future__ import annotations

from typing import TypeVar

from rnnviz.app.qt import QtCore

Value = TypeVar("Value", str, int, float, bool)


def read_setting(settings: QtCore.QSettings, key: str, default: Value) -> Value:
    """``key``'s value converted by Qt to ``default``'s type; ``default`` when it is not stored."""
    kind = type(default)
    value = settings.value(key, default, type=kind)
    return value if isinstance(value, kind) else default  # Qt's conversion yields ``kind``
