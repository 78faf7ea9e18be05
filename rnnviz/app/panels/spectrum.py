"""The spectrum of W_hh: eigenvalues in the complex plane, with the two numbers that matter.

Pascanu, Mikolov & Bengio (2013): with |f′| ≤ γ (tanh and ReLU γ = 1, sigmoid γ = ¼), the
largest singular value σ₁ < 1/γ is *sufficient* for gradients through time to vanish; the
spectral radius ρ = max|λ| > 1 is *necessary* for them to explode. Neither works the other
way round. Every eigenvalue lies inside the circle of radius σ₁ (|λ| ≤ σ₁), so both circles
are drawn, each under its own name, and both numbers are tracked over steps.

In a gated cell the gates multiply the recurrent path, so W_hh alone decides nothing: the
panel shows instead the recurrent Jacobian ∂s_t/∂s_{t-1} of the whole state (h for the GRU,
(h, c) for the LSTM), averaged over the watched sequence (``rnnviz.core.diagnostics``). Its
ρ says what repeating the average step would do to the state; a mean of Jacobians is not
their product, so it is a tendency, not the rate at which a gradient grows over many steps.
"""

from __future__ import annotations

import math

import numpy as np

from rnnviz.app.panels.base import (
    BLUE,
    GREY,
    ORANGE,
    VERMILION,
    ComparisonCurves,
    LegendText,
    Panel,
    StableRange,
    compared_series,
    comparison_swatch,
    dense_curve,
    ends,
    envelope,
    fmt,
    new_plot,
    new_view,
    pen,
    plot_columns,
    show_view_marker,
    view_marker,
)
from rnnviz.app.qt import QtWidgets, pg
from rnnviz.app.run_data import RunData

_CIRCLE = np.exp(1j * np.linspace(0.0, 2.0 * np.pi, 181))
DIGITS = 4  # ρ and σ₁ as the summary prints them
NEAR_ONE = 0.9  # a mean Jacobian's ρ from here to 1 "carries" the state
TITLES = {"rnn": "Spectrum of W_hh", "lstm": "Spectrum of the recurrent Jacobian",
          "gru": "Spectrum of the recurrent Jacobian"}
JACOBIANS = {"lstm": "∂(h,c)<sub>t</sub>/∂(h,c)<sub>t−1</sub>", "gru": "∂h<sub>t</sub>/∂h<sub>t−1</sub>"}


def _legend_entries(cell: str) -> list[tuple[str, str]]:
    of = "W_hh" if cell == "rnn" else "mean J"
    return [("●", "eigenvalues λ" if cell == "rnn" else "eigenvalues λ of the mean J"),
            (f"<span style='color:{GREY}'>◯</span>", "|λ| = 1"),
            (f"<span style='color:{VERMILION}'>┄&nbsp;━</span>", "ρ = max|λ|"),
            (f"<span style='color:{BLUE}'>┄&nbsp;━</span>", f"σ₁ = ‖{of}‖₂ ≥ ρ")]


def jacobian_hint(rho: float, sigma: float) -> str:
    """What ρ of the mean recurrent Jacobian says, no more than it can (true of the numbers as
    printed, with DIGITS significant digits)."""
    if not (math.isfinite(rho) and math.isfinite(sigma)):
        return f"<span style='color:{VERMILION}'>the Jacobian is not finite</span>"
    rho = float(fmt(rho, DIGITS))
    if rho > 1:
        colour, said = VERMILION, "ρ &gt; 1: repeating the average step would grow some direction"
    elif rho >= NEAR_ONE:
        colour, said = ORANGE, (f"ρ near 1 (≥ {NEAR_ONE:g}): the average step carries some direction of the "
                                "state almost unchanged")
    else:
        colour, said = BLUE, f"ρ &lt; {NEAR_ONE:g}: repeating the average step would fade every direction"
    return (f"<span style='color:{colour}'>{said}</span> · <span style='color:{GREY}'>a tendency, not "
            "the gradient's growth rate (a mean of Jacobians is not their product)</span>")


