"""Masked losses (line mode's padding): gradient checks and exact zeros for padded targets.

The reference is a naive loop over the real targets only (one-hot inputs, textbook softmax),
differentiated by central finite differences in float64. Padding is at the end of each
sequence, as line mode makes it, so padded steps lie after every real target: changing what
is fed or asked there must leave the loss and every gradient bit-for-bit unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnviz.core import PARAM_NAMES, RNN
from rnnviz.core.heads import head_loss, mean_squared_error, softmax_cross_entropy

FD_EPS = 1e-6


def _ref_masked_loss(p, x, y, mask, activation="tanh"):
    """Mean of -log p[y] over the real targets, from h = 0, with one-hot inputs."""
    steps, batch = x.shape
    inputs = np.eye(p["W_xh"].shape[1])[x]
    h = np.zeros((batch, p["W_hh"].shape[0]))
    total, count = 0.0, 0
    for t in range(steps):
        h = np.tanh(inputs[t] @ p["W_xh"].T + h @ p["W_hh"].T + p["b_h"])
        o = h @ p["W_hy"].T + p["b_y"]
        for b in range(batch):
            if mask[t, b]:
                z = o[b] - o[b].max()
                total += -(z[y[t, b]] - np.log(np.exp(z).sum()))
                count += 1
    return total / count


def _right_padded(rng, steps, batch, vocab, lengths):
    x = rng.integers(0, vocab, size=(steps, batch))
    y = rng.integers(0, vocab, size=(steps, batch))
    mask = (np.arange(steps)[:, None] < np.asarray(lengths)[None, :]).astype(np.int8)
    return x, y, mask


def _other_padding(rng, x, y, mask, vocab):
    """Copies of ``x`` and ``y`` with new random tokens wherever ``mask`` is 0, and where that is."""
    x2, y2 = x.copy(), y.copy()
    pad = mask == 0
    x2[pad] = rng.integers(0, vocab, size=int(pad.sum()))
    y2[pad] = rng.integers(0, vocab, size=int(pad.sum()))
    return x2, y2, pad


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), batch=st.integers(1, 3), steps=st.integers(1, 5),
       truncate=st.sampled_from([None, 0, 1, 3]), data=st.data())
def test_masked_gradients_match_finite_differences(seed, batch, steps, truncate, data):
    lengths = data.draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    rng = np.random.default_rng(seed)
    vocab, hidden = 4, 3
    model = RNN(vocab, hidden, vocab, dtype="float64", seed=seed % 1000)
    x, y, mask = _right_padded(rng, steps, batch, vocab, lengths)
    res = model.loss_and_grads(x, y, head="seq_softmax", mask=mask,
                               truncate=None if truncate is None else min(truncate, steps))
    params = {k: v.copy() for k, v in model.params.items()}
    assert res.loss == pytest.approx(_ref_masked_loss(params, x, y, mask), rel=1e-10, abs=1e-12)
    if truncate is not None and truncate < steps - 1:
        return  # the truncated gradient is not the full derivative; its check follows below
    for name in PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for idx in np.ndindex(params[name].shape):
            for sign in (1, -1):
                shifted = {k: v.copy() for k, v in params.items()}
                shifted[name][idx] += sign * FD_EPS
                numeric[idx] += sign * _ref_masked_loss(shifted, x, y, mask) / (2 * FD_EPS)
        np.testing.assert_allclose(res.grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), truncate=st.sampled_from([None, 0, 2]))
def test_padded_positions_change_nothing(seed, truncate):
    """Whatever the padded inputs and targets are, loss, gradients and the real part of the
    ‖dL/dh_t‖ profile are identical: padding contributes exactly zero."""
    rng = np.random.default_rng(seed)
    vocab, steps, batch = 5, 6, 3
    model = RNN(vocab, 4, vocab, dtype="float64", seed=1)
    x, y, mask = _right_padded(rng, steps, batch, vocab, [6, 2, 4])
    x2, y2, pad = _other_padding(rng, x, y, mask, vocab)
    a = model.loss_and_grads(x, y, mask=mask, truncate=truncate)
    b = model.loss_and_grads(x2, y2, mask=mask, truncate=truncate)
    assert a.loss == b.loss
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(a.grads[name], b.grads[name])
    np.testing.assert_array_equal(a.dh_norms, b.dh_norms)
    # The output gradient of every padded target is exactly zero.
    _, d_out = head_loss("seq_softmax", a.outputs, y, mask)
    assert not d_out[pad].any()


def test_a_full_mask_is_the_plain_mean():
    rng = np.random.default_rng(3)
    logits, targets = rng.normal(size=(7, 4)), rng.integers(0, 4, 7)
    plain = softmax_cross_entropy(logits.copy(), targets)
    masked = softmax_cross_entropy(logits.copy(), targets, np.ones(7))
    assert masked[0] == pytest.approx(plain[0], rel=1e-14)
    np.testing.assert_allclose(masked[1], plain[1], rtol=1e-14)


def test_masked_mean_counts_only_real_targets():
    rng = np.random.default_rng(4)
    logits, targets = rng.normal(size=(6, 3)), rng.integers(0, 3, 6)
    mask = np.array([1, 1, 0, 1, 0, 0])
    loss, _ = softmax_cross_entropy(logits.copy(), targets, mask)
    real = mask.astype(bool)
    expected, _ = softmax_cross_entropy(logits[real].copy(), targets[real])
    assert loss == pytest.approx(expected, rel=1e-14)
    mse, grad = mean_squared_error(logits, logits + 1.0, mask)
    assert mse == pytest.approx(1.0) and not grad[~real].any()


@pytest.mark.parametrize("mask, message", [
    (np.zeros(4), "no target"), (np.ones(3), "entries"), (np.array([1, 0.5, 1, 1]), "0 .padding."),
])
def test_bad_masks_are_refused(mask, message):
    with pytest.raises(ValueError, match=message):
        softmax_cross_entropy(np.zeros((4, 2)), np.zeros(4, dtype=int), mask)


def test_a_mask_of_the_wrong_shape_is_refused():
    model = RNN(3, 2, 3, dtype="float64")
    x = np.zeros((4, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="mask must have shape"):
        model.loss_and_grads(x, x, mask=np.ones((2, 4)))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("truncate", [None, 2])
def test_masks_reach_the_gated_cells(cell, truncate):
    """LSTM and GRU share the output layer and heads: padding contributes nothing to their
    loss or gradients either, and the masked gradient is the derivative of the masked loss."""
    from rnnviz.core import make_model

    rng = np.random.default_rng(7)
    vocab, steps, batch = 5, 6, 3
    model = make_model(cell, vocab, 3, vocab, dtype="float64", seed=2)
    x, y, mask = _right_padded(rng, steps, batch, vocab, [6, 2, 4])
    x2, y2, _pad = _other_padding(rng, x, y, mask, vocab)
    a = model.loss_and_grads(x, y, mask=mask, truncate=truncate)
    b = model.loss_and_grads(x2, y2, mask=mask, truncate=truncate)
    assert a.loss == b.loss
    for name in model.params:
        np.testing.assert_allclose(a.grads[name], b.grads[name], rtol=1e-12, atol=1e-15, err_msg=name)
    if truncate is not None:
        return
    flat = model.flat_params
    for index in rng.choice(flat.size, size=12, replace=False):
        saved = flat[index]
        flat[index] = saved + FD_EPS
        up = model.loss_and_grads(x, y, mask=mask).loss
        flat[index] = saved - FD_EPS
        down = model.loss_and_grads(x, y, mask=mask).loss
        flat[index] = saved
        assert a.flat_grads[index] == pytest.approx((up - down) / (2 * FD_EPS), rel=1e-5, abs=1e-9)
