"""File → Open run… and Save run…, and files dropped on the window.

A run file (``.rnnviz``, see ``rnnviz.runs.file``) is shown at once, paused, every panel filled
from its history, while the training process loads its weights so Start continues the run. A
plain checkpoint opens as File → Load checkpoint… does. Saving asks the training process for
the current weights (a checkpoint in the autosave folder) and writes them with the window's
history, so the app's file is the same kind as the one ``rnnviz train`` writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnviz.app.banner import as_sentence
from rnnviz.app.qt import QtCore, QtGui, QtWidgets
from rnnviz.app.run_data import RunData
from rnnviz.core.checkpoint import CheckpointError, load_checkpoint
from rnnviz.runs.file import EXTENSION, RUN_FILE_NAME, Weights, load_run, run_file_path, save_run

if TYPE_CHECKING:
    from rnnviz.app.main_window import MainWindow

OPENABLE_SUFFIXES = (EXTENSION, ".npz")  # what a drop on the window opens
OPEN_FILTER = f"rnnviz runs (*{EXTENSION});;rnnviz checkpoints (*.npz);;All files (*)"
CATCH_UP_S = 2.0  # at most, for the window's history to reach the saved weights' step
CATCH_UP_POLL_MS = 20


class RunFiles(QtCore.QObject):
    """The window's run-file actions; composed by the window, which stays free of the details."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        keys = QtGui.QKeySequence.StandardKey
        self.open_action = window._action(
            "Open run…", self.open, "Ctrl+Shift+O",
            f"Show a saved run ({EXTENSION}) with all its curves, paused; Start continues it (Ctrl+Shift+O)")
        self.save_action = window._action(
            "Save run…", self.save, keys.Save,
            f"Save the whole run, curves, weights and optimizer, as one {EXTENSION} file (Ctrl+S)")
        self.shown_any = False  # a run file replaced the run the window started with
        self._weights: dict[int, Weights] = {}  # of runs shown from files: saved again if not loadable
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    # -------------------------------------------------------------------- open
    def open(self, path: str | Path | None = None) -> int | None:
        """Show the run in ``path`` (asked for if not given); a bad file is one sentence in the
        banner and the current run carries on. Returns the request loading its weights."""
        window = self.window
        read = self._read(path, "Open a run", OPEN_FILTER, "open", " The current run carries on.", "error")
        if read is None:
            return None
        path, run = read
        if run.data is None:  # a plain checkpoint: no history to show, the weights go on training
            return window.load_checkpoint(str(path))
        self.shown_any = True
        session = window.session
        window.hide_banner()

        def done(ok: bool, payload: Any) -> None:
            if not ok:
                window.show_problem(f"{path.name} is shown, but it cannot train: {as_sentence(str(payload))} "
                                    "Reset or choose a preset to train anew.", kind="warning")
                return
            window._show_notes()

        request = session.show_run(run.data, path, on_done=done)
        self._weights = {session.run_id: run.weights}  # only the run on screen can be saved
        window.controls.set_config(run.data.config)
        window.statusBar().showMessage(f"Opened {path.name}: step {run.data.step:,}, paused. Start "
                                       "continues it.", 8000)
        return request

    def add_to_compare(self, path: str | Path | None = None) -> bool:
        """Put a saved run beside the current one in the Runs list (the current run trains on);
        a bad file, or a checkpoint with no curves, is one sentence in the banner."""
        window = self.window
        read = self._read(path, "Add a run to compare", f"rnnviz runs (*{EXTENSION})", "add", "", "warning")
        if read is None:
            return False
        path, run = read
        if run.data is None:
            window.show_problem(f"{path.name} is a checkpoint: it has weights but no curves to compare. "
                                "File → Open run trains on from it.", kind="warning")
            return False
        window.runs.add(run.data, name=path.stem if path.stem != "run" else path.parent.name or path.stem,
                        source=str(path))
        window.statusBar().showMessage(f"Added {path.name} to the Runs list: step {run.data.step:,}", 8000)
        return True

    def _read(self, path: str | Path | None, title: str, filters: str, verb: str, after: str,
              kind: str) -> tuple[Path, Any] | None:
        """The run file at ``path`` (asked for with a dialog if not given), or None: cancelled,
        or unreadable (then one sentence in the banner: "Could not <verb> …" + ``after``)."""
        if not path:
            chosen, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, title, str(Path.home()), filters)
            if not chosen:
                return None
            path = chosen
        path = Path(path)
        try:
            return path, load_run(path)
        except CheckpointError as exc:
            self.window.show_problem(f"Could not {verb} {path.name}: {as_sentence(about_it(str(exc), path))}"
                                     f"{after}", kind=kind)
            return None

    # -------------------------------------------------------------------- save
    def save(self, path: str | Path | None = None, on_saved: Callable[[Path], None] | None = None) -> None:
        """Write the current run to ``path`` (asked for if not given); ``on_saved(path)`` once
        written. The weights come from the training process: training pauses for the moment
        it takes to copy them and for the window's history to reach their step (the batches of
        the last steps are still on their way), so history and weights end at the same step;
        then it goes on."""
        window = self.window
        if not path:
            chosen, _ = QtWidgets.QFileDialog.getSaveFileName(
                window, "Save run", str(Path.home() / RUN_FILE_NAME), f"rnnviz runs (*{EXTENSION})")
            if not chosen:
                return
            path = chosen
        target = run_file_path(path)
        session = window.session
        run = session.run_id
        if session.unavailable is not None:  # shown from a file whose weights the process could not load
            weights = self._weights.get(run)
            if weights is None:
                window.show_problem(f"Could not save the run: {session.unavailable}.")
                return
            written = self._write(target, weights)
            if written is not None and on_saved is not None:
                on_saved(written)
            return
        asked_at = time.monotonic()
        scratch = session.autosave_dir / f"saving-run-{run}.npz"
        resume = session.running
        if resume:
            session.pause()

        def finished(written: Path | None) -> None:
            if resume and session is window.session and session.run_id == run and not session.running:
                session.start()
            if written is not None and on_saved is not None:
                on_saved(written)

        def done(ok: bool, payload: Any) -> None:
            try:
                if not ok:
                    window.show_problem(f"Could not save the run: {as_sentence(str(payload))}")
                    finished(None)
                    return
                try:
                    weights = load_checkpoint(payload)
                except CheckpointError as exc:
                    window.show_problem(f"Could not save the run: {as_sentence(str(exc))}")
                    finished(None)
                    return
                self._write_when_caught_up(target, weights, finished, run, asked_at)
            finally:
                scratch.unlink(missing_ok=True)

        session.save_checkpoint(scratch, on_done=done)

    def _write_when_caught_up(self, target: Path, weights: Weights, finished: Callable[[Path | None], None],
                              run: int, asked_at: float) -> None:
        session = self.window.session
        if session.run_id != run:
            self.window.show_problem("Could not save the run: the run changed while it was being saved.")
            finished(None)
            return
        step = int(weights[1]["step"])
        if session.data.step < step and time.monotonic() - asked_at < CATCH_UP_S:
            def again() -> None:
                self._write_when_caught_up(target, weights, finished, run, asked_at)
            QtCore.QTimer.singleShot(CATCH_UP_POLL_MS, again)
            return
        finished(self._write(target, weights))

    def _write(self, target: Path, weights: Weights) -> Path | None:
        data = self.window.session.data
        data.config = self.window.session.config  # live settings changed since the run began
        step = int(weights[1]["step"])
        if data.step > step:  # training went on (or went back after a blow-up): end with the weights
            data = RunData.from_state(*data.to_state())
            data.truncate_after(step)
        try:
            written = save_run(target, data, weights)
        except CheckpointError as exc:
            self.window.show_problem(f"Could not save the run: {as_sentence(str(exc))}")
            return None
        self.window.statusBar().showMessage(f"Saved run {written} (step {data.step:,})", 8000)
        return written

    # ------------------------------------------------------------ drag and drop
    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if kind in (QtCore.QEvent.Type.DragEnter, QtCore.QEvent.Type.DragMove, QtCore.QEvent.Type.Drop) \
                and isinstance(event, QtGui.QDropEvent):
            path = dropped_file(event.mimeData())
            if path is None:
                return False
            event.acceptProposedAction()
            if kind == QtCore.QEvent.Type.Drop:
                # After the drop returns: the program the file came from is not kept waiting.
                QtCore.QTimer.singleShot(0, lambda: self.open(path))
            return True
        return False


def about_it(reason: str, path: Path) -> str:
    """A file error's reason after "Could not open NAME:": the full path it starts with (the
    command line's messages name it) becomes "it", as the sentence has named the file already."""
    for shown in (str(path), str(path.resolve())):
        if reason.startswith(shown + " "):
            return "it" + reason[len(shown):]
    return reason


def dropped_file(mime: QtCore.QMimeData) -> Path | None:
    """The one local run file or checkpoint being dragged, if that is what it is."""
    if not mime.hasUrls():
        return None
    urls = mime.urls()
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() in OPENABLE_SUFFIXES else None
