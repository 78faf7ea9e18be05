"""rnnviz's desktop app (Qt). Importing this package is light: Qt loads inside ``run_app``."""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

NO_DISPLAY_MESSAGE = ("rnnviz: no display found (DISPLAY and WAYLAND_DISPLAY are not set); to train "
                      "without a window run `rnnviz train`, or set QT_QPA_PLATFORM=offscreen.")


def has_display() -> bool:
    """False on a Linux machine where Qt could not open a window (an SSH session, CI)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run_app(argv: list[str] | None = None, preset: str | None = None, exit_process: bool = False) -> int:
    """Open the window, already training the default preset (or ``preset``); return the exit code.

    With ``exit_process`` (the ``rnnviz`` command) the process ends as soon as the window has
    closed and saved everything, skipping the interpreter's teardown of Qt objects.
    """
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    from rnnviz.app.lifecycle import SignalCloser, enable_crash_reports, quiet_exit, setup_logging, state_dir
    from rnnviz.app.main_window import MainWindow
    from rnnviz.app.qt import QtGui, QtWidgets
    from rnnviz.training import ConfigError

    existing = QtWidgets.QApplication.instance()
    app = existing if isinstance(existing, QtWidgets.QApplication) else QtWidgets.QApplication(
        list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")
    app.setApplicationDisplayName("rnnviz")
    try:
        folder = state_dir()
    except OSError:
        folder = None
    setup_logging(folder)
    enable_crash_reports(folder)
    font = QtGui.QFont(app.font())
    font.setPointSize(max(font.pointSize(), 10))
    app.setFont(font)
    try:
        window = MainWindow(preset=preset)
    except ConfigError as exc:
        print(f"rnnviz: {exc}", file=sys.stderr)
        return 2
    closer = SignalCloser(window)
    window.show()
    log.info("window shown")
    code = int(app.exec())
    window.close()  # saves settings and stops training, if the loop ended some other way
    log.info("window closed")
    code = closer.exit_code or code
    closer.uninstall()
    if exit_process:
        quiet_exit(code)
    return code


__all__ = ["NO_DISPLAY_MESSAGE", "has_display", "run_app"]
