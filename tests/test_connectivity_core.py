"""Connectivity M[t, s] = ‖∂ s_t / ∂ e_s‖ checked against central finite differences in float64.

The differences run through the cells' own forward passes (rnn.py, gated.py), not through
the backward loops under test. For token inputs e_s is the input's column of W_xh at one
position only; it is perturbed through an equivalent model that reads e_s as a real-valued
input (W_xh = identity), so other positions holding the same token stay as they were.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import make_model
from rnnviz.core.connectivity import by_distance_matrix, connectivity, distance_profile, text_connectivity
from rnnviz.core.heads import softmax
from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import UnknownTokensError, Vocabulary

CELLS = ("rnn", "lstm", "gru")
STEPS, HIDDEN, VOCAB = 6, 4, 5
EPS = 1e-6


def small_model(cell: str, input_size: int = VOCAB, output_size: int = VOCAB, activation: str = "tanh",
                seed: int = 3) -> RNN:
    model = make_model(cell, input_size, HIDDEN, output_size, activation=activation, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for name, value in model.params.items():  # larger weights than the default init: nonlinear regime
        model.params[name] = value + rng.normal(0.0, 0.4, value.shape)
    return model


def embedded_twin(model: RNN) -> RNN:
    """The same cell reading e_s = W_xh[:, x_s] as a real-valued input through W_xh = I."""
    width = model.params["W_xh"].shape[0]
    twin = make_model(model.cell, width, model.hidden_size, model.output_size,
                      activation=model.activation, seed=0)
    for name, value in model.params.items():
        twin.params[name] = np.eye(width) if name == "W_xh" else value
    return twin


def scores(model: RNN, inputs: np.ndarray, h0: np.ndarray | None, head: str,
           targets: np.ndarray | int | None) -> np.ndarray:
    """(T, C) what is scored at each timestep: log p(y_t) (C = 1), or the outputs (C = O)."""
    start = None if h0 is None else h0[None]
    hidden = model.forward(inputs[:, None, :], start)[:, 0]
    outputs = model.output(hidden)
    if head.endswith("softmax"):
        labels = np.broadcast_to(np.asarray(targets), (hidden.shape[0],))
        log_p = np.log(softmax(outputs))
        return log_p[np.arange(hidden.shape[0]), labels][:, None]
    return outputs


def finite_difference_matrix(model: RNN, inputs: np.ndarray, h0: np.ndarray | None, head: str,
                             targets) -> tuple[np.ndarray, np.ndarray]:
    """(norms (T, T) of ∂s_t/∂input_s for every t and s, the largest |derivative| above the diagonal)."""
    steps, width = inputs.shape
    jac = np.zeros((steps, scores(model, inputs, h0, head, targets).shape[1], steps, width))
    for s in range(steps):
        for i in range(width):
            up, down = inputs.copy(), inputs.copy()
            up[s, i] += EPS
            down[s, i] -= EPS
            jac[:, :, s, i] = (scores(model, up, h0, head, targets)
                               - scores(model, down, h0, head, targets)) / (2 * EPS)
    norms = np.sqrt(np.einsum("tcsi,tcsi->ts", jac, jac))
    above = max((float(np.abs(jac[t, :, s]).max()) for t in range(steps) for s in range(t + 1, steps)),
                default=0.0)
    return norms, above


def assert_close(analytic: np.ndarray, numeric: np.ndarray, rows: list[int]) -> None:
    for t in rows:
        got, want = analytic[t, :t + 1], numeric[t, :t + 1]
        scale = np.maximum(np.abs(want), 1e-3 * np.abs(want).max())
        assert np.all(np.abs(got - want) / scale < 1e-6), (t, got, want)


@pytest.mark.parametrize("cell", CELLS)
def test_token_connectivity_matches_finite_differences(cell: str) -> None:
    model = small_model(cell)
    rng = np.random.default_rng(7)
    x = rng.integers(0, VOCAB, STEPS)
    x[4] = x[1]  # a repeated token: only the one position may be perturbed
    y = rng.integers(0, VOCAB, STEPS)
    h0 = rng.normal(0.0, 0.5, model.state_size)
    matrix = connectivity(model, x, h0, y, head="seq_softmax")

    embedded = model.params["W_xh"].T[x]  # (T, GH): e_s at every position
    numeric, above = finite_difference_matrix(embedded_twin(model), embedded, h0, "seq_softmax", y)
    assert_close(matrix, numeric, list(range(STEPS)))
    # Causality: a later input leaves an earlier output exactly as it was, and the matrix
    # says nothing there.
    assert above == 0.0
    assert np.isnan(matrix[np.triu_indices(STEPS, 1)]).all()
    assert np.isfinite(matrix[np.tril_indices(STEPS)]).all() and (matrix[np.tril_indices(STEPS)] > 0).all()


@pytest.mark.parametrize("cell", CELLS)
def test_real_valued_connectivity_is_the_jacobian_of_the_prediction(cell: str) -> None:
    """The MSE heads score the prediction itself; with two inputs and two outputs M is the
    Frobenius norm of the 2×2 Jacobian ∂o_t/∂x_s."""
    model = small_model(cell, input_size=2, output_size=2)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(STEPS, 2))
    matrix = connectivity(model, x, None, None, head="seq_mse")
    numeric, above = finite_difference_matrix(model, x, None, "seq_mse", None)
    assert_close(matrix, numeric, list(range(STEPS)))
    assert above == 0.0


@pytest.mark.parametrize("cell", CELLS)
def test_a_last_step_head_scores_only_the_last_row(cell: str) -> None:
    model = small_model(cell, output_size=3)
    rng = np.random.default_rng(9)
    x = rng.integers(0, VOCAB, STEPS)
    matrix = connectivity(model, x, None, 2, head="last_softmax")
    assert np.isnan(matrix[:-1]).all()
    numeric, _ = finite_difference_matrix(embedded_twin(model), model.params["W_xh"].T[x], None,
                                          "last_softmax", 2)
    assert_close(matrix, numeric, [STEPS - 1])


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_other_activations_of_the_vanilla_cell(activation: str) -> None:
    model = small_model("rnn", activation=activation)
    rng = np.random.default_rng(10)
    x, y = rng.integers(0, VOCAB, STEPS), rng.integers(0, VOCAB, STEPS)
    matrix = connectivity(model, x, None, y)
    numeric, _ = finite_difference_matrix(embedded_twin(model), model.params["W_xh"].T[x], None,
                                          "seq_softmax", y)
    assert_close(matrix, numeric, list(range(STEPS)))


def test_a_float32_model_gives_the_float64_answer_of_its_weights() -> None:
    model64 = small_model("lstm")
    model32 = make_model("lstm", VOCAB, HIDDEN, VOCAB, dtype="float32", seed=0)
    model32.set_params({k: v.astype(np.float32) for k, v in model64.params.items()})
    model64.set_params({k: v.astype(np.float32).astype(np.float64) for k, v in model64.params.items()})
    rng = np.random.default_rng(11)
    x, y = rng.integers(0, VOCAB, STEPS), rng.integers(0, VOCAB, STEPS)
    m32, m64 = connectivity(model32, x, None, y), connectivity(model64, x, None, y)
    assert m32.dtype == np.float64
    assert np.allclose(m32, m64, rtol=1e-4, equal_nan=True)


def test_bad_input_is_one_clear_sentence() -> None:
    model = small_model("rnn")
    with pytest.raises(ValueError, match="one non-empty sequence"):
        connectivity(model, np.zeros((3, 2), dtype=np.int64), None, np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="needs the targets"):
        connectivity(model, np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="targets must lie"):
        connectivity(model, np.zeros(3, dtype=np.int64), None, np.full(3, VOCAB))
    with pytest.raises(ValueError, match="unknown head"):
        connectivity(model, np.zeros(3, dtype=np.int64), None, None, head="nope")


def test_distance_view_and_profile() -> None:
    matrix = np.array([[1.0, np.nan, np.nan],
                       [0.5, 2.0, np.nan],
                       [0.1, 0.2, 4.0]])
    by_k = by_distance_matrix(matrix)
    assert np.array_equal(by_k, np.array([[1.0, np.nan, np.nan], [2.0, 0.5, np.nan], [4.0, 0.2, 0.1]]),
                          equal_nan=True)
    assert np.allclose(distance_profile(matrix), [2.0, 0.35, 0.1])


def test_typed_text_is_scored_on_the_token_that_follows() -> None:
    vocab = Vocabulary(list("abcde"))
    model = small_model("gru")
    found = text_connectivity(model, vocab, "abcad", step=7)
    ids = vocab.encode("abcad")
    assert found.step == 7 and found.tokens == tuple("abca") and found.targets == tuple("bcad")
    assert np.array_equal(found.matrix, connectivity(model, ids[:-1], None, ids[1:]), equal_nan=True)
    with pytest.raises(UnknownTokensError, match="'z'"):
        text_connectivity(model, vocab, "abz", step=7)
    with pytest.raises(ValueError, match="at least two"):
        text_connectivity(model, vocab, "a", step=7)


def test_typed_text_for_a_line_model_reads_the_markers_and_unknown_words() -> None:
    vocab = Vocabulary(["<s>", "</s>", "good", "i", "<unk>"], kind="word")
    model = small_model("lstm")
    found = text_connectivity(model, vocab, "  Good zebra ", step=1)
    assert found.tokens == ("<s>", "good", "<unk>") and found.targets == ("good", "<unk>", "</s>")
    expected = connectivity(model, np.array([0, 2, 4]), None, np.array([2, 4, 1]))
    assert np.array_equal(found.matrix, expected, equal_nan=True)
