"""Initialisation schemes (rnnviz/core/init.py) and the RNN constructor's checks."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import INITS, PARAM_NAMES, RNN, rescale_to_spectral_radius
from rnnviz.core.init import init_params


def fresh(scheme, i=7, h=6, o=5, seed=0, radius=None):
    return init_params(i, h, o, scheme, np.random.default_rng(seed), radius)


@pytest.mark.parametrize("scheme", INITS)
def test_shapes_and_zero_biases(scheme):
    """W_xh (H, I), W_hh (H, H), W_hy (O, H); both biases start at exactly zero."""
    p = fresh(scheme)
    assert set(p) == set(PARAM_NAMES)
    assert p["W_xh"].shape == (6, 7)
    assert p["W_hh"].shape == (6, 6)
    assert p["W_hy"].shape == (5, 6)
    assert p["b_h"].shape == (6,) and p["b_y"].shape == (5,)
    assert not p["b_h"].any() and not p["b_y"].any()
    for arr in p.values():
        assert arr.dtype == np.float64


def test_small_init_has_std_point_01():
    """'small' is min-char-rnn's randn × 0.01: mean ≈ 0, std ≈ 0.01 (40 000 samples: ±2%)."""
    p = fresh("small", i=200, h=200, o=200)
    for name in ("W_xh", "W_hh", "W_hy"):
        w = p[name]
        assert w.std() == pytest.approx(0.01, rel=0.02), name
        assert abs(w.mean()) < 2e-4, name


def test_orthogonal_w_hh_is_orthogonal():
    """W_hh W_hhᵀ = W_hhᵀ W_hh = I, so every singular value and |eigenvalue| is 1."""
    for h in (1, 2, 9, 30):
        w = fresh("orthogonal", h=h)["W_hh"]
        np.testing.assert_allclose(w @ w.T, np.eye(h), atol=1e-12)
        np.testing.assert_allclose(w.T @ w, np.eye(h), atol=1e-12)
        np.testing.assert_allclose(np.abs(np.linalg.eigvals(w)), 1.0, atol=1e-10)


def test_orthogonal_is_not_always_the_same_matrix():
    """Two seeds give two different orthogonal matrices (not e.g. the identity)."""
    a, b = fresh("orthogonal", seed=1)["W_hh"], fresh("orthogonal", seed=2)["W_hh"]
    assert not np.allclose(a, b)
    assert not np.allclose(a, np.eye(6))


def test_identity_w_hh_is_exactly_identity():
    np.testing.assert_array_equal(fresh("identity")["W_hh"], np.eye(6))


@pytest.mark.parametrize("scheme", ["xavier", "orthogonal", "identity"])
def test_xavier_bounds(scheme):
    """Glorot: U(±sqrt(6/(fan_in + fan_out))); W_xh and W_hy use it for these three schemes,
    W_hh only for 'xavier'. The bound is approached, and the variance is limit²/3."""
    i, h, o = 150, 120, 90
    p = fresh(scheme, i=i, h=h, o=o)
    checks = [("W_xh", h, i), ("W_hy", o, h)] + ([("W_hh", h, h)] if scheme == "xavier" else [])
    for name, rows, cols in checks:
        limit = np.sqrt(6.0 / (rows + cols))
        w = p[name]
        assert np.abs(w).max() <= limit, name
        assert np.abs(w).max() > 0.98 * limit, name
        assert w.var() == pytest.approx(limit**2 / 3, rel=0.05), name


def test_uniform_bounds_use_fan_in():
    """'uniform' is U(±1/sqrt(fan_in)) with fan_in = columns: different limits per matrix."""
    i, h, o = 400, 100, 30
    p = fresh("uniform", i=i, h=h, o=o)
    for name, fan_in in (("W_xh", i), ("W_hh", h), ("W_hy", h)):
        limit = 1.0 / np.sqrt(fan_in)
        w = p[name]
        assert np.abs(w).max() <= limit, name
        assert np.abs(w).max() > 0.97 * limit, name
        assert w.var() == pytest.approx(limit**2 / 3, rel=0.06), name


