"""Immutable reports the trainer hands to whoever watches: the GUI, the CLI, tests.

Every array in a report is a private, read-only copy, so a report can cross threads and be
kept in histories without the trainer changing it afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.core.connectivity import Connectivity
from rnnviz.core.diagnostics import Spectrum


def frozen_array(values: Any, dtype: Any = None) -> np.ndarray:
    """A read-only copy of ``values``."""
    arr = np.array(values, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr


class FrozenDict(dict):
    """A read-only dict that, unlike ``MappingProxyType``, can be pickled: reports cross from
    the training process to the app's process."""

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("report mappings are read-only")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return FrozenDict, (dict(self),)


def frozen_mapping(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return FrozenDict(values)


@dataclass(frozen=True)
class EvalReport:
    """Held-out evaluation with frozen weights, every sequence started from h = 0.

    ``metrics`` always has ``val_loss`` and may have ``accuracy`` (sentiment) or ``rmse``
    (sine); charlm's also has ``val_windows`` (held-out windows scored), ``val_windows_total``
    and ``val_loss_se`` (the standard error of the estimate; 0 when every window is scored).
    ``preview`` is task-specific output for the task panel:

    - charlm: ``{"kind": "charlm", "sample": str}``
    - recall: ``{"kind": "recall", "symbols": [str], "distance": int, "chance": float,
      "inputs": [str], "answers": [int], "probs": (n, symbols) array, "distances": [int],
      "accuracy_by_distance": [float]}``; its metrics have ``accuracy`` too
    - sentiment: ``{"kind": "sentiment", "classes": [str], "phrases": [str],
      "labels": [int], "probs": (n, classes) array}``
    - sine: ``{"kind": "sine", "truth": (N,), "one_step": (N,), "free_run": (N,),
      "prime_len": int}``; ``one_step[i]`` predicts ``truth[i]`` from ``truth[:i]``,
      ``free_run`` is NaN for the first ``prime_len`` points and then feeds its own
      predictions back in.
    """

    step: int
    val_loss: float
    metrics: Mapping[str, float]
    preview: Mapping[str, Any]


@dataclass(frozen=True)
class StepReport:
    """What one optimizer step did and saw."""

    step: int  # optimizer steps completed, 1 after the first
    tokens_seen: int  # characters (charlm), words (sentiment) or values (sine) consumed
    elapsed_s: float  # training wall-clock time, pauses excluded
    loss: float  # mean training loss of this batch (on carried state for charlm)
    lr: float
    clip_mode: str
    clip_value: float
    grad_norms_before: Mapping[str, float]  # per parameter, before clipping
    grad_norms_after: Mapping[str, float]
    global_norm_before: float
    global_norm_after: float
    clipped: bool  # clipping fired on this step
    dh_norms: np.ndarray  # (T,) ‖dL/dh_t‖ over the batch
    hidden: np.ndarray  # (T, H) hidden states of the watched sequence of the batch
    input_tokens: tuple[str, ...]  # (T,) labels of the watched sequence's inputs
    saturation: float  # fraction of saturated (or dead, for relu) unit activations
    activation: str
    # As of ``spectrum_step``: of W_hh (vanilla cell), or of the recurrent Jacobian ∂s_t/∂s_{t-1}
    # averaged over the watched sequence of that step's batch (gated cells; None before one).
    spectrum: Spectrum | None
    spectrum_step: int
    evaluation: EvalReport | None = None  # set on steps where evaluation ran
    lr_halved: bool = False
    diverged: bool = False  # non-finite loss/gradient/update; parameters were kept as before
    watched_sequence: int = 0  # index in the batch of the sequence ``hidden`` shows
    dc_norms: np.ndarray | None = None  # (T,) ‖dL/dc_t‖ of the LSTM's cell state; None for other cells
    cell_state: np.ndarray | None = None  # (T, H) the LSTM's c_t of the watched sequence, else None
    # (T, kH) float32: the watched sequence's gate activations, k blocks of H columns in the cell's
    # order (LSTM i, f, g, o; GRU r, z, n); None for the vanilla cell.
    gates: np.ndarray | None = None
    # Influence of each input of the watched sequence on each prediction, as of its own step
    # (recomputed every few steps: rnnviz.training.trainer.CONNECTIVITY_SHARE).
    connectivity: Connectivity | None = None

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.loss) and np.isfinite(self.global_norm_before))

    @property
    def chars_seen(self) -> int:
        return self.tokens_seen
