"""A run file: everything the window shows about a run, in one ``.rnnviz`` file.

Layout (an ``.npz`` zip, read with ``allow_pickle=False``):

- ``__run__``: UTF-8 JSON in a ``uint8`` array, the header: ``format`` ("rnnviz-run"),
  ``version``, ``rnnviz_version`` and ``sections``, one entry per named section:

  - ``history``: what the panels draw (``RunData.to_state``: task facts, configuration,
    the bounded step/evaluation/spectrum histories, the ‖∂L/∂h_t‖ profiles, the latest
    step's report, marks); its arrays are named ``history.<...>``.
  - ``weights``: the latest weights, optimizer, random and data-position state, stored
    exactly as a checkpoint stores them (its ``__meta__`` JSON and ``param.*``, ``optim.*``,
    ``carried_state`` arrays at the top level). A run file is therefore also a checkpoint:
    ``rnnviz train --resume``, ``rnnviz sample`` and the training process read it as one.
  - ``snapshots``: the run's timeline (``rnnviz/training/timeline.py``): at each kept step the
    trainer's whole state (``snapshot.<step>.state.<name>`` arrays, its metadata in the
    header) and the step's report and latest evaluation (encoded as the latest report is), so
    an opened run can be rewound, forked and animated as in the window that trained it.

  A reader skips sections it does not know, so adding one keeps the version; the version goes
  up only when an existing section changes meaning.

Writing goes to a temporary file in the same folder that is then renamed into place, so a
crash or Ctrl+C mid-write leaves the previous file whole. Every failure to read is one
sentence (:class:`RunFileError`, a ``CheckpointError``), as for checkpoints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz import __version__
from rnnviz.app.run_data import RunData
from rnnviz.core.checkpoint import FORMAT_NAME as CHECKPOINT_FORMAT
from rnnviz.core.checkpoint import FORMAT_VERSION as CHECKPOINT_VERSION
from rnnviz.core.checkpoint import UNREADABLE_NPZ, CheckpointError, load_checkpoint, write_npz_atomically
from rnnviz.runs.codec import decode, encode
from rnnviz.training import TrainConfig
from rnnviz.training.report import EvalReport, StepReport
from rnnviz.training.timeline import TimelineSnapshot

FORMAT_NAME = "rnnviz-run"
FORMAT_VERSION = 1
EXTENSION = ".rnnviz"
RUN_FILE_NAME = f"run{EXTENSION}"  # what `rnnviz train --out DIR` writes in DIR
_HEADER_KEY = "__run__"
_CHECKPOINT_META_KEY = "__meta__"
_HISTORY_PREFIX = "history."
_SNAPSHOT_PREFIX = "snapshot."


class RunFileError(CheckpointError):
    """A run file could not be read or written; the message says why in one sentence."""


Weights = tuple[dict[str, np.ndarray], dict[str, Any]]  # a checkpoint's arrays and metadata


@dataclass
class RunFile:
    """What a run file (or a plain checkpoint) holds."""

    path: Path
    weights: Weights
    data: RunData | None  # None for a plain checkpoint: no history
    header: dict[str, Any]

    @property
    def is_checkpoint(self) -> bool:
        return self.data is None

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.weights[1]["config"])

    @property
    def step(self) -> int:
        """The step of the weights (the history ends there too)."""
        return int(self.weights[1]["step"])


def run_file_path(path: str | os.PathLike) -> Path:
    """``path`` with the run-file extension (added if it has another or none)."""
    path = Path(path)
    return path if path.suffix == EXTENSION else path.with_name(path.name + EXTENSION)


def save_run(path: str | os.PathLike, data: RunData, weights: Weights) -> Path:
    """Atomically write ``data`` (the panels' history) and ``weights`` (``Trainer.state()``, or
    a loaded checkpoint) to ``path``; ``.rnnviz`` is added if missing. Returns the path."""
    path = run_file_path(path)
    weight_arrays, weight_meta = weights
    history_meta, history_arrays = data.to_state()
    snapshot_meta, snapshot_arrays = _encode_snapshots(data)
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "rnnviz_version": __version__,
              "sections": {"history": history_meta, "weights": {"step": int(weight_meta["step"])},
                           "snapshots": snapshot_meta}}
    checkpoint_meta = {**weight_meta, "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION}
    try:
        header_bytes = json.dumps(header, allow_nan=True).encode("utf-8")
        checkpoint_bytes = json.dumps(checkpoint_meta, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise RunFileError(f"the run cannot be written: {exc}") from exc
    payload: dict[str, np.ndarray] = {_HEADER_KEY: np.frombuffer(header_bytes, dtype=np.uint8),
                                      _CHECKPOINT_META_KEY: np.frombuffer(checkpoint_bytes, dtype=np.uint8)}
    for name, array in weight_arrays.items():
        if name.startswith((_HISTORY_PREFIX, _SNAPSHOT_PREFIX)) or name in payload:
            raise RunFileError(f"the weights have an array named {name!r}, a name run files reserve")
        payload[name] = np.asarray(array)
    payload.update({_HISTORY_PREFIX + name: np.asarray(a) for name, a in history_arrays.items()})
    payload.update({_SNAPSHOT_PREFIX + name: np.asarray(a) for name, a in snapshot_arrays.items()})
    for name, array in payload.items():
        if array.dtype == object:
            raise RunFileError(f"array {name!r} has dtype object, which would need pickle")
    # A run file is for sharing: it gets an ordinary file's permissions, not a temporary file's.
    write_npz_atomically(path, payload, RunFileError, "run file", mode=_shareable_mode())
    return path


def _shareable_mode() -> int:
    """The permissions an ordinary new file gets here (0o644 under the usual umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def load_run(path: str | os.PathLike) -> RunFile:
    """Read a run file, or a plain checkpoint (then ``data`` is None); RunFileError (one
    sentence) for anything else: missing, a folder, corrupt, truncated, foreign, too new."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path} does not exist")
    if path.is_dir():
        raise RunFileError(f"{path} is a folder, not a run file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
            raise RunFileError(f"{path} is not an rnnviz run or checkpoint")
        with loaded:
            if _HEADER_KEY not in loaded.files:
                if _CHECKPOINT_META_KEY in loaded.files:
                    return _checkpoint_as_run(path)
                raise RunFileError(f"{path} is not an rnnviz run or checkpoint")
            header = json.loads(bytes(loaded[_HEADER_KEY]).decode("utf-8"))
            _check_header(header, path)
            if _CHECKPOINT_META_KEY not in loaded.files:
                raise RunFileError(f"{path} is damaged: it has no weights")
            weight_meta = json.loads(bytes(loaded[_CHECKPOINT_META_KEY]).decode("utf-8"))
            history: dict[str, np.ndarray] = {}
            snapshot_arrays: dict[str, np.ndarray] = {}
            weight_arrays: dict[str, np.ndarray] = {}
            for name in loaded.files:
                if name.startswith(_HISTORY_PREFIX):
                    history[name[len(_HISTORY_PREFIX):]] = loaded[name]
                elif name.startswith(_SNAPSHOT_PREFIX):
                    snapshot_arrays[name[len(_SNAPSHOT_PREFIX):]] = loaded[name]
                elif name not in (_HEADER_KEY, _CHECKPOINT_META_KEY):
                    weight_arrays[name] = loaded[name]
    except RunFileError:
        raise
    except UNREADABLE_NPZ as exc:
        raise RunFileError(f"{path} is not a readable rnnviz run (corrupt, truncated, or another kind "
                           "of file)") from exc
    if not isinstance(weight_meta, dict) or weight_meta.get("format") != CHECKPOINT_FORMAT \
            or not isinstance(weight_meta.get("config"), dict) or "step" not in weight_meta:
        raise RunFileError(f"{path} is damaged: its weights have no valid description")
    sections = header.get("sections")
    if not isinstance(sections, dict) or not isinstance(sections.get("history"), dict):
        raise RunFileError(f"{path} is damaged: it has no history section")
    try:
        data = RunData.from_state(sections["history"], history)
        for snapshot in _decode_snapshots(sections.get("snapshots"), snapshot_arrays):
            data.timeline.add(snapshot)
    except ValueError as exc:
        raise RunFileError(f"{path} cannot be opened: {exc}") from exc
    return RunFile(path=path, weights=(weight_arrays, weight_meta), data=data, header=header)


def _encode_snapshots(data: RunData) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The timeline as header JSON and ``<step>.…`` arrays."""
    entries, arrays = [], {}
    for step in data.timeline.steps:
        snapshot = data.timeline.get(step)
        assert snapshot is not None
        key = str(step)
        for name, array in snapshot.arrays.items():
            arrays[f"{key}.state.{name}"] = array
        entries.append({"step": step, "kept": snapshot.kept, "state": sorted(snapshot.arrays),
                        "meta": snapshot.meta,
                        "report": encode(snapshot.report, f"{key}.report", arrays),
                        "evaluation": encode(snapshot.evaluation, f"{key}.evaluation", arrays)})
    return {"steps": [e["step"] for e in entries], "entries": entries}, arrays


def _decode_snapshots(section: Any, arrays: dict[str, np.ndarray]) -> list[TimelineSnapshot]:
    """The snapshots :func:`_encode_snapshots` wrote (none from a file that has none)."""
    if not isinstance(section, dict):
        return []
    snapshots = []
    try:
        for entry in section.get("entries", []):
            key = str(int(entry["step"]))
            state = {name: np.array(arrays[f"{key}.state.{name}"]) for name in entry["state"]}
            report = decode(entry["report"], arrays)
            evaluation = decode(entry["evaluation"], arrays)
            if not isinstance(report, StepReport) or not isinstance(evaluation, (EvalReport, type(None))):
                raise ValueError(f"its snapshot at step {key} is damaged")
            snapshots.append(TimelineSnapshot(step=int(entry["step"]), arrays=state, meta=dict(entry["meta"]),
                                              report=report, evaluation=evaluation, kept=int(entry["kept"])))
    except KeyError as exc:
        raise ValueError(f"its snapshots lack {exc.args[0]}") from exc
    except TypeError as exc:
        raise ValueError("its snapshots are damaged (a value has the wrong form)") from exc
    return snapshots


def _check_header(header: Any, path: Path) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise RunFileError(f"{path} is not an rnnviz run or checkpoint")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise RunFileError(f"{path} has run format version {version!r}; this rnnviz reads up to version "
                           f"{FORMAT_VERSION}")


def _checkpoint_as_run(path: Path) -> RunFile:
    try:
        arrays, meta = load_checkpoint(path)
    except RunFileError:
        raise
    except CheckpointError as exc:
        raise RunFileError(str(exc)) from exc
    if not isinstance(meta.get("config"), dict) or "step" not in meta:
        raise RunFileError(f"{path} is damaged: its weights have no valid description")
    return RunFile(path=path, weights=(arrays, meta), data=None, header={})
