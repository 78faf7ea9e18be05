"""The PyTorch tutorial's job: memorise three sentences, then complete "good".

Line mode (the ``sentence-completion`` preset): every line is one sequence from <s> to </s>,
padding is masked out of the loss, and greedy sampling from the seed stops at </s>.

Run:  PYTHONPATH=. python examples/tutorial_sentence_completion.py
"""

from __future__ import annotations

from rnnviz.training import Trainer, load_preset, sample_text

STEPS, SEED = 200, "good"


def main() -> None:
    trainer = Trainer(load_preset("sentence-completion").config)
    for note in trainer.load_notes:
        print(f"note: {note}")
    for _ in range(STEPS):
        report = trainer.step()
    print(f"step {report.step}: loss {report.loss:.3f} nats per character")
    completion = "".join(sample_text(trainer.model, trainer.task.vocab, SEED, 50, temperature=0.0))
    print(f"{SEED!r} -> {SEED + completion!r}")


if __name__ == "__main__":
    main()
