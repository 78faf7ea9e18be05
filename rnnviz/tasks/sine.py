"""Next-value regression on sine waves, with one-step and free-running predictions.

Each training window starts at a random phase; inputs may carry Gaussian noise, targets
are the clean next values. Free-running generation primes the model with true values and
then feeds its own predictions back in, which shows whether it learned the dynamics or
only to copy its last input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnviz.core.rnn import RNN
from rnnviz.tasks.base import Batch, Task

EVAL_WINDOWS = 64
PREVIEW_PERIODS = 3  # preview length, in seq_len windows


class SineTask(Task):
    name = "sine"
    head = "seq_mse"
    input_size = 1
    output_size = 1
    baseline_loss = 0.5  # mean of sin² over a period: the loss of always predicting 0

    def __init__(self, seq_len: int, batch: int, freq: float, noise: float, seed: int) -> None:
        self.seq_len, self.batch, self.freq, self.noise = seq_len, batch, freq, noise
        eval_rng = np.random.default_rng([seed, 7])  # fixed held-out phases, apart from training
        self.eval_phases = eval_rng.uniform(0.0, 2.0 * np.pi, size=EVAL_WINDOWS)

    def wave(self, phases: np.ndarray, length: int) -> np.ndarray:
        """sin(2π f t + φ) for t = 0..length-1: (length, len(phases))."""
        t = np.arange(length)[:, None]
        return np.sin(2.0 * np.pi * self.freq * t + phases[None, :])

    def next_batch(self, rng: np.random.Generator) -> Batch:
        phases = rng.uniform(0.0, 2.0 * np.pi, size=self.batch)
        clean = self.wave(phases, self.seq_len + 1)
        x = clean[:-1]
        if self.noise > 0:
            x = x + rng.normal(0.0, self.noise, size=x.shape)
        return Batch(x=x[:, :, None], y=clean[1:, :, None], carry_state=False,
                     tokens=self.seq_len * self.batch)

    def free_run(self, model: RNN, prime: np.ndarray, length: int) -> np.ndarray:
        """Prime with ``prime`` (P,) true values, then generate ``length`` values from feedback."""
        # The whole recurrent state is carried (h, and c for the LSTM); the output reads h.
        state = model.final_state(prime.reshape(-1, 1, 1).astype(model.dtype))
        out = np.empty(length)
        value = float(model.output(model.hidden_of(state))[0, 0])
        for i in range(length):
            out[i] = value
            state = model.step(np.array([[value]], dtype=model.dtype), state)
            value = float(model.output(model.hidden_of(state))[0, 0])
        return out

    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        clean = self.wave(self.eval_phases, self.seq_len + 1)
        pred, _ = model.predict(clean[:-1, :, None], head=self.head)
        err = pred[:, :, 0].astype(np.float64) - clean[1:]
        mse = float(np.mean(err * err))
        # Preview: one long held-out wave; one-step predictions from h = 0 over all of it,
        # free-running generation after the first seq_len true values.
        n = PREVIEW_PERIODS * self.seq_len
        truth = self.wave(self.eval_phases[:1], n + 1)[:, 0]
        one_step_pred, _ = model.predict(truth[:-1].reshape(-1, 1, 1), head=self.head)
        one_step = np.full(n + 1, np.nan)
        one_step[1:] = one_step_pred[:, 0, 0]
        prime_len = self.seq_len
        free = np.full(n + 1, np.nan)
        free[prime_len:] = self.free_run(model, truth[:prime_len], n + 1 - prime_len)
        preview = {"kind": "sine", "truth": truth, "one_step": one_step, "free_run": free,
                   "prime_len": prime_len}
        return {"val_loss": mse, "rmse": float(np.sqrt(mse))}, preview

    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        return tuple(f"{v:+.2f}" for v in x[:, column, 0])
