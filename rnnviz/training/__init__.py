"""Configuration, presets, the Trainer and its reports (no Qt)."""

from rnnviz.training.config import (
    DEFAULT_PRESET,
    LIVE_FIELDS,
    LR_SCHEDULES,
    RESUMABLE_FIELDS,
    SETTINGS,
    TASKS,
    ConfigError,
    Preset,
    Setting,
    TrainConfig,
    list_presets,
    load_preset,
)
from rnnviz.training.report import EvalReport, StepReport
from rnnviz.training.trainer import Trainer, load_model, sample_text

__all__ = ["DEFAULT_PRESET", "LIVE_FIELDS", "LR_SCHEDULES", "RESUMABLE_FIELDS", "SETTINGS", "TASKS",
           "ConfigError", "EvalReport", "Preset", "Setting", "StepReport", "TrainConfig", "Trainer",
           "list_presets", "load_model", "load_preset", "sample_text"]
