"""Checkpoints: one ``.npz`` of arrays plus JSON metadata. Never pickle.

Layout: every array under its own key; the metadata (format name, version, step,
vocabulary, config, anything JSON-serialisable) as UTF-8 JSON in a ``uint8`` array under
``__meta__``. Loading uses ``allow_pickle=False``, so a file cannot execute code. Writing
goes to a temporary file in the same folder and is renamed into place, so a crash mid-write
never leaves a half-written checkpoint under the real name.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_NAME = "rnnviz-checkpoint"
FORMAT_VERSION = 1
_META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint could not be read or written; the message says why in one sentence."""


def write_npz_atomically(path: Path, payload: dict[str, np.ndarray], error: type[Exception], what: str,
                         mode: int | None = None) -> None:
    """Write ``payload`` as an ``.npz`` to a temporary file beside ``path``, flush it to disk and
    rename it into place, so a crash or Ctrl+C mid-write leaves the previous file whole.
    Failures raise ``error`` with one sentence naming ``what`` was written; ``mode``: the new
    file's permissions (a temporary file starts private)."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise error(f"cannot write a {what} in {folder}: {exc.strerror}") from exc
    try:
        if mode is not None:
            os.chmod(tmp_name, mode)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise error(f"cannot write {what} {path}: {exc.strerror}") from exc
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray],
                    meta: dict[str, Any]) -> Path:
    """Atomically write ``arrays`` and ``meta`` to ``path`` (``.npz`` is added if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if _META_KEY in arrays:
        raise CheckpointError(f"array name {_META_KEY!r} is reserved")
    full_meta = {**meta, "format": FORMAT_NAME, "version": FORMAT_VERSION}
    try:
        meta_bytes = json.dumps(full_meta, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint metadata is not JSON-serialisable: {exc}") from exc
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise CheckpointError(f"array {name!r} has dtype object, which would need pickle")
    payload: dict[str, np.ndarray] = {_META_KEY: np.frombuffer(meta_bytes, dtype=np.uint8)}
    payload.update({k: np.asarray(v) for k, v in arrays.items()})
    write_npz_atomically(path, payload, CheckpointError, "checkpoint")
    return path


# What NumPy and zipfile raise for a file that is not a whole .npz (corrupt, truncated, another
# kind of file); the last two are zipfile's for unknown compression and encryption flags.
UNREADABLE_NPZ = (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError,
                  NotImplementedError, RuntimeError)


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`; raise CheckpointError otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy array has no `with`
            raise CheckpointError(f"{path} is not an rnnviz checkpoint")
        with data:
            if _META_KEY not in data.files:
                raise CheckpointError(f"{path} is not an rnnviz checkpoint")
            meta = json.loads(bytes(data[_META_KEY]).decode("utf-8"))
            arrays = {k: data[k] for k in data.files if k != _META_KEY}
    except CheckpointError:
        raise
    except UNREADABLE_NPZ as exc:
        raise CheckpointError(f"{path} is not a readable rnnviz checkpoint "
                              "(corrupt, truncated, or another kind of file)") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not an rnnviz checkpoint")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {version!r}; this rnnviz "
                              f"reads up to version {FORMAT_VERSION}")
    return arrays, meta


_CELL_NAMES = {"rnn": "a vanilla RNN", "lstm": "an LSTM", "gru": "a GRU"}


def checkpoint_cell(meta: dict[str, Any]) -> str:
    """The cell type whose weights a checkpoint holds ("rnn", "lstm" or "gru"); files written
    before the gated cells existed hold a vanilla RNN and record none."""
    config = meta.get("config")
    stored = meta.get("cell", config.get("cell", "rnn") if isinstance(config, dict) else "rnn")
    if stored not in _CELL_NAMES:
        raise CheckpointError(f"the checkpoint holds a cell of unknown type {stored!r}; this rnnviz "
                              f"knows {', '.join(_CELL_NAMES)}")
    return stored


def check_cell(meta: dict[str, Any], cell: str, path: str | os.PathLike) -> None:
    """Raise CheckpointError, in one sentence, unless the checkpoint holds weights of ``cell``."""
    stored = checkpoint_cell(meta)
    if stored != cell:
        raise CheckpointError(f"{path} holds the weights of {_CELL_NAMES[stored]}, but this run builds "
                              f"{_CELL_NAMES.get(cell, repr(cell))}; set the cell to {stored} to load it")
