"""Faults around the training process: killed, stopped, slow, lost or repeated messages,
and signals to the app. The window must stay responsive, stay in step with the process,
and never lose the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SINE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

WAIT_MS = 20_000


def wait_steps(qtbot, window, steps: int) -> int:
    qtbot.waitUntil(lambda: window.session.data.step >= steps, timeout=WAIT_MS)
    return window.session.data.step


def strictly_increasing(data) -> bool:
    steps = data.steps.column("step")
    return bool(np.all(np.diff(steps) > 0))


def autosaved_window(make_window: Callable, qtbot, steps: int):
    """A window training SINE past ``steps`` steps, with an autosave written; and its run."""
    window = make_window(SINE)
    wait_steps(qtbot, window, steps)
    qtbot.waitUntil(lambda: window.session.autosaved_step is not None, timeout=WAIT_MS)
    return window, window.session.data


def test_killed_training_process_is_restarted_from_the_autosave(make_window: Callable, qtbot,
                                                                 tmp_path: Path) -> None:
    window, data = autosaved_window(make_window, qtbot, 50)
    old = window.session.process
    os.kill(old.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "continues the run from step" in window.last_problem, timeout=WAIT_MS)
    assert "SIGKILL" in window.last_problem
    assert window.session.process is not old and window.session.process.is_alive()
    assert window.session.data is data, "the curves of the run were thrown away"
    assert window.session.running  # it was training, so it trains again
    resumed_at = window.session.data.step
    wait_steps(qtbot, window, resumed_at + 30)
    assert strictly_increasing(data)
    # Every action works on the new process: a checkpoint can be saved.
    saved: list = []
    window.session.save_checkpoint(tmp_path / "after.npz",
                                   on_done=lambda ok, payload: saved.append((ok, payload)))
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT_MS)
    assert saved[0][0], saved


def test_killed_while_paused_stays_paused_and_sampler_survives(make_window: Callable, qtbot) -> None:
    from tests.conftest import CHARLM

    window = make_window(CHARLM)
    wait_steps(qtbot, window, 20)
    window.toggle_running()
    qtbot.waitUntil(lambda: window.session.autosaved_step == window.session.data.step, timeout=WAIT_MS)
    paused_at = window.session.data.step
    os.kill(window.session.process.pid, signal.SIGKILL)
    window.sampler.generate()  # asked while the process is dead: no traceback, an answer later
    qtbot.waitUntil(lambda: "continues the run" in window.last_problem, timeout=WAIT_MS)
    assert f"step {paused_at:,}" in window.last_problem
    assert not window.session.running
    window.sampler.generate()
    qtbot.waitUntil(lambda: window.sampler.streaming or not window.sampler.warning.isHidden(),
                    timeout=WAIT_MS)
    window.step_once()
    qtbot.waitUntil(lambda: window.session.data.step == paused_at + 1, timeout=WAIT_MS)


def test_stopped_process_shows_waiting_and_requests_do_not_block(make_window: Callable, qtbot) -> None:
    window = make_window(SINE)
    wait_steps(qtbot, window, 20)
    process = window.session.process
    os.kill(process.pid, signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: "waiting for the training process" in window.state_label.text(),
                        timeout=WAIT_MS)
        old_data = window.session.data
        ticks: list[float] = []
        timer = window.startTimer(20)
        window.timerEvent = lambda event: ticks.append(time.monotonic())  # type: ignore[method-assign]
        request = window.reset()
        assert request is not None and any(p.id == request for p in window.session.pending)
        qtbot.wait(1500)
        window.killTimer(timer)
        assert len(ticks) > 20, "the event loop stalled while a request was pending"
        assert window.session.data is old_data  # nothing adopted yet
        qtbot.waitUntil(lambda: window.pending_indicator.isVisible(), timeout=WAIT_MS)
        assert "Reset" in window.pending_indicator.label.text()
    finally:
        os.kill(process.pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: window.session.data is not old_data, timeout=WAIT_MS)
    new = window.session.data
    assert window.session.running
    qtbot.waitUntil(lambda: new.step >= 10, timeout=WAIT_MS)
    assert new.steps.column("step")[0] == 1, "the new run did not start at step 1"
    assert strictly_increasing(new)
    assert not window.session.pending


def test_cancel_restarts_the_process_and_keeps_the_run(make_window: Callable, qtbot) -> None:
    window, data = autosaved_window(make_window, qtbot, 30)
    process = window.session.process
    os.kill(process.pid, signal.SIGSTOP)  # hung, as if building a huge model
    window.reset()
    window.session.cancel_pending()
    assert not any(p.kind == "reset" for p in window.session.pending)
    qtbot.waitUntil(lambda: not process.is_alive(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "continues the run" in window.last_problem, timeout=WAIT_MS)
    assert window.session.data is data
    step = window.session.data.step
    wait_steps(qtbot, window, step + 20)
    assert strictly_increasing(data)


def test_lost_run_announcement_is_asked_for_again(make_window: Callable, qtbot) -> None:
    window = make_window(SINE)
    session = window.session
    wait_steps(qtbot, window, 10)
    original = session._handle
    dropped: list = []

    def lossy(message: tuple) -> None:
        if message[0] == "run" and not dropped:
            dropped.append(message)
            return
        original(message)

    session._handle = lossy
    old = session.data
    window.reset()
    qtbot.waitUntil(lambda: bool(dropped), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: session.data is not old and session.data.step >= 10, timeout=WAIT_MS)
    assert session.run_id == dropped[0][1]
    assert strictly_increasing(session.data)


def test_duplicated_and_reordered_batches_are_dropped(make_window: Callable, qtbot) -> None:
    window = make_window(SINE)
    session = window.session
    original = session._handle
    held: list = []
    delivered = {"count": 0}

    def scrambled(message: tuple) -> None:
        if message[0] != "batch":
            original(message)
            return
        delivered["count"] += 1
        n = delivered["count"]
        if n % 5 == 0:  # hold this one back and deliver it after the next
            held.append(message)
            return
        original(message)
        original(message)  # every batch twice
        while held:
            original(held.pop())

    session._handle = scrambled
    qtbot.waitUntil(lambda: delivered["count"] > 40, timeout=WAIT_MS)
    window.toggle_running()
    qtbot.wait(500)
    steps = session.data.steps.column("step")
    assert len(steps) > 20
    assert strictly_increasing(session.data)
    assert len(np.unique(steps)) == len(steps)


def test_batches_of_a_replaced_run_are_not_shown(make_window: Callable, qtbot) -> None:
    window = make_window(SINE)
    session = window.session
    wait_steps(qtbot, window, 10)
    stale: list = []
    original = session._handle

    def keep_a_copy(message: tuple) -> None:
        if message[0] == "batch" and not stale:
            stale.append(message)
        original(message)

    session._handle = keep_a_copy
    qtbot.waitUntil(lambda: bool(stale), timeout=WAIT_MS)
    old = session.data
    window.reset()
    qtbot.waitUntil(lambda: session.data is not old, timeout=WAIT_MS)
    session._handle = original
    new = session.data
    before = len(new.steps)
    original(stale[0])  # a straggler from the old run arrives late
    assert len(new.steps) == before


# -------------------------------------------------------------------- the real app
def _app_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_DATA_HOME=str(tmp_path / "data"),
               PYTHONFAULTHANDLER="1")
    return env


def _wait_for_log(tmp_path: Path, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    log = tmp_path / "state" / "rnnviz" / "rnnviz.log"
    while time.monotonic() < deadline:
        if log.is_file() and text in (content := log.read_text(encoding="utf-8")):
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {log}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split()[2] == "Z")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_closes_the_app_like_quit(tmp_path: Path, signum: int) -> None:
    app = subprocess.Popen([sys.executable, "-m", "rnnviz", "--preset", "sine"], env=_app_env(tmp_path),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        content = _wait_for_log(tmp_path, "started the run")
        child_pid = int(content.split("(pid ")[1].split(")")[0])
        time.sleep(1.0)  # training and drawing
        app.send_signal(signum)
        _out, err = app.communicate(timeout=20)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == (130 if signum == signal.SIGINT else 0), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "Fatal Python error" not in err, err
    deadline = time.monotonic() + 5
    while _pid_alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(child_pid), "the training process was left behind"
    settings = tmp_path / "config" / "rnnviz" / "rnnviz.ini"
    assert settings.is_file() and "sine" in settings.read_text(encoding="utf-8")
