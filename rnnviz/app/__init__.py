"""rnnviz's desktop app (Qt). Importing this package is light: Qt loads inside ``run_app``."""

from __future__ import annotations

import os
import sys

NO_DISPLAY_MESSAGE = ("rnnviz: no display found (DISPLAY and WAYLAND_DISPLAY are not set); to train "
                      "without a window run `rnnviz train`, or set QT_QPA_PLATFORM=offscreen.")


def has_display() -> bool:
    """False on a Linux machine where Qt could not open a window (an SSH session, CI)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run_app(argv: list[str] | None = None, preset: str | None = None) -> int:
    """Open the window, already training the default preset (or ``preset``); return the exit code."""
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    from rnnviz.app.main_window import MainWindow
    from rnnviz.app.qt import QtGui, QtWidgets
    from rnnviz.training import ConfigError

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(
        list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")
    app.setApplicationDisplayName("rnnviz")
    font = QtGui.QFont(app.font())
    font.setPointSize(max(font.pointSize(), 10))
    app.setFont(font)
    try:
        window = MainWindow(preset=preset)
    except ConfigError as exc:
        print(f"rnnviz: {exc}", file=sys.stderr)
        return 2
    window.show()
    return int(app.exec())


__all__ = ["NO_DISPLAY_MESSAGE", "has_display", "run_app"]
