"""Histories in bounded memory, so the app can train for a million steps and more.

A :class:`DecimatingHistory` keeps every row until it is full; then it keeps every other
row and from then on accepts only every 2nd new row, doubling that stride each time it
fills again. Old and new parts of a curve therefore always have the same spacing, and
memory is fixed by ``capacity``. No Qt here: it is plain NumPy, tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class HistoryStateError(ValueError):
    """A stored history that does not fit together; the message is one phrase for the user."""


class DecimatingHistory:
    """Named columns of per-step values with a fixed maximum number of rows."""

    def __init__(self, columns: Sequence[str], capacity: int = 20_000, dtype: type = np.float64) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.names = tuple(columns)
        self.capacity = int(capacity)
        self._data: dict[str, np.ndarray] = {
            name: np.full(self.capacity, np.nan, dtype=dtype) for name in self.names}
        self.size = 0  # rows stored
        self.stride = 1  # every stride-th incoming row is kept
        self.seen = 0  # rows offered so far

    def __len__(self) -> int:
        return self.size

    def column(self, name: str) -> np.ndarray:
        """A read-only view of the stored values of one column."""
        view = self._data[name][: self.size]
        view.flags.writeable = False
        return view

    def last(self, name: str, default: float = float("nan")) -> float:
        return float(self._data[name][self.size - 1]) if self.size else default

    def extend(self, rows: Mapping[str, np.ndarray | Sequence[float]]) -> None:
        """Offer a block of rows (every column the same length; missing columns are NaN)."""
        arrays = {name: np.asarray(rows[name]) for name in self.names if name in rows}
        count = len(next(iter(arrays.values()))) if arrays else 0
        offset = 0
        while offset < count:
            indices = np.arange(self.seen, self.seen + count - offset)
            keep = np.flatnonzero(indices % self.stride == 0)
            room = self.capacity - self.size
            if keep.size <= room:
                self._store(arrays, offset + keep)
                self.seen += count - offset
                return
            # Fill what fits, then halve the stored rows and double the stride.
            self._store(arrays, offset + keep[:room])
            consumed = int(keep[room]) if room < keep.size else count - offset
            self.seen += consumed
            offset += consumed
            self._halve()

    def to_state(self, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """JSON-ready metadata; the stored rows go into ``arrays`` as ``prefix.column`` copies,
        one array per column, so a run file names every column."""
        for name in self.names:
            arrays[f"{prefix}.{name}"] = np.array(self.column(name))
        return {"columns": list(self.names), "capacity": self.capacity, "size": self.size,
                "stride": self.stride, "seen": self.seen}

    @classmethod
    def from_state(cls, names: Sequence[str], state: Mapping[str, Any], prefix: str,
                   arrays: Mapping[str, np.ndarray]) -> DecimatingHistory:
        """A history with today's ``names``, filled from a stored one (matched by name: a
        stored column no longer known is left out, a new one is NaN). ValueError if damaged."""
        history = cls(names, int(state["capacity"]))
        size = int(state["size"])
        if not 0 <= size <= history.capacity:
            raise HistoryStateError(f"{prefix} holds {size} rows, more than its capacity {history.capacity}")
        for name in set(state["columns"]) & set(history.names):
            column = np.asarray(arrays[f"{prefix}.{name}"], dtype=np.float64)
            if column.shape != (size,):
                raise HistoryStateError(f"{prefix}.{name} has {column.shape} values, expected {size}")
            history._data[name][:size] = column
        history.size, history.stride, history.seen = size, int(state["stride"]), int(state["seen"])
        return history

    def truncate_after(self, value: float, key: str = "step") -> None:
        """Drop the rows whose ``key`` is greater than ``value`` (the column is increasing)."""
        keep = int(np.searchsorted(self._data[key][: self.size], value, side="right"))
        for column in self._data.values():
            column[keep : self.size] = np.nan
        self.size = keep

    def _store(self, arrays: Mapping[str, np.ndarray], picks: np.ndarray) -> None:
        n = picks.size
        for name, column in self._data.items():
            if name in arrays:
                column[self.size : self.size + n] = arrays[name][picks]
            else:
                column[self.size : self.size + n] = np.nan
        self.size += n

    def _halve(self) -> None:
        kept = (self.size + 1) // 2
        for column in self._data.values():
            column[:kept] = column[: self.size : 2]
            column[kept:] = np.nan
        self.size = kept
        self.stride *= 2


class DecimatingMatrix:
    """Rows of varying length (e.g. ‖∂L/∂h_t‖ for each step), right-aligned, NaN-padded.

    Right alignment puts the last timestep in the last column, which is where the loss of
    a many-to-one task enters, so variable-length phrases line up on what matters.
    """

    def __init__(self, capacity: int = 600) -> None:
        self.capacity = int(capacity)
        self.width = 0
        self._rows = np.zeros((self.capacity, 0))
        self._keys = np.zeros(self.capacity)  # the step of each row
        self.size = 0
        self.stride = 1
        self.seen = 0

    def __len__(self) -> int:
        return self.size

    @property
    def matrix(self) -> np.ndarray:
        """(rows, width) of the stored rows, oldest first."""
        return self._rows[: self.size]

    @property
    def keys(self) -> np.ndarray:
        return self._keys[: self.size]

    def extend(self, keys: np.ndarray | Sequence[float], rows: Sequence[np.ndarray]) -> None:
        for key, row in zip(keys, rows, strict=True):
            if self.seen % self.stride == 0:
                if self.size == self.capacity:
                    kept = (self.size + 1) // 2
                    self._rows[:kept] = self._rows[: self.size : 2]
                    self._keys[:kept] = self._keys[: self.size : 2]
                    self.size = kept
                    self.stride *= 2
                    if self.seen % self.stride != 0:
                        self.seen += 1
                        continue
                self._append(float(key), np.asarray(row, dtype=np.float64))
            self.seen += 1

    def to_state(self, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """JSON-ready metadata; rows and keys go into ``arrays`` (copies)."""
        arrays[f"{prefix}.rows"] = np.array(self.matrix)
        arrays[f"{prefix}.keys"] = np.array(self.keys)
        return {"capacity": self.capacity, "size": self.size, "stride": self.stride, "seen": self.seen}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], prefix: str,
                   arrays: Mapping[str, np.ndarray]) -> DecimatingMatrix:
        """The matrix :meth:`to_state` described; ValueError if damaged."""
        matrix = cls(int(state["capacity"]))
        rows = np.asarray(arrays[f"{prefix}.rows"], dtype=np.float64)
        keys = np.asarray(arrays[f"{prefix}.keys"], dtype=np.float64)
        size = int(state["size"])
        if rows.ndim != 2 or rows.shape[0] != size or keys.shape != (size,) or size > matrix.capacity:
            raise HistoryStateError(f"{prefix} has rows of shape {rows.shape} and {keys.shape} keys, "
                             f"expected {size}")
        matrix.width = rows.shape[1]
        matrix._rows = np.full((matrix.capacity, matrix.width), np.nan)
        matrix._rows[:size] = rows
        matrix._keys[:size] = keys
        matrix.size, matrix.stride, matrix.seen = size, int(state["stride"]), int(state["seen"])
        return matrix

    def truncate_after(self, key: float) -> None:
        """Drop the rows whose key (step) is greater than ``key``."""
        self.size = int(np.searchsorted(self._keys[: self.size], key, side="right"))

    def _append(self, key: float, row: np.ndarray) -> None:
        if row.size > self.width:
            grown = np.full((self.capacity, row.size), np.nan)
            grown[:, row.size - self.width :] = self._rows
            self._rows, self.width = grown, row.size
        self._rows[self.size, :] = np.nan
        if row.size:
            self._rows[self.size, self.width - row.size :] = row
        self._keys[self.size] = key
        self.size += 1
