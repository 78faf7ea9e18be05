"""The names of a run's metric columns: one naming for ``rnnviz train``'s ``metrics.csv`` and the
app's CSV export, so a spreadsheet or script reads either file the same way.

The order is the README's: ``step, chars_seen, elapsed_s, train_loss, val_loss, ...``.
``chars_seen`` counts the tokens trained on (characters for the character model; words and
values for the other tasks), as the README has always called it.

Each parameter's gradient norm is a column of the app's export, named after the cell's own
parameters (``grad_norm_before_W_hh``, ...): the vanilla cell's ``b_h``, the gated cells' two
bias vectors ``b_xh`` and ``b_hh`` (as in PyTorch).
"""

from __future__ import annotations

from rnnviz.core.gated import CELLS, GATED_PARAM_NAMES
from rnnviz.core.rnn import PARAM_NAMES

METRIC_COLUMNS = ("step", "chars_seen", "elapsed_s", "train_loss", "val_loss", "val_loss_se", "val_windows",
                  "val_accuracy", "val_rmse",
                  "lr", "global_norm_before", "global_norm_after", "clipped", "saturation",
                  "spectral_radius", "largest_singular_value")
# Every cell's parameters, each once, in the order their columns and curves appear.
ALL_PARAM_NAMES = ("W_xh", "W_hh", "W_hy", "b_h", "b_xh", "b_hh", "b_y")


def param_names(cell: str) -> tuple[str, ...]:
    """The parameters of ``cell`` ("rnn", "lstm" or "gru"), in the model's own order."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    return PARAM_NAMES if cell == "rnn" else GATED_PARAM_NAMES


def grad_norm_columns(cell: str) -> tuple[str, ...]:
    """The export's gradient-norm columns for ``cell``: every parameter before clipping, then
    every parameter after (the vanilla cell's are those the export has always had)."""
    return tuple(f"grad_norm_{when}_{name}" for when in ("before", "after") for name in param_names(cell))
