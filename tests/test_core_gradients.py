"""Gradient checks for the RNN engine (rnnviz/core/rnn.py) against central finite differences.

The reference loss below is an independent, deliberately naive implementation of
eqs. (1)-(3) of rnn.py plus the heads' losses (one-hot inputs, a plain Python loop, no
in-place tricks), so an error in the engine's forward pass would show up too.

Truncation reference (``truncate=k``): the gradient of Σ_t L_t(θ) where each L_t is computed
by running the recurrence from the *constant* hidden state h_{t-k-1} (taken from one
unperturbed run; h0 when t-k-1 <= -1, starting at step 0) through steps max(t-k, 0)..t with
the perturbed θ.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rnnviz.core import ACTIVATIONS, HEADS, PARAM_NAMES, RNN
from rnnviz.core.rnn import activation_derivative

TINY = 1e-12
FD_EPS = 1e-6
RELU_MARGIN = 1e-4


# ----------------------------------------------------------------------------- reference
def _act(name: str, a: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(a)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    return np.where(a > 0, a, 0.0)


def _inputs(x: np.ndarray, input_size: int) -> np.ndarray:
    """(T, B, I) float inputs: one-hot rows for token ids, the values themselves otherwise."""
    if np.issubdtype(x.dtype, np.integer):
        return np.eye(input_size)[x]
    return x.astype(np.float64)


def _ref_step(p, x_t, h_prev, activation):
    """Eqs. (1)-(2) in their textbook form; returns (pre-activation, new hidden state)."""
    a = x_t @ p["W_xh"].T + h_prev @ p["W_hh"].T + p["b_h"]
    return a, _act(activation, a)


def _ref_step_loss(p, h_t, y_t, head, steps):
    """L_t: this step's share of ``res.loss`` (a mean over every target)."""
    o = h_t @ p["W_hy"].T + p["b_y"]
    if head.endswith("softmax"):
        shifted = o - o.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        step_loss = -np.mean(log_p[np.arange(len(y_t)), y_t])
    else:
        step_loss = np.mean((o - y_t) ** 2)
    return step_loss / steps if head.startswith("seq_") else step_loss


def ref_forward(p, xin, h0, activation):
    """Unperturbed hidden states and pre-activations (T, B, H) from h0."""
    h, hs, pre = h0, [], []
    for t in range(len(xin)):
        a, h = _ref_step(p, xin[t], h, activation)
        hs.append(h)
        pre.append(a)
    return np.array(hs), np.array(pre)


def ref_loss(p, xin, y, head, activation, h0, truncate, frozen):
    """Σ_t L_t(θ) with the truncation semantics of the module docstring.

    ``frozen`` holds the unperturbed hidden states (T, B, H); they supply the constant
    starting state h_{t-k-1} of each truncated run.
    """
    steps = len(xin)
    loss_steps = range(steps) if head.startswith("seq_") else [steps - 1]
    k = steps if truncate is None else truncate
    total = 0.0
    for t in loss_steps:
        start = t - k
        if start <= 0:
            h, t0 = h0, 0
        else:
            h, t0 = frozen[start - 1], start
        for s in range(t0, t + 1):
            _, h = _ref_step(p, xin[s], h, activation)
        total += _ref_step_loss(p, h, y[t] if head.startswith("seq_") else y, head, steps)
    return total


def numerical_grads(p, loss_fn, eps=FD_EPS):
    grads = {}
    for name in PARAM_NAMES:
        arr = p[name]
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + eps
            up = loss_fn(p)
            arr[idx] = orig - eps
            down = loss_fn(p)
            arr[idx] = orig
            g[idx] = (up - down) / (2.0 * eps)
        grads[name] = g
    return grads


def rel_error(num: np.ndarray, ana: np.ndarray) -> float:
    return float(np.linalg.norm(num - ana) / max(np.linalg.norm(num) + np.linalg.norm(ana), TINY))


def assert_grads_match(num, ana, rtol=1e-6, atol=1e-8):
    """Global relative error below ``rtol``; per parameter, relative error below ``rtol`` or
    an absolute error below ``atol`` (for parameters whose gradient is itself ~0)."""
    flat_num = np.concatenate([num[k].ravel() for k in PARAM_NAMES])
    flat_ana = np.concatenate([ana[k].ravel() for k in PARAM_NAMES])
    assert rel_error(flat_num, flat_ana) < rtol, f"global relative error {rel_error(flat_num, flat_ana):.3g}"
    for name in PARAM_NAMES:
        assert num[name].shape == ana[name].shape, name
        err = rel_error(num[name], ana[name])
        abs_err = float(np.linalg.norm(num[name] - ana[name]))
        assert err < rtol or abs_err < atol, f"{name}: relative error {err:.3g}, absolute {abs_err:.3g}"


