"""A vanilla (Elman) RNN with batched forward pass and exact backpropagation through time.

Equations (per batch row; ``f`` is the activation):

    a_t = W_xh x_t + W_hh h_{t-1} + b_h          (1)
    h_t = f(a_t)                                  (2)
    o_t = W_hy h_t + b_y                          (3)

Backward, with g_t = dL/dh_t the *total* gradient reaching h_t:

    g_t = dL_t/dh_t + W_hhᵀ (g_{t+1} ⊙ f'(a_{t+1}))   (4)   ← W_hh *transposed*
    dL/dW_hh = Σ_t (g_t ⊙ f'(a_t)) h_{t-1}ᵀ           (5)
    dL/dW_xh = Σ_t (g_t ⊙ f'(a_t)) x_tᵀ               (6)
    dL/db_h  = Σ_t  g_t ⊙ f'(a_t)                     (7)

Only the recurrence (1, 2, 4) runs in a Python loop over time; the input projection,
the output layer, the loss and the weight gradients (3, 5, 6, 7) are single large matrix
products over the whole chunk. That is where the speed over the classic tutorials comes from.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rnnviz.core.heads import HEADS, head_loss, is_sequence_head, softmax
from rnnviz.core.init import INITS, init_params

ACTIVATIONS = ("tanh", "sigmoid", "relu")
DTYPES = ("float64", "float32")
PARAM_NAMES = ("W_xh", "W_hh", "W_hy", "b_h", "b_y")
GREEDY_BELOW = 1e-6  # temperatures below this sample greedily (logits / T would overflow)


class _ParamViews(dict):
    """The parameter dict: assigning an array copies it into the existing view of the flat
    buffer, so ``model.params["W_hh"] = w`` still trains (the optimizer updates the buffer)."""

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        view = self[name]  # unknown names raise KeyError
        value = np.asarray(value)
        if value.shape != view.shape:
            raise ValueError(f"parameter {name} has shape {view.shape}; got an array of shape {value.shape}")
        view[...] = value

    def __copy__(self) -> dict[str, np.ndarray]:
        return dict(self)

    def __deepcopy__(self, memo: dict) -> dict[str, np.ndarray]:
        return {name: view.copy() for name, view in self.items()}


def _sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # 1 / (1 + e^-a) written as 0.5 (1 + tanh(a/2)): identical, and never overflows.
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _relu(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(a, 0.0, out=out)


_ACTIVATION_FUNCS: dict[str, Callable[..., np.ndarray]] = {"tanh": np.tanh, "sigmoid": _sigmoid,
                                                           "relu": _relu}


def activation_derivative(hidden: np.ndarray, activation: str) -> np.ndarray:
    """f'(a) written in terms of h = f(a), so pre-activations need not be stored."""
    if activation == "tanh":
        return 1.0 - hidden * hidden
    if activation == "sigmoid":
        return hidden * (1.0 - hidden)
    return (hidden > 0).astype(hidden.dtype)


@dataclass(frozen=True)
class LossResult:
    """Everything one forward + backward pass computes."""

    loss: float
    grads: dict[str, np.ndarray]
    h_last: np.ndarray  # (B, state_size) full state after the last step (h; h and c for the LSTM)
    hidden: np.ndarray  # (T, B, H)
    dh_norms: np.ndarray  # (T,) Frobenius norm over the batch of g_t = dL/dh_t
    outputs: np.ndarray  # (T, B, O) for seq_* heads, (B, O) for last_* heads
    flat_grads: np.ndarray | None = None  # all gradients in one array; ``grads`` are views of it
    dc_norms: np.ndarray | None = None  # (T,) ‖dL/dc_t‖ of the LSTM's cell state; None for other cells


