"""What the live panels say and draw, checked against the numbers they are given.

Panels are fed RunData built from real training steps (a small headless Trainer), as the
window does; sentences are checked for each case of the numbers (growing, flat, fading;
σ₁ < 1/γ, ρ > 1, neither), and drawings for what a reader can see (finite points, tick
labels that do not overlap, a view that covers the data).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from rnnviz.training import TrainConfig, Trainer

SMALL_CHARLM = TrainConfig(task="charlm", hidden=8, seq_len=10, batch=2, eval_every=5, spectrum_every=2)


def make_run(config: TrainConfig, steps: int, transform=None):
    """A RunData holding ``steps`` real training steps of ``config``, filed as one batch.
    ``transform(report) -> report`` may alter each StepReport (to stage a case)."""
    from rnnviz.app.run_data import RunData, task_info
    from rnnviz.app.training_process import StepAccumulator, run_details

    trainer = Trainer(config)
    accumulator = StepAccumulator()
    for _ in range(steps):
        report = trainer.step()
        accumulator.add(transform(report) if transform else report)
    data = RunData(task_info(run_details(trainer)), trainer.config)
    data.add_batch(accumulator.take(run=1, seq=1, running=False))
    return data, trainer


def add_steps(data, trainer: Trainer, steps: int, transform=None) -> None:
    from rnnviz.app.training_process import StepAccumulator

    accumulator = StepAccumulator()
    for _ in range(steps):
        report = trainer.step()
        accumulator.add(transform(report) if transform else report)
    data.add_batch(accumulator.take(run=1, seq=1, running=False))


def shown_panel(qtbot, cls, size=(420, 360)):
    panel = cls()
    qtbot.addWidget(panel.widget)
    panel.widget.resize(*size)
    panel.widget.show()
    qtbot.waitExposed(panel.widget)
    return panel


def curve(item) -> tuple[np.ndarray, np.ndarray]:
    """The data given to a curve (before pyqtgraph's log transform and downsampling)."""
    x, y = item.getOriginalDataset()
    return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))


# ------------------------------------------------------------------ flow wording
@pytest.mark.parametrize(("first", "expected"), [
    (5.0, "later losses reach back"),
    (1.1, "flat: little reaches back"),
    (0.5, "smaller at t = 0"),
    (500.0, "exploding"),
    (1e-3, "vanishing"),
])
def test_flow_summary_follows_the_ratio_it_prints(first: float, expected: str) -> None:
    from rnnviz.app.panels.flow import flow_summary

    norms = np.geomspace(first, 1.0, 12)  # ‖∂L/∂h₀‖ = first, ‖∂L/∂h₁₁‖ = 1
    text = flow_summary(40, norms, aligned=False)
    assert f"{first:.3g}×" in text
    assert text.endswith(f"{expected})") or text.endswith(f"{expected}</b>)")
    others = {"later losses reach back", "flat: little reaches back", "smaller at t = 0", "exploding",
              "vanishing"} - {expected}
    assert not any(other in text for other in others)


def test_flow_summary_for_a_loss_at_the_last_step_only() -> None:
    from rnnviz.app.panels.flow import flow_summary

    assert "vanishing" in flow_summary(3, np.geomspace(1e-4, 1, 9), aligned=True)
    assert "exploding" in flow_summary(3, np.geomspace(1e3, 1, 9), aligned=True)
    middle = flow_summary(3, np.geomspace(0.5, 1, 9), aligned=True)
    assert "0.5×" in middle and "vanishing" not in middle and "exploding" not in middle


def test_flow_summary_says_zero_gradients_are_zero_not_infinite() -> None:
    from rnnviz.app.panels.flow import flow_summary

    zero = flow_summary(37, np.zeros(10), aligned=False)
    assert "the gradient is zero" in zero and "not finite" not in zero
    assert "not finite" in flow_summary(37, np.array([1.0, np.inf, 2.0]), aligned=False)
    assert "not finite" in flow_summary(37, np.array([1.0, np.nan, 2.0]), aligned=False)
    last_zero = flow_summary(37, np.array([2.0, 1.0, 0.0]), aligned=False)
    assert "= 0" in last_zero and "not finite" not in last_zero


