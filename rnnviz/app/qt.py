"""Import PySide6 before pyqtgraph, so pyqtgraph binds to it, and set pyqtgraph's options once.

Every module in ``rnnviz.app`` that needs Qt imports it from here.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal, Slot

# Speed first: no antialiasing, no OpenGL; images indexed [row, column] like NumPy arrays.
# A light background reads better than a dark one on classroom projectors.
pg.setConfigOptions(antialias=False, useOpenGL=False, imageAxisOrder="row-major",
                    background="w", foreground="#202020", segmentedLineMode="on")

__all__ = ["Qt", "QtCore", "QtGui", "QtWidgets", "Signal", "Slot", "pg"]
