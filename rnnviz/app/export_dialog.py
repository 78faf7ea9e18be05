"""The "Export panels…" dialog: a folder, PNG at 1×, 2× or a chosen width, or SVG.

The last choice is remembered in the window's settings, so exporting the same figures again
after more training is two clicks.
"""

from __future__ import annotations

from pathlib import Path

from rnnviz.app.export import MAX_IMAGE_WIDTH, ImageOptions
from rnnviz.app.qt import QtCore, QtWidgets
from rnnviz.app.stored import read_setting

SIZES = ("1× (as on screen)", "2× (sharp on slides and print)", "a width of")


class ExportDialog(QtWidgets.QDialog):
    """Where and how to export every visible panel."""

    def __init__(self, parent: QtWidgets.QWidget | None, folder: str, options: ImageOptions) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export panels")
        form = QtWidgets.QFormLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.folder = QtWidgets.QLineEdit(folder)
        row.addWidget(self.folder, 1)
        choose = QtWidgets.QPushButton("Choose…")
        choose.clicked.connect(self._choose_folder)
        row.addWidget(choose)
        form.addRow("Folder", row)

        self.png = QtWidgets.QRadioButton("PNG")
        self.svg = QtWidgets.QRadioButton("SVG (vectors: any size, editable)")
        formats = QtWidgets.QVBoxLayout()
        formats.addWidget(self.png)
        formats.addWidget(self.svg)
        form.addRow("Format", formats)

        row = QtWidgets.QHBoxLayout()
        self.png_size = QtWidgets.QComboBox()
        self.png_size.addItems(SIZES)
        row.addWidget(self.png_size)
        self.png_width = QtWidgets.QSpinBox()
        self.png_width.setRange(100, MAX_IMAGE_WIDTH)
        self.png_width.setSingleStep(100)
        self.png_width.setSuffix(" px")
        self.png_width.setValue(options.width or 1600)
        row.addWidget(self.png_width)
        row.addStretch(1)
        form.addRow("PNG size", row)
        note = QtWidgets.QLabel("One file per visible panel, with its title, summary, legend and axis "
                                "labels; a PNG export also saves the whole window.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Save
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

        (self.svg if options.format == "svg" else self.png).setChecked(True)
        self.png_size.setCurrentIndex(2 if options.width is not None else 1 if options.scale == 2 else 0)
        for signal in (self.png.toggled, self.png_size.currentIndexChanged):
            signal.connect(self._enable)
        self._enable()

    def _enable(self) -> None:
        self.png_size.setEnabled(self.png.isChecked())
        self.png_width.setEnabled(self.png.isChecked() and self.png_size.currentIndex() == 2)

    def _choose_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export panels into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def options(self) -> ImageOptions:
        if self.svg.isChecked():
            return ImageOptions(format="svg")
        index = self.png_size.currentIndex()
        width = self.png_width.value() if index == 2 else None
        return ImageOptions(scale=2.0 if index == 1 else 1.0, width=width)

    @classmethod
    def ask(cls, parent: QtWidgets.QWidget | None, settings: QtCore.QSettings | None = None
            ) -> tuple[str, ImageOptions] | None:
        """The folder and options chosen, or None if cancelled; remembered in ``settings``."""
        folder, options = str(Path.home()), ImageOptions()
        if settings is not None:
            folder = read_setting(settings, "export/folder", folder)
            try:
                width = read_setting(settings, "export/width", 0)
                options = ImageOptions(format=read_setting(settings, "export/format", "png"),
                                       scale=read_setting(settings, "export/scale", 1.0),
                                       width=width or None)
            except (ValueError, TypeError):
                options = ImageOptions()  # a settings file edited by hand: start from the default
        dialog = cls(parent, folder, options)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted or not dialog.folder.text().strip():
            return None
        folder, options = dialog.folder.text().strip(), dialog.options()
        if settings is not None:
            settings.setValue("export/folder", folder)
            settings.setValue("export/format", options.format)
            settings.setValue("export/scale", options.scale)
            settings.setValue("export/width", options.width or 0)
        return folder, options