@pytest.mark.parametrize("scheme", INITS)
@pytest.mark.parametrize("radius", [0.3, 1.0, 2.5])
def test_spectral_radius_target_is_exact(scheme, radius):
    """spectral_radius=r rescales W_hh so that max |eigenvalue| is r (to rounding)."""
    w = fresh(scheme, h=12, radius=radius)["W_hh"]
    assert np.max(np.abs(np.linalg.eigvals(w))) == pytest.approx(radius, rel=1e-12)
    model = RNN(3, 12, 2, init=scheme, spectral_radius=radius, seed=4)
    assert np.max(np.abs(np.linalg.eigvals(model.params["W_hh"]))) == pytest.approx(radius, rel=1e-12)
    model32 = RNN(3, 12, 2, init=scheme, spectral_radius=radius, seed=4, dtype="float32")
    assert np.max(np.abs(np.linalg.eigvals(model32.params["W_hh"]))) == pytest.approx(radius, rel=1e-5)


def test_rescale_keeps_direction_and_rejects_zero_radius():
    w = np.array([[0.0, 2.0], [0.5, 0.0]])  # eigenvalues ±1
    np.testing.assert_allclose(rescale_to_spectral_radius(w, 3.0), 3.0 * w, rtol=1e-15)
    with pytest.raises(ValueError):
        rescale_to_spectral_radius(np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0)  # nilpotent: radius 0


@pytest.mark.parametrize("scheme", INITS)
def test_same_seed_same_params_different_seed_different(scheme):
    """Initialisation is a pure function of the seed."""
    a = RNN(5, 4, 3, init=scheme, seed=123)
    b = RNN(5, 4, 3, init=scheme, seed=123)
    c = RNN(5, 4, 3, init=scheme, seed=124)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["W_xh"], c.params["W_xh"])
    assert not np.array_equal(a.params["W_hy"], c.params["W_hy"])
    if scheme != "identity":
        assert not np.array_equal(a.params["W_hh"], c.params["W_hh"])


def test_given_generator_is_used_and_advanced():
    """RNN(rng=g) draws from g (the trainer's single generator), not from ``seed``."""
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    a = RNN(3, 3, 3, rng=g1, seed=0)
    b = RNN(3, 3, 3, rng=g2, seed=1)
    np.testing.assert_array_equal(a.params["W_hh"], b.params["W_hh"])
    assert g1.random() == g2.random()
    assert g1.bit_generator.state != np.random.default_rng(9).bit_generator.state


def test_core_never_touches_the_global_numpy_rng():
    """Building models of every scheme (with and without a seed), computing gradients and
    sampling must not draw from (or reseed) NumPy's legacy global generator."""
    np.random.seed(2024)
    reference = np.random.random(8)
    np.random.seed(2024)
    head_part = np.random.random(3)
    for scheme in INITS:
        for seed in (0, None):
            model = RNN(4, 5, 4, init=scheme, seed=seed, spectral_radius=1.1)
    x = np.array([[0, 1], [2, 3], [1, 1]])
    model.loss_and_grads(x, x, head="seq_softmax", truncate=1)
    list(model.sample([0, 1], 10))
    list(model.sample([0, 1], 10, temperature=0.5, rng=np.random.default_rng(0)))
    tail_part = np.random.random(5)
    np.testing.assert_array_equal(np.concatenate([head_part, tail_part]), reference)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"input_size": 0}, "input_size"), ({"hidden_size": 2.5}, "hidden_size"),
    ({"output_size": -1}, "output_size"), ({"activation": "gelu"}, "activation"),
    ({"init": "he"}, "init"), ({"dtype": "float16"}, "dtype"),
    ({"spectral_radius": 0.0}, "spectral_radius"), ({"spectral_radius": float("inf")}, "spectral_radius"),
])
def test_constructor_rejects_bad_settings(kwargs, word):
    args = {"input_size": 3, "hidden_size": 4, "output_size": 2, **kwargs}
    with pytest.raises(ValueError, match=word):
        RNN(**args)


def test_init_params_rejects_unknown_scheme():
    with pytest.raises(ValueError):
        init_params(2, 2, 2, "lecun", np.random.default_rng(0))
