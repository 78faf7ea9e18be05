"""How much memory (and disk, as a run file) a long run's history takes in the window.

A real trainer of the preset trains ``--real`` steps (its reports and snapshots are real);
the run is then carried on to ``--steps`` by feeding the window's ``RunData`` batches of the
same shape, with the step numbers moved on and a fresh copy of the trainer's state at every
step the timeline keeps, exactly as the training process would send them. Printed at each
decade: the Python memory the RunData holds (tracemalloc), the snapshots' share, how many
snapshots are kept, and the size of the run file (``rnnviz/runs``) that holds it all.

Run:  PYTHONPATH=. python benchmarks/history_memory.py [--preset charlm] [--steps 1000000] [--real 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    from rnnviz.app.run_data import RunData, task_info
    from rnnviz.app.training_process import StepAccumulator, run_details
    from rnnviz.training import Trainer, load_preset
    from rnnviz.training.timeline import snapshot_due, take_snapshot

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="charlm")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--real", type=int, default=200, help="steps trained for real first")
    parser.add_argument("--batch-steps", type=int, default=1_000, help="steps per simulated batch")
    args = parser.parse_args(argv)

    config = load_preset(args.preset).config
    trainer = Trainer(config)
    state_bytes = sum(a.nbytes for a in trainer.state()[0].values())
    print(f"preset {args.preset}: {trainer.model.cell}, hidden {config.hidden}, "
          f"state {state_bytes / 1e6:.2f} MB before the first step")

    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    data = RunData(task_info(run_details(trainer)), trainer.config)
    acc = StepAccumulator()
    started = time.perf_counter()
    for _ in range(args.real):
        report = trainer.step()
        acc.add(report)
        if snapshot_due(report.step, state_bytes):
            acc.snapshots.append(take_snapshot(trainer, report))
    batch = acc.take(run=1, seq=1, running=True)
    data.add_batch(batch)
    print(f"{args.real} real steps in {time.perf_counter() - started:.1f} s; state after training "
          f"{sum(a.nbytes for a in trainer.state()[0].values()) / 1e6:.2f} MB")

    template = acc  # (emptied by take)
    last_report = batch.latest
    scalars = {k: np.resize(v, args.batch_steps) for k, v in batch.scalars.items()}
    profile = batch.dh_norms[-1]
    step = args.real
    seq = 1
    next_decade = 1_000
    rows = []
    while step < args.steps:
        count = min(args.batch_steps, args.steps - step)
        steps = np.arange(step + 1, step + count + 1, dtype=np.float64)
        block = {k: v[:count].copy() for k, v in scalars.items()}
        block["step"] = steps
        snapshots = []
        for s in steps.astype(int):
            if snapshot_due(int(s), state_bytes):
                report = dataclasses.replace(last_report, step=int(s))
                snapshot = take_snapshot(trainer, report)
                snapshots.append(dataclasses.replace(snapshot, step=int(s)))
        seq += 1
        data.add_batch(dataclasses.replace(batch, seq=seq, scalars=block, dh_steps=steps.astype(np.int64),
                                           dh_norms=[profile] * count, spectra=[], evaluations=[],
                                           latest=dataclasses.replace(last_report, step=step + count),
                                           snapshots=snapshots))
        step += count
        if step >= next_decade or step >= args.steps:
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - base
            disk = disk_size(data, trainer.state())
            rows.append((step, held, data.timeline.nbytes, len(data.timeline), disk))
            next_decade *= 10
    del template
    print(f"\n{'steps':>10} {'RunData MB':>11} {'snapshots MB':>13} {'snapshots':>10} {'run file MB':>12}")
    for step, held, snap_bytes, count, disk in rows:
        print(f"{step:>10,} {held / 1e6:11.1f} {snap_bytes / 1e6:13.1f} {count:>10} {disk / 1e6:12.1f}")


def disk_size(data, weights) -> int:
    """The size of ``data``'s run file (with ``weights``, the trainer's state)."""
    from rnnviz.runs.file import save_run

    with tempfile.TemporaryDirectory() as folder:
        path = save_run(Path(folder) / "run.rnnviz", data, weights)
        return path.stat().st_size


if __name__ == "__main__":
    main()
