"""The window's docks and their default arrangement.

Settings (with Runs in a tab behind it) on the left; loss, gradient norms and spectrum on top;
hidden state, gradient flow (Connectivity in a tab behind it) and task output (Text sampler
behind it) below. Every dock can be moved, floated or closed; View lists them all.
"""

from __future__ import annotations

from collections.abc import Callable

from rnnviz.app.qt import Qt, QtCore, QtWidgets


class DockLayout(QtCore.QObject):
    """Makes the docks of ``window`` (a QMainWindow with a ``view_menu``) and arranges them."""

    def __init__(self, window: QtWidgets.QMainWindow, on_shown: Callable[[], None]) -> None:
        super().__init__(window)
        self.window = window
        window.installEventFilter(self)
        self._window_width = 0
        self._side_width: int | None = None  # the Settings column's, kept when the window resizes
        self.on_shown = on_shown  # a dock came to the front (a tab raised): draw it at once
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        window.setDockNestingEnabled(True)
        window.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)

    def add(self, title: str, key: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self.window)
        dock.setObjectName(f"dock-{key}")  # the name saveState/restoreState know it by
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.docks[key] = dock
        if key == "controls":
            dock.installEventFilter(self)
        dock.visibilityChanged.connect(self.on_shown)
        self.window.view_menu.addAction(dock.toggleViewAction())  # type: ignore[attr-defined]
        area = Qt.DockWidgetArea.LeftDockWidgetArea if key in ("controls", "runs") \
            else Qt.DockWidgetArea.RightDockWidgetArea
        self.window.addDockWidget(area, dock)
        return dock

    def restore_default(self) -> None:
        """The default arrangement, sized to the window."""
        window, d = self.window, self.docks
        # Half-built arrangements can need more height than the final one (seen with large
        # text: 13 px), and Qt grows the window for them; the window keeps its size instead.
        size = window.size()
        for dock in d.values():
            dock.setFloating(False)
            dock.show()
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d["controls"])
        window.tabifyDockWidget(d["controls"], d["runs"])
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d["loss"])
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        window.splitDockWidget(d["loss"], d["gradients"], horizontal)
        window.splitDockWidget(d["gradients"], d["spectrum"], horizontal)
        window.splitDockWidget(d["loss"], d["hidden"], vertical)
        window.splitDockWidget(d["gradients"], d["flow"], vertical)
        window.splitDockWidget(d["spectrum"], d["task"], vertical)
        window.tabifyDockWidget(d["task"], d["sampler"])
        window.tabifyDockWidget(d["flow"], d["connectivity"])
        for key in ("controls", "task", "flow"):
            d[key].raise_()
        if window.isVisible() and not (window.isMaximized() or window.isFullScreen()):
            window.resize(size.expandedTo(window.minimumSizeHint()))
        self.size_default()

    def size_default(self) -> None:
        """A side column for the settings, three equal columns of panels, each split in half."""
        window, d = self.window, self.docks
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        width = max(window.width(), 1280)
        side = min(360, width // 4)
        column = (width - side) // 3
        window.resizeDocks([d["controls"], d["loss"], d["gradients"], d["spectrum"]],
                           [side, column, column, column], horizontal)
        half = max(window.height(), 700) // 2
        for top, bottom in (("loss", "hidden"), ("gradients", "flow"), ("spectrum", "task")):
            window.resizeDocks([d[top], d[bottom]], [half, half], vertical)
        QtCore.QTimer.singleShot(0, self.hide_stale_tab_bars)  # once the new sizes are laid out

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """A wider or narrower window widens or narrows the panels, not the Settings column:
        without a central widget Qt gives every pixel to the left dock area (maximising a
        1280-pixel window on a 1920-pixel projector made Settings 950 px wide). The column's
        width is noted whenever it changes while the window's does not (the user dragged it)."""
        if event.type() != QtCore.QEvent.Type.Resize:
            return False
        settings = self.docks.get("controls")
        if watched is settings and self.window.width() == self._window_width:
            self._side_width = settings.width()
        elif watched is self.window and self.window.width() != self._window_width:
            self._window_width = self.window.width()
            side = self._side_width  # as it was before this resize
            if settings is not None and side is not None:
                QtCore.QTimer.singleShot(0, lambda: self._keep_width(settings, side))
        return False

    def _keep_width(self, dock: QtWidgets.QDockWidget, width: int | None) -> None:
        if width is None or not dock.isVisible() or dock.isFloating() or dock.width() == width:
            return
        # The panels of the top row share the rest in their present proportions.
        area = self.window.dockWidgetArea(dock)
        row = [d for d in self.docks.values() if d.isVisible() and not d.isFloating()
               and self.window.dockWidgetArea(d) != area and abs(d.y() - dock.y()) <= 40]
        row = sorted({d.x(): d for d in row}.values(), key=lambda d: d.x())  # one of each tab group
        total = sum(d.width() for d in row) or 1
        rest = dock.width() + total - width  # the docks' share of the window (no separators)
        self.window.resizeDocks([dock, *row], [width, *(rest * d.width() // total for d in row)],
                                Qt.Orientation.Horizontal)

    def hide_stale_tab_bars(self) -> None:
        """Hide tab bars the dock layout no longer uses. Qt (6.x, seen offscreen and on X11)
        can leave a tab bar of an earlier arrangement of tabbed docks visible where that
        arrangement put it, drawn over a panel; the one in use sits right under its docks."""
        titles = {dock.windowTitle(): dock for dock in self.docks.values()}
        for bar in self.window.findChildren(QtWidgets.QTabBar):
            # Only the window's own dock tab bars (not a floating group's, nor a widget's tabs).
            if bar.parentWidget() is not self.window or not bar.isVisible() or bar.count() == 0:
                continue
            dock = titles.get(bar.tabText(bar.currentIndex()))
            if dock is None or not dock.isVisible():
                continue
            area, under = bar.geometry(), dock.geometry()
            aligned = abs(area.top() - under.bottom()) <= 4 and area.left() >= under.left() - 4 \
                and area.right() <= under.right() + 4
            if not aligned:
                bar.hide()