def spectrum_hint(activation: str, rho: float, sigma: float) -> str:
    """What ρ and σ₁ imply for gradients through time, no stronger than the theory and true
    of the numbers as printed (with DIGITS significant digits)."""
    if not (math.isfinite(rho) and math.isfinite(sigma)):
        return f"<span style='color:{VERMILION}'>W_hh is not finite</span>"
    rho, sigma = float(fmt(rho, DIGITS)), float(fmt(sigma, DIGITS))
    sigmoid = activation == "sigmoid"
    bound = 4.0 if sigmoid else 1.0  # 1/γ, with |f′| ≤ γ
    bound_text = "4 (sigmoid: f′ ≤ ¼)" if sigmoid else "1"
    if sigma < bound:
        return (f"<span style='color:{BLUE}'>σ₁ &lt; {bound_text}: gradients through time must vanish"
                "</span>")
    vanishing = f"σ₁ ≥ {bound_text}: vanishing not certain"
    if rho > 1:
        return (f"<span style='color:{VERMILION}'>{vanishing} · ρ &gt; 1: exploding possible, "
                "not certain</span>")
    return f"<span style='color:{ORANGE}'>{vanishing} · ρ ≤ 1: no exploding (it needs ρ &gt; 1)</span>"


class SpectrumPanel(Panel):
    title = "Spectrum of W_hh"
    key = "spectrum"

    def __init__(self) -> None:
        super().__init__()
        self.view = new_view()
        self.plane = new_plot("Re λ", "Im λ")
        self.plane.setAspectLocked(True)
        self.plane.setClipToView(False)
        self.plane.setDownsampling(auto=False)
        self.plane.setMouseEnabled(x=False, y=False)
        self.history = new_plot("training step", "ρ and σ₁")
        self.view.addItem(self.plane, row=0, col=0)
        self.view.addItem(self.history, row=0, col=1)
        self.view.ci.layout.setColumnStretchFactor(0, 1)
        self.view.ci.layout.setColumnStretchFactor(1, 1)
        self.layout.addWidget(self.view, 1)
        self.plots += [self.plane, self.history]

        self.unit_circle = self.plane.plot(_CIRCLE.real, _CIRCLE.imag, pen=pen(GREY, 1))
        self.radius_circle = self.plane.plot(pen=pen(VERMILION, 1, dashed=True))
        self.sigma_circle = self.plane.plot(pen=pen(BLUE, 1, dashed=True))
        self.eigenvalues = self.plane.plot(pen=None, symbol="o", symbolSize=5, symbolPen=None,
                                           symbolBrush=(0, 0, 0, 170))
        self.radius_curve = dense_curve(self.history, pen=pen(VERMILION, 2))
        self.sigma_curve = dense_curve(self.history, pen=pen(BLUE, 2))
        self.compared_radius = ComparisonCurves(self.history)  # other runs' ρ, dashed
        self.compared_sigma = ComparisonCurves(self.history, dotted=True)  # and σ₁, dotted
        self.viewing = view_marker(self.history)
        # The legend is a line above the plots: inside, it covered the unit circle and the curves.
        self.legend_text = LegendText(_legend_entries("rnn"))  # then the compared runs'
        self.legend = self.legend_text.label
        self.layout.insertWidget(self.layout.indexOf(self.view), self.legend)
        one = pg.InfiniteLine(pos=1.0, angle=0, pen=pen(GREY, 1, dashed=True), movable=False)
        self.history.addItem(one)
        self._extent = 0.0
        self._spectrum_step = -1
        self.history_range = StableRange(self.history)

    def start_run(self, data: RunData) -> None:
        self._show_cell(data.config.cell)
        self.history_range.reset()
        self._extent = 0.0
        self._spectrum_step = -1
        for curve in (self.radius_circle, self.sigma_circle, self.eigenvalues, self.radius_curve,
                      self.sigma_curve):
            curve.setData([], [])
        self.history.setRange(xRange=(data.step, data.step + 10), yRange=(0, 2), padding=0.02)

    def _show_cell(self, cell: str) -> None:
        """Title and legend for what the cell's spectrum is of (W_hh or the mean Jacobian)."""
        self.title = TITLES.get(cell, TITLES["rnn"])
        self.legend_text.set_entries(_legend_entries(cell))
        dock = self.widget.parentWidget()  # the window's dock, titled when it was made
        if isinstance(dock, QtWidgets.QDockWidget):
            dock.setWindowTitle(self.title)

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None or data.latest.spectrum is None:
            return
        report = data.latest
        show_view_marker(self.viewing, data)
        if report.spectrum_step == self._spectrum_step:
            return  # nothing new: the spectrum is computed every spectrum_every steps
        self._spectrum_step = report.spectrum_step
        spectra = data.spectra
        steps, rhos, sigmas = (spectra.column(c) for c in ("step", "spectral_radius",
                                                          "largest_singular_value"))
        x, (rhos, sigmas) = envelope(steps, [rhos, sigmas], plot_columns(self.history))
        self.radius_curve.setData(x, rhos)
        self.sigma_curve.setData(x, sigmas)
        columns = plot_columns(self.history)
        radii, other_x, _ = compared_series(self.comparisons, "spectra", "spectral_radius", columns)
        sigmas_drawn, _, _ = compared_series(self.comparisons, "spectra", "largest_singular_value", columns)
        self.compared_radius.draw(radii)
        self.compared_sigma.draw(sigmas_drawn)
        self.legend_text.set_runs([
            (comparison_swatch(run.colour) + comparison_swatch(run.colour, dotted=True), f"{run.name}: ρ, σ₁")
            for run in self.comparisons if len(run.data.spectra)])
        self.history_range.fit([ends(steps), *other_x], [rhos, sigmas, np.array([1.0])])
        spec = report.spectrum
        assert spec is not None  # checked on entry
        eig = np.asarray(spec.eigenvalues)
        rho, sigma = spec.spectral_radius, spec.largest_singular_value
        self.eigenvalues.setData(eig.real, eig.imag)
        self.radius_circle.setData(rho * _CIRCLE.real, rho * _CIRCLE.imag)
        self.sigma_circle.setData(sigma * _CIRCLE.real, sigma * _CIRCLE.imag)
        # Show the unit circle and everything else, in steps of 0.25 so the view rarely moves.
        needed = max(1.1, 1.05 * max(sigma, rho) if math.isfinite(sigma) else 1.1)
        extent = math.ceil(needed / 0.25) * 0.25
        if extent != self._extent:
            self._extent = extent
            self.plane.setRange(xRange=(-extent, extent), yRange=(-extent, extent), padding=0)
        rho_text = f"<b style='color:{VERMILION}'>ρ = {fmt(rho, DIGITS)}</b>"
        sigma_text = f"<b style='color:{BLUE}'>σ₁ = {fmt(sigma, DIGITS)}</b>"
        when = f"step {report.spectrum_step:,}"
        cell = data.config.cell
        if cell == "rnn":
            hint = spectrum_hint(report.activation, rho, sigma)
            self.set_live_summary(f"spectral radius {rho_text} · largest singular value {sigma_text} · "
                                  f"{when}<br>{hint}")
            return
        # Pascanu et al.'s conditions are about h_t = f(W_hh h_{t-1} + ...); in a gated cell the
        # gates multiply the recurrent path, and the Jacobian of the whole state takes W_hh's place.
        # (The legend names ρ and σ₁: the label is long enough.)
        label = f"mean recurrent Jacobian {JACOBIANS[cell]} over the watched sequence"
        self.set_live_summary(f"{cell.upper()}: <b>{label}</b> · {rho_text} · {sigma_text} · {when}"
                              f"<br>{jacobian_hint(rho, sigma)}")

    def invalidate(self) -> None:
        self._spectrum_step = -1  # draw again even if the spectrum did not change (other runs did)
        super().invalidate()

    def waiting_summary(self, data: RunData) -> str:
        what = "W_hh" if data.config.cell == "rnn" else "the recurrent Jacobian"
        return f"step {data.step:,} · {what} not measured yet (every {data.config.spectrum_every} steps)"
