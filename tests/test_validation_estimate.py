"""The validation estimate as users read it: the time-to-quality benchmark and the loss tooltip."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent


def _run_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "time_to_quality.py"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _prose_file(tmp_path: Path) -> Path:
    words = ["lamp", "wick", "tide", "fog", "bell", "gull", "keeper", "oil", "storm", "calm", "Day"]
    rng = np.random.default_rng(5)
    path = tmp_path / "log.txt"
    path.write_text(" ".join(str(w) for w in rng.choice(words, 6000)) + "\n", encoding="utf-8")
    return path


def test_time_to_quality_reports_the_best_of_the_runs_evaluations(tmp_path: Path) -> None:
    """The best validation loss printed is the lowest a Trainer with the same settings reaches."""
    from rnnviz.training import Trainer, load_preset

    text = _prose_file(tmp_path)
    proc = _run_benchmark(str(text), "--steps", "40", "--eval-every", "20", "--seeds", "3",
                          "--init", "xavier", "uniform")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    runs = re.findall(r"init (\w+)\s+seed\s+(\d+):\s+40 steps .*best val (\d\.\d{4}) at step (\d+) "
                      r"\(([\d.]+) s\); (\d+) of (\d+) held-out windows", out)
    assert [(init, seed) for init, seed, *_ in runs] == [("xavier", "3"), ("uniform", "3")], out
    for init, seed, best, step, _, scored, total in runs:
        trainer = Trainer(load_preset("charlm").config.replace(corpus=str(text), init=init, seed=int(seed),
                                                               eval_every=20))
        with threadpool_limits(limits=1, user_api="blas"):  # as the script runs (fast on a busy machine)
            evals = [r.evaluation for r in (trainer.step() for _ in range(40)) if r.evaluation is not None]
        lowest = min(evals, key=lambda e: e.val_loss)
        assert float(best) == pytest.approx(lowest.val_loss, abs=6e-5)
        assert int(step) == lowest.step
        assert int(scored) == int(total) == lowest.metrics["val_windows_total"]
    assert "uniform − xavier, paired by seed: " in out, out
    assert re.search(r"2 evaluations, \d+ ms each", out), out


def test_time_to_quality_rejects_a_missing_file_in_one_sentence(tmp_path: Path) -> None:
    proc = _run_benchmark(str(tmp_path / "absent.txt"), "--seconds", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr, proc.stderr


def test_loss_tooltip_states_windows_and_standard_error() -> None:
    from rnnviz.app.panels.loss import validation_tooltip

    whole = validation_tooltip({"val_loss": 1.9, "val_loss_se": 0.0, "val_windows": 378.0,
                                "val_windows_total": 378.0})
    assert "all 378 windows" in whole and "standard error" not in whole
    sampled = validation_tooltip({"val_loss": 1.9, "val_loss_se": 0.0312, "val_windows": 1024.0,
                                  "val_windows_total": 38065.0})
    assert "1,024 evenly spaced of the 38,065" in sampled and "standard error 0.031" in sampled
    other = validation_tooltip({"val_loss": 0.2, "accuracy": 1.0})  # tasks without windows
    assert "zero hidden state" in other and "windows" not in other


def test_loss_panel_tooltip_follows_the_runs_evaluations(make_window, qtbot) -> None:
    """In the app, the loss plot's tooltip names the windows the latest evaluation scored."""
    from conftest import CHARLM

    from rnnviz.resource_files import default_corpus

    chars = len(default_corpus().read_text(encoding="utf-8"))
    held_out = chars - round(chars * 0.9)
    expected = (held_out - 1) // CHARLM.seq_len  # non-overlapping windows of seq_len + 1 characters
    window = make_window(config=CHARLM)
    loss = window.panel("loss")
    qtbot.waitUntil(lambda: f"all {expected:,} windows" in loss.view.toolTip(), timeout=20_000)
