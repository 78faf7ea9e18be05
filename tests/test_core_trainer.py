"""The Trainer on top of the core (rnnviz/training/trainer.py): bit-exact determinism,
exact resume from a checkpoint, and divergence handling. Task behaviour is tested elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import PARAM_NAMES
from rnnviz.training import TrainConfig, Trainer

CONFIGS = {
    "sine": TrainConfig(task="sine", hidden=8, seq_len=10, batch=4, eval_every=5),
    "charlm": TrainConfig(task="charlm", hidden=12, seq_len=10, batch=4, eval_every=5),
    "sentiment": TrainConfig(task="sentiment", hidden=8, seq_len=10, batch=4, eval_every=5),
}


def run(trainer, steps):
    return [trainer.step() for _ in range(steps)]


def losses(reports):
    return [r.loss for r in reports]


def params_of(trainer):
    return {k: v.copy() for k, v in trainer.model.params.items()}


def assert_params_identical(a, b):
    for name in PARAM_NAMES:
        assert a[name].dtype == b[name].dtype
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize("task", sorted(CONFIGS))
def test_same_seed_is_bit_identical_and_other_seed_differs(task):
    """All randomness comes from the trainer's seeded generator: two runs with one seed give
    exactly the same losses and parameters over 20 steps (evaluations included); another
    seed gives a different run."""
    cfg = CONFIGS[task]
    a, b, c = Trainer(cfg), Trainer(cfg), Trainer(cfg.replace(seed=1))
    ra, rb, rc = run(a, 20), run(b, 20), run(c, 20)
    assert losses(ra) == losses(rb)
    assert losses(ra) != losses(rc)
    assert_params_identical(params_of(a), params_of(b))
    assert not np.array_equal(a.model.params["W_hh"], c.model.params["W_hh"])
    assert all(np.isfinite(losses(ra)))
    evals = [r.evaluation.val_loss for r in ra if r.evaluation is not None]
    assert len(evals) == 4
    assert evals == [r.evaluation.val_loss for r in rb if r.evaluation is not None]


@pytest.mark.parametrize("task", sorted(CONFIGS))
def test_resume_from_checkpoint_reproduces_the_run_exactly(task, tmp_path):
    """Save at step 10, resume in a new Trainer: steps 11-20 give bit-identical losses,
    parameters and optimizer state to an uninterrupted run (RNG, data position, carried
    hidden state and Adam's moments all survive the round trip)."""
    cfg = CONFIGS[task]
    straight = Trainer(cfg)
    expected = losses(run(straight, 20))

    first = Trainer(cfg)
    assert losses(run(first, 10)) == expected[:10]
    path = first.save(tmp_path / f"{task}.npz")
    resumed = Trainer.from_checkpoint(path)
    assert resumed.step_count == 10
    assert_params_identical(params_of(resumed), params_of(first))

    reports = run(resumed, 10)
    assert [r.step for r in reports] == list(range(11, 21))
    assert losses(reports) == expected[10:]
    assert_params_identical(params_of(resumed), params_of(straight))
    state_a, state_b = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_array_equal(state_a[key], state_b[key], err_msg=key)


def test_resume_without_rng_state_would_differ(tmp_path):
    """Guard for the resume test: a trainer that only loads the parameters (fresh RNG and
    optimizer) does not reproduce steps 11-20, so the exact match above is meaningful."""
    cfg = CONFIGS["sine"]
    straight = Trainer(cfg)
    expected = losses(run(straight, 20))
    first = Trainer(cfg)
    run(first, 10)
    naive = Trainer(cfg)
    naive.model.set_params(first.model.params)
    assert losses(run(naive, 10)) != expected[10:]


def test_non_finite_run_is_flagged_and_keeps_finite_parameters():
    """lr=100 with plain SGD, no clipping, relu and spectral radius 50 blows up: the step is
    reported as diverged, and the parameters stay finite (the bad update is not applied)."""
    cfg = TrainConfig(task="sine", hidden=8, seq_len=10, batch=4, eval_every=5, lr=100.0,
                      optimizer="sgd", clip="none", activation="relu", spectral_radius=50.0)
    trainer = Trainer(cfg)
    reports = run(trainer, 5)
    assert any(r.diverged for r in reports)
    assert trainer.diverged == reports[-1].diverged
    for r in reports:
        if r.diverged:
            assert not r.finite
    for name, arr in trainer.model.params.items():
        assert np.all(np.isfinite(arr)), name


def test_non_finite_update_is_rolled_back(monkeypatch):
    """If the optimizer step itself produces NaN parameters, the trainer restores the
    parameters and optimizer state of before the step and does not count the step."""
    trainer = Trainer(CONFIGS["sine"])
    run(trainer, 3)
    before = params_of(trainer)
    before_state = trainer.optimizer.state_dict()
    original_step = trainer.optimizer.step

    def poisoned_step(params, grads):
        original_step(params, grads)
        for arr in params.values():
            arr.flat[0] = np.nan

    monkeypatch.setattr(trainer.optimizer, "step", poisoned_step)
    report = trainer.step()
    assert report.diverged and trainer.diverged
    assert trainer.step_count == 3 and report.step == 3
    assert_params_identical(params_of(trainer), before)
    after_state = trainer.optimizer.state_dict()
    assert after_state.keys() == before_state.keys()
    for key in before_state:
        np.testing.assert_array_equal(after_state[key], before_state[key], err_msg=key)


def test_reports_show_the_watched_sequence_clamped_to_the_batch() -> None:
    """The hidden-state view follows ``watched_sequence``; an index past the batch shows the last row."""
    config = TrainConfig(task="sine", hidden=8, seq_len=10, batch=4, eval_every=1000)
    first_row = Trainer(config).step()
    trainer = Trainer(config)
    trainer.watched_sequence = 2
    report = trainer.step()
    assert report.watched_sequence == 2
    assert first_row.watched_sequence == 0
    assert not np.array_equal(report.hidden, first_row.hidden)  # same batch, another sequence
    assert report.input_tokens != first_row.input_tokens
    trainer.watched_sequence = 99
    report = trainer.step()
    assert report.watched_sequence == 3
    assert report.hidden.shape == (10, 8)
