"""The spectrum of W_hh: eigenvalues in the complex plane, with the two numbers that matter.

Pascanu, Mikolov & Bengio (2013), for tanh: the largest singular value σ₁ < 1 is
*sufficient* for gradients to vanish; the spectral radius ρ = max|λ| > 1 is *necessary*
for them to explode. Every eigenvalue lies inside the circle of radius σ₁ (|λ| ≤ σ₁), so
both circles are drawn, each under its own name, and both numbers are tracked over steps.
"""

from __future__ import annotations

import math

import numpy as np

from rnnviz.app.panels.base import (
    BLACK,
    BLUE,
    GREY,
    ORANGE,
    VERMILION,
    Panel,
    StableRange,
    dense_curve,
    ends,
    envelope,
    fmt,
    new_plot,
    new_view,
    pen,
    plot_columns,
)
from rnnviz.app.qt import pg
from rnnviz.app.run_data import RunData

_CIRCLE = np.exp(1j * np.linspace(0.0, 2.0 * np.pi, 181))


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

        self.plane.addLegend(offset=(4, 4), labelTextColor=BLACK, brush=(255, 255, 255, 200))
        self.unit_circle = self.plane.plot(_CIRCLE.real, _CIRCLE.imag, pen=pen(GREY, 1),
                                           name="|λ| = 1")
        self.radius_circle = self.plane.plot(pen=pen(VERMILION, 1, dashed=True), name="|λ| = ρ")
        self.sigma_circle = self.plane.plot(pen=pen(BLUE, 1, dashed=True), name="|λ| = σ₁ (bound)")
        self.eigenvalues = self.plane.plot(pen=None, symbol="o", symbolSize=5, symbolPen=None,
                                           symbolBrush=(0, 0, 0, 170), name="eigenvalues λ")

        self.history.addLegend(offset=(-8, 8), labelTextColor=BLACK, brush=(255, 255, 255, 200))
        self.radius_curve = dense_curve(self.history, pen=pen(VERMILION, 2), name="ρ = max|λ|")
        self.sigma_curve = dense_curve(self.history, pen=pen(BLUE, 2), name="σ₁ = ‖W_hh‖₂")
        one = pg.InfiniteLine(pos=1.0, angle=0, pen=pen(GREY, 1, dashed=True), movable=False)
        self.history.addItem(one)
        self._extent = 0.0
        self._spectrum_step = -1
        self.history_range = StableRange(self.history)

    def start_run(self, data: RunData) -> None:
        self.history_range.reset()
        self._extent = 0.0
        self._spectrum_step = -1
        for curve in (self.radius_circle, self.sigma_circle, self.eigenvalues, self.radius_curve,
                      self.sigma_curve):
            curve.setData([], [])

    def update(self, data: RunData) -> None:
        if not self.needs_redraw(data) or data.latest is None or data.latest.spectrum is None:
            return
        report = data.latest
        if report.spectrum_step == self._spectrum_step:
            return  # nothing new: the spectrum is computed every spectrum_every steps
        self._spectrum_step = report.spectrum_step
        spectra = data.spectra
        steps, rhos, sigmas = (spectra.column(c) for c in ("step", "spectral_radius",
                                                          "largest_singular_value"))
        x, (rhos, sigmas) = envelope(steps, [rhos, sigmas], plot_columns(self.history))
        self.radius_curve.setData(x, rhos)
        self.sigma_curve.setData(x, sigmas)
        self.history_range.fit([ends(steps)], [rhos, sigmas, np.array([1.0])])
        spec = report.spectrum
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
        hint = self._hint(report.activation, rho, sigma)
        self.set_live_summary(
            f"spectral radius <b style='color:{VERMILION}'>ρ = max|λ| = {fmt(rho, 4)}</b> · "
            f"largest singular value <b style='color:{BLUE}'>σ₁ = ‖W_hh‖₂ = {fmt(sigma, 4)}</b> · "
            f"step {report.spectrum_step:,}<br>{hint}")

    @staticmethod
    def _hint(activation: str, rho: float, sigma: float) -> str:
        """What the two numbers imply, stated no stronger than the theory does."""
        bound = 4.0 if activation == "sigmoid" else 1.0  # 1/γ with |f′| ≤ γ
        bound_text = "4 (sigmoid: f′ ≤ ¼)" if activation == "sigmoid" else "1"
        if sigma < bound:
            return (f"<span style='color:{BLUE}'>σ₁ &lt; {bound_text}: gradients through time must "
                    "vanish (this is sufficient)</span>")
        if activation != "tanh":
            return f"<span style='color:{GREY}'>σ₁ ≥ {bound_text}: vanishing is not guaranteed</span>"
        if rho > 1:
            return (f"<span style='color:{VERMILION}'>ρ &gt; 1: gradients can explode "
                    "(ρ &gt; 1 is necessary for it)</span>")
        return (f"<span style='color:{ORANGE}'>ρ ≤ 1: no explosion (it needs ρ &gt; 1); σ₁ ≥ 1: "
                "vanishing is not guaranteed</span>")
