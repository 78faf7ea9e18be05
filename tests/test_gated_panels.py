"""The panels for a gated cell: what the hidden-state panel shows (h, c or a gate), the spectrum
of the recurrent Jacobian, and each cell's own parameters in the gradient-norm panel."""

from __future__ import annotations

import numpy as np

from rnnviz.training import TrainConfig, Trainer

SMALL = TrainConfig(task="charlm", hidden=8, seq_len=10, batch=2, eval_every=5, spectrum_every=2)


def make_run(config: TrainConfig, steps: int):
    """A RunData of ``steps`` real training steps of ``config``, as the window would hold them."""
    from rnnviz.app.run_data import RunData, task_info
    from rnnviz.app.training_process import run_details

    trainer = Trainer(config)
    data = RunData(task_info(run_details(trainer)), trainer.config)
    add_steps(data, trainer, steps)
    return data, trainer


def add_steps(data, trainer: Trainer, steps: int) -> None:
    from rnnviz.app.training_process import _Accumulator

    accumulator = _Accumulator()
    for _ in range(steps):
        accumulator.add(trainer.step())
    data.add_batch(accumulator.take(run=1, seq=1, running=False))


def shown_panel(qtbot, cls, size=(640, 400)):
    panel = cls()
    qtbot.addWidget(panel.widget)
    panel.widget.resize(*size)
    panel.widget.show()
    qtbot.waitExposed(panel.widget)
    return panel


def entries(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def shown_image(panel) -> np.ndarray:
    """The image as units × timesteps in unit order (the panel's default ordering)."""
    assert panel.ordering.currentIndex() == 0
    return np.asarray(panel.image.image)


def colour_bar_label(panel) -> str:
    return panel.colour_bar.getAxis("left").labelText


# ------------------------------------------------------------------------ hidden state
def test_the_lstm_panel_shows_any_gate_on_its_own_scale_and_says_what_it_shows(qtbot) -> None:
    from rnnviz.app.panels import HiddenStatePanel

    panel = shown_panel(qtbot, HiddenStatePanel)
    data, trainer = make_run(SMALL.replace(cell="lstm"), 3)
    panel.update(data)
    assert not panel.shown.isHidden() and not panel.show_label.isHidden()
    assert entries(panel.shown) == ["h (hidden state)", "c (cell state)", "i — input gate", "f — forget gate",
                                    "g — candidate", "o — output gate"]
    assert panel.shown_key == "h" and colour_bar_label(panel) == "activation h"
    np.testing.assert_array_equal(shown_image(panel), data.latest.hidden.T)

    panel.shown.setCurrentIndex(panel.shown.findData("f"))
    size = SMALL.hidden
    forget = np.asarray(data.latest.gates)[:, size:2 * size]
    np.testing.assert_array_equal(shown_image(panel), forget.T)
    assert panel.colour_bar.levels() == (0.0, 1.0) and colour_bar_label(panel) == "forget gate f"
    panel.flush_summary(force=True)
    text = panel.summary.plain_text()
    assert text.startswith(f"forget gate f: mean {forget.mean():.2f} · f > 0.9 (open) in "
                           f"{np.mean(forget > 0.9):.0%}"), text
    assert "saturated" not in text
    assert panel.hover_text(3, 2).endswith(f"unit 2   f = {forget[3, 2]:.4g}")

    panel.shown.setCurrentIndex(panel.shown.findData("g"))
    candidate = np.asarray(data.latest.gates)[:, 2 * size:3 * size]
    np.testing.assert_array_equal(shown_image(panel), candidate.T)
    assert panel.colour_bar.levels() == (-1.0, 1.0) and colour_bar_label(panel) == "candidate g"

    panel.shown.setCurrentIndex(panel.shown.findData("c"))
    cell = np.asarray(data.latest.cell_state)
    np.testing.assert_array_equal(shown_image(panel), cell.T)
    low, high = panel.colour_bar.levels()
    assert low == -high and high in (1, 2, 5, 10, 20, 50) and high >= np.percentile(np.abs(cell), 99)
    panel.flush_summary(force=True)
    assert panel.summary.plain_text().startswith(f"cell state c: mean |c| {np.abs(cell).mean():.3g}")

    # The choice stays with new batches, and shows each new batch's values.
    panel.shown.setCurrentIndex(panel.shown.findData("o"))
    add_steps(data, trainer, 2)
    panel.update(data)
    assert panel.shown_key == "o"
    np.testing.assert_array_equal(shown_image(panel), np.asarray(data.latest.gates)[:, 3 * size:].T)


def test_the_choice_survives_a_new_run_of_the_same_cell_and_resets_for_another(qtbot) -> None:
    from rnnviz.app.panels import HiddenStatePanel

    panel = shown_panel(qtbot, HiddenStatePanel)
    lstm, _ = make_run(SMALL.replace(cell="lstm"), 2)
    panel.update(lstm)
    panel.shown.setCurrentIndex(panel.shown.findData("f"))
    again, _ = make_run(SMALL.replace(cell="lstm", seed=5), 2)
    panel.update(again)
    assert panel.shown_key == "f" and colour_bar_label(panel) == "forget gate f"

    gru, _ = make_run(SMALL.replace(cell="gru"), 2)
    panel.update(gru)  # the GRU has no forget gate: back to h
    assert entries(panel.shown) == ["h (hidden state)", "r — reset gate", "z — update gate", "n — candidate"]
    assert panel.shown_key == "h" and colour_bar_label(panel) == "activation h"
    np.testing.assert_array_equal(shown_image(panel), gru.latest.hidden.T)
    panel.shown.setCurrentIndex(panel.shown.findData("z"))
    update_gate = np.asarray(gru.latest.gates)[:, SMALL.hidden:2 * SMALL.hidden]
    np.testing.assert_array_equal(shown_image(panel), update_gate.T)
    assert panel.colour_bar.levels() == (0.0, 1.0)

    vanilla, _ = make_run(SMALL, 2)
    panel.update(vanilla)
    assert panel.shown.isHidden() and panel.show_label.isHidden()
    assert panel.shown_key == "h"
    np.testing.assert_array_equal(shown_image(panel), vanilla.latest.hidden.T)
    panel.flush_summary(force=True)
    assert "saturated (f′ ≈ 0)" in panel.summary.plain_text()
