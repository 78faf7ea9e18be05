"""The connectivity and task output panels in their default docks on a projector's screen.

Both share a column's lower half with another panel's tab, about 320×330 px at 1280×800:
nothing in them may overlap or be cut, and the heatmap and the recall plot must keep a
usable size. (Before, the hover line was drawn over the text, the heatmap was 7 px tall, the
colour bar wrote "0.1" over "0.001", and the recall plot ran past the window's right edge.)
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from conftest import CHARLM, SINE
from test_app import WindowFactory
from test_layout import set_large_text, settle_layout

from rnnviz.app.qt import QtCore, QtGui, QtWidgets
from rnnviz.training import load_preset
from tests.test_panel_texts import SMALL_CHARLM, make_run, shown_panel

# The recall preset's task and cell, on a model small enough to evaluate within a second.
RECALL = load_preset("recall-lstm").config.replace(hidden=16, batch=16, eval_every=5, recall_distance=20)
HEAT_VIEW_PX = 60  # the heatmap's view at least this tall: several rows, and its axis titles whole


def stacked_widgets(panel) -> list[QtWidgets.QWidget]:
    """The panel's visible widgets from top to bottom (the summary's row, then the rest)."""
    widgets = [panel.summary]
    for index in range(1, panel.layout.count()):
        widget = panel.layout.itemAt(index).widget()
        if widget is not None and widget.isVisible():
            widgets.append(widget)
    return widgets


def overlaps_and_cuts(panel) -> list[str]:
    """Widgets of the panel that overlap the next one, reach past the panel, or are shorter
    than their wrapped text needs."""
    problems = []
    widgets = stacked_widgets(panel)
    for upper, lower in pairwise(widgets):
        if upper.geometry().bottom() >= lower.geometry().top():
            problems.append(f"{type(upper).__name__} overlaps {type(lower).__name__}")
    if widgets[-1].geometry().bottom() >= panel.widget.height():
        problems.append(f"{type(widgets[-1]).__name__} reaches past the panel")
    for label in (panel.summary, getattr(panel, "readout", None)):
        if label is not None and label.isVisible() and label.height() < label.heightForWidth(label.width()):
            problems.append(f"{label.plain_text()[:40]!r} is cut: {label.height()} of "
                            f"{label.heightForWidth(label.width())} px")
    return problems


def in_dock(window, key: str, widget: QtWidgets.QWidget, rect: QtCore.QRectF | QtCore.QRect) -> bool:
    """Whether ``rect`` (in ``widget``'s coordinates) lies inside the dock ``key``."""
    dock = window.docks[key]
    corner = rect.topLeft().toPoint() if isinstance(rect, QtCore.QRectF) else rect.topLeft()
    top_left = widget.mapTo(dock, corner)
    box = QtCore.QRect(top_left, QtCore.QSize(int(rect.width()), int(rect.height())))
    return dock.rect().contains(box)


def wait_for_evaluation_and_connectivity(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.session.data.latest_eval is not None
                    and window.session.data.connectivity is not None, timeout=30_000)
    window.docks["connectivity"].raise_()
    window.docks["task"].raise_()
    for _ in range(3):
        settle_layout(qtbot)
        qtbot.wait(100)  # a redraw or two at the window's frame rate


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)], ids=["1280x800", "1600x1000"])
def test_recall_panels_fit_their_default_docks(make_window: WindowFactory, qtbot, size) -> None:
    window = make_window(RECALL, size=size)
    wait_for_evaluation_and_connectivity(window, qtbot)
    for large in (False, True):
        if large:
            set_large_text(window, qtbot, True)
            window.restore_default_layout()
            wait_for_evaluation_and_connectivity(window, qtbot)
        what = f"{size}, large text {large}"
        connectivity = window.panel("connectivity")
        assert not overlaps_and_cuts(connectivity), f"{what}: {overlaps_and_cuts(connectivity)}"
        if not large:  # large text at 1280 leaves a 200-pixel column: readable, if small
            assert connectivity.heat.getViewBox().height() >= HEAT_VIEW_PX, what

        task = window.panel("task")
        assert task.pages.currentWidget() is task.recall_view
        assert not overlaps_and_cuts(task), f"{what}: {overlaps_and_cuts(task)}"
        canvas = task.recall_canvas
        for axis in ("bottom", "left"):
            label = task.recall_plot.getAxis(axis).label
            if not label.isVisible():  # a short plot: the x title names both axes
                assert axis == "left" and "accuracy" in task.recall_plot.getAxis("bottom").labelText
                continue
            shown = canvas.mapFromScene(label.sceneBoundingRect()).boundingRect()
            assert in_dock(window, "task", canvas, shown), \
                f"{what}: the {axis} axis title {label.toPlainText()!r} is cut ({shown})"
            assert canvas.rect().contains(shown), f"{what}: the {axis} axis title is outside its plot"
        chance = task.chance_line.label
        shown = canvas.mapFromScene(chance.sceneBoundingRect()).boundingRect()
        assert in_dock(window, "task", canvas, shown), f"{what}: the chance label is cut"
        table, header = task.recall_table, task.recall_table.horizontalHeader()
        last = header.count() - 1
        columns = QtCore.QRect(0, 0, header.sectionPosition(last) + header.sectionSize(last), 1)
        assert in_dock(window, "task", table.viewport(), columns), f"{what}: the ✓/✗ column is cut"


