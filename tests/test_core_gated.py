"""Gradient checks for the gated cells (rnnviz/core/gated.py) against central finite differences.

The reference below is an independent, naive implementation of PyTorch's nn.LSTM and nn.GRU
equations as PyTorch documents them (one-hot inputs, per-gate matrices sliced out of the
stacked weights, 1 / (1 + e^-a), a plain Python loop), plus the heads' losses, so an error in
the engine's forward pass, gate order or bias placement would show up too.

Truncation reference (``truncate=k``), as for the vanilla RNN: the gradient of Σ_s L_s(θ) where
each L_s is computed by running the recurrence from the *constant* state (h and, for the LSTM,
c) of step s-k-1, taken from one unperturbed run (h0 when s-k-1 <= -1), through steps
max(s-k, 0)..s with the perturbed θ.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.core import GRU, HEADS, LSTM, RNN, make_model

FD_EPS = 1e-6
TINY = 1e-12
NAMES = ("W_xh", "W_hh", "W_hy", "b_xh", "b_hh", "b_y")
CELL_CLASSES = {"lstm": LSTM, "gru": GRU}


# ----------------------------------------------------------------------------- reference
def _sig(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _blocks(p, name, count, size):
    return [p[name][k * size:(k + 1) * size] for k in range(count)]


def ref_step(cell, p, x_t, state, size):
    """One step of PyTorch's documented equations; ``state`` is (h, c) for the LSTM, (h,) for the GRU."""
    if cell == "lstm":
        h, c = state
        w_i, w_f, w_g, w_o = _blocks(p, "W_xh", 4, size)
        u_i, u_f, u_g, u_o = _blocks(p, "W_hh", 4, size)
        bi_i, bi_f, bi_g, bi_o = _blocks(p, "b_xh", 4, size)
        bh_i, bh_f, bh_g, bh_o = _blocks(p, "b_hh", 4, size)
        i = _sig(x_t @ w_i.T + bi_i + h @ u_i.T + bh_i)
        f = _sig(x_t @ w_f.T + bi_f + h @ u_f.T + bh_f)
        g = np.tanh(x_t @ w_g.T + bi_g + h @ u_g.T + bh_g)
        o = _sig(x_t @ w_o.T + bi_o + h @ u_o.T + bh_o)
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    (h,) = state
    w_r, w_z, w_n = _blocks(p, "W_xh", 3, size)
    u_r, u_z, u_n = _blocks(p, "W_hh", 3, size)
    bi_r, bi_z, bi_n = _blocks(p, "b_xh", 3, size)
    bh_r, bh_z, bh_n = _blocks(p, "b_hh", 3, size)
    r = _sig(x_t @ w_r.T + bi_r + h @ u_r.T + bh_r)
    z = _sig(x_t @ w_z.T + bi_z + h @ u_z.T + bh_z)
    n = np.tanh(x_t @ w_n.T + bi_n + r * (h @ u_n.T + bh_n))
    return ((1.0 - z) * n + z * h,)


def ref_step_loss(p, h_t, y_t, head, steps):
    o = h_t @ p["W_hy"].T + p["b_y"]
    if head.endswith("softmax"):
        shifted = o - o.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -np.mean(log_p[np.arange(len(y_t)), y_t])
    else:
        loss = np.mean((o - y_t) ** 2)
    return loss / steps if head.startswith("seq_") else loss


def ref_states(cell, p, xin, state0, size):
    """The unperturbed state after every step: a list of tuples."""
    states, state = [], state0
    for x_t in xin:
        state = ref_step(cell, p, x_t, state, size)
        states.append(state)
    return states


def ref_loss(cell, p, xin, y, head, state0, truncate, frozen, size):
    steps = len(xin)
    seq = head.startswith("seq_")
    k = steps if truncate is None else truncate
    total = 0.0
    for s in (range(steps) if seq else [steps - 1]):
        start = s - k
        state, t0 = (state0, 0) if start <= 0 else (frozen[start - 1], start)
        for r in range(t0, s + 1):
            state = ref_step(cell, p, xin[r], state, size)
        total += ref_step_loss(p, state[0], y[s] if seq else y, head, steps)
    return total


