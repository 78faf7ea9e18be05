"""Export: every metric as CSV, every panel as an image (PNG at any resolution, or SVG).

The CSV has one row per kept training step (all of them until the history is thinned for
memory, see ``history.py``) and one row per evaluation, with the column names of
``rnnviz train``'s ``metrics.csv`` (``rnnviz.training.metrics``).

A panel's image is drawn from its parts, not grabbed from the screen: its title, its
summary, its legend and its plots (through pyqtgraph's exporters), laid out as on screen
but without the dock's buttons or the panel's check boxes. A PNG is drawn at any number of
pixels per screen pixel, text and lines included, so a 2× export is the screen's picture,
sharper; an SVG keeps every line and letter as vectors.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import math
import re
import sys
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnviz.app.panels.base import Panel
from rnnviz.app.qt import Qt, QtCore, QtGui, QtWidgets, pg
from rnnviz.app.run_data import RunData
from rnnviz.training.metrics import METRIC_COLUMNS, grad_norm_columns


def _grad_source(column: str) -> str:
    """``grad_norm_before_W_hh`` → the step history's ``grad_before.W_hh``."""
    when, name = column[len("grad_norm_"):].split("_", 1)
    return f"grad_{when}.{name}"


# Column name → RunData step-history column, for the shared metric columns the app records ...
_SHARED_STEP_SOURCES = {"step": "step", "chars_seen": "tokens_seen", "elapsed_s": "elapsed_s",
                        "train_loss": "loss", "lr": "lr", "global_norm_before": "global_before",
                        "global_norm_after": "global_after", "clipped": "clipped", "saturation": "saturation"}


def _app_step_sources(cell: str) -> dict[str, str]:
    """... and for what only the app records: the smoothed curve it draws, and the norm of each
    of the cell's own parameters (b_h for the vanilla cell, b_xh and b_hh for the gated ones)."""
    return {"train_loss_smoothed": "smoothed_loss", "clip_value": "clip_value", "diverged": "diverged",
            **{column: _grad_source(column) for column in grad_norm_columns(cell)}}


_EVAL_SOURCES = {"val_loss": "val_loss", "val_loss_se": "val_loss_se", "val_windows": "val_windows",
                 "val_accuracy": "accuracy", "val_rmse": "rmse"}
_SPECTRUM_SOURCES = {"spectral_radius": "spectral_radius", "largest_singular_value": "largest_singular_value"}
# The CLI's columns in the CLI's order (every one the app's history keeps), then the app's own.
_RECORDED = {*_SHARED_STEP_SOURCES, *_EVAL_SOURCES, *_SPECTRUM_SOURCES}


def csv_columns(cell: str) -> tuple[str, ...]:
    """The columns of a run of ``cell``: the CLI's (those the app keeps), then the app's own."""
    return (*(c for c in METRIC_COLUMNS if c in _RECORDED), *_app_step_sources(cell))


CSV_COLUMNS = csv_columns("rnn")  # a vanilla run's
_INTEGER_COLUMNS = {"step", "chars_seen", "clipped", "diverged", "val_windows"}


