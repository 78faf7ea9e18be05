"""Train the default ``charlm`` preset briefly, save a checkpoint, load it back and sample.

What it teaches: the checkpoint round trip (``Trainer.save`` → ``load_model``, a plain
``.npz`` with JSON metadata, never pickle) and streaming generation with ``sample_text``,
which checks the seed text up front and then yields one character at a time, so a GUI or a
terminal can show text as it is produced. The seed text primes the hidden state first.

Run:  PYTHONPATH=. python examples/sample_from_checkpoint.py [existing-checkpoint.npz]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from rnnviz.blas import limit_blas_threads
from rnnviz.training import Trainer, load_model, load_preset, sample_text

TRAIN_STEPS, SEED_TEXT, LENGTH, TEMPERATURE = 300, "The lamp ", 300, 0.7


def train_and_save(folder: Path) -> Path:
    trainer = Trainer(load_preset("charlm").config)
    for _ in range(TRAIN_STEPS):
        report = trainer.step()
        if report.evaluation is not None:
            print(f"step {report.step}: train loss {report.loss:.3f}, "
                  f"val loss {report.evaluation.val_loss:.3f} nats/char (from h = 0)")
    return trainer.save(folder / "checkpoint.npz")


def main() -> None:
    # One BLAS thread (as the rnnviz command does), unless OPENBLAS_NUM_THREADS etc. are set:
    # a timestep is a few small matrix products, and a second thread mostly contends for the
    # CPU; on a busy 2-core machine it made training several times slower (benchmarks/).
    limit_blas_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(sys.argv[1]) if len(sys.argv) > 1 else train_and_save(Path(tmp))
        model, vocab, meta = load_model(path)
        if vocab is None:
            sys.exit(f"{path} was trained on a task without a vocabulary; nothing to sample")
        print(f"loaded {path.name}: step {meta['step']}, {model.hidden_size} hidden units, "
              f"{len(vocab)} characters")
        rng = np.random.default_rng(0)
        print(f"--- sample (temperature {TEMPERATURE}) ---\n{SEED_TEXT}", end="", flush=True)
        for char in sample_text(model, vocab, SEED_TEXT, LENGTH, TEMPERATURE, rng):
            print(char, end="", flush=True)
        print("\n---")


if __name__ == "__main__":
    main()
