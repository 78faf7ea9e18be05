"""Snapshots over a whole run, going back to them, and forking from them."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.checkpoint import save_checkpoint
from rnnviz.training import TrainConfig, Trainer
from rnnviz.training.timeline import (
    KEPT,
    Timeline,
    TimelineSnapshot,
    kept_for,
    snapshot_due,
    snapshot_interval,
    take_snapshot,
)

SMALL = TrainConfig(task="charlm", hidden=8, seq_len=10, batch=2, eval_every=5, spectrum_every=2)


def run_with_snapshots(config: TrainConfig, steps: int):
    """RunData of ``steps`` real steps with their snapshots, filed as the window files them
    (the recorder ``rnnviz train --out`` uses), and the trainer."""
    from rnnviz.runs.recorder import RunRecorder

    trainer = Trainer(config)
    recorder = RunRecorder(trainer, "unused")
    for _ in range(steps):
        recorder.add(trainer.step())
    recorder.flush()
    return recorder.data, trainer


def fake_snapshot(step: int, kept: int = KEPT) -> TimelineSnapshot:
    class Report:  # only its size is read
        hidden = np.zeros((2, 2))

    return TimelineSnapshot(step=step, arrays={"param.W_hh": np.zeros(4)}, meta={},
                            report=Report(), evaluation=None, kept=kept)  # type: ignore[arg-type]


@pytest.mark.parametrize("kept", [4, 16, KEPT])
def test_a_long_run_keeps_a_bounded_evenly_spread_set_of_snapshots(kept: int) -> None:
    timeline = Timeline()
    sizes = []
    for step in range(1, 200_001):
        if step % snapshot_interval(step, kept) == 0:
            timeline.add(fake_snapshot(step, kept))
        if step % 5_000 == 0:
            sizes.append(len(timeline))
            steps = np.asarray(timeline.steps)
            every = snapshot_interval(int(steps[-1]), kept)  # thinned as of the newest snapshot
            assert np.array_equal(steps, np.arange(1, len(steps) + 1) * every)  # evenly spread
            assert steps[-1] > step - snapshot_interval(step, kept)  # up to date
    assert max(sizes) <= kept and min(sizes) >= kept // 2


def test_the_snapshot_budget_shrinks_for_big_models_and_due_steps_follow_the_interval() -> None:
    assert kept_for(1000) == KEPT
    assert kept_for(128 << 20) == 4  # at least a few, whatever the size
    assert [s for s in range(1, 60) if snapshot_due(s, 1000)] == [10, 20, 30, 40, 50]
    assert snapshot_interval(10 * KEPT) == 10 and snapshot_interval(10 * KEPT + 10) == 20


def test_truncate_and_lookup() -> None:
    timeline = Timeline()
    for step in (10, 20, 30, 40):
        timeline.add(fake_snapshot(step))
    assert timeline.at_or_before(35).step == 30 and timeline.at_or_before(5) is None
    timeline.truncate_after(25)
    assert timeline.steps == [10, 20]


@pytest.mark.parametrize("config", [SMALL, SMALL.replace(cell="lstm"),
                                    TrainConfig(task="sine", hidden=6, seq_len=8, batch=3)])
def test_a_fork_with_unchanged_settings_repeats_the_original_steps_exactly(config, tmp_path) -> None:
    trainer = Trainer(config)
    reports = [trainer.step() for _ in range(10)]
    snapshot = take_snapshot(trainer, reports[-1])
    later = [trainer.step() for _ in range(12)]  # (evaluations at 15 and 20 included)
    path = save_checkpoint(tmp_path / "fork.npz", snapshot.arrays, snapshot.meta)
    fork = Trainer.from_checkpoint(path, changes={})
    again = [fork.step() for _ in range(12)]
    assert [r.step for r in again] == [r.step for r in later]
    assert [r.loss for r in again] == [r.loss for r in later]  # bit for bit
    assert [r.global_norm_before for r in again] == [r.global_norm_before for r in later]
    assert np.array_equal(fork.model.flat_params, trainer.model.flat_params)
    # The snapshot is a private copy: training on did not change it.
    assert not np.array_equal(snapshot.arrays["param.W_hh"], trainer.model.params["W_hh"])


def test_a_fork_with_clipping_turned_on_differs_after_the_fork_only(tmp_path) -> None:
    config = SMALL.replace(clip="none", lr=0.5)
    trainer = Trainer(config)
    reports = [trainer.step() for _ in range(10)]
    snapshot = take_snapshot(trainer, reports[-1])
    later = [trainer.step() for _ in range(5)]
    path = save_checkpoint(tmp_path / "fork.npz", snapshot.arrays, snapshot.meta)
    fork = Trainer.from_checkpoint(path, changes={"clip": "norm", "clip_value": 0.01})
    again = [fork.step() for _ in range(5)]
    assert again[0].loss == later[0].loss  # the same batch from the same weights...
    assert again[0].clipped and again[1].loss != later[1].loss  # ...then clipped updates part them


def test_run_data_views_a_snapshot_while_the_curves_go_on() -> None:
    data, _ = run_with_snapshots(SMALL, 25)
    assert data.timeline.steps == [10, 20]
    version = data.version
    shown = data.view(10)
    assert shown is not None and data.version > version
    assert data.latest.step == 10 and data.step == 25  # arrays from step 10; the run is at 25
    assert data.latest_eval is not None and data.latest_eval.step == 10
    assert data.view(11) is None and data.latest.step == 25  # no snapshot there: live
    data.view(20)
    data.truncate_after(15)  # the run goes on from 15: the view of 20 ends
    assert data.viewed is None and data.timeline.steps == [10]


def test_a_fork_inherits_the_curves_up_to_its_step() -> None:
    from rnnviz.app.run_data import RunData

    original, _ = run_with_snapshots(SMALL, 30)
    original.add_mark(25, "late mark")
    original.add_mark(5, "early mark")
    fork = RunData(original.task, original.config)
    fork.inherit(original, 20)
    assert list(fork.steps.column("step")) == list(range(1, 21))
    assert np.array_equal(fork.steps.column("loss"), original.steps.column("loss")[:20])
    assert fork.timeline.steps == [10, 20] and fork.step == 20 and fork.latest.step == 20
    assert [text for _, text in fork.marks] == ["early mark"]
    assert len(original.steps) == 30  # the original is untouched


def test_fork_in_the_window_repeats_the_original_and_keeps_it_in_the_list(make_window, qtbot) -> None:
    window = make_window(config=TrainConfig(task="sine", hidden=6, seq_len=8, batch=3))
    window.speed.set_pace(100)  # (snapshot 10 is thinned out after 640 steps)
    qtbot.waitUntil(lambda: window.session.data.step >= 25, timeout=30_000)
    window.session.pause()
    original = window.session.data
    window.history.view(10)
    assert original.viewed is not None and original.latest.step == 10
    window.history.fork_action.trigger()
    qtbot.waitUntil(lambda: window.session.data is not original, timeout=20_000)
    fork = window.session.data
    assert fork.step == 10 and list(fork.steps.column("step"))[-1] == 10
    assert [e.data for e in window.runs.entries] == [original, fork]
    assert window.runs.current.name.endswith("fork at 10") and window.runs.current.differs == []
    assert original.viewed is None  # compared runs are drawn as they are
    window.toggle_running()
    qtbot.waitUntil(lambda: fork.step >= 20, timeout=30_000)
    window.session.pause()
    steps = fork.steps.column("step")
    losses = fork.steps.column("loss")
    original_losses = dict(zip(original.steps.column("step"), original.steps.column("loss"), strict=True))
    for step, loss in zip(steps, losses, strict=True):
        if 10 < step <= 20:
            assert loss == original_losses[step], step


def test_a_fork_with_clipping_set_in_the_form_says_so_in_the_runs_list(make_window, qtbot) -> None:
    window = make_window(config=TrainConfig(task="sine", hidden=6, seq_len=8, batch=3, clip="none"))
    window.speed.set_pace(100)
    qtbot.waitUntil(lambda: window.session.data.step >= 15, timeout=30_000)
    window.session.pause()
    original = window.session.data
    window.history.view(10)
    clip = window.controls.editors["clip"]
    clip.setCurrentIndex(clip.findText("norm"))  # live: it also reaches the paused original
    assert original.config.clip == "norm"
    window.history.fork_action.trigger()
    qtbot.waitUntil(lambda: window.session.data is not original, timeout=20_000)
    fork = window.runs.current
    assert fork.differs == [f"clipping: none → norm {fork.data.config.clip_value:g}"]


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_the_history_exports_as_an_animation_of_a_panel(make_window, qtbot, tmp_path, suffix) -> None:
    import imageio.v3 as iio

    from rnnviz.app.animation import AnimationError, export_animation

    window = make_window(config=TrainConfig(task="sine", hidden=6, seq_len=8, batch=3), start=False)
    with pytest.raises(AnimationError, match="no snapshots yet"):
        export_animation(window, tmp_path / f"early{suffix}", "hidden")
    window.speed.set_pace(100)
    window.toggle_running()
    qtbot.waitUntil(lambda: len(window.session.data.timeline) >= 3, timeout=30_000)
    window.session.pause()
    qtbot.waitUntil(lambda: not window.session.running, timeout=5_000)
    data = window.session.data
    data.view(data.timeline.steps[0])
    steps = list(data.timeline.steps)
    seen = []
    path = export_animation(window, tmp_path / f"hidden{suffix}", "hidden",
                            progress=lambda done, total: seen.append((done, total)) or True)
    frames = iio.imread(path, index=None)
    assert frames.shape[0] == len(steps) and frames.shape[-1] == 3
    assert seen[-1] == (len(steps) + 1, len(steps) + 1)
    assert not all(np.array_equal(frames[0], f) for f in frames[1:])  # the frames differ
    assert data.viewed is not None and data.viewed.step == steps[0]  # the user's view is back
    cancelled = export_animation(window, tmp_path / f"cancelled{suffix}", None,
                                 progress=lambda done, total: False)
    assert cancelled is None and not (tmp_path / f"cancelled{suffix}").exists()


@pytest.mark.parametrize("capacity", [1000, 8])  # whole, and decimated (every 4th row kept)
def test_a_rewind_or_a_fork_counts_only_the_clipping_of_the_steps_it_keeps(capacity: int) -> None:
    import dataclasses

    from rnnviz.app.run_data import RunData, task_info
    from rnnviz.app.training_process import StepAccumulator, run_details

    trainer = Trainer(SMALL)
    accumulator = StepAccumulator()
    for _ in range(30):  # clipping fires on steps 1-20 only
        report = trainer.step()
        accumulator.add(dataclasses.replace(report, clipped=report.step <= 20))
    original = RunData(task_info(run_details(trainer)), trainer.config, capacity=capacity)
    original.add_batch(accumulator.take(run=1, seq=1, running=False))
    assert (original.total_steps, original.total_clipped) == (30, 20)
    assert original.recent_clipped_fraction == pytest.approx(20 / 30)
    fork = RunData(original.task, original.config, capacity=capacity)
    fork.inherit(original, 25)  # a row kept either way (rows 1, 5, 9, ... 29 once decimated)
    assert (fork.total_steps, fork.total_clipped) == (25, 20)
    assert fork.clipped_fraction == pytest.approx(20 / 25)
    # The last 100 steps: exact when whole; from rows standing for 4 steps each once decimated.
    assert fork.recent_clipped_fraction == pytest.approx(20 / 25, abs=0 if capacity > 30 else 0.1)
    original.truncate_after(13)  # a rollback to step 13
    assert (original.total_steps, original.total_clipped) == (13, 13)
    assert original.recent_clipped_fraction == 1.0