# -------------------------------------------------------------- spectrum wording
def test_spectrum_hint_states_each_condition_no_stronger_than_the_theory() -> None:
    from rnnviz.app.panels.spectrum import spectrum_hint

    vanish = spectrum_hint("tanh", rho=0.8, sigma=0.95)
    assert "σ₁ &lt; 1" in vanish and "must vanish" in vanish and "explod" not in vanish
    relu_vanish = spectrum_hint("relu", rho=0.8, sigma=0.95)  # |f′| ≤ 1 for ReLU too
    assert "must vanish" in relu_vanish
    sigmoid = spectrum_hint("sigmoid", rho=1.5, sigma=3.0)  # σ₁ < 4 = 1/γ with f′ ≤ ¼
    assert "σ₁ &lt; 4" in sigmoid and "must vanish" in sigmoid
    may_explode = spectrum_hint("tanh", rho=1.5, sigma=2.0)
    assert "vanishing not certain" in may_explode and "ρ &gt; 1: exploding possible, not certain" \
        in may_explode and "must" not in may_explode
    neither = spectrum_hint("tanh", rho=0.9, sigma=1.3)  # non-normal W: σ₁ ≥ 1 > ρ
    assert "vanishing not certain" in neither and "ρ ≤ 1: no exploding" in neither
    sigmoid_big = spectrum_hint("sigmoid", rho=4.5, sigma=5.0)
    assert "σ₁ ≥ 4" in sigmoid_big and "exploding possible" in sigmoid_big
    assert "not finite" in spectrum_hint("tanh", rho=float("nan"), sigma=1.0)


def test_spectrum_hint_agrees_with_the_numbers_as_printed() -> None:
    from rnnviz.app.panels.base import fmt
    from rnnviz.app.panels.spectrum import DIGITS, spectrum_hint

    rho, sigma = 1.00001, 1.2  # printed as ρ = 1: the text must not say ρ > 1
    assert fmt(rho, DIGITS) == "1"
    assert "ρ ≤ 1" in spectrum_hint("tanh", rho, sigma)
    assert "σ₁ ≥ 1" in spectrum_hint("tanh", 0.5, 0.99999)  # printed as σ₁ = 1


def test_spectrum_panel_summary_matches_its_numbers(qtbot) -> None:
    from rnnviz.app.panels import SpectrumPanel
    from rnnviz.app.panels.base import fmt

    for config in (SMALL_CHARLM.replace(init="orthogonal", spectral_radius=1.5, activation="relu"),
                   SMALL_CHARLM.replace(init="small")):
        data, _ = make_run(config, 4)
        panel = shown_panel(qtbot, SpectrumPanel)
        panel.update(data)
        panel.flush_summary(force=True)
        text = panel.summary.plain_text()
        spectrum = data.latest.spectrum
        rho, sigma = spectrum.spectral_radius, spectrum.largest_singular_value
        assert f"ρ = {fmt(rho, 4)}" in text and f"σ₁ = {fmt(sigma, 4)}" in text
        if sigma < 1:
            assert "must vanish" in text
        elif rho > 1:
            assert "exploding possible" in text and "vanishing not certain" in text
        else:
            assert "no exploding" in text


# -------------------------------------------------------------- zero gradients
def zero_gradients(report):
    zeros = {name: 0.0 for name in report.grad_norms_before}
    return dataclasses.replace(report, loss=0.0, grad_norms_before=zeros, grad_norms_after=zeros,
                               global_norm_before=0.0, global_norm_after=0.0, clipped=False,
                               dh_norms=np.zeros_like(report.dh_norms))


def test_zero_gradients_are_drawn_and_named(qtbot) -> None:
    from rnnviz.app.panels import GradientFlowPanel, GradientNormsPanel, LossPanel

    data, _ = make_run(SMALL_CHARLM, 12, transform=zero_gradients)
    flow = shown_panel(qtbot, GradientFlowPanel)
    flow.update(data)
    flow.flush_summary(force=True)
    x, y = curve(flow.current)
    assert x.size == SMALL_CHARLM.seq_len and np.isfinite(y).all() and (y > 0).all()  # drawable on log
    assert "the gradient is zero" in flow.summary.plain_text()
    assert "not finite" not in flow.summary.plain_text()
    image = flow.image.image
    assert image is not None and np.isfinite(image).all()  # zeros are the bottom colour, not holes

    norms = shown_panel(qtbot, GradientNormsPanel)
    norms.update(data)
    norms.flush_summary(force=True)
    for item in (norms.global_before, *norms.before.values()):
        _, y = curve(item)
        assert y.size == 12 and np.isfinite(y).all() and (y > 0).all()
    assert "the gradient is zero" in norms.summary.plain_text()
    axis = norms.plot.getAxis("left")
    assert axis.zero_at is not None
    # the floor, where the zeros are drawn, is labelled 0 on the axis
    low, high = norms.plot.getViewBox().viewRange()[1]
    labels = axis.tickStrings(axis.tickValues(low, high, 200)[0][1], 1.0, 1.0)
    assert labels[0] == "0"
    assert np.allclose(curve(norms.global_before)[1], 10.0 ** axis.zero_at)

    loss = shown_panel(qtbot, LossPanel)
    loss.log_y.setChecked(True)
    loss.update(data)
    _, y = curve(loss.raw)
    assert np.isfinite(y).all() and (y > 0).all()


