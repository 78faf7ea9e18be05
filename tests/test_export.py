"""Exports: panels as PNG at any resolution and as SVG, drawn from their parts (title, summary,
legend, plots) without the dock's buttons; the metrics CSV with the CLI's column names.
Checked on the real window, offscreen."""

from __future__ import annotations

import csv
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SINE

from rnnviz import cli
from rnnviz.app.export import CSV_COLUMNS, PAD, ImageOptions, content_widgets, panel_parts
from rnnviz.app.main_window import MainWindow
from rnnviz.app.qt import QtCore, QtGui, QtWidgets, pg
from rnnviz.training import Trainer
from rnnviz.training.metrics import METRIC_COLUMNS

WindowFactory = Callable[..., MainWindow]
WAIT_MS = 15_000


@pytest.fixture
def trained(make_window: WindowFactory, qtbot) -> MainWindow:
    """A window paused after a few evaluations of the small sine run, every panel drawn."""
    window = make_window(SINE)
    qtbot.waitUntil(lambda: window.session.data.step >= 3 * SINE.eval_every, timeout=WAIT_MS)
    window.toggle_running()
    qtbot.waitUntil(lambda: not window.session.running, timeout=WAIT_MS)
    qtbot.wait(300)  # the last batch the training process sent while stopping
    window.redraw()
    return window


def image_size(path: Path) -> tuple[int, int]:
    image = QtGui.QImage(str(path))
    assert not image.isNull(), path
    return image.width(), image.height()


def svg_text(path: Path) -> str:
    """Every piece of text in an SVG, without spaces (Qt's generator splits a line into runs
    where the font changes, as for λ)."""
    return squeezed(" ".join(ET.parse(path).getroot().itertext()))


def squeezed(text: str) -> str:
    """Without spaces, and with the legends' unbreakable characters read as plain ones."""
    return "".join(text.split()).replace("\u2060", "").replace("\u2011", "-")


def test_png_at_2x_and_at_a_chosen_width(trained: MainWindow, tmp_path: Path) -> None:
    one = {p.name: p for p in trained.export_png(str(tmp_path / "1x"))}
    two = {p.name: p for p in trained.export_png(str(tmp_path / "2x"), ImageOptions(scale=2.0))}
    wide = {p.name: p for p in trained.export_png(str(tmp_path / "w"), ImageOptions(width=1200))}
    assert one.keys() == two.keys() == wide.keys()
    assert {f"rnnviz-{p.key}.png" for p in trained.panels} | {"rnnviz-window.png"} == set(one)
    for name, path in one.items():
        width, height = image_size(path)
        width2, height2 = image_size(two[name])
        assert abs(width2 - 2 * width) <= 1 and abs(height2 - 2 * height) <= 1, name
        width_w, height_w = image_size(wide[name])
        assert width_w == 1200, name
        assert height_w == pytest.approx(height * 1200 / width, abs=2), name  # the same picture, larger
    for panel in trained.panels:
        dock = trained.docks[panel.key]
        width, _ = image_size(one[f"rnnviz-{panel.key}.png"])
        # The panel's own contents and a margin, not the dock with its title bar and buttons.
        margins = panel.layout.contentsMargins()
        assert width == panel.widget.width() - margins.left() - margins.right() + 2 * PAD
        assert width != dock.width()


def test_png_is_sharper_at_2x_not_just_larger(trained: MainWindow, tmp_path: Path) -> None:
    """At 2× the text and lines are drawn again with twice the pixels: a scaled-up 1× image
    would hold no more detail than the 1× one (its 2×2 blocks are uniform)."""
    path_1 = trained.export_png(str(tmp_path / "a"))[0]
    path_2 = trained.export_png(str(tmp_path / "b"), ImageOptions(scale=2.0))[0]
    sharp = QtGui.QImage(str(path_2))
    blocky = QtGui.QImage(str(path_1)).scaled(sharp.size())  # nearest-neighbour: what "just larger" is
    assert sharp.size() == blocky.size()

    def non_uniform_blocks(image: QtGui.QImage) -> int:
        count = 0
        for y in range(0, image.height() - 1, 2):
            for x in range(0, image.width() - 1, 2):
                block = {image.pixel(x, y), image.pixel(x + 1, y), image.pixel(x, y + 1),
                         image.pixel(x + 1, y + 1)}
                count += len(block) > 1
        return count

    assert non_uniform_blocks(sharp) > 2 * non_uniform_blocks(blocky)


