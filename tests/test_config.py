"""Tests for TrainConfig validation, presets, and live setting changes on a running Trainer."""

from __future__ import annotations

import dataclasses
import math

import pytest

import rnnviz.training.config as config_module
from rnnviz.training import (
    DEFAULT_PRESET,
    LIVE_FIELDS,
    ConfigError,
    Preset,
    TrainConfig,
    Trainer,
    list_presets,
    load_preset,
)

# (setting, bad value): each must be refused with a message naming the setting.
BAD_VALUES = [
    ("hidden", 0),
    ("hidden", -3),
    ("hidden", 2.5),
    ("hidden", "100"),
    ("hidden", True),
    ("seq_len", 0),
    ("batch", 0),
    ("batch", False),
    ("lr", -1.0),
    ("lr", 0.0),
    ("lr", math.nan),
    ("lr", math.inf),
    ("lr", True),
    ("lr", "0.01"),
    ("clip_value", 0.0),
    ("clip_value", -5.0),
    ("clip_value", math.inf),
    ("optimizer", "adamw"),
    ("clip", "global"),
    ("init", "he"),
    ("activation", "gelu"),
    ("dtype", "float16"),
    ("task", "translation"),
    ("lr_schedule", "cosine"),
    ("truncate", -1),
    ("truncate", 1.5),
    ("truncate", True),
    ("seed", -1),
    ("seed", 1.0),
    ("eval_every", 0),
    ("spectrum_every", 0),
    ("spectral_radius", 0.0),
    ("spectral_radius", -1.0),
    ("spectral_radius", math.nan),
    ("sine_freq", 0.0),
    ("sine_freq", 0.75),
    ("sine_noise", -0.1),
    ("corpus", 42),
]


def _names(setting: str) -> tuple[str, str]:
    return setting, setting.replace("_", "-")


# -------------------------------------------------------------------------- validation
class TestValidation:
    def test_defaults_are_valid(self):
        TrainConfig()

    @pytest.mark.parametrize(("setting", "value"), BAD_VALUES, ids=[f"{s}={v!r}" for s, v in BAD_VALUES])
    def test_bad_value_raises_config_error_naming_the_setting(self, setting, value):
        with pytest.raises(ConfigError) as info:
            TrainConfig(**{setting: value})
        message = str(info.value)
        assert any(name in message for name in _names(setting)), message
        assert "\n" not in message

    @pytest.mark.parametrize(("setting", "value"), BAD_VALUES[:12], ids=[s for s, _ in BAD_VALUES[:12]])
    def test_replace_validates(self, setting, value):
        """Changing one setting of a valid config must not sneak a bad value past validation."""
        with pytest.raises(ConfigError):
            TrainConfig().replace(**{setting: value})

    def test_replace_rejects_unknown_setting(self):
        with pytest.raises(ConfigError, match="hiden"):
            TrainConfig().replace(hiden=10)

    def test_replace_applies_valid_changes_and_keeps_the_rest(self):
        base = TrainConfig()
        changed = base.replace(hidden=17, lr=0.5, truncate=None)
        assert (changed.hidden, changed.lr, changed.truncate) == (17, 0.5, None)
        assert changed.seq_len == base.seq_len and base.hidden != 17

    def test_optional_settings_accept_none(self):
        cfg = TrainConfig(truncate=None, spectral_radius=None, corpus=None)
        assert cfg.truncate is None and cfg.spectral_radius is None

    def test_boundary_values_are_accepted(self):
        TrainConfig(truncate=0, sine_noise=0.0, hidden=1, sine_freq=0.5)

    def test_config_is_frozen(self):
        with pytest.raises(dataclasses.FrozenInstanceError):
            TrainConfig().hidden = 5  # type: ignore[misc]