# -------------------------------------------------------------- a new run
def test_every_panel_starts_clean_for_a_new_run(qtbot) -> None:
    from rnnviz.app.panels import ALL_PANELS
    from rnnviz.app.run_data import RunData

    old, _ = make_run(SMALL_CHARLM.replace(clip_value=1e-4), 37)  # clipping fires
    panels = [shown_panel(qtbot, cls) for cls in ALL_PANELS]
    for panel in panels:
        panel.update(old)
        panel.flush_summary(force=True)
    assert any("37" in p.summary.plain_text() for p in panels)

    fresh = RunData(old.task, old.config)  # a Reset: a new RunData with no steps yet
    for panel in panels:
        panel.update(fresh)
        panel.flush_summary(force=True)
        text = panel.summary.plain_text()
        assert "37" not in text and "not finite" not in text and "ρ =" not in text, (panel.key, text)
        assert text, panel.key
    by_key = {p.key: p for p in panels}
    for item in (by_key["flow"].current, by_key["flow"].first, by_key["gradients"].global_before,
                 by_key["gradients"].clip_marks, by_key["spectrum"].eigenvalues,
                 by_key["spectrum"].radius_curve, by_key["loss"].raw, by_key["loss"].val):
        assert curve(item)[1].size == 0
    assert by_key["hidden"].image.image is None and by_key["flow"].image.image is None


# -------------------------------------------------------------- hidden state view
def test_hidden_state_view_fits_a_bigger_run_that_replaces_a_smaller_one(qtbot) -> None:
    from rnnviz.app.panels import HiddenStatePanel

    panel = shown_panel(qtbot, HiddenStatePanel)
    small, _ = make_run(SMALL_CHARLM, 2)
    panel.update(small)
    (x0, x1), (y0, y1) = panel.plot.getViewBox().viewRange()
    assert (x0, x1, y0, y1) == pytest.approx((0, 10, 0, 8))
    big, _ = make_run(SMALL_CHARLM.replace(hidden=40, seq_len=30), 2)
    panel.update(big)
    (x0, x1), (y0, y1) = panel.plot.getViewBox().viewRange()
    assert (x0, x1, y0, y1) == pytest.approx((0, 30, 0, 40))
    panel.flush_summary(force=True)
    assert "40 units × 30 timesteps" in panel.summary.plain_text()


def test_sentiment_time_axis_shows_the_words(qtbot) -> None:
    from rnnviz.app.panels import HiddenStatePanel
    from rnnviz.app.panels.hidden import PAD_LABEL

    data, _ = make_run(TrainConfig(task="sentiment", hidden=8, batch=4, eval_every=5, spectrum_every=5), 3)
    panel = shown_panel(qtbot, HiddenStatePanel, size=(700, 400))
    panel.update(data)
    ticks = panel.plot.getAxis("bottom")._tickLevels[0]  # what setTicks was given
    tokens = data.latest.input_tokens
    words = [t for t in tokens if t != PAD_LABEL]
    shown = [label for _, label in ticks]
    assert shown and all(label != PAD_LABEL for label in shown)
    assert set(shown) <= set(words) and shown[-1] == tokens[-1]  # the last input is always named
    assert " ".join(words) in panel.hover.plain_text()  # and the whole phrase is spelled out