def numerical_grads(p, loss_fn):
    grads = {}
    for name in NAMES:
        arr, g = p[name], np.zeros_like(p[name])
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + FD_EPS
            up = loss_fn(p)
            arr[idx] = orig - FD_EPS
            down = loss_fn(p)
            arr[idx] = orig
            g[idx] = (up - down) / (2 * FD_EPS)
        grads[name] = g
    return grads


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), TINY))


def assert_grads_match(num, ana, rtol=1e-6, atol=1e-8):
    flat_num = np.concatenate([num[k].ravel() for k in NAMES])
    flat_ana = np.concatenate([ana[k].ravel() for k in NAMES])
    assert rel_error(flat_num, flat_ana) < rtol, f"global relative error {rel_error(flat_num, flat_ana):.3g}"
    for name in NAMES:
        err, abs_err = rel_error(num[name], ana[name]), float(np.linalg.norm(num[name] - ana[name]))
        assert err < rtol or abs_err < atol, f"{name}: relative error {err:.3g}, absolute {abs_err:.3g}"


# ----------------------------------------------------------------------------- problems
def make_problem(cell, head, steps, batch, in_size, hidden, out_size, seed, tokens, nonzero_h0):
    """A float64 model with generic parameters (non-zero biases everywhere) and random data."""
    rng = np.random.default_rng(seed)
    model = CELL_CLASSES[cell](in_size, hidden, out_size, init="xavier", seed=seed)
    for name in ("b_xh", "b_hh", "b_y"):
        model.params[name][...] = rng.normal(0.0, 0.5, model.params[name].shape)
    model.params["W_hh"][...] += rng.normal(0.0, 0.3, model.params["W_hh"].shape)
    x = (rng.integers(0, in_size, size=(steps, batch)) if tokens
         else rng.normal(0.0, 1.0, size=(steps, batch, in_size)))
    lead = (steps, batch) if head.startswith("seq_") else (batch,)
    y = (rng.integers(0, out_size, size=lead) if head.endswith("softmax")
         else rng.normal(0.0, 1.0, size=(*lead, out_size)))
    h0 = rng.normal(0.0, 0.7, size=(batch, model.state_size)) if nonzero_h0 else None
    return model, x, y, h0


def _reference_setup(model, x, h0):
    p = {k: v.copy() for k, v in model.params.items()}
    xin = np.eye(model.input_size)[x] if np.issubdtype(x.dtype, np.integer) else x
    batch, size = x.shape[1], model.hidden_size
    full = np.zeros((batch, model.state_size)) if h0 is None else h0
    state0 = (full[:, :size], full[:, size:]) if model.cell == "lstm" else (full,)
    return p, xin, state0