# ----------------------------------------------------------------------------- problems
def make_problem(head, activation, steps, batch, in_size, hidden, out_size, seed, tokens,
                 nonzero_h0, init="xavier"):
    """A float64 model with generic (non-zero, non-symmetric) parameters and random data."""
    rng = np.random.default_rng(seed)
    model = RNN(in_size, hidden, out_size, activation=activation, init=init, seed=seed)
    # In place: params are views into the model's flat parameter buffer.
    model.params["b_h"][...] = rng.normal(0.0, 0.5, hidden)
    model.params["b_y"][...] = rng.normal(0.0, 0.5, out_size)
    model.params["W_hh"][...] += rng.normal(0.0, 0.2, (hidden, hidden))
    if tokens:
        x = rng.integers(0, in_size, size=(steps, batch))
    else:
        x = rng.normal(0.0, 1.0, size=(steps, batch, in_size))
    lead = (steps, batch) if head.startswith("seq_") else (batch,)
    if head.endswith("softmax"):
        y = rng.integers(0, out_size, size=lead)
    else:
        y = rng.normal(0.0, 1.0, size=(*lead, out_size))
    h0 = rng.normal(0.0, 0.7, size=(batch, hidden)) if nonzero_h0 else None
    return model, x, y, h0


@st.composite
def problem_shapes(draw):
    steps = draw(st.integers(1, 6))
    return {
        "steps": steps,
        "batch": draw(st.integers(1, 3)),
        "in_size": draw(st.integers(1, 4)),
        "hidden": draw(st.integers(1, 5)),
        "out_size": draw(st.integers(1, 4)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "tokens": draw(st.booleans()),
        "nonzero_h0": draw(st.booleans()),
        "truncate": draw(st.one_of(st.none(), st.integers(0, steps + 3))),
    }


def check_against_finite_differences(head, activation, shapes):
    shapes = dict(shapes)
    truncate = shapes.pop("truncate")
    model, x, y, h0 = make_problem(head, activation, **shapes)
    p = {k: v.copy() for k, v in model.params.items()}
    xin = _inputs(x, model.input_size)
    h0_ref = np.zeros((x.shape[1], model.hidden_size)) if h0 is None else h0
    frozen, pre = ref_forward(p, xin, h0_ref, activation)
    if activation == "relu":
        assume(bool(np.all(np.abs(pre) > RELU_MARGIN)))  # stay away from the kink of max(a, 0)

    res = model.loss_and_grads(x, y, head=head, h0=h0, truncate=truncate)
    # The reference forward pass agrees with the engine's (truncation does not change the loss).
    np.testing.assert_allclose(res.hidden, frozen, rtol=1e-12, atol=1e-12)
    assert res.loss == pytest.approx(ref_loss(p, xin, y, head, activation, h0_ref, None, frozen),
                                     rel=1e-12, abs=1e-12)

    num = numerical_grads(p, lambda q: ref_loss(q, xin, y, head, activation, h0_ref, truncate, frozen))
    assert_grads_match(num, res.grads)


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("head", HEADS)
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(shapes=problem_shapes())
def test_gradients_match_finite_differences_on_random_shapes(head, activation, shapes):
    """BPTT gradients (eqs. 4-7) equal central finite differences of the reference loss, for
    every head × activation, token and real-valued input, zero and non-zero h0, and every
    truncation length (None, 0 .. T+3), on random small shapes."""
    check_against_finite_differences(head, activation, shapes)


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("tokens", [True, False])
def test_truncation_lengths_match_their_reference(head, tokens):
    """For k in {0, 1, T-2, T-1, T+3} the truncated gradient equals the finite-difference
    gradient of the truncated reference loss; for k >= T-1 it equals full BPTT exactly."""
    steps = 6
    full_model, x, y, h0 = make_problem(head, "tanh", steps, 2, 3, 4, 3, seed=11, tokens=tokens,
                                        nonzero_h0=True)
    full = full_model.loss_and_grads(x, y, head=head, h0=h0)
    for k in (0, 1, steps - 2, steps - 1, steps + 3):
        check_against_finite_differences(head, "tanh", {
            "steps": steps, "batch": 2, "in_size": 3, "hidden": 4, "out_size": 3, "seed": 11,
            "tokens": tokens, "nonzero_h0": True, "truncate": k})
        res = full_model.loss_and_grads(x, y, head=head, h0=h0, truncate=k)
        same = all(np.allclose(res.grads[n], full.grads[n], rtol=1e-13, atol=1e-15) for n in PARAM_NAMES)
        if k >= steps - 1:
            assert same, f"truncate={k} >= T-1 must be full BPTT"
            np.testing.assert_allclose(res.dh_norms, full.dh_norms, rtol=1e-13)
        else:
            assert not same, f"truncate={k} < T-1 must change the gradient"


@pytest.mark.parametrize("k", [0, 1, 3])
def test_truncated_dh_norms_zero_beyond_window_for_last_head(k):
    """last_* heads: only L_{T-1} exists, so with truncate=k the gradient reaches h_{T-1-k}
    and no further: dh_norms is exactly 0 before that and equals full BPTT from there on."""
    steps = 6
    model, x, y, _ = make_problem("last_mse", "tanh", steps, 3, 2, 5, 2, seed=5, tokens=False,
                                  nonzero_h0=False)
    full = model.loss_and_grads(x, y, head="last_mse")
    res = model.loss_and_grads(x, y, head="last_mse", truncate=k)
    cut = steps - 1 - k
    assert np.all(res.dh_norms[:cut] == 0.0)
    assert np.all(full.dh_norms[:cut] > 0.0)
    np.testing.assert_allclose(res.dh_norms[cut:], full.dh_norms[cut:], rtol=1e-13)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_truncated_dh_norms_for_seq_head_differ_only_where_truncation_cuts(k):
    """seq_* heads: g_t under truncation keeps L_t..L_{t+k}; for t >= T-1-k that is every
    later loss, so dh_norms equals full BPTT there, and differs where older losses were cut."""
    steps = 6
    model, x, y, h0 = make_problem("seq_softmax", "tanh", steps, 2, 4, 5, 4, seed=8, tokens=True,
                                   nonzero_h0=True)
    full = model.loss_and_grads(x, y, head="seq_softmax", h0=h0)
    res = model.loss_and_grads(x, y, head="seq_softmax", h0=h0, truncate=k)
    cut = steps - 1 - k
    np.testing.assert_allclose(res.dh_norms[cut:], full.dh_norms[cut:], rtol=1e-12)
    assert not np.allclose(res.dh_norms[:cut], full.dh_norms[:cut], rtol=1e-6)


# ------------------------------------------------------------------------- dh_norms
def _fd_dl_dh(p, xin, y, head, activation, h0, truncate, t, eps=FD_EPS):
    """Finite-difference dL/dh_t: perturb h_t and rerun the recurrence for the losses L_s,
    s = t..min(t+k, T-1), that (under truncation k) may depend on it."""
    steps = len(xin)
    frozen, _ = ref_forward(p, xin, h0, activation)
    k = steps if truncate is None else truncate
    sources = [s for s in (range(steps) if head.startswith("seq_") else [steps - 1]) if t <= s <= t + k]

    def loss_from(h_t):
        total = 0.0
        for s in sources:
            h = h_t
            for r in range(t + 1, s + 1):
                _, h = _ref_step(p, xin[r], h, activation)
            total += _ref_step_loss(p, h, y[s] if head.startswith("seq_") else y, head, steps)
        return total

    g = np.zeros_like(frozen[t])
    for idx in np.ndindex(g.shape):
        up, down = frozen[t].copy(), frozen[t].copy()
        up[idx] += eps
        down[idx] -= eps
        g[idx] = (loss_from(up) - loss_from(down)) / (2 * eps)
    return g


@pytest.mark.parametrize(("head", "truncate"), [("seq_mse", None), ("seq_softmax", None),
                                                ("last_softmax", None), ("seq_mse", 1),
                                                ("last_mse", 2)])
def test_dh_norms_are_norms_of_true_dl_dh(head, truncate):
    """dh_norms[t] = ‖dL/dh_t‖_F over the batch, checked at every t against a finite
    difference through a perturbation of h_t (also under truncation)."""
    model, x, y, h0 = make_problem(head, "tanh", 5, 2, 3, 4, 3, seed=21, tokens=False, nonzero_h0=True)
    p = model.params
    xin = _inputs(x, model.input_size)
    res = model.loss_and_grads(x, y, head=head, h0=h0, truncate=truncate)
    for t in range(5):
        g = _fd_dl_dh(p, xin, y, head, "tanh", h0, truncate, t)
        assert res.dh_norms[t] == pytest.approx(np.linalg.norm(g), rel=1e-6, abs=1e-10), t


def test_dh_norm_at_last_step_matches_softmax_formula_and_recurrence():
    """At t = T-1 (seq_softmax), g_{T-1} = (softmax(o) - onehot(y)) / (T·B) @ W_hy. Going back,
    eq. (4) in row form g_t = local_t + (g_{t+1} ⊙ f'(a_{t+1})) @ W_hh, with f' rebuilt from
    res.hidden, reproduces every dh_norms[t]; using W_hh.T instead does not."""
    steps, batch = 5, 3
    model, x, y, h0 = make_problem("seq_softmax", "tanh", steps, batch, 4, 5, 4, seed=3,
                                   tokens=True, nonzero_h0=True)
    res = model.loss_and_grads(x, y, head="seq_softmax", h0=h0)
    p = model.params
    logits = res.hidden @ p["W_hy"].T + p["b_y"]
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    onehot = np.eye(model.output_size)[y]
    local = (probs - onehot) / (steps * batch) @ p["W_hy"]  # dL_t/dh_t for every t
    assert res.dh_norms[-1] == pytest.approx(np.linalg.norm(local[-1]), rel=1e-12)

    f_prime = 1.0 - res.hidden**2  # tanh'(a) = 1 - h²
    for w, should_match in ((p["W_hh"], True), (p["W_hh"].T, False)):
        g = local[-1]
        norms = [np.linalg.norm(g)]
        for t in range(steps - 2, -1, -1):
            g = local[t] + (g * f_prime[t + 1]) @ w
            norms.append(np.linalg.norm(g))
        norms = np.array(norms[::-1])
        assert np.allclose(norms, res.dh_norms, rtol=1e-12) is should_match


def test_dh_norms_vanish_geometrically_with_tiny_w_hh():
    """last_* head, W_hh scaled by 1e-3: by eq. (4) ‖g_t‖ <= max|f'| · ‖W_hh‖₂ · ‖g_{t+1}‖, so
    dh_norms shrinks by at least that factor per step going back in time (vanishing)."""
    model, x, y, _ = make_problem("last_softmax", "tanh", 8, 3, 3, 5, 3, seed=4, tokens=True,
                                  nonzero_h0=False)
    model.params["W_hh"] *= 1e-3
    res = model.loss_and_grads(x, y, head="last_softmax")
    factor = np.linalg.norm(model.params["W_hh"], 2)  # tanh' <= 1
    assert factor < 1e-2
    norms = res.dh_norms
    assert norms[-1] > 1e-3
    assert np.all(norms[:-1] <= factor * norms[1:] * (1 + 1e-12))
    assert np.all(norms[:-1] > 0)
    assert norms[0] < 1e-12 * norms[-1]


@pytest.mark.parametrize(("radius", "head"), [(2.0, "last_mse"), (1.5, "last_softmax"), (0.5, "last_mse")])
def test_dh_norms_scale_exactly_by_radius_with_relu_and_scaled_identity(radius, head):
    """relu with W_hh = r·I (identity init, spectral_radius=r) and every pre-activation
    positive: f' = 1, so eq. (4) gives g_t = r·g_{t+1} and dh_norms[t] = r^(T-1-t)·dh_norms[T-1]:
    exploding for r > 1, vanishing for r < 1."""
    steps, batch, size = 7, 2, 4
    model = RNN(3, size, 2, activation="relu", init="identity", spectral_radius=radius, seed=0)
    np.testing.assert_allclose(model.params["W_hh"], radius * np.eye(size), rtol=1e-15)
    np.abs(model.params["W_xh"], out=model.params["W_xh"])
    model.params["b_h"][...] = 0.5
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, size=(steps, batch, 3))
    y = rng.integers(0, 2, batch) if head.endswith("softmax") else rng.normal(size=(batch, 2))
    res = model.loss_and_grads(x, y, head=head)
    assert np.all(res.hidden > 0)
    expected = res.dh_norms[-1] * radius ** np.arange(steps - 1, -1, -1)
    np.testing.assert_allclose(res.dh_norms, expected, rtol=1e-12)


