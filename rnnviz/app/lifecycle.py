"""Start-up and shut-down of the app: the log file, crash reports, and Ctrl+C / SIGTERM.

- The log: warnings, errors and tracebacks go to ``rnnviz.log`` in the user's state folder
  (on Linux ``~/.local/state/rnnviz``), so a problem seen from a desktop launcher, where
  nobody reads stderr, can still be reported. They also go to stderr.
- Crash reports: ``faulthandler`` prints the Python stack of every thread if the process
  dies of a fatal signal (a segmentation fault in a Qt library, say), to stderr when it is a
  terminal and to ``crash.log`` beside the log otherwise.
- Signals: Qt's event loop runs in C++, where a Python signal handler cannot run, and Python's
  default SIGINT handler raises KeyboardInterrupt in whatever Python code runs next, often
  inside a paint event, where Qt swallows it. Here SIGINT and SIGTERM only write a byte to a
  socket (``signal.set_wakeup_fd``) that a QSocketNotifier watches; the event loop then closes
  the window exactly as Ctrl+Q does (settings saved, training process stopped).
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import logging.handlers
import os
import signal
import socket
import sys
from pathlib import Path
from typing import IO

from rnnviz.app.qt import QtCore, QtWidgets

LOG_NAME = "rnnviz.log"
CRASH_NAME = "crash.log"
_crash_file: IO[str] | None = None  # kept open for faulthandler


def state_dir() -> Path:
    """The user's state folder for rnnviz (logs); created if missing."""
    location = QtCore.QStandardPaths.StandardLocation
    generic = getattr(location, "GenericStateLocation", location.GenericDataLocation)
    found = QtCore.QStandardPaths.writableLocation(generic)
    folder = Path(found) / "rnnviz" if found else Path.home() / ".rnnviz"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup_logging(folder: Path | None) -> Path | None:
    """Log warnings and errors to stderr and to ``folder/rnnviz.log`` (rotated at 1 MB)."""
    root = logging.getLogger("rnnviz")
    root.setLevel(logging.INFO)
    if not any(isinstance(h, logging.StreamHandler) and getattr(h, "rnnviz", False) for h in root.handlers):
        stderr = logging.StreamHandler()
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(logging.Formatter("rnnviz: %(message)s"))
        stderr.rnnviz = True  # type: ignore[attr-defined]
        root.addHandler(stderr)
    if folder is None:
        return None
    path = folder / LOG_NAME
    try:
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 20, backupCount=2,
                                                       encoding="utf-8")
    except OSError:
        return None
    # Seconds since the epoch as well: benchmarks/startup.py times start-up from these lines.
    handler.setFormatter(logging.Formatter("%(asctime)s [%(created).3f] %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path


def enable_crash_reports(folder: Path | None) -> None:
    global _crash_file
    stream = sys.stderr
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        faulthandler.enable(stream, all_threads=True)
        return
    if folder is None:
        return
    with contextlib.suppress(OSError):
        _crash_file = (folder / CRASH_NAME).open("a", encoding="utf-8")
        faulthandler.enable(_crash_file, all_threads=True)


class SignalCloser(QtCore.QObject):
    """Turns SIGINT and SIGTERM into a clean close of ``window``; remembers which came."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.received: int | None = None
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous = {sig: signal.signal(sig, self._note) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.notifier = QtCore.QSocketNotifier(self._reader.fileno(), QtCore.QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._close_window)

    def _note(self, signum: int, frame: object) -> None:
        """The Python-level handler: no exception, just a note (the byte wakes Qt)."""
        if self.received is None:
            self.received = signum

    def _close_window(self, *_: object) -> None:
        with contextlib.suppress(OSError):
            while self._reader.recv(64):
                pass
        if self.received is not None:
            logging.getLogger(__name__).info("closing on %s", signal.Signals(self.received).name)
            self.window.close()
            app = QtWidgets.QApplication.instance()
            if app is not None:
                app.quit()

    @property
    def exit_code(self) -> int:
        """130 after Ctrl+C, as shells expect; 0 otherwise (SIGTERM asks for a normal exit)."""
        return 128 + signal.SIGINT if self.received == signal.SIGINT else 0

    def uninstall(self) -> None:
        self.notifier.setEnabled(False)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def quiet_exit(code: int) -> None:
    """Leave at once once everything that matters is saved: the training process is stopped,
    settings are synced and logs are flushed. Skipping the interpreter's teardown avoids
    destroying Qt objects in arbitrary order, the source of crashes at exit, and the seconds
    it can take."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(code)
