"""The names of a run's metric columns: one naming for ``rnnviz train``'s ``metrics.csv`` and the
app's CSV export, so a spreadsheet or script reads either file the same way.

The order is the README's: ``step, chars_seen, elapsed_s, train_loss, val_loss, ...``.
``chars_seen`` counts the tokens trained on (characters for the character model; words and
values for the other tasks), as the README has always called it.
"""

from __future__ import annotations

METRIC_COLUMNS = ("step", "chars_seen", "elapsed_s", "train_loss", "val_loss", "val_loss_se", "val_windows",
                  "val_accuracy", "val_rmse",
                  "lr", "global_norm_before", "global_norm_after", "clipped", "saturation",
                  "spectral_radius", "largest_singular_value")
