"""Does the cell remember? The recall task (``rnnviz.tasks.recall``) for each cell and seed.

Trains the vanilla RNN, the LSTM and the GRU on the same delayed-recall task with the same
budget (hidden units, batch, learning rate, clipping, steps), several seeds each, all in this
one process, and prints held-out accuracy at the trained distance every ``--every`` steps, and
the wall-clock time per run. Chance is 1 / symbols. The settings default to the
``recall-*`` presets', so this is the longer version of the learning tests in
``tests/test_memory_task.py``.

Run:  PYTHONPATH=. python benchmarks/memory.py [--distance 40] [--steps 800] [--seeds 0 1 2]
      [--cells rnn lstm gru] [--filler blank] [--forget-bias 1] [--every 200]
"""

from __future__ import annotations

import argparse
import time

from rnnviz.training import Trainer, load_preset


def main() -> None:
    base = load_preset("recall-lstm").config
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distance", type=int, default=base.recall_distance)
    parser.add_argument("--symbols", type=int, default=base.recall_symbols)
    parser.add_argument("--filler", default=base.recall_filler)
    parser.add_argument("--hidden", type=int, default=base.hidden)
    parser.add_argument("--batch", type=int, default=base.batch)
    parser.add_argument("--lr", type=float, default=base.lr)
    parser.add_argument("--forget-bias", type=float, default=base.forget_bias)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    args = parser.parse_args()
    print(f"distance {args.distance}, {args.symbols} symbols (chance {1 / args.symbols:.0%}), filler "
          f"{args.filler}, H={args.hidden}, B={args.batch}, lr={args.lr}, forget-gate bias (LSTM f, GRU z) "
          f"{args.forget_bias}, {args.steps} steps")
    for cell in args.cells:
        for seed in args.seeds:
            config = base.replace(cell=cell, seed=seed, recall_distance=args.distance,
                                  recall_symbols=args.symbols, recall_filler=args.filler,
                                  hidden=args.hidden, batch=args.batch, lr=args.lr,
                                  forget_bias=args.forget_bias,
                                  eval_every=args.every)
            trainer = Trainer(config)
            started = time.perf_counter()
            accuracies = []
            for _ in range(args.steps):
                report = trainer.step()
                if report.evaluation is not None:
                    accuracies.append(f"{report.evaluation.metrics['accuracy']:.0%}")
            seconds = time.perf_counter() - started
            print(f"{cell:4} seed {seed}: {' '.join(accuracies)}  ({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
