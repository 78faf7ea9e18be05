"""The desktop app, driven the way a person drives it: pytest-qt on an offscreen window.

Every test trains a small, fast config for real, in the app's training process. Waits are
on GUI-side state (``qtbot.waitUntil`` on what the window shows), never ``waitSignal`` on a
signal from another thread (ARCHITECTURE.md: that can log "Timers cannot be stopped from
another thread"). Tests check what a person sees (panels, status bar, form) and the
session's public state (``data``, ``config``, ``running``), not the trainer's internals,
which live in the other process. Known app bugs are strict xfails whose reason says where.
"""

from __future__ import annotations

import csv
import math
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import CHARLM, FAIL_ON_CALL_ENV, SENTIMENT, SINE, training_main_with_fault, training_stopped

from rnnviz.app.main_window import MainWindow
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets
from rnnviz.core.checkpoint import load_checkpoint
from rnnviz.core.rnn import PARAM_NAMES
from rnnviz.training import TrainConfig, Trainer

WindowFactory = Callable[..., MainWindow]
WAIT_MS = 15_000  # generous: a loaded 2-core CI machine can be many times slower than a desk


# ----------------------------------------------------------------------------- helpers
def wait_steps(qtbot, window: MainWindow, steps: int, timeout: int = WAIT_MS) -> int:
    """Wait until the GUI has received at least ``steps`` steps; return the count it shows."""
    qtbot.waitUntil(lambda: window.session.data.step >= steps, timeout=timeout)
    return window.session.data.step


def settle(qtbot, window: MainWindow, quiet_ms: int = 250, timeout: float = 10.0) -> int:
    """After a pause: wait until the step count the GUI shows has stopped moving; return it.

    The worker may finish the step it was in and then sends its last batch at once, so a
    count that holds still for ``quiet_ms`` is final.
    """
    qtbot.waitUntil(lambda: not window.session.running, timeout=WAIT_MS)
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        qtbot.wait(50)
        now_step = window.session.data.step
        if now_step != last:
            last, since = now_step, time.monotonic()
        elif time.monotonic() - since >= quiet_ms / 1000:
            return last
    raise AssertionError(f"the step count kept moving after a pause (now {last})")


def finish(qtbot, window: MainWindow, request: int | None) -> None:
    """Wait until the training process has answered ``request`` (the window never waits)."""
    assert request is not None
    qtbot.waitUntil(lambda: all(p.id != request for p in window.session.pending), timeout=WAIT_MS)


def curve_points(item) -> int:
    """How many points a pyqtgraph PlotDataItem currently holds."""
    x, _ = item.getData()
    return 0 if x is None else len(x)


def png_ok(path: Path) -> bool:
    image = QtGui.QImage(str(path))
    return path.stat().st_size > 0 and not image.isNull() and image.width() > 0 and image.height() > 0


def type_text(qtbot, widget: QtWidgets.QWidget, text: str) -> None:
    """Type like a keyboard, non-ASCII too (QTest.keyClicks asserts on characters beyond ASCII)."""
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
            continue
        key = Qt.Key(ord(ch.upper())) if ord(ch.upper()) <= 0xFF else Qt.Key.Key_unknown
        for kind in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
            event = QtGui.QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch)
            QtWidgets.QApplication.sendEvent(widget, event)


def make_activated(qtbot, window: MainWindow) -> None:
    """Window shortcuts only fire for the active window; offscreen needs asking."""
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


