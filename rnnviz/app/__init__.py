"""rnnviz's desktop app (Qt). Importing this package is light: Qt loads inside ``run_app``."""

from __future__ import annotations

import logging
import os
import sys
import time

log = logging.getLogger(__name__)

NO_DISPLAY_MESSAGE = ("rnnviz: no display found (DISPLAY and WAYLAND_DISPLAY are not set); to train "
                      "without a window run `rnnviz train`, or set QT_QPA_PLATFORM=offscreen.")


def has_display() -> bool:
    """False on a Linux machine where Qt could not open a window (an SSH session, CI)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run_app(argv: list[str] | None = None, preset: str | None = None, exit_process: bool = False,
            run_file: str | None = None) -> int:
    """Open the window, already training the default preset (or ``preset``); return the exit code.

    With ``exit_process`` (the ``rnnviz`` command) the process ends as soon as the window has
    closed and saved everything, skipping the interpreter's teardown of Qt objects.
    ``run_file``: a run file (or checkpoint) to show, paused, in place of the first run
    (``rnnviz open``).
    """
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    from PySide6 import QtGui, QtWidgets  # the plotting library and the window come after the splash

    existing = QtWidgets.QApplication.instance()
    app = existing if isinstance(existing, QtWidgets.QApplication) else QtWidgets.QApplication(
        list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")
    app.setApplicationDisplayName("rnnviz")
    splash = _splash(QtGui, QtWidgets)
    app.processEvents()
    splash_at = time.time()
    from rnnviz.app.lifecycle import SignalCloser, enable_crash_reports, quiet_exit, setup_logging, state_dir
    from rnnviz.app.main_window import MainWindow
    from rnnviz.training import ConfigError

    try:
        folder = state_dir()
    except OSError:
        folder = None
    setup_logging(folder)
    enable_crash_reports(folder)
    log.info("splash shown at %.3f", splash_at)  # logging starts later than the splash
    font = QtGui.QFont(app.font())
    font.setPointSize(max(font.pointSize(), 10))
    app.setFont(font)
    try:
        window = MainWindow(preset=preset, run_file=run_file)
    except ConfigError as exc:
        splash.close()
        print(f"rnnviz: {exc}", file=sys.stderr)
        return 2
    closer = SignalCloser(window)
    window.show()
    splash.finish(window)
    log.info("window shown")
    code = int(app.exec())
    window.close()  # saves settings and stops training, if the loop ended some other way
    log.info("window closed")
    code = closer.exit_code or code
    closer.uninstall()
    if exit_process:
        quiet_exit(code)
    return code


def _splash(QtGui, QtWidgets):
    """A plain "starting" card, on screen a fraction of a second after launch, while the
    plotting library loads and the window is built (a second or two on a warm start)."""
    pixmap = QtGui.QPixmap(440, 150)
    pixmap.fill(QtGui.QColor("#FFFFFF"))
    painter = QtGui.QPainter(pixmap)
    painter.setPen(QtGui.QColor("#0B4F8A"))
    font = painter.font()
    font.setPointSize(22)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(28, 62, "rnnviz")
    font.setPointSize(11)
    font.setBold(False)
    painter.setFont(font)
    painter.setPen(QtGui.QColor("#424242"))
    painter.drawText(28, 100, "Starting: opening the window, then training…")
    painter.end()
    splash = QtWidgets.QSplashScreen(pixmap)
    splash.show()
    return splash


__all__ = ["NO_DISPLAY_MESSAGE", "has_display", "run_app"]
