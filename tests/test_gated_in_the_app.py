"""A gated cell in the window: it trains, samples, and the panels draw what the cell has."""

from __future__ import annotations

import numpy as np

from tests.conftest import CHARLM

WAIT_MS = 20_000


def curve_points(item) -> int:
    x, _ = item.getData()
    return 0 if x is None else len(x)


def test_lstm_run_draws_the_cell_state_gradient_and_honest_spectrum_text(make_window, qtbot) -> None:
    window = make_window(CHARLM.replace(cell="lstm"))
    flow, spectrum, grads = window.panel("flow"), window.panel("spectrum"), window.panel("gradients")
    qtbot.waitUntil(lambda: window.session.data.step >= 15, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: curve_points(flow.cell_state) == CHARLM.seq_len, timeout=WAIT_MS)
    _, y = flow.cell_state.getData()  # log10 of ‖∂L/∂c_t‖ (the axis is logarithmic)
    assert np.isfinite(y).all()
    assert "cell&nbsp;state" in flow.legend.text()
    qtbot.waitUntil(lambda: "LSTM" in spectrum.summary.text(), timeout=WAIT_MS)
    assert "vanishing not certain" not in spectrum.summary.text()  # Pascanu's rule is for W_hh alone
    assert "recurrent Jacobian" in spectrum.summary.text()
    assert window.docks["spectrum"].windowTitle() == "Spectrum of the recurrent Jacobian"
    steps = window.session.data.steps
    for bias in ("b_xh", "b_hh"):  # the gated cell's own two bias vectors, each with its curve
        assert np.isfinite(steps.column(f"grad_before.{bias}")).all(), bias
        assert curve_points(grads.before[bias]) > 0 and grads.before[bias].isVisible()
    assert np.isnan(steps.column("grad_before.b_h")).all() and "b_h" not in grads.before
    assert "b_xh" in grads.legend.text() and "b_hh" in grads.legend.text()


def test_vanilla_run_has_no_cell_state_curve(make_window, qtbot) -> None:
    window = make_window(CHARLM)
    flow = window.panel("flow")
    qtbot.waitUntil(lambda: window.session.data.step >= 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: curve_points(flow.current) > 0, timeout=WAIT_MS)
    assert curve_points(flow.cell_state) == 0 and "cell&nbsp;state" not in flow.legend.text()


def test_forget_bias_is_editable_only_for_the_gated_cells(make_window, qtbot) -> None:
    window = make_window(CHARLM, start=False)
    controls = window.controls
    cell = controls.editors["cell"]
    assert not controls.editors["forget_bias"].isEnabled()  # a vanilla RNN has no forget gate
    for gated in ("lstm", "gru"):  # the LSTM's forget gate f, the GRU's update gate z
        cell.setCurrentIndex(cell.findText(gated))
        assert controls.editors["forget_bias"].isEnabled() and controls.labels["forget_bias"].isEnabled()
    cell.setCurrentIndex(cell.findText("rnn"))
    assert not controls.editors["forget_bias"].isEnabled()


def test_each_task_greys_out_the_settings_it_does_not_read(make_window, qtbot) -> None:
    window = make_window(CHARLM, start=False)
    controls = window.controls
    task = controls.editors["task"]
    expected = {  # sequence length: sentiment reads whole phrases; recall's length is its distance + 1
        "charlm": {"seq_len", "corpus"}, "sine": {"seq_len", "sine_freq"},
        "sentiment": set(), "recall": {"recall_distance"},
    }
    for name, enabled in expected.items():
        task.setCurrentIndex(task.findText(name))
        for setting in ("seq_len", "corpus", "sine_freq", "recall_distance"):
            assert controls.editors[setting].isEnabled() == (setting in enabled), (name, setting)
            assert controls.labels[setting].isEnabled() == (setting in enabled), (name, setting)
