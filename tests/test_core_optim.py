"""Gradient clipping, the five optimizers and HalveOnPlateau (rnnviz/core/optim.py),
checked against values computed by hand from the published update rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.core import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    HalveOnPlateau,
    Momentum,
    RMSprop,
    clip_gradients,
    global_norm,
    make_optimizer,
)


def grads_norm_13():
    """‖a‖ = 5 (3-4-5), ‖b‖ = 12, global norm sqrt(25 + 144) = 13."""
    return {"a": np.array([3.0, -4.0]), "b": np.array([[12.0]])}


# ------------------------------------------------------------------------------ clipping
def test_global_norm_of_hand_example():
    """global_norm treats all gradients as one long vector: sqrt(3² + 4² + 12²) = 13."""
    assert global_norm(grads_norm_13()) == 13.0


def test_norm_clipping_scales_by_threshold_over_norm():
    """norm mode, threshold 5 < ‖g‖ = 13: every gradient is multiplied by 5/13, which keeps
    the direction; per-parameter and global norms before (5, 12, 13) and after (25/13,
    60/13, 5) are reported."""
    grads = grads_norm_13()
    res = clip_gradients(grads, "norm", 5.0)
    assert res.fired
    np.testing.assert_allclose(res.grads["a"], [15 / 13, -20 / 13], rtol=1e-15)
    np.testing.assert_allclose(res.grads["b"], [[60 / 13]], rtol=1e-15)
    assert res.norms_before == pytest.approx({"a": 5.0, "b": 12.0}, rel=1e-15)
    assert res.norms_after == pytest.approx({"a": 25 / 13, "b": 60 / 13}, rel=1e-15)
    assert res.global_before == pytest.approx(13.0, rel=1e-15)
    assert res.global_after == pytest.approx(5.0, rel=1e-15)
    # The caller's arrays are not modified.
    np.testing.assert_array_equal(grads["a"], [3.0, -4.0])
    np.testing.assert_array_equal(grads["b"], [[12.0]])


@pytest.mark.parametrize("threshold", [13.0, 13.5, 1e6])
def test_norm_clipping_does_not_fire_at_or_below_threshold(threshold):
    """norm mode only acts when ‖g‖ > threshold (13 is not > 13); nothing changes then."""
    res = clip_gradients(grads_norm_13(), "norm", threshold)
    assert not res.fired
    np.testing.assert_array_equal(res.grads["a"], [3.0, -4.0])
    np.testing.assert_array_equal(res.grads["b"], [[12.0]])
    assert res.global_before == res.global_after == 13.0
    assert res.norms_after == res.norms_before


def test_value_clipping_clips_elementwise():
    """value mode, threshold 3.5: each element goes into [-3.5, 3.5] independently, which
    changes the direction: [3, -4] -> [3, -3.5], [12] -> [3.5]."""
    grads = grads_norm_13()
    res = clip_gradients(grads, "value", 3.5)
    assert res.fired
    np.testing.assert_array_equal(res.grads["a"], [3.0, -3.5])
    np.testing.assert_array_equal(res.grads["b"], [[3.5]])
    assert res.norms_before == pytest.approx({"a": 5.0, "b": 12.0})
    assert res.norms_after == pytest.approx({"a": math.hypot(3.0, 3.5), "b": 3.5}, rel=1e-15)
    assert res.global_after == pytest.approx(math.sqrt(9 + 3.5**2 + 3.5**2), rel=1e-15)
    np.testing.assert_array_equal(grads["a"], [3.0, -4.0])  # input untouched


@pytest.mark.parametrize("threshold", [12.0, 100.0])
def test_value_clipping_fires_only_if_an_element_exceeds(threshold):
    """value mode with every |g| <= threshold (12 equals the largest element) reports
    fired=False and returns the gradients unchanged."""
    res = clip_gradients(grads_norm_13(), "value", threshold)
    assert not res.fired
    np.testing.assert_array_equal(res.grads["b"], [[12.0]])
    assert res.global_after == 13.0


def test_value_clipping_fires_on_a_single_element():
    """One element just above the threshold is enough to fire."""
    res = clip_gradients({"a": np.array([0.1, -2.0000001])}, "value", 2.0)
    assert res.fired
    np.testing.assert_array_equal(res.grads["a"], [0.1, -2.0])


@pytest.mark.parametrize("threshold", [0.5, -1.0, float("nan")])
def test_none_mode_leaves_everything_unchanged(threshold):
    """none mode never clips and ignores the threshold; norms are still reported."""
    res = clip_gradients(grads_norm_13(), "none", threshold)
    assert not res.fired
    np.testing.assert_array_equal(res.grads["a"], [3.0, -4.0])
    np.testing.assert_array_equal(res.grads["b"], [[12.0]])
    assert res.global_before == res.global_after == 13.0
    assert res.norms_before == res.norms_after == pytest.approx({"a": 5.0, "b": 12.0})


@pytest.mark.parametrize(("mode", "threshold"), [("clamp", 5.0), ("Norm", 5.0), ("norm", 0.0),
                                                 ("norm", -1.0), ("value", float("nan")),
                                                 ("value", float("inf")), ("value", 0.0)])
def test_invalid_clip_mode_or_threshold_raises(mode, threshold):
    with pytest.raises(ValueError):
        clip_gradients(grads_norm_13(), mode, threshold)


# ---------------------------------------------------------------------------- optimizers
# Two parameters, three steps with different gradients, everything as plain Python floats.
P0 = [0.5, -1.0]
GRADS = [[0.2, -0.4], [-0.1, 0.3], [0.05, 0.0]]


def run(optimizer, steps=3):
    params = {"w": np.array(P0)}
    history = []
    for g in GRADS[:steps]:
        optimizer.step(params, {"w": np.array(g)})
        history.append(params["w"].copy())
    return history


def test_sgd_matches_hand_computation():
    """θ ← θ - η g."""
    lr = 0.1
    theta = list(P0)
    expected = []
    for g in GRADS:
        theta = [t - lr * gi for t, gi in zip(theta, g, strict=True)]
        expected.append(theta)
    np.testing.assert_allclose(run(SGD(lr)), expected, rtol=1e-15)
    # First step written out: 0.5 - 0.1·0.2 = 0.48, -1 - 0.1·(-0.4) = -0.96.
    assert run(SGD(lr), 1)[0] == pytest.approx([0.48, -0.96], rel=1e-15)


def test_momentum_matches_hand_computation():
    """Heavy ball, PyTorch form: v ← μ v + g; θ ← θ - η v."""
    lr, mu = 0.1, 0.9
    theta, v = list(P0), [0.0, 0.0]
    expected = []
    for g in GRADS:
        v = [mu * vi + gi for vi, gi in zip(v, g, strict=True)]
        theta = [t - lr * vi for t, vi in zip(theta, v, strict=True)]
        expected.append(theta)
    np.testing.assert_allclose(run(Momentum(lr, mu)), expected, rtol=1e-14)
    # Step 2 by hand for w[0]: v1 = 0.2, v2 = 0.9·0.2 - 0.1 = 0.08; θ = 0.48 - 0.008 = 0.472.
    assert run(Momentum(lr, mu), 2)[1][0] == pytest.approx(0.472, rel=1e-14)


def test_adagrad_matches_hand_computation():
    """min-char-rnn's Adagrad: m ← m + g²; θ ← θ - η g / sqrt(m + ε)."""
    lr, eps = 0.1, 1e-8
    theta, m = list(P0), [0.0, 0.0]
    expected = []
    for g in GRADS:
        m = [mi + gi * gi for mi, gi in zip(m, g, strict=True)]
        theta = [t - lr * gi / math.sqrt(mi + eps) for t, gi, mi in zip(theta, g, m, strict=True)]
        expected.append(theta)
    np.testing.assert_allclose(run(Adagrad(lr, eps)), expected, rtol=1e-14)
    # The first Adagrad step moves each coordinate by almost exactly η·sign(g).
    assert run(Adagrad(lr, eps), 1)[0] == pytest.approx([0.4, -0.9], rel=1e-6)