def check_against_finite_differences(cell, head, shapes):
    shapes = dict(shapes)
    truncate = shapes.pop("truncate")
    model, x, y, h0 = make_problem(cell, head, **shapes)
    p, xin, state0 = _reference_setup(model, x, h0)
    size = model.hidden_size
    frozen = ref_states(cell, p, xin, state0, size)
    res = model.loss_and_grads(x, y, head=head, h0=h0, truncate=truncate)
    # The forward pass agrees with the reference (truncation never changes the loss).
    np.testing.assert_allclose(res.hidden, np.array([s[0] for s in frozen]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.h_last, np.concatenate(frozen[-1], axis=1), rtol=1e-12, atol=1e-12)
    assert res.loss == pytest.approx(ref_loss(cell, p, xin, y, head, state0, None, frozen, size),
                                     rel=1e-12, abs=1e-12)
    num = numerical_grads(p, lambda q: ref_loss(cell, q, xin, y, head, state0, truncate, frozen, size))
    assert_grads_match(num, res.grads)


@st.composite
def problem_shapes(draw):
    steps = draw(st.integers(1, 5))
    return {
        "steps": steps,
        "batch": draw(st.integers(1, 3)),
        "in_size": draw(st.integers(1, 3)),
        "hidden": draw(st.integers(1, 4)),
        "out_size": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "tokens": draw(st.booleans()),
        "nonzero_h0": draw(st.booleans()),
        "truncate": draw(st.one_of(st.none(), st.integers(0, steps + 2))),
    }


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@settings(max_examples=25, deadline=None, database=None)
@given(shapes=problem_shapes())
def test_gradients_match_finite_differences_on_random_shapes(cell, head, shapes):
    """BPTT gradients of every parameter equal central finite differences of the reference
    loss (relative error < 1e-6, float64) for every head, token and real-valued input, zero and
    non-zero initial state, and every truncation length (None, 0 .. T+2)."""
    check_against_finite_differences(cell, head, shapes)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("head", ["seq_softmax", "last_mse"])
def test_every_truncation_length_matches_its_reference(cell, head):
    """k in {0, 1, T-2} changes the gradient and matches the truncated reference; k >= T-1 is
    exactly full BPTT (the same gradients and norms)."""
    steps = 5
    shapes = {"steps": steps, "batch": 2, "in_size": 3, "hidden": 3, "out_size": 2, "seed": 7,
              "tokens": True, "nonzero_h0": True}
    model, x, y, h0 = make_problem(cell, head, **shapes)
    full = model.loss_and_grads(x, y, head=head, h0=h0)
    for k in (0, 1, steps - 2, steps - 1, steps + 3):
        if k < steps - 1:
            check_against_finite_differences(cell, head, {**shapes, "truncate": k})
        res = model.loss_and_grads(x, y, head=head, h0=h0, truncate=k)
        same = all(np.allclose(res.grads[n], full.grads[n], rtol=1e-13, atol=1e-15) for n in NAMES)
        assert same is (k >= steps - 1), k
        if k >= steps - 1:
            np.testing.assert_allclose(res.dh_norms, full.dh_norms, rtol=1e-13)


# ------------------------------------------------------------------------- state norms
def _fd_state_grad(cell, p, xin, y, head, state0, truncate, t, which, size):
    """Finite-difference dL/dh_t (which=0) or dL/dc_t (which=1): perturb that part of the state
    after step t and rerun the recurrence for the losses L_s, t <= s <= t+k, that reach it."""
    steps = len(xin)
    seq = head.startswith("seq_")
    frozen = ref_states(cell, p, xin, state0, size)
    k = steps if truncate is None else truncate
    sources = [s for s in (range(steps) if seq else [steps - 1]) if t <= s <= t + k]

    def loss_from(state_t):
        total = 0.0
        for s in sources:
            state = state_t
            for r in range(t + 1, s + 1):
                state = ref_step(cell, p, xin[r], state, size)
            total += ref_step_loss(p, state[0], y[s] if seq else y, head, steps)
        return total

    base = frozen[t]
    if which == 1:
        # h_t is a function of c_t: rebuild it from the perturbed c_t with the step's own o_t.
        h_prev = (state0 if t == 0 else frozen[t - 1])[0]
        o = _sig(xin[t] @ _blocks(p, "W_xh", 4, size)[3].T + _blocks(p, "b_xh", 4, size)[3]
                 + h_prev @ _blocks(p, "W_hh", 4, size)[3].T + _blocks(p, "b_hh", 4, size)[3])

        def state_from(c_t):
            return (o * np.tanh(c_t), c_t)
    else:
        def state_from(h_t):
            return (h_t, *base[1:])

    grad = np.zeros_like(base[which])
    for idx in np.ndindex(grad.shape):
        up, down = base[which].copy(), base[which].copy()
        up[idx] += FD_EPS
        down[idx] -= FD_EPS
        grad[idx] = (loss_from(state_from(up)) - loss_from(state_from(down))) / (2 * FD_EPS)
    return grad


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize(("head", "truncate"), [("seq_mse", None), ("last_softmax", None),
                                                ("seq_softmax", 1), ("last_mse", 2)])
def test_dh_and_dc_norms_are_norms_of_true_gradients(cell, head, truncate):
    """dh_norms[t] = ‖dL/dh_t‖ and, for the LSTM, dc_norms[t] = ‖dL/dc_t‖ (the total gradient
    on c_t, through h_t and c_{t+1}), checked at every t by perturbing the state (also when
    truncated); the GRU has no dc_norms."""
    model, x, y, h0 = make_problem(cell, head, 5, 2, 3, 3, 2, seed=31, tokens=False, nonzero_h0=True)
    p, xin, state0 = _reference_setup(model, x, h0)
    res = model.loss_and_grads(x, y, head=head, h0=h0, truncate=truncate)
    for t in range(5):
        g = _fd_state_grad(cell, p, xin, y, head, state0, truncate, t, 0, 3)
        assert res.dh_norms[t] == pytest.approx(np.linalg.norm(g), rel=1e-6, abs=1e-10), t
        if cell == "lstm":
            e = _fd_state_grad(cell, p, xin, y, head, state0, truncate, t, 1, 3)
            assert res.dc_norms[t] == pytest.approx(np.linalg.norm(e), rel=1e-6, abs=1e-10), t
    if cell == "gru":
        assert res.dc_norms is None


def test_cell_state_error_is_carried_by_the_forget_gate():
    """The constant error carousel, eq. (L4): with the forget gate saturated open (f = 1), the
    output gate shut (o = 0, so h_t = 0 and nothing else reaches c) and a last_* head, e_t is
    the same at every step; with the forget gate shut it is 0 before the last step."""
    steps = 6
    model = LSTM(2, 3, 2, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, 1, 2))
    y = rng.normal(size=(1, 2))
    model.params["W_hh"][...] = 0.0
    model.params["W_xh"][...] = 0.0
    model.gate_block("b_xh", "o")[...] = -800.0  # o = σ(-800) = 0 in float64
    model.gate_block("b_xh", "f")[...] = 800.0
    h0 = np.concatenate([np.zeros((1, 3)), np.ones((1, 3))], axis=1)
    # o = 0 gives h = 0 and no error on c at all; open o on the last step only via the input.
    model.gate_block("W_xh", "o")[:, 0] = 1600.0
    x[:, :, 0] = 0.0
    x[-1, :, 0] = 1.0
    res = model.loss_and_grads(x, y, head="last_mse", h0=h0)
    assert res.dc_norms[-1] > 0
    np.testing.assert_allclose(res.dc_norms, res.dc_norms[-1], rtol=1e-12)
    model.gate_block("b_xh", "f")[...] = -800.0
    shut = model.loss_and_grads(x, y, head="last_mse", h0=h0)
    assert shut.dc_norms[-1] > 0
    assert np.all(shut.dc_norms[:-1] == 0.0)


