"""The product's promises, checked on the real tasks with the real, unmodified presets.

Each preset's "watch" text tells the user what they will see; these tests hold the presets
to it: sentiment reaches 100%, sine locks on, the language model learns, the gradient
vanishes or explodes on cue, clipping rescues the exploding run, and a seed reproduces a run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.training import Trainer, load_preset


def preset_trainer(name: str) -> Trainer:
    return Trainer(load_preset(name).config)


def test_sentiment_preset_reaches_full_test_accuracy():
    """The preset promises 100% test accuracy; negations make that impossible without memory."""
    trainer = preset_trainer("sentiment")
    accuracies = []
    for _ in range(1500):
        report = trainer.step()
        assert not report.diverged
        if report.evaluation is not None:
            accuracies.append(report.evaluation.metrics["accuracy"])
            if accuracies[-1] == 1.0:
                break
    assert accuracies and accuracies[-1] == 1.0, f"accuracy at evaluations: {accuracies}"
    assert accuracies[0] < 1.0 or len(accuracies) == 1  # it had to learn, not start there


def test_sine_preset_reaches_small_rmse():
    trainer = preset_trainer("sine")
    first_eval = trainer.evaluate().metrics["rmse"]
    rmses = []
    for _ in range(1500):
        report = trainer.step()
        assert not report.diverged
        if report.evaluation is not None:
            rmses.append(report.evaluation.metrics["rmse"])
            if rmses[-1] < 0.1:
                break
    assert rmses and rmses[-1] < 0.1, f"rmse at evaluations: {rmses}"
    assert first_eval > 0.3  # an untrained model is far from the wave


def test_charlm_preset_beats_the_uniform_baseline_from_zero_state():
    """Validation (every window from h = 0) must fall well below ln(V) in a few hundred steps."""
    trainer = preset_trainer("charlm")
    baseline = math.log(len(trainer.task.vocab))
    assert trainer.task.baseline_loss == pytest.approx(baseline)
    assert trainer.evaluate().val_loss == pytest.approx(baseline, rel=0.05)
    losses = []
    for step in range(1, 401):
        assert not trainer.step().diverged
        if step % 50 == 0:
            losses.append(trainer.evaluate().val_loss)
            if losses[-1] < 0.6 * baseline:
                break
    assert losses and losses[-1] < 0.6 * baseline, f"val losses {losses} vs ln(V) = {baseline:.3f}"


def test_vanishing_preset_gradient_fades_through_time():
    """At the start, ‖dL/dh_0‖ is orders of magnitude below ‖dL/dh_T‖ (the log-axis curve)."""
    trainer = preset_trainer("vanishing")
    for _ in range(3):
        report = trainer.step()
        dh = np.asarray(report.dh_norms)
        assert dh.shape == (report.hidden.shape[0],)
        assert dh[-1] > 0
        assert dh[0] < 1e-4 * dh[-1], dh
        assert np.all(np.diff(dh) > 0)  # fades monotonically going back in time


def test_sentiment_preset_gradient_does_not_vanish_like_that():
    """The contrast the vanishing preset invites: Xavier keeps the early gradient alive."""
    dh = np.asarray(preset_trainer("sentiment").step().dh_norms)
    assert dh[0] > 1e-3 * dh[-1]


def test_exploding_diverges_and_keeps_finite_weights():
    trainer = preset_trainer("exploding")
    diverged_at = None
    for _ in range(200):
        before = {k: v.copy() for k, v in trainer.model.params.items()}
        step_before = trainer.step_count
        report = trainer.step()
        if report.diverged:
            diverged_at = report
            break
    assert diverged_at is not None, "the exploding preset did not diverge within 200 steps"
    assert trainer.diverged and trainer.step_count == step_before  # the bad step is not counted
    for name, value in trainer.model.params.items():
        assert np.isfinite(value).all(), name
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert not diverged_at.finite


def test_exploding_clipped_survives_the_same_steps_with_clipping():
    """Same seed, plus clipping: no divergence over the steps that killed the plain run."""
    plain = preset_trainer("exploding")
    steps_to_diverge = next(i for i in range(1, 201) if plain.step().diverged)

    trainer = preset_trainer("exploding-clipped")
    threshold = trainer.config.clip_value
    n_steps = max(steps_to_diverge, 100)
    clipped = 0
    for _ in range(n_steps):
        report = trainer.step()
        assert not report.diverged and report.finite
        clipped += report.clipped
        if report.clipped:
            assert report.global_norm_after == pytest.approx(threshold, rel=1e-3)
            assert report.global_norm_before > threshold
    assert clipped > n_steps / 2, f"clipping fired on only {clipped} of {n_steps} steps"
    assert all(np.isfinite(v).all() for v in trainer.model.params.values())


def test_same_seed_same_run():
    """Reproducibility: the default preset twice, identical loss sequences."""
    def losses():
        trainer = preset_trainer("charlm")
        return [trainer.step().loss for _ in range(30)]

    first, second = losses(), losses()
    assert first == second
    assert len(set(first)) > 1


def test_different_seed_different_run():
    """And the seed matters: otherwise the determinism test above would prove nothing."""
    config = load_preset("sine").config
    a, b = Trainer(config), Trainer(config.replace(seed=config.seed + 1))
    assert [a.step().loss for _ in range(5)] != [b.step().loss for _ in range(5)]
