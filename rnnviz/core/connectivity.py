"""Connectivity: how strongly each earlier input sways each prediction (Madsen 2019).

For one input sequence x_0 … x_{T−1} read from the state h0, and a scalar score s_t of the
output at each timestep t, the connectivity is the T × T matrix

    M[t, s] = ‖∂ s_t / ∂ e_s‖        for s ≤ t,  NaN for s > t (an output never sees a later input)

where e_s is what input s brings to the recurrence:

- token ids: e_s = W_xh[:, x_s], the input's column of W_xh (its embedding; for the gated
  cells the whole stacked column, 4H rows for the LSTM, 3H for the GRU). Since e_s enters
  the pre-activation as a plain sum (a_s = e_s + W_hh h_{s−1} + b), ∂s_t/∂e_s = ∂s_t/∂a_s
  (the LSTM's a_s, the GRU's u_s): exactly the δ_s that backpropagation through time
  computes for s_t alone.
- real-valued inputs (the sine task): e_s = x_s, the input vector itself, so
  ∂s_t/∂x_s = W_xhᵀ ∂s_t/∂a_s.

The score s_t depends on the head:

- ``seq_softmax``: s_t = log p(y_t) = o_t[y_t] − log Σ_j exp o_t[j], with y_t the actual next
  token, so ∂s_t/∂o_t = onehot(y_t) − softmax(o_t).
- ``last_softmax``: only the last output is trained and read, so only row T−1 is scored
  (s_{T−1} = log p(y) of the true class); the other rows are NaN.
- ``seq_mse`` / ``last_mse``: there is no probability; the score is the prediction itself,
  and M[t, s] is the Frobenius norm of the Jacobian ∂o_t/∂e_s (for the one-output sine task,
  |∂o_t/∂x_s|). A squared error would fade to zero as the model fits, hiding what it reads.

All targets are computed at once: one forward pass for the sequence, then one backward pass
through time for a batch of seeds (one per scored output and output component), where seed
t starts at timestep t with ∂s_t/∂h_t = W_hyᵀ ∂s_t/∂o_t and zero elsewhere. The backward
recurrences are those of ``rnn.py`` (eq. 4) and ``gated.py`` (L4, L5, G4, G5) with the
batch of seeds in place of the batch of sequences; nothing is truncated. Everything is
computed in float64 whatever the model's dtype; the model is only read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.core.gated import GRU, LSTM
from rnnviz.core.heads import HEADS, is_sequence_head, is_softmax_head, softmax
from rnnviz.core.rnn import RNN, activation_derivative
from rnnviz.core.vocab import END, START, UNKNOWN, Vocabulary


@dataclass(frozen=True)
class Connectivity:
    """One connectivity matrix with what it was computed on, for reports and panels."""

    step: int  # the training step whose weights it used
    matrix: np.ndarray  # (T, T) M[t, s]; NaN above the diagonal and in rows with no score
    tokens: tuple[str, ...]  # (T,) labels of the inputs
    targets: tuple[str, ...] = ()  # (T,) labels of the scored next tokens, when they have names
    score: str = "log p"  # "log p" (softmax heads) or "prediction" (MSE heads)


def connectivity(model: RNN, x: np.ndarray, h0: np.ndarray | None = None,
                 targets: np.ndarray | int | None = None, head: str = "seq_softmax") -> np.ndarray:
    """M[t, s] = ‖∂ s_t / ∂ e_s‖ (module docstring) for one sequence, as a (T, T) float64 array.

    ``x``: (T,) token ids or (T, I) values; ``h0``: the full initial state (state_size,) or
    None for zeros; ``targets``: for ``seq_softmax`` the (T,) next tokens, for ``last_softmax``
    the one class, for the MSE heads None (unused).
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    x = np.asarray(x)
    token_input = np.issubdtype(x.dtype, np.integer)
    if x.ndim != (1 if token_input else 2) or x.shape[0] == 0:
        raise ValueError(f"connectivity needs one non-empty sequence: (T,) ids or (T, I) values; "
                         f"got shape {x.shape}")
    steps = x.shape[0]
    batch_x = x[:, None] if token_input else x[:, None, :]
    start = None if h0 is None else np.asarray(h0).reshape(1, -1)
    scored, seeds_at_o = _seeds(model, batch_x, start, targets, head)
    hidden_seeds = seeds_at_o @ model.params["W_hy"].astype(np.float64)  # (S, H): ∂s/∂h_t at its t
    rows = np.array([t for t, _ in scored])
    d_e = _backward(model, batch_x, start, rows, hidden_seeds)  # (T, S, width) ∂s/∂a_s
    if not token_input:
        d_e = d_e @ model.params["W_xh"].astype(np.float64)  # ∂s/∂x_s = W_xhᵀ ∂s/∂a_s
    squares = np.einsum("tsw,tsw->st", d_e, d_e)  # (S, T): ‖∂s_seed/∂e_t‖²
    out = np.full((steps, steps), np.nan)
    # Seeds of the same row (one per output component of an MSE head) add up to the
    # Frobenius norm of that row's Jacobian.
    for row in np.unique(rows):
        out[row, :row + 1] = np.sqrt(squares[rows == row, :row + 1].sum(axis=0))
    return out


