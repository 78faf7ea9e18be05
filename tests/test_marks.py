"""Changes marked on the loss curve: a live learning rate or clipping change, a load."""

from __future__ import annotations

from pathlib import Path

from rnnviz.app.session import describe_change
from tests.conftest import SINE

WAIT_MS = 20_000


def test_describe_change() -> None:
    assert describe_change(SINE, SINE.replace(lr=0.01)) == f"lr {SINE.lr:g} → 0.01"
    assert describe_change(SINE.replace(clip="none"), SINE.replace(clip="norm", clip_value=5.0)) == \
        "clip none → norm 5"
    assert describe_change(SINE, SINE.replace(eval_every=7)) == ""  # not worth a line


def test_live_change_and_load_are_marked_on_the_loss_curve(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window(SINE)
    data = window.session.data
    qtbot.waitUntil(lambda: data.step >= 30, timeout=WAIT_MS)
    window.session.update_live(lr=0.02)
    changed_at = data.marks[-1][0]
    assert data.marks[-1][1] == f"lr {SINE.lr:g} → 0.02"
    loss = window.panel("loss")
    qtbot.waitUntil(lambda: loss.marks[0].isVisible(), timeout=WAIT_MS)
    assert loss.marks[0].value() == changed_at
    assert "lr" in loss.marks[0].label.toPlainText()

    path = tmp_path / "run.npz"
    saved: list = []
    window.session.save_checkpoint(path, on_done=lambda ok, p: saved.append(ok))
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT_MS)
    request = window.load_checkpoint(str(path))
    qtbot.waitUntil(lambda: all(p.id != request for p in window.session.pending), timeout=WAIT_MS)
    new = window.session.data
    assert new is not data and new.marks and new.marks[-1][1] == "loaded run.npz"
    qtbot.waitUntil(lambda: loss.marks[0].isVisible() and "loaded" in loss.marks[0].label.toPlainText(),
                    timeout=WAIT_MS)
