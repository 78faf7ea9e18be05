"""The panels for a gated cell: what the hidden-state panel shows (h, c or a gate), the spectrum
of the recurrent Jacobian, and each cell's own parameters in the gradient-norm panel."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnviz.training import TrainConfig, Trainer
from tests.test_panel_texts import shown_panel as shown_panel_text

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
    from rnnviz.app.training_process import StepAccumulator

    accumulator = StepAccumulator()
    for _ in range(steps):
        accumulator.add(trainer.step())
    data.add_batch(accumulator.take(run=1, seq=1, running=False))


def shown_panel(qtbot, cls, size=(640, 400)):
    return shown_panel_text(qtbot, cls, size)


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


# ---------------------------------------------------------------------------- spectrum
def test_jacobian_hint_says_what_the_mean_can_and_never_more() -> None:
    from rnnviz.app.panels.spectrum import jacobian_hint

    grows, carried, fades = jacobian_hint(1.2, 3.0), jacobian_hint(0.95, 2.0), jacobian_hint(0.5, 0.7)
    assert "ρ &gt; 1" in grows and "grow some direction" in grows
    assert "ρ near 1" in carried and "carries some direction" in carried
    assert "ρ &lt; 0.9" in fades and "fade every direction" in fades
    for hint in (grows, carried, fades):
        assert "not their product" in hint and "not the gradient's growth rate" in hint
        assert "vanish" not in hint and "explod" not in hint  # Pascanu's conditions are for W_hh
    assert "ρ near 1" in jacobian_hint(0.99999, 1.0)  # printed as 1.000, not "ρ > 1"
    assert "not finite" in jacobian_hint(float("nan"), 1.0)


def test_a_gated_cells_spectrum_is_its_mean_jacobians_and_says_so(qtbot) -> None:
    from rnnviz.app.panels import SpectrumPanel

    panel = shown_panel(qtbot, SpectrumPanel)
    data, _ = make_run(SMALL.replace(cell="lstm"), 7)
    panel.update(data)
    panel.flush_summary(force=True)
    spec = data.latest.spectrum
    assert spec.eigenvalues.shape == (2 * SMALL.hidden,)  # of the 2H × 2H Jacobian of (h, c)
    x, y = panel.eigenvalues.getData()
    np.testing.assert_allclose(x + 1j * y, spec.eigenvalues)
    text = panel.summary.plain_text()
    assert text.startswith("LSTM: mean recurrent Jacobian ∂(h,c)t/∂(h,c)t−1 over the watched sequence")
    assert f"ρ = {spec.spectral_radius:.4g}" in text and "decide nothing" not in text
    assert "not their product" in text
    assert panel.title == "Spectrum of the recurrent Jacobian"
    assert "‖mean&nbsp;J‖₂" in panel.legend.text() and "W_hh" not in panel.legend.text()
    # The curves over training track the Jacobian's numbers, as measured every 2 steps.
    _, rhos = panel.radius_curve.getData()
    np.testing.assert_allclose(rhos, data.spectra.column("spectral_radius"))
    assert data.spectra.column("step").tolist() == [1, 2, 4, 6]

    gru, _ = make_run(SMALL.replace(cell="gru"), 2)
    panel.update(gru)
    panel.flush_summary(force=True)
    assert gru.latest.spectrum.eigenvalues.shape == (SMALL.hidden,)
    assert panel.summary.plain_text().startswith("GRU: mean recurrent Jacobian ∂ht/∂ht−1 over")

    vanilla, _ = make_run(SMALL, 2)
    panel.update(vanilla)
    panel.flush_summary(force=True)
    assert panel.title == "Spectrum of W_hh" and "‖W_hh‖₂" in panel.legend.text()
    assert "Jacobian" not in panel.summary.plain_text()


# ---------------------------------------------------------------------- gradient norms
def legend_names(panel) -> list[str]:
    return re.findall(r"━</span>&nbsp;(\w+)", panel.legend.text())


@pytest.mark.parametrize("cell, names", [
    ("lstm", ["W_xh", "W_hh", "W_hy", "b_xh", "b_hh", "b_y"]),
    ("gru", ["W_xh", "W_hh", "W_hy", "b_xh", "b_hh", "b_y"]),
    ("rnn", ["W_xh", "W_hh", "W_hy", "b_h", "b_y"]),
])
def test_gradient_norms_are_the_cells_own_parameters(qtbot, cell: str, names: list[str]) -> None:
    from rnnviz.app.panels import GradientNormsPanel
    from rnnviz.app.run_data import GRAD_COLUMNS

    panel = shown_panel(qtbot, GradientNormsPanel)
    other, _ = make_run(SMALL.replace(cell="gru" if cell == "rnn" else "rnn"), 3)
    panel.update(other)  # the previous run had the other kind of cell
    data, _ = make_run(SMALL.replace(cell=cell), 6)
    panel.show_params_after.setChecked(True)
    panel.update(data)
    assert legend_names(panel) == names
    assert {c for c in GRAD_COLUMNS if c.startswith("grad_before.")} >= {f"grad_before.{n}" for n in names}
    assert len(data.steps) == 6
    assert list(panel.before) == list(panel.after) == names
    drawn = [item.name() for item in panel.plot.listDataItems() if item.isVisible() and item.name()]
    assert drawn == [*names, "global, before clipping", "global, after clipping"]  # no other cell's
    for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_xh", "b_hh", "b_y"):
        column = data.steps.column(f"grad_before.{name}")
        assert np.isfinite(column).all() if name in names else np.isnan(column).all(), name
    for name, curve in panel.before.items():
        _, y = curve.getOriginalDataset()
        np.testing.assert_allclose(y, data.steps.column(f"grad_before.{name}"), rtol=1e-12)  # before log10
        assert panel.after[name].isVisible()
    last, steps = data.latest, data.steps
    for name in names:
        assert steps.last(f"grad_before.{name}") == pytest.approx(last.grad_norms_before[name], rel=1e-12)
        assert steps.last(f"grad_after.{name}") == pytest.approx(last.grad_norms_after[name], rel=1e-12)
    if cell == "lstm":  # both biases add to one pre-activation: equal gradients, drawn inside each other
        np.testing.assert_array_equal(steps.column("grad_before.b_xh"), steps.column("grad_before.b_hh"))
        assert panel.before["b_xh"].opts["pen"].widthF() > panel.before["b_hh"].opts["pen"].widthF()
    elif cell == "gru":  # the reset gate multiplies W_hn h + b_hn only: b_hh's gradient differs
        assert not np.allclose(steps.column("grad_before.b_xh"), steps.column("grad_before.b_hh"))
