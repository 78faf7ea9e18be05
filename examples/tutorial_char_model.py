"""min-char-rnn's job: a character model on a corpus, sampled from a seed.

The default ``charlm`` preset (min-char-rnn's model, batched: 32 streams of 25 characters,
Adam) on the built-in lighthouse log; then the model continues a seed of the user's
choosing. The ``min-char-rnn`` preset has the tutorial's own settings (batch 1, Adagrad),
which need many more steps for readable text.

Run:  PYTHONPATH=. python examples/tutorial_char_model.py ["seed text"]
"""

from __future__ import annotations

import sys

import numpy as np

from rnnviz.blas import limit_blas_threads
from rnnviz.training import Trainer, load_preset, sample_text

STEPS, LENGTH = 1000, 200


def main() -> None:
    limit_blas_threads(1)
    seed = sys.argv[1] if len(sys.argv) > 1 else "The lamp "
    trainer = Trainer(load_preset("charlm").config)
    for _ in range(STEPS):
        report = trainer.step()
    print(f"step {report.step}: validation loss {trainer.last_eval.val_loss:.3f} nats per character "
          f"(uniform guess: {trainer.task.baseline_loss:.3f})")
    text = "".join(sample_text(trainer.model, trainer.task.vocab, seed, LENGTH, temperature=0.7,
                               rng=np.random.default_rng(0)))
    print(f"sample from {seed!r}:\n{seed}{text}")


if __name__ == "__main__":
    main()
