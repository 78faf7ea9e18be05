"""Optimizers, gradient clipping and a halve-on-plateau learning-rate schedule.

Clipping is kept apart from the optimizers so that the norms before and after clipping
can be reported, and so that any optimizer can be combined with any clipping mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
CLIP_MODES = ("none", "value", "norm")


# ---------------------------------------------------------------------------- clipping
def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt(Σ_p ‖g_p‖²): the norm of all gradients seen as one long vector."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def param_norms(grads: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(np.sqrt(np.vdot(g, g))) for name, g in grads.items()}


@dataclass(frozen=True)
class ClipResult:
    grads: dict[str, np.ndarray]
    norms_before: dict[str, float]
    norms_after: dict[str, float]
    global_before: float
    global_after: float
    fired: bool  # True if clipping changed any gradient


def clip_gradients(grads: dict[str, np.ndarray], mode: str = "none",
                   threshold: float = 5.0, in_place: bool = False) -> ClipResult:
    """Clip ``grads`` and report norms before and after.

    - ``value``: every element into [-threshold, threshold] (min-char-rnn, the tutorials);
      this changes the gradient's direction.
    - ``norm``: if ‖g‖ > threshold, g ← threshold · g / ‖g‖ (Pascanu et al. 2013, Alg. 1);
      this keeps the direction.

    With ``in_place=True`` the given arrays are overwritten (no copies: the training loop's
    choice); otherwise they are left untouched and clipped copies are returned.
    """
    if mode not in CLIP_MODES:
        raise ValueError(f"unknown clip mode {mode!r}; choose one of {', '.join(CLIP_MODES)}")
    if mode != "none" and not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"clip threshold must be a positive number, got {threshold!r}")
    before = param_norms(grads)
    global_before = float(np.sqrt(sum(n * n for n in before.values())))
    fired = False
    clipped = grads
    if mode == "value":
        # |g_i| <= ||g_p||, so only a parameter whose norm exceeds the threshold can hold an
        # element that does: most steps need no extra pass over the gradients.
        fired = any(before[k] > threshold and bool(np.abs(g).max() > threshold)
                    for k, g in grads.items())
        if fired:
            clipped = {k: np.clip(g, -threshold, threshold, out=g if in_place else None)
                       for k, g in grads.items()}
    elif mode == "norm" and global_before > threshold:
        fired = True
        scale = threshold / global_before
        clipped = {k: np.multiply(g, scale, out=g if in_place else None) for k, g in grads.items()}
    after = param_norms(clipped) if fired else dict(before)
    global_after = float(np.sqrt(sum(n * n for n in after.values()))) if fired else global_before
    return ClipResult(clipped, before, after, global_before, global_after, fired)


# -------------------------------------------------------------------------- optimizers
class Optimizer:
    """Base class: ``step`` updates parameters in place; ``lr`` may be changed at any time."""

    name = "base"

    def __init__(self, lr: float) -> None:
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"learning rate must be a positive number, got {lr!r}")
        self.lr = float(lr)
        self.state: dict[str, np.ndarray] = {}
        self.steps = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        for name, p in params.items():
            self._update(name, p, grads[name])

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _slot(self, key: str, like: np.ndarray) -> np.ndarray:
        if key not in self.state:
            self.state[key] = np.zeros_like(like)
        return self.state[key]

    def _scratch(self, name: str, like: np.ndarray) -> np.ndarray:
        """A reusable work buffer (not part of the state): updates allocate nothing per step."""
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = buffers[name] = np.empty_like(like)
        return buf

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays needed to resume exactly (the step count is stored as a 0-d array)."""
        return {**{k: v.copy() for k, v in self.state.items()}, "steps": np.array(self.steps)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.steps = int(state.get("steps", 0))
        self.state = {k: np.array(v) for k, v in state.items() if k != "steps"}


class SGD(Optimizer):
    """θ ← θ - η g."""

    name = "sgd"

    def _update(self, name, p, g):
        step = np.multiply(g, self.lr, out=self._scratch(name, p))
        p -= step


class Momentum(Optimizer):
    """Heavy ball: v ← μ v + g; θ ← θ - η v (the PyTorch form, so changing η live is safe)."""

    name = "momentum"

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = float(momentum)

    def _update(self, name, p, g):
        v = self._slot(f"velocity.{name}", p)
        v *= self.momentum
        v += g
        step = np.multiply(v, self.lr, out=self._scratch(name, p))
        p -= step


class Adagrad(Optimizer):
    """min-char-rnn's update: m ← m + g²; θ ← θ - η g / sqrt(m + ε)."""

    name = "adagrad"

    def __init__(self, lr: float, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.eps = float(eps)

    def _update(self, name, p, g):
        m = self._slot(f"sum_sq.{name}", p)
        work = np.multiply(g, g, out=self._scratch(name, p))
        m += work
        np.add(m, self.eps, out=work)
        np.sqrt(work, out=work)
        np.divide(g, work, out=work)
        work *= self.lr
        p -= work


class RMSprop(Optimizer):
    """v ← ρ v + (1-ρ) g²; θ ← θ - η g / (sqrt(v) + ε)."""

    name = "rmsprop"

    def __init__(self, lr: float, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, name, p, g):
        v = self._slot(f"mean_sq.{name}", p)
        work = np.multiply(g, g, out=self._scratch(name, p))
        work *= 1.0 - self.rho
        v *= self.rho
        v += work
        np.sqrt(v, out=work)
        work += self.eps
        np.divide(g, work, out=work)
        work *= self.lr
        p -= work


class Adam(Optimizer):
    """Kingma & Ba (2015), Alg. 1, with bias correction of both moments."""

    name = "adam"

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, name, p, g):
        m = self._slot(f"m.{name}", p)
        v = self._slot(f"v.{name}", p)
        work = self._scratch(name, p)
        m *= self.beta1
        np.multiply(g, 1.0 - self.beta1, out=work)
        m += work
        v *= self.beta2
        np.multiply(g, g, out=work)
        work *= 1.0 - self.beta2
        v += work
        # θ ← θ - η m̂ / (sqrt(v̂) + ε), with m̂ = m / (1-β1^t) and v̂ = v / (1-β2^t).
        np.divide(v, 1.0 - self.beta2 ** self.steps, out=work)
        np.sqrt(work, out=work)
        work += self.eps
        np.divide(m, work, out=work)
        work *= self.lr / (1.0 - self.beta1 ** self.steps)
        p -= work


_OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Adagrad, RMSprop, Adam)
}