# ------------------------------------------------------------------ opens and trains
@pytest.mark.parametrize("config", [SINE, CHARLM, SENTIMENT], ids=["sine", "charlm", "sentiment"])
def test_window_trains_and_every_panel_shows_data(make_window: WindowFactory, qtbot,
                                                  config: TrainConfig) -> None:
    """Open, train past a couple of evaluations, and find drawn data in every panel."""
    window = make_window(config)
    assert window.session.running
    wait_steps(qtbot, window, 2 * config.eval_every + 5)

    loss, grads, spectrum, hidden, flow, task, sampler = (
        window.panel(k) for k in ("loss", "gradients", "spectrum", "hidden", "flow", "task", "sampler"))

    def drawn() -> bool:
        return (curve_points(loss.raw) > 10 and curve_points(loss.smoothed) > 10
                and curve_points(loss.val) >= 2
                and curve_points(grads.global_before) > 10
                and all(curve_points(grads.before[name]) > 10 for name in PARAM_NAMES)
                and curve_points(spectrum.eigenvalues) == config.hidden
                and curve_points(spectrum.radius_curve) >= 2
                and hidden.image.image is not None
                and curve_points(flow.current) > 0 and flow.image.image is not None
                and task.pages.currentWidget() is not task.waiting)

    qtbot.waitUntil(drawn, timeout=WAIT_MS)
    units, timesteps = hidden.image.image.shape
    assert units == config.hidden  # units × timesteps of one sequence (phrases vary in length)
    assert timesteps == config.seq_len if config.task != "sentiment" else timesteps >= 1
    assert np.isfinite(np.asarray(loss.raw.getData()[1])).all()
    for panel in window.panels:  # every panel has a live one-line summary
        assert panel.summary.text().strip(), panel.key
    assert "step" in loss.summary.text()

    if config.task == "sine":
        assert task.pages.currentWidget() is task.sine_view
        assert curve_points(task.truth) > 10 and curve_points(task.one_step) > 10
        assert sampler.pages.currentWidget() is sampler.not_text
    elif config.task == "sentiment":
        assert task.pages.currentWidget() is task.table
        assert task.table.rowCount() > 0 and task.table.item(0, 0).text()
        assert sampler.pages.currentWidget() is sampler.not_text
    else:
        assert task.pages.currentWidget() is task.sample
        assert len(task.sample.toPlainText()) > 10
        assert sampler.pages.currentWidget() is sampler.text_page
    assert window.frames_drawn > 0


# --------------------------------------------------------------- pause, step, reset
def test_pause_step_and_reset_reproduce_the_run(window: MainWindow, qtbot) -> None:
    first_data = window.session.data
    wait_steps(qtbot, window, 30)

    window.toggle_running()
    paused_at = settle(qtbot, window)
    assert not window.session.running
    qtbot.wait(300)
    assert window.session.data.step == paused_at, "pause did not stop training"
    assert window.start_action.text() == "Start"

    window.step_once()
    qtbot.waitUntil(lambda: window.session.data.step == paused_at + 1, timeout=WAIT_MS)
    qtbot.wait(300)
    assert window.session.data.step == paused_at + 1, "Step trained more than one batch"
    assert not window.session.running

    finish(qtbot, window, window.reset())
    assert window.session.data is not first_data
    assert window.session.data.step == 0
    assert not window.session.running  # a reset while paused stays paused
    assert window.session.config == SINE  # the form round-trips the config exactly
    window.step_once()
    qtbot.waitUntil(lambda: window.session.data.step == 1, timeout=WAIT_MS)
    original = first_data.steps.column("loss")
    assert first_data.steps.column("step")[0] == 1
    assert window.session.data.steps.column("loss")[0] == original[0]  # same seed, same first batch

    window.toggle_running()
    wait_steps(qtbot, window, 20)
    window.toggle_running()
    settle(qtbot, window)
    n = min(20, len(window.session.data.steps))
    np.testing.assert_array_equal(window.session.data.steps.column("loss")[:n], original[:n])


def test_keyboard_shortcuts_space_s_r(window: MainWindow, qtbot) -> None:
    """Real key events on the active window: Space pauses and resumes, S steps, R resets."""
    questions: list[str] = []
    window.discard_guard.ask = lambda question: questions.append(question) or True  # R on a long run asks
    make_activated(qtbot, window)
    wait_steps(qtbot, window, 10)

    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.session.running
    paused_at = settle(qtbot, window)

    qtbot.keyClick(window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: window.session.data.step == paused_at + 1, timeout=WAIT_MS)
    qtbot.wait(200)
    assert window.session.data.step == paused_at + 1 and not window.session.running

    old_data = window.session.data
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.session.data is not old_data, timeout=WAIT_MS)
    assert window.session.data.step == 0

    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.session.running
    wait_steps(qtbot, window, 5)


