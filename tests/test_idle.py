"""An idle window sleeps: paused and drawn, nothing polls or redraws; new data wakes it."""

from __future__ import annotations

from tests.conftest import SINE
from tests.test_app import settle

WAIT_MS = 20_000


def asleep(window, qtbot, quiet_ms: int = 300, tries: int = 3) -> bool:
    """Whether the window goes quiet: no frame at all for ``quiet_ms``. A batch the training
    process sent as the pause arrived may still wake it once (seen on a loaded machine), so
    a wake that settles again is given ``tries`` chances; a window that polls never settles."""
    for _ in range(tries):
        qtbot.waitUntil(lambda: not window.redraw_timer.isActive(), timeout=WAIT_MS)
        frames = window.frames_drawn
        qtbot.wait(quiet_ms)
        if window.frames_drawn == frames:
            return True
    return False


def test_paused_window_stops_redrawing_and_wakes_for_new_data(make_window, qtbot) -> None:
    window = make_window(SINE)
    qtbot.waitUntil(lambda: window.session.data.step >= 20, timeout=WAIT_MS)
    assert window.redraw_timer.isActive()
    window.toggle_running()
    settle(qtbot, window)  # a batch sent just before the pause may still be on its way
    qtbot.waitUntil(lambda: not window.redraw_timer.isActive(), timeout=WAIT_MS)
    data = window.session.data
    loss = window.panel("loss")
    assert loss._version == data.version  # it stopped only once the last batch was drawn
    assert asleep(window, qtbot)

    step, frames = data.step, window.frames_drawn
    window.step_once()  # new data wakes it, and it sleeps again once that is drawn
    qtbot.waitUntil(lambda: data.step == step + 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.frames_drawn > frames, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.redraw_timer.isActive(), timeout=WAIT_MS)
    assert loss._version == data.version and f"step {step + 1:,}" in loss.summary.text()

    loss.log_y.setChecked(not loss.log_y.isChecked())  # a view option wakes it too
    assert window.redraw_timer.isActive()
