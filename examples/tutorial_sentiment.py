"""The many-to-one sentiment tutorial's job: read a phrase, say positive or negative.

The tutorial reports its test accuracy; so does this (the ``sentiment`` preset, held-out
phrases, every one read from a zero hidden state).

Run:  PYTHONPATH=. python examples/tutorial_sentiment.py
"""

from __future__ import annotations

from rnnviz.training import Trainer, load_preset

STEPS = 400


def main() -> None:
    trainer = Trainer(load_preset("sentiment").config)
    accuracy = float("nan")
    for _ in range(STEPS):
        report = trainer.step()
        if report.evaluation is not None:
            accuracy = report.evaluation.metrics["accuracy"]
    print(f"test accuracy after {STEPS} steps: {accuracy:.1%} of {len(trainer.task.test)} held-out phrases")


if __name__ == "__main__":
    main()
