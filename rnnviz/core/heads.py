"""Output heads: the loss on top of the RNN's outputs and its gradient.

Each head returns ``(loss, d_outputs)`` where ``loss`` is a mean (so its size does not
depend on batch or sequence length) and ``d_outputs`` is exactly ``dloss/doutputs``.
"""

from __future__ import annotations

import numpy as np

HEADS = ("seq_softmax", "last_softmax", "seq_mse", "last_mse")


def is_sequence_head(head: str) -> bool:
    """True for heads with a target at every timestep, False for many-to-one heads."""
    return head.startswith("seq_")


def is_softmax_head(head: str) -> bool:
    return head.endswith("_softmax")


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax over the last axis (subtract the max before exp)."""
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``logits`` (N, O) against integer ``targets`` (N,).

    L = -(1/N) Σ_n log p_n[y_n] with p = softmax(logits); dL/dlogits = (p - onehot(y)) / N.
    """
    n = logits.shape[0]
    rows = np.arange(n)
    # log p[y] = z[y] - m - log Σ exp(z - m), with m = max z for stability; exp is taken once.
    exp_shifted = logits - logits.max(axis=1, keepdims=True)
    target_shifted = exp_shifted[rows, targets]
    np.exp(exp_shifted, out=exp_shifted)
    norm = exp_shifted.sum(axis=1, keepdims=True)
    loss = float((np.log(norm).sum() - target_shifted.sum()) / n)
    d_logits = exp_shifted
    d_logits /= norm  # p = softmax(z)
    d_logits[rows, targets] -= 1.0
    d_logits /= n
    return loss, d_logits


def mean_squared_error(predictions: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Plain mean of squared errors over every element: L = mean((p - y)^2), dL/dp = 2(p - y)/N."""
    diff = predictions - targets
    loss = float(np.mean(diff * diff))
    return loss, (2.0 / diff.size) * diff


def head_loss(head: str, outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and gradient for any head. ``outputs`` is (T, B, O) or (B, O)."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    out_dim = outputs.shape[-1]
    flat = outputs.reshape(-1, out_dim)
    if is_softmax_head(head):
        loss, d_flat = softmax_cross_entropy(flat, np.asarray(targets).reshape(-1))
    else:
        loss, d_flat = mean_squared_error(flat, np.asarray(targets, dtype=flat.dtype).reshape(flat.shape))
    return loss, d_flat.reshape(outputs.shape)