def test_reset_while_training_shows_what_training_does(window: MainWindow, qtbot) -> None:
    """After Reset mid-training the Start/Pause state and the step count must agree.

    Either the new run trains (shown as training) or it waits at step 0 (shown as paused);
    a run that trains while the window says "paused" needs two presses of Space to stop.
    """
    wait_steps(qtbot, window, 20)
    assert window.session.running
    finish(qtbot, window, window.reset())
    assert window.session.data.step == 0 or window.session.running
    qtbot.wait(600)
    if window.session.running:
        assert window.session.data.step > 0, "shown as training but not training"
    else:
        assert window.session.data.step == 0, (
            f"shown as paused but trained {window.session.data.step} steps after Reset")


# ------------------------------------------------------------------------- sampler
def open_sampler(make_window: WindowFactory, qtbot, steps: int):
    """A character-model window with the sampler tab in front, once it has trained ``steps``."""
    window = make_window(CHARLM)
    sampler = window.sampler
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, steps)
    qtbot.waitUntil(lambda: sampler.pages.currentWidget() is sampler.text_page, timeout=WAIT_MS)
    return window, sampler


def test_sampler_streams_text_after_the_typed_seed(make_window: WindowFactory, qtbot) -> None:
    window, sampler = open_sampler(make_window, qtbot, steps=30)

    # Typing S, R and spaces into the seed box must type, not step, reset or pause.
    data_before = window.session.data
    seed = "Rain at Sea "
    sampler.seed.clear()
    qtbot.keyClicks(sampler.seed, seed)
    assert sampler.seed.text() == seed
    assert window.session.running and window.session.data is data_before
    assert sampler.warning.isHidden()

    sampler.length.setValue(40)
    lengths: list[int] = []
    sampler.output.textChanged.connect(lambda: lengths.append(len(sampler.output_text())))
    qtbot.mouseClick(sampler.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sampler.streaming, timeout=WAIT_MS)  # once the model copy arrived
    assert sampler.output_text().startswith(seed)  # the seed first
    qtbot.waitUntil(lambda: not sampler.streaming, timeout=WAIT_MS)

    text = sampler.output_text()
    assert text.startswith(seed)
    assert len(text) == len(seed) + 40
    grew = [n for n in lengths if n > len(seed)]
    assert grew == sorted(grew) and grew[-1] == len(text)
    # Streamed a few characters per timer tick, not all at once.
    assert len(grew) >= 40 // 4, f"text arrived in {len(grew)} pieces"
    assert max(np.diff([len(seed), *grew])) <= 4
    assert "40 of 40" in sampler.summary.text() and "done" in sampler.summary.text()


def test_sampler_names_unknown_seed_characters(make_window: WindowFactory, qtbot) -> None:
    """The built-in corpus has no 'Z' and no 'ü': the panel names both, nothing crashes."""
    window, sampler = open_sampler(make_window, qtbot, steps=10)
    sampler.seed.clear()
    type_text(qtbot, sampler.seed, "Zürich")
    assert sampler.seed.text() == "Zürich"
    assert not sampler.warning.isHidden()
    assert "'Z'" in sampler.warning.text() and "'ü'" in sampler.warning.text()

    before = sampler.output_text()
    qtbot.mouseClick(sampler.generate_button, Qt.MouseButton.LeftButton)
    qtbot.wait(100)
    assert not sampler.streaming and sampler.output_text() == before
    assert "'Z'" in sampler.warning.text() and "'ü'" in sampler.warning.text()
    assert window.session.running
    wait_steps(qtbot, window, window.session.data.step + 5)  # still training

    sampler.seed.setText("Munich")  # a seed the model knows clears the warning
    assert sampler.warning.isHidden()