# ------------------------------------------------------------------------ the interface
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_layout_matches_pytorch_and_params_are_views(cell):
    """Stacked gate blocks of H rows (PyTorch's weight_ih_l0/weight_hh_l0 shapes), separate
    input and recurrent biases, every parameter a view of one flat buffer, gradients likewise."""
    gates = 4 if cell == "lstm" else 3
    model = make_model(cell, 5, 4, 3, seed=1)
    shapes = {"W_xh": (gates * 4, 5), "W_hh": (gates * 4, 4), "W_hy": (3, 4), "b_xh": (gates * 4,),
              "b_hh": (gates * 4,), "b_y": (3,)}
    assert {k: v.shape for k, v in model.params.items()} == shapes
    assert model.num_params() == model.flat_params.size
    np.testing.assert_array_equal(model.flat_params,
                                  np.concatenate([model.params[n].ravel() for n in NAMES]))
    model.params["W_hh"] = np.full((gates * 4, 4), 0.5)
    assert np.all(model.flat_params[gates * 4 * 5:gates * 4 * 9] == 0.5)
    res = model.loss_and_grads(np.array([[1, 2], [3, 4]]), np.array([[0, 1], [2, 0]]))
    for name in NAMES:
        assert np.shares_memory(res.grads[name], res.flat_grads), name


def test_forget_bias_starts_the_forget_gate_block_and_is_settable():
    """The LSTM's forget gate's block of b_xh starts at forget_bias (1.0 unless set); every other
    bias starts at zero, and the weights are drawn as without it."""
    default = LSTM(3, 4, 2, seed=0)
    np.testing.assert_array_equal(default.params["b_xh"], [0, 0, 0, 0, 1, 1, 1, 1] + [0] * 8)
    assert not default.params["b_hh"].any() and not default.params["b_y"].any()
    custom = LSTM(3, 4, 2, seed=0, forget_bias=2.5)
    np.testing.assert_array_equal(custom.gate_block("b_xh", "f"), 2.5)
    np.testing.assert_array_equal(custom.params["W_hh"], default.params["W_hh"])
    with pytest.raises(ValueError, match="forget_bias"):
        LSTM(3, 4, 2, forget_bias=float("nan"))


