"""Verify the engine's backpropagation yourself with central finite differences (float64).

What it teaches: how to check any gradient code. For every parameter element θ_i,
(L(θ + ε e_i) - L(θ - ε e_i)) / 2ε approximates ∂L/∂θ_i with an error of O(ε²); compare
that with the analytic gradient from ``RNN.loss_and_grads`` by the relative error
‖num - ana‖ / (‖num‖ + ‖ana‖). In float64 a correct BPTT gives ~1e-9 or less; the classic bug
(W_hh instead of W_hhᵀ in the backward pass, which still "trains" on easy data) gives
errors of 0.3-0.5 on W_xh, W_hh and b_h for this very model. The model is tiny so that
every element can be checked; the script exits with status 1 if any error exceeds 1e-6.

Run:  PYTHONPATH=. python examples/gradient_check.py
"""

from __future__ import annotations

import sys

import numpy as np

from rnnviz.core import PARAM_NAMES, RNN

EPS = 1e-5


def relative_error(num: np.ndarray, ana: np.ndarray) -> float:
    return float(np.linalg.norm(num - ana) / max(np.linalg.norm(num) + np.linalg.norm(ana), 1e-300))


def check(head: str, x: np.ndarray, y: np.ndarray, h0: np.ndarray, model: RNN) -> float:
    analytic = model.loss_and_grads(x, y, head=head, h0=h0).grads
    worst = 0.0
    for name in PARAM_NAMES:
        param, numeric = model.params[name], np.zeros_like(model.params[name])
        for idx in np.ndindex(param.shape):  # perturb in place, one element at a time
            saved = param[idx]
            param[idx] = saved + EPS
            up = model.loss_and_grads(x, y, head=head, h0=h0).loss
            param[idx] = saved - EPS
            down = model.loss_and_grads(x, y, head=head, h0=h0).loss
            param[idx] = saved
            numeric[idx] = (up - down) / (2 * EPS)
        err = relative_error(numeric, analytic[name])
        worst = max(worst, err)
        print(f"  {head:<12} {name:<5} {param.size:4d} elements  relative error {err:.2e}")
    return worst


def main() -> None:
    rng = np.random.default_rng(0)
    vocab, hidden, steps, batch = 5, 4, 6, 3
    model = RNN(vocab, hidden, vocab, activation="tanh", init="xavier", seed=0, dtype="float64")
    model.params["b_h"] += rng.normal(0, 0.5, hidden)  # non-zero biases: no lucky cancellations
    model.params["b_y"] += rng.normal(0, 0.5, vocab)
    x = rng.integers(0, vocab, size=(steps, batch))
    h0 = rng.normal(0, 0.5, size=(batch, hidden))  # a carried-over state, as in stateful training
    worst = max(check("seq_softmax", x, rng.integers(0, vocab, size=(steps, batch)), h0, model),
                check("last_softmax", x, rng.integers(0, vocab, size=batch), h0, model))
    print(f"worst relative error: {worst:.2e} ({'OK' if worst < 1e-6 else 'MISMATCH'}, threshold 1e-6)")
    sys.exit(0 if worst < 1e-6 else 1)


if __name__ == "__main__":
    main()