def test_sampler_says_it_needs_a_character_model(window: MainWindow, qtbot) -> None:
    sampler = window.sampler
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, 5)
    assert sampler.pages.currentWidget() is sampler.not_text
    assert "language model" in sampler.not_text.text()
    assert sampler.not_text.isVisible()
    sampler.generate()  # e.g. Enter in a seed box left from a charlm run: nothing happens
    assert not sampler.streaming


# -------------------------------------------------------------------- settings form
def test_clip_marks_one_per_pixel_column_and_final_when_paused(make_window: WindowFactory, qtbot) -> None:
    """Clipping on every step: the marks never pile up beyond one per pixel column, and once
    paused they reach the last clipped step shown."""
    window = make_window(SINE.replace(clip="norm", clip_value=1e-4))  # every step is clipped
    wait_steps(qtbot, window, 600)
    window.toggle_running()
    settle(qtbot, window)
    panel = window.panel("gradients")
    steps = window.session.data.steps
    assert steps.column("clipped").all()

    def marks() -> np.ndarray:
        x, _ = panel.clip_marks.getData()
        return np.asarray(x if x is not None else [])

    columns = panel.plot.getViewBox().width()
    per_column = np.ceil(len(steps) / columns)  # steps per pixel column

    def reaches_the_end() -> bool:
        return marks().size > 0 and steps.column("step")[-1] - marks()[-1] < per_column

    qtbot.waitUntil(reaches_the_end, timeout=WAIT_MS)
    assert marks().size <= columns + 1
    assert np.isin(marks(), steps.column("step")).all()  # each mark is at a step that was clipped


def test_learning_rate_changes_live_without_a_reset(window: MainWindow, qtbot) -> None:
    data = window.session.data
    wait_steps(qtbot, window, 20)
    assert data.latest.lr == pytest.approx(SINE.lr)
    editor = window.controls.editors["lr"]
    assert isinstance(editor, QtWidgets.QDoubleSpinBox)
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "0.02")
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)
    changed_at = window.session.data.step

    qtbot.waitUntil(lambda: data.latest.lr == pytest.approx(0.02), timeout=WAIT_MS)
    assert window.session.config.lr == pytest.approx(0.02)
    assert window.session.data is data, "a live change must not reset the run"
    wait_steps(qtbot, window, data.step + 10)
    steps = data.steps.column("step")
    np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))  # one run, no restart
    lrs = data.steps.column("lr")
    assert lrs[0] == pytest.approx(SINE.lr) and lrs[-1] == pytest.approx(0.02)
    assert steps[np.argmax(lrs > SINE.lr)] >= changed_at - 1
    assert window.controls.pending.isHidden()  # nothing waits for a reset


def test_structural_change_waits_for_reset(window: MainWindow, qtbot) -> None:
    controls = window.controls
    data = window.session.data
    wait_steps(qtbot, window, 10)
    editor = controls.editors["hidden"]
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "24")
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)

    assert not controls.pending.isHidden()
    assert "hidden units" in controls.pending.text() and "Reset" in controls.pending.text()
    assert "↻" in controls.labels["hidden"].text()
    step_then = data.step
    wait_steps(qtbot, window, step_then + 20)
    assert window.session.data is data  # still the same run...
    assert data.latest.hidden.shape[1] == SINE.hidden  # ...with the same model
    assert window.session.config.hidden == SINE.hidden

    finish(qtbot, window, window.reset())
    new = window.session.data
    assert new is not data
    qtbot.waitUntil(lambda: new.latest is not None and new.latest.hidden.shape[1] == 24, timeout=WAIT_MS)
    assert window.session.config.hidden == 24
    assert controls.pending.isHidden()


