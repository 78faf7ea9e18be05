"""Panels on a word-level, line-mode language model: words on the hidden state's time axis
(no padding), word samples and perplexity in the task panel, sampling offered for words."""

from __future__ import annotations

import pytest

from rnnviz.training import TrainConfig

THREE = "hey how are you\ngood i am fine\nhave a nice day\n"


@pytest.fixture
def word_lines(tmp_path) -> TrainConfig:
    corpus = tmp_path / "three.txt"
    corpus.write_text(THREE, encoding="utf-8")
    return TrainConfig(task="charlm", corpus=str(corpus), tokens="words", lines="on", seq_len=8, batch=3,
                       hidden=8, eval_every=3, spectrum_every=3)


def _run(config: TrainConfig, steps: int):
    from test_panel_texts import make_run  # the tests folder is on the path, as pytest runs them

    return make_run(config, steps)


def test_word_models_can_be_sampled_and_sentiment_cannot(word_lines) -> None:
    data, _ = _run(word_lines, 1)
    assert data.task.token_kind == "word" and data.task.can_sample and data.token_word == "words"
    assert data.task.vocab.unknown("good day, keeper") == [",", "keeper"]
    sentiment, _ = _run(TrainConfig(task="sentiment", hidden=8, batch=4), 1)
    assert sentiment.task.token_kind == "word" and not sentiment.task.can_sample


def test_hidden_state_axis_shows_the_words_of_one_line(qtbot, word_lines) -> None:
    from test_panel_texts import shown_panel

    from rnnviz.app.panels import HiddenStatePanel

    data, _ = _run(word_lines, 2)
    panel = shown_panel(qtbot, HiddenStatePanel, size=(700, 400))
    panel.update(data)
    tokens = data.latest.input_tokens
    assert tokens[0] == "<s>" and " ".join(tokens[1:]) in THREE  # one whole line, no padding
    assert len(tokens) == data.latest.hidden.shape[0]
    shown = [label for _, label in panel.plot.getAxis("bottom")._tickLevels[0]]
    assert shown and set(shown) <= set(tokens)
    assert " ".join(tokens) in panel.hover.plain_text()


def test_task_panel_shows_word_lines_perplexity_and_where_validation_was(qtbot, word_lines) -> None:
    from test_panel_texts import shown_panel

    from rnnviz.app.panels.task_output import TaskOutputPanel

    data, _ = _run(word_lines, 3)
    panel = shown_panel(qtbot, TaskOutputPanel)
    panel.update(data)
    evaluation = data.latest_eval
    assert panel.sample.toPlainText() == evaluation.preview["sample"]
    panel.flush_summary(force=True)
    summary = panel.summary.plain_text()
    assert "nats/word" in summary and "perplexity" in summary
    assert "validation is on the training lines" in summary and "sampled lines" in summary
    assert "the vocabulary covers 100.0% of the text's words" in summary


def test_sample_summary_for_characters_keeps_its_wording() -> None:
    from rnnviz.app.panels.task_output import sample_summary
    from rnnviz.training.report import EvalReport, frozen_mapping

    metrics = frozen_mapping({"val_loss": 1.5, "perplexity": 4.48})
    evaluation = EvalReport(step=100, val_loss=1.5, metrics=metrics,
                            preview=frozen_mapping({"kind": "charlm", "prime": "T", "sample": "he lamp"}))
    text = sample_summary(evaluation)
    assert "primed with 'T'" in text and "nats/char" in text and "training lines" not in text
