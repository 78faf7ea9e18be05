"""Start-up and exit times of the app, as a user launching ``rnnviz`` sees them.

Launches ``python -m rnnviz`` (offscreen, private settings and state folders), reads the
app's own log for when its "starting" card and the window were shown and when the first
training data arrived,
then sends SIGTERM (the same path as Ctrl+Q) and times how long the process takes to exit
after the window closed. "Cold" runs use an empty bytecode cache (``PYTHONPYCACHEPREFIX``),
as the first start after an install that did not precompile; "warm" runs reuse it.

    PYTHONPATH=. python benchmarks/startup.py [--runs 3] [--preset charlm]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAMP = re.compile(r"\[(\d+\.\d+)\] \w+ [\w.]+: (.*)")


def events(log: Path) -> dict[str, float]:
    """The first time each message was logged (seconds since the epoch)."""
    found: dict[str, float] = {}
    if not log.is_file():
        return found
    for line in log.read_text(encoding="utf-8").splitlines():
        match = STAMP.search(line)
        if match:
            message = match.group(2)
            names = ("splash shown", "window shown", "first data", "window closed")
            key = next((k for k in names if message.startswith(k)), None)
            if key and key not in found:
                # The splash is shown before logging starts: its line carries its own time.
                found[key] = float(message.split()[-1]) if key == "splash shown" else float(match.group(1))
    return found


def one_run(preset: str, pycache: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=f"{home}/config",
                   XDG_STATE_HOME=f"{home}/state", XDG_DATA_HOME=f"{home}/data",
                   PYTHONPYCACHEPREFIX=str(pycache))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        log = Path(home) / "state" / "rnnviz" / "rnnviz.log"
        launched = time.time()
        app = subprocess.Popen([sys.executable, "-m", "rnnviz", "--preset", preset], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while "first data" not in events(log) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(1.0)  # training and drawing for a moment
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=30)
            exited = time.time()
        finally:
            if app.poll() is None:
                app.kill()
        stamps = events(log)
        return {"splash": stamps["splash shown"] - launched,
                "window": stamps["window shown"] - launched, "first_data": stamps["first data"] - launched,
                "exit_after_close": exited - stamps["window closed"], "returncode": app.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--preset", default="charlm")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as cache:
            rows["cold"].append(one_run(args.preset, Path(cache)))
            rows["warm"].append(one_run(args.preset, Path(cache)))
    for kind, runs in rows.items():
        for key in ("splash", "window", "first_data", "exit_after_close"):
            values = [r[key] for r in runs]
            print(f"{kind:<5} {key:<17} median {statistics.median(values):6.2f} s   "
                  f"runs {', '.join(f'{v:.2f}' for v in values)}")
        print(f"{kind:<5} exit codes {[int(r['returncode']) for r in runs]}")


if __name__ == "__main__":
    main()