# ------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_goes_back_to_the_saved_step(window: MainWindow, qtbot,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    wait_steps(qtbot, window, 20)
    window.toggle_running()
    saved_step = settle(qtbot, window)
    finish(qtbot, window, window.save_checkpoint(str(path)))
    assert path.stat().st_size > 0
    original = window.session.data
    window.toggle_running()
    wait_steps(qtbot, window, saved_step + 40)

    finish(qtbot, window, window.load_checkpoint(str(path)))
    resumed = window.session.data
    assert not window.last_problem, window.last_problem
    assert resumed is not original and window.session.running  # was running: keeps running
    qtbot.waitUntil(lambda: len(resumed.steps) >= 5, timeout=WAIT_MS)
    window.toggle_running()
    settle(qtbot, window)
    steps = resumed.steps.column("step")
    assert steps[0] == saved_step + 1, "training did not continue from the saved step"
    # The same data position, RNG and optimizer state: the resumed losses repeat the original ones.
    original_steps = original.steps.column("step")
    first = int(np.flatnonzero(original_steps == saved_step + 1)[0])
    n = min(5, len(steps))
    np.testing.assert_array_equal(resumed.steps.column("loss")[:n],
                                  original.steps.column("loss")[first:first + n])


def test_checkpoint_loaded_while_paused_shows_its_step(window: MainWindow, qtbot, tmp_path: Path) -> None:
    """Loaded while paused, the status bar shows the checkpoint's step at once, not "step 0"."""
    path = tmp_path / "run.npz"
    wait_steps(qtbot, window, 20)
    window.toggle_running()
    saved_step = settle(qtbot, window)
    finish(qtbot, window, window.save_checkpoint(str(path)))
    window.step_once()
    qtbot.waitUntil(lambda: window.session.data.step == saved_step + 1, timeout=WAIT_MS)
    finish(qtbot, window, window.load_checkpoint(str(path)))
    assert window.session.step_count == saved_step
    qtbot.wait(STATUS_WAIT_MS)
    assert window.step_label.text() == f"step {saved_step:,}"


STATUS_WAIT_MS = 700  # the status bar refreshes every 500 ms


def test_corrupt_checkpoint_keeps_the_run(window: MainWindow, qtbot, tmp_path: Path) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    wait_steps(qtbot, window, 10)
    data, config = window.session.data, window.session.config

    finish(qtbot, window, window.load_checkpoint(str(path)))
    message = window.last_problem
    assert "checkpoint" in message.lower()
    assert "\n" not in message and "Traceback" not in message and len(message) < 300
    assert message.startswith(window.statusBar().currentMessage())  # its first sentence
    assert window.banner.isVisible() and window.banner.label.text() == message
    assert window.session.running  # the run carries on...
    assert window.session.data is data and window.session.config == config  # ...the same run
    wait_steps(qtbot, window, data.step + 5)
    assert window.session.data is data


def test_problem_banner_is_visible(window: MainWindow, qtbot, tmp_path: Path) -> None:
    """A problem shows in the banner across the top, not only in the status bar for 15 s.

    (The banner lives in a QToolBar, which shows its widgets only through their actions.)
    """
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a checkpoint" * 64)
    wait_steps(qtbot, window, 5)
    finish(qtbot, window, window.load_checkpoint(str(path)))
    qtbot.wait(100)
    assert window.banner.isVisible() and window.banner.label.isVisible()
    assert window.banner.label.text() == window.last_problem


# -------------------------------------------------------------------- bad corpora
def _missing(tmp_path: Path) -> Path:
    return tmp_path / "no-such-file.txt"


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    return path


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "image.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    return path


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Zürich, Genève, Málaga. ".encode("latin-1") * 200)
    return path


