"""spectrum() and saturation_fraction() (rnnviz/core/diagnostics.py) on hand-computed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.core import saturation_fraction, spectral_radius, spectrum


def test_spectrum_of_anti_diagonal_matrix_separates_radius_from_sigma_max():
    """[[0, 2], [0.5, 0]]: λ² = 2·0.5 = 1 so λ = ±1 (radius 1), while the singular values are
    2 and 0.5 (largest 2). Pascanu et al.'s two conditions use different numbers."""
    s = spectrum(np.array([[0.0, 2.0], [0.5, 0.0]]))
    assert s.spectral_radius == pytest.approx(1.0, rel=1e-14)
    assert s.largest_singular_value == pytest.approx(2.0, rel=1e-14)
    np.testing.assert_allclose(np.sort(s.eigenvalues.real), [-1.0, 1.0], atol=1e-14)
    np.testing.assert_allclose(s.eigenvalues.imag, 0.0, atol=1e-14)


def test_spectrum_of_upper_triangular_matrix():
    """[[a, b], [0, a]] has the double eigenvalue a, but σ_max² is the larger root of
    σ⁴ - (2a² + b²) σ² + a⁴ = 0 (the characteristic polynomial of AᵀA)."""
    a, b = 0.5, 10.0
    s = spectrum(np.array([[a, b], [0.0, a]]))
    assert s.spectral_radius == pytest.approx(a, rel=1e-7)  # defective: eigvals are ill-conditioned
    trace = 2 * a * a + b * b
    sigma_max = math.sqrt((trace + math.sqrt(trace * trace - 4 * a**4)) / 2)
    assert s.largest_singular_value == pytest.approx(sigma_max, rel=1e-13)
    assert s.largest_singular_value > 10.0


def test_spectrum_of_scaled_rotation_has_complex_eigenvalues():
    """0.9·R(θ): eigenvalues 0.9·e^{±iθ}; radius and σ_max are both 0.9."""
    theta = 0.7
    rot = 0.9 * np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    s = spectrum(rot)
    assert s.spectral_radius == pytest.approx(0.9, rel=1e-14)
    assert s.largest_singular_value == pytest.approx(0.9, rel=1e-14)
    np.testing.assert_allclose(np.sort(np.angle(s.eigenvalues)), [-theta, theta], rtol=1e-13)
    assert np.iscomplexobj(s.eigenvalues)


def test_spectrum_of_diagonal_matrix_with_negative_entry():
    """Radius is max |λ|, so a negative eigenvalue of largest modulus counts: diag(0.5, -3)."""
    s = spectrum(np.diag([0.5, -3.0]))
    assert s.spectral_radius == 3.0
    assert s.largest_singular_value == pytest.approx(3.0, rel=1e-15)
    assert spectral_radius(np.diag([0.5, -3.0])) == 3.0


def test_spectrum_accepts_float32():
    s = spectrum(np.array([[0.0, 2.0], [0.5, 0.0]], dtype=np.float32))
    assert s.spectral_radius == pytest.approx(1.0, rel=1e-6)


# ------------------------------------------------------------------------------ saturation
# One array, six units: each activation counts a different subset as saturated.
VALUES = np.array([[0.995, -0.999, 0.5, 0.0, 0.005, 1.0]])


def test_saturation_tanh():
    """tanh: |h| > 1 - margin: 0.995, -0.999 and 1.0 → 3 of 6."""
    assert saturation_fraction(VALUES, "tanh") == pytest.approx(3 / 6)


def test_saturation_sigmoid():
    """sigmoid: h < margin or h > 1 - margin: 0.995, 0.0, 0.005, 1.0 (and -0.999) → 5 of 6."""
    assert saturation_fraction(VALUES, "sigmoid") == pytest.approx(5 / 6)


def test_saturation_relu_counts_dead_units():
    """relu: h <= 0 (no gradient passes): -0.999 and 0.0 → 2 of 6; small positives are alive."""
    assert saturation_fraction(VALUES, "relu") == pytest.approx(2 / 6)


def test_saturation_margin_is_respected():
    """A wider margin counts more units as saturated (tanh, margin 0.6: also 0.5)."""
    assert saturation_fraction(VALUES, "tanh", margin=0.6) == pytest.approx(4 / 6)


def test_saturation_of_real_hidden_states_on_3d_input():
    """Works on (T, B, H) hidden states; tanh with huge pre-activations is fully saturated."""
    hidden = np.tanh(np.full((4, 2, 3), 50.0) * np.array([1.0, -1.0, 1.0]))
    assert saturation_fraction(hidden, "tanh") == 1.0
    assert saturation_fraction(np.tanh(np.zeros((4, 2, 3))), "tanh") == 0.0


def test_saturation_empty_and_unknown_activation():
    assert saturation_fraction(np.zeros((0, 3)), "tanh") == 0.0
    with pytest.raises(ValueError):
        saturation_fraction(VALUES, "softplus")