def test_rmsprop_matches_hand_computation():
    """v ← ρ v + (1-ρ) g²; θ ← θ - η g / (sqrt(v) + ε)."""
    lr, rho, eps = 0.01, 0.9, 1e-8
    theta, v = list(P0), [0.0, 0.0]
    expected = []
    for g in GRADS:
        v = [rho * vi + (1 - rho) * gi * gi for vi, gi in zip(v, g, strict=True)]
        theta = [t - lr * gi / (math.sqrt(vi) + eps) for t, gi, vi in zip(theta, g, v, strict=True)]
        expected.append(theta)
    np.testing.assert_allclose(run(RMSprop(lr, rho, eps)), expected, rtol=1e-14)
    # First step: v = 0.1 g², so the step is η g / (sqrt(0.1)|g|) = η / sqrt(0.1) ≈ 0.0316.
    first = run(RMSprop(lr, rho, eps), 1)[0]
    assert first[0] == pytest.approx(0.5 - lr / math.sqrt(0.1), rel=1e-7)


def test_adam_matches_hand_computation_with_bias_correction():
    """Kingma & Ba, Alg. 1: m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²;
    m̂ = m / (1-β1^t); v̂ = v / (1-β2^t); θ ← θ - η m̂ / (sqrt(v̂) + ε)."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    theta, m, v = list(P0), [0.0, 0.0], [0.0, 0.0]
    expected = []
    for t, g in enumerate(GRADS, start=1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        m_hat = [mi / (1 - b1**t) for mi in m]
        v_hat = [vi / (1 - b2**t) for vi in v]
        theta = [th - lr * mh / (math.sqrt(vh) + eps) for th, mh, vh in zip(theta, m_hat, v_hat, strict=True)]
        expected.append(theta)
    np.testing.assert_allclose(run(Adam(lr, b1, b2, eps)), expected, rtol=1e-13)
    # With bias correction the first step is η·g/|g| (up to ε): exactly 0.01 per coordinate.
    assert run(Adam(lr, b1, b2, eps), 1)[0] == pytest.approx([0.49, -0.99], rel=1e-8)
    # The third gradient of w[1] is 0, yet w[1] still moves (momentum): Adam has state.
    hist = run(Adam(lr, b1, b2, eps))
    assert hist[2][1] != hist[1][1]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(name):
    """Two steps, save state_dict, load it into a fresh optimizer with copied parameters:
    both then take two more steps and stay bit-identical (including Adam's step count)."""
    rng = np.random.default_rng(0)
    grads = [{"w": rng.normal(size=(2, 3)), "b": rng.normal(size=3)} for _ in range(4)]
    params = {"w": rng.normal(size=(2, 3)), "b": rng.normal(size=3)}
    first = make_optimizer(name, 0.01)
    for g in grads[:2]:
        first.step(params, g)
    state = first.state_dict()
    second = make_optimizer(name, 0.01)
    second.load_state_dict(state)
    assert second.steps == 2
    params2 = {k: v.copy() for k, v in params.items()}
    # The saved state is a copy: training on must not change it.
    saved = {k: np.array(v, copy=True) for k, v in state.items()}
    for g in grads[2:]:
        first.step(params, g)
        second.step(params2, g)
    for k in params:
        np.testing.assert_array_equal(params[k], params2[k])
    for k, v in saved.items():
        np.testing.assert_array_equal(state[k], v)


def test_adam_resumed_without_step_count_would_differ():
    """Guard for the round-trip test: Adam's bias correction depends on the step count, so
    losing it on load changes the next update (the round trip really carries it)."""
    params = {"w": np.array(P0)}
    opt = Adam(0.01)
    opt.step(params, {"w": np.array(GRADS[0])})
    state = opt.state_dict()
    state.pop("steps")
    fresh = Adam(0.01)
    fresh.load_state_dict(state)
    a, b = {"w": params["w"].copy()}, {"w": params["w"].copy()}
    opt.step(a, {"w": np.array(GRADS[1])})
    fresh.step(b, {"w": np.array(GRADS[1])})
    assert not np.array_equal(a["w"], b["w"])


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_invalid_learning_rate_raises(lr):
    with pytest.raises(ValueError):
        SGD(lr)


def test_make_optimizer_knows_every_name_and_rejects_others():
    for name in OPTIMIZERS:
        assert make_optimizer(name, 0.1).name == name
    with pytest.raises(ValueError):
        make_optimizer("lbfgs", 0.1)


def test_changing_lr_live_applies_to_the_next_step():
    """lr can change between steps (the GUI does this): momentum's next step uses the new η."""
    opt = Momentum(0.1, 0.9)
    params = {"w": np.array([0.0])}
    opt.step(params, {"w": np.array([1.0])})  # v = 1, θ = -0.1
    opt.lr = 0.01
    opt.step(params, {"w": np.array([1.0])})  # v = 1.9, θ = -0.1 - 0.019
    assert params["w"][0] == pytest.approx(-0.119, rel=1e-14)


# ------------------------------------------------------------------------------ schedule
def test_halve_on_plateau_with_patience_one():
    """Halve at every evaluation that does not beat the best loss so far; improvements reset."""
    opt, sched = SGD(0.1), HalveOnPlateau(patience=1)
    assert sched.update(opt, 1.0) is False and opt.lr == 0.1  # first loss is a new best
    assert sched.update(opt, 0.9) is False and opt.lr == 0.1  # improvement
    assert sched.update(opt, 0.95) is True and opt.lr == 0.05  # worse: halve
    assert sched.update(opt, 0.9) is True and opt.lr == 0.025  # equal to best is no better
    assert sched.update(opt, 0.5) is False and opt.lr == 0.025  # new best
    assert sched.state() == {"best": 0.5, "bad_evals": 0}


def test_halve_on_plateau_with_patience_two_and_min_lr():
    """patience=2 waits for two evaluations without a new best; never goes below min_lr."""
    opt, sched = SGD(0.1), HalveOnPlateau(patience=2, min_lr=0.03)
    sched.update(opt, 1.0)
    assert sched.update(opt, 1.1) is False and opt.lr == 0.1
    assert sched.update(opt, 1.2) is True and opt.lr == 0.05
    assert sched.update(opt, 1.3) is False
    assert sched.update(opt, 1.3) is False and opt.lr == 0.05  # 0.025 would be below min_lr
    restored = HalveOnPlateau(patience=2, min_lr=0.03)
    restored.load_state(sched.state())
    assert restored.best == 1.0 and restored.bad_evals == sched.bad_evals
