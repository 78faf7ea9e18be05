"""How big a long run's file is, and how fast it opens with every panel filled.

Builds a run of ``--steps`` steps (default 100,000) without training that long: a real trainer
on the preset trains ``--real-steps`` steps, and their reports are then repeated, renumbered,
with evaluations and spectra on the preset's schedule and a slowly falling loss, through the
same accumulation ``rnnviz train`` and the app use (``RunRecorder`` -> ``RunData``). Then it
saves the run file and times, best of ``--repeats``:

- ``load_run``: reading and checking the file, rebuilding RunData;
- open to panels filled: File → Open run… in an offscreen window, from the click to every
  panel drawn (``load_run`` + showing the run + one full redraw), measured as the window does it.

    PYTHONPATH=. python benchmarks/run_file.py [--steps 100000] [--preset charlm] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def build(steps: int, preset: str, real_steps: int) -> tuple[object, object]:
    from rnnviz.runs.recorder import RunRecorder
    from rnnviz.training import Trainer, load_preset

    trainer = Trainer(load_preset(preset).config)
    config = trainer.config
    recorder = RunRecorder(trainer, "unused")
    reports = [trainer.step() for _ in range(real_steps)]
    evaluation = trainer.evaluate()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        template = reports[step % len(reports)]
        spectrum_step = max(step // config.spectrum_every * config.spectrum_every, 1)
        recorder.add(dataclasses.replace(
            template, step=step, tokens_seen=step * 100, elapsed_s=step / 300,
            loss=template.loss * (0.5 + 0.5 * math.exp(-step / 20_000)), spectrum_step=spectrum_step,
            evaluation=dataclasses.replace(evaluation, step=step) if step % config.eval_every == 0 else None))
    recorder.flush()
    print(f"built {steps:,} steps of {preset} (H={config.hidden}, T={config.seq_len}) through RunRecorder "
          f"in {time.perf_counter() - started:.1f} s")
    return trainer, recorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--preset", default="charlm")
    parser.add_argument("--real-steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-window", action="store_true", help="only time load_run (no Qt)")
    args = parser.parse_args()
    from rnnviz.blas import limit_blas_threads

    limit_blas_threads()
    from rnnviz.runs.file import load_run, save_run

    trainer, recorder = build(args.steps, args.preset, args.real_steps)
    data = recorder.data
    with tempfile.TemporaryDirectory(prefix="rnnviz-run-bench-") as folder:
        path = Path(folder) / "run.rnnviz"
        saves = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            save_run(path, data, trainer.state())
            saves.append(time.perf_counter() - started)
        size = path.stat().st_size
        weights = sum(a.nbytes for a in trainer.state()[0].values())
        print(f"file: {size / 1e6:.2f} MB ({weights / 1e6:.2f} MB of it weights and optimizer state); "
              f"history {len(data.steps):,} step rows (stride {data.steps.stride}), {len(data.evals):,} "
              f"evaluations, {len(data.flow)} gradient profiles")
        print(f"save_run: best {min(saves) * 1000:.0f} ms (of {args.repeats})")
        loads = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            opened = load_run(path)
            loads.append(time.perf_counter() - started)
        assert opened.data is not None and opened.data.step == args.steps
        median = sorted(loads)[len(loads) // 2]
        print(f"load_run: best {min(loads) * 1000:.0f} ms, median {median * 1000:.0f} ms")
        if not args.no_window:
            open_in_window(path, args.steps, args.repeats, trainer.config)


def open_in_window(path: Path, steps: int, repeats: int, config) -> None:
    from PySide6 import QtCore, QtWidgets

    from rnnviz.app.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-settings-") as settings_dir:
        settings = QtCore.QSettings(str(Path(settings_dir) / "settings.ini"),
                                    QtCore.QSettings.Format.IniFormat)
        window = MainWindow(config=config, settings=settings, start=False, restore_last_run=False)
        window.resize(1600, 1000)
        window.show()
        deadline = time.monotonic() + 60
        while window.starting and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            window.run_files.open(str(path))  # reads the file, shows the run, redraws every panel
            times.append(time.perf_counter() - started)
            assert window.session.data.step == steps
            drawn = [p for p in window.panels if p.widget.isVisible()]
            assert all(p._data is window.session.data for p in drawn)
            while window.session.pending and time.monotonic() < deadline + 60:  # the weights load
                app.processEvents()
                time.sleep(0.01)
        print(f"open to panels filled (1600×1000 window, {len(drawn)} panels drawn): best "
              f"{min(times) * 1000:.0f} ms, median {sorted(times)[len(times) // 2] * 1000:.0f} ms")
        window.close()


if __name__ == "__main__":
    main()
