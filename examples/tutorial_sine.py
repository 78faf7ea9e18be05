"""The sine-wave tutorial's job: predict the next value of a wave, judged by its error.

The ``sine`` preset: windows of 50 points, one period every 20 steps; the error is the
one-step root-mean-square error on held-out waves, every window started from h = 0.

Run:  PYTHONPATH=. python examples/tutorial_sine.py
"""

from __future__ import annotations

from rnnviz.blas import limit_blas_threads
from rnnviz.training import Trainer, load_preset

STEPS = 300


def main() -> None:
    limit_blas_threads(1)
    trainer = Trainer(load_preset("sine").config)
    for _ in range(STEPS):
        trainer.step()
    evaluation = trainer.evaluate()
    print(f"one-step prediction RMSE after {STEPS} steps: {evaluation.metrics['rmse']:.4f} "
          "(the wave's amplitude is 1)")


if __name__ == "__main__":
    main()