def test_forget_bias_starts_the_grus_update_gate_block():
    """The GRU keeps z ⊙ h_{t-1} (G3), so its update gate z takes forget_bias, in b_xh only (z's
    pre-activation sums b_xz and b_hz, so the split does not matter; n's does, and stays zero)."""
    default = GRU(3, 4, 2, seed=0)
    np.testing.assert_array_equal(default.params["b_xh"], [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0])
    assert not default.params["b_hh"].any() and not default.params["b_y"].any()
    custom = make_model("gru", 3, 4, 2, seed=0, forget_bias=3.0)
    np.testing.assert_array_equal(custom.gate_block("b_xh", "z"), 3.0)
    for name in ("W_xh", "W_hh", "W_hy"):
        np.testing.assert_array_equal(custom.params[name], default.params[name])
    zero = GRU(3, 4, 2, seed=0, forget_bias=0.0)
    assert not zero.params["b_xh"].any()
    with pytest.raises(ValueError, match="forget_bias"):
        GRU(3, 4, 2, forget_bias=float("inf"))


@pytest.mark.parametrize("forget_bias", [0.0, 3.0])
def test_forget_bias_keeps_the_grus_state(forget_bias):
    """What the bias is for: with zero weights and inputs, n_t = 0 and h_t = z_t ⊙ h_{t-1} with
    z_t = σ(forget_bias), so after 40 steps σ(forget_bias)^40 of h_0 is left."""
    model = GRU(2, 3, 2, seed=0, forget_bias=forget_bias)
    for name in ("W_xh", "W_hh"):
        model.params[name] = np.zeros_like(model.params[name])
    h0 = np.array([[1.0, -0.5, 0.25]])
    h40 = model.final_state(np.zeros((40, 1, 2)), h0)
    kept = (1.0 / (1.0 + np.exp(-forget_bias))) ** 40
    np.testing.assert_allclose(h40, h0 * kept, rtol=1e-12)


