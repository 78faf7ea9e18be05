"""Output heads: the loss on top of the RNN's outputs and its gradient.

Each head returns ``(loss, d_outputs)`` where ``loss`` is a mean (so its size does not
depend on batch or sequence length) and ``d_outputs`` is exactly ``dloss/doutputs``.

A ``mask`` (1 for a real target, 0 for padding, one per row) makes the mean run over the real
targets only: L = Σ_n m_n ℓ_n / Σ_n m_n. Padded rows get a gradient of exactly zero, so
padding contributes nothing to the loss or to any gradient behind it (docs/engine.md).
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


def _real_rows(mask: np.ndarray | None, rows: int) -> tuple[np.ndarray | None, float]:
    """(boolean "is a real target" per row, how many there are) for a 0/1 mask; (None, N)
    without one. Refuses masks of the wrong size or that leave nothing to score."""
    if mask is None:
        return None, float(rows)
    mask = np.asarray(mask).reshape(-1)
    if mask.size != rows:
        raise ValueError(f"mask has {mask.size} entries for {rows} targets")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("mask entries must be 0 (padding) or 1 (a real target)")
    real = mask.astype(bool)
    count = float(real.sum())
    if count == 0:
        raise ValueError("the mask leaves no target to score")
    return real, count


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray,
                          mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``logits`` (N, O) against integer ``targets`` (N,).

    L = -(1/N) Σ_n log p_n[y_n] with p = softmax(logits); dL/dlogits = (p - onehot(y)) / N.
    With a 0/1 ``mask``: L = -(1/M) Σ_n m_n log p_n[y_n] with M = Σ_n m_n, and
    dL/dlogits = m_n (p - onehot(y)) / M: padded rows are set to exactly zero.
    """
    n = logits.shape[0]
    real, count = _real_rows(mask, n)
    rows = np.arange(n)
    # log p[y] = z[y] - m - log Σ exp(z - m), with m = max z for stability; exp is taken once.
    exp_shifted = logits - logits.max(axis=1, keepdims=True)
    target_shifted = exp_shifted[rows, targets]
    np.exp(exp_shifted, out=exp_shifted)
    norm = exp_shifted.sum(axis=1, keepdims=True)
    if real is None:
        loss = float((np.log(norm).sum() - target_shifted.sum()) / n)
    else:
        loss = float((np.log(norm[real, 0]).sum() - target_shifted[real].sum()) / count)
    d_logits = exp_shifted
    d_logits /= norm  # p = softmax(z)
    d_logits[rows, targets] -= 1.0
    d_logits /= count
    if real is not None:
        d_logits[~real] = 0.0
    return loss, d_logits


def mean_squared_error(predictions: np.ndarray, targets: np.ndarray,
                       mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Plain mean of squared errors over every element: L = mean((p - y)^2), dL/dp = 2(p - y)/N.

    With a 0/1 ``mask`` per row of (N, O) predictions, the mean runs over the M·O elements
    of the real rows, and padded rows get exactly zero gradient.
    """
    diff = predictions - targets
    if mask is None:
        loss = float(np.mean(diff * diff))
        return loss, (2.0 / diff.size) * diff
    real, count = _real_rows(mask, diff.shape[0])
    assert real is not None  # a mask was given
    elements = count * diff.shape[1]
    kept = diff[real]
    loss = float(np.sum(kept * kept) / elements)
    grad = (2.0 / elements) * diff
    grad[~real] = 0.0
    return loss, grad


def head_loss(head: str, outputs: np.ndarray, targets: np.ndarray,
              mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Loss and gradient for any head. ``outputs`` is (T, B, O) or (B, O); ``mask`` (T, B)
    or (B,), 1 for real targets and 0 for padding, or None when every target is real."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    out_dim = outputs.shape[-1]
    flat = outputs.reshape(-1, out_dim)
    if is_softmax_head(head):
        loss, d_flat = softmax_cross_entropy(flat, np.asarray(targets).reshape(-1), mask)
    else:
        loss, d_flat = mean_squared_error(flat, np.asarray(targets, dtype=flat.dtype).reshape(flat.shape),
                                          mask)
    return loss, d_flat.reshape(outputs.shape)