def test_svg_has_titles_legends_and_axis_labels(trained: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtSvg import QSvgRenderer

    written = trained.export_png(str(tmp_path), ImageOptions(format="svg"))
    assert {p.name for p in written} == {f"rnnviz-{p.key}.svg" for p in trained.panels}
    for panel in trained.panels:
        path = tmp_path / f"rnnviz-{panel.key}.svg"
        assert QSvgRenderer(str(path)).isValid(), path
        text = svg_text(path)
        assert squeezed(panel.title) in text, panel.key
        for plot in panel.plots:
            if not plot.isVisible() or not plot.getViewWidget().isVisibleTo(panel.widget):
                continue
            for side in ("bottom", "left"):
                label = plot.getAxis(side).labelText
                assert squeezed(label) in text, (panel.key, label)
        ids = [e.get("id") for e in ET.parse(path).getroot().iter() if e.get("id")]
        assert len(ids) == len(set(ids)), f"{panel.key}: ids repeat across parts"
    for key, entries in {"loss": ("each step", "smoothed", "validation, from h = 0", "baseline"),
                         "gradients": ("W_hh", "global", "after clipping", "threshold"),
                         "spectrum": ("eigenvalues λ", "ρ = max|λ|"),
                         "flow": ("at step 1", "now"),
                         "task": ("truth", "one-step prediction", "free-running")}.items():
        text = svg_text(tmp_path / f"rnnviz-{key}.svg")
        for entry in entries:
            assert squeezed(entry) in text, (key, entry)


def test_svg_plots_keep_closed_paths(trained: MainWindow, tmp_path: Path) -> None:
    """pyqtgraph 0.14's SVG exporter failed on Qt's closed paths ("… Z"): the frame of a view
    is one; it is kept closed, with its coordinates moved like every other point."""
    path = trained.export_png(str(tmp_path), ImageOptions(format="svg"))[0]
    closed = [e.get("d") for e in ET.parse(path).getroot().iter() if e.get("d", "").rstrip().endswith("Z")]
    assert closed
    for d in closed:
        numbers = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", d)]
        assert numbers and all(math.isfinite(v) for v in numbers)


def test_parts_leave_out_controls_and_keep_what_the_panel_shows(trained: MainWindow) -> None:
    loss = trained.panel("loss")
    parts = panel_parts(loss, 300)
    texts = [p.document.toPlainText() for p in parts if p.document is not None]
    assert texts[0] == "Loss" and texts[1] == loss.summary.plain_text()
    assert any("smoothed" in t for t in texts)
    assert [p.view for p in parts if p.view is not None] == [loss.view]
    shown = list(content_widgets(loss.widget))
    assert loss.log_y not in shown and not any(isinstance(w, QtWidgets.QCheckBox) for w in shown)
    hidden = trained.panel("hidden")
    assert hidden.hover not in list(content_widgets(hidden.widget))  # follows the mouse: left out
    task = trained.panel("task")
    assert task.sine_canvas in list(content_widgets(task.widget))  # the page the panel shows
    assert task.table not in list(content_widgets(task.widget))


def test_export_leaves_the_screen_as_it_was(trained: MainWindow, tmp_path: Path) -> None:
    """Pens are thickened and caches dropped only while exporting."""
    def look() -> list:
        out = []
        for panel in trained.panels:
            for view in panel.widget.findChildren(pg.GraphicsView):
                for item in view.scene().items():
                    pen = (item.opts["pen"] if isinstance(item, pg.PlotCurveItem)
                           else item.pen if isinstance(item, pg.InfiniteLine)
                           else item.pen() if isinstance(item, pg.AxisItem) else None)
                    out.append((id(item), item.cacheMode(), None if pen is None else pen.widthF()))
        return out

    before = look()
    assert any(mode != QtWidgets.QGraphicsItem.CacheMode.NoCache for _, mode, _ in before)
    trained.export_png(str(tmp_path / "a"), ImageOptions(scale=3.0))
    trained.export_png(str(tmp_path / "b"), ImageOptions(format="svg"))
    assert look() == before


def test_bad_image_options_are_one_sentence() -> None:
    for options in ({"format": "gif"}, {"scale": 0.0}, {"scale": math.nan}, {"width": 3}):
        with pytest.raises(ValueError, match=r"^the |^unknown image format"):
            ImageOptions(**options)


def test_unwritable_folder_is_a_banner_not_a_traceback(trained: MainWindow, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert trained.export_png(str(blocker / "inside"), ImageOptions(scale=2.0)) == []
    expected = f"export failed: cannot make the folder {blocker / 'inside'}: "
    assert trained.last_problem.lower().startswith(expected)
    assert "Errno" not in trained.last_problem and "Traceback" not in trained.last_problem


# ---------------------------------------------------------------------------------- CSV
def test_app_csv_and_cli_metrics_share_one_naming(trained: MainWindow, tmp_path: Path) -> None:
    """The CLI writes METRIC_COLUMNS; the app's CSV uses the same names, in the same order, for
    the same quantities (checked against the CLI's own row writer on the same run)."""
    assert tuple(cli.METRIC_COLUMNS) == METRIC_COLUMNS
    path = trained.export_csv(str(tmp_path / "app.csv"))
    assert path is not None
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0].keys())
    assert tuple(header) == CSV_COLUMNS
    shared = [c for c in header if c in METRIC_COLUMNS]
    assert shared == list(METRIC_COLUMNS)  # every one of the CLI's columns, in the CLI's order
    assert {"chars_seen", "val_rmse", "train_loss", "val_loss", "spectral_radius"} <= set(shared)
    assert "tokens_seen" not in header and "accuracy" not in header and "rmse" not in header

    trainer = Trainer(trained.session.config)  # the same config and seed: the same run
    compared = 0
    for row in rows[:3 * SINE.eval_every]:
        expected = cli._metrics_row(trainer.step())
        assert int(row["step"]) == expected["step"]
        for column in shared:
            if column == "elapsed_s":
                continue
            want = expected.get(column, "")
            if want == "":
                assert row[column] == "", (row["step"], column)
                continue
            assert float(row[column]) == pytest.approx(float(want), rel=1e-9, abs=1e-6), (row["step"], column)
            compared += 1
    assert compared > 3 * SINE.eval_every * 6


