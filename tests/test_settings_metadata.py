"""One description per setting: validation, the settings form and the CLI flags must agree.

For every TrainConfig field, its ``Setting`` (the field's metadata) is the truth; these
tests check that the config accepts exactly its range, that the form's editor spans exactly
that range (and returns the same value at both ends), and that the ``rnnviz train`` flag
exists, parses to the same value and shows the same help text as the form's tooltip.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import pytest

from rnnviz.cli import build_parser, flag_name
from rnnviz.training import LIVE_FIELDS, RESUMABLE_FIELDS, SETTINGS, ConfigError, Setting, TrainConfig

NUMERIC = [name for name, s in SETTINGS.items() if s.kind in (int, float) and not s.choices]
OPTIONAL = [name for name, s in SETTINGS.items() if s.optional]


def _train_actions() -> dict[str, argparse.Action]:
    """The ``rnnviz train`` parser's options, by destination."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest: action for action in sub.choices["train"]._actions}


def _parse_train(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", *argv])


def _outside(setting: Setting) -> list[float]:
    """Values just outside the setting's range: one step (int) or one ulp (float) away."""
    if setting.kind is int:
        return [setting.low - 1, setting.high + 1]
    return [math.nextafter(setting.low, -math.inf), math.nextafter(setting.high, math.inf)]


# ---------------------------------------------------------------------------- metadata
def test_every_field_is_described():
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    assert list(SETTINGS) == names
    for name, setting in SETTINGS.items():
        assert isinstance(setting, Setting), name
        assert setting.label and setting.help and "\n" not in setting.help, name
        assert setting.kind in (int, float, str), name
        if setting.kind is not str:
            assert setting.low is not None and setting.high is not None and setting.low < setting.high
        if setting.kind is float:
            assert round(setting.low, setting.decimals) == setting.low, f"{name}: low not reachable"


def test_live_and_resumable_fields_come_from_the_metadata():
    assert {n for n, s in SETTINGS.items() if s.live} == LIVE_FIELDS
    assert {"lr", "clip", "clip_value", "lr_schedule", "eval_every", "spectrum_every"} == LIVE_FIELDS
    assert LIVE_FIELDS | {"corpus"} == RESUMABLE_FIELDS


def test_defaults_are_inside_their_own_ranges():
    defaults = TrainConfig()
    for name, setting in SETTINGS.items():
        setting.check(name, getattr(defaults, name))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("name", NUMERIC)
def test_config_accepts_exactly_the_described_range(name):
    setting = SETTINGS[name]
    for value in (setting.low, setting.high):
        assert getattr(TrainConfig(**{name: setting.kind(value)}), name) == value
    for value in _outside(setting):
        with pytest.raises(ConfigError, match=name.replace("_", "-")):
            TrainConfig(**{name: setting.kind(value)})


@pytest.mark.parametrize("name", [n for n, s in SETTINGS.items() if s.choices])
def test_config_accepts_exactly_the_described_choices(name):
    for choice in SETTINGS[name].choices:
        assert getattr(TrainConfig(**{name: choice}), name) == choice
    with pytest.raises(ConfigError, match=name.replace("_", "-")):
        TrainConfig(**{name: "no-such-" + name})


def test_seed_reaches_64_bits():
    assert TrainConfig(seed=2**63 - 1).seed == 2**63 - 1


# ------------------------------------------------------------------------------ the CLI
@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_field_has_a_flag_with_the_same_help_and_choices(name):
    setting = SETTINGS[name]
    action = _train_actions()[name]
    assert action.option_strings == [flag_name(name)]
    assert action.help == setting.help
    assert tuple(action.choices or ()) == setting.choices
    assert action.default is argparse.SUPPRESS  # the preset's value unless given


def _cli_text(setting: Setting, value: object) -> str:
    if value is None:
        return setting.none_text
    return repr(value) if isinstance(value, float) else str(value)


def _sample_values(name: str) -> list[object]:
    setting = SETTINGS[name]
    if setting.choices:
        return list(setting.choices)
    if setting.kind is str:
        return ["some/corpus.txt", None]
    values: list[object] = [setting.kind(setting.low), setting.kind(setting.high),
                            getattr(TrainConfig(), name)]
    return values + ([None] if setting.optional else [])


@pytest.mark.parametrize("name", list(SETTINGS))
def test_flag_parses_to_the_same_value_as_the_config(name):
    setting = SETTINGS[name]
    for value in _sample_values(name):
        parsed = getattr(_parse_train(flag_name(name), _cli_text(setting, value)), name)
        assert parsed == value and type(parsed) is type(value), (name, value, parsed)
        assert getattr(TrainConfig().replace(**{name: parsed}), name) == value


def test_flags_left_out_are_absent_so_the_preset_applies():
    args = _parse_train("--hidden", "7")
    assert args.hidden == 7
    assert not any(hasattr(args, name) for name in SETTINGS if name != "hidden")


@pytest.mark.parametrize(("flag", "text"), [("--seed", "1.5"), ("--lr", "nan"), ("--lr", "fast"),
                                            ("--truncate", "all"), ("--dtype", "float16")])
def test_unparseable_flag_is_one_line_exit_2(capsys, flag, text):
    with pytest.raises(SystemExit) as info:
        _parse_train(flag, text)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err


# ----------------------------------------------------------------------------- the form
@pytest.fixture
def controls(qtbot):
    from rnnviz.app.controls import ControlsPanel

    panel = ControlsPanel()
    qtbot.addWidget(panel)
    return panel


def test_form_groups_show_every_field_once():
    from rnnviz.app.controls import GROUPS

    shown = [name for _, names in GROUPS for name in names]
    assert sorted(shown) == sorted(SETTINGS) and len(shown) == len(set(shown))


@pytest.mark.parametrize("name", list(SETTINGS))
def test_form_labels_and_tooltips_come_from_the_metadata(controls, name):
    setting = SETTINGS[name]
    assert controls.editors[name].toolTip() == setting.help
    assert controls.labels[name].toolTip() == setting.help
    label = controls.labels[name].text()
    assert label.startswith(setting.label)
    assert ("●" in label) == setting.live


@pytest.mark.parametrize("name", [n for n, s in SETTINGS.items() if s.choices])
def test_form_combo_offers_exactly_the_choices(controls, name):
    combo = controls.editors[name]
    assert [combo.itemText(i) for i in range(combo.count())] == list(SETTINGS[name].choices)


@pytest.mark.parametrize("name", NUMERIC)
def test_form_editor_spans_exactly_the_config_range(controls, name):
    from rnnviz.app.controls import none_value

    setting, editor = SETTINGS[name], controls.editors[name]
    low_shown = (none_value(setting) if setting.kind is float else setting.low - 1) \
        if setting.optional else setting.low
    assert editor.minimum() == low_shown
    assert editor.maximum() == setting.high
    if setting.kind is float:
        assert editor.decimals() == setting.decimals
    # Both ends are reachable and come back out of the form as the exact same value.
    for value in (setting.kind(setting.low), setting.kind(setting.high)):
        controls._set_value(name, value)
        got = getattr(controls.form_config(), name)
        assert got == value and type(got) is type(value), (name, value, got)
    # Beyond the ends, the editor holds its bound: it can never produce an invalid config.
    for value in _outside(setting):
        controls._set_value(name, value)
        assert getattr(controls.form_config(), name) in (setting.low, setting.high, None)


@pytest.mark.parametrize("name", OPTIONAL)
def test_form_shows_none_as_the_flag_word(controls, name):
    setting = SETTINGS[name]
    controls._set_value(name, None)
    assert getattr(controls.form_config(), name) is None
    if not setting.path:
        assert controls.editors[name].specialValueText() == setting.none_text
        assert controls.editors[name].text() == setting.none_text


def test_seed_editor_is_exact_to_64_bits(controls, qtbot):
    from rnnviz.app.qt import Qt

    editor = controls.editors["seed"]
    for value in (2**63 - 1, 2**53 + 1, 2**31):  # none of these survive a float or an int32
        editor.lineEdit().selectAll()
        qtbot.keyClicks(editor.lineEdit(), str(value))
        qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)
        assert controls.form_config().seed == value
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), str(2**63))  # the last digit is refused as it is typed
    assert int(editor.lineEdit().text()) < 2**63
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "-1x")  # no sign, no letters
    assert editor.lineEdit().text() == "1"
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Backspace)
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)  # nothing typed: the value stays
    assert controls.form_config().seed == 2**31 and editor.lineEdit().text() == str(2**31)
    editor.setValue(2**63 - 2)
    editor.stepBy(5)
    assert editor.value() == 2**63 - 1 and controls.form_config().seed == 2**63 - 1