def test_bad_corpus_shows_a_message_and_keeps_the_run(window: MainWindow, qtbot, tmp_path: Path) -> None:
    """Missing, empty, binary and non-UTF-8 files: one clear message each, the run kept."""
    data = window.session.data
    for make_file in (_missing, _empty, _binary, _latin1):
        path = make_file(tmp_path)
        wait_steps(qtbot, window, data.step + 5)

        finish(qtbot, window, window.open_corpus(str(path)))
        message = window.last_problem
        assert path.name in message, message
        assert "\n" not in message and "Traceback" not in message
        assert message.startswith(window.statusBar().currentMessage())  # its first sentence
        assert window.banner.isVisible() and window.banner.label.text() == message
        assert window.session.data is data and window.session.config == SINE
        assert window.controls.form_config() == SINE  # the form shows the kept run, not the bad corpus
        assert window.session.running  # and the kept run trains on
    wait_steps(qtbot, window, data.step + 5)
    assert window.session.data is data


# ----------------------------------------------------------------- close and errors
def test_closing_while_training_stops_training(make_window: WindowFactory, qtbot, qtlog) -> None:
    """Close mid-training (and mid-sample): training ends within a second, cleanly."""
    heavier = TrainConfig(task="charlm", hidden=128, seq_len=50, batch=16, eval_every=25)
    window = make_window(heavier)
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, 5)
    window.sampler.length.setValue(5000)
    window.sampler.generate()
    qtbot.waitUntil(lambda: window.sampler.streaming, timeout=WAIT_MS)
    assert window.session.running

    started = time.monotonic()
    window.close()
    closed_in = time.monotonic() - started
    assert training_stopped(window.session, timeout=1.0)
    assert closed_in < 1.0, f"closing took {closed_in:.2f} s"
    process = getattr(window.session, "process", None)
    if process is not None:
        assert process.exitcode == 0, f"the training process was killed (exit code {process.exitcode})"
    assert not window.sampler.streaming
    messages = [record.message for record in qtlog.records]
    assert not any("Destroyed while thread" in m for m in messages), messages


def test_closing_right_after_a_busy_spell_is_clean(make_window: WindowFactory, qtbot) -> None:
    """Close just after the GUI thread was busy: still under a second, and a clean stop.

    Meanwhile the training process piles up steps; once acknowledged it sends them as one
    batch larger than the pipe holds, so closing must keep reading the pipe while it waits,
    or the process blocks in send, never reads "stop", and is killed after a timeout.
    """
    window = make_window(CHARLM)
    wait_steps(qtbot, window, 20)
    time.sleep(3.0)  # the GUI thread busy (a long redraw, a slow disk): training goes on
    QtWidgets.QApplication.processEvents()  # one drain: the batch waiting is taken and acknowledged
    time.sleep(0.3)  # meanwhile the training process sends everything it accumulated
    started = time.monotonic()
    window.close()
    closed_in = time.monotonic() - started
    assert training_stopped(window.session, timeout=3.0)
    assert window.session.process.exitcode == 0, f"killed (exit {window.session.process.exitcode})"
    assert closed_in < 1.0, f"closing took {closed_in:.2f} s"


