"""Export: every metric as CSV, every panel as PNG.

The CSV has one row per kept training step (all of them until the history is thinned for
memory, see ``history.py``) and one row per evaluation; columns a spreadsheet understands.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

from rnnviz.app.run_data import GRAD_COLUMNS, RunData
from rnnviz.training.metrics import METRIC_COLUMNS


def _grad_column(source: str) -> str:
    """``grad_before.W_hh`` → ``grad_norm_before_W_hh``."""
    return source.replace("grad_before.", "grad_norm_before_").replace("grad_after.", "grad_norm_after_")


# Column name → RunData step-history column, for the shared metric columns the app records ...
_SHARED_STEP_SOURCES = {"step": "step", "chars_seen": "tokens_seen", "elapsed_s": "elapsed_s",
                        "train_loss": "loss", "lr": "lr", "global_norm_before": "global_before",
                        "global_norm_after": "global_after", "clipped": "clipped", "saturation": "saturation"}
# ... and for what only the app records (the smoothed curve it draws, each parameter's norm).
_APP_STEP_SOURCES = {"train_loss_smoothed": "smoothed_loss", "clip_value": "clip_value",
                     "diverged": "diverged", **{_grad_column(c): c for c in GRAD_COLUMNS}}
_STEP_SOURCES = {**_SHARED_STEP_SOURCES, **_APP_STEP_SOURCES}
_EVAL_SOURCES = {"val_loss": "val_loss", "val_accuracy": "accuracy", "val_rmse": "rmse"}
_SPECTRUM_SOURCES = {"spectral_radius": "spectral_radius", "largest_singular_value": "largest_singular_value"}
# The CLI's columns in the CLI's order (those the app's history keeps; it keeps no per-evaluation
# window count or standard error), then the app's own.
_RECORDED = {*_SHARED_STEP_SOURCES, *_EVAL_SOURCES, *_SPECTRUM_SOURCES}
CSV_COLUMNS = (*(c for c in METRIC_COLUMNS if c in _RECORDED), *_APP_STEP_SOURCES)
_INTEGER_COLUMNS = {"step", "chars_seen", "clipped", "diverged"}


def _cell(name: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    if name in _INTEGER_COLUMNS:
        return str(int(value))
    return repr(float(value))


def metric_rows(data: RunData) -> Iterable[dict[str, str]]:
    """Training steps and evaluations merged by step (an evaluation joins its step's row)."""
    steps = data.steps
    columns = {name: steps.column(source) for name, source in _STEP_SOURCES.items()}
    evals = {int(s): i for i, s in enumerate(data.evals.column("step"))}
    spectra = {int(s): i for i, s in enumerate(data.spectra.column("step"))}
    eval_cols = {name: data.evals.column(source) for name, source in _EVAL_SOURCES.items()}
    spec_cols = {name: data.spectra.column(source) for name, source in _SPECTRUM_SOURCES.items()}
    used_evals: set[int] = set()
    for row in range(len(steps)):
        step = int(columns["step"][row])
        out = {name: _cell(name, columns[name][row]) for name in _STEP_SOURCES}
        diverged_row = columns["diverged"][row] > 0.5
        if step in evals and not diverged_row and step not in used_evals:
            used_evals.add(step)
            for key, col in eval_cols.items():
                out[key] = _cell(key, col[evals[step]])
        if step in spectra and not diverged_row:
            for key, col in spec_cols.items():
                out[key] = _cell(key, col[spectra[step]])
        yield out
    for step, index in evals.items():  # evaluations whose step row was thinned away
        if step not in used_evals:
            yield {"step": str(step), **{k: _cell(k, col[index]) for k, col in eval_cols.items()}}


def write_metrics_csv(data: RunData, path: str | Path) -> Path:
    path = Path(path)
    rows = sorted(metric_rows(data), key=lambda r: int(r["step"]))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path