def text_connectivity(model: RNN, vocab: Vocabulary, text: str, step: int) -> Connectivity:
    """The connectivity of typed text for a next-token model, each position scored on the token
    that follows it in the text, from a zero state.

    A line-mode model (its vocabulary has ``<s>`` and ``</s>``) reads ``<s>`` and the text and
    predicts the text and ``</s>``, as it was trained; any other model reads all but the last
    token, which is only a target. A word model reads words it does not know as ``<unk>``, as
    in training; other unknown tokens raise ``UnknownTokensError`` (a ValueError naming them).
    """
    lines = START in vocab.index and END in vocab.index
    tokens = vocab.split(text.strip() if lines else text)
    if vocab.kind == "word" and UNKNOWN in vocab.index:
        tokens = [t if t in vocab.index else UNKNOWN for t in tokens]
    ids = vocab.encode(tokens).tolist()
    if lines:
        inputs, targets = [vocab.index[START], *ids], [*ids, vocab.index[END]]
    else:
        if len(ids) < 2:
            raise ValueError(f"type at least two {vocab.kind}s: each is scored on the one that follows it")
        inputs, targets = ids[:-1], ids[1:]
    x, y = np.asarray(inputs, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        matrix = connectivity(model, x, None, y, "seq_softmax")
    matrix.flags.writeable = False
    return Connectivity(step=step, matrix=matrix, tokens=tuple(vocab.tokens[i] for i in inputs),
                        targets=tuple(vocab.tokens[i] for i in targets))


def _seeds(model: RNN, x: np.ndarray, h0: np.ndarray | None, targets: np.ndarray | int | None,
           head: str) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The scored outputs as (row t, output component) and ∂s/∂o_t for each, (S, O)."""
    hidden = model.forward(x, h0)[:, 0].astype(np.float64)  # (T, H)
    steps, size = hidden.shape[0], model.output_size
    rows = range(steps) if is_sequence_head(head) else [steps - 1]
    if not is_softmax_head(head):
        scored = [(t, j) for t in rows for j in range(size)]
        return scored, np.tile(np.eye(size), (len(rows), 1))
    if targets is None:
        raise ValueError(f"the {head} head needs the targets whose log-probability is scored")
    labels = np.asarray(targets).reshape(-1)
    if labels.size != len(rows):
        raise ValueError(f"{head} needs {len(rows)} target(s) for {steps} timesteps, got {labels.size}")
    if labels.size and (labels.min() < 0 or labels.max() >= size):
        raise ValueError(f"targets must lie in [0, {size}), got [{labels.min()}, {labels.max()}]")
    logits = hidden[list(rows)] @ model.params["W_hy"].T.astype(np.float64) + model.params["b_y"]
    d_out = -softmax(logits)
    d_out[np.arange(labels.size), labels] += 1.0  # ∂ log p(y)/∂o = onehot(y) − p
    return [(t, 0) for t in rows], d_out


def _backward(model: RNN, x: np.ndarray, h0: np.ndarray | None, rows: np.ndarray,
              hidden_seeds: np.ndarray) -> np.ndarray:
    """∂s/∂(pre-activation input) at every timestep for every seed: (T, S, GH)."""
    if isinstance(model, LSTM):
        return _backward_lstm(model, x, h0, rows, hidden_seeds)
    if isinstance(model, GRU):
        return _backward_gru(model, x, h0, rows, hidden_seeds)
    return _backward_rnn(model, x, h0, rows, hidden_seeds)


def _local(steps: int, rows: np.ndarray, hidden_seeds: np.ndarray) -> np.ndarray:
    """(T, S, H): seed k's ∂s/∂h_t at its own t = rows[k], zero at every other t."""
    local = np.zeros((steps, *hidden_seeds.shape))
    local[rows, np.arange(rows.size)] = hidden_seeds
    return local


def _first_live(rows: np.ndarray, t: int) -> int:
    """The first seed whose output lies at t or later (seeds are ordered by their row): the
    seeds before it have not started at t, and their gradient there is exactly zero."""
    return int(np.searchsorted(rows, t))


def _backward_rnn(model: RNN, x: np.ndarray, h0: np.ndarray | None, rows: np.ndarray,
                  hidden_seeds: np.ndarray) -> np.ndarray:
    """rnn.py eq. (4): g_t = ∂s/∂h_t local + W_hhᵀ δ_{t+1}, δ_t = g_t ⊙ f′(a_t)."""
    hidden = model.forward(x, h0)[:, 0].astype(np.float64)  # (T, H)
    f_prime = activation_derivative(hidden, model.activation)
    w_hh = model.params["W_hh"].astype(np.float64)
    steps = hidden.shape[0]
    g = _local(steps, rows, hidden_seeds)
    d_pre = np.zeros_like(g)
    for t in range(steps - 1, -1, -1):
        live = slice(_first_live(rows, t), None)
        np.multiply(g[t, live], f_prime[t], out=d_pre[t, live])
        if t > 0:
            g[t - 1, live] += d_pre[t, live] @ w_hh
    return d_pre


def _backward_lstm(model: LSTM, x: np.ndarray, h0: np.ndarray | None, rows: np.ndarray,
                   hidden_seeds: np.ndarray) -> np.ndarray:
    """gated.py (L4)-(L5): e_t = e_{t+1} ⊙ f_{t+1} + g_t ⊙ o_t ⊙ (1 − tanh² c_t), δ_t from e_t and g_t."""
    run = model._run(x, h0)
    size = model.hidden_size
    gates = run["gates"][:, 0].astype(np.float64)  # (T, 4H) activated [i, f, g, o]
    c_prev = run["c"][:-1, 0].astype(np.float64)
    tanh_c = run["tanh_c"][:, 0].astype(np.float64)
    i, f, g_gate, o = (gates[:, k * size:(k + 1) * size] for k in range(4))
    h_to_c = o * (1.0 - tanh_c * tanh_c)
    factors = np.stack([g_gate * i * (1.0 - i), c_prev * f * (1.0 - f), i * (1.0 - g_gate * g_gate),
                        tanh_c * o * (1.0 - o)], axis=1)  # (T, 4, H)
    w_hh = model.params["W_hh"].astype(np.float64)
    steps, seeds = gates.shape[0], rows.size
    g = _local(steps, rows, hidden_seeds)
    d_pre = np.zeros((steps, seeds, 4, size))
    e_next = np.zeros((seeds, size))  # e_{t+1} ⊙ f_{t+1}
    for t in range(steps - 1, -1, -1):
        first = _first_live(rows, t)
        live = slice(first, None)
        e = g[t, live] * h_to_c[t] + e_next[live]
        d_pre[t, live, :3] = e[:, None, :] * factors[t, :3]
        d_pre[t, live, 3] = g[t, live] * factors[t, 3]
        if t > 0:
            g[t - 1, live] += d_pre[t, live].reshape(seeds - first, 4 * size) @ w_hh
            e_next[live] = e * f[t]
    return d_pre.reshape(steps, seeds, 4 * size)


def _backward_gru(model: GRU, x: np.ndarray, h0: np.ndarray | None, rows: np.ndarray,
                  hidden_seeds: np.ndarray) -> np.ndarray:
    """gated.py (G4)-(G5): g_{t−1} += W_hhᵀ δv_t + g_t ⊙ z_t; the input's share is δu_t."""
    run = model._run(x, h0)
    size = model.hidden_size
    gates = run["gates"][:, 0].astype(np.float64)  # (T, 3H) activated [r, z, n]
    h_prev = run["h"][:-1, 0].astype(np.float64)
    v_n = run["v_n"][:, 0].astype(np.float64)
    r, z, n = (gates[:, k * size:(k + 1) * size] for k in range(3))
    du_n = (1.0 - z) * (1.0 - n * n)
    du = np.stack([du_n * v_n * r * (1.0 - r), (h_prev - n) * z * (1.0 - z), du_n], axis=1)  # (T, 3, H)
    dv = du.copy()
    dv[:, 2] *= r
    w_hh = model.params["W_hh"].astype(np.float64)
    steps, seeds = gates.shape[0], rows.size
    g = _local(steps, rows, hidden_seeds)
    d_u = np.zeros((steps, seeds, 3, size))
    for t in range(steps - 1, -1, -1):
        first = _first_live(rows, t)
        live = slice(first, None)
        np.multiply(g[t, live, None, :], du[t], out=d_u[t, live])
        if t > 0:
            recurrent = (g[t, live, None, :] * dv[t]).reshape(seeds - first, 3 * size) @ w_hh
            g[t - 1, live] += recurrent + g[t, live] * z[t]
    return d_u.reshape(steps, seeds, 3 * size)


def distance_profile(matrix: np.ndarray) -> np.ndarray:
    """The typical influence at each distance k = t − s: the median over the scored rows t of
    M[t, t − k], (T,) with NaN where no row reaches that far back."""
    matrix = np.asarray(matrix, dtype=np.float64)
    by_distance = by_distance_matrix(matrix)
    out = np.full(matrix.shape[0], np.nan)
    for k in range(matrix.shape[0]):
        column = by_distance[:, k]
        column = column[np.isfinite(column)]
        if column.size:
            out[k] = float(np.median(column))
    return out


def by_distance_matrix(matrix: np.ndarray) -> np.ndarray:
    """M re-indexed by distance: D[t, k] = M[t, t − k] for k ≤ t, NaN otherwise (the heatmap)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    steps = matrix.shape[0]
    out = np.full_like(matrix, np.nan)
    for t in range(steps):
        out[t, :t + 1] = matrix[t, t::-1]
    return out