def test_init_gated_params_puts_the_forget_bias_in_one_gate_block_of_b_xh():
    from rnnviz.core.init import init_gated_params

    plain = init_gated_params(3, 5, 2, 3, "uniform", np.random.default_rng(4))
    biased = init_gated_params(3, 5, 2, 3, "uniform", np.random.default_rng(4),
                               forget_gate=1, forget_bias=2.0)
    np.testing.assert_array_equal(biased["b_xh"], [0.0] * 5 + [2.0] * 5 + [0.0] * 5)
    assert not plain["b_xh"].any() and not biased["b_hh"].any()
    for name in ("W_xh", "W_hh", "W_hy"):
        np.testing.assert_array_equal(biased[name], plain[name])
    with pytest.raises(ValueError, match="forget_gate"):
        init_gated_params(3, 5, 2, 3, "uniform", np.random.default_rng(4), forget_gate=3, forget_bias=2.0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("init", ["orthogonal", "identity", "xavier"])
def test_inits_apply_per_gate_block(cell, init):
    """Each gate's H×H recurrent block is initialised as the vanilla W_hh would be, and
    spectral_radius rescales every block to that radius."""
    model = make_model(cell, 3, 5, 2, init=init, spectral_radius=0.9, seed=3)
    for gate in model.gates:
        block = model.gate_block("W_hh", gate)
        assert np.max(np.abs(np.linalg.eigvals(block))) == pytest.approx(0.9, rel=1e-10)
        if init == "identity":
            np.testing.assert_allclose(block, 0.9 * np.eye(5), rtol=1e-15)
        if init == "orthogonal":
            np.testing.assert_allclose(block @ block.T, 0.81 * np.eye(5), atol=1e-12)
    assert model.recurrent_matrix.shape == (5, 5)
    assert np.shares_memory(model.recurrent_matrix, model.params["W_hh"])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_is_carried_whole_across_chunks(cell):
    """Running a sequence in two chunks, passing h_last as h0, gives the same hidden states
    and the same final state as one run; step() and final_state() agree with forward()."""
    model = make_model(cell, 4, 3, 4, seed=2)
    x = np.random.default_rng(0).integers(0, 4, size=(7, 2))
    y = np.zeros((7, 2), dtype=np.int64)
    whole = model.loss_and_grads(x, y)
    first = model.loss_and_grads(x[:3], y[:3])
    second = model.loss_and_grads(x[3:], y[3:], h0=first.h_last)
    assert whole.h_last.shape == (2, model.state_size)
    np.testing.assert_allclose(second.hidden, whole.hidden[3:], rtol=1e-13)
    np.testing.assert_allclose(second.h_last, whole.h_last, rtol=1e-13)
    state = None
    for t in range(7):
        state = model.step(x[t], state)
        np.testing.assert_allclose(model.hidden_of(state), whole.hidden[t], rtol=1e-13)
    np.testing.assert_allclose(state, model.final_state(x), rtol=1e-13)
    with pytest.raises(ValueError, match="h0 must have shape"):
        model.forward(x, np.zeros((2, 3 * model.hidden_size)))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sampling_and_predict_share_the_vanilla_interface(cell):
    """sample() primes with every id and is deterministic for a seeded generator; its first
    greedy token is the argmax of the output after the prime; predict() returns outputs."""
    model = make_model(cell, 6, 5, 6, seed=4)
    prime = [1, 2, 3]
    first = next(model.sample(prime, 1, temperature=0.0))
    logits, hidden = model.predict(np.array(prime)[:, None])
    assert first == int(np.argmax(logits[-1, 0]))
    a = list(model.sample(prime, 20, rng=np.random.default_rng(5)))
    b = list(model.sample(prime, 20, rng=np.random.default_rng(5)))
    assert a == b and all(0 <= t < 6 for t in a)
    assert hidden.shape == (3, 1, 5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bad_arguments_get_one_clear_sentence(cell):
    with pytest.raises(ValueError, match="applies to the vanilla RNN only"):
        make_model(cell, 3, 4, 2, activation="relu")
    model = make_model(cell, 3, 4, 2)
    with pytest.raises(ValueError, match="token ids must lie"):
        model.loss_and_grads(np.array([[5]]), np.array([[0]]))
    with pytest.raises(ValueError, match="unknown head"):
        model.loss_and_grads(np.array([[1]]), np.array([[0]]), head="seq_hinge")
    with pytest.raises(ValueError, match="has no gate"):
        model.gate_block("W_hh", "q")
    with pytest.raises(ValueError, match="unknown cell"):
        make_model("transformer", 3, 4, 2)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize(("tokens", "truncate"), [(True, None), (False, 2)])
def test_float32_gradients_agree_with_float64(cell, tokens, truncate):
    """The float32 path computes the float64 gradients to ~1e-4 and stays in float32."""
    model64, x, y, h0 = make_problem(cell, "seq_softmax", 6, 3, 4, 6, 3, seed=17, tokens=tokens,
                                     nonzero_h0=True)
    model32 = make_model(cell, 4, 6, 3, dtype="float32")
    model32.set_params(model64.params)
    model64.set_params({k: v.astype(np.float64) for k, v in model32.params.items()})
    x32 = x if tokens else x.astype(np.float32)
    res32 = model32.loss_and_grads(x32, y, h0=h0.astype(np.float32), truncate=truncate)
    res64 = model64.loss_and_grads(x32.astype(x.dtype), y, h0=h0.astype(np.float32).astype(np.float64),
                                   truncate=truncate)
    for name in NAMES:
        assert res32.grads[name].dtype == np.float32
        assert rel_error(res32.grads[name].astype(np.float64), res64.grads[name]) < 1e-4, name
    assert res32.hidden.dtype == np.float32 and res32.h_last.dtype == np.float32
    np.testing.assert_allclose(res32.dh_norms, res64.dh_norms, rtol=1e-4, atol=1e-7)


def test_vanilla_rnn_has_no_cell_state_norms():
    res = RNN(3, 4, 3).loss_and_grads(np.array([[1], [2]]), np.array([[0], [1]]))
    assert res.dc_norms is None


# ----------------------------------------------------------------- trainer and checkpoints
def _trainer_config(cell, task="charlm"):
    from rnnviz.training import TrainConfig

    return TrainConfig(task=task, cell=cell, hidden=8, seq_len=10, batch=4, eval_every=5)


@pytest.mark.parametrize("task", ["charlm", "sentiment"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_trainer_builds_the_cell_and_resumes_it_exactly(cell, task, tmp_path):
    """cell = lstm | gru builds that model (forget bias from the config); a checkpoint records
    the cell, and resuming it continues bit for bit, carried (h, c) state included."""
    from rnnviz.core import load_checkpoint
    from rnnviz.training import Trainer

    cfg = _trainer_config(cell, task).replace(forget_bias=2.0, seed=3)
    straight = Trainer(cfg)
    assert straight.model.cell == cell
    np.testing.assert_array_equal(straight.model.gate_block("b_xh", "f" if cell == "lstm" else "z"), 2.0)
    expected = [straight.step().loss for _ in range(12)]
    first = Trainer(cfg)
    assert [first.step().loss for _ in range(6)] == expected[:6]
    path = first.save(tmp_path / "run.npz")
    assert load_checkpoint(path)[1]["cell"] == cell
    resumed = Trainer.from_checkpoint(path)
    assert [resumed.step().loss for _ in range(6)] == expected[6:]
    for name in NAMES:
        np.testing.assert_array_equal(resumed.model.params[name], straight.model.params[name])
    assert np.isfinite(expected).all()


def test_lstm_checkpoint_into_a_gru_run_is_refused_in_one_sentence(tmp_path):
    from rnnviz.core import CheckpointError
    from rnnviz.training import ConfigError, Trainer

    trainer = Trainer(_trainer_config("lstm"))
    trainer.step()
    path = trainer.save(tmp_path / "lstm.npz")
    with pytest.raises(CheckpointError, match=r"holds the weights of an LSTM, but this run builds a GRU; "
                                              r"set the cell to lstm to load it"):
        Trainer.from_checkpoint(path, config=_trainer_config("gru"))
    with pytest.raises(CheckpointError, match="an LSTM, but this run builds a vanilla RNN"):
        Trainer.from_checkpoint(path, config=_trainer_config("rnn"))
    with pytest.raises(ConfigError, match="cell cannot change when resuming"):
        Trainer.from_checkpoint(path, changes={"cell": "gru"})


def test_checkpoints_without_a_cell_hold_a_vanilla_rnn(tmp_path):
    """Files written before the gated cells record no cell: they load as the vanilla RNN."""
    from rnnviz.core import load_checkpoint, save_checkpoint
    from rnnviz.training import Trainer, load_model

    trainer = Trainer(_trainer_config("rnn"))
    trainer.step()
    arrays, meta = trainer.state()
    del meta["cell"], meta["config"]["cell"], meta["config"]["forget_bias"]
    path = save_checkpoint(tmp_path / "old.npz", arrays, meta)
    assert "cell" not in load_checkpoint(path)[1]
    assert Trainer.from_checkpoint(path).model.cell == "rnn"
    assert type(load_model(path)[0]) is RNN


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_load_model_rebuilds_the_cell_for_sampling(cell, tmp_path):
    from rnnviz.training import Trainer, load_model, sample_text

    trainer = Trainer(_trainer_config(cell))
    trainer.step()
    model, vocab, _ = load_model(trainer.save(tmp_path / "m.npz"))
    assert type(model) is type(trainer.model)
    np.testing.assert_array_equal(model.flat_params, trainer.model.flat_params)
    text = "".join(sample_text(model, vocab, vocab.tokens[0], 10, rng=np.random.default_rng(0)))
    assert len(text) == 10


def test_config_refuses_a_vanilla_activation_for_gated_cells():
    from rnnviz.training import ConfigError

    with pytest.raises(ConfigError, match="activation relu applies to the vanilla RNN only"):
        _trainer_config("lstm").replace(activation="relu")
    assert _trainer_config("rnn").replace(activation="relu").activation == "relu"