def test_export_dialog_offers_1x_2x_a_width_and_svg_and_remembers(qtbot, qsettings, monkeypatch,
                                                                    tmp_path: Path) -> None:
    from rnnviz.app.export_dialog import ExportDialog

    dialog = ExportDialog(None, str(tmp_path), ImageOptions())
    qtbot.addWidget(dialog)
    assert dialog.options() == ImageOptions(scale=1.0)
    assert dialog.size() == QtCore.QSize(dialog.width(), dialog.height())  # QWidget's own, not a field
    dialog.png_size.setCurrentIndex(1)
    assert dialog.options() == ImageOptions(scale=2.0)
    dialog.png_size.setCurrentIndex(2)
    dialog.png_width.setValue(2400)
    assert dialog.png_width.isEnabled() and dialog.options() == ImageOptions(width=2400)
    dialog.svg.setChecked(True)
    assert not dialog.png_size.isEnabled() and dialog.options() == ImageOptions(format="svg")

    def choose_width(self: ExportDialog) -> int:
        self.folder.setText(str(tmp_path / "figures"))
        self.png_size.setCurrentIndex(2)
        self.png_width.setValue(1800)
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", choose_width)
    assert ExportDialog.ask(None, qsettings) == (str(tmp_path / "figures"), ImageOptions(width=1800))
    shown: list[tuple[str, ImageOptions]] = []

    def look_and_cancel(self: ExportDialog) -> int:
        shown.append((self.folder.text(), self.options()))
        self.grab().save(str(tmp_path / "dialog.png"))
        return QtWidgets.QDialog.DialogCode.Rejected

    monkeypatch.setattr(ExportDialog, "exec", look_and_cancel)
    assert ExportDialog.ask(None, qsettings) is None
    assert shown == [(str(tmp_path / "figures"), ImageOptions(width=1800))]  # the last choice, again
