"""Run files (rnnviz/runs): what the panels draw and the latest weights in one pickle-free file.

Round trips compare every part of RunData; bad files give one sentence; a run file is also a
checkpoint; ``rnnviz train --out`` writes one that opens, also after Ctrl+C.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from rnnviz.app.run_data import RunData
from rnnviz.cli import main
from rnnviz.core.checkpoint import CheckpointError, load_checkpoint
from rnnviz.runs.file import EXTENSION, FORMAT_VERSION, RUN_FILE_NAME, RunFileError, load_run, save_run
from rnnviz.runs.recorder import RunRecorder
from rnnviz.training import TrainConfig, Trainer

REPO_ROOT = Path(__file__).resolve().parent.parent
SINE = TrainConfig(task="sine", hidden=8, seq_len=12, batch=4, eval_every=20, spectrum_every=10)
CHARLM = TrainConfig(task="charlm", hidden=12, seq_len=12, batch=2, eval_every=25, spectrum_every=10,
                     clip="norm", clip_value=0.5)
SENTIMENT = TrainConfig(task="sentiment", hidden=8, batch=4, eval_every=20, spectrum_every=10)
RECALL = TrainConfig(task="recall", hidden=8, batch=4, eval_every=20, spectrum_every=10, cell="lstm")


def recorded(config: TrainConfig, steps: int, capacity: int = 64, flow_capacity: int = 16,
             ) -> tuple[Trainer, RunRecorder]:
    """A run recorded into small histories, so they have decimated (stride > 1) by the end."""
    trainer = Trainer(config)
    probe = RunRecorder(trainer, "unused")
    data = RunData(probe.data.task, config, capacity=capacity, flow_capacity=flow_capacity)
    recorder = RunRecorder(trainer, "unused", data)
    for _ in range(steps):
        recorder.add(trainer.step())
    recorder.mark(trainer.step_count, "lr 0.003 → 0.01")
    recorder.flush()
    return trainer, recorder


def assert_same_value(a: object, b: object, where: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)
        assert np.asarray(a).dtype == np.asarray(b).dtype, where
    elif dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for field in dataclasses.fields(a):
            assert_same_value(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, Mapping):
        assert isinstance(b, Mapping) and set(a) == set(b), where
        for key in a:
            assert_same_value(a[key], b[key], f"{where}[{key}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_run(a: RunData, b: RunData) -> None:
    """Every part of RunData the panels read is equal (bit for bit for the arrays)."""
    assert a.task.name == b.task.name and a.task.head == b.task.head
    assert a.task.token_kind == b.task.token_kind and a.task.vocab_size == b.task.vocab_size
    assert_same_value(a.task.baseline_loss, b.task.baseline_loss, "baseline_loss")
    assert (a.task.vocab.tokens if a.task.vocab else None) == (b.task.vocab.tokens if b.task.vocab else None)
    assert a.config == b.config
    for name in ("steps", "evals", "spectra"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x.names, x.capacity, x.size, x.stride, x.seen) == \
            (y.names, y.capacity, y.size, y.stride, y.seen)
        for column in x.names:
            np.testing.assert_array_equal(x.column(column), y.column(column), err_msg=f"{name}.{column}")
    assert (a.flow.capacity, a.flow.size, a.flow.stride, a.flow.seen, a.flow.width) == \
        (b.flow.capacity, b.flow.size, b.flow.stride, b.flow.seen, b.flow.width)
    np.testing.assert_array_equal(a.flow.matrix, b.flow.matrix)
    np.testing.assert_array_equal(a.flow.keys, b.flow.keys)
    assert_same_value(a.first_dh_norms, b.first_dh_norms, "first_dh_norms")
    assert_same_value(a.latest, b.latest, "latest")
    assert_same_value(a.latest_eval, b.latest_eval, "latest_eval")
    for name in ("start_step", "total_steps", "total_clipped", "step", "clipped_fraction",
                 "recent_clipped_fraction", "_ema", "_ema_weight"):
        assert getattr(a, name) == getattr(b, name), name
    assert list(a.recent_clipped) == list(b.recent_clipped)
    assert list(a.divergences) == list(b.divergences)
    assert list(a.marks) == list(b.marks)


# ---------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("config", [SINE, CHARLM, SENTIMENT, RECALL], ids=lambda c: f"{c.task}-{c.cell}")
def test_every_panel_s_data_survives_save_and_open(tmp_path, config):
    trainer, recorder = recorded(config, 150)
    data = recorder.data
    assert data.steps.stride > 1 and data.flow.stride > 1  # the decimation state is part of the test
    assert data.latest is not None and data.latest_eval is not None and data.marks
    path = save_run(tmp_path / "run", data, trainer.state())
    assert path.name == "run" + EXTENSION
    opened = load_run(path)
    assert opened.data is not None and not opened.is_checkpoint
    assert_same_run(data, opened.data)
    assert opened.step == trainer.step_count and opened.config == trainer.config
    assert not opened.data.running


def test_an_opened_history_goes_on_exactly_as_the_original(tmp_path):
    """The same further steps filed into the original and into the opened copy give the same
    histories: counters, strides and the smoothed loss were restored, not only the rows."""
    trainer, recorder = recorded(SINE, 90)
    opened = load_run(save_run(tmp_path / "run", recorder.data, trainer.state())).data
    assert opened is not None
    copy = RunRecorder(trainer, "unused", opened)
    for _ in range(70):
        report = trainer.step()
        recorder.add(report)
        copy.add(report)
    recorder.flush()
    copy.flush()
    assert_same_run(recorder.data, copy.data)


def test_a_run_file_is_also_a_checkpoint_that_continues_exactly(tmp_path):
    trainer, recorder = recorded(CHARLM, 40)
    path = save_run(tmp_path / "run", recorder.data, trainer.state())
    resumed = Trainer.from_checkpoint(path)
    for _ in range(5):
        expected, got = trainer.step(), resumed.step()
        assert got.loss == expected.loss
    np.testing.assert_array_equal(resumed.model.flat_params, trainer.model.flat_params)


def test_a_plain_checkpoint_opens_without_history(tmp_path):
    trainer = Trainer(SINE)
    for _ in range(7):
        trainer.step()
    checkpoint = trainer.save(tmp_path / "checkpoint.npz")
    opened = load_run(checkpoint)
    assert opened.is_checkpoint and opened.data is None and opened.step == 7
    np.testing.assert_array_equal(opened.weights[0]["param.W_hh"], trainer.model.params["W_hh"])


def test_history_columns_are_matched_by_name(tmp_path):
    """A file from an rnnviz with other columns (renamed gradient norms, new fields) opens: the
    columns both know are kept, a column only the file has is left out, one it lacks is NaN."""
    _, recorder = recorded(SINE, 30)
    meta, arrays = recorder.data.to_state()
    meta["steps"]["columns"] = [c if c != "grad_before.b_h" else "grad_before.W_unknown"
                                for c in meta["steps"]["columns"]]
    arrays["steps.grad_before.W_unknown"] = arrays.pop("steps.grad_before.b_h")
    restored = RunData.from_state(json.loads(json.dumps(meta)), arrays)
    assert np.isnan(restored.steps.column("grad_before.b_h")).all()
    assert "grad_before.W_unknown" not in restored.steps.names
    np.testing.assert_array_equal(restored.steps.column("loss"), recorder.data.steps.column("loss"))


# ------------------------------------------------------------------------------ errors
@pytest.fixture
def good_run(tmp_path) -> Path:
    trainer, recorder = recorded(SINE, 30)
    return save_run(tmp_path / "good", recorder.data, trainer.state())


def rewrite_header(source: Path, target: Path, change) -> Path:
    with np.load(source, allow_pickle=False) as loaded:
        arrays = {name: loaded[name] for name in loaded.files}
    header = json.loads(bytes(arrays["__run__"]).decode())
    change(header, arrays)
    arrays["__run__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with target.open("wb") as fh:
        np.savez(fh, **arrays)
    return target


def damaged(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}{EXTENSION}"
    if kind == "missing":
        return path
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(5000))
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "foreign-npz":
        with path.open("wb") as fh:
            np.savez(fh, weights=np.ones(3))
    elif kind == "bare-npy":
        with path.open("wb") as fh:
            np.save(fh, np.ones(3))
    elif kind == "text":
        path.write_text("step,loss\n1,2.0\n")
    elif kind == "newer-version":
        rewrite_header(good, path, lambda h, a: h.update(version=FORMAT_VERSION + 1))
    elif kind == "other-format":
        rewrite_header(good, path, lambda h, a: h.update(format="someone-else"))
    elif kind == "no-history":
        rewrite_header(good, path, lambda h, a: h["sections"].pop("history"))
    elif kind == "history-array-gone":
        rewrite_header(good, path, lambda h, a: a.pop("history.steps.loss"))
    elif kind == "no-weights":
        rewrite_header(good, path, lambda h, a: a.pop("__meta__"))
    elif kind == "corrupt-member":
        data = bytearray(good.read_bytes())
        with zipfile.ZipFile(good) as archive:
            info = archive.getinfo("history.steps.loss.npy")
        start = info.header_offset + 30 + len(info.filename) + 200
        data[start : start + 64] = bytes(64)  # zeros inside the member: its CRC no longer matches
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "random-bytes", "truncated", "foreign-npz",
                                  "bare-npy", "text", "newer-version", "other-format", "no-history",
                                  "history-array-gone", "no-weights", "corrupt-member"])
def test_a_bad_file_is_one_clear_sentence(tmp_path, good_run, kind):
    path = damaged(kind, good_run, tmp_path)
    with pytest.raises(RunFileError) as caught:
        load_run(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and len(message) < 300, message
    assert isinstance(caught.value, CheckpointError)  # what every caller already catches
    assert "Error(" not in message and "invalid literal" not in message, message  # no Python in it
    if kind == "history-array-gone":
        assert "lacks steps." in message, message
    if kind == "newer-version":
        assert f"version {FORMAT_VERSION + 1}" in message and f"up to version {FORMAT_VERSION}" in message


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, good_run, monkeypatch):
    before = good_run.read_bytes()
    trainer, recorder = recorded(SINE, 10)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(RunFileError, match="No space left on device"):
        save_run(good_run, recorder.data, trainer.state())
    assert good_run.read_bytes() == before
    assert sorted(p.name for p in good_run.parent.iterdir()) == [good_run.name]


# --------------------------------------------------------------------------------- CLI
def train(tmp_path: Path, *argv: str) -> Path:
    out = tmp_path / "out"
    assert main(["train", "--preset", "sine", "--hidden", "8", "--batch", "4", "--seq-len", "12",
                 "--eval-every", "25", "--out", str(out), "--quiet", *argv]) == 0
    return out


def test_train_out_writes_a_run_file_that_opens(tmp_path):
    out = train(tmp_path, "--steps", "120")
    opened = load_run(out / RUN_FILE_NAME)
    data = opened.data
    assert data is not None and data.step == opened.step == 120
    np.testing.assert_array_equal(data.steps.column("step"), np.arange(1, 121))
    np.testing.assert_array_equal(data.evals.column("step"), [25, 50, 75, 100])
    assert data.latest_eval is not None and data.latest_eval.step == 100
    metrics = np.genfromtxt(out / "metrics.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(data.steps.column("loss"), metrics["train_loss"])
    checkpoint_arrays, _ = load_checkpoint(out / "checkpoint.npz")
    np.testing.assert_array_equal(opened.weights[0]["param.W_hh"], checkpoint_arrays["param.W_hh"])


def test_resuming_continues_the_run_file_s_history(tmp_path):
    out = train(tmp_path, "--steps", "60")
    assert main(["train", "--resume", str(out / RUN_FILE_NAME), "--steps", "40", "--out", str(out),
                 "--quiet"]) == 0
    data = load_run(out / RUN_FILE_NAME).data
    assert data is not None and data.step == 100
    np.testing.assert_array_equal(data.steps.column("step"), np.arange(1, 101))
    assert list(data.marks) == [(60, f"resumed from {RUN_FILE_NAME}")]


def test_a_diverging_run_s_history_ends_where_training_went_back(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["train", "--preset", "exploding", "--steps", "200", "--out", str(out), "--quiet"])
    assert code == 2 and "diverged" in capsys.readouterr().err
    opened = load_run(out / RUN_FILE_NAME)
    assert opened.data is not None and 0 < opened.step < 200
    assert len(opened.data.divergences) == 1 and opened.data.divergences[0] > opened.step  # marked
    assert opened.data.steps.last("step") == opened.step  # the curve goes on from the weights' step


def test_open_checks_the_file_before_any_window(tmp_path, capsys, monkeypatch):
    import rnnviz.app

    opened: list[str] = []
    monkeypatch.setattr(rnnviz.app, "run_app", lambda **kwargs: opened.append(kwargs["run_file"]) or 0)
    bad = tmp_path / f"bad{EXTENSION}"
    bad.write_text("not a run")
    assert main(["open", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnviz: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert opened == []
    good = train(tmp_path, "--steps", "10") / RUN_FILE_NAME
    assert main(["open", str(good)]) == 0
    assert opened == [str(good)]


def test_ctrl_c_during_train_leaves_a_valid_run_file(tmp_path):
    """SIGINT to a real ``rnnviz train``: it stops after the current step, exits 130 and leaves
    a run file whose history and weights end at the same step."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "rnnviz", "train", "--preset", "sine", "--hidden", "8",
                                "--steps", "1000000", "--out", str(out), "--quiet"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_file = out / RUN_FILE_NAME
        deadline = time.monotonic() + 60
        while not run_file.exists() and time.monotonic() < deadline:  # written as training starts
            time.sleep(0.05)
        assert run_file.exists()
        time.sleep(0.5)  # some steps
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    opened = load_run(run_file)
    assert opened.data is not None and opened.step > 0
    assert opened.data.step == opened.step == opened.data.steps.last("step")
    assert f"interrupted at step {opened.step}" in err


