"""The window's list of runs, the Runs dock, and other runs drawn beside the current one."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.training import TrainConfig, load_preset
from rnnviz.training.config import config_differences
from tests.test_panel_texts import SMALL_CHARLM, curve, make_run, shown_panel


def test_differences_name_each_changed_setting_the_run_uses() -> None:
    base = load_preset("exploding").config
    assert config_differences(base, base) == []
    assert config_differences(base, base.replace(clip="norm", clip_value=5.0)) == \
        [f"clipping: {base.clip if base.clip == 'none' else f'{base.clip} {base.clip_value:g}'} → norm 5"]
    assert config_differences(base, base.replace(hidden=7, lr=0.5)) == \
        [f"hidden units: {base.hidden} → 7", f"learning rate: {base.lr:g} → 0.5"]
    # A setting of another task, or another cell, is not a difference that matters to this run.
    assert config_differences(base, base.replace(sine_freq=0.2, forget_bias=4.0)) == []
    assert config_differences(base, base.replace(truncate=5)) == ["bptt truncation: full → 5"]


def compared_points(panel) -> int:
    """Points of the first compared run's curve; 0 until the panel's next redraw makes it."""
    items = panel.compared.items
    return len(curve(items[0])[0]) if items else 0


@pytest.fixture
def runs(qapp):
    from rnnviz.app.runs import RunList

    return RunList({"tiny": SMALL_CHARLM, "tiny-clipped": SMALL_CHARLM.replace(clip="norm", clip_value=1.0)})


def test_a_new_run_keeps_the_previous_one_to_compare_unless_it_had_no_steps(runs) -> None:
    from rnnviz.app.run_data import RunData, placeholder_task_info

    empty = RunData(placeholder_task_info(SMALL_CHARLM), SMALL_CHARLM)
    runs.adopt(empty)
    first, _ = make_run(SMALL_CHARLM, 3)
    runs.adopt(first)
    assert [e.data for e in runs.entries] == [first]  # the empty placeholder is gone
    assert runs.entries[0].name == "tiny #1"
    second, _ = make_run(SMALL_CHARLM.replace(clip="norm", clip_value=1.0, lr=0.01), 3)
    runs.adopt(second)
    assert runs.current.data is second
    assert [e.name for e in runs.entries] == ["tiny #1", "tiny-clipped #2"]
    assert runs.current.differs == [f"learning rate: {SMALL_CHARLM.lr:g} → 0.01"]
    assert runs.current.settings_text == f"tiny-clipped · learning rate: {SMALL_CHARLM.lr:g} → 0.01"
    assert runs.comparisons() == [runs.entries[0]]
    runs.adopt(second)  # the same run again (a restarted process): nothing changes
    assert len(runs) == 2
    runs.set_visible(runs.entries[0], False)
    assert runs.comparisons() == []
    assert runs.entries[0].colour != runs.entries[1].colour


def test_after_a_failed_fork_the_next_run_is_an_ordinary_one(runs) -> None:
    first, _ = make_run(SMALL_CHARLM, 3)
    runs.adopt(first, "tiny")
    runs.fork_next(runs.current, 2)
    runs.cancel_fork()  # the fork failed (its corpus is gone, say)
    sine, _ = make_run(TrainConfig(task="sine", hidden=4, seq_len=5, batch=2), 2)
    entry = runs.adopt(sine)
    assert "fork" not in entry.name and entry.differs == []
    assert not runs.entries[0].visible  # another task's curves are not drawn on these axes
    # A fork that does take place is named after its original and drawn beside it.
    runs.fork_next(entry, 1)
    fork, _ = make_run(TrainConfig(task="sine", hidden=4, seq_len=5, batch=2, lr=0.01), 2)
    forked = runs.adopt(fork)
    assert forked.name == f"{entry.name} fork at 1" and entry.visible
    assert forked.differs == [f"learning rate: {sine.config.lr:g} → 0.01"]


def test_the_current_run_cannot_be_removed_and_the_list_is_bounded(runs) -> None:
    from rnnviz.app.runs import MAX_RUNS

    data, _ = make_run(SMALL_CHARLM, 1)
    current = runs.adopt(data)
    runs.remove(current)
    assert runs.entries == [current]
    kept = runs.add(data, name="kept")
    hidden = [runs.add(data, name=f"hidden {i}") for i in range(2)]
    for entry in hidden:
        runs.set_visible(entry, False)
    while len(runs) < MAX_RUNS:
        runs.add(data)
    newest = runs.add(data)  # one too many: a hidden run goes first
    assert len(runs) == MAX_RUNS and hidden[0] not in runs.entries and hidden[1] in runs.entries
    runs.add(data)
    runs.add(data)  # then the other hidden one, then the oldest visible one
    assert len(runs) == MAX_RUNS
    assert hidden[1] not in runs.entries and kept not in runs.entries
    assert current in runs.entries and newest in runs.entries  # the current run is never dropped
    runs.rename(runs.entries[1], "  my run ")
    assert runs.entries[1].name == "my run"
    runs.rename(runs.entries[1], "   ")
    assert runs.entries[1].name == "my run"


def earlier_and_current(runs):
    """An earlier run of 12 steps and the current one of 6 in ``runs``; the runs compared."""
    other, _ = make_run(SMALL_CHARLM.replace(lr=0.03), 12)
    runs.adopt(other)
    current, _ = make_run(SMALL_CHARLM, 6)
    runs.adopt(current)
    return other, current, runs.comparisons()


def test_loss_and_flow_panels_draw_the_other_runs_in_their_colours(qtbot, runs) -> None:
    from rnnviz.app.panels.flow import GradientFlowPanel
    from rnnviz.app.panels.loss import LossPanel

    other, current, compared = earlier_and_current(runs)
    assert [e.data for e in compared] == [other]
    for cls in (LossPanel, GradientFlowPanel):
        panel = shown_panel(qtbot, cls)
        panel.update(current)
        assert all(len(curve(item)[0]) == 0 for item in panel.compared.items)
        panel.set_comparisons(compared)
        panel.update(current)
        x, y = curve(panel.compared.items[0])
        if cls is LossPanel:
            assert np.array_equal(x, other.steps.column("step"))
            assert np.allclose(y, other.steps.column("smoothed_loss"))
            assert panel.plot.viewRange()[0][1] >= 12  # the longer run fits the view
        else:
            assert np.allclose(y, other.latest.dh_norms)
            assert "(step&nbsp;12)" in panel.legend.text()
        assert compared[0].name.replace(" ", "&nbsp;") in panel.legend.text()
        assert panel.compared.items[0].opts["pen"].color().name() == compared[0].colour.lower()
        runs.set_visible(compared[0], False)
        panel.set_comparisons(runs.comparisons())
        panel.update(current)
        assert len(curve(panel.compared.items[0])[0]) == 0
        assert compared[0].name.replace(" ", "&nbsp;") not in panel.legend.text()
        runs.set_visible(compared[0], True)


def test_the_dock_lists_runs_and_edits_go_back_to_the_list(qtbot, runs) -> None:
    from rnnviz.app.qt import Qt
    from rnnviz.app.runs_dock import RunsDock

    first, _ = make_run(SMALL_CHARLM, 4)
    runs.adopt(first)
    second, _ = make_run(SMALL_CHARLM.replace(hidden=5), 2)
    runs.adopt(second)
    dock = RunsDock(runs)
    qtbot.addWidget(dock)
    table = dock.table
    assert table.rowCount() == 4  # two rows per run: numbers, then settings
    assert table.item(0, 0).text() == "tiny #1"
    assert table.item(0, 1).text() == "4"
    assert table.item(0, 2).text() not in ("", "–")
    assert table.item(3, 0).text() == "tiny · hidden units: 8 → 5"
    assert table.item(2, 0).font().bold()  # the current run
    table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert not runs.entries[0].visible
    table.item(0, 0).setText("no clipping")
    assert runs.entries[0].name == "no clipping"
    table.selectRow(2)
    assert not dock.remove_button.isEnabled()  # the run training now stays
    table.selectRow(1)
    assert dock.remove_button.isEnabled()
    dock.remove_button.click()
    assert [e.data for e in runs.entries] == [second]
    assert table.rowCount() == 2


def test_the_window_keeps_the_previous_run_and_draws_it_beside_the_new_one(make_window, qtbot) -> None:
    window = make_window(config=TrainConfig(task="sine", hidden=8, seq_len=10, batch=4))
    qtbot.waitUntil(lambda: window.session.data.step >= 3, timeout=20_000)
    first = window.session.data
    window.reset()
    qtbot.waitUntil(lambda: window.session.data is not first and window.session.data.step >= 1,
                    timeout=20_000)
    assert [e.data for e in window.runs.entries] == [first, window.session.data]
    assert window.loss_panel.comparisons == [window.runs.entries[0]]
    qtbot.waitUntil(lambda: compared_points(window.loss_panel) > 0, timeout=10_000)
    # A live change is the run's setting from then on: its Runs row says so.
    window.controls.live_changed.emit({"lr": 0.0123})
    current = window.runs.current
    assert current.data.config.lr == 0.0123 and "learning rate: " in current.settings_text
    assert current.settings_text.endswith("→ 0.0123")


def test_run_both_trains_two_processes_and_closing_ends_both(make_window, qtbot) -> None:
    config = TrainConfig(task="sine", hidden=8, seq_len=10, batch=4)
    window = make_window(config=config)
    qtbot.waitUntil(lambda: window.session.data.step >= 3, timeout=20_000)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs) == 2 and window.session.data.step >= 1, timeout=20_000)
    window.runs_view.table.selectRow(0)
    other = window.runs.entries[0]
    window.runs_view.run_both_button.click()
    qtbot.waitUntil(lambda: window.beside.session is not None and other.live and other.data.step >= 5
                    and window.session.data.step >= 5, timeout=30_000)
    assert len(window.runs) == 2  # both restarted in their own places, nothing added
    first_process, second_process = window.session.process, window.beside.session.process
    assert first_process.pid != second_process.pid and second_process.is_alive()
    # Pause applies to both; the run beside is drawn as a compared run.
    window.start_action.trigger()
    assert not window.session.running and not window.beside.session.running
    assert window.loss_panel.comparisons == [other]
    qtbot.waitUntil(lambda: compared_points(window.loss_panel) >= 5, timeout=10_000)
    window.close()
    assert not first_process.is_alive() and not second_process.is_alive()


def test_removing_the_run_beside_stops_its_process(make_window, qtbot) -> None:
    window = make_window(config=TrainConfig(task="sine", hidden=8, seq_len=10, batch=4))
    qtbot.waitUntil(lambda: window.session.data.step >= 2, timeout=20_000)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs) == 2, timeout=20_000)
    other = window.runs.entries[0]
    window.beside.start(other, None)
    qtbot.waitUntil(lambda: other.live and other.data.step >= 1, timeout=30_000)
    process = window.beside.session.process
    window.runs.remove(other)
    assert window.beside.session is None and not process.is_alive()
    assert not other.live


def test_gradient_and_spectrum_panels_draw_the_other_runs_too(qtbot, runs) -> None:
    from rnnviz.app.panels.gradients import GradientNormsPanel
    from rnnviz.app.panels.spectrum import SpectrumPanel

    other, current, compared = earlier_and_current(runs)
    gradients = shown_panel(qtbot, GradientNormsPanel)
    gradients.set_comparisons(compared)
    gradients.update(current)
    x, y = curve(gradients.compared.items[0])
    assert np.array_equal(x, other.steps.column("step"))
    assert np.allclose(y, other.steps.column("global_before"))
    assert f"{compared[0].name}: global".replace(" ", "&nbsp;") in gradients.legend.text()
    spectrum = shown_panel(qtbot, SpectrumPanel)
    spectrum.update(current)
    spectrum.set_comparisons(compared)  # after a first drawing: the spectrum did not change, still drawn
    spectrum.update(current)
    x, y = curve(spectrum.compared_radius.items[0])
    assert np.array_equal(x, other.spectra.column("step"))
    assert np.allclose(y, other.spectra.column("spectral_radius"))
    sigma_item, radius_item = spectrum.compared_sigma.items[0], spectrum.compared_radius.items[0]
    assert np.allclose(curve(sigma_item)[1], other.spectra.column("largest_singular_value"))
    assert sigma_item.opts["pen"].style() != radius_item.opts["pen"].style()  # σ₁ dotted, ρ dashed
    assert compared[0].name.replace(" ", "&nbsp;") in spectrum.legend.text()


def test_the_curves_mark_the_snapshot_the_history_bar_shows(qtbot) -> None:
    from rnnviz.app.panels.flow import GradientFlowPanel
    from rnnviz.app.panels.gradients import GradientNormsPanel
    from rnnviz.app.panels.loss import LossPanel
    from rnnviz.app.panels.spectrum import SpectrumPanel
    from tests.test_timeline import run_with_snapshots

    data, _ = run_with_snapshots(SMALL_CHARLM, 25)
    panels = [shown_panel(qtbot, cls)
              for cls in (LossPanel, GradientNormsPanel, SpectrumPanel, GradientFlowPanel)]
    for panel in panels:
        panel.update(data)
        assert not panel.viewing.isVisible()
    data.view(20)
    for panel in panels:
        panel.update(data)
        assert panel.viewing.isVisible() and panel.viewing.value() == 20, type(panel).__name__
        label = panel.viewing.label
        assert label.toPlainText().strip() == "viewing step 20"
        panel.flush_summary(force=True)
        if isinstance(panel, GradientNormsPanel):  # the snapshot's norms, said to be the snapshot's
            assert panel.summary.text().startswith("step 20 · ‖g‖")
        assert label.mapRectToScene(label.boundingRect()).right() <= \
            panel.viewing.getViewBox().sceneBoundingRect().right() + 1  # never cut at the right
    data.view(None)
    for panel in panels:
        panel.update(data)
        assert not panel.viewing.isVisible()
    # In a plot too narrow for the words, the number alone.
    narrow = shown_panel(qtbot, SpectrumPanel, size=(150, 300))
    data.view(20)
    narrow.update(data)
    assert narrow.viewing.label.toPlainText().strip() == "20"


def test_a_saved_run_can_be_added_to_compare_while_the_current_one_trains(make_window, qtbot, tmp_path):
    from rnnviz.runs.file import save_run

    sine = TrainConfig(task="sine", hidden=8, seq_len=10, batch=4)
    saved, trainer = make_run(sine.replace(lr=0.01), 8)
    path = save_run(tmp_path / "earlier", saved, trainer.state())
    other_task, other_trainer = make_run(SMALL_CHARLM, 8)
    elsewhere = save_run(tmp_path / "charlm", other_task, other_trainer.state())
    window = make_window(config=sine)
    qtbot.waitUntil(lambda: window.session.data.step >= 2, timeout=20_000)
    current = window.session.data
    assert window.run_files.add_to_compare(elsewhere)
    assert not window.runs.entries[-1].visible  # another task: listed, not drawn on these axes
    window.runs.remove(window.runs.entries[-1])
    assert window.run_files.add_to_compare(path)
    assert window.session.data is current and window.runs.current.data is current
    added = window.runs.entries[-1]
    assert added.name == "earlier" and added.source == str(path) and added.data.step == 8
    assert added.visible
    window.runs_view.refresh()
    assert "from the current run: learning rate: " in window.runs_view.table.item(3, 0).text()
    assert window.loss_panel.comparisons == [added]
    window.session.pause()
    # Every panel that can share an axis draws the loaded run.
    drawn = {"loss": lambda p: p.compared.items, "gradients": lambda p: p.compared.items,
             "spectrum": lambda p: p.compared_radius.items + p.compared_sigma.items,
             "flow": lambda p: p.compared.items}

    def all_drawn() -> bool:
        return all(items(window.panel(key)) and all(len(curve(item)[0]) for item in items(window.panel(key)))
                   for key, items in drawn.items())

    qtbot.waitUntil(all_drawn, timeout=10_000)
    (tmp_path / "junk.rnnviz").write_bytes(b"not a run")
    assert not window.run_files.add_to_compare(tmp_path / "junk.rnnviz")
    assert "Could not add junk.rnnviz" in window.last_problem and len(window.runs) == 2