def test_backprop_uses_w_hh_transposed(monkeypatch):
    """Regression for eq. (4): with a non-symmetric W_hh, a backward pass that (wrongly) uses
    W_hh instead of W_hhᵀ disagrees with finite differences, while the engine agrees."""
    model, x, y, h0 = make_problem("seq_mse", "tanh", 5, 2, 3, 4, 2, seed=9, tokens=False,
                                   nonzero_h0=True)
    w = model.params["W_hh"]
    assert not np.allclose(w, w.T)
    p = {k: v.copy() for k, v in model.params.items()}
    xin = _inputs(x, 3)
    frozen, _ = ref_forward(p, xin, h0, "tanh")
    num = numerical_grads(p, lambda q: ref_loss(q, xin, y, "seq_mse", "tanh", h0, None, frozen))

    right = model.loss_and_grads(x, y, head="seq_mse", h0=h0)
    assert_grads_match(num, right.grads)

    original = RNN._backward_through_time

    def transposed_backward(self, d_h_local, f_prime, truncate):
        w_hh = self.params["W_hh"]
        saved = w_hh.copy()
        w_hh[...] = saved.T  # the classic bug: propagate with the wrong matrix
        try:
            return original(self, d_h_local, f_prime, truncate)
        finally:
            w_hh[...] = saved

    monkeypatch.setattr(RNN, "_backward_through_time", transposed_backward)
    wrong = model.loss_and_grads(x, y, head="seq_mse", h0=h0)
    for name in ("W_xh", "W_hh", "b_h"):
        assert rel_error(num[name], wrong.grads[name]) > 1e-3, name
    # Output-layer gradients do not go through time, so the bug leaves them untouched.
    for name in ("W_hy", "b_y"):
        assert rel_error(num[name], wrong.grads[name]) < 1e-6, name


