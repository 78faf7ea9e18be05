"""The examples and benchmarks run as a user would run them, and say what they should.

Each script runs in a subprocess (the current interpreter, cwd = repo root, the repo root on
PYTHONPATH) and must exit 0; then its printed output is checked for the fact it teaches.
The corpus-memory bound is checked in-process with tracemalloc.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(relative: str, *args: str, timeout: float = 60.0) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(ROOT / relative), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{relative} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_sentiment_example_reaches_full_test_accuracy() -> None:
    out = run_script("examples/sentiment_accuracy.py")
    accuracies = [float(a) for a in re.findall(r"test accuracy\s+([\d.]+)%", out)]
    assert len(accuracies) >= 10, out  # reported as training goes, not only at the end
    assert re.search(r"^final test accuracy: 100\.0%$", out, re.MULTILINE), out
    predictions = re.findall(r"-> (negative|positive)\s+\(label (negative|positive)", out)
    assert len(predictions) >= 5 and all(guess == label for guess, label in predictions), out


def test_vanishing_example_shows_decay_and_growth() -> None:
    out = run_script("examples/vanishing_vs_exploding.py")
    assert "spectral radius 0.500, largest singular value 0.500" in out, out
    assert "spectral radius 1.500, largest singular value 1.500" in out, out
    rows = [tuple(float(v) for v in m) for m in re.findall(r"^\s*\d+\s+(\S+)\s+(\S+)$", out, re.MULTILINE)]
    assert len(rows) == 30, out
    small_first, large_first = rows[0]
    small_last, large_last = rows[-1]
    assert small_first < 1e-6 * small_last  # rho = 0.5: vanished by many orders of magnitude
    assert large_first > 2.0 * large_last  # rho = 1.5: the gradient grows going back in time


def test_gradient_check_example_passes() -> None:
    out = run_script("examples/gradient_check.py")
    errors = [float(e) for e in re.findall(r"relative error (\S+)", out)]
    assert len(errors) == 10, out  # 5 parameters x 2 heads
    assert max(errors) < 1e-6, out


def test_sample_example_trains_saves_loads_and_streams() -> None:
    out = run_script("examples/sample_from_checkpoint.py")
    assert "loaded checkpoint.npz: step 300, 100 hidden units, 73 characters" in out, out
    sample = out.split("---\n", 1)[1].rsplit("\n---", 1)[0]
    assert sample.startswith("The lamp ") and len(sample) == len("The lamp ") + 300, sample


def test_sample_example_samples_from_a_given_checkpoint(tmp_path: Path) -> None:
    from rnnviz.training import Trainer, load_preset

    trainer = Trainer(load_preset("charlm").config.replace(hidden=16, batch=2, eval_every=10**6))
    for _ in range(3):
        trainer.step()
    path = trainer.save(tmp_path / "given.npz")
    out = run_script("examples/sample_from_checkpoint.py", str(path))
    assert "train loss" not in out  # no training when a checkpoint is given
    assert "loaded given.npz: step 3, 16 hidden units" in out, out


def test_engine_benchmark_runs() -> None:
    """A smoke run (timings meaningless): the script works and its reference loop computes
    the same gradients as the engine, so the two do the same work."""
    out = run_script("benchmarks/engine.py", "--seconds", "0.01", "--repeats", "1", "--threads", "1")
    match = re.search(r"reference loop matches engine gradients to (\S+)\)", out)
    assert match and float(match.group(1)) < 1e-9, out
    assert out.count("bar: ") == 3, out


def test_corpus_memory_benchmark_runs() -> None:
    out = run_script("benchmarks/corpus_memory.py", "--mb", "1")
    assert re.search(r"vocabulary \d+ \(ids stored as 1-byte integers\)", out), out


def test_corpus_loading_memory_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading keeps 1 byte per character plus transients proportional to one read chunk.

    The transients are ~17 bytes per character *of a chunk* (decoded str, UTF-32 copy, the
    intp copy np.bincount makes), a constant ~70 MB at the real 4 MB chunk size, which would
    swamp a small file; with a 256 kB chunk a 5 MB file shows the per-character cost.
    """
    from rnnviz.tasks import charlm

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from corpus_memory import write_corpus
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    monkeypatch.setattr(charlm, "_CHUNK_BYTES", 1 << 18)
    path = tmp_path / "corpus.txt"
    chars = write_corpus(path, 5.0)
    tracemalloc.start()
    try:
        vocab, ids = charlm.load_corpus(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ids.size == chars and ids.itemsize == 1 and "🌊" in vocab
    assert peak / chars < 4.0, f"peak {peak / chars:.2f} bytes per character"


# ------------------------------------------------------------ one script per tutorial's job
def test_tutorial_sentiment_reports_test_accuracy() -> None:
    out = run_script("examples/tutorial_sentiment.py")
    accuracy = float(re.search(r"test accuracy after 400 steps: ([\d.]+)% of 40", out).group(1))
    assert accuracy >= 95.0, out


def test_tutorial_sentence_completion_completes_good() -> None:
    out = run_script("examples/tutorial_sentence_completion.py")
    assert "'good' -> 'good i am fine'" in out, out
    assert "validation is on the training lines" in out, out


def test_tutorial_word_model_reports_perplexity() -> None:
    out = run_script("examples/tutorial_word_model.py", timeout=180.0)
    assert "1,271 distinct words" in out, out
    perplexity = float(re.search(r"final validation perplexity: ([\d.]+)", out).group(1))
    assert 1.0 < perplexity < 150.0, out  # from 1,274 for a uniform guess
    assert re.search(r"^a line from <s>, greedy: \S", out, re.MULTILINE), out


def test_tutorial_char_model_samples_from_a_seed() -> None:
    out = run_script("examples/tutorial_char_model.py", "Lit the ", timeout=120.0)
    loss = float(re.search(r"validation loss ([\d.]+) nats per character", out).group(1))
    assert loss < 2.0, out
    sample = out.split("sample from 'Lit the ':\n", 1)[1]
    assert sample.startswith("Lit the ") and len(sample.rstrip("\n")) >= len("Lit the ") + 150, out


def test_tutorial_sine_reports_prediction_error() -> None:
    out = run_script("examples/tutorial_sine.py")
    rmse = float(re.search(r"one-step prediction RMSE after 300 steps: ([\d.]+)", out).group(1))
    assert rmse < 0.1, out
