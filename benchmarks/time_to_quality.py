"""Time to quality: how low the default preset's validation loss gets, and how fast.

Trains the default ``charlm`` preset (H = 100, T = 25, B = 32, Adam 3e-3, norm clipping 5,
float32) on a text file for a fixed wall-clock budget per run, evaluating every
``--eval-every`` steps (the preset's 100) on the held-out last 10% of the text, and prints
the best validation loss with the step and the time (wall clock since the run started,
evaluations included) at which it was reached. Several seeds give a mean ± sd; several
``--init`` schemes are run seed for seed, so their differences are paired by seed.

A wall-clock budget answers "what does a user get in N seconds on this machine", and moves
with the machine's load. ``--steps N`` trains for a fixed number of steps instead, which is
what to use to compare settings on a shared machine (the load changes the time, not the
result).

Run:  PYTHONPATH=. python benchmarks/time_to_quality.py TEXTFILE --seconds 60 [--seeds 0 1 2]
      [--init uniform xavier] [--steps 2000] [--eval-every 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rnnviz.blas import limit_blas_threads
from rnnviz.core.init import INITS
from rnnviz.tasks import TaskError, load_corpus
from rnnviz.training import Trainer, load_preset
from rnnviz.training.config import ConfigError


@dataclass(frozen=True)
class RunResult:
    init: str
    seed: int
    steps: int
    seconds: float
    best_val_loss: float
    best_step: int
    best_seconds: float
    val_windows: int
    val_windows_total: int
    val_loss_se: float  # standard error of the validation estimate at the best evaluation
    eval_seconds: float  # time spent evaluating (steps with an evaluation, less a plain step each)
    evaluations: int
    plain_step_seconds: float  # mean time of a step without evaluation


def train_for(text: Path, init: str, seed: int, seconds: float | None, steps: int | None,
              eval_every: int) -> RunResult:
    """One run of the default preset until the time or step budget is spent."""
    config = load_preset("charlm").config.replace(corpus=str(text), init=init, seed=seed,
                                                  eval_every=eval_every)
    trainer = Trainer(config)
    best = (float("inf"), 0, 0.0, 0, 0, 0.0)
    plain_time, plain_steps, eval_step_time, evaluations = 0.0, 0, 0.0, 0
    started = time.perf_counter()
    while True:
        if steps is not None and trainer.step_count >= steps:
            break
        if seconds is not None and time.perf_counter() - started >= seconds:
            break
        step_started = time.perf_counter()
        report = trainer.step()
        step_time = time.perf_counter() - step_started
        if report.evaluation is None:
            plain_time, plain_steps = plain_time + step_time, plain_steps + 1
        else:
            eval_step_time, evaluations = eval_step_time + step_time, evaluations + 1
        if report.diverged:
            raise RuntimeError(f"init {init} seed {seed} diverged at step {trainer.step_count}")
        evaluation = report.evaluation
        if evaluation is not None and evaluation.val_loss < best[0]:
            metrics = evaluation.metrics
            best = (evaluation.val_loss, evaluation.step, time.perf_counter() - started,
                    int(metrics.get("val_windows", 0)), int(metrics.get("val_windows_total", 0)),
                    float(metrics.get("val_loss_se", 0.0)))
    plain_mean = plain_time / max(plain_steps, 1)
    eval_seconds = max(eval_step_time - evaluations * plain_mean, 0.0)
    return RunResult(init, seed, trainer.step_count, time.perf_counter() - started, *best,
                     eval_seconds, evaluations, plain_mean)


def mean_sd(values: list[float], digits: int = 4) -> str:
    """'mean ± sd' (sample standard deviation), or the one value."""
    if len(values) < 2:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", type=Path, help="UTF-8 text file to train on (last 10%% held out)")
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--seconds", type=float, help="wall-clock budget per run")
    budget.add_argument("--steps", type=int, help="step budget per run (for comparisons on a busy machine)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--init", nargs="+", choices=INITS, default=None,
                        help="initialisation scheme(s); default: the preset's")
    parser.add_argument("--eval-every", type=int, default=None, help="default: the preset's")
    args = parser.parse_args(argv)
    if (args.seconds is not None and args.seconds <= 0) or (args.steps is not None and args.steps <= 0):
        parser.error("the budget must be positive")
    limit_blas_threads()
    try:
        load_corpus(args.text)  # a clear sentence now for a missing, empty or binary file
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    preset = load_preset("charlm").config
    inits = args.init or [preset.init]
    eval_every = args.eval_every or preset.eval_every
    budget_text = f"{args.seconds:g} s" if args.seconds is not None else f"{args.steps} steps"
    print(f"charlm preset (H={preset.hidden}, T={preset.seq_len}, B={preset.batch}, {preset.optimizer} "
          f"{preset.lr:g}, {preset.clip} clip {preset.clip_value:g}, {preset.dtype}) on {args.text.name}; "
          f"{budget_text} per run, evaluated every {eval_every} steps")
    results: list[RunResult] = []
    try:
        for seed in args.seeds:
            for init in inits:
                r = train_for(args.text, init, seed, args.seconds, args.steps, eval_every)
                results.append(r)
                se = f" ± {r.val_loss_se:.4f} (sampled)" if r.val_windows < r.val_windows_total else ""
                print(f"init {init:<10} seed {seed:>3}: {r.steps:>6} steps in {r.seconds:6.1f} s; best val "
                      f"{r.best_val_loss:.4f}{se} at step {r.best_step} ({r.best_seconds:.1f} s); "
                      f"{r.val_windows} of {r.val_windows_total} held-out windows", flush=True)
                if r.evaluations:
                    each = r.eval_seconds / r.evaluations
                    print(f"    {r.evaluations} evaluations, {each * 1e3:.0f} ms each (≈ "
                          f"{each / r.plain_step_seconds:.0f} training steps): "
                          f"{r.eval_seconds / r.seconds:.0%} of the run", flush=True)
    except (TaskError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    for init in inits:
        mine = [r for r in results if r.init == init]
        print(f"init {init:<10} best val loss {mean_sd([r.best_val_loss for r in mine])} nats/char, "
              f"reached at {mean_sd([r.best_seconds for r in mine], 1)} s, step "
              f"{mean_sd([float(r.best_step) for r in mine], 0)} (mean ± sd over {len(mine)} seeds)")
    for other in inits[1:]:
        diffs = [b.best_val_loss - a.best_val_loss
                 for a, b in zip([r for r in results if r.init == inits[0]],
                                 [r for r in results if r.init == other], strict=True)]
        print(f"{other} − {inits[0]}, paired by seed: {mean_sd(diffs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
