"""Run files in the window: File → Open run…, Save run…, a file dropped on the window, and
``MainWindow(run_file=...)`` (what ``rnnviz open`` starts). Waits are on what the window shows
(``qtbot.waitUntil``), as in test_app.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import SINE
from test_app import curve_points as points
from test_app import finish
from test_run_file import assert_same_run

from rnnviz.app.main_window import MainWindow
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets
from rnnviz.cli import main
from rnnviz.core.rnn import PARAM_NAMES
from rnnviz.runs.file import RUN_FILE_NAME, load_run

WindowFactory = Callable[..., MainWindow]
WAIT_MS = 15_000
FILE_STEPS = 120


def train_run_file(folder: Path, *argv: str) -> Path:
    """A run file written by ``rnnviz train`` on SINE's settings (or ``argv``'s)."""
    settings = argv or ("--preset", "sine", "--hidden", str(SINE.hidden), "--seq-len", str(SINE.seq_len),
                        "--batch", str(SINE.batch), "--eval-every", str(SINE.eval_every),
                        "--spectrum-every", str(SINE.spectrum_every))
    assert main(["train", *settings, "--steps", str(FILE_STEPS), "--out", str(folder), "--quiet"]) == 0
    return folder / RUN_FILE_NAME


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory) -> Path:
    return train_run_file(tmp_path_factory.mktemp("sine-run"))


def every_panel_filled(window: MainWindow, hidden_units: int) -> bool:
    loss, grads, spectrum, hidden, flow, task = (
        window.panel(k) for k in ("loss", "gradients", "spectrum", "hidden", "flow", "task"))
    return (points(loss.raw) > 10 and points(loss.smoothed) > 10 and points(loss.val) >= 2
            and points(grads.global_before) > 10 and all(points(grads.before[n]) > 10 for n in PARAM_NAMES)
            and points(spectrum.eigenvalues) == hidden_units and points(spectrum.radius_curve) >= 2
            and hidden.image.image is not None and points(flow.current) > 0 and flow.image.image is not None
            and task.pages.currentWidget() is not task.waiting)


def test_an_opened_run_fills_every_panel_at_once_and_start_continues_it(make_window: WindowFactory, qtbot,
                                                                        sine_run: Path) -> None:
    window = make_window(SINE, start=False)
    first_run = window.session.run_id
    request = window.run_files.open(str(sine_run))
    # At once, before the training process has loaded the weights: the file's history is drawn.
    assert window.session.data.step == FILE_STEPS and window.session.run_id != first_run
    assert every_panel_filled(window, SINE.hidden)
    assert not window.session.running
    expected = load_run(sine_run).data
    expected.add_mark(FILE_STEPS, f"opened {RUN_FILE_NAME}")  # the window notes where the file came in
    assert_same_run(expected, window.session.data)
    finish(qtbot, window, request)
    assert window.session.unavailable is None and window.session.step_count == FILE_STEPS
    window.toggle_running()
    qtbot.waitUntil(lambda: window.session.data.step >= FILE_STEPS + 30, timeout=WAIT_MS)
    window.session.pause()
    steps = window.session.data.steps.column("step")
    np.testing.assert_array_equal(steps[:FILE_STEPS + 30], np.arange(1, FILE_STEPS + 31))  # no gap, no repeat


def test_saving_from_the_app_writes_what_the_window_shows(make_window: WindowFactory, qtbot,
                                                          tmp_path: Path) -> None:
    window = make_window(SINE)
    qtbot.waitUntil(lambda: window.session.data.step >= 70, timeout=WAIT_MS)
    window.session.pause()
    qtbot.waitUntil(lambda: window.session.autosaved_step == window.session.data.step, timeout=WAIT_MS)
    saved: list[Path] = []
    window.run_files.save(str(tmp_path / "from-the-app"), on_saved=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT_MS)
    assert saved == [tmp_path / "from-the-app.rnnviz"]
    opened = load_run(saved[0])
    assert opened.data is not None
    assert_same_run(window.session.data, opened.data)
    assert opened.step == window.session.data.step  # paused: weights and history end together
    assert sorted(p.name for p in window.session.autosave_dir.iterdir() if p.name.startswith("saving")) == []
    # And it opens again, the same.
    finish(qtbot, window, window.run_files.open(str(saved[0])))
    assert window.session.data.step == opened.step and window.session.unavailable is None


def test_saving_while_training_ends_history_and_weights_together(make_window: WindowFactory, qtbot,
                                                                   tmp_path: Path) -> None:
    """Training pauses for the moment the weights are copied and the window's history reaches
    their step, then goes on: the file's curves and weights end at the same step."""
    window = make_window(SINE)
    qtbot.waitUntil(lambda: window.session.data.step >= 40, timeout=WAIT_MS)
    saved: list[Path] = []
    window.run_files.save(str(tmp_path / "running.rnnviz"), on_saved=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT_MS)
    opened = load_run(saved[0])
    assert opened.data is not None and opened.data.latest is not None
    assert opened.data.step == opened.step == opened.data.steps.last("step")
    assert window.session.running
    step = window.session.data.step
    qtbot.waitUntil(lambda: window.session.data.step > step + 10, timeout=WAIT_MS)  # and it trains on