def test_worker_exception_is_shown_and_the_app_lives(make_window: WindowFactory, qtbot,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Trainer.step raises on its 25th call (in the training process): banner, pause, data kept."""
    import rnnviz.app.session

    fail_on = 25
    monkeypatch.setenv(FAIL_ON_CALL_ENV, str(fail_on))
    monkeypatch.setattr(rnnviz.app.session, "training_process_main", training_main_with_fault)
    window = make_window()
    data = window.session.data
    qtbot.waitUntil(lambda: "simulated fault" in window.last_problem, timeout=WAIT_MS)
    assert "RuntimeError" in window.last_problem
    assert window.last_problem.startswith(window.statusBar().currentMessage())
    assert window.banner.isVisible()
    assert not window.session.running
    step = settle(qtbot, window)
    assert window.session.data is data and step == fail_on - 1  # everything before the fault kept
    assert len(data.steps) == fail_on - 1

    frames = window.frames_drawn
    window.toggle_running()  # Start again: training goes on from where it stopped
    assert not window.banner.isVisible()  # and the message is dismissed
    wait_steps(qtbot, window, fail_on + 10)
    qtbot.waitUntil(lambda: window.frames_drawn > frames + 2, timeout=WAIT_MS)  # still drawing
    assert window.session.data is data
    np.testing.assert_array_equal(data.steps.column("step")[:fail_on + 5], np.arange(1, fail_on + 6))


DIVERGING = TrainConfig(task="charlm", hidden=16, seq_len=20, batch=4, lr=50.0, optimizer="sgd",
                        clip="none", activation="relu", init="orthogonal", spectral_radius=3.0,
                        eval_every=20)


def test_non_finite_loss_pauses_with_a_marker(make_window: WindowFactory, qtbot, tmp_path: Path) -> None:
    window = make_window(DIVERGING)
    qtbot.waitUntil(lambda: "non-finite" in window.last_problem, timeout=WAIT_MS)
    assert not window.session.running
    assert window.banner.isVisible() and "non-finite" in window.banner.label.text()
    settle(qtbot, window)
    data = window.session.data
    assert data.divergences and data.latest is not None and not data.latest.finite

    loss = window.panel("loss")
    qtbot.waitUntil(lambda: loss.divergence.isVisible(), timeout=WAIT_MS)
    assert "non-finite" in loss.divergence.label.toPlainText()
    assert "non-finite" in loss.summary.text()
    qtbot.waitUntil(lambda: "non-finite" in window.state_label.text(), timeout=WAIT_MS)

    # The parameters from before the bad step were kept: a checkpoint holds finite numbers.
    path = tmp_path / "after-divergence.npz"
    finish(qtbot, window, window.save_checkpoint(str(path)))
    arrays, _meta = load_checkpoint(path)
    for name in PARAM_NAMES:
        assert np.isfinite(arrays[f"param.{name}"]).all(), name


# -------------------------------------------------------------------------- export
def test_export_png_and_csv(window: MainWindow, qtbot, tmp_path: Path) -> None:
    wait_steps(qtbot, window, 45)
    window.toggle_running()
    trained = settle(qtbot, window)

    written = window.export_png(str(tmp_path / "png"))
    names = {p.name for p in written}
    visible = [key for key, dock in window.docks.items()
               if key not in ("controls", "runs") and dock.isVisible()]
    assert len(visible) >= 6
    for key in visible:
        assert f"rnnviz-{key}.png" in names, key
    for path in written:
        assert png_ok(path), path

    csv_path = window.export_csv(str(tmp_path / "m.csv"))
    assert csv_path is not None
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["step", "chars_seen", "elapsed_s", "train_loss"]
    assert len(body) == trained, f"{len(body)} rows for {trained} steps"
    assert [int(r[0]) for r in body] == list(range(1, trained + 1))
    column = {name: i for i, name in enumerate(header)}
    assert all(math.isfinite(float(r[column["train_loss"]])) for r in body)
    assert sum(1 for r in body if r[column["val_loss"]]) == trained // SINE.eval_every


def test_export_png_skips_closed_panels(window: MainWindow, qtbot, tmp_path: Path) -> None:
    """A panel the user closed is not exported (a closed dock keeps its size, so size is no test)."""
    wait_steps(qtbot, window, 5)
    window.docks["spectrum"].close()
    qtbot.waitUntil(lambda: not window.docks["spectrum"].isVisible(), timeout=5000)
    names = {p.name for p in window.export_png(str(tmp_path))}
    assert "rnnviz-loss.png" in names
    assert "rnnviz-spectrum.png" not in names


# ------------------------------------------------------------------------ QSettings
def test_settings_survive_closing_and_reopening(make_window: WindowFactory, qtbot, qsettings) -> None:
    config = SINE.replace(hidden=20, seed=7)
    first = make_window(config)
    wait_steps(qtbot, first, 5)
    first.sampler.temperature.setValue(1.3)
    loss = first.panel("loss")
    qtbot.mouseClick(loss.log_y, Qt.MouseButton.LeftButton)
    assert loss.log_y.isChecked()
    first.docks["spectrum"].close()
    first.close()
    assert training_stopped(first.session)
    assert qsettings.value("sampler/temperature", type=float) == pytest.approx(1.3)

    second = make_window(config=None, restore_last_run=True)
    assert second.sampler.temperature.value() == pytest.approx(1.3)
    assert second.panel("loss").log_y.isChecked()
    assert second.docks["spectrum"].isHidden()
    assert second.docks["loss"].isVisible()
    assert second.session.config == config  # the last run's settings come back
    wait_steps(qtbot, second, 5)


# ------------------------------------------------------------------------- run_app
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux-only")
def test_run_app_without_a_display_points_to_the_cli(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from rnnviz.app import run_app

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)  # monkeypatch puts them back afterwards
    assert run_app([]) == 2
    captured = capsys.readouterr()
    text = (captured.out + captured.err).strip()
    assert "rnnviz train" in text
    assert "\n" not in text
    assert len(re.findall(r"[.!?](?:\s|$)", text)) == 1, text  # one sentence


# ---------------------------------------------------------------- bounded memory
def test_run_data_stays_bounded_over_a_million_steps() -> None:
    """A million steps of batches in the worker's own format; the stored arrays stay fixed.

    The batches are built by the worker's accumulator from real StepReports of a tiny
    trainer, then replayed with shifted step numbers, so no training is needed.
    """
    from rnnviz.app.run_data import RunData, task_info
    from rnnviz.app.training_process import ReportBatch, StepAccumulator, run_details

    trainer = Trainer(TrainConfig(task="sine", hidden=4, seq_len=8, batch=2, eval_every=10,
                                  spectrum_every=5))
    acc = StepAccumulator()
    reports = [trainer.step() for _ in range(20)]
    for report in reports:
        acc.add(report)
    template = acc.take(run=1, seq=1, running=True)
    evaluation = next(r.evaluation for r in reports if r.evaluation is not None)
    data = RunData(task_info(run_details(trainer)), trainer.config)

    def stored_bytes() -> int:
        histories = (data.steps, data.evals, data.spectra)
        return (sum(col.nbytes for h in histories for col in h._data.values())
                + data.flow._rows.nbytes + data.flow._keys.nbytes)

    per_batch, total = 1000, 1_000_000
    rng = np.random.default_rng(0)
    size_after_first_fill = None
    for start in range(0, total, per_batch):
        steps = np.arange(start + 1, start + per_batch + 1, dtype=np.float64)
        scalars = {key: np.resize(values, per_batch) for key, values in template.scalars.items()}
        scalars["step"] = steps
        scalars["loss"] = rng.random(per_batch) + 1.0
        scalars["tokens_seen"] = steps * 16
        scalars["diverged"] = np.zeros(per_batch)
        batch = ReportBatch(
            run=1, seq=start // per_batch + 1, scalars=scalars, dh_steps=steps.astype(np.int64),
            dh_norms=[template.dh_norms[i % len(template.dh_norms)] for i in range(per_batch)],
            spectra=[(int(s), 0.9, 1.1) for s in steps[::25]],
            evaluations=[evaluation] * (per_batch // 100),
            latest=template.latest, running=True)
        data.add_batch(batch)
        if start == 100_000:
            size_after_first_fill = stored_bytes()

    assert data.total_steps == total
    assert data.latest is not None
    assert total - data.steps.stride < data.steps.last("step") <= total  # thinned, up to date
    assert len(data.steps) <= data.steps.capacity
    assert len(data.evals) <= data.evals.capacity and len(data.spectra) <= data.spectra.capacity
    assert len(data.flow) <= data.flow.capacity
    assert len(data.recent_clipped) <= 100 and len(data.divergences) <= 100
    assert stored_bytes() == size_after_first_fill  # nothing grows after the first thinning
    assert stored_bytes() < 10 * 2**20
    stored_steps = data.steps.column("step")
    assert stored_steps[0] == 1 and np.all(np.diff(stored_steps) > 0)
    assert stored_steps[-1] > 0.99 * total  # still covers the whole run
    assert data.steps.stride > 1