class RNN:
    """A single-layer RNN with a linear output layer.

    ``x`` is either an int array (T, B) of token ids, looked up by index as columns of
    W_xh (never multiplied as one-hot vectors), or a float array (T, B, I).

    It is also the base of the gated cells (``rnnviz.core.gated``), which share its
    parameter buffer, output layer, heads and sampling; every cell's state is one array of
    ``state_size`` columns per batch row (h here; h and c side by side for the LSTM).
    """

    cell = "rnn"
    param_names: tuple[str, ...] = PARAM_NAMES

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
    ) -> None:
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        if spectral_radius is not None and not (np.isfinite(spectral_radius) and spectral_radius > 0):
            raise ValueError(f"spectral_radius must be a positive number, got {spectral_radius!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.output_size = int(output_size)
        self.activation = activation
        self.init = init
        self.spectral_radius = spectral_radius
        self.dtype = np.dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        fresh = self._fresh_params(rng)
        # All parameters live in one flat buffer; ``params`` holds named views into it, so an
        # optimizer can update everything with a handful of vectorised operations.
        self._layout: list[tuple[str, int, int, tuple[int, ...]]] = []
        offset = 0
        for name in self.param_names:
            self._layout.append((name, offset, offset + fresh[name].size, fresh[name].shape))
            offset += fresh[name].size
        self._flat = np.empty(offset, dtype=self.dtype)
        self._params = self._views(self._flat)
        self.set_params(fresh)
        self._f = _ACTIVATION_FUNCS[activation]

    def _fresh_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Newly initialised float64 parameters, before they are copied into the flat buffer."""
        return init_params(self.input_size, self.hidden_size, self.output_size, self.init, rng,
                           self.spectral_radius)

    def _views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named parameter-shaped views into a flat buffer laid out like ``flat_params``."""
        return _ParamViews({name: flat[start:stop].reshape(shape)
                            for name, start, stop, shape in self._layout})

    @property
    def params(self) -> dict[str, np.ndarray]:
        """"W_xh" (H,I), "W_hh" (H,H), "W_hy" (O,H), "b_h" (H,), "b_y" (O,): views of ``flat_params``."""
        return self._params

    @params.setter
    def params(self, values: dict[str, np.ndarray]) -> None:
        self.set_params(values)

    @property
    def flat_params(self) -> np.ndarray:
        """Every parameter in one 1-D array (W_xh, W_hh, W_hy, b_h, b_y, each row-major)."""
        return self._flat

    def __deepcopy__(self, memo: dict) -> RNN:
        clone = copy.copy(self)
        clone._flat = self._flat.copy()
        clone._params = clone._views(clone._flat)
        return clone

    # ------------------------------------------------------------------ forward
    def _states(self, x: np.ndarray, h0: np.ndarray | None) -> np.ndarray:
        """(T+1, B, H): h0 followed by h_0..h_{T-1}, so that ``states[:-1]`` are the previous
        states eq. (5) needs and ``states[1:]`` the hidden states, without extra copies."""
        p = self.params
        token_input = self._check_input(x)
        steps, batch = x.shape[:2]
        states = np.empty((steps + 1, batch, self.hidden_size), dtype=self.dtype)
        states[0] = self._initial_state(batch, h0)
        pre = states[1:]
        if token_input:
            # Column lookup instead of a one-hot product: W_xh e_k = W_xh[:, k]. With fewer
            # lookups than tokens in the vocabulary (a word model), gathering the columns
            # directly beats first copying all of W_xh into row order; both copy exactly.
            if x.size < self.input_size:
                pre[...] = p["W_xh"].T[x]
            else:
                np.take(np.ascontiguousarray(p["W_xh"].T), x, axis=0, out=pre)
        else:
            np.matmul(x.astype(self.dtype, copy=False), p["W_xh"].T, out=pre)
        pre += p["b_h"]
        w_hh_t = p["W_hh"].T
        f = self._f
        recurrent = np.empty((batch, self.hidden_size), dtype=self.dtype)
        h = states[0]
        for t in range(1, steps + 1):
            # Eq. (1)-(2), in place: states[t] already holds W_xh x_t + b_h.
            a_t = states[t]
            np.dot(h, w_hh_t, out=recurrent)
            a_t += recurrent
            h = f(a_t, out=a_t)
        return states

    def _check_input(self, x: np.ndarray) -> bool:
        """Raise ValueError unless ``x`` is (T, B) token ids or (T, B, I) values; True for ids."""
        token_input = np.issubdtype(x.dtype, np.integer)
        if token_input:
            if x.ndim != 2:
                raise ValueError(f"token input must have shape (T, B), got {x.shape}")
            if x.size and (x.min() < 0 or x.max() >= self.input_size):
                raise ValueError(f"token ids must lie in [0, {self.input_size}), got "
                                 f"[{x.min()}, {x.max()}]")
        elif x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"real-valued input must have shape (T, B, {self.input_size}), "
                             f"got {x.shape}")
        return token_input

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """Hidden states (T, B, H) for input ``x`` from initial state ``h0`` (zeros if None)."""
        return self._states(np.asarray(x), h0)[1:]

    @property
    def state_size(self) -> int:
        """Columns of the recurrent state (``h0``, ``h_last``, ``step``): H for this cell."""
        return self.hidden_size

    def hidden_of(self, state: np.ndarray) -> np.ndarray:
        """The hidden state h (what the output layer reads) within a full recurrent state."""
        return state[..., :self.hidden_size]

    def final_state(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """The full recurrent state (B, state_size) after the last step of ``x``."""
        return self.forward(x, h0)[-1]

    @property
    def recurrent_matrix(self) -> np.ndarray:
        """The square H×H matrix whose spectrum the app shows: W_hh itself for this cell."""
        return self.params["W_hh"]

    def _initial_state(self, batch: int, h0: np.ndarray | None) -> np.ndarray:
        if h0 is None:
            return np.zeros((batch, self.state_size), dtype=self.dtype)
        h0 = np.asarray(h0, dtype=self.dtype)
        if h0.shape != (batch, self.state_size):
            raise ValueError(f"h0 must have shape ({batch}, {self.state_size}), got {h0.shape}")
        return h0

    def output(self, hidden: np.ndarray) -> np.ndarray:
        """Eq. (3) for hidden states of any leading shape (one 2-D product, not T small ones)."""
        rows = hidden.reshape(-1, self.hidden_size) @ self.params["W_hy"].T
        rows += self.params["b_y"]
        return rows.reshape(*hidden.shape[:-1], self.output_size)

    def predict(self, x: np.ndarray, head: str = "seq_softmax",
                h0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Outputs (logits or values) and hidden states, no gradients."""
        hidden = self.forward(x, h0)
        outs = self.output(hidden if is_sequence_head(head) else hidden[-1])
        return outs, hidden

    def step(self, x_t: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One recurrence step from (B,) token ids or (B, I) values: returns h_t (B, H)."""
        x_t = np.asarray(x_t)
        return self.forward(x_t[None], h)[0]

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
        """Forward pass, loss, and exact gradients of that loss by BPTT.

        ``truncate=k`` lets the gradient of each step's loss L_t flow back through at most
        k recurrent steps (to h_{t-k}), as the tutorials' ``bptt_truncate`` does; ``None``
        is full BPTT. ``res.loss`` is a mean over all targets (T·B for seq_* heads, B for
        last_* heads, times O for MSE heads).

        ``mask`` (T, B) for seq_* heads, (B,) for last_* heads: 1 where a target is real, 0
        for padding. The loss is then the mean over real targets only, and padded targets
        add exactly zero to it and to every gradient (their output gradient is zero, so
        nothing flows back from them through BPTT).
        """
        x = self._check_loss_args(x, head, truncate)
        states = self._states(x, h0)
        hidden = states[1:]
        size = self.hidden_size
        flat_grads = np.empty_like(self._flat)
        grads = self._views(flat_grads)
        loss, outputs, d_h_local = self._output_and_head(hidden, y, head, grads, mask)

        f_prime = activation_derivative(hidden, self.activation)
        d_pre, dh_norms = self._backward_through_time(d_h_local, f_prime, truncate)

        # Eq. (5)-(7): weight gradients as single matrix products over all (t, b).
        d_pre_flat = d_pre.reshape(-1, size)
        np.matmul(d_pre_flat.T, states[:-1].reshape(-1, size), out=grads["W_hh"])
        np.sum(d_pre_flat, axis=0, out=grads["b_h"])
        if np.issubdtype(x.dtype, np.integer):
            ids, rows = x.reshape(-1), d_pre_flat
            if mask is not None:
                # Rows that carry no gradient (padding) are left out, not added as zeros: the
                # grouped sums would otherwise round differently with what the padding holds.
                live = rows.any(axis=1)
                ids, rows = ids[live], rows[live]
            grads["W_xh"][...] = self._scatter_add_by_token(ids, rows).T
        else:
            x_rows = x.astype(self.dtype, copy=False).reshape(-1, self.input_size)
            np.matmul(d_pre_flat.T, x_rows, out=grads["W_xh"])
        return LossResult(loss=loss, grads=grads, h_last=hidden[-1].copy(), hidden=hidden,
                          dh_norms=dh_norms, outputs=outputs, flat_grads=flat_grads)

    @staticmethod
    def _check_loss_args(x: np.ndarray, head: str, truncate: int | None) -> np.ndarray:
        """The checks every cell's ``loss_and_grads`` makes before its forward pass."""
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
        if truncate is not None and (int(truncate) != truncate or truncate < 0):
            raise ValueError(f"truncate must be None or a non-negative integer, got {truncate!r}")
        x = np.asarray(x)
        if x.shape[0] == 0:
            raise ValueError("input sequence is empty (T = 0)")
        return x

    def _output_and_head(self, hidden: np.ndarray, y: np.ndarray, head: str, grads: dict[str, np.ndarray],
                         mask: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
        """Eq. (3) and the head's loss over the whole chunk at once, shared by every cell.

        Fills ``grads["W_hy"]`` and ``grads["b_y"]``; returns the loss, the outputs and
        dL_t/dh_t for every t (T, B, H), the local gradient the cell's BPTT starts from.
        """
        seq = is_sequence_head(head)
        last_hidden = hidden if seq else hidden[-1]
        outputs = self.output(last_hidden)
        if mask is not None and np.shape(mask) != outputs.shape[:-1]:
            raise ValueError(f"mask must have shape {outputs.shape[:-1]}, got {np.shape(mask)}")
        loss, d_out = head_loss(head, outputs, y, mask)  # padded targets: zero loss and gradient
        d_out = d_out.astype(self.dtype, copy=False)
        w_hy = self.params["W_hy"]
        d_out_rows = d_out.reshape(-1, self.output_size)
        np.matmul(d_out_rows.T, last_hidden.reshape(-1, self.hidden_size), out=grads["W_hy"])
        np.sum(d_out_rows, axis=0, out=grads["b_y"])
        if seq:
            d_h_local = (d_out_rows @ w_hy).reshape(hidden.shape)  # dL_t/dh_t for every t
        else:
            d_h_local = np.zeros_like(hidden)
            d_h_local[-1] = d_out @ w_hy
        return loss, outputs, d_h_local

    def _scatter_add_by_token(self, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(I, H) array whose row k is the sum of ``rows`` where ``ids == k``.

        Eq. (6) with one-hot x_t is exactly this scatter-add. Sorting the ids and summing runs
        with ``np.add.reduceat`` is several times faster than ``np.add.at``.
        """
        out = np.zeros((self.input_size, rows.shape[1]), dtype=self.dtype)
        if ids.size == 0:
            return out
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        run_starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
        out[sorted_ids[run_starts]] = np.add.reduceat(rows[order], run_starts, axis=0)
        return out

    def _backward_through_time(
        self, d_h_local: np.ndarray, f_prime: np.ndarray, truncate: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Eq. (4): returns dL/da_t for every t (T, B, H) and ‖dL/dh_t‖ (T,)."""
        steps = d_h_local.shape[0]
        w_hh = self.params["W_hh"]
        d_pre = np.empty_like(d_h_local)
        dh_norms = np.empty(steps, dtype=np.float64)
        if truncate is None or truncate >= steps - 1:
            # d_h_local[t] is turned into g_t in place; three array operations per step.
            g = d_h_local
            carry = np.empty_like(g[0])
            for t in range(steps - 1, -1, -1):
                if t < steps - 1:
                    g[t] += carry
                np.multiply(g[t], f_prime[t], out=d_pre[t])
                if t > 0:
                    np.dot(d_pre[t], w_hh, out=carry)  # row vectors @ W_hh = W_hhᵀ applied to columns
            dh_norms[:] = np.sqrt(np.einsum("tbh,tbh->t", g, g, dtype=np.float64))
            return d_pre, dh_norms
        # Truncated: keep the gradient from each source step L_{t+a} separately by its
        # age a = 0..k, so that contributions older than k recurrent steps can be dropped.
        k = int(truncate)
        by_age = np.zeros((k + 1, *d_h_local.shape[1:]), dtype=d_h_local.dtype)
        for t in range(steps - 1, -1, -1):
            by_age[0] = d_h_local[t]
            g_t = by_age.sum(axis=0)
            dh_norms[t] = np.sqrt(np.vdot(g_t, g_t))
            np.multiply(g_t, f_prime[t], out=d_pre[t])
            if k > 0:
                # Each age class moves one step back; the oldest (age k) falls off.
                by_age[1:] = (by_age[:-1] * f_prime[t]) @ w_hh
        return d_pre, dh_norms

    # ----------------------------------------------------------------- sampling
    def sample(
        self,
        prime_ids: Sequence[int],
        length: int,
        temperature: float = 1.0,
        rng: np.random.Generator | None = None,
        h0: np.ndarray | None = None,
    ) -> Iterator[int]:
        """Yield ``length`` token ids, one at a time, after priming with every id given.

        The whole prime sequence is fed through the recurrence; the distribution after its
        last token gives the first sampled id. ``temperature=0`` (or below GREEDY_BELOW) is greedy (argmax).
        Invalid arguments raise ValueError here, at the call, not at the first ``next()``.
        """
        if len(prime_ids) == 0:
            raise ValueError("sampling needs at least one prime token")
        if temperature < 0 or not np.isfinite(temperature):
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length!r}")
        rng = rng if rng is not None else np.random.default_rng()
        ids = np.asarray(prime_ids, dtype=np.int64).reshape(-1, 1)
        state = self.final_state(ids, None if h0 is None else np.asarray(h0).reshape(1, -1))
        return self._sample_from(state, length, temperature, rng)

    def _sample_from(self, h: np.ndarray, length: int, temperature: float,
                     rng: np.random.Generator) -> Iterator[int]:
        for _ in range(length):
            logits = self.output(self.hidden_of(h))[0].astype(np.float64)
            if temperature < GREEDY_BELOW:
                token = int(np.argmax(logits))
            else:
                probs = softmax(logits, temperature)
                token = int(rng.choice(self.output_size, p=probs))
            yield token
            h = self.step(np.array([token]), h)

    # ------------------------------------------------------------------- utilities
    def num_params(self) -> int:
        return sum(v.size for v in self.params.values())

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace the parameters, checking names and shapes (e.g. from a checkpoint)."""
        for name in self.param_names:
            if name not in params:
                raise ValueError(f"missing parameter {name}")
            if params[name].shape != self.params[name].shape:
                raise ValueError(f"parameter {name} has shape {params[name].shape}, "
                                 f"expected {self.params[name].shape}")
        for name in self.param_names:
            self._params[name][...] = params[name]