def test_seed_change_is_marked_for_reset(controls, qtbot):
    from rnnviz.app.qt import Qt

    editor = controls.editors["seed"]
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), str(2**62))
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)
    assert not controls.pending.isHidden() and "seed" in controls.pending.text()
    assert "↻" in controls.labels["seed"].text()


def test_live_edit_is_emitted_with_the_config_value(controls, qtbot):
    from rnnviz.app.qt import Qt

    editor = controls.editors["clip_value"]
    with qtbot.waitSignal(controls.live_changed) as signal:
        editor.lineEdit().selectAll()
        qtbot.keyClicks(editor.lineEdit(), "0.000001")
        qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)
    assert signal.args == [{"clip_value": 1e-6}]
    assert editor.text() == "0.000001"  # the smallest value shown in full
    controls._set_value("clip_value", 5.0)
    assert editor.text() == "5"  # and no trailing zeros otherwise


def test_broken_preset_files_are_shown_not_dropped(qtbot, tmp_path, monkeypatch):
    import rnnviz.training.config as config_module
    from rnnviz.app.controls import ControlsPanel

    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "sine.toml").write_text('title = "Sine"\n[config]\ntask = "sine"\n', encoding="utf-8")
    (folder / "broken.toml").write_text("title = \"unterminated\n", encoding="utf-8")
    (folder / "typo.toml").write_text('title = "x"\n[config]\nhiden = 10\n', encoding="utf-8")
    monkeypatch.setattr(config_module, "resource_dir", lambda *parts: tmp_path.joinpath(*parts))

    panel = ControlsPanel()
    qtbot.addWidget(panel)
    assert len(panel.preset_problems) == 2
    assert [p.name for p in panel.presets] == ["charlm", "sine"]  # the built-in fallback, then sine
    label = panel.preset_problem_label
    assert not label.isHidden()
    assert "broken" in label.text() and "hiden" in label.text()
    assert label.text().count("\n") == 1  # one line per problem


def test_no_preset_problem_no_label(controls):
    assert controls.preset_problems == [] and controls.preset_problem_label.isHidden()