class TestNeedsResetAndSerialisation:
    @pytest.mark.parametrize(("setting", "value"), [("hidden", 64), ("task", "sine"), ("seq_len", 7),
                                                    ("optimizer", "sgd"), ("init", "orthogonal"),
                                                    ("seed", 5), ("dtype", "float64")])
    def test_structural_changes_need_a_reset(self, setting, value):
        base = TrainConfig()
        assert base.replace(**{setting: value}).needs_reset(base) == [setting]

    @pytest.mark.parametrize(("setting", "value"), [("lr", 0.1), ("clip", "value"), ("clip_value", 1.0)])
    def test_live_changes_do_not_need_a_reset(self, setting, value):
        base = TrainConfig()
        assert setting in LIVE_FIELDS
        assert base.replace(**{setting: value}).needs_reset(base) == []

    def test_mixed_changes_list_only_structural_ones(self):
        base = TrainConfig()
        other = base.replace(hidden=8, batch=4, lr=0.2, clip="none")
        assert sorted(other.needs_reset(base)) == ["batch", "hidden"]

    def test_to_dict_from_dict_round_trip(self):
        cfg = TrainConfig(task="sine", hidden=12, truncate=3, spectral_radius=0.9, lr=0.02,
                          corpus="some/file.txt", sine_noise=0.1, seed=99)
        data = cfg.to_dict()
        assert data["hidden"] == 12 and data["truncate"] == 3
        assert TrainConfig.from_dict(data) == cfg

    def test_from_dict_rejects_unknown_setting(self):
        with pytest.raises(ConfigError, match="learning_rate"):
            TrainConfig.from_dict({"learning_rate": 0.1})

    def test_from_dict_validates(self):
        with pytest.raises(ConfigError, match="hidden"):
            TrainConfig.from_dict({"hidden": 0})


# ----------------------------------------------------------------------------- presets
class TestPresets:
    def test_default_preset_comes_first(self):
        names = list_presets()
        assert DEFAULT_PRESET == "charlm"
        assert names[0] == "charlm"
        assert names[1:] == sorted(names[1:])

    def test_every_shipped_preset_file_is_listed(self):
        on_disk = {p.stem for p in config_module.resource_dir("presets").glob("*.toml")}
        assert set(list_presets()) == on_disk
        assert {"sentiment", "sine", "vanishing", "exploding", "exploding-clipped"} <= on_disk

    @pytest.mark.parametrize("name", list_presets())
    def test_every_preset_loads_with_text_and_a_valid_config(self, name):
        preset = load_preset(name)
        assert isinstance(preset, Preset)
        assert preset.name == name
        assert preset.title.strip() and preset.title != name
        assert len(preset.description) > 40
        assert len(preset.watch) > 40
        assert "\n" not in preset.description and "  " not in preset.watch  # reflowed
        assert isinstance(preset.config, TrainConfig)
        preset.config.validate()

    def test_exploding_and_clipped_differ_only_in_clipping(self):
        """The teaching pair: same seed and everything else, plus clipping."""
        plain, clipped = load_preset("exploding").config, load_preset("exploding-clipped").config
        assert clipped.needs_reset(plain) == []
        assert plain.clip == "none" and clipped.clip != "none"

    def test_unknown_preset(self):
        with pytest.raises(ConfigError, match="no-such-preset") as info:
            load_preset("no-such-preset")
        assert "charlm" in str(info.value)  # lists the choices

    @pytest.fixture
    def preset_dir(self, tmp_path, monkeypatch):
        folder = tmp_path / "presets"
        folder.mkdir()
        monkeypatch.setattr(config_module, "resource_dir", lambda *parts: tmp_path.joinpath(*parts))
        return folder

    def test_broken_toml_preset(self, preset_dir):
        (preset_dir / "broken.toml").write_text('title = "unterminated\n[config\nhidden = \n',
                                                encoding="utf-8")
        with pytest.raises(ConfigError, match="broken"):
            load_preset("broken")

    def test_preset_with_bad_setting(self, preset_dir):
        (preset_dir / "bad.toml").write_text('title = "x"\n[config]\nhidden = 0\n', encoding="utf-8")
        with pytest.raises(ConfigError, match="hidden"):
            load_preset("bad")

    def test_preset_with_unknown_setting(self, preset_dir):
        (preset_dir / "typo.toml").write_text('title = "x"\n[config]\nhiden = 10\n', encoding="utf-8")
        with pytest.raises(ConfigError, match="hiden"):
            load_preset("typo")

    def test_preset_whose_config_is_not_a_table(self, preset_dir):
        (preset_dir / "flat.toml").write_text('title = "x"\nconfig = 5\n', encoding="utf-8")
        with pytest.raises(ConfigError, match="flat"):
            load_preset("flat")

    def test_preset_that_is_not_utf8(self, preset_dir):
        (preset_dir / "latin.toml").write_bytes('title = "café"\n'.encode("latin-1"))
        with pytest.raises(ConfigError, match="latin"):
            load_preset("latin")

    def test_listing_a_custom_folder_puts_default_first(self, preset_dir):
        for name in ("zeta", "charlm", "alpha"):
            (preset_dir / f"{name}.toml").write_text('title = "x"\n', encoding="utf-8")
        (preset_dir / "notes.txt").write_text("not a preset", encoding="utf-8")
        assert list_presets() == ["charlm", "alpha", "zeta"]


