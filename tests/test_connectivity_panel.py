"""The connectivity view end to end: the trainer's numbers, the pipe, RunData, the panel's drawing
and the sentence it writes, each checked against the matrix it was given."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from rnnviz.core.connectivity import by_distance_matrix, connectivity, distance_profile
from rnnviz.training import TrainConfig, Trainer, load_preset
from tests.test_panel_texts import SMALL_CHARLM, add_steps, make_run, shown_panel

SMALL_LINES = TrainConfig(task="charlm", corpus="three-sentences.txt", lines="on", hidden=8, seq_len=25,
                          batch=3, eval_every=50, spectrum_every=50)


# ------------------------------------------------------------------ the trainer
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_first_report_carries_the_watched_sequences_connectivity(cell: str) -> None:
    config = SMALL_CHARLM.replace(cell=cell)
    trainer = Trainer(config)
    twin = Trainer(config)  # the same generator: its first batch is the trainer's first batch
    report = trainer.step()
    batch = twin.task.next_batch(twin.rng)
    found = report.connectivity
    assert found is not None and found.step == 1 and found.score == "log p"
    column = report.watched_sequence
    expected = connectivity(trainer.model, batch.x[:, column], None, batch.y[:, column])
    assert np.array_equal(found.matrix, expected, equal_nan=True)
    assert found.tokens == report.input_tokens
    assert found.targets == tuple(trainer.task.vocab.tokens[int(i)] for i in batch.y[:, column])
    assert not found.matrix.flags.writeable


def test_the_carried_state_is_where_the_sequence_starts() -> None:
    trainer = Trainer(SMALL_CHARLM)
    trainer.step()
    start = trainer.carried_state.copy()
    twin = Trainer(SMALL_CHARLM)
    twin.task.next_batch(twin.rng)
    batch = twin.task.next_batch(twin.rng)  # the second batch, read from the carried state
    report = trainer.step()
    if report.connectivity.step == 2:  # computed at this step (it is, unless the machine is slow)
        column = report.watched_sequence
        expected = connectivity(trainer.model, batch.x[:, column], start[column], batch.y[:, column])
        assert np.array_equal(report.connectivity.matrix, expected, equal_nan=True)
    assert report.connectivity.step in (1, 2)


def test_line_mode_leaves_the_padding_out() -> None:
    trainer = Trainer(SMALL_LINES)
    report = trainer.step()
    found = report.connectivity
    steps = len(report.input_tokens)
    assert found.matrix.shape == (steps, steps)
    assert np.isfinite(found.matrix[np.tril_indices(steps)]).all()


def test_sine_scores_the_predicted_value() -> None:
    report = Trainer(TrainConfig(task="sine", hidden=8, seq_len=12, batch=2, eval_every=50,
                                 spectrum_every=50)).step()
    found = report.connectivity
    assert found.score == "prediction" and found.targets == ()
    assert found.matrix.shape == (12, 12) and np.isfinite(found.matrix[np.tril_indices(12)]).all()


def test_the_lstm_reaches_back_where_the_vanilla_rnn_does_not() -> None:
    """The recall presets at their first step: the answer's dependence on the first symbol, 40
    inputs back, relative to the last input, the query."""
    reach = {}
    for name in ("recall-rnn", "recall-lstm"):
        config = load_preset(name).config.replace(batch=4)
        found = Trainer(config).step().connectivity
        assert np.isnan(found.matrix[:-1]).all()  # a last-step head: only the answer is scored
        reach[name] = found.matrix[-1, 0] / found.matrix[-1, -1]
    assert reach["recall-rnn"] < 1e-6 < 1e-2 < reach["recall-lstm"], reach


def test_it_is_recomputed_only_after_its_cost_over_the_share(monkeypatch) -> None:
    """At the first step, then only once the training time since the last one has reached its
    cost / CONNECTIVITY_SHARE; in between the report carries the previous one."""
    import rnnviz.training.trainer as trainer_module

    trainer = Trainer(SMALL_CHARLM)
    waits: list[float] = []
    compute = trainer_module.connectivity

    def recorded(*args, **kwargs):
        waits.append(trainer._connectivity_wait_s)
        return compute(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "connectivity", recorded)
    reports = [trainer.step() for _ in range(40)]
    assert waits and all(wait <= 0 for wait in waits)
    assert trainer._connectivity_wait_s > 0  # after every step: a due one was computed at once
    steps = [r.connectivity.step for r in reports]
    assert steps[0] == 1 and len(set(steps)) == len(waits)
    assert all(step <= r.step for step, r in zip(steps, reports, strict=True)) and steps == sorted(steps)


def test_a_share_of_zero_turns_it_off_and_leaves_training_as_it_was() -> None:
    quiet, shown = Trainer(SMALL_CHARLM), Trainer(SMALL_CHARLM)
    quiet.connectivity_share = 0.0
    for _ in range(3):
        silent, seen = quiet.step(), shown.step()
        assert silent.connectivity is None and seen.connectivity is not None
        assert silent.loss == seen.loss
    assert np.array_equal(quiet.model.flat_params, shown.model.flat_params)


# ------------------------------------------------------------ the pipe and RunData
def test_it_crosses_the_pipe_and_run_data_shows_the_latest() -> None:
    from rnnviz.app.training_process import StepAccumulator

    data, trainer = make_run(SMALL_CHARLM, 3)
    assert data.connectivity is not None and data.connectivity is data.latest.connectivity
    kept = data.connectivity
    accumulator = StepAccumulator()
    for _ in range(3):  # every report carries the newest the trainer has, recomputed or not
        report = trainer.step()
        assert report.connectivity is not None and report.connectivity.step >= kept.step
        accumulator.add(report)
    data.add_batch(pickle.loads(pickle.dumps(accumulator.take(run=1, seq=2, running=False))))
    assert data.connectivity.step == report.connectivity.step
    data.truncate_after(1)
    assert data.connectivity is None  # from steps that will come again

    accumulator.add(trainer.step())
    sent = accumulator.take(run=1, seq=3, running=False)
    received = pickle.loads(pickle.dumps(sent))
    got, want = received.latest.connectivity, sent.latest.connectivity
    assert np.array_equal(got.matrix, want.matrix, equal_nan=True)
    assert received.latest.connectivity.tokens == sent.latest.connectivity.tokens


# ------------------------------------------------------------------ the panel
def expected_summary_numbers(matrix: np.ndarray) -> tuple[int, float]:
    """(how many of the nearest distances have ≥ 10% of the peak median, median 10 back / median at 0)."""
    profile = distance_profile(matrix)
    peak = np.nanmax(profile)
    reach = 0
    while reach < profile.size and profile[reach] >= 0.1 * peak:
        reach += 1
    far = min(10, matrix.shape[0] - 1)
    return reach, profile[far] / profile[0]


def test_the_panel_draws_the_matrix_it_is_given_and_says_what_it_shows(qtbot) -> None:
    from rnnviz.app.panels import ConnectivityPanel
    from rnnviz.app.panels.base import fmt

    data, _ = make_run(SMALL_CHARLM.replace(seq_len=16), 4)
    panel = shown_panel(qtbot, ConnectivityPanel, size=(520, 520))
    panel.update(data)
    panel.flush_summary(force=True)
    found = data.connectivity
    matrix = np.asarray(found.matrix)

    image = panel.image.image
    expected = np.log10(by_distance_matrix(matrix))
    assert image.shape == matrix.shape
    assert np.allclose(image, expected, equal_nan=True)
    low, high = panel.colour_bar.levels()
    assert low < np.nanmedian(expected) < high

    text = panel.summary.plain_text()
    reach, ratio = expected_summary_numbers(matrix)
    assert f"step {found.step}" in text
    assert f"from the last {reach} characters" in text
    assert f"10 back: {fmt(ratio)}× the current one" in text

    shown = panel.text.toPlainText().replace("\u2029", "\n")
    assert shown.replace("⏎\n", "⏎") == "".join("⏎" if t == "\n" else t for t in found.tokens)


def test_the_text_is_shaded_by_the_influence_on_the_chosen_position(qtbot) -> None:
    from rnnviz.app.panels import ConnectivityPanel
    from rnnviz.app.qt import Qt, QtCore

    data, _ = make_run(SMALL_CHARLM, 2)
    panel = shown_panel(qtbot, ConnectivityPanel, size=(520, 520))
    panel.update(data)
    matrix = np.asarray(data.connectivity.matrix)
    steps = matrix.shape[0]
    assert panel.chosen_position() == steps - 1  # the last position by default

    chosen = 4
    panel.pin(chosen)
    assert panel.chosen_position() == chosen
    document = panel.text.document()
    for s, (start, _) in enumerate(panel._spans):
        cursor = panel.text.textCursor()
        cursor.setPosition(start + 1)  # the format of the character after the caret's position
        form = cursor.charFormat()
        if s <= chosen:
            assert form.background().color().name() == panel._colour(matrix[chosen, s]).name(), s
        else:
            assert form.background().style() == Qt.BrushStyle.NoBrush, s
            assert form.foreground().color().name() == "#a0a0a0", s  # later: no influence
    assert document.toPlainText()
    readout = panel.readout.plain_text()
    strongest = int(np.nanargmax(matrix[chosen]))
    assert f"position {chosen}" in readout and f"{chosen - strongest} back" in readout

    # The pointer over a character chooses it; over the heatmap, a row.
    start, _ = panel._spans[2]
    cursor = panel.text.textCursor()
    cursor.setPosition(start)
    rect = panel.text.cursorRect(cursor)  # the caret before the token's first character
    assert panel.token_at(rect.center() + QtCore.QPoint(3, 0)) == 2
    panel.pin(chosen)  # the same position again releases it
    assert panel.chosen_position() == steps - 1


def test_a_last_step_head_is_one_row_and_a_sentence_about_the_first_input(qtbot) -> None:
    from rnnviz.app.panels import ConnectivityPanel
    from rnnviz.app.panels.base import fmt

    config = TrainConfig(task="recall", hidden=8, batch=4, recall_distance=12, eval_every=50,
                         spectrum_every=50)
    data, _ = make_run(config, 2)
    panel = shown_panel(qtbot, ConnectivityPanel, size=(520, 520))
    panel.update(data)
    panel.flush_summary(force=True)
    matrix = np.asarray(data.connectivity.matrix)
    steps = matrix.shape[0]
    assert panel.image.image.shape == (1, steps)
    ratio = matrix[-1, 0] / matrix[-1, -1]
    assert f"the first symbol ({steps - 1} back) sways it {fmt(ratio)}×" in panel.summary.plain_text()
    panel.pin(0)
    assert "no prediction is scored here" in panel.readout.plain_text()


def test_a_new_run_starts_clean_and_a_later_one_redraws(qtbot) -> None:
    from rnnviz.app.panels import ConnectivityPanel
    from rnnviz.app.run_data import RunData

    data, trainer = make_run(SMALL_CHARLM, 2)
    panel = shown_panel(qtbot, ConnectivityPanel)
    panel.update(data)
    assert panel.image.image is not None
    fresh = RunData(data.task, data.config)
    panel.update(fresh)
    panel.flush_summary(force=True)
    assert panel.image.image is None and not panel.text.toPlainText()
    assert "waiting" in panel.summary.plain_text()
    add_steps(fresh, trainer, 1)
    panel.update(fresh)
    assert panel.image.image is not None and math.isfinite(float(np.nanmax(panel.image.image)))


# ------------------------------------------------------------------ typed text
def test_typed_text_is_scored_with_a_model_copy_and_again_as_training_goes_on(qtbot, monkeypatch) -> None:
    import copy

    import rnnviz.app.panels.connectivity as module
    from rnnviz.app.panels import ConnectivityPanel
    from rnnviz.core.connectivity import text_connectivity

    data, trainer = make_run(SMALL_CHARLM, 2)
    panel = shown_panel(qtbot, ConnectivityPanel, size=(520, 520))
    asked: list[int] = []

    def model_source(on_done) -> None:  # as the window's: a private copy of the model as it is now
        asked.append(trainer.step_count)
        on_done(True, (copy.deepcopy(trainer.model), trainer.task.vocab, trainer.step_count, 0))

    panel.update(data)
    assert not panel.typed.isEnabled()  # no model source: nothing to score typed text with
    panel.model_source = model_source
    panel.invalidate()
    panel.update(data)
    assert panel.typed.isEnabled()

    panel.typed.setText("the lamp")
    panel.score_typed()
    panel.flush_summary(force=True)
    expected = text_connectivity(trainer.model, trainer.task.vocab, "the lamp", trainer.step_count)
    assert np.array_equal(panel._shown.matrix, expected.matrix, equal_nan=True)
    assert panel.summary.plain_text().startswith(f"your text · step {trainer.step_count}")
    assert panel.text.toPlainText() == "the lam"  # the last character is only a target
    assert "predicting “p”" in panel.readout.plain_text()

    monkeypatch.setattr(module, "TYPED_REFRESH_S", 0.0)
    add_steps(data, trainer, 3)
    panel.update(data)
    assert asked == [2, 5]  # scored again with the newer weights
    panel.flush_summary(force=True)
    assert panel.summary.plain_text().startswith("your text · step 5")

    panel.typed.setText("the ☃")
    panel.score_typed()
    assert "cannot be scored" in panel.readout.plain_text() and "'☃'" in panel.readout.plain_text()

    panel.typed.clear()  # an empty field: the training sequence again
    panel.flush_summary(force=True)
    assert panel._shown is data.connectivity
    assert panel.summary.plain_text().startswith(f"step {data.connectivity.step}")


def test_typed_text_needs_a_next_token_model(qtbot) -> None:
    from rnnviz.app.panels import ConnectivityPanel

    data, _ = make_run(TrainConfig(task="sine", hidden=8, seq_len=12, batch=2, eval_every=50,
                                   spectrum_every=50), 2)
    panel = shown_panel(qtbot, ConnectivityPanel)
    panel.model_source = lambda on_done: on_done(True, None)
    panel.update(data)
    assert not panel.typed.isEnabled() and "next-character or next-word" in panel.typed.toolTip()