def test_spaced_labels_never_overlap_and_skip_padding() -> None:
    from rnnviz.app.panels.hidden import PAD_LABEL, spaced_labels

    labels = [PAD_LABEL] * 4 + ["this", "was", "not", "a", "terrible", "film"]
    widths = [8.0 * len(label) for label in labels]
    for cell in (6.0, 14.0, 30.0, 80.0):
        chosen = spaced_labels(labels, widths, cell, gap_px=4.0)
        assert chosen[-1] == len(labels) - 1 and all(labels[t] != PAD_LABEL for t in chosen)
        for a, b in itertools.pairwise(chosen):
            right_of_a = (a + 0.5) * cell + widths[a] / 2
            left_of_b = (b + 0.5) * cell - widths[b] / 2
            assert right_of_a + 4.0 <= left_of_b
    assert len(spaced_labels(labels, widths, 80.0, 4.0)) == 6  # room for every word


# -------------------------------------------------------------- clip threshold label
def test_threshold_label_follows_clipping_changed_while_the_line_was_hidden(qtbot) -> None:
    from rnnviz.app.panels import GradientNormsPanel

    def clip(mode: str, value: float):
        return lambda report: dataclasses.replace(report, clip_mode=mode, clip_value=value)

    panel = shown_panel(qtbot, GradientNormsPanel)
    data, trainer = make_run(SMALL_CHARLM, 3, transform=clip("norm", 1.0))
    panel.update(data)
    assert panel.threshold.isVisible() and panel.threshold.label.toPlainText() == "clip threshold 1"
    add_steps(data, trainer, 3, transform=clip("none", 1.0))
    panel.update(data)
    assert not panel.threshold.isVisible()
    add_steps(data, trainer, 3, transform=clip("norm", 5.0))
    panel.update(data)
    assert panel.threshold.isVisible() and panel.threshold.label.toPlainText() == "clip threshold 5"
    assert panel.threshold.value() == pytest.approx(np.log10(5.0))


# -------------------------------------------------------------- tick labels
def drawn_tick_labels(plot, view) -> list:
    """The tick label rectangles pyqtgraph computes for the left and bottom axes, as drawn."""
    from rnnviz.app.qt import QtGui

    image = QtGui.QImage(view.width(), view.height(), QtGui.QImage.Format.Format_ARGB32)
    out = {}
    for name in ("left", "bottom"):
        painter = QtGui.QPainter(image)
        specs = plot.getAxis(name).generateDrawSpecs(painter)
        painter.end()
        out[name] = [(rect, text) for rect, _, text in specs[2]]
    return out


def overlapping(labels: list) -> list:
    return [(a[1], b[1]) for a, b in itertools.combinations(labels, 2) if a[0].intersects(b[0])]


@pytest.mark.parametrize(("log_y", "y_range", "x_range", "size"), [
    (True, (np.log10(0.0075), np.log10(0.031)), (0, 24), (180, 150)),  # less than a decade, log
    (True, (-6, 1), (0, 900), (160, 120)),  # many decades in a short axis
    (False, (0, 4.4), (0, 1000), (110, 120)),  # a narrow heatmap: "200400600800"
    (False, (1.0, 1.03), (12_345, 987_654), (220, 120)),
])
def test_tick_labels_never_overlap(qtbot, log_y, y_range, x_range, size) -> None:
    from rnnviz.app.panels.base import new_plot, new_view, style_plot
    from rnnviz.app.qt import pg

    def plot_in_view(make_plot):
        view = new_view()
        plot = make_plot()
        view.addItem(plot)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        style_plot(plot, 10)
        plot.setLogMode(y=log_y)
        plot.setRange(xRange=x_range, yRange=y_range, padding=0)
        qtbot.wait(20)
        return plot, view

    plot, view = plot_in_view(lambda: new_plot("x", "y"))
    labels = drawn_tick_labels(plot, view)
    for name in ("left", "bottom"):
        assert len(labels[name]) >= 2, (name, labels[name])
        assert not overlapping(labels[name]), (name, [t for _, t in labels[name]])

    # pyqtgraph's own axis piles labels up in the narrow cases: the check above can fail
    if size[0] <= 120 or (log_y and y_range[1] - y_range[0] < 1):
        plain, plain_view = plot_in_view(lambda: pg.PlotItem())
        plain_labels = drawn_tick_labels(plain, plain_view)
        assert overlapping(plain_labels["left"]) or overlapping(plain_labels["bottom"])