# ---------------------------------------------------------------------- live settings
def _tiny_sine_trainer() -> Trainer:
    return Trainer(TrainConfig(task="sine", hidden=4, seq_len=5, batch=2, lr=0.01, eval_every=10**6))


class TestUpdateLive:
    def test_learning_rate_applies_at_the_next_step(self):
        trainer = _tiny_sine_trainer()
        assert trainer.step().lr == pytest.approx(0.01)
        trainer.update_live(lr=0.25)
        report = trainer.step()
        assert report.lr == pytest.approx(0.25)
        assert trainer.optimizer.lr == pytest.approx(0.25)
        assert trainer.config.lr == pytest.approx(0.25)

    def test_learning_rate_changes_the_update_size(self):
        """Not just the reported number: a 10x lr gives a ~10x SGD step."""
        def delta(lr):
            trainer = Trainer(TrainConfig(task="sine", hidden=4, seq_len=5, batch=2, lr=0.01,
                                          optimizer="sgd", clip="none", eval_every=10**6))
            trainer.update_live(lr=lr)
            before = trainer.model.params["W_hy"].copy()
            trainer.step()
            return float(abs(trainer.model.params["W_hy"] - before).sum())

        assert delta(0.1) == pytest.approx(10 * delta(0.01), rel=1e-3)

    def test_clip_settings_apply_at_the_next_step(self):
        trainer = _tiny_sine_trainer()
        trainer.update_live(clip="norm", clip_value=1e-6)
        report = trainer.step()
        assert report.clip_mode == "norm" and report.clip_value == 1e-6
        assert report.clipped
        assert report.global_norm_after == pytest.approx(1e-6, rel=1e-4)

    @pytest.mark.parametrize("changes", [{"hidden": 8}, {"seed": 3}, {"task": "charlm"},
                                         {"lr": 0.1, "batch": 4}])
    def test_non_live_settings_are_rejected(self, changes):
        trainer = _tiny_sine_trainer()
        with pytest.raises(ConfigError, match="reset"):
            trainer.update_live(**changes)
        report = trainer.step()
        assert report.lr == pytest.approx(0.01)  # nothing of a rejected change applied
        assert trainer.config.hidden == 4

    @pytest.mark.parametrize("changes", [{"lr": -1.0}, {"lr": math.nan}, {"clip": "sometimes"}])
    def test_invalid_live_values_are_rejected_immediately(self, changes):
        trainer = _tiny_sine_trainer()
        with pytest.raises(ConfigError):
            trainer.update_live(**changes)
        assert trainer.step().lr == pytest.approx(0.01)


# ------------------------------------------------------------------------ resuming
class TestResumedWith:
    def test_corpus_and_live_settings_may_change(self):
        stored = TrainConfig(hidden=12)
        changes = {"corpus": "moved/corpus.txt", "lr": 0.02, "clip": "value", "clip_value": 0.5,
                   "lr_schedule": "plateau", "eval_every": 7, "spectrum_every": 3}
        resumed = stored.resumed_with(changes)
        assert {name: getattr(resumed, name) for name in changes} == changes
        assert resumed.replace(**{name: getattr(stored, name) for name in changes}) == stored

    def test_structural_changes_are_refused_naming_them(self):
        with pytest.raises(ConfigError) as info:
            TrainConfig().resumed_with({"hidden": 8, "seq_len": 3, "lr": 0.1})
        message = str(info.value)
        assert "hidden, seq-len cannot change when resuming" in message
        assert "corpus" in message and "\n" not in message

    def test_the_checkpoints_own_value_is_not_a_change(self):
        stored = TrainConfig(hidden=12, seed=5)
        assert stored.resumed_with({"hidden": 12, "seed": 5}) == stored

    def test_invalid_values_are_still_refused(self):
        with pytest.raises(ConfigError, match="lr"):
            TrainConfig().resumed_with({"lr": -1.0})
