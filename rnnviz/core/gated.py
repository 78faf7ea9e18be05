"""Gated cells, LSTM and GRU, with the vanilla RNN's interface and exact BPTT.

Gates are stacked in PyTorch's order, each a block of H rows, so the weights are PyTorch's
own: ``W_xh`` is ``weight_ih_l0`` (4H×I for the LSTM, 3H×I for the GRU), ``W_hh`` is
``weight_hh_l0`` (4H×H, 3H×H), ``b_xh`` is ``bias_ih_l0`` and ``b_hh`` is ``bias_hh_l0``;
``W_hy`` and ``b_y`` are an ``nn.Linear(H, O)`` on top (docs/engine.md gives the mapping in
code). σ is the logistic sigmoid, ⊙ the element-wise product, [·]_k the k-th block of H rows.

LSTM (gates i, f, g, o; the state carried between chunks is (h, c) side by side, 2H wide):

    a_t = W_xh x_t + b_xh + W_hh h_{t-1} + b_hh                      (L1)
    i_t = σ([a_t]_i)   f_t = σ([a_t]_f)   g_t = tanh([a_t]_g)   o_t = σ([a_t]_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                                   (L2)
    h_t = o_t ⊙ tanh(c_t)                                             (L3)

Backward, with g_t = dL/dh_t the total gradient reaching h_t and e_t = dL/dc_t the total
gradient reaching c_t (through h_t and through c_{t+1}):

    e_t = e_{t+1} ⊙ f_{t+1} + g_t ⊙ o_t ⊙ (1 - tanh²c_t)             (L4)  ← the carousel
    δ_t = dL/da_t = [e_t ⊙ g_t ⊙ i_t(1-i_t),  e_t ⊙ c_{t-1} ⊙ f_t(1-f_t),
                     e_t ⊙ i_t ⊙ (1-g_t²),    g_t ⊙ tanh(c_t) ⊙ o_t(1-o_t)]
    g_t = dL_t/dh_t + W_hhᵀ δ_{t+1}                                   (L5)
    dL/dW_hh = Σ_t δ_t h_{t-1}ᵀ   dL/dW_xh = Σ_t δ_t x_tᵀ   dL/db_xh = dL/db_hh = Σ_t δ_t   (L6)

In (L4) the error on c passes from step to step multiplied only by the forget gate: with
f ≈ 1 it neither vanishes nor explodes (the "constant error carousel"); ``dc_norms`` is ‖e_t‖.

GRU (gates r, z, n; the reset gate multiplies W_hn h + b_hn, as PyTorch's nn.GRU does):

    u_t = W_xh x_t + b_xh    v_t = W_hh h_{t-1} + b_hh                 (G1)
    r_t = σ([u_t]_r + [v_t]_r)   z_t = σ([u_t]_z + [v_t]_z)
    n_t = tanh([u_t]_n + r_t ⊙ [v_t]_n)                               (G2)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}                             (G3)

Backward, with g_t = dL/dh_t total:

    ν_t = g_t ⊙ (1-z_t) ⊙ (1-n_t²)                  dL/d(pre-activation of n)
    δu_t = [ν_t ⊙ [v_t]_n ⊙ r_t(1-r_t),  g_t ⊙ (h_{t-1} - n_t) ⊙ z_t(1-z_t),  ν_t]
    δv_t = [[δu_t]_r, [δu_t]_z, ν_t ⊙ r_t]                                  (G4)
    g_t = dL_t/dh_t + W_hhᵀ δv_{t+1} + g_{t+1} ⊙ z_{t+1}                  (G5)
    dL/dW_xh = Σ_t δu_t x_tᵀ  dL/db_xh = Σ_t δu_t  dL/dW_hh = Σ_t δv_t h_{t-1}ᵀ  dL/db_hh = Σ_t δv_t

Truncation is the vanilla RNN's: the gradient of each L_s reaches the state (h and c) of
steps s, s-1, …, s-k and stops. As in ``rnn.py``, only the recurrences (L1-L3, L4-L5, G1-G3,
G5) loop over time in Python; input projections, every element-wise factor of the backward
pass, the output layer and the weight gradients are single operations over the whole chunk.
"""

