"""Cheap per-step diagnostics, the costlier spectrum of W_hh, and what a gated cell did.

Pascanu, Mikolov & Bengio (2013): with tanh, a largest singular value of W_hh below 1 is
*sufficient* for gradients to vanish; a spectral radius above 1 is *necessary* for them to
explode. Both numbers are reported, each under its own name.

In a gated cell the gates multiply the recurrent path, so W_hh alone no longer decides how a
gradient grows from step to step: the recurrent Jacobian J_t = ∂s_t/∂s_{t-1} of the whole
state s (h for the GRU, (h, c) for the LSTM) does. ``gate_trace`` recovers one sequence's
gates (and the LSTM's c) from the hidden states its forward pass produced, and
``recurrent_jacobians`` / ``mean_recurrent_jacobian`` give J_t analytically (equations in
``_jacobian_terms``), each a sum of diagonal matrices and row-scaled blocks of W_hh, so the
mean over t costs one assembly, however long the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.core.init import spectral_radius

__all__ = ["GateTrace", "Spectrum", "gate_trace", "jacobian_spectrum", "mean_recurrent_jacobian",
           "recurrent_jacobians", "saturation_fraction", "spectral_radius", "spectrum"]


@dataclass(frozen=True)
class Spectrum:
    eigenvalues: np.ndarray  # complex (H,)
    spectral_radius: float  # max |λ|
    largest_singular_value: float  # ‖W_hh‖₂


def spectrum(w_hh: np.ndarray) -> Spectrum:
    """Eigenvalues, spectral radius and largest singular value (O(H³): run every N steps)."""
    w = np.asarray(w_hh, dtype=np.float64)
    eig = np.linalg.eigvals(w)
    sigma_max = float(np.linalg.norm(w, 2)) if w.size else 0.0
    radius = float(np.max(np.abs(eig))) if eig.size else 0.0
    return Spectrum(eig, radius, sigma_max)


def saturation_fraction(hidden: np.ndarray, activation: str, margin: float = 0.01) -> float:
    """Fraction of unit activations where the derivative is (nearly) zero.

    tanh: |h| > 1 - margin; sigmoid: h < margin or h > 1 - margin; relu: h == 0 (dead units
    pass no gradient). Saturated units block the gradient in eq. (4) of ``rnn.py``.
    """
    if hidden.size == 0:
        return 0.0
    if activation == "tanh":
        saturated = np.abs(hidden) > 1.0 - margin
    elif activation == "sigmoid":
        saturated = (hidden < margin) | (hidden > 1.0 - margin)
    elif activation == "relu":
        saturated = hidden <= 0.0
    else:
        raise ValueError(f"unknown activation {activation!r}")
    return float(np.mean(saturated))


# ------------------------------------------------------------------------------ gated cells
def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # the gated cells' own form: no overflow for large |a|


@dataclass(frozen=True)
class GateTrace:
    """One sequence through a gated cell, T steps, in float64: what each step read and made.

    ``gates`` are the activated gates in the cell's order (LSTM i, f, g, o; GRU r, z, n), H
    columns each; ``c`` is the LSTM's cell state c_t (None for the GRU); ``v_n`` is the GRU's
    W_hn h_{t-1} + b_hn, which the reset gate multiplies (None for the LSTM).
    """

    cell: str
    h_prev: np.ndarray  # (T, H) h_{t-1}
    h: np.ndarray  # (T, H) h_t
    gates: np.ndarray  # (T, kH)
    c_prev: np.ndarray | None = None  # (T, H) c_{t-1}, LSTM
    c: np.ndarray | None = None  # (T, H) c_t, LSTM
    v_n: np.ndarray | None = None  # (T, H), GRU

    def gate(self, name: str, gate_names: tuple[str, ...]) -> np.ndarray:
        """The (T, H) activations of one gate."""
        k, size = gate_names.index(name), self.h.shape[1]
        return self.gates[:, k * size:(k + 1) * size]


def gate_trace(model: Any, x: np.ndarray, state0: np.ndarray | None, hidden: np.ndarray) -> GateTrace:
    """The gates of one sequence, recomputed from the hidden states its forward pass made.

    ``x`` is the sequence's input, (T,) token ids or (T, I) values; ``state0`` its initial full
    state (``model.state_size``,), zeros if None; ``hidden`` (T, H) the h_t the forward pass
    produced from them. Given h_{t-1}, every gate of every step is one matrix product (no
    second pass through the recurrence); only the LSTM's c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t is a
    loop, of element-wise products.
    """
    if model.cell not in ("lstm", "gru"):
        raise ValueError(f"the {model.cell.upper()} cell has no gates")
    size = model.hidden_size
    p = {name: np.asarray(model.params[name], dtype=np.float64) for name in ("W_xh", "W_hh", "b_xh", "b_hh")}
    h = np.asarray(hidden, dtype=np.float64).reshape(-1, size)
    steps = h.shape[0]
    start = (np.zeros(model.state_size) if state0 is None
             else np.asarray(state0, dtype=np.float64).reshape(model.state_size))
    h_prev = np.concatenate([start[None, :size], h[:-1]], axis=0)
    x = np.asarray(x)[:steps]
    if np.issubdtype(x.dtype, np.integer):
        u = p["W_xh"][:, x].T + p["b_xh"]  # a token id picks its column of W_xh
    else:
        u = x.reshape(steps, -1).astype(np.float64) @ p["W_xh"].T + p["b_xh"]
    v = h_prev @ p["W_hh"].T + p["b_hh"]
    blocks = [slice(k * size, (k + 1) * size) for k in range(len(model.gates))]
    gates = np.empty_like(u)
    if model.cell == "lstm":
        a = u + v
        for k, rows in enumerate(blocks):
            gates[:, rows] = np.tanh(a[:, rows]) if k == 2 else _sigmoid(a[:, rows])
        i, f, g = (gates[:, rows] for rows in blocks[:3])
        c = np.empty((steps + 1, size))
        c[0] = start[size:]
        for t in range(steps):
            c[t + 1] = f[t] * c[t] + i[t] * g[t]
        return GateTrace("lstm", h_prev, h, gates, c_prev=c[:-1], c=c[1:])
    r_rows, z_rows, n_rows = blocks
    gates[:, r_rows] = _sigmoid(u[:, r_rows] + v[:, r_rows])
    gates[:, z_rows] = _sigmoid(u[:, z_rows] + v[:, z_rows])
    gates[:, n_rows] = np.tanh(u[:, n_rows] + gates[:, r_rows] * v[:, n_rows])
    return GateTrace("gru", h_prev, h, gates, v_n=v[:, n_rows].copy())


def _jacobian_terms(trace: GateTrace) -> tuple[dict[tuple[int, int], np.ndarray],
                                                 dict[tuple[int, int, int], np.ndarray]]:
    """J_t as coefficient vectors: ``diagonal[(i, j)]`` (T, H) puts diag(d_t) in state block
    (i, j); ``scaled[(i, j, k)]`` (T, H) puts diag(s_t) W_k in block (i, j), W_k being gate k's
    rows of W_hh. Both are linear in the coefficients, so the mean J is built from their means.

    LSTM, state (h, c), with a_t = W_xh x_t + b + W_hh h_{t-1} (gates i, f, g, o = blocks 0-3):

        ∂c_t/∂h_{t-1} = diag(c_{t-1} f(1-f)) W_f + diag(g i(1-i)) W_i + diag(i (1-g²)) W_g
        ∂c_t/∂c_{t-1} = diag(f)
        ∂h_t/∂h_{t-1} = diag(tanh(c_t) o(1-o)) W_o + diag(o (1-tanh² c_t)) ∂c_t/∂h_{t-1}
        ∂h_t/∂c_{t-1} = diag(o (1-tanh² c_t) f)

    GRU, state h (gates r, z, n = blocks 0-2; v_n = W_hn h_{t-1} + b_hn):

        ∂h_t/∂h_{t-1} = diag(z) + diag((1-z)(1-n²) r) W_n + diag((1-z)(1-n²) v_n r(1-r)) W_r
                        + diag((h_{t-1} - n) z(1-z)) W_z
    """
    size = trace.h.shape[1]
    blocks = [trace.gates[:, k * size:(k + 1) * size] for k in range(trace.gates.shape[1] // size)]
    if trace.cell == "lstm":
        assert trace.c is not None and trace.c_prev is not None
        i, f, g, o = blocks
        tanh_c = np.tanh(trace.c)
        to_h = o * (1.0 - tanh_c * tanh_c)  # ∂h_t/∂c_t
        dc_dh = {1: trace.c_prev * f * (1.0 - f), 0: g * i * (1.0 - i), 2: i * (1.0 - g * g)}
        scaled = {(1, 0, k): coef for k, coef in dc_dh.items()}
        scaled.update({(0, 0, k): to_h * coef for k, coef in dc_dh.items()})
        scaled[(0, 0, 3)] = tanh_c * o * (1.0 - o)
        return {(1, 1): f, (0, 1): to_h * f}, scaled
    r, z, n = blocks
    assert trace.v_n is not None
    through_n = (1.0 - z) * (1.0 - n * n)
    return ({(0, 0): z},
            {(0, 0, 2): through_n * r, (0, 0, 0): through_n * trace.v_n * r * (1.0 - r),
             (0, 0, 1): (trace.h_prev - n) * z * (1.0 - z)})


def _assemble(w_hh: np.ndarray, size: int, state_blocks: int,
              diagonal: dict[tuple[int, int], np.ndarray],
              scaled: dict[tuple[int, int, int], np.ndarray]) -> np.ndarray:
    """The Jacobians (..., S, S) from coefficient vectors (..., H), S = state_blocks·H."""
    lead = next(iter(diagonal.values())).shape[:-1]
    jac = np.zeros((*lead, state_blocks * size, state_blocks * size))
    units = np.arange(size)
    for (i, j), coef in diagonal.items():
        jac[..., i * size + units, j * size + units] += coef
    for (i, j, k), coef in scaled.items():
        jac[..., i * size:(i + 1) * size, j * size:(j + 1) * size] += (
            coef[..., :, None] * w_hh[k * size:(k + 1) * size])
    return jac


def recurrent_jacobians(model: Any, trace: GateTrace) -> np.ndarray:
    """J_t = ∂s_t/∂s_{t-1} for every step of ``trace``: (T, S, S), S = 2H (h then c) for the
    LSTM, H for the GRU. T·S² numbers: for tests and short sequences; the mean has its own."""
    size = model.hidden_size
    w_hh = np.asarray(model.params["W_hh"], dtype=np.float64)
    return _assemble(w_hh, size, model.state_size // size, *_jacobian_terms(trace))


def mean_recurrent_jacobian(model: Any, trace: GateTrace) -> np.ndarray:
    """(1/T) Σ_t J_t, (S, S), built once from the coefficients' means (J_t is linear in them)."""
    size = model.hidden_size
    w_hh = np.asarray(model.params["W_hh"], dtype=np.float64)
    diagonal, scaled = _jacobian_terms(trace)
    return _assemble(w_hh, size, model.state_size // size,
                     {key: coef.mean(axis=0) for key, coef in diagonal.items()},
                     {key: coef.mean(axis=0) for key, coef in scaled.items()})


def jacobian_spectrum(model: Any, trace: GateTrace) -> Spectrum:
    """The spectrum of the mean recurrent Jacobian along ``trace`` (O(S³))."""
    return spectrum(mean_recurrent_jacobian(model, trace))
