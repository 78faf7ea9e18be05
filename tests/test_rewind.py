"""Divergence the user can recover from: the trainer goes back to a healthy state, and the
advice the app gives ("lower the learning rate or turn on clipping, then press Start") works."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.training import Trainer, load_preset
from rnnviz.training.snapshots import Snapshot, SnapshotRing


def diverge(trainer: Trainer, limit: int = 200) -> int:
    for _ in range(limit):
        report = trainer.step()
        if report.diverged:
            return report.step
    raise AssertionError(f"no divergence within {limit} steps")


def survives(trainer: Trainer, steps: int) -> bool:
    return not any(trainer.step().diverged for _ in range(steps))


@pytest.mark.parametrize("fix", [{"clip": "norm", "clip_value": 5.0}, {"lr": 0.0001}],
                         ids=["clipping", "lower-lr"])
def test_following_the_advice_after_a_divergence_works(fix: dict) -> None:
    config = load_preset("exploding").config
    ruined = Trainer(config)
    diverged_after = diverge(ruined)
    ruined.update_live(**fix)
    # The last finite weights are already ruined: continuing from them blows up again.
    assert not survives(ruined, 100)

    trainer = Trainer(config)
    assert diverge(trainer) == diverged_after
    back = trainer.rewind_to_healthy()
    assert back is not None and back < diverged_after
    assert trainer.step_count == back
    trainer.update_live(**fix)
    assert survives(trainer, 200)


def test_rewind_restores_the_exact_state_of_that_step() -> None:
    config = load_preset("exploding").config
    reference = Trainer(config)
    trainer = Trainer(config)
    diverge(trainer)
    back = trainer.rewind_to_healthy()
    assert back is not None
    for _ in range(back):
        reference.step()
    np.testing.assert_array_equal(trainer.model.flat_params, reference.model.flat_params)
    # The same data and random stream from there: the next steps repeat the reference's.
    assert trainer.step().loss == reference.step().loss


def snapshot(baseline, after) -> Snapshot:
    return Snapshot(step=5, arrays={}, meta={}, baseline=baseline, after=list(after))


def test_what_counts_as_normal_after_a_copy() -> None:
    assert snapshot((2.0, 1.0), [(2.1, 1.5), (3.0, 9.0)]).looked_normal()
    assert not snapshot((2.0, 1.0), [(2.1, 1.5), (5.5, 1.0)]).looked_normal()  # loss left its range
    assert not snapshot((2.0, 1.0), [(2.1, 11.0)]).looked_normal()  # gradient norm jumped
    assert not snapshot((2.0, 1.0), [(2.1, 1.0), (float("nan"), 1.0)]).looked_normal()
    assert not snapshot((2.0, 1.0), []).looked_normal()  # nothing known after it yet


def test_ring_goes_back_to_the_latest_healthy_copy_and_forgets_the_future() -> None:
    ring = SnapshotRing(state_bytes=1)
    for step in range(1, 31):
        loss = 2.0 if step <= 22 else 50.0
        ring.record(loss, 1.0)
        if step % 5 == 0:
            ring.take(step, {"p": np.full(2, step)}, {"step": step})
    chosen = ring.healthy()
    assert chosen is not None and chosen.step == 15  # the copy at 20 was followed by loss 50
    ring.forget_after(chosen.step)
    assert [s.step for s in ring.snapshots][-1] == 15 and not ring.snapshots[-1].after


def test_in_the_window_the_advice_continues_from_before_the_blow_up(make_window, qtbot) -> None:
    window = make_window(load_preset("exploding").config)
    qtbot.waitUntil(lambda: "went back to step" in window.last_problem, timeout=20_000)
    message = window.last_problem
    back = int(message.split("went back to step ")[1].split(",")[0].replace(",", ""))
    assert "non-finite" in message and f"continue from step {back:,}" in message
    data = window.session.data
    diverged_at = data.divergences[-1]
    assert back < diverged_at and not window.session.running
    said = int(message.split("non-finite at step ")[1].split(" ")[0].replace(",", ""))
    assert diverged_at == said  # the loss panel's marker and the banner name the same step
    assert not np.isfinite(data.latest.loss)  # the blow-up stays on screen while paused

    window.session.update_live(clip="norm", clip_value=5.0)  # as the banner advises
    assert data.marks[-1] == (back, "clip none → norm 5")  # where the change takes effect
    window.toggle_running()
    qtbot.waitUntil(lambda: data.step >= back + 100, timeout=20_000)
    steps = data.steps.column("step")
    assert np.all(np.diff(steps) > 0), "the curve must continue from the step gone back to"
    assert list(data.divergences) == [diverged_at]  # no second blow-up; the marker stays
    assert np.isfinite(data.steps.column("loss")[steps > back]).all()
