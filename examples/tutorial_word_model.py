"""The BPTT tutorial's job: a word-level language model, judged by its perplexity.

The ``word-lm`` preset: the 8,000 most frequent words (the rest read as <unk>), every line
from <s> to </s>, bptt_truncate 4, SGD with the learning rate halved when the validation loss
rises. Pass a larger UTF-8 text to train on it instead of the small built-in log.

Run:  PYTHONPATH=. python examples/tutorial_word_model.py [corpus.txt]
"""

from __future__ import annotations

import sys

from rnnviz.blas import limit_blas_threads
from rnnviz.training import Trainer, load_preset, sample_text

STEPS = 300


def main() -> None:
    limit_blas_threads(1)
    config = load_preset("word-lm").config
    if len(sys.argv) > 1:
        config = config.replace(corpus=sys.argv[1])
    trainer = Trainer(config)
    for note in trainer.load_notes:
        print(f"note: {note}")
    for _ in range(STEPS):
        report = trainer.step()
        if report.evaluation is not None:
            metrics = report.evaluation.metrics
            print(f"step {report.step:4d}  validation {metrics['val_loss']:.3f} nats/word  "
                  f"perplexity {metrics['perplexity']:.1f}  lr {report.lr:g}")
    print(f"final validation perplexity: {trainer.last_eval.metrics['perplexity']:.1f}")
    line = "".join(sample_text(trainer.model, trainer.task.vocab, "", 30, temperature=0.0))
    print(f"a line from <s>, greedy:{line}")


if __name__ == "__main__":
    main()
