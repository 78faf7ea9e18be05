"""Train the ``sentiment`` preset and watch held-out accuracy climb to 100%.

What it teaches: the library API without the GUI. ``load_preset(...).config`` is a frozen,
validated TrainConfig; ``Trainer.step()`` does one optimizer step and, every
``eval_every`` steps, attaches an honest held-out evaluation (frozen weights, every phrase
read from a zero hidden state). The classic from-scratch tutorial needs ~1000 epochs for
this; the many-to-one RNN here gets there in a few hundred batches because its gradients
are exact (W_hhᵀ, not W_hh, in the backward pass) and it uses Adam with norm clipping.

Run:  PYTHONPATH=. python examples/sentiment_accuracy.py
"""

from __future__ import annotations

from rnnviz.tasks.sentiment import CLASSES
from rnnviz.training import Trainer, load_preset

STEPS = 600
SHOW = ["i am not at all happy", "i am not at all good earlier", "i was not at all bad earlier",
        "it was not bad earlier", "i am very happy", "it was really terrible earlier"]


def main() -> None:
    config = load_preset("sentiment").config
    trainer = Trainer(config)
    task = trainer.task  # a SentimentTask: phrases in, negative/positive out
    print(f"{len(task.train)} training and {len(task.test)} test phrases, "
          f"hidden={config.hidden}, batch={config.batch}, {config.optimizer} lr={config.lr}")
    accuracy = float("nan")
    for _ in range(STEPS):
        report = trainer.step()
        if report.evaluation is not None:
            accuracy = report.evaluation.metrics["accuracy"]
            print(f"step {report.step:4d}  train loss {report.loss:.3f}  "
                  f"test loss {report.evaluation.val_loss:.3f}  test accuracy {accuracy:6.1%}")
    print(f"final test accuracy: {accuracy:.1%}")

    probs = task.predict_proba(trainer.model, [p.split() for p in SHOW])
    known = {" ".join(w): (CLASSES[y], split) for split, rows in (("train", task.train), ("test", task.test))
             for w, y in rows}
    for phrase, p in zip(SHOW, probs, strict=True):
        label, split = known.get(phrase, ("?", "new"))
        print(f"  {phrase:<32} P(positive)={p[1]:.3f} -> {CLASSES[int(p.argmax())]:<8} "
              f"(label {label}, {split} phrase)")


if __name__ == "__main__":
    main()