def test_log_tick_text_is_short_and_exact() -> None:
    from rnnviz.app.panels.base import log_tick_text

    assert [log_tick_text(v) for v in (0.01, 0.015, 2.0, 300.0, 1e-5, 2e-5, 1e5)] == [
        "0.01", "0.015", "2", "300", "10⁻⁵", "2·10⁻⁵", "10⁵"]


def test_the_hidden_colour_scale_recovers_at_once_from_a_blow_up(qtbot) -> None:
    import dataclasses

    from rnnviz.app.panels.hidden import HiddenStatePanel

    panel = shown_panel(qtbot, HiddenStatePanel)
    config = SMALL_CHARLM.replace(activation="relu")
    data, trainer = make_run(config, 2, transform=lambda r: dataclasses.replace(r, hidden=r.hidden * 1e12))
    panel.update(data)
    assert panel._levels[1] > 1e9  # the blown-up values set the scale
    add_steps(data, trainer, 1)  # rolled back, clipped: ordinary values again
    panel.update(data)
    top = float(np.percentile(data.latest.hidden, 99))
    assert top <= panel._levels[1] <= 10 * max(top, 1e-9)  # not a scale that draws them black


@pytest.mark.parametrize("where", ["first", "last"])
def test_the_divergence_label_stays_inside_the_loss_plot(qtbot, where: str) -> None:
    from rnnviz.app.panels import LossPanel

    panel = shown_panel(qtbot, LossPanel, size=(360, 300))
    data, _ = make_run(SMALL_CHARLM, 20)
    step = 1 if where == "first" else 20
    data.divergences.append(step)
    panel.update(data)
    line = panel.divergence
    assert line.isVisible() and line.value() == step
    label, box = line.label, line.getViewBox().sceneBoundingRect()
    shown = label.mapRectToScene(label.boundingRect())
    assert box.left() - 1 <= shown.left() and shown.right() <= box.right() + 1, (shown, box)


def test_a_legend_entry_is_never_broken_inside(qtbot) -> None:
    from rnnviz.app.panels.base import legend_row

    one_line = legend_row([("━", "x")]).sizeHint().height()
    for name in ("exploding-clipped #2: ρ, σ₁", "|λ| = 1"):
        label = legend_row([("━", name)])
        qtbot.addWidget(label)
        assert label.heightForWidth(40) <= one_line, name  # too narrow: it overflows, unbroken


def test_the_hidden_panels_boxes_go_one_under_another_rather_than_cut_their_entries(qtbot) -> None:
    from rnnviz.app.panels import HiddenStatePanel
    from rnnviz.app.qt import QtWidgets

    def whole(box) -> bool:  # the box is wide enough for its longest entry
        longest = max(box.fontMetrics().horizontalAdvance(box.itemText(i)) for i in range(box.count()))
        return box.width() >= longest + 20

    panel = shown_panel(qtbot, HiddenStatePanel, size=(900, 400))
    data, _ = make_run(SMALL_CHARLM.replace(cell="lstm"), 2)
    panel.start_run(data)
    panel.update(data)
    qtbot.waitUntil(lambda: panel.options.box.direction() == QtWidgets.QBoxLayout.Direction.LeftToRight)
    assert panel.shown.isVisible()
    qtbot.waitUntil(lambda: whole(panel.shown) and whole(panel.ordering))  # once laid out
    panel.widget.resize(300, 400)
    qtbot.waitUntil(lambda: panel.options.box.direction() == QtWidgets.QBoxLayout.Direction.TopToBottom)
    qtbot.waitUntil(lambda: whole(panel.shown) and whole(panel.ordering))
    assert panel.widget.minimumSizeHint().width() < 300  # the row never widens its dock


def test_compared_curves_are_given_to_pyqtgraph_only_when_they_change(qtbot) -> None:
    from rnnviz.app.panels.base import ComparisonCurves, new_plot

    curves = ComparisonCurves(new_plot("step", "loss"))
    x, y = np.arange(5.0), np.linspace(1.0, 2.0, 5)
    curves.draw([("#117733", x, y)])
    shown = curves.items[0].getOriginalDataset()[1]
    curves.draw([("#117733", x.copy(), y.copy())])  # the same points again: left alone
    assert curves.items[0].getOriginalDataset()[1] is shown
    curves.draw([("#117733", x, y + 1)])
    np.testing.assert_array_equal(curve(curves.items[0])[1], y + 1)
    curves.draw([])
    assert len(curve(curves.items[0])[0]) == 0