def make_optimizer(name: str, lr: float) -> Optimizer:
    if name not in _OPTIMIZER_CLASSES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return _OPTIMIZER_CLASSES[name](lr)


# ---------------------------------------------------------------------------- schedule
class HalveOnPlateau:
    """Halve the learning rate when an evaluated loss fails to improve on the best so far.

    The classic tutorial halves when the loss rises; ``patience`` evaluations without a
    new best are allowed first (patience=1: halve at the first evaluation that is no better).
    """

    def __init__(self, patience: int = 1, factor: float = 0.5, min_lr: float = 1e-6) -> None:
        self.patience, self.factor, self.min_lr = int(patience), float(factor), float(min_lr)
        self.best = float("inf")
        self.bad_evals = 0

    def update(self, optimizer: Optimizer, loss: float) -> bool:
        """Record ``loss``; returns True if the learning rate was halved."""
        if loss < self.best:
            self.best, self.bad_evals = loss, 0
            return False
        self.bad_evals += 1
        if self.bad_evals >= self.patience and optimizer.lr * self.factor >= self.min_lr:
            optimizer.lr *= self.factor
            self.bad_evals = 0
            return True
        return False

    def state(self) -> dict[str, float]:
        return {"best": self.best, "bad_evals": self.bad_evals}

    def load_state(self, state: dict[str, float]) -> None:
        self.best, self.bad_evals = float(state["best"]), int(state["bad_evals"])