def test_a_run_file_dropped_on_the_window_opens(make_window: WindowFactory, qtbot, sine_run: Path) -> None:
    window = make_window(SINE, start=False)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(sine_run))])
    actions = Qt.DropAction.CopyAction
    # Over a plot, as a user drags it: the plot does not take it, the window does.
    plot = window.panel("loss").widget.findChild(QtWidgets.QGraphicsView)
    assert plot is not None
    enter = QtGui.QDragEnterEvent(QtCore.QPoint(50, 50), actions, mime, Qt.MouseButton.LeftButton,
                                  Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(plot.viewport(), enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(QtCore.QPointF(50, 50), actions, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QtCore.QCoreApplication.sendEvent(window, drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: window.session.data.step == FILE_STEPS, timeout=WAIT_MS)
    other = QtCore.QMimeData()
    other.setUrls([QtCore.QUrl.fromLocalFile(str(sine_run.with_name("metrics.csv")))])
    refused = QtGui.QDragEnterEvent(QtCore.QPoint(50, 50), actions, other, Qt.MouseButton.LeftButton,
                                    Qt.KeyboardModifier.NoModifier)
    refused.ignore()
    QtCore.QCoreApplication.sendEvent(window, refused)
    assert not refused.isAccepted()


def test_a_bad_run_file_is_one_sentence_and_the_run_carries_on(make_window: WindowFactory, qtbot,
                                                               tmp_path: Path) -> None:
    window = make_window(SINE)
    qtbot.waitUntil(lambda: window.session.data.step >= 5, timeout=WAIT_MS)
    run, data = window.session.run_id, window.session.data
    bad = tmp_path / "bad.rnnviz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert window.run_files.open(str(bad)) is None
    assert window.last_problem.startswith("Could not open bad.rnnviz: It is not a readable")
    assert str(tmp_path) not in window.last_problem  # the file is named once, by its name
    assert window.last_problem.endswith("The current run carries on.") and "\n" not in window.last_problem
    assert window.session.run_id == run and window.session.data is data and window.session.running


def test_a_run_whose_corpus_is_gone_is_shown_but_cannot_train(make_window: WindowFactory, qtbot,
                                                              tmp_path: Path) -> None:
    corpus = tmp_path / "gone.txt"
    corpus.write_text("the lamp lit the bell and the gull. " * 80, encoding="utf-8")
    path = train_run_file(tmp_path / "run", "--corpus", str(corpus), "--hidden", "8", "--batch", "2",
                          "--seq-len", "8", "--eval-every", "40")
    corpus.unlink()
    window = make_window(SINE, start=False)
    finish(qtbot, window, window.run_files.open(str(path)))
    session = window.session
    assert session.data.step == FILE_STEPS and session.data.task.name == "charlm"
    assert session.unavailable is not None and "gone.txt" in session.unavailable
    assert "is shown, but it cannot train" in window.last_problem
    window.toggle_running()
    assert not session.running and "This run cannot train" in window.last_problem
    saved: list[Path] = []
    window.run_files.save(str(tmp_path / "again.rnnviz"), on_saved=saved.append)  # from the file's weights
    assert saved and load_run(saved[0]).step == FILE_STEPS


def test_a_plain_checkpoint_opens_like_load_checkpoint(make_window: WindowFactory, qtbot,
                                                      sine_run: Path) -> None:
    window = make_window(SINE, start=False)
    finish(qtbot, window, window.run_files.open(str(sine_run.with_name("checkpoint.npz"))))
    assert window.session.step_count == FILE_STEPS and window.session.data.step == FILE_STEPS


def test_a_window_made_with_a_run_file_shows_it(qtbot, qsettings, sine_run: Path) -> None:
    """What ``rnnviz open FILE`` starts."""
    window = MainWindow(config=SINE, settings=qsettings, start=True, restore_last_run=False,
                        run_file=str(sine_run))
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    window.show()
    qtbot.waitExposed(window)
    assert window.session.data.step == FILE_STEPS and not window.session.running
    qtbot.waitUntil(lambda: not window.starting and not window.session.pending, timeout=WAIT_MS)
    assert window.session.data.step == FILE_STEPS and window.session.unavailable is None
    assert every_panel_filled(window, SINE.hidden)
    window.toggle_running()
    qtbot.waitUntil(lambda: window.session.data.step > FILE_STEPS + 5, timeout=WAIT_MS)
