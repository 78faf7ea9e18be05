"""Gradient flow through time for two RNNs that differ only in W_hh's spectral radius.

What it teaches: going back through time, BPTT multiplies the gradient by
W_hhᵀ diag(f'(a_t)) once per step (eq. (4) in ``rnnviz/core/rnn.py``), so ‖∂L/∂h_t‖
shrinks or grows geometrically with the distance from the loss. Pascanu, Mikolov & Bengio
(2013): with tanh (|f'| ≤ 1), a largest singular value σ_max(W_hh) < 1 is *sufficient* for
the gradient to vanish; a spectral radius ρ(W_hh) > 1 is *necessary* for it to explode, but
not sufficient: here ρ = 1.5 grows only ~1.1x per step, because the forward states saturate
and tanh' < 1 eats most of the 1.5. (Set ACTIVATION = "relu" to see a gain that depends on
the seed and is sometimes below 1, with about half the units passing no gradient at all.)

Both models: tanh, orthogonal W_hh rescaled to ρ = 0.5 or 1.5 (so σ_max = ρ), the same seed,
the same random batch of T = 30 tokens, a many-to-one head (``last_softmax``): the loss
sees only h_{T-1}, and the table shows how much of its gradient reaches each earlier h_t.

Run:  PYTHONPATH=. python examples/vanishing_vs_exploding.py
"""

from __future__ import annotations

import numpy as np

from rnnviz.core import RNN, spectrum

VOCAB, HIDDEN, STEPS, BATCH = 20, 100, 30, 32
ACTIVATION, RADII = "tanh", (0.5, 1.5)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(STEPS, BATCH))  # (T, B) token ids
    y = rng.integers(0, VOCAB, size=BATCH)  # one class per sequence
    norms = {}
    for radius in RADII:
        model = RNN(VOCAB, HIDDEN, VOCAB, activation=ACTIVATION, init="orthogonal",
                    spectral_radius=radius, seed=0, dtype="float64")
        spec = spectrum(model.params["W_hh"])
        print(f"model rho={radius}: spectral radius {spec.spectral_radius:.3f}, "
              f"largest singular value {spec.largest_singular_value:.3f}")
        norms[radius] = model.loss_and_grads(x, y, head="last_softmax").dh_norms
    print(f"\n{'t':>3}  " + "  ".join(f"|dL/dh_t| rho={r:<4}" for r in RADII))
    for t in range(STEPS):
        print(f"{t:3d}  " + "  ".join(f"{norms[r][t]:>18.3e}" for r in RADII))
    for r in RADII:
        ratio = norms[r][0] / norms[r][-1]
        kind = "vanishing" if ratio < 1 else "exploding"
        print(f"rho={r}: |dL/dh_0| / |dL/dh_{STEPS - 1}| = {ratio:.3e} "
              f"({kind}, x{ratio ** (1 / (STEPS - 1)):.2f} per step back)")


if __name__ == "__main__":
    main()
