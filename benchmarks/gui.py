"""GUI responsiveness and training throughput with the window open, against headless training.

What is measured, for one preset (default: the default preset, charlm):

- ``headless``: ``Trainer(config).step()`` in a loop for ``--seconds``, in this process, with
  ``rnnviz.blas.limit_blas_threads()`` applied as the app's training process applies it;
  once before and once after the window run, so a busy spell on a shared machine shows as
  a difference between the two. Steps/s and tokens/s (characters/s for charlm: B·T input
  characters per step).
- ``window``: the real ``MainWindow`` (offscreen unless QT_QPA_PLATFORM says otherwise) at
  1600×1000, shown, with every panel on screen at once (the text sampler is split out of its
  tab and writes a fresh sample every 300 steps), training the same preset at full speed.
  After ``--warmup`` seconds, for ``--seconds``:

  * event-loop latency: a 10 ms repeating (precise) QTimer records how late each tick is
    (actual interval − 10 ms); p50, p99 and max. This is how long a click or a key waits.
  * frames/s: for each panel, the repaints its views actually received (Paint events on the
    plot/text viewports) and how many redraws brought it new data; a panel's frame rate is
    the smaller of the two, so neither a timer firing without drawing nor a repaint without
    new data counts as a frame. The figure held against the target is the slowest of the
    panels that change with every batch (loss, gradients, hidden, flow). Also printed:
    ``window.frames_drawn`` per second, complete rounds of the redraw timer (it redraws
    half the panels per pass).
  * training throughput from the steps the GUI received (step and tokens_seen of the latest
    report), against the headless figure.

Targets: p99 latency ≤ 50 ms, ≥ 25 frames/s, window throughput ≥ 70% of headless.
Timings depend on the machine and on whatever else runs on it; the load average is printed
before and after, and the figures are never asserted anywhere.

Run:  PYTHONPATH=. python benchmarks/gui.py [--seconds 20] [--warmup 5] [--preset charlm] [--size 1920x1080]
      [--compare none|visible|beside] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Qt is imported inside functions: the app's training process is spawned and re-imports this
# module as __mp_main__, and it has no use for Qt.
TIMER_MS = 10
TARGET_P99_MS = 50.0
TARGET_FPS = 25.0
TARGET_RATIO = 0.70
WINDOW_SIZE = (1600, 1000)
EVERY_BATCH_PANELS = ("loss", "gradients", "hidden", "flow")  # new data with every batch


@dataclass
class Throughput:
    seconds: float
    steps: int
    tokens: int

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


@dataclass
class WindowResult:
    throughput: Throughput
    lateness_ms: np.ndarray
    frames: int
    repaints: dict[str, int] = field(default_factory=dict)
    fresh: dict[str, int] = field(default_factory=dict)
    problem: str = ""
    hidden_panels: list[str] = field(default_factory=list)


def headless(config, seconds: float, warmup: float) -> Throughput:
    """The same trainer, no window: the ceiling the app is measured against."""
    from rnnviz.blas import limit_blas_threads
    from rnnviz.training import Trainer

    limit_blas_threads()
    trainer = Trainer(config)
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        trainer.step()
    steps0, tokens0 = trainer.step_count, trainer.tokens_seen
    started = time.perf_counter()
    end = started + seconds
    while time.perf_counter() < end:
        trainer.step()
    elapsed = time.perf_counter() - started
    return Throughput(elapsed, trainer.step_count - steps0, trainer.tokens_seen - tokens0)


def with_window(preset: str, seconds: float, warmup: float, profile: int = 0,
                size: tuple[int, int] = WINDOW_SIZE, compare: str = "none") -> WindowResult:
    """Train in the real window with every panel on screen; measure the GUI while it runs.

    ``compare``: "visible" trains a first run for half the warm-up, then Reset: the measured
    run trains with the first one drawn beside it; "beside" then also trains the first run's
    settings again in a second process (Run both)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from rnnviz.app.main_window import MainWindow
    from rnnviz.app.qt import Qt, QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["rnnviz-gui-benchmark"])
    folder = tempfile.TemporaryDirectory(prefix="rnnviz-gui-bench-")
    settings = QtCore.QSettings(str(Path(folder.name) / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(preset=preset, settings=settings, restore_last_run=False)
    window.resize(*size)
    window.show()
    for _ in range(3):  # the window lays out its docks once it has its size
        app.processEvents()
    window.splitDockWidget(window.docks["task"], window.docks["sampler"], Qt.Orientation.Horizontal)
    if window.session.data.task.can_sample:
        window.sampler.live_every.setValue(300)
        window.sampler.live.setChecked(True)
    for _ in range(3):
        app.processEvents()
    hidden = [p.key for p in window.panels if p.widget.visibleRegion().isEmpty()]

    repaints = {panel.key: 0 for panel in window.panels}
    fresh = {panel.key: 0 for panel in window.panels}

    class PaintCounter(QtCore.QObject):
        def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
            if event.type() == QtCore.QEvent.Type.Paint:
                repaints[watched.property("rnnviz_panel")] += 1
            return False

    counter = PaintCounter()
    for panel in window.panels:
        for view in panel.widget.findChildren(QtWidgets.QAbstractScrollArea):
            view.viewport().setProperty("rnnviz_panel", panel.key)
            view.viewport().installEventFilter(counter)
        original = panel.update

        def counted(data, panel=panel, original=original) -> None:
            before = (panel._data, panel._version)
            original(data)
            if (panel._data, panel._version) != before:  # the panel took new data, not a no-op
                fresh[panel.key] += 1

        panel.update = counted  # window.redraw calls panel.update(data)

    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TIMER_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    marks: dict[str, tuple] = {}

    def mark(name: str) -> None:
        data = window.session.data
        latest = data.latest
        marks[name] = (time.perf_counter(), latest.step if latest else 0, latest.tokens_seen if latest else 0,
                       window.frames_drawn, dict(repaints), dict(fresh))

    profiler = cProfile.Profile() if profile else None

    def begin() -> None:
        mark("start")
        ticks.clear()
        timer.start()
        if profiler is not None:
            profiler.enable()

    def finish() -> None:
        if profiler is not None:
            profiler.disable()
        timer.stop()
        mark("end")
        loop.quit()

    def second_run() -> None:
        window.reset()
        if compare == "beside":
            QtCore.QTimer.singleShot(1000, run_both)

    def run_both() -> None:
        """What the Runs dock's Run both does with the earlier run selected."""
        others = [e for e in window.runs.entries if e is not window.runs.current]
        if others:
            window.beside.start(others[0], window.speed.pace)

    loop = QtCore.QEventLoop()
    if compare != "none":
        QtCore.QTimer.singleShot(int(warmup * 500), second_run)
    QtCore.QTimer.singleShot(int(warmup * 1000), begin)
    QtCore.QTimer.singleShot(int((warmup + seconds) * 1000), finish)
    loop.exec()
    problem = window.last_problem
    runs = [(e.name, e.data.step, e.live) for e in window.runs.entries]
    if compare != "none":
        print(f"runs at the end: {runs}")
    window.close()
    if profiler is not None:
        print("\nGUI thread profile (profiling slows it down; the figures below are from this run):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    folder.cleanup()

    t0, s0, k0, f0, r0, n0 = marks["start"]
    t1, s1, k1, f1, r1, n1 = marks["end"]
    intervals = np.diff(np.asarray(ticks)) * 1000.0
    return WindowResult(throughput=Throughput(t1 - t0, s1 - s0, k1 - k0),
                        lateness_ms=intervals - TIMER_MS, frames=f1 - f0,
                        repaints={k: r1[k] - r0[k] for k in r1}, fresh={k: n1[k] - n0[k] for k in n1},
                        problem=problem, hidden_panels=hidden)


def source_state() -> str:
    """The git commit measured, plus the names of uncommitted files under rnnviz/."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rnnviz"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"git {head}" + (f" + uncommitted: {', '.join(changed)}" if changed else "")


def versions() -> str:
    import pyqtgraph
    import PySide6

    return (f"Python {platform.python_version()}, PySide6 {PySide6.__version__}, pyqtgraph "
            f"{pyqtgraph.__version__}, NumPy {np.__version__}, {os.cpu_count()} CPUs, "
            f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', '(default)')}")


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def report(preset: str, config, seconds: float, win: WindowResult,
           bases: tuple[Throughput, Throughput]) -> None:
    unit = {"charlm": "chars/s", "sentiment": "words/s"}.get(config.task, "values/s")
    late = win.lateness_ms
    p50, p99, worst = ((np.percentile(late, 50), np.percentile(late, 99), late.max()) if late.size
                       else (float("nan"),) * 3)
    seconds_measured = win.throughput.seconds
    rates = {key: min(win.repaints[key], win.fresh[key]) / seconds_measured for key in win.repaints}
    fps = min(rates[key] for key in EVERY_BATCH_PANELS if key in rates)
    base = Throughput(*(sum(getattr(b, name) for b in bases) for name in ("seconds", "steps", "tokens")))
    ratio = win.throughput.steps_per_s / base.steps_per_s
    print(f"\nevent-loop latency, lateness of a {TIMER_MS} ms timer ({late.size:,} ticks; "
          f"{seconds * 1000 / TIMER_MS:,.0f} if never late):")
    print(f"  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {worst:7.1f} ms")
    print(f"\nredraw: {fps:.1f} frames/s, the slowest of {', '.join(EVERY_BATCH_PANELS)} "
          f"({win.frames / seconds_measured:.1f} complete rounds of the redraw timer per second)")
    print(f"  {'panel':<10} {'repaints/s':>11} {'new data/s':>11} {'frames/s':>9}")
    for key in win.repaints:
        print(f"  {key:<10} {win.repaints[key] / seconds_measured:>11.1f} "
              f"{win.fresh[key] / seconds_measured:>11.1f} {rates[key]:>9.1f}")
    print("  (the task panel changes only when an evaluation runs, the spectrum only when it is\n"
          "  recomputed; the others with every batch)")
    if win.hidden_panels:
        print(f"  not on screen: {', '.join(win.hidden_panels)}")
    print(f"\ntraining throughput, preset {preset} "
          f"(B={config.batch}, T={config.seq_len}, H={config.hidden}):")
    print(f"  {'':<22} {'steps/s':>9} {unit:>11}")
    for label, b in (("headless, before", bases[0]), ("headless, after", bases[1]), ("headless, both", base)):
        print(f"  {label:<22} {b.steps_per_s:>9,.1f} {b.tokens_per_s:>11,.0f}")
    print(f"  {'window open':<22} {win.throughput.steps_per_s:>9,.1f} {win.throughput.tokens_per_s:>11,.0f}")
    print(f"  window / headless (both): {ratio:.0%}")
    if win.problem:
        print(f"\nthe window reported a problem: {win.problem}")
    print("\ntargets:")
    for label, value, ok in (
            (f"p99 event-loop latency <= {TARGET_P99_MS:g} ms", f"{p99:.1f} ms", p99 <= TARGET_P99_MS),
            (f"redraw >= {TARGET_FPS:g} frames/s", f"{fps:.1f}", fps >= TARGET_FPS),
            (f"window throughput >= {TARGET_RATIO:.0%} of headless", f"{ratio:.0%}", ratio >= TARGET_RATIO)):
        print(f"  {label:<42} {value:>12}  {'PASS' if ok else 'MISS'}")


def main(argv: list[str] | None = None) -> None:
    from rnnviz.training import DEFAULT_PRESET, load_preset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measurement")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="preset to train (default: %(default)s)")
    parser.add_argument("--size", default=f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}", metavar="WxH",
                        help="window size in pixels (default: %(default)s; 1920x1080 for a projector)")
    parser.add_argument("--compare", choices=("none", "visible", "beside"), default="none",
                        help="visible: a second run drawn beside the one training; beside: both training "
                             "(Run both, two training processes)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile the GUI thread and print its N most expensive functions")
    args = parser.parse_args(argv)
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        if len(size) != 2 or min(size) < 200:
            raise ValueError
    except ValueError:
        parser.error(f"--size wants WIDTHxHEIGHT in pixels, e.g. 1920x1080, not {args.size!r}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    config = load_preset(args.preset).config
    print(f"rnnviz GUI benchmark: preset {args.preset}, {args.seconds:g} s measured after {args.warmup:g} s "
          f"warm-up, window {size[0]}x{size[1]}, other runs: {args.compare}")
    print(f"source: {source_state()}")
    print(versions())
    print(f"load average before: {load()}")
    before = headless(config, args.seconds, min(args.warmup, 2.0))
    win = with_window(args.preset, args.seconds, args.warmup, profile=args.profile, size=size,
                      compare=args.compare)
    after = headless(config, args.seconds, min(args.warmup, 2.0))
    report(args.preset, config, args.seconds, win, (before, after))
    print(f"\nload average after: {load()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
