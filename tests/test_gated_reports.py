"""What a gated cell's step reports carry: the watched sequence's gates and c, and the spectrum
of the recurrent Jacobian averaged along it (rnnviz/training/trainer.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnviz.core.diagnostics import gate_trace, jacobian_spectrum
from rnnviz.core.gated import make_model
from rnnviz.training import TrainConfig, Trainer
from tests.conftest import CHARLM


def _recording(trainer: Trainer) -> list:
    """Keep every batch the trainer draws, with the state it starts from."""
    seen: list = []
    draw = trainer.task.next_batch

    def next_batch(rng):
        batch = draw(rng)
        start = trainer.carried_state if batch.carry_state else None
        seen.append((batch, None if start is None else start.copy(), trainer.model.flat_params.copy()))
        return batch

    trainer.task.next_batch = next_batch  # type: ignore[method-assign]
    return seen


def _model_as_it_was(trainer: Trainer, flat: np.ndarray):
    model = make_model(trainer.config.cell, trainer.model.input_size, trainer.model.hidden_size,
                       trainer.model.output_size, dtype=trainer.config.dtype)
    model.flat_params[...] = flat
    return model


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reports_carry_the_watched_sequences_gates_and_the_jacobians_spectrum(cell: str) -> None:
    trainer = Trainer(CHARLM.replace(cell=cell, spectrum_every=3))
    assert trainer.step().spectrum is not None  # a carried state from here on
    trainer.watched_sequence = 2
    seen = _recording(trainer)
    reports = [trainer.step() for _ in range(4)]  # steps 2-5; the spectrum is due at step 3
    size, steps = CHARLM.hidden, CHARLM.seq_len
    for report, (batch, start, flat) in zip(reports, seen, strict=True):
        before = _model_as_it_was(trainer, flat)  # the weights of this step's forward pass
        run = before._run(batch.x[:, 2:3], start[2:3])
        assert report.gates.shape == (steps, len(before.gates) * size) and report.gates.dtype == np.float32
        # float32 forward passes (a batch of 4 here, of 1 there), float64 trace: float32's precision.
        np.testing.assert_allclose(report.hidden, run["h"][1:, 0], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(report.gates, run["gates"][:, 0], rtol=1e-5, atol=1e-6)
        if cell == "lstm":
            np.testing.assert_allclose(report.cell_state, run["c"][1:, 0], rtol=1e-5, atol=1e-6)
        else:
            assert report.cell_state is None
    assert [r.spectrum_step for r in reports] == [1, 3, 3, 3]
    batch, start, flat = seen[1]
    before = _model_as_it_was(trainer, flat)
    trace = gate_trace(before, batch.x[:, 2], start[2], before._run(batch.x[:, 2:3], start[2:3])["h"][1:, 0])
    want = jacobian_spectrum(before, trace)
    assert reports[1].spectrum.eigenvalues.shape == (before.state_size,)
    assert reports[1].spectrum.spectral_radius == pytest.approx(want.spectral_radius, rel=1e-5)
    assert reports[1].spectrum.largest_singular_value == pytest.approx(want.largest_singular_value, rel=1e-5)
    # Not the candidate block of W_hh, which the panel used to show.
    assert reports[1].spectrum.spectral_radius != pytest.approx(
        float(np.max(np.abs(np.linalg.eigvals(before.recurrent_matrix)))), rel=1e-3)


def test_padding_is_left_out_of_the_gates_as_of_the_hidden_states(tmp_path: Path) -> None:
    corpus = tmp_path / "lines.txt"
    corpus.write_text("hey how are you\ngood i am fine\nhave a nice day\nok\n", encoding="utf-8")
    trainer = Trainer(TrainConfig(task="charlm", corpus=str(corpus), lines="on", seq_len=25, batch=3,
                                  hidden=8, cell="lstm", dtype="float64"))
    seen = _recording(trainer)
    for watched in range(6):
        trainer.watched_sequence = watched % 3
        report = trainer.step()
        batch, _, flat = seen[-1]
        length = batch.length(report.watched_sequence)
        assert report.hidden.shape[0] == report.gates.shape[0] == report.cell_state.shape[0] == length
        run = _model_as_it_was(trainer, flat)._run(batch.x[:length, report.watched_sequence, None], None)
        np.testing.assert_allclose(report.gates, run["gates"][:, 0], rtol=1e-6, atol=1e-7)
    assert any(b.length(0) < b.x.shape[0] for b, _, _ in seen), "no padded sequence was drawn"


def test_the_vanilla_cell_reports_no_gates_and_the_spectrum_of_w_hh() -> None:
    trainer = Trainer(CHARLM)
    report = trainer.step()
    assert report.gates is None and report.cell_state is None
    np.testing.assert_allclose(np.sort_complex(report.spectrum.eigenvalues),
                               np.sort_complex(np.linalg.eigvals(trainer.model.params["W_hh"].astype(np.float64))),
                               rtol=1e-12)


def test_a_loaded_gated_run_measures_its_spectrum_on_the_next_step(tmp_path: Path) -> None:
    trainer = Trainer(CHARLM.replace(cell="lstm", spectrum_every=50))
    for _ in range(4):
        trainer.step()
    path = trainer.save(tmp_path / "run.npz")
    loaded = Trainer.from_checkpoint(path)
    report = loaded.step()
    assert report.step == 5 and report.spectrum is not None and report.spectrum_step == 5
    assert report.spectrum.eigenvalues.shape == (2 * CHARLM.hidden,)
