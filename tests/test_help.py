"""The Help menu: every panel, every key and every preset story, and each panel's "?" opens
its own paragraph. Checked on the real window, offscreen."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest

from rnnviz.app import help as app_help
from rnnviz.app.help import PANEL_HELP, help_html, key_rows, panel_anchor, preset_stories
from rnnviz.app.main_window import MainWindow
from rnnviz.app.panels import ALL_PANELS, SamplerPanel
from rnnviz.app.qt import QtCore, QtGui, QtWidgets
from rnnviz.training import ConfigError, list_presets, load_preset

WindowFactory = Callable[..., MainWindow]


def plain(text: str) -> str:
    """What a reader sees of some HTML: entities decoded, tags dropped."""
    document = QtGui.QTextDocument()
    document.setHtml(text)
    return document.toPlainText().replace("\u00a0", " ")


def test_help_lists_every_panel_every_shortcut_and_every_preset(make_window: WindowFactory) -> None:
    window = make_window(start=False)
    page = plain(help_html(window.actions()))
    panels = [*ALL_PANELS, SamplerPanel]
    assert set(PANEL_HELP) == {cls.key for cls in panels} == {p.key for p in window.panels}
    for cls in panels:
        assert cls.title in page, cls.title
        assert plain(PANEL_HELP[cls.key])[:60] in page
    with_keys = [a for a in window.actions() if any(not s.isEmpty() for s in a.shortcuts())]
    assert len(with_keys) >= 10  # Space, S, R, Ctrl+O, Ctrl+S, Ctrl+L, Ctrl+E, Ctrl+Shift+E, Ctrl+Q, F1…
    for action in with_keys:
        keys = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
        assert keys in page, action.text()
        assert action.text().replace("&", "").rstrip("…") in page
    for name in list_presets():
        preset = load_preset(name)
        assert preset.title in page, name
        assert preset.watch[:80] in page, name
        assert preset.description[:80] in page, name


def test_keys_are_read_from_the_actions_so_a_new_shortcut_appears(make_window: WindowFactory) -> None:
    window = make_window(start=False)
    action = QtGui.QAction("Zoom to fit", window)
    action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+F"))
    window.addAction(action)
    silent = QtGui.QAction("No key here", window)
    window.addAction(silent)
    rows = key_rows(window.actions())
    names = [row.action for row in rows]
    assert "Zoom to fit" in names and "No key here" not in names
    assert window.start_action.shortcut().toString() == "Space"
    space = next(row for row in rows if row.action in ("Start", "Pause"))
    assert space.keys == "Space"
    assert "Ctrl+Shift+F" in plain(help_html(window.actions()))


def test_every_question_mark_opens_its_own_paragraph(make_window: WindowFactory, qtbot) -> None:
    window = make_window(start=False)  # 1280×800
    for panel in window.panels:
        window.docks[panel.key].raise_()  # a tabbed panel shows its "?" once its tab is chosen
        qtbot.waitUntil(panel.help_button.isVisible, timeout=5000)
        button = panel.help_button
        corner = button.mapTo(panel.widget, QtCore.QPoint(0, 0))
        inside = panel.widget.rect().contains(QtCore.QRect(corner, button.size()))
        assert inside, f"the {panel.title} panel's ? is cut off"
        assert button.width() <= 40, "the ? should not take room from the summary"
        button.click()
        dialog = window.help.dialog
        assert dialog is not None and dialog.isVisible()
        browser = dialog.browser

        def at_top(title: str = panel.title, browser: QtWidgets.QTextBrowser = browser) -> bool:
            block = browser.cursorForPosition(QtCore.QPoint(8, 8)).block()
            return block.text().strip() == title

        qtbot.waitUntil(at_top, timeout=5000)
    assert window.help.dialog is not None
    window.help.dialog.close()


def test_help_key_opens_the_contents(make_window: WindowFactory, qtbot) -> None:
    window = make_window(start=False)
    assert window.help.contents_action.shortcut() == QtGui.QKeySequence("F1")
    window.help.contents_action.trigger()
    dialog = window.help.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.browser.verticalScrollBar().value() == 0
    assert "Preset stories" in dialog.browser.toPlainText()


def test_a_broken_preset_is_named_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    names = list_presets()
    broken = names[-1]

    def load(name: str):
        if name == broken:
            raise ConfigError(f"preset {name!r} is not valid TOML: expected '='")
        return load_preset(name)

    monkeypatch.setattr(app_help, "load_preset", load)
    stories = preset_stories()
    assert [s.name for s in stories] == names
    assert stories[-1].problem and not stories[0].problem
    assert html.escape(f"preset {broken!r} is not valid TOML") in help_html([])


def test_each_paragraph_has_an_anchor_the_buttons_use() -> None:
    page = help_html([])
    for key in PANEL_HELP:
        assert f"name='{panel_anchor(key)}'" in page


def test_the_flow_and_spectrum_paragraphs_state_the_math_of_docs_engine() -> None:
    """The recursion is eq. (4) of docs/engine.md with its transpose; Pascanu et al.'s
    conditions keep their direction: σ₁ < 1/γ sufficient to vanish, ρ > 1 necessary to explode."""
    flow = plain(PANEL_HELP["flow"])
    assert "gt = ∂Lt/∂ht + WhhT (gt+1 ⊙ f′(at+1))" in flow  # W_hhᵀ, not W_hh
    assert "∂Lt/∂ht = WhyT ∂Lt/∂ot" in flow
    spectrum = plain(PANEL_HELP["spectrum"])
    assert "σ1 < 1/γ is sufficient for gradients through time to vanish" in spectrum
    assert "ρ > 1 is necessary for them to explode" in spectrum
