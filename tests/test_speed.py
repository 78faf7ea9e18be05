"""The speed control: a preset sets its pace, the user changes it, and training keeps to it."""

from __future__ import annotations

from rnnviz.app.qt import Qt
from rnnviz.app.speed import PACES, pace_label
from rnnviz.training import load_preset
from tests.conftest import SINE

WAIT_MS = 20_000


def test_a_preset_sets_its_pace_and_training_keeps_to_it(make_window, qtbot) -> None:
    window = make_window(SINE)
    assert window.speed.pace is None  # a plain config: as fast as possible
    preset = load_preset("sine")
    assert preset.pace is not None
    request = window.choose_preset("sine")
    qtbot.waitUntil(lambda: all(p.id != request for p in window.session.pending), timeout=WAIT_MS)
    assert window.speed.pace == preset.pace
    assert window.speed.combo.currentText() == pace_label(preset.pace)
    data = window.session.data
    qtbot.waitUntil(lambda: data.step >= 2, timeout=WAIT_MS)
    start = data.step
    qtbot.wait(2000)
    # A rate limit, not a speed figure: it can only be slower than the pace, never faster.
    assert data.step - start <= 2 * preset.pace + 2


def test_keys_and_menu_change_the_pace(make_window, qtbot) -> None:
    window = make_window(SINE)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)  # slower, from "as fast as possible"
    assert window.speed.pace == PACES[-2]
    assert window.session.pace == PACES[-2]
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.speed.pace is None and window.session.pace is None
    window.speed.group.actions()[0].trigger()  # the slowest, from the Training menu
    assert window.speed.pace == PACES[0] and window.speed.combo.currentIndex() == 0
    assert not window.speed.slower_action.isEnabled()


def test_a_pace_not_in_the_list_is_added(make_window, qtbot) -> None:
    window = make_window(SINE)
    window.speed.set_pace(2.0)
    assert window.speed.combo.currentText() == "2 steps/s"
    assert window.session.pace == 2.0
