"""The gated cells' recurrent Jacobians (rnnviz/core/diagnostics.py) against finite differences,
and the gate trace against the cells' own forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.diagnostics import (
    gate_trace,
    jacobian_spectrum,
    mean_recurrent_jacobian,
    recurrent_jacobians,
    spectrum,
)
from rnnviz.core.gated import make_model

HIDDEN, VOCAB = 5, 7


def _model(cell: str, seed: int = 3):
    """A float64 cell with weights and biases large enough that no gate sits at 0.5."""
    model = make_model(cell, VOCAB, HIDDEN, VOCAB, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed)
    for value in model.params.values():
        value[...] = rng.normal(0.0, 0.7, value.shape)
    return model


def _sequence(model, steps: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, steps)
    state0 = rng.normal(0.0, 0.8, model.state_size)
    return tokens, state0


def _trace(model, tokens: np.ndarray, state0: np.ndarray):
    hidden = model.forward(tokens[:, None], state0[None])[:, 0]
    return gate_trace(model, tokens, state0, hidden)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_each_steps_jacobian_matches_central_differences_of_one_cell_step(cell: str) -> None:
    model = _model(cell)
    tokens, state0 = _sequence(model, steps=6)
    jacobians = recurrent_jacobians(model, _trace(model, tokens, state0))
    size = model.state_size
    assert jacobians.shape == (6, size, size)
    states = np.concatenate([state0[None], np.stack([model.final_state(tokens[:t + 1, None], state0[None])[0]
                                                     for t in range(6)])])
    eps = 1e-6
    for t in range(6):
        numeric = np.empty((size, size))
        for j in range(size):
            bump = np.zeros(size)
            bump[j] = eps
            up = model.step(tokens[t:t + 1], (states[t] + bump)[None])[0]
            down = model.step(tokens[t:t + 1], (states[t] - bump)[None])[0]
            numeric[:, j] = (up - down) / (2 * eps)
        error = np.linalg.norm(jacobians[t] - numeric) / np.linalg.norm(numeric)
        assert error < 1e-6, (cell, t, error)
    if cell == "lstm":  # the carousel: ∂c_t/∂c_{t-1} is diag(f_t) exactly
        trace = _trace(model, tokens, state0)
        forget = trace.gate("f", model.gates)
        np.testing.assert_allclose(jacobians[:, HIDDEN:, HIDDEN:], [np.diag(f) for f in forget], atol=1e-15)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_mean_jacobian_is_the_mean_of_the_steps_and_its_spectrum(cell: str) -> None:
    model = _model(cell, seed=8)
    tokens, state0 = _sequence(model, steps=9, seed=2)
    trace = _trace(model, tokens, state0)
    mean = mean_recurrent_jacobian(model, trace)
    np.testing.assert_allclose(mean, recurrent_jacobians(model, trace).mean(axis=0), rtol=1e-12, atol=1e-14)
    got, want = jacobian_spectrum(model, trace), spectrum(mean)
    assert got.spectral_radius == pytest.approx(want.spectral_radius, rel=1e-12)
    assert got.largest_singular_value == pytest.approx(np.linalg.norm(mean, 2), rel=1e-12)
    assert got.largest_singular_value >= got.spectral_radius - 1e-12


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_trace_has_the_forward_passs_own_gates(cell: str) -> None:
    """Recomputed from h_{t-1} without a second pass, the gates equal those ``_run`` made."""
    model = _model(cell, seed=5)
    tokens, state0 = _sequence(model, steps=7, seed=6)
    run = model._run(tokens[:, None], state0[None])
    trace = gate_trace(model, tokens, state0, run["h"][1:, 0])
    np.testing.assert_allclose(trace.gates, run["gates"][:, 0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trace.h_prev, run["h"][:-1, 0], rtol=0, atol=0)
    if cell == "lstm":
        np.testing.assert_allclose(trace.c, run["c"][1:, 0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(trace.c_prev[0], state0[HIDDEN:], rtol=0, atol=0)
    else:
        np.testing.assert_allclose(trace.v_n, run["v_n"][:, 0], rtol=1e-12, atol=1e-14)
    # The first steps of a longer (padded) input: only as many as there are hidden states.
    short = gate_trace(model, np.concatenate([tokens, tokens]), state0, run["h"][1:4, 0])
    np.testing.assert_allclose(short.gates, run["gates"][:3, 0], rtol=1e-12, atol=1e-14)


def test_real_valued_input_and_zero_start_state() -> None:
    model = make_model("gru", 2, HIDDEN, 1, seed=1, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 2))
    run = model._run(x[:, None, :], None)
    trace = gate_trace(model, x, None, run["h"][1:, 0])
    np.testing.assert_allclose(trace.gates, run["gates"][:, 0], rtol=1e-12, atol=1e-14)


def test_a_vanilla_cell_has_no_gates_to_trace() -> None:
    model = make_model("rnn", VOCAB, HIDDEN, VOCAB)
    with pytest.raises(ValueError, match="has no gates"):
        gate_trace(model, np.zeros(3, dtype=int), None, np.zeros((3, HIDDEN)))
