"""Reports (StepReport, EvalReport, Spectrum) as JSON plus named arrays, without pickle.

The panels draw the latest step's report, so a run file has to hold one. Fields are written
by name, whatever fields the dataclass has today, and read back by name: a field a newer
rnnviz added is ignored by an older one, and a field missing from an older file takes its
default. Only the classes listed in ``_TYPES`` can be rebuilt, so a file cannot make the
reader construct anything else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnviz.core.connectivity import Connectivity
from rnnviz.core.diagnostics import Spectrum
from rnnviz.training.report import EvalReport, StepReport, frozen_mapping

_TYPES: dict[str, type] = {cls.__name__: cls for cls in (StepReport, EvalReport, Spectrum, Connectivity)}


class CodecError(ValueError):
    """A value that cannot be stored, or stored data that does not decode; one sentence."""


def encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON-ready form of ``value``; its arrays are added to ``arrays`` under names that
    start with ``key``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise CodecError(f"{key} is an array of Python objects, which would need pickle")
        arrays[key] = value
        return {"$array": key}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _TYPES:
        fields = {f.name: encode(getattr(value, f.name), f"{key}.{f.name}", arrays)
                  for f in dataclasses.fields(value)}
        return {"$type": type(value).__name__, "fields": fields}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise CodecError(f"{key} has keys that are not text")
        return {"$map": {k: encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]
    raise CodecError(f"{key} is a {type(value).__name__}, which a run file cannot hold")


def decode(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The value :func:`encode` was given (arrays read-only, mappings read-only)."""
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        name = value["$array"]
        if name not in arrays:
            raise CodecError(f"the array {name} is missing")
        array = np.asarray(arrays[name])
        array.flags.writeable = False
        return array
    if "$tuple" in value:
        return tuple(decode(v, arrays) for v in value["$tuple"])
    if "$map" in value:
        return frozen_mapping({k: decode(v, arrays) for k, v in value["$map"].items()})
    if "$type" in value:
        cls = _TYPES.get(value["$type"])
        if cls is None:
            raise CodecError(f"it holds an object of unknown type {value['$type']!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: decode(v, arrays) for k, v in value.get("fields", {}).items() if k in known}
        try:
            return cls(**fields)
        except TypeError as exc:
            raise CodecError(f"its {value['$type']} is incomplete ({exc})") from exc
    raise CodecError("it holds a value of unknown form")