def test_activation_derivative_matches_finite_differences():
    """f'(a) written in terms of h = f(a) (used in eqs. 4-7) equals the numerical derivative."""
    a = np.linspace(-3, 3, 61)
    a = a[np.abs(a) > 1e-3]
    for name in ACTIVATIONS:
        h = _act(name, a)
        numeric = (_act(name, a + 1e-6) - _act(name, a - 1e-6)) / 2e-6
        np.testing.assert_allclose(activation_derivative(h, name), numeric, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------ float32
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize(("tokens", "truncate"), [(True, None), (False, None), (True, 2), (False, 1)])
def test_float32_gradients_agree_with_float64(head, activation, tokens, truncate):
    """The float32 path computes the same gradients as float64 (on the same, float32-
    representable parameters) to ~1e-4 relative, and keeps every output in float32."""
    model64, x, y, h0 = make_problem(head, activation, 6, 3, 4, 6, 3, seed=17, tokens=tokens,
                                     nonzero_h0=True)
    model32 = RNN(4, 6, 3, activation=activation, seed=17, dtype="float32")
    model32.set_params(model64.params)
    model64.set_params({k: v.astype(np.float64) for k, v in model32.params.items()})
    h0_32 = h0.astype(np.float32)
    x32 = x if tokens else x.astype(np.float32)
    res32 = model32.loss_and_grads(x32, y, head=head, h0=h0_32, truncate=truncate)
    res64 = model64.loss_and_grads(x32.astype(x.dtype), y, head=head, h0=h0_32.astype(np.float64),
                                   truncate=truncate)
    for name in PARAM_NAMES:
        assert model32.params[name].dtype == np.float32
        assert res32.grads[name].dtype == np.float32, name
        assert rel_error(res32.grads[name].astype(np.float64), res64.grads[name]) < 1e-4, name
    for arr in (res32.outputs, res32.hidden, res32.h_last):
        assert arr.dtype == np.float32
    outs, hidden = model32.predict(x32, head=head, h0=h0_32)
    assert outs.dtype == np.float32 and hidden.dtype == np.float32
    assert res32.loss == pytest.approx(res64.loss, rel=1e-5)
    np.testing.assert_allclose(res32.dh_norms, res64.dh_norms, rtol=1e-4, atol=1e-7)