def test_the_benchmark_runs():
    """benchmarks/run_file.py with tiny settings, so it does not rot (its figures are not asserted)."""
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "run_file.py"), "--steps", "400",
                             "--preset", "sine", "--repeats", "1", "--no-window"],
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "load_run: best" in result.stdout and "file: " in result.stdout


def test_the_timeline_survives_save_and_open_and_a_fork_from_it_is_exact(tmp_path):
    """An opened run keeps its snapshots: viewing one shows the same arrays, and forking from
    it repeats the original's next steps bit for bit."""
    from rnnviz.core.checkpoint import save_checkpoint
    from rnnviz.training import Trainer

    trainer, recorder = recorded(CHARLM, 40)
    data = recorder.data
    assert data.timeline.steps == [10, 20, 30, 40]
    opened = load_run(save_run(tmp_path / "run", data, trainer.state())).data
    assert opened is not None and opened.timeline.steps == data.timeline.steps
    for step in data.timeline.steps:
        a, b = data.timeline.get(step), opened.timeline.get(step)
        assert a.meta == b.meta and a.kept == b.kept and set(a.arrays) == set(b.arrays)
        for name in a.arrays:
            np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
        assert_same_value(a.report, b.report, f"report {step}")
        assert_same_value(a.evaluation, b.evaluation, f"evaluation {step}")
    opened.view(20)
    assert opened.latest.step == 20 and opened.step == 40
    fork = Trainer.from_checkpoint(save_checkpoint(tmp_path / "fork.npz", opened.timeline.get(20).arrays,
                                                   opened.timeline.get(20).meta))
    again = [fork.step().loss for _ in range(20)]
    original = data.steps.column("loss")
    steps = data.steps.column("step")
    expected = [float(original[steps == s][0]) for s in range(21, 41) if (steps == s).any()]
    assert len(expected) >= 10  # (the history may be thinned; compare what it kept)
    kept = [s for s in range(21, 41) if (steps == s).any()]
    assert [again[s - 21] for s in kept] == expected
