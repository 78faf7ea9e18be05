"""Controls that never surprise: keys, the mouse wheel, asking before a long run is lost, the
preset box telling the truth, and a sampler whose controls hold still.

Keys are real key events sent to whatever has the keyboard focus, through Qt's shortcut
machinery (QTest offers each key as a shortcut first, as a keyboard does).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CHARLM, SINE
from test_app import WAIT_MS, WindowFactory, finish, make_activated, settle, wait_steps

from rnnviz.app.confirm import ASK_ABOVE_STEPS, SKIP_KEY
from rnnviz.app.controls import CUSTOM, CUSTOM_TITLE
from rnnviz.app.keys import is_text_field
from rnnviz.app.main_window import MainWindow
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets


# ----------------------------------------------------------------------------- helpers
def focus(qtbot, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """Give ``widget`` the keyboard focus (as a click would) and return the focused widget."""
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is not None
                    and (widget.hasFocus() or widget.isAncestorOf(QtWidgets.QApplication.focusWidget())),
                    timeout=5000)
    return QtWidgets.QApplication.focusWidget()


def press(qtbot, key: Qt.Key) -> None:
    """One key on the keyboard: to the focused widget, offered as a shortcut first."""
    target = QtWidgets.QApplication.focusWidget() or QtWidgets.QApplication.activeWindow()
    qtbot.keyClick(target, key)


def type_keys(qtbot, text: str) -> None:
    """Type ``text`` into the focused widget like a keyboard, umlauts and ß included."""
    for ch in text:
        target = QtWidgets.QApplication.focusWidget()
        if ch.isascii():
            qtbot.keyClick(target, ch)  # through the shortcut machinery, like a real key
            continue
        for kind in (QtCore.QEvent.Type.ShortcutOverride, QtCore.QEvent.Type.KeyPress,
                     QtCore.QEvent.Type.KeyRelease):
            event = QtGui.QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
            QtWidgets.QApplication.sendEvent(target, event)


def count_triggers(window: MainWindow) -> dict[str, int]:
    counts = {"start": 0, "step": 0, "reset": 0}
    for name, action in (("start", window.start_action), ("step", window.step_action),
                         ("reset", window.reset_action)):
        action.triggered.connect(lambda _=False, n=name: counts.__setitem__(n, counts[n] + 1))
    return counts


def never_ask(question: str) -> bool:
    raise AssertionError(f"asked without need: {question}")


# ------------------------------------------------------------------------------- keys
@pytest.mark.parametrize("field", ["sampler seed", "corpus", "hidden units", "learning rate", "seed"])
def test_typing_in_a_text_field_never_resets_steps_or_pauses(make_window: WindowFactory, qtbot,
                                                             field: str) -> None:
    window = make_window(CHARLM, start=False)
    window.discard_guard.ask = never_ask
    make_activated(qtbot, window)
    window.docks["sampler"].raise_()
    editors = window.controls.editors
    editor = {"sampler seed": window.sampler.seed, "corpus": window.controls.corpus_edit,
              "hidden units": editors["hidden"], "learning rate": editors["lr"],
              "seed": editors["seed"]}[field]
    counts = count_triggers(window)
    data = window.session.data
    assert is_text_field(focus(qtbot, editor))
    type_keys(qtbot, "Grüße r s ")
    qtbot.wait(300)
    assert counts == {"start": 0, "step": 0, "reset": 0}
    assert window.session.data is data and data.step == 0 and not window.session.running
    if isinstance(editor, QtWidgets.QLineEdit):
        assert editor.text().endswith("Grüße r s ")


def test_typing_in_the_seed_field_while_training_keeps_training(make_window: WindowFactory, qtbot) -> None:
    window = make_window(CHARLM)
    make_activated(qtbot, window)
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, 5)
    data = window.session.data
    focus(qtbot, window.sampler.seed)
    window.sampler.seed.clear()
    type_keys(qtbot, "Grüße aus Rom ")
    assert window.sampler.seed.text() == "Grüße aus Rom "
    wait_steps(qtbot, window, data.step + 5)
    assert window.session.running and window.session.data is data


def test_keys_work_right_after_return_in_a_settings_field(make_window: WindowFactory, qtbot) -> None:
    """Edit a field, press Return: focus leaves the field, and S, Space and R work at once."""
    window = make_window(SINE, start=False)
    window.discard_guard.ask = never_ask
    window.speed.set_pace(20)  # a short run however slow the machine is to pause it
    make_activated(qtbot, window)
    hidden = window.controls.editors["hidden"]
    focus(qtbot, hidden)
    hidden.lineEdit().selectAll()
    type_keys(qtbot, "24")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not is_text_field(QtWidgets.QApplication.focusWidget()), timeout=5000)
    assert hidden.value() == 24

    press(qtbot, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: window.session.data.step == 1, timeout=WAIT_MS)
    press(qtbot, Qt.Key.Key_Space)
    assert window.session.running
    wait_steps(qtbot, window, 5)
    press(qtbot, Qt.Key.Key_Space)
    assert not window.session.running
    settle(qtbot, window)
    old = window.session.data
    press(qtbot, Qt.Key.Key_R)  # a short run: no question
    qtbot.waitUntil(lambda: window.session.data is not old, timeout=WAIT_MS)
    assert window.session.config.hidden == 24  # the edited field applied on Reset


def test_escape_leaves_a_text_field_too(make_window: WindowFactory, qtbot) -> None:
    window = make_window(CHARLM, start=False)
    make_activated(qtbot, window)
    for editor in (window.controls.corpus_edit, window.controls.editors["lr"], window.sampler.seed):
        window.docks["sampler"].raise_()
        focus(qtbot, editor)
        press(qtbot, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not is_text_field(QtWidgets.QApplication.focusWidget()), timeout=5000)


def test_return_in_the_sampler_seed_samples_and_hands_back_the_keys(make_window: WindowFactory,
                                                                     qtbot) -> None:
    window = make_window(CHARLM)
    sampler = window.sampler
    make_activated(qtbot, window)
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, 5)
    sampler.length.setValue(20)
    focus(qtbot, sampler.seed)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sampler.output_text().startswith(sampler.seed.text()) and not sampler.streaming
                    and len(sampler.output_text()) == len(sampler.seed.text()) + 20, timeout=WAIT_MS)
    assert not is_text_field(QtWidgets.QApplication.focusWidget())
    press(qtbot, Qt.Key.Key_Space)
    assert not window.session.running


def test_single_keys_fire_exactly_when_no_text_field_has_focus(make_window: WindowFactory, qtbot) -> None:
    """Every widget in the window that can take the keyboard focus: S steps unless it types."""
    window = make_window(CHARLM, start=False)
    window.discard_guard.ask = never_ask
    make_activated(qtbot, window)
    window.docks["sampler"].raise_()
    counts = count_triggers(window)
    focusable = [w for w in window.findChildren(QtWidgets.QWidget)
                 if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
                 and w.focusProxy() is None]
    kinds = {type(w).__name__ for w in focusable}
    assert {"QLineEdit", "QSpinBox", "QComboBox", "QCheckBox", "QPushButton", "QPlainTextEdit"} <= kinds
    checked = 0
    for widget in focusable:
        focused = focus(qtbot, widget)
        before = counts["step"]
        press(qtbot, Qt.Key.Key_S)
        fired = counts["step"] > before
        assert fired != is_text_field(focused), f"S {'fired' if fired else 'did not fire'} in {focused!r}"
        checked += 1
    assert checked >= 20


# ------------------------------------------------------------------------ mouse wheel
def wheel(widget: QtWidgets.QWidget, notches: int) -> None:
    centre = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    event = QtGui.QWheelEvent(centre, QtCore.QPointF(widget.mapToGlobal(centre.toPoint())), QtCore.QPoint(),
                              QtCore.QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                              Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_form_not_the_spin_box_under_it(make_window: WindowFactory, qtbot) -> None:
    window = make_window(SINE, start=False)
    seq_len = window.controls.editors["seq_len"]
    task = window.controls.editors["task"]
    scroll_bar = window.controls.findChild(QtWidgets.QScrollArea).verticalScrollBar()
    assert scroll_bar.maximum() > 0, "the form should scroll at 1280×800"
    scroll_bar.setValue(0)
    window.controls.reset_button.setFocus()
    value, task_text = seq_len.value(), task.currentText()
    wheel(seq_len, -1)
    wheel(task, -1)
    assert seq_len.value() == value and task.currentText() == task_text
    assert scroll_bar.value() > 0, "the wheel did not scroll the form"
    assert not seq_len.hasFocus()  # the wheel does not give it the keyboard either

    focus(qtbot, seq_len)
    wheel(seq_len, -1)  # focused: the wheel is the spin box's
    assert seq_len.value() == value - 1


# ------------------------------------------------------------------ asking before loss
def long_paused_run(make_window: WindowFactory, qtbot) -> MainWindow:
    window = make_window(SINE)
    wait_steps(qtbot, window, ASK_ABOVE_STEPS + 1)
    window.toggle_running()
    settle(qtbot, window)
    return window


def test_reset_key_asks_before_ending_a_long_run(make_window: WindowFactory, qtbot) -> None:
    window = long_paused_run(make_window, qtbot)
    make_activated(qtbot, window)
    questions: list[str] = []
    answer = [False]
    window.discard_guard.ask = lambda question: questions.append(question) or answer[0]
    data = window.session.data

    window.controls.reset_button.setFocus()
    press(qtbot, Qt.Key.Key_R)
    qtbot.wait(300)
    assert len(questions) == 1 and f"{data.step:,} steps" in questions[0]
    assert window.session.data is data  # kept

    qtbot.mouseClick(window.controls.reset_button, Qt.MouseButton.LeftButton)
    assert len(questions) == 2 and window.session.data is data

    answer[0] = True
    press(qtbot, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.session.data is not data, timeout=WAIT_MS)
    assert window.session.data.step == 0 and len(questions) == 3

    # Called from code (tests, scripts) it never asks.
    window.discard_guard.ask = never_ask
    finish(qtbot, window, window.reset())


def test_choosing_a_preset_asks_and_a_refusal_keeps_the_preset_box(make_window: WindowFactory, qtbot) -> None:
    window = long_paused_run(make_window, qtbot)
    combo = window.controls.preset_combo
    window.discard_guard.ask = lambda question: False
    data = window.session.data
    assert combo.currentData() == CUSTOM
    combo.activated.emit(combo.findData("sine"))  # what picking it from the list sends
    qtbot.wait(200)
    assert window.session.data is data
    assert combo.currentData() == CUSTOM and "custom" in window.controls.preset_watch.text()


def test_the_real_question_has_dont_ask_again(make_window: WindowFactory, qtbot, qsettings) -> None:
    """The dialog itself: "Keep this run" is the default; "Don't ask again" is remembered."""
    window = long_paused_run(make_window, qtbot)
    data = window.session.data

    seen: list[tuple[str, str, bool]] = []

    def answer(keep: bool, dont_ask: bool, tries: int = 40) -> None:
        """Answer the open question; what it looked like goes to ``seen`` (asserted below, so a
        failure cannot leave the dialog open)."""
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox):
            seen.append(("no dialog", "", False))
            if box is not None:
                box.close()
            return
        focused = QtWidgets.QApplication.focusWidget() is box.defaultButton()  # a stray Space keeps
        if not focused and tries:  # a busy machine may take a moment to give the dialog focus
            QtCore.QTimer.singleShot(50, lambda: answer(keep, dont_ask, tries - 1))
            return
        seen.append((box.objectName(), box.defaultButton().text(), focused))
        box.checkBox().setChecked(dont_ask)
        chosen = next(b for b in box.buttons() if b.text() == ("Keep this run" if keep else "Start again"))
        chosen.click()

    QtCore.QTimer.singleShot(100, lambda: answer(keep=True, dont_ask=True))
    assert window.reset(confirm=True) is None
    assert seen == [("confirm-discard", "Keep this run", True)]
    assert window.session.data is data and not qsettings.value(SKIP_KEY, False, type=bool)

    QtCore.QTimer.singleShot(100, lambda: answer(keep=False, dont_ask=True))
    finish(qtbot, window, window.reset(confirm=True))
    assert window.session.data is not data
    assert qsettings.value(SKIP_KEY, False, type=bool)
    window.toggle_running()
    wait_steps(qtbot, window, ASK_ABOVE_STEPS + 1)
    window.discard_guard.ask = never_ask  # not asked again
    finish(qtbot, window, window.reset(confirm=True))


# ---------------------------------------------------------------------- the preset box
def test_preset_box_shows_what_runs(make_window: WindowFactory, qtbot, tmp_path: Path) -> None:
    """A test config is custom; a preset is itself; a checkpoint or a corpus is custom again."""
    window = make_window(CHARLM, start=False)
    controls, combo = window.controls, window.controls.preset_combo
    assert combo.currentText() == CUSTOM_TITLE and "custom" in controls.preset_watch.text()
    assert controls.current_preset == CUSTOM

    checkpoint = tmp_path / "charlm.npz"
    finish(qtbot, window, window.save_checkpoint(str(checkpoint)))
    finish(qtbot, window, window.choose_preset("sine"))
    sine = controls.preset("sine")
    assert combo.currentData() == "sine" and controls.preset_watch.text().endswith(sine.watch)
    finish(qtbot, window, window.load_checkpoint(str(checkpoint)))
    assert window.session.config.task == "charlm"
    assert combo.currentData() == CUSTOM and controls.preset_description.text() != sine.description

    finish(qtbot, window, window.choose_preset("sine"))
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("the cat sat on the mat. " * 50, encoding="utf-8")
    finish(qtbot, window, window.open_corpus(str(corpus)))
    assert window.session.config.corpus == str(corpus)
    assert combo.currentData() == CUSTOM


def test_a_preset_config_is_that_preset_and_custom_survives_a_restart(make_window: WindowFactory, qtbot,
                                                                      qsettings) -> None:
    window = make_window(SINE, start=False)
    sine = window.controls.preset("sine")
    window.close()
    assert qsettings.value("run/preset", type=str) == CUSTOM
    again = make_window(config=None, restore_last_run=True, start=False)
    assert again.controls.preset_combo.currentData() == CUSTOM
    again.close()
    third = make_window(config=sine.config, start=False)  # no preset named: its settings say it
    assert third.controls.preset_combo.currentData() == "sine"


# ------------------------------------------------------------------------------ sampler
def test_sampler_controls_hold_still_and_the_seed_field_is_wide(make_window: WindowFactory, qtbot) -> None:
    window = make_window(CHARLM)
    sampler = window.sampler
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, 5)
    panel = sampler.widget
    assert sampler.seed.width() >= 0.6 * panel.width(), (sampler.seed.width(), panel.width())

    def seed_top() -> int:
        QtWidgets.QApplication.processEvents()
        return sampler.seed.mapTo(panel, QtCore.QPoint(0, 0)).y()

    sampler.set_summary("Type a seed and press Generate.")
    top = seed_top()
    sampler.length.setValue(12)
    sampler.generate()
    qtbot.waitUntil(lambda: sampler.streaming, timeout=WAIT_MS)
    for _ in range(5):
        qtbot.wait(20)
        assert seed_top() == top
    qtbot.waitUntil(lambda: not sampler.streaming, timeout=WAIT_MS)
    sampler.set_summary(sampler.summary.text().replace("12 of 12", "12,345 of 12,345"))
    assert seed_top() == top


def test_sampler_forgets_old_text_and_old_complaints(make_window: WindowFactory, qtbot) -> None:
    window = make_window(CHARLM)
    sampler = window.sampler
    window.docks["sampler"].raise_()
    wait_steps(qtbot, window, 5)

    sampler.seed.setText("Zürich")
    sampler.generate()
    qtbot.waitUntil(lambda: "does not know" in sampler.summary.text(), timeout=WAIT_MS)
    sampler.seed.setText("The ")  # fixed: nothing still says it is wrong
    assert "does not know" not in sampler.summary.text() and sampler.warning.isHidden()

    sampler.length.setValue(10)
    sampler.generate()
    qtbot.waitUntil(lambda: len(sampler.output_text()) == len("The ") + 10, timeout=WAIT_MS)
    finish(qtbot, window, window.reset())
    qtbot.waitUntil(lambda: sampler.output_text() == "", timeout=WAIT_MS)  # not the old run's sample
    assert "Generate" in sampler.summary.text()
