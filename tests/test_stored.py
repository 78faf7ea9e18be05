"""Settings read back with the type they were written with, from an INI file that holds text."""

from __future__ import annotations

from pathlib import Path

from rnnviz.app.qt import QtCore
from rnnviz.app.stored import read_setting


def test_each_value_comes_back_with_its_type(qsettings: QtCore.QSettings, settings_path: Path) -> None:
    for key, value in (("a/width", 1800), ("a/scale", 2.5), ("a/live", True), ("a/seed", "12")):
        qsettings.setValue(key, value)
    qsettings.sync()
    assert "width=1800" in settings_path.read_text(encoding="utf-8")  # the file holds text
    width, scale = read_setting(qsettings, "a/width", 0), read_setting(qsettings, "a/scale", 1.0)
    live, seed = read_setting(qsettings, "a/live", False), read_setting(qsettings, "a/seed", "")
    assert (width, scale, live, seed) == (1800, 2.5, True, "12")
    assert [type(v) for v in (width, scale, live, seed)] == [int, float, bool, str]


def test_text_in_a_file_is_converted_to_the_default_s_type(tmp_path: Path) -> None:
    path = tmp_path / "edited.ini"
    path.write_text("[sampler]\nlength=450\ntemperature=1.25\nlive=true\nseed=42\nbad=lots\n",
                    encoding="utf-8")
    settings = QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)
    assert settings.value("sampler/length") == "450"  # what Qt gives without a type
    assert read_setting(settings, "sampler/length", 300) == 450
    assert read_setting(settings, "sampler/temperature", 0.8) == 1.25
    assert read_setting(settings, "sampler/live", False) is True
    assert read_setting(settings, "sampler/seed", "") == "42"
    assert read_setting(settings, "sampler/bad", 300) == 0  # Qt's conversion of text that is no number
    assert read_setting(settings, "sampler/missing", 300) == 300
