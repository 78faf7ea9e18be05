"""How long the window goes without handling events while it asks the training process for
something slow: opening a large corpus, building a huge model, saving its checkpoint.

A 10 ms repeating QTimer records the gaps between its ticks in the real ``MainWindow``
(offscreen, 1280×800), from the moment of the request until the new run is adopted (or the
save is answered). Before the window stopped waiting for the training process, opening a
200 MB corpus left a 9.8 s gap and Reset with a 4,096-unit model ~60 s; now the longest gap
should be a frame or two. The corpus is made by repeating the shipped one.

    PYTHONPATH=. python benchmarks/requests.py [--megabytes 200] [--hidden 4096]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_corpus(path: Path, megabytes: int) -> None:
    from rnnviz.resource_files import default_corpus

    block = default_corpus().read_bytes()
    with path.open("wb") as fh:
        written = 0
        while written < megabytes * 2**20:
            fh.write(block)
            written += len(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=4096)
    args = parser.parse_args()

    from rnnviz.app.main_window import MainWindow
    from rnnviz.app.qt import QtCore, QtWidgets
    from rnnviz.training import load_preset

    app = QtWidgets.QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="rnnviz-requests-"))
    settings = QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    corpus = folder / "big.txt"
    make_corpus(corpus, args.megabytes)
    window = MainWindow(preset="charlm", settings=settings, restore_last_run=False)
    window.resize(1280, 800)
    window.show()

    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))

    def wait(condition, seconds: float) -> float:
        started = time.monotonic()
        while not condition() and time.monotonic() - started < seconds:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        return time.monotonic() - started

    wait(lambda: not window.starting and window.session.data.step > 20, 60)

    def measure(label: str, start_request, done) -> None:
        ticks.clear()
        timer.start()
        begun = time.monotonic()
        ticks.append(begun)
        start_request()
        took = wait(done, 600)
        timer.stop()
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        print(f"{label:<40} answered after {took:6.2f} s; longest event-loop gap {max(gaps) * 1000:6.1f} ms "
              f"({len(gaps)} ticks)")

    old = window.session.data
    measure(f"open a {args.megabytes} MB corpus", lambda: window.open_corpus(str(corpus)),
            lambda: window.session.data is not old and not window.session.pending)
    old = window.session.data
    config = load_preset("charlm").config.replace(hidden=args.hidden)
    window.controls.set_config(config)
    measure(f"reset with {args.hidden} hidden units", window.reset,
            lambda: window.session.data is not old and not window.session.pending)
    path = folder / "big.npz"
    measure(f"save the {args.hidden}-unit checkpoint", lambda: window.save_checkpoint(str(path)),
            lambda: not window.session.pending)
    print(f"checkpoint {path.stat().st_size / 2**20:.1f} MB")
    window.close()


if __name__ == "__main__":
    main()
