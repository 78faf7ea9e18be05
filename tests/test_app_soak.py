"""Soak: the default preset training at full speed for 30+ s with every panel redrawing.

This is the guard for faults that only show after many seconds of live plotting, such as
PySide6 6.12.0 on Python 3.11 (ARCHITECTURE.md): every Python override of a Qt virtual
decremented None's reference count until the interpreter aborted with "Fatal Python error:
none_dealloc" after 10-20 s. The window runs in a subprocess, so such an abort fails this
test instead of killing pytest, and the subprocess also reports how None's reference count
moved, which catches the leak before it is fatal. It stays in the default suite on purpose.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOAK_SECONDS = 32.0
WARMUP_SECONDS = 3.0

# Run with ``python -c``: argv = [seconds, warm-up seconds, settings file]. Prints one JSON line.
SOAK_SCRIPT = r'''
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    seconds, warmup, settings_path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    from rnnviz.app.qt import Qt, QtCore, QtWidgets
    from rnnviz.app.main_window import MainWindow

    app = QtWidgets.QApplication(["rnnviz-soak"])
    settings = QtCore.QSettings(settings_path, QtCore.QSettings.Format.IniFormat)
    window = MainWindow(preset="charlm", settings=settings, restore_last_run=False)
    window.resize(1600, 1000)
    window.show()
    for _ in range(3):  # the window lays its docks out once it has its size
        app.processEvents()
    # Every panel on screen at once: the sampler out of its tab, writing a new sample as it trains.
    window.splitDockWidget(window.docks["task"], window.docks["sampler"], Qt.Orientation.Horizontal)
    window.splitDockWidget(window.docks["flow"], window.docks["connectivity"], Qt.Orientation.Horizontal)
    window.sampler.live_every.setValue(300)
    window.sampler.live.setChecked(True)
    generated = [0]
    generate = window.sampler.generate

    def counted_generate() -> None:  # the live sampler calls self.generate()
        generated[0] += 1
        generate()

    window.sampler.generate = counted_generate
    for _ in range(3):
        app.processEvents()
    hidden = [panel.key for panel in window.panels if panel.widget.visibleRegion().isEmpty()]

    paints = {panel.key: 0 for panel in window.panels}

    class PaintCounter(QtCore.QObject):
        def eventFilter(self, watched, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                paints[watched.property("panel_key")] += 1
            return False

    counter = PaintCounter()
    for panel in window.panels:
        views = panel.widget.findChildren(QtWidgets.QAbstractScrollArea)
        for view in views:
            view.viewport().setProperty("panel_key", panel.key)
            view.viewport().installEventFilter(counter)

    samples = []

    def rss_mb() -> float:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:  # not Linux
            return float("nan")

    def sample() -> None:
        data = window.session.data
        samples.append({"t": time.monotonic(), "step": data.step, "frames": window.frames_drawn,
                        "none_refs": sys.getrefcount(None), "paints": dict(paints), "rss_mb": rss_mb(),
                        "alive": window.session.alive, "running": window.session.running})

    def finish() -> None:
        sample()
        sample_timer.stop()
        app.quit()  # in Qt 6 this closes the window too, which stops training

    sample_timer = QtCore.QTimer()
    sample_timer.timeout.connect(sample)
    QtCore.QTimer.singleShot(int(warmup * 1000), lambda: (sample(), sample_timer.start(1000)))
    QtCore.QTimer.singleShot(int((warmup + seconds) * 1000), finish)
    app.exec()
    first, last = samples[0], samples[-1]
    result = {
        "elapsed": last["t"] - first["t"],
        "steps": last["step"] - first["step"],
        "frames": last["frames"] - first["frames"],
        "paints": {key: last["paints"][key] - first["paints"][key] for key in paints},
        "none_refs": [s["none_refs"] for s in samples],
        "alive": [s["alive"] for s in samples],
        "running": [s["running"] for s in samples],
        "rss_mb": [round(s["rss_mb"], 1) for s in samples],
        "problem": window.last_problem,
        "hidden_panels": hidden,
        "samples_written": generated[0],
    }
    window.close()
    result["stopped"] = not window.session.alive
    print("SOAK " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
'''


def test_live_plotting_soak(tmp_path: Path) -> None:
    """32 s of the default preset with all eight panels drawing, in a child interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONFAULTHANDLER"] = "1"  # a native crash prints where it happened
    proc = subprocess.run(
        [sys.executable, "-c", SOAK_SCRIPT, str(SOAK_SECONDS), str(WARMUP_SECONDS),
         str(tmp_path / "soak-settings.ini")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SOAK_SECONDS + WARMUP_SECONDS + 90)
    tail = f"\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    assert "Fatal Python error" not in proc.stderr, tail
    assert proc.returncode == 0, f"the app process exited with {proc.returncode}{tail}"
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("SOAK ")), None)
    assert line is not None, tail
    result = json.loads(line[len("SOAK "):])

    elapsed = result["elapsed"]
    assert elapsed >= 30.0, result
    assert not result["hidden_panels"], result
    assert all(result["alive"]) and all(result["running"]) and not result["problem"], result
    assert result["stopped"], "closing the window did not stop the training process"
    # Healthy progress: the default preset trains ~250-300 steps/s in its own process here;
    # the floors leave room for a loaded CI machine but catch a stalled trainer or GUI.
    assert result["steps"] / elapsed >= 30, result
    assert result["frames"] / elapsed >= 5, result
    # Each panel really repainted, not just the redraw timer firing: those that change with
    # every batch at a steady rate, the others (task output: per evaluation, spectrum: every
    # 25 steps) at least now and then.
    paints = result["paints"]
    for key in ("loss", "gradients", "hidden", "flow", "sampler"):
        assert paints[key] / elapsed >= 2, (key, result)
    for key in ("spectrum", "task"):
        assert paints[key] >= 10, (key, result)
    assert result["samples_written"] >= 2, result
    # None's reference count must not drain away (it is immortal, hence constant, on 3.12+).
    refs = result["none_refs"]
    assert min(refs) - refs[0] > -20_000, f"None's refcount fell from {refs[0]} to {min(refs)}: {refs}"
    print(f"soak: {result['steps']:,} steps, {result['frames']:,} frames in {elapsed:.1f} s; "
          f"None refcount {refs[0]:,} -> {refs[-1]:,}; "
          f"RSS {result['rss_mb'][0]} -> {result['rss_mb'][-1]} MB")