from __future__ import annotations

import numpy as np

from rnnviz.core.init import init_gated_params
from rnnviz.core.rnn import RNN, LossResult

GATED_PARAM_NAMES = ("W_xh", "W_hh", "W_hy", "b_xh", "b_hh", "b_y")
CELLS = ("rnn", "lstm", "gru")


class _GatedRNN(RNN):
    """What the LSTM and the GRU share: gate-stacked parameters, input projection, sampling.

    ``forget_bias`` is the starting value of the ``forget_gate``'s block of ``b_xh`` (``b_hh``
    and every other bias start at zero): the gate that decides how much of the state is kept
    from one step to the next, the LSTM's f in (L2) and the GRU's z in (G3). A positive bias
    starts that gate open, σ(1) ≈ 0.73 for the default 1.0, so the state is kept from the
    first step instead of about half of it being replaced at every step.
    """

    gates: tuple[str, ...] = ()
    forget_gate = ""  # the gate whose b_xh block starts at forget_bias
    param_names = GATED_PARAM_NAMES

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        activation: str = "tanh",
        init: str = "uniform",
        spectral_radius: float | None = None,
        seed: int | None = 0,
        dtype: str = "float64",
        rng: np.random.Generator | None = None,
        forget_bias: float = 1.0,
    ) -> None:
        if not np.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        self.forget_bias = float(forget_bias)
        if activation != "tanh":
            raise ValueError(f"the {self.cell.upper()} uses sigmoid gates and tanh, as PyTorch's does; "
                             f"activation={activation!r} applies to the vanilla RNN only")
        super().__init__(input_size, hidden_size, output_size, activation, init, spectral_radius,
                         seed, dtype, rng)

    def _fresh_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return init_gated_params(self.input_size, self.hidden_size, self.output_size, len(self.gates),
                                 self.init, rng, self.spectral_radius,
                                 forget_gate=self.gates.index(self.forget_gate), forget_bias=self.forget_bias)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """"W_xh" (GH,I), "W_hh" (GH,H), "W_hy" (O,H), "b_xh" (GH,), "b_hh" (GH,), "b_y" (O,),
        with G gate blocks of H rows each: views of ``flat_params``."""
        return self._params

    @params.setter
    def params(self, values: dict[str, np.ndarray]) -> None:
        self.set_params(values)

    def gate_block(self, name: str, gate: str) -> np.ndarray:
        """The rows of parameter ``name`` ("W_xh", "W_hh", "b_xh" or "b_hh") for one gate, as a view."""
        if name not in ("W_xh", "W_hh", "b_xh", "b_hh"):
            raise ValueError(f"{name} has no gate blocks; W_xh, W_hh, b_xh and b_hh do")
        if gate not in self.gates:
            raise ValueError(f"the {self.cell.upper()} has no gate {gate!r}; its gates are "
                             f"{', '.join(self.gates)}")
        k, size = self.gates.index(gate), self.hidden_size
        return self.params[name][k * size:(k + 1) * size]

    @property
    def recurrent_matrix(self) -> np.ndarray:
        """The candidate's recurrent block (g for the LSTM, n for the GRU): the H×H matrix in
        the place of the vanilla cell's W_hh, inside the tanh."""
        return self.gate_block("W_hh", self.gates[2])

    def _input_projection(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """W_xh x_t + bias for every t at once, (T, B, GH); token ids are looked up as columns."""
        token_input = self._check_input(x)
        w_xh = self.params["W_xh"]
        if token_input:
            pre = np.take(np.ascontiguousarray(w_xh.T), x, axis=0)
        else:
            pre = np.matmul(x.astype(self.dtype, copy=False), w_xh.T)
        pre += bias
        return pre

    def _input_weight_grads(self, x: np.ndarray, d_pre: np.ndarray, grads: dict[str, np.ndarray]) -> None:
        """dL/dW_xh = Σ_t δ_t x_tᵀ and dL/db_xh = Σ_t δ_t as one product (a scatter-add for ids)."""
        d_rows = d_pre.reshape(-1, d_pre.shape[-1])
        np.sum(d_rows, axis=0, out=grads["b_xh"])
        if np.issubdtype(x.dtype, np.integer):
            grads["W_xh"][...] = self._scatter_add_by_token(x.reshape(-1), d_rows).T
        else:
            x_rows = x.astype(self.dtype, copy=False).reshape(-1, self.input_size)
            np.matmul(d_rows.T, x_rows, out=grads["W_xh"])

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """Hidden states h_t (T, B, H) for input ``x`` from the full state ``h0`` (zeros if None)."""
        return self._run(np.asarray(x), h0)["h"][1:]

    def step(self, x_t: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One recurrence step from (B,) token ids or (B, I) values: the new full state."""
        return self.final_state(np.asarray(x_t)[None], h)

    def _run(self, x: np.ndarray, h0: np.ndarray | None) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @staticmethod
    def _norms(g: np.ndarray) -> np.ndarray:
        """‖g_t‖ over the batch for every t, (T,) in float64."""
        return np.sqrt(np.einsum("tbh,tbh->t", g, g, dtype=np.float64))


class LSTM(_GatedRNN):
    """A single-layer LSTM (PyTorch's nn.LSTM gates and layout) with a linear output layer.

    ``forget_bias`` starts the forget gate's block of ``b_xh``, so f starts near σ(1) ≈ 0.73
    and c is kept from the first step.
    """

    cell = "lstm"
    gates = ("i", "f", "g", "o")
    forget_gate = "f"

    @property
    def state_size(self) -> int:
        """2H: the state is h and c side by side, ``state[:, :H]`` = h, ``state[:, H:]`` = c."""
        return 2 * self.hidden_size

    def final_state(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        run = self._run(np.asarray(x), h0)
        return np.concatenate([run["h"][-1], run["c"][-1]], axis=1)

    # ------------------------------------------------------------------ forward
    def _run(self, x: np.ndarray, h0: np.ndarray | None) -> dict[str, np.ndarray]:
        """Eqs. (L1)-(L3). Returns h (T+1, B, H) and c (T+1, B, H), each starting with the
        initial state, the activated gates (T, B, 4H) and tanh(c_t) (T, B, H)."""
        p = self.params
        size = self.hidden_size
        # All four gates with one tanh: σ(a) = (1 + tanh(a/2)) / 2, so the sigmoid gates' rows
        # of a_t are halved (exactly: a power of two) and the tanh is rescaled after.
        half = np.full(4 * size, 0.5, dtype=self.dtype)
        half[2 * size:3 * size] = 1.0
        shift = np.where(half == 0.5, 0.5, 0.0).astype(self.dtype)
        gates = self._input_projection(x, p["b_xh"] + p["b_hh"])  # becomes [i, f, g, o]
        gates *= half
        steps, batch = gates.shape[:2]
        start = self._initial_state(batch, h0)
        h = np.empty((steps + 1, batch, size), dtype=self.dtype)
        c = np.empty_like(h)
        h[0], c[0] = start[:, :size], start[:, size:]
        tanh_c = np.empty((steps, batch, size), dtype=self.dtype)
        w_hh_t = p["W_hh"].T * half
        recurrent = np.empty((batch, 4 * size), dtype=self.dtype)
        for t in range(steps):
            a = gates[t]
            np.dot(h[t], w_hh_t, out=recurrent)
            a += recurrent
            np.tanh(a, out=a)
            a *= half
            a += shift
            np.multiply(a[:, size:2 * size], c[t], out=c[t + 1])
            np.multiply(a[:, :size], a[:, 2 * size:3 * size], out=h[t + 1])  # h[t+1]: scratch for i ⊙ g
            c[t + 1] += h[t + 1]
            np.tanh(c[t + 1], out=tanh_c[t])
            np.multiply(a[:, 3 * size:], tanh_c[t], out=h[t + 1])
        return {"h": h, "c": c, "gates": gates, "tanh_c": tanh_c}

    # ----------------------------------------------------------------- backward
    def loss_and_grads(
        self,
        x: np.ndarray,
        y: np.ndarray,
        head: str = "seq_softmax",
        h0: np.ndarray | None = None,
        truncate: int | None = None,
        mask: np.ndarray | None = None,
    ) -> LossResult:
        """Forward pass, loss, and exact gradients by BPTT (eqs. L4-L6), as ``RNN.loss_and_grads``.

        ``h0`` and ``res.h_last`` are full states (B, 2H): h then c. ``res.dc_norms`` is ‖e_t‖.
        """
        x = self._check_loss_args(x, head, truncate)
        run = self._run(x, h0)
        h, c, gates, tanh_c = run["h"], run["c"], run["gates"], run["tanh_c"]
        hidden = h[1:]
        steps, batch, size = hidden.shape
        flat_grads = np.empty_like(self._flat)
        grads = self._views(flat_grads)
        loss, outputs, d_h_local = self._output_and_head(hidden, y, head, grads, mask)

        # Every factor of (L4) and δ_t that does not depend on the gradient, for all t at once.
        i, f, g, o = (gates[..., k * size:(k + 1) * size] for k in range(4))
        h_to_c = o * (1.0 - tanh_c * tanh_c)  # dh_t -> e_t
        factors = np.empty((steps, batch, 4, size), dtype=self.dtype)
        np.multiply(g, i * (1.0 - i), out=factors[:, :, 0])
        np.multiply(c[:-1], f * (1.0 - f), out=factors[:, :, 1])
        np.multiply(i, 1.0 - g * g, out=factors[:, :, 2])
        np.multiply(tanh_c, o * (1.0 - o), out=factors[:, :, 3])
        d_pre, g_all, e_all = self._bptt(d_h_local, h_to_c, factors, f, truncate)

        # (L6): weight gradients as single matrix products over all (t, b).
        d_rows = d_pre.reshape(-1, 4 * size)
        np.matmul(d_rows.T, h[:-1].reshape(-1, size), out=grads["W_hh"])
        self._input_weight_grads(x, d_rows, grads)
        grads["b_hh"][...] = grads["b_xh"]
        h_last = np.concatenate([h[-1], c[-1]], axis=1)
        return LossResult(loss=loss, grads=grads, h_last=h_last, hidden=hidden,
                          dh_norms=self._norms(g_all), outputs=outputs, flat_grads=flat_grads,
                          dc_norms=self._norms(e_all))

    def _bptt(
        self, d_h_local: np.ndarray, h_to_c: np.ndarray, factors: np.ndarray, forget: np.ndarray,
        truncate: int | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(L4)-(L5): δ_t (T, B, 4H), g_t and e_t (T, B, H) for every t."""
        steps, batch, size = d_h_local.shape
        w_hh = self.params["W_hh"]
        d_pre = np.empty((steps, batch, 4, size), dtype=self.dtype)
        e = np.empty_like(d_h_local)
        if truncate is None or truncate >= steps - 1:
            g = d_h_local  # turned into g_t in place
            carry = np.empty((batch, size), dtype=self.dtype)
            e_next = np.empty((batch, size), dtype=self.dtype)  # e_{t+1} ⊙ f_{t+1}
            for t in range(steps - 1, -1, -1):
                np.multiply(g[t], h_to_c[t], out=e[t])
                if t < steps - 1:
                    e[t] += e_next
                np.multiply(e[t][:, None, :], factors[t, :, :3], out=d_pre[t, :, :3])
                np.multiply(g[t], factors[t, :, 3], out=d_pre[t, :, 3])
                if t > 0:
                    np.dot(d_pre[t].reshape(batch, 4 * size), w_hh, out=carry)
                    g[t - 1] += carry
                    np.multiply(e[t], forget[t], out=e_next)
            return d_pre.reshape(steps, batch, 4 * size), g, e
        # Truncated: the contributions from each source step L_{t+a} kept apart by age a = 0..k,
        # for h and for c alike, so that those older than k recurrent steps can be dropped.
        k = int(truncate)
        g = np.empty_like(d_h_local)
        by_age_h = np.zeros((k + 1, batch, size), dtype=self.dtype)
        by_age_c = np.zeros_like(by_age_h)
        for t in range(steps - 1, -1, -1):
            by_age_h[0] = d_h_local[t]
            by_age_c[0] = 0.0  # L_t reaches c_t only through h_t
            e_by_age = by_age_c + by_age_h * h_to_c[t]
            g[t], e[t] = by_age_h.sum(axis=0), e_by_age.sum(axis=0)
            np.multiply(e[t][:, None, :], factors[t, :, :3], out=d_pre[t, :, :3])
            np.multiply(g[t], factors[t, :, 3], out=d_pre[t, :, 3])
            if k > 0:
                # Each age class moves one step back; the oldest (age k) falls off.
                young = np.empty((k, batch, 4, size), dtype=self.dtype)
                np.multiply(e_by_age[:-1, :, None, :], factors[t, :, :3], out=young[:, :, :3])
                np.multiply(by_age_h[:-1], factors[t, :, 3], out=young[:, :, 3])
                by_age_h[1:] = young.reshape(k, batch, 4 * size) @ w_hh
                by_age_c[1:] = e_by_age[:-1] * forget[t]
        return d_pre.reshape(steps, batch, 4 * size), g, e


class GRU(_GatedRNN):
    """A single-layer GRU (PyTorch's nn.GRU gates and layout) with a linear output layer.

    ``forget_bias`` starts the update gate's block of ``b_xh``: in (G3) z is the share of
    h_{t-1} kept, 1 - z the share replaced by the candidate, so z is the GRU's forget gate (an
    LSTM forget gate coupled to its input gate, Greff et al. 2017). With the default 1.0, z
    starts near σ(1) ≈ 0.73; with 0 it would start near one half, and a state kept at half
    strength per step is gone (0.5^40 ≈ 1e-12) long before a 40-step recall.
    """

    cell = "gru"
    gates = ("r", "z", "n")
    forget_gate = "z"

    def final_state(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        return self._run(np.asarray(x), h0)["h"][-1]

    # ------------------------------------------------------------------ forward
    def _run(self, x: np.ndarray, h0: np.ndarray | None) -> dict[str, np.ndarray]:
        """Eqs. (G1)-(G3). Returns h (T+1, B, H) starting with h0, the activated gates
        (T, B, 3H) as [r, z, n], and [v_t]_n = W_hn h_{t-1} + b_hn (T, B, H)."""
        p = self.params
        size = self.hidden_size
        rz, n_rows = slice(0, 2 * size), slice(2 * size, 3 * size)
        # σ(a) = (1 + tanh(a/2)) / 2: r's and z's rows of u_t and v_t are halved (exactly).
        gates = self._input_projection(x, p["b_xh"])  # u_t, becomes [r, z, n]
        gates[..., rz] *= 0.5
        w_hh_t, b_hh = p["W_hh"].T.copy(), p["b_hh"].copy()
        w_hh_t[:, rz] *= 0.5
        b_hh[rz] *= 0.5
        steps, batch = gates.shape[:2]
        h = np.empty((steps + 1, batch, size), dtype=self.dtype)
        h[0] = self._initial_state(batch, h0)
        v_n = np.empty((steps, batch, size), dtype=self.dtype)
        v = np.empty((batch, 3 * size), dtype=self.dtype)
        for t in range(steps):
            a = gates[t]
            np.dot(h[t], w_hh_t, out=v)
            v += b_hh
            a[:, rz] += v[:, rz]
            np.tanh(a[:, rz], out=a[:, rz])
            a[:, rz] *= 0.5
            a[:, rz] += 0.5
            v_n[t] = v[:, n_rows]
            np.multiply(a[:, :size], v_n[t], out=v[:, n_rows])  # r ⊙ [v]_n
            a[:, n_rows] += v[:, n_rows]
            np.tanh(a[:, n_rows], out=a[:, n_rows])
            # (G3) as n + z ⊙ (h_{t-1} - n)
            np.subtract(h[t], a[:, n_rows], out=h[t + 1])
            h[t + 1] *= a[:, size:2 * size]
            h[t + 1] += a[:, n_rows]
        return {"h": h, "gates": gates, "v_n": v_n}

    # ----------------------------------------------------------------- backward
    def loss_and_grads(
        self,
        x: np.ndarray,
        y: np.ndarray,
        head: str = "seq_softmax",
        h0: np.ndarray | None = None,
        truncate: int | None = None,
        mask: np.ndarray | None = None,
    ) -> LossResult:
        """Forward pass, loss, and exact gradients by BPTT (eqs. G4-G5), as ``RNN.loss_and_grads``."""
        x = self._check_loss_args(x, head, truncate)
        run = self._run(x, h0)
        h, gates, v_n = run["h"], run["gates"], run["v_n"]
        hidden = h[1:]
        steps, batch, size = hidden.shape
        flat_grads = np.empty_like(self._flat)
        grads = self._views(flat_grads)
        loss, outputs, d_h_local = self._output_and_head(hidden, y, head, grads, mask)

        # δu_t = g_t ⊙ du[t] and δv_t = g_t ⊙ dv[t] (G4): the factors for all t at once.
        r, z, n = (gates[..., k * size:(k + 1) * size] for k in range(3))
        du = np.empty((steps, batch, 3, size), dtype=self.dtype)
        np.multiply(1.0 - z, 1.0 - n * n, out=du[:, :, 2])
        np.multiply(du[:, :, 2] * v_n, r * (1.0 - r), out=du[:, :, 0])
        np.multiply(h[:-1] - n, z * (1.0 - z), out=du[:, :, 1])
        dv = du.copy()
        dv[:, :, 2] *= r
        g = self._bptt(d_h_local, dv, z, truncate)

        d_u = g[:, :, None, :] * du
        d_v = g[:, :, None, :] * dv
        d_v_rows = d_v.reshape(-1, 3 * size)
        np.matmul(d_v_rows.T, h[:-1].reshape(-1, size), out=grads["W_hh"])
        np.sum(d_v_rows, axis=0, out=grads["b_hh"])
        self._input_weight_grads(x, d_u.reshape(-1, 3 * size), grads)
        return LossResult(loss=loss, grads=grads, h_last=h[-1].copy(), hidden=hidden,
                          dh_norms=self._norms(g), outputs=outputs, flat_grads=flat_grads)

    def _bptt(
        self, d_h_local: np.ndarray, dv: np.ndarray, z: np.ndarray, truncate: int | None
    ) -> np.ndarray:
        """(G5): g_t = dL/dh_t (T, B, H) for every t."""
        steps, batch, size = d_h_local.shape
        w_hh = self.params["W_hh"]
        if truncate is None or truncate >= steps - 1:
            g = d_h_local  # turned into g_t in place
            d_v = np.empty((batch, 3, size), dtype=self.dtype)
            carry = np.empty((batch, size), dtype=self.dtype)
            for t in range(steps - 1, 0, -1):
                np.multiply(g[t][:, None, :], dv[t], out=d_v)
                np.dot(d_v.reshape(batch, 3 * size), w_hh, out=carry)
                g[t - 1] += carry
                np.multiply(g[t], z[t], out=carry)
                g[t - 1] += carry
            return g
        # Truncated: contributions kept apart by age, as in the vanilla cell.
        k = int(truncate)
        g = np.empty_like(d_h_local)
        by_age = np.zeros((k + 1, batch, size), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            by_age[0] = d_h_local[t]
            g[t] = by_age.sum(axis=0)
            if k > 0:
                young = by_age[:-1, :, None, :] * dv[t]
                by_age[1:] = young.reshape(k, batch, 3 * size) @ w_hh + by_age[:-1] * z[t]
        return g


def make_model(
    cell: str,
    input_size: int,
    hidden_size: int,
    output_size: int,
    activation: str = "tanh",
    init: str = "uniform",
    spectral_radius: float | None = None,
    seed: int | None = 0,
    dtype: str = "float64",
    rng: np.random.Generator | None = None,
    forget_bias: float = 1.0,
) -> RNN:
    """The model of one cell type ("rnn", "lstm" or "gru"), all built from the same arguments;
    ``forget_bias`` applies to the gated cells (the LSTM's f, the GRU's z)."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    args = (input_size, hidden_size, output_size, activation, init, spectral_radius, seed, dtype, rng)
    if cell == "lstm":
        return LSTM(*args, forget_bias=forget_bias)
    return GRU(*args, forget_bias=forget_bias) if cell == "gru" else RNN(*args)
