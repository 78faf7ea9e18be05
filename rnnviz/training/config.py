"""TrainConfig (one frozen, validated set of hyperparameters) and TOML presets.

Each field is described once, in its ``Setting`` (``dataclasses.field(metadata=...)``): its
type, range, choices, label, help text and whether it applies live. Validation here, the
settings form (``rnnviz.app.controls``) and the ``rnnviz train`` flags (``rnnviz.cli``) are
all derived from that description, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from rnnviz.core.gated import CELLS
from rnnviz.core.init import INITS
from rnnviz.core.optim import CLIP_MODES, OPTIMIZERS
from rnnviz.core.rnn import ACTIVATIONS, DTYPES
from rnnviz.resource_files import resource_dir
from rnnviz.tasks.recall import FILLERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("charlm", "sentiment", "sine", "recall")
TOKENS = ("chars", "words")
LINE_MODES = ("off", "on")
LR_SCHEDULES = ("none", "plateau")
DEFAULT_PRESET = "charlm"


class ConfigError(ValueError):
    """An invalid hyperparameter or preset; the message is one sentence for the user."""


@dataclass(frozen=True)
class Setting:
    """Everything about one TrainConfig field that validation, the form and the CLI need.

    ``kind`` is ``int``, ``float`` or ``str``. Numbers must lie in the closed range
    [``low``, ``high``]; floats are edited with ``decimals`` decimals, so ``low`` is a
    multiple of 10**-decimals and the form can reach every bound. ``optional`` settings
    also accept None, which the form and the command line call ``none_text``.
    """

    label: str  # the form's label
    help: str  # the form's tooltip and the flag's --help text, word for word
    kind: type
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    decimals: int = 0
    optional: bool = False
    none_text: str = ""
    live: bool = False  # applies to a running trainer; otherwise only on reset
    on_resume: bool = False  # may differ from the checkpoint's when resuming (besides live ones)
    path: bool = False  # a file name (the form offers an Open… button)
    tasks: tuple[str, ...] = ()  # only used by these tasks (empty: by every task); the form greys
    # the setting out otherwise
    cells: tuple[str, ...] = ()  # only used by these cells (empty: by every cell), likewise

    def used_with(self, task: str, cell: str) -> bool:
        """Whether a run of this task and cell reads the setting (the form greys out the others)."""
        return (not self.tasks or task in self.tasks) and (not self.cells or cell in self.cells)

    def check(self, name: str, value: Any) -> None:
        """Raise ConfigError (one sentence naming the setting) unless ``value`` is allowed."""
        if self.optional and value is None:
            return
        shown = name.replace("_", "-")
        if self.choices:
            if value not in self.choices:
                raise ConfigError(f"{shown} must be one of {', '.join(self.choices)}; got {value!r}")
        elif self.kind is int:
            assert self.low is not None and self.high is not None  # every number setting has bounds
            if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
                raise ConfigError(f"{shown} must be a whole number from {self.low} to {self.high}"
                                  f"{self._or_none()}; got {value!r}")
        elif self.kind is float:
            assert self.low is not None and self.high is not None
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or not self.low <= value <= self.high):
                raise ConfigError(f"{shown} must be a number from {self.low:g} to {self.high:g}"
                                  f"{self._or_none()}; got {value!r}")
        elif not isinstance(value, str):
            raise ConfigError(f"{shown} must be {'a file path' if self.path else 'text'}; got {value!r}")

    def _or_none(self) -> str:
        return f", or None ({self.none_text})" if self.optional else ""


def _setting(default: Any, **description: Any) -> Any:
    return dataclasses.field(default=default, metadata={"setting": Setting(**description)})


_APPLIES_NOW = "; live: can change mid-run"


@dataclass(frozen=True)
class TrainConfig:
    task: str = _setting(
        "charlm", label="Task", kind=str, choices=TASKS,
        help="charlm: predict the next character; sentiment: read a phrase, say positive or negative; "
             "sine: predict the next value of a wave; recall: see a symbol, wait, then name it")
    corpus: str | None = _setting(
        None, label="Corpus", kind=str, optional=True, none_text="", path=True, on_resume=True,
        tasks=("charlm",), help="A UTF-8 text file for charlm; empty = the built-in lighthouse log")
    tokens: str = _setting(
        "chars", label="Tokens", kind=str, choices=TOKENS, tasks=("charlm",),
        help="chars: predict the next character; words: predict the next word (lower-cased; words and "
             "punctuation are tokens)")
    lines: str = _setting(
        "off", label="Line mode", kind=str, choices=LINE_MODES, tasks=("charlm",),
        help="on: every non-empty line is one sequence from <s> to </s>, padding masked out; off: one "
             "long text")
    vocab_size: int = _setting(
        8000, label="Vocabulary size", kind=int, low=1, high=100_000, tasks=("charlm",),
        help="With word tokens: keep this many most frequent words, the rest become <unk>")
    cell: str = _setting(
        "rnn", label="Cell", kind=str, choices=CELLS,
        help="rnn: the vanilla h_t = f(W_xh x_t + W_hh h_{t-1} + b_h); lstm and gru: gated cells as in "
             "PyTorch's nn.LSTM and nn.GRU")
    hidden: int = _setting(100, label="Hidden units", kind=int, low=1, high=4096,
                           help="Size of the hidden state h (H)")
    seq_len: int = _setting(
        25, label="Sequence length", kind=int, low=1, high=10_000, tasks=("charlm", "sine"),
        help="Timesteps per training sequence (T); sentiment reads whole phrases and recall's length "
             "is its distance + 1")
    batch: int = _setting(32, label="Batch size", kind=int, low=1, high=65_536,
                          help="Sequences trained in parallel per step (B)")
    lr: float = _setting(0.003, label="Learning rate", kind=float, low=1e-6, high=100.0, decimals=6,
                         live=True, help="Step size" + _APPLIES_NOW)
    optimizer: str = _setting("adam", label="Optimizer", kind=str, choices=OPTIMIZERS,
                              help="The update rule")
    clip: str = _setting(
        "norm", label="Clipping", kind=str, choices=CLIP_MODES, live=True,
        help="norm: rescale the whole gradient when its norm exceeds the threshold; value: clamp each "
             "element" + _APPLIES_NOW)
    clip_value: float = _setting(
        5.0, label="Clip threshold", kind=float, low=1e-6, high=1e9, decimals=6, live=True,
        help="The norm (or element bound) clipping enforces" + _APPLIES_NOW)
    truncate: int | None = _setting(
        None, label="BPTT truncation", kind=int, low=0, high=10_000, optional=True, none_text="full",
        help="Backpropagate each loss through at most k steps; 'full' = all")
    init: str = _setting("uniform", label="Initialisation", kind=str, choices=INITS,
                         help="How the weights start; 'small' is min-char-rnn's randn×0.01")
    spectral_radius: float | None = _setting(
        None, label="Spectral radius", kind=float, low=0.001, high=1e6, decimals=3, optional=True,
        none_text="keep", help="Rescale W_hh at the start so max|λ| equals this; 'keep' leaves it as "
                               "initialised")
    activation: str = _setting(
        "tanh", label="Activation", kind=str, choices=ACTIVATIONS,
        help="The hidden nonlinearity f in h_t = f(W_xh x_t + W_hh h_{t-1} + b_h)")
    forget_bias: float = _setting(
        1.0, label="Forget-gate bias", kind=float, low=-100.0, high=100.0, decimals=2, cells=("lstm", "gru"),
        help="The starting bias of the gate that keeps the state: the LSTM's forget gate f, the GRU's "
             "update gate z; 1 keeps most of the state from the start (σ(1) ≈ 0.73 per step)")
    dtype: str = _setting("float32", label="Precision", kind=str, choices=DTYPES,
                          help="float32 is faster; float64 is exact enough for gradient checks")
    seed: int = _setting(0, label="Seed", kind=int, low=0, high=2**63 - 1,
                         help="The same seed gives the same run, step for step")
    lr_schedule: str = _setting(
        "none", label="LR schedule", kind=str, choices=LR_SCHEDULES, live=True,
        help="plateau: halve the learning rate when the validation loss stops improving" + _APPLIES_NOW)
    eval_every: int = _setting(100, label="Evaluate every", kind=int, low=1, high=10**9, live=True,
                               help="Steps between validation runs (from h = 0)" + _APPLIES_NOW)
    spectrum_every: int = _setting(
        25, label="Spectrum every", kind=int, low=1, high=10**9, live=True,
        help="Steps between eigenvalue computations of W_hh" + _APPLIES_NOW)
    sine_freq: float = _setting(0.05, label="Sine frequency", kind=float, low=0.001, high=0.5, decimals=3,
                                tasks=("sine",), help="Cycles per timestep of the sine task's waves")
    sine_noise: float = _setting(
        0.0, label="Sine input noise", kind=float, low=0.0, high=10.0, decimals=3, tasks=("sine",),
        help="Standard deviation of Gaussian noise on the sine inputs")
    recall_distance: int = _setting(
        50, label="Recall distance", kind=int, low=1, high=10_000, tasks=("recall",),
        help="Steps between the symbol and the question that asks for it (sequence length - 1)")
    recall_symbols: int = _setting(4, label="Recall symbols", kind=int, low=2, high=26, tasks=("recall",),
                                   help="How many different symbols to remember; chance is 1 / this")
    recall_filler: str = _setting(
        "blank", label="Recall filler", kind=str, choices=FILLERS, tasks=("recall",),
        help="What fills the wait: blank (the same empty step) or distractors (random symbols to ignore)")

    def __post_init__(self) -> None:
        # Accept NumPy scalars (np.int64, np.float32) from library callers as plain numbers.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                object.__setattr__(self, f.name, value.item())
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for the first setting outside its Setting's range or choices."""
        for name, setting in SETTINGS.items():
            setting.check(name, getattr(self, name))
        if self.cell != "rnn" and self.activation != "tanh":
            raise ConfigError(f"activation {self.activation} applies to the vanilla RNN only; the "
                              f"{self.cell.upper()} uses sigmoid gates and tanh, so set activation to tanh")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied and validated (unknown names raise ConfigError)."""
        unknown = set(changes) - set(SETTINGS)
        if unknown:
            raise ConfigError(f"unknown setting {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = set(data) - set(SETTINGS)
        if unknown:
            raise ConfigError(f"unknown setting {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - guarded by the check above
            raise ConfigError(str(exc)) from exc

    def needs_reset(self, other: TrainConfig) -> list[str]:
        """Names of settings that differ from ``other`` and can only apply on reset."""
        return [name for name in SETTINGS
                if name not in LIVE_FIELDS and getattr(self, name) != getattr(other, name)]

    def resumed_with(self, changes: dict[str, Any]) -> TrainConfig:
        """This (a checkpoint's) config with ``changes`` for resuming it; ConfigError names any
        setting that cannot differ from the checkpoint's, such as the model's shape."""
        config = self.replace(**changes)
        fixed = [name.replace("_", "-") for name in SETTINGS
                 if name not in RESUMABLE_FIELDS and getattr(config, name) != getattr(self, name)]
        if fixed:
            allowed = ", ".join(name.replace("_", "-") for name in SETTINGS if name in RESUMABLE_FIELDS)
            raise ConfigError(f"{', '.join(fixed)} cannot change when resuming a checkpoint (only {allowed} "
                              "can)")
        return config


def config_differences(base: TrainConfig, config: TrainConfig) -> list[str]:
    """What ``config`` changes from ``base``, one short phrase per setting the run uses:
    "clipping: none → norm 5", "hidden units: 100 → 32". Settings of another task or cell
    are left out; clipping's mode and threshold read as one."""
    def shown(name: str, cfg: TrainConfig) -> str:
        value = getattr(cfg, name)
        if value is None:
            return SETTINGS[name].none_text or "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def clipping(cfg: TrainConfig) -> str:
        return "none" if cfg.clip == "none" else f"{cfg.clip} {cfg.clip_value:g}"

    phrases = []
    for name, setting in SETTINGS.items():
        if not setting.used_with(config.task, config.cell):
            continue
        if name == "clip":
            if clipping(base) != clipping(config):
                phrases.append(f"clipping: {clipping(base)} → {clipping(config)}")
        elif name != "clip_value" and getattr(base, name) != getattr(config, name):
            phrases.append(f"{setting.label.lower()}: {shown(name, base)} → {shown(name, config)}")
    return phrases


# name -> Setting, in field order: the one description of every hyperparameter.
SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in fields(TrainConfig)}

# Settings that can change while training runs; everything else needs a reset.
LIVE_FIELDS = frozenset(name for name, setting in SETTINGS.items() if setting.live)

# Settings that may differ from a checkpoint's when resuming it (a moved corpus, live ones).
RESUMABLE_FIELDS = LIVE_FIELDS | {name for name, setting in SETTINGS.items() if setting.on_resume}


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