def test_the_connectivity_text_the_hover_line_and_the_heatmap_share_a_short_panel(qtbot) -> None:
    from rnnviz.app.panels import ConnectivityPanel

    data, _ = make_run(SMALL_CHARLM.replace(seq_len=25), 3)
    panel = shown_panel(qtbot, ConnectivityPanel, size=(317, 305))  # the default dock at 1280×800
    panel.model_source = lambda reply: None  # a text model: the typed field is shown
    panel.update(data)
    panel.flush_summary(force=True)
    settle_layout(qtbot)
    assert panel.typed.isVisible()
    assert not overlaps_and_cuts(panel), overlaps_and_cuts(panel)
    assert panel.heat.getViewBox().height() >= HEAT_VIEW_PX * 0.8  # 305 px hold little more
    # No room for the hover line: its words are the text's tooltip, and the text scrolls by
    # whole lines to the chosen (last) position.
    assert not panel.readout.isVisible()
    assert panel.readout.plain_text().split(":")[0] in QtGui.QTextDocumentFragment.fromHtml(
        panel.text.toolTip()).toPlainText()
    scroll_bar = panel.text.verticalScrollBar()
    assert scroll_bar.maximum() > 0 and scroll_bar.value() == scroll_bar.maximum()

    panel.widget.resize(420, 600)  # a taller dock: the hover line again, and all of the text
    settle_layout(qtbot)
    assert panel.readout.isVisible() and panel.text.verticalScrollBar().maximum() == 0
    assert not overlaps_and_cuts(panel), overlaps_and_cuts(panel)


@pytest.mark.parametrize("bar_px", [8, 30, 60, 200])
def test_colour_bar_labels_keep_a_line_apart(qtbot, bar_px: int) -> None:
    from rnnviz.app.panels import ConnectivityPanel

    panel = shown_panel(qtbot, ConnectivityPanel)
    axis = panel.colour_bar.axis
    font = axis.style.get("tickFont") or QtGui.QFont()
    line = QtGui.QFontMetricsF(font).height()
    low, high = -4.0, 0.0
    [(_, values)] = axis.tickValues(low, high, bar_px)
    assert values, "the bar has no label at all"
    pixels = sorted((v - low) / (high - low) * bar_px for v in values)
    gaps = [b - a for a, b in pairwise(pixels)]
    assert all(gap >= line for gap in gaps), f"labels {gaps} px apart, a line is {line:.0f} px"


def test_the_typed_field_is_shown_only_for_a_text_model(make_window: WindowFactory, qtbot) -> None:
    window = make_window(CHARLM.replace(eval_every=1000))
    panel = window.panel("connectivity")
    window.docks["connectivity"].raise_()
    qtbot.waitUntil(lambda: panel.typed.isEnabled(), timeout=20_000)
    assert panel.typed.isVisible()
    sine = shown_panel(qtbot, type(panel))
    data, _ = make_run(SINE, 2)
    sine.update(data)
    assert not sine.typed.isEnabled() and sine.typed.isHidden()
