"""Shared fixtures for the Qt app tests: offscreen Qt, private settings, small fast windows.

Qt reads ``QT_QPA_PLATFORM`` when the QApplication is made (pytest-qt makes it for the
first ``qtbot``), so it is set here at import time, before anything can make one; a user's
own value (e.g. ``xcb`` to watch the tests on a real display) is kept. Qt and the app are
imported inside the fixtures, so the pure-NumPy tests never load PySide6 through this file,
and the spawned training process can import this module (see ``training_main_with_fault``).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rnnviz.blas import limit_blas_threads
from rnnviz.training import TrainConfig

# As the app and the CLI do: the RNN's small matrix products run fastest on one BLAS thread,
# and a second one only contends with the training process and the other tests on 2 cores.
limit_blas_threads()

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from rnnviz.app.main_window import MainWindow

# Small runs that train hundreds of steps a second, so every test is quick.
SINE = TrainConfig(task="sine", hidden=16, seq_len=20, batch=8, eval_every=20, spectrum_every=10)
CHARLM = TrainConfig(task="charlm", hidden=32, seq_len=20, batch=4, eval_every=20, spectrum_every=10)
SENTIMENT = TrainConfig(task="sentiment", hidden=16, batch=8, eval_every=20, spectrum_every=10)
WINDOW_SIZE = (1280, 800)


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "rnnviz-settings.ini"


@pytest.fixture
def qsettings(settings_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QSettings:
    """An INI file in this test's tmp_path: the test never sees the user's settings.

    Belt and braces: a QSettings built anywhere with the default constructor also lands
    under tmp_path, so a code path that ignores the ``settings`` argument cannot touch the
    user's real settings either.
    """
    from PySide6 import QtCore

    home = tmp_path / "settings-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    for fmt in (QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Format.NativeFormat):
        for scope in (QtCore.QSettings.Scope.UserScope, QtCore.QSettings.Scope.SystemScope):
            QtCore.QSettings.setPath(fmt, scope, str(home))
    return QtCore.QSettings(str(settings_path), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot: Any, qsettings: QSettings) -> Callable[..., MainWindow]:
    """Build shown MainWindows on a small config; each is closed (training stopped) at teardown.

    ``make_window(config=SINE, settings=None, start=True, show=True, restore_last_run=False)``;
    ``config=None`` with ``restore_last_run=True`` exercises the "continue the last run" path.
    """
    from rnnviz.app.main_window import MainWindow

    def close_and_check(window: MainWindow) -> None:
        # pytest-qt calls this at teardown, before its own close() and deleteLater().
        qtbot.wait(50)  # take what training sent while a failing test was being reported
        window.close()
        assert training_stopped(window.session), "closing the window left training running"

    def factory(config: TrainConfig | None = SINE, settings: QSettings | None = None, start: bool = True,
                show: bool = True, restore_last_run: bool = False, size: tuple[int, int] = WINDOW_SIZE,
                ) -> MainWindow:
        window = MainWindow(config=config, settings=settings if settings is not None else qsettings,
                            start=start, restore_last_run=restore_last_run)
        qtbot.addWidget(window, before_close_func=close_and_check)
        if show:
            window.resize(*size)
            window.show()
            qtbot.waitExposed(window)
        # The first run is built by the training process while the window appears.
        qtbot.waitUntil(lambda: not window.starting, timeout=20_000)
        return window

    return factory


def training_stopped(session: Any, timeout: float = 5.0) -> bool:
    """Whether the session's training worker has ended, waiting up to ``timeout`` seconds.

    Training runs in a child process (``session.process``); the original design ran it on
    a QThread (``session.thread``), which is checked the same way if it comes back.
    """
    process = getattr(session, "process", None)
    if process is not None:
        process.join(timeout)
        return not process.is_alive()
    thread = session.thread
    return bool(thread.wait(int(timeout * 1000)) and thread.isFinished())


FAIL_ON_CALL_ENV = "RNNVIZ_TEST_FAIL_ON_STEP_CALL"


def training_main_with_fault(conn: Any, max_rate_hz: float = 40.0, autosave_dir: str | None = None) -> None:
    """A training-process entry point whose ``Trainer.step`` raises on call N.

    Training runs in a spawned child, where a monkeypatch in the test process cannot reach,
    so the test swaps this in as the session's process target; N comes from the environment
    the child inherits. It lives here because the child must import it by name and this
    module imports no Qt.
    """
    from rnnviz.app.training_process import training_process_main
    from rnnviz.training import Trainer

    fail_on = int(os.environ[FAIL_ON_CALL_ENV])
    original_step = Trainer.step
    calls = 0

    def step(self: Trainer) -> Any:
        nonlocal calls
        calls += 1
        if calls == fail_on:
            raise RuntimeError(f"simulated fault in step call {calls}")
        return original_step(self)

    Trainer.step = step  # type: ignore[method-assign]
    training_process_main(conn, max_rate_hz, autosave_dir)


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    """A shown window training the small sine config."""
    return make_window()