def _cell(name: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    if name in _INTEGER_COLUMNS:
        return str(int(value))
    return repr(float(value))


def metric_rows(data: RunData) -> Iterable[dict[str, str]]:
    """Training steps and evaluations merged by step (an evaluation joins its step's row)."""
    steps = data.steps
    step_sources = {**_SHARED_STEP_SOURCES, **_app_step_sources(data.config.cell)}
    columns = {name: steps.column(source) for name, source in step_sources.items()}
    evals = {int(s): i for i, s in enumerate(data.evals.column("step"))}
    spectra = {int(s): i for i, s in enumerate(data.spectra.column("step"))}
    eval_cols = {name: data.evals.column(source) for name, source in _EVAL_SOURCES.items()}
    spec_cols = {name: data.spectra.column(source) for name, source in _SPECTRUM_SOURCES.items()}
    used_evals: set[int] = set()
    for row in range(len(steps)):
        step = int(columns["step"][row])
        out = {name: _cell(name, columns[name][row]) for name in step_sources}
        diverged_row = columns["diverged"][row] > 0.5
        if step in evals and not diverged_row and step not in used_evals:
            used_evals.add(step)
            for key, col in eval_cols.items():
                out[key] = _cell(key, col[evals[step]])
        if step in spectra and not diverged_row:
            for key, col in spec_cols.items():
                out[key] = _cell(key, col[spectra[step]])
        yield out
    for step, index in evals.items():  # evaluations whose step row was thinned away
        if step not in used_evals:
            yield {"step": str(step), **{k: _cell(k, col[index]) for k, col in eval_cols.items()}}


def write_metrics_csv(data: RunData, path: str | Path) -> Path:
    path = Path(path)
    rows = sorted(metric_rows(data), key=lambda r: int(r["step"]))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=csv_columns(data.config.cell), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path



# ------------------------------------------------------------------------------ panel images
IMAGE_FORMATS = ("png", "svg")
MAX_IMAGE_WIDTH = 8_000  # pixels: a poster; a panel this wide is a few hundred MB while drawn
PAD = 8  # logical pixels around and between a panel's parts
TITLE_GROWTH_PT = 3  # the title is this much larger than the panel's text


@dataclass(frozen=True)
class ImageOptions:
    """How panels are drawn: ``format`` "png" or "svg"; a PNG has ``scale`` pixels per screen
    pixel, or is ``width`` pixels wide when a width is given."""

    format: str = "png"
    scale: float = 1.0
    width: int | None = None

    def __post_init__(self) -> None:
        if self.format not in IMAGE_FORMATS:
            raise ValueError(f"unknown image format {self.format!r}; choose png or svg")
        if not (math.isfinite(self.scale) and 0 < self.scale <= 16):
            raise ValueError(f"the scale must be above 0 and at most 16, got {self.scale!r}")
        if self.width is not None and not 16 <= self.width <= MAX_IMAGE_WIDTH:
            raise ValueError(f"the width must be 16 to {MAX_IMAGE_WIDTH:,} pixels, got {self.width!r}")

    def scale_for(self, screen_width: float) -> float:
        """Pixels per screen pixel for an image whose screen width is ``screen_width``."""
        return self.width / screen_width if self.width is not None else self.scale


@dataclass
class _Part:
    """One piece of a panel's image, ``height`` logical pixels tall."""

    height: float
    document: QtGui.QTextDocument | None = None  # text: a title, a summary, a legend, a sample
    view: pg.GraphicsView | None = None  # plots
    widget: QtWidgets.QWidget | None = None  # anything else worth showing (a table)


def _is_content(widget: QtWidgets.QWidget) -> bool:
    """Plots, text and tables are what a panel shows; check boxes, combo boxes, buttons and the
    readout under the mouse pointer are how it is driven, and stay out of the picture."""
    if isinstance(widget, QtWidgets.QLabel):
        return widget.wordWrap() and bool(widget.text())  # legends, notes; not "Seed"
    return isinstance(widget, (pg.GraphicsView, QtWidgets.QPlainTextEdit, QtWidgets.QTextEdit,
                               QtWidgets.QAbstractItemView))


def content_widgets(root: QtWidgets.QWidget) -> Iterator[QtWidgets.QWidget]:
    """The widgets a panel shows, top to bottom: its layout walked in order, into the page a
    stacked widget shows and into containers, skipping what is hidden."""

    def visit(widget: QtWidgets.QWidget) -> Iterator[QtWidgets.QWidget]:
        if widget is not root and not widget.isVisibleTo(root):
            return
        if _is_content(widget):
            yield widget
        elif isinstance(widget, QtWidgets.QStackedWidget):
            page = widget.currentWidget()
            if page is not None:
                yield from visit(page)
        elif (layout := widget.layout()) is not None:
            yield from walk(layout)

    def walk(layout: QtWidgets.QLayout) -> Iterator[QtWidgets.QWidget]:
        for index in range(layout.count()):
            item = layout.itemAt(index)
            assert item is not None  # itemAt is None only past count()
            if (inner := item.layout()) is not None:
                yield from walk(inner)
            elif (child := item.widget()) is not None:
                yield from visit(child)

    if (layout := root.layout()) is not None:
        yield from walk(layout)


def _document(html: str, font: QtGui.QFont, width: float) -> QtGui.QTextDocument:
    document = QtGui.QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(font)
    if QtGui.Qt.mightBeRichText(html):  # (a function Qt's namespace keeps in QtGui)
        document.setHtml(html)
    else:
        document.setPlainText(html)
    document.setTextWidth(width)
    return document


def panel_parts(panel: Panel, width: float) -> list[_Part]:
    """Title, summary, then what the panel shows, each laid out ``width`` logical pixels wide."""
    title_font = QtGui.QFont(panel.summary.font())
    title_font.setPointSizeF(title_font.pointSizeF() + TITLE_GROWTH_PT - 1)
    title_font.setBold(True)
    parts = [_document(panel.title, title_font, width)]
    if panel.summary.text():
        parts.append(_document(panel.summary.text(), panel.summary.font(), width))
    out = [_Part(d.size().height(), document=d) for d in parts]
    for widget in content_widgets(panel.widget):
        if isinstance(widget, pg.GraphicsView):
            out.append(_Part(widget.height(), view=widget))
        elif isinstance(widget, QtWidgets.QLabel):
            document = _document(widget.text(), widget.font(), width)
            out.append(_Part(document.size().height(), document=document))
        elif isinstance(widget, (QtWidgets.QPlainTextEdit, QtWidgets.QTextEdit)):
            document = _plain_copy(widget, width)  # the whole text, not the part scrolled into view
            out.append(_Part(document.size().height(), document=document))
        else:
            out.append(_Part(widget.height(), widget=widget))
    return out


def _plain_copy(edit: QtWidgets.QPlainTextEdit | QtWidgets.QTextEdit, width: float) -> QtGui.QTextDocument:
    """A text box's whole document, with its formats (the sampler's grey seed), laid out anew."""
    document = QtGui.QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(edit.font())
    cursor = QtGui.QTextCursor(document)
    cursor.insertFragment(QtGui.QTextDocumentFragment(edit.document()))
    document.setTextWidth(width)
    return document


def _panel_width(panel: Panel) -> float:
    """The width the panel's parts are laid out in: its contents' width on screen."""
    margins = panel.layout.contentsMargins()
    return max(float(panel.widget.width() - margins.left() - margins.right()), 64.0)


@contextlib.contextmanager
def _export_look(scene: QtWidgets.QGraphicsScene, scale: float) -> Iterator[None]:
    """While exporting: no cached pixmaps (they hold the screen's resolution) and lines as
    thick, relative to the picture, as on screen (pens are cosmetic: a fixed number of pixels
    at any scale)."""
    restore: list[Callable[[], None]] = []
    try:
        for item in scene.items():
            mode = item.cacheMode()
            if mode != QtWidgets.QGraphicsItem.CacheMode.NoCache:
                item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
                restore.append(functools.partial(item.setCacheMode, mode))
            if scale == 1.0:
                continue
            if isinstance(item, pg.PlotCurveItem):
                original = item.opts["pen"]
                item.setPen(_thicker(original, scale))
                restore.append(functools.partial(item.setPen, original))
            elif isinstance(item, pg.InfiniteLine):
                original = item.pen
                item.setPen(_thicker(original, scale))
                restore.append(functools.partial(item.setPen, original))
            elif isinstance(item, pg.AxisItem):
                original = item.pen()
                item.setPen(_thicker(original, scale))
                restore.append(functools.partial(item.setPen, original))
        yield
    finally:
        for undo in reversed(restore):
            undo()


def _thicker(pen: QtGui.QPen, scale: float) -> QtGui.QPen:
    thick = QtGui.QPen(pen)
    thick.setWidthF(max(pen.widthF(), 1.0) * scale)  # a cosmetic width 0 is drawn 1 pixel wide
    return thick


def _plot_png(view: pg.GraphicsView, scale: float) -> QtGui.QImage:
    """A plot canvas through pyqtgraph's ImageExporter, ``scale`` pixels per screen pixel."""
    from pyqtgraph.exporters import ImageExporter

    with _export_look(view.scene(), scale):
        exporter = ImageExporter(view.scene())
        exporter.parameters()["antialias"] = True
        exporter.parameters()["width"] = max(round(view.width() * scale), 1)
        image = exporter.export(toBytes=True)
    return image


def _render_widget(widget: QtWidgets.QWidget, painter: QtGui.QPainter) -> None:
    """A widget as it looks, at the painter's scale (text is drawn anew, not magnified)."""
    flags = QtWidgets.QWidget.RenderFlag
    widget.render(painter, QtCore.QPoint(0, 0), QtGui.QRegion(),
                  flags.DrawChildren | flags.DrawWindowBackground)


def panel_png(panel: Panel, scale: float = 1.0, width: int | None = None) -> QtGui.QImage:
    """The panel's picture: ``scale`` pixels per screen pixel, or ``width`` pixels wide."""
    inner = _panel_width(panel)
    parts = panel_parts(panel, inner)
    logical_width = inner + 2 * PAD
    if width is not None:
        scale = width / logical_width
    logical_height = PAD + sum(part.height + PAD for part in parts)
    image = QtGui.QImage(max(round(logical_width * scale), 1), max(round(logical_height * scale), 1),
                         QtGui.QImage.Format.Format_ARGB32)
    if image.isNull():
        raise OSError(f"an image of {image.width()}×{image.height()} pixels does not fit in memory")
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.scale(scale, scale)
        y = float(PAD)
        for part in parts:
            painter.save()
            painter.translate(PAD, y)
            if part.document is not None:
                part.document.drawContents(painter)
            elif part.view is not None:
                plot = _plot_png(part.view, scale)
                painter.drawImage(QtCore.QRectF(0, 0, part.view.width(), part.view.height()), plot)
            elif part.widget is not None:
                _render_widget(part.widget, painter)
            painter.restore()
            y += part.height + PAD
    finally:
        painter.end()
    return image


# pyqtgraph 0.14's SVG exporter stops at a closed path ("... Z", which Qt 6.8+ writes for every
# rectangle: pyqtgraph issue #3495). The closing commands are set aside while it rewrites the
# coordinates and put back after.
def _closed_paths_tolerated(correct: Callable) -> Callable:
    def correct_coordinates(node, defs, item, options) -> None:
        closed = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            closes = [i for i, token in enumerate(tokens) if token in ("Z", "z")]
            if closes:
                closed.append((path, closes))
                path.setAttribute("d", " ".join(t for t in tokens if t not in ("Z", "z")))
        correct(node, defs, item, options)
        for path, closes in closed:
            tokens = path.getAttribute("d").split()
            for index in closes:
                tokens.insert(index, "Z")
            path.setAttribute("d", " ".join(tokens))

    correct_coordinates.tolerates_closed_paths = True  # type: ignore[attr-defined]
    return correct_coordinates


def _svg_exporter_module() -> types.ModuleType:
    import pyqtgraph.exporters  # noqa: F401 (registers the exporters)

    module: Any = sys.modules["pyqtgraph.exporters.SVGExporter"]  # pyqtgraph ships no type information
    if not getattr(module.correctCoordinates, "tolerates_closed_paths", False):
        module.correctCoordinates = _closed_paths_tolerated(module.correctCoordinates)
    return module


def _plot_svg(view: pg.GraphicsView) -> bytes:
    """A plot canvas as SVG, through pyqtgraph's SVGExporter."""
    module = _svg_exporter_module()
    with _export_look(view.scene(), 1.0):
        return module.SVGExporter(view.scene()).export(toBytes=True)


def _qt_svg(width: float, height: float, draw: Callable[[QtGui.QPainter], None]) -> bytes:
    """What ``draw`` paints, as SVG (Qt's generator: text stays text)."""
    from PySide6.QtSvg import QSvgGenerator

    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QtCore.QSize(math.ceil(width), math.ceil(height)))
    generator.setViewBox(QtCore.QRectF(0, 0, width, height))
    screen = QtGui.QGuiApplication.primaryScreen()
    generator.setResolution(round(screen.logicalDotsPerInchX()) if screen is not None else 96)
    painter = QtGui.QPainter(generator)
    try:
        draw(painter)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


_SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", _SVG)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def _prefixed_ids(svg: bytes, prefix: str) -> bytes:
    """The same SVG with every id (and every reference to one) prefixed: parts stay apart."""
    text = svg.decode("utf-8")
    for name in set(re.findall(r'\bid="([^"]+)"', text)):
        quoted = re.escape(name)
        text = re.sub(rf'\bid="{quoted}"', f'id="{prefix}{name}"', text)
        text = re.sub(rf"url\(#{quoted}\)", f"url(#{prefix}{name})", text)
        text = re.sub(rf'href="#{quoted}"', f'href="#{prefix}{name}"', text)
    return text.encode("utf-8")


def panel_svg(panel: Panel) -> bytes:
    """The panel's picture as one SVG: its parts stacked as in :func:`panel_png`."""
    inner = _panel_width(panel)
    parts = panel_parts(panel, inner)
    width = inner + 2 * PAD
    height = PAD + sum(part.height + PAD for part in parts)
    root = ET.Element(f"{{{_SVG}}}svg", {"version": "1.1", "width": f"{width:g}", "height": f"{height:g}",
                                         "viewBox": f"0 0 {width:g} {height:g}"})
    ET.SubElement(root, f"{{{_SVG}}}title").text = panel.title
    ET.SubElement(root, f"{{{_SVG}}}rect", {"x": "0", "y": "0", "width": f"{width:g}",
                                            "height": f"{height:g}", "fill": "#ffffff"})
    y = float(PAD)
    for index, part in enumerate(parts):
        if part.view is not None:
            svg = _plot_svg(part.view)
        elif part.document is not None:
            svg = _qt_svg(inner, part.height, part.document.drawContents)
        else:
            assert part.widget is not None
            svg = _qt_svg(inner, part.height, functools.partial(_render_widget, part.widget))
        fragment = ET.fromstring(_prefixed_ids(svg, f"p{index}-"))
        group = ET.SubElement(root, f"{{{_SVG}}}g", {"transform": f"translate({PAD:g},{y:g})"})
        for child in fragment:
            if child.tag not in (f"{{{_SVG}}}title", f"{{{_SVG}}}desc"):
                group.append(child)
        y += part.height + PAD
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def window_png(window: QtWidgets.QWidget, scale: float) -> QtGui.QImage:
    """The whole window as on screen (docks, buttons and all), ``scale`` pixels per screen pixel."""
    if scale == 1.0:
        return window.grab().toImage()
    image = QtGui.QImage(max(round(window.width() * scale), 1), max(round(window.height() * scale), 1),
                         QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        _render_widget(window, painter)
    finally:
        painter.end()
    return image


def export_panel_images(panels: Iterable[Panel], folder: str | Path, options: ImageOptions,
                        window: QtWidgets.QWidget | None = None) -> list[Path]:
    """``rnnviz-<panel>.png`` (or ``.svg``) for every panel given, and ``rnnviz-window.png`` of
    ``window`` with a PNG export; raises OSError when a file cannot be written."""
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot make the folder {target}: {exc.strerror or exc}") from exc
    written: list[Path] = []
    # An SVG of long curves takes a few seconds: say so (training goes on in its own process).
    QtWidgets.QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        _export_each(panels, target, options, window, written)
    finally:
        QtWidgets.QApplication.restoreOverrideCursor()
    return written


def _export_each(panels: Iterable[Panel], target: Path, options: ImageOptions,
                 window: QtWidgets.QWidget | None, written: list[Path]) -> None:
    for panel in panels:
        path = target / f"rnnviz-{panel.key}.{options.format}"
        if options.format == "svg":
            try:
                path.write_bytes(panel_svg(panel))
            except OSError as exc:
                raise OSError(f"cannot write {path}: {exc.strerror or exc}") from exc
        else:
            image = panel_png(panel, options.scale_for(_panel_width(panel) + 2 * PAD), None)
            if not image.save(str(path)):
                raise OSError(f"cannot write {path}")
        written.append(path)
    if window is not None and options.format == "png":
        path = target / "rnnviz-window.png"
        if not window_png(window, options.scale_for(window.width())).save(str(path)):
            raise OSError(f"cannot write {path}")
        written.append(path)
