"""TrainConfig (one frozen, validated set of hyperparameters) and TOML presets."""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from rnnviz.core.init import INITS
from rnnviz.core.optim import CLIP_MODES, OPTIMIZERS
from rnnviz.core.rnn import ACTIVATIONS, DTYPES
from rnnviz.resource_files import resource_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("charlm", "sentiment", "sine")
LR_SCHEDULES = ("none", "plateau")
DEFAULT_PRESET = "charlm"

# Settings that can change while training runs; everything else needs a reset.
LIVE_FIELDS = frozenset({"lr", "clip", "clip_value", "lr_schedule", "eval_every", "spectrum_every"})


class ConfigError(ValueError):
    """An invalid hyperparameter or preset; the message is one sentence for the user."""


@dataclass(frozen=True)
class TrainConfig:
    task: str = "charlm"
    corpus: str | None = None  # charlm: a UTF-8 text file; None = the built-in corpus
    hidden: int = 100
    seq_len: int = 25
    batch: int = 32
    lr: float = 0.003
    optimizer: str = "adam"
    clip: str = "norm"
    clip_value: float = 5.0
    truncate: int | None = None
    init: str = "xavier"
    spectral_radius: float | None = None
    activation: str = "tanh"
    dtype: str = "float32"
    seed: int = 0
    lr_schedule: str = "none"
    eval_every: int = 100
    spectrum_every: int = 25
    sine_freq: float = 0.05  # cycles per timestep
    sine_noise: float = 0.0  # standard deviation of Gaussian noise on the inputs

    def __post_init__(self) -> None:
        # Accept NumPy scalars (np.int64, np.float32) from library callers as plain numbers.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                object.__setattr__(self, f.name, value.item())
        self.validate()

    def validate(self) -> None:
        def choice(name: str, options: tuple[str, ...]) -> None:
            value = getattr(self, name)
            if value not in options:
                raise ConfigError(f"{name.replace('_', '-')} must be one of {', '.join(options)}; "
                                  f"got {value!r}")

        def integer(name: str, low: int, high: int, optional: bool = False) -> None:
            value = getattr(self, name)
            if optional and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"{name.replace('_', '-')} must be a whole number from {low} to "
                                  f"{high}; got {value!r}")

        def number(name: str, low: float, high: float, optional: bool = False,
                   low_open: bool = True) -> None:
            value = getattr(self, name)
            if optional and value is None:
                return
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value) and (value > low if low_open else value >= low)
                  and value <= high)
            if not ok:
                bound = "greater than" if low_open else "at least"
                raise ConfigError(f"{name.replace('_', '-')} must be a number {bound} {low:g} and at "
                                  f"most {high:g}; got {value!r}")

        choice("task", TASKS)
        choice("optimizer", OPTIMIZERS)
        choice("clip", CLIP_MODES)
        choice("init", INITS)
        choice("activation", ACTIVATIONS)
        choice("dtype", DTYPES)
        choice("lr_schedule", LR_SCHEDULES)
        integer("hidden", 1, 4096)
        integer("seq_len", 1, 10_000)
        integer("batch", 1, 65_536)
        integer("truncate", 0, 10_000, optional=True)
        integer("seed", 0, 2**63 - 1)
        integer("eval_every", 1, 10**9)
        integer("spectrum_every", 1, 10**9)
        number("lr", 0.0, 100.0)
        number("clip_value", 0.0, 1e12)
        number("spectral_radius", 0.0, 1e6, optional=True)
        number("sine_freq", 0.0, 0.5)
        number("sine_noise", 0.0, 10.0, low_open=False)
        if self.corpus is not None and not isinstance(self.corpus, str):
            raise ConfigError(f"corpus must be a file path; got {self.corpus!r}")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied and validated (unknown names raise ConfigError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - guarded by the check above
            raise ConfigError(str(exc)) from exc

    def needs_reset(self, other: TrainConfig) -> list[str]:
        """Names of settings that differ from ``other`` and can only apply on reset."""
        return [f.name for f in fields(self)
                if f.name not in LIVE_FIELDS and getattr(self, f.name) != getattr(other, f.name)]


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str  # one paragraph: what the preset is
    watch: str  # what to look at in the panels while it trains
    config: TrainConfig
    # Steps per second at which the story is meant to be watched; None: as fast as possible.
    pace: float | None = None


def list_presets() -> list[str]:
    """Names of the built-in presets, default first, then alphabetical."""
    names = sorted(p.name[:-5] for p in resource_dir("presets").iterdir() if p.name.endswith(".toml"))
    if DEFAULT_PRESET in names:
        names.remove(DEFAULT_PRESET)
        names.insert(0, DEFAULT_PRESET)
    return names


def load_preset(name: str) -> Preset:
    """Load ``resources/presets/NAME.toml``; raise ConfigError for an unknown or broken preset."""
    path = resource_dir("presets") / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(list_presets())}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"preset {name!r} is not valid TOML: {exc}") from exc
    settings = data.get("config", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"preset {name!r} is broken: its config must be a [config] table")
    config = TrainConfig.from_dict(settings)
    pace = data.get("pace")
    if pace is not None and (isinstance(pace, bool) or not isinstance(pace, (int, float))
                             or not math.isfinite(pace) or pace <= 0):
        raise ConfigError(f"preset {name!r} is broken: pace must be a positive number of steps per "
                          f"second; got {pace!r}")
    return Preset(name=name, title=str(data.get("title", name)),
                  description=" ".join(str(data.get("description", "")).split()),
                  watch=" ".join(str(data.get("watch", "")).split()), config=config,
                  pace=float(pace) if pace is not None else None)
