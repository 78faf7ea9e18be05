"""The app's CSV export names each cell's own parameters (rnnviz/app/export.py,
rnnviz/training/metrics.py); a vanilla run's columns are those the export has always had."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from rnnviz.training import TrainConfig, Trainer

SMALL = TrainConfig(task="charlm", hidden=8, seq_len=10, batch=2, eval_every=5, spectrum_every=2)
VANILLA_GRADS = tuple(f"grad_norm_{when}_{name}" for when in ("before", "after")
                      for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"))


def exported(config: TrainConfig, steps: int, path: Path) -> tuple[list[dict[str, str]], list]:
    from rnnviz.app.export import write_metrics_csv
    from rnnviz.app.run_data import RunData, task_info
    from rnnviz.app.training_process import StepAccumulator, run_details

    trainer = Trainer(config)
    accumulator, reports = StepAccumulator(), []
    for _ in range(steps):
        reports.append(trainer.step())
        accumulator.add(reports[-1])
    data = RunData(task_info(run_details(trainer)), trainer.config)
    data.add_batch(accumulator.take(run=1, seq=1, running=False))
    with write_metrics_csv(data, path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh)), reports


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_each_cells_csv_has_its_own_parameters_norms(cell: str, tmp_path: Path) -> None:
    from rnnviz.app.export import CSV_COLUMNS, csv_columns

    rows, reports = exported(SMALL.replace(cell=cell), 4, tmp_path / "m.csv")
    header = tuple(rows[0])
    assert header == csv_columns(cell)
    grads = tuple(c for c in header if c.startswith("grad_norm_"))
    if cell == "rnn":
        assert header == CSV_COLUMNS and grads == VANILLA_GRADS  # unchanged for the vanilla cell
    else:
        assert grads == tuple(f"grad_norm_{when}_{name}" for when in ("before", "after")
                              for name in ("W_xh", "W_hh", "W_hy", "b_xh", "b_hh", "b_y"))
    for row, report in zip(rows, reports, strict=True):
        for name, norm in report.grad_norms_before.items():
            assert math.isclose(float(row[f"grad_norm_before_{name}"]), norm, rel_tol=1e-12)
        for name, norm in report.grad_norms_after.items():
            assert math.isclose(float(row[f"grad_norm_after_{name}"]), norm, rel_tol=1e-12)


def test_the_character_models_csv_has_the_clis_validation_columns(tmp_path: Path) -> None:
    from rnnviz import cli

    rows, _ = exported(SMALL, 10, tmp_path / "m.csv")
    evaluated = [r for r in rows if r["val_loss"]]
    assert [int(r["step"]) for r in evaluated] == [5, 10]
    trainer = Trainer(SMALL)  # the same run, through the CLI's own row writer
    expected = [cli._metrics_row(trainer.step()) for _ in range(10)]
    for row in evaluated:
        want = expected[int(row["step"]) - 1]
        assert int(row["val_windows"]) == want["val_windows"] > 0
        assert math.isclose(float(row["val_loss_se"]), float(want["val_loss_se"]), rel_tol=1e-12,
                            abs_tol=1e-15)
