"""Cheap per-step diagnostics and the costlier spectrum of W_hh.

Pascanu, Mikolov & Bengio (2013): with tanh, a largest singular value of W_hh below 1 is
*sufficient* for gradients to vanish; a spectral radius above 1 is *necessary* for them to
explode. Both numbers are reported, each under its own name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.core.init import spectral_radius

__all__ = ["Spectrum", "saturation_fraction", "spectral_radius", "spectrum"]


@dataclass(frozen=True)
class Spectrum:
    eigenvalues: np.ndarray  # complex (H,)
    spectral_radius: float  # max |λ|
    largest_singular_value: float  # ‖W_hh‖₂


def spectrum(w_hh: np.ndarray) -> Spectrum:
    """Eigenvalues, spectral radius and largest singular value (O(H³): run every N steps)."""
    w = np.asarray(w_hh, dtype=np.float64)
    eig = np.linalg.eigvals(w)
    sigma_max = float(np.linalg.norm(w, 2)) if w.size else 0.0
    radius = float(np.max(np.abs(eig))) if eig.size else 0.0
    return Spectrum(eig, radius, sigma_max)


def saturation_fraction(hidden: np.ndarray, activation: str, margin: float = 0.01) -> float:
    """Fraction of unit activations where the derivative is (nearly) zero.

    tanh: |h| > 1 - margin; sigmoid: h < margin or h > 1 - margin; relu: h == 0 (dead units
    pass no gradient). Saturated units block the gradient in eq. (4) of ``rnn.py``.
    """
    if hidden.size == 0:
        return 0.0
    if activation == "tanh":
        saturated = np.abs(hidden) > 1.0 - margin
    elif activation == "sigmoid":
        saturated = (hidden < margin) | (hidden > 1.0 - margin)
    elif activation == "relu":
        saturated = hidden <= 0.0
    else:
        raise ValueError(f"unknown activation {activation!r}")
    return float(np.mean(saturated))
