"""Export a run's history as an animation (GIF or MP4) for slides, from its snapshots.

Each frame is one snapshot shown as the History bar shows it: the array panels at that step
and the curves whole with a line where the frame is. Encoding is imageio's: GIF through
Pillow (installed with rnnviz), MP4 (H.264) through imageio-ffmpeg, which ships its own ffmpeg
binary and is therefore optional (``pip install "rnnviz[video]"``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.app.qt import QtCore, QtGui, QtWidgets

FRAMES_PER_SECOND = 4  # 64 snapshots (the most a run keeps) play in 16 seconds
MAX_WIDTH = 1600  # wider frames are scaled down: a slide needs no more, and files stay small
FORMATS = {".gif": "GIF", ".mp4": "MP4 video"}


class AnimationError(Exception):
    """A sentence for the user: nothing to animate, a missing encoder, an unwritable file."""


def video_available() -> bool:
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def qimage_to_array(image: QtGui.QImage) -> np.ndarray:
    """An (height, width, 3) uint8 RGB copy of ``image``."""
    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def frame_steps(window: Any) -> list[int]:
    """The snapshots of the current run, oldest first."""
    return window.session.data.timeline.steps


def render_frames(window: Any, panel_key: str | None, steps: list[int]) -> Iterator[np.ndarray]:
    """One RGB frame per snapshot step, of one panel (``panel_key``) or the whole window.
    The view the user had is restored afterwards, however the export ends."""
    from rnnviz.app.export import panel_png

    data = window.session.data
    before = data.viewed.step if data.viewed is not None else None
    panels = [window.panel(panel_key)] if panel_key else list(window.panels)
    try:
        for step in steps:
            data.view(step)
            for panel in panels:
                panel.invalidate()
                panel.update(data)
                panel.flush_summary(force=True)
            QtWidgets.QApplication.processEvents()
            image = panel_png(panels[0]) if panel_key else window.grab().toImage()
            if image.width() > MAX_WIDTH:
                image = image.scaledToWidth(MAX_WIDTH, QtCore.Qt.TransformationMode.SmoothTransformation)
            yield qimage_to_array(image)
    finally:
        data.view(before)
        for panel in panels:
            panel.invalidate()


def write_animation(path: str | Path, frames: list[np.ndarray], fps: float = FRAMES_PER_SECOND) -> Path:
    """Encode ``frames`` (same-size RGB arrays) as a looping GIF or an H.264 MP4, by suffix."""
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise AnimationError(f"{path.name}: choose a .gif or .mp4 file name")
    if not frames:
        raise AnimationError("This run has no snapshots yet: train it for at least 10 steps first.")
    height = min(f.shape[0] for f in frames)
    width = min(f.shape[1] for f in frames)
    if suffix == ".mp4":
        height, width = height - height % 2, width - width % 2  # H.264 wants even sizes
    stack = np.stack([f[:height, :width] for f in frames])
    try:
        if suffix == ".gif":
            iio.imwrite(path, stack, extension=".gif", plugin="pillow", duration=1000.0 / fps, loop=0)
        else:
            if not video_available():
                raise AnimationError('MP4 needs the imageio-ffmpeg package (pip install "rnnviz[video]"); '
                                     "GIF works without it.")
            iio.imwrite(path, stack, extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                        macro_block_size=1, pixelformat="yuv420p")
    except AnimationError:
        raise
    except OSError as exc:
        raise AnimationError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    return path


def export_animation(window: Any, path: str | Path, panel_key: str | None = None,
                     progress: Callable[[int, int], bool] | None = None,
                     fps: float = FRAMES_PER_SECOND) -> Path | None:
    """Render and write the current run's history; ``progress(done, total)`` returning False
    cancels (None is returned and nothing is written)."""
    keys = [panel.key for panel in window.panels]
    if panel_key is not None and panel_key not in keys:
        raise AnimationError(f"There is no panel {panel_key!r}: choose one of {', '.join(keys)}, or none "
                             "for the whole window.")
    steps = frame_steps(window)
    if not steps:
        raise AnimationError("This run has no snapshots yet: train it for at least 10 steps first.")
    if Path(path).suffix.lower() == ".mp4" and not video_available():
        raise AnimationError('MP4 needs the imageio-ffmpeg package (pip install "rnnviz[video]"); '
                             "GIF works without it.")
    frames = []
    for done, frame in enumerate(render_frames(window, panel_key, steps), start=1):
        frames.append(frame)
        if progress is not None and not progress(done, len(steps) + 1):
            return None
    written = write_animation(path, frames, fps)
    if progress is not None:
        progress(len(steps) + 1, len(steps) + 1)
    return written


def ask_and_export(window: Any) -> Path | None:
    """File → Export animation…: which panel, where, then the frames with a progress bar."""
    steps = frame_steps(window)
    if not steps:
        window.show_problem("This run has no snapshots yet: train it for at least 10 steps first.",
                            kind="warning")
        return None
    choices = ["Whole window", *(panel.title for panel in window.panels)]
    question = f"What to animate ({len(steps)} snapshots, {FRAMES_PER_SECOND} a second):"
    choice, ok = QtWidgets.QInputDialog.getItem(window, "Export animation", question, choices, 0, False)
    if not ok:
        return None
    panel_key = None if choice == choices[0] else window.panels[choices.index(choice) - 1].key
    filters = "Animated GIF (*.gif)" + (";;MP4 video (*.mp4)" if video_available() else "")
    path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "Export animation",
                                                    str(Path.home() / "rnnviz-run.gif"), filters)
    if not path:
        return None
    if Path(path).suffix.lower() not in FORMATS:
        path += ".gif"
    dialog = QtWidgets.QProgressDialog("Drawing the snapshots…", "Cancel", 0, len(steps) + 1, window)
    dialog.setWindowTitle("Export animation")
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)

    def progress(done: int, total: int) -> bool:
        dialog.setValue(done)
        if done == total - 1:
            dialog.setLabelText("Encoding…")
        QtWidgets.QApplication.processEvents()
        return not dialog.wasCanceled()

    try:
        written = export_animation(window, path, panel_key, progress)
    except AnimationError as exc:
        window.show_problem(str(exc), kind="warning")
        return None
    finally:
        dialog.close()
    if written is not None:
        window.statusBar().showMessage(f"Exported the animation to {written}", 8000)
    return written
