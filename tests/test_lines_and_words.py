"""Line mode and word tokens of the language model: reading, batches, masks, vocabularies,
sampling that stops at the end marker, and one clear sentence for every bad input."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from rnnviz.core import RNN
from rnnviz.core.diagnostics import saturation_fraction
from rnnviz.core.vocab import END, START, UNKNOWN, UnknownTokensError, Vocabulary, split_words
from rnnviz.tasks import CharLMTask, LineLMTask, TaskError, make_task
from rnnviz.tasks import charlm as charlm_module
from rnnviz.training import ConfigError, TrainConfig, Trainer, load_model, sample_text

THREE = "hey how are you\ngood i am fine\nhave a nice day\n"


def _write(tmp_path, text: str, name: str = "corpus.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the word rule
def test_word_rule_lowercases_and_splits_off_punctuation():
    assert split_words("Lit the LAMP at five. Don't stop, Keeper!") == [
        "lit", "the", "lamp", "at", "five", ".", "don't", "stop", ",", "keeper", "!"]
    assert split_words("  \n\t ") == []
    assert split_words("café_au-lait 3.5") == ["café", "_", "au", "-", "lait", "3", ".", "5"]


def test_word_vocabulary_splits_joins_and_names_unknown_words():
    vocab = Vocabulary(["the", "lamp", "."], kind="word")
    assert vocab.split("The lamp.") == ["the", "lamp", "."]
    assert vocab.join(["the", "lamp"]) == "the lamp"
    assert vocab.unknown("the fog and the lamp") == ["fog", "and"]
    with pytest.raises(UnknownTokensError, match="does not know the words 'fog', 'and'"):
        vocab.encode("the fog and the lamp")
    chars = Vocabulary("ab")
    assert chars.unknown("abc") == ["c"] and chars.encode("ba").tolist() == [1, 0]


@pytest.mark.parametrize("chunk", [3, 7, 64])
def test_chunked_reading_matches_reading_whole(tmp_path, monkeypatch, chunk):
    text = "The keeper's log.\n\nDay one: wind west, sea grey.\r\nDay two — fog!\nlast line"
    path = tmp_path / "c.txt"
    path.write_bytes(text.encode("utf-8"))
    monkeypatch.setattr(charlm_module, "_CHUNK_BYTES", chunk)
    words = [w for part in charlm_module.word_chunks(path) for w in part]
    assert words == split_words(text.replace("\r\n", "\n"))
    assert list(charlm_module.text_lines(path)) == text.replace("\r\n", "\n").split("\n")


# -------------------------------------------------------------------------------- line mode
def test_three_lines_train_on_all_and_say_validation_is_on_them(tmp_path):
    task = LineLMTask(_write(tmp_path, THREE), seq_len=25, batch=3)
    assert task.lines == 3 and task.val_on_training_lines
    assert any("validation is on the training lines" in note for note in task.notes)
    assert START in task.vocab and END in task.vocab and len(task.vocab) == 19
    batch = task.next_batch(np.random.default_rng(0))
    lengths = sorted(batch.mask.sum(axis=0).tolist())
    assert lengths == [15, 16, 16]  # each line's characters plus </s> as targets
    assert (batch.x[0] == task.start_id).all() and batch.tokens == 47
    pad = batch.mask == 0
    assert (batch.x[pad] == task.end_id).all() and (batch.y[pad] == 0).all()
    lines = {task.vocab.join(task.vocab.tokens[i] for i in batch.y[:n, b] if i != task.end_id)
             for b, n in enumerate(batch.mask.sum(axis=0))}
    assert lines == set(THREE.split("\n")[:3])


def test_ten_lines_hold_out_every_tenth(tmp_path):
    text = "".join(f"line number {i}\n" for i in range(20))
    task = LineLMTask(_write(tmp_path, text), seq_len=40, batch=4)
    assert not task.val_on_training_lines and task.val_lines == 2
    assert set(task.val_pieces) == {9, 19} and not set(task.val_pieces) & set(task.train_pieces)
    untrained = RNN(len(task.vocab), 8, len(task.vocab), seed=0)
    metrics, preview = task.evaluate(untrained, np.random.default_rng(0))
    assert metrics["val_on_training_lines"] == 0.0
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["val_loss"]))
    assert metrics["val_loss"] == pytest.approx(math.log(len(task.vocab)), abs=0.1)  # untrained: uniform
    assert preview["lines"] and len(preview["sample"].split("\n")) == 3


def test_long_lines_are_trained_in_pieces_that_cover_them(tmp_path):
    task = LineLMTask(_write(tmp_path, "abcdefghij\nxy\n"), seq_len=4, batch=1)
    assert any("longer than seq-len 4" in note for note in task.notes)
    # "abcdefghij" is 12 ids with the markers: windows of 5 ids sharing one: 3 pieces.
    assert task.piece_len.tolist() == [5, 5, 4, 4]
    _, y, _ = task._gather(np.arange(4))
    first = [task.vocab.tokens[i] for i in np.concatenate([y[:4, 0], y[:4, 1], y[:3, 2]])]
    assert "".join(first) == "abcdefghij" + END


def test_validation_loss_is_the_mean_over_real_tokens(tmp_path):
    task = LineLMTask(_write(tmp_path, THREE), seq_len=25, batch=3)
    model = RNN(len(task.vocab), 6, len(task.vocab), seed=2, dtype="float64")
    total, count = task.token_losses(model, task.val_pieces)
    x, y, mask = task._gather(task.val_pieces)
    expected = model.loss_and_grads(x, y, mask=mask).loss
    assert count == 47 and total / count == pytest.approx(expected, rel=1e-9)


def test_trainer_reports_no_padding(tmp_path):
    config = TrainConfig(task="charlm", corpus=str(_write(tmp_path, THREE)), lines="on", seq_len=25, batch=3,
                         hidden=8, dtype="float64")
    trainer = Trainer(config)
    assert any("training lines" in note for note in trainer.load_notes)
    for watched in range(3):
        trainer.watched_sequence = watched
        report = trainer.step()
        assert len(report.input_tokens) == report.hidden.shape[0]
        assert report.input_tokens[0] == START and "" not in report.input_tokens
    batch = trainer.task.next_batch(np.random.default_rng(1))
    res = trainer.model.loss_and_grads(batch.x, batch.y, mask=batch.mask)
    real = res.hidden[batch.mask.astype(bool)]
    assert real.shape[0] == 47 and saturation_fraction(real, "tanh") <= 1.0


@pytest.mark.parametrize("text, message", [
    ("", "is empty"), ("\n \n\t\n", "no non-empty line"),
])
def test_bad_line_files_are_one_sentence(tmp_path, text, message):
    with pytest.raises(TaskError, match=message):
        LineLMTask(_write(tmp_path, text), seq_len=10, batch=2)


def test_a_file_with_one_line_trains(tmp_path):
    config = TrainConfig(task="charlm", corpus=str(_write(tmp_path, "only one line here")), lines="on",
                         seq_len=30, batch=4, hidden=8, eval_every=2)
    trainer = Trainer(config)
    trainer.step()
    report = trainer.step()
    assert report.evaluation is not None and report.evaluation.metrics["val_on_training_lines"] == 1.0
    assert "1 line," in " ".join(trainer.load_notes)


def test_plain_mode_still_refuses_a_too_short_text(tmp_path):
    with pytest.raises(TaskError, match="too short"):
        CharLMTask(_write(tmp_path, THREE), seq_len=14, batch=1)


# ---------------------------------------------------------------------------- word tokens
def test_word_vocabulary_keeps_the_most_frequent_and_reports_coverage(tmp_path):
    text = "the lamp . the lamp . the fog .\nthe sea and the bell\n"
    counts = Counter(split_words(text))  # 7 distinct: the 5, . 3, lamp 2, fog, sea, and, bell
    task = CharLMTask(_write(tmp_path, text * 40), seq_len=3, batch=2, tokens="words", vocab_size=3)
    assert task.vocab.kind == "word" and task.vocab.tokens == ["the", ".", "lamp", UNKNOWN]
    coverage = (counts["the"] + counts["."] + counts["lamp"]) / sum(counts.values())
    assert task.coverage == pytest.approx(coverage)
    assert f"{coverage:.1%}" in task.notes[0]
    assert f"3 most frequent of the {len(counts)} distinct words" in task.notes[0]
    ids = np.concatenate([task.train, task.val])
    expected = [w if w in ("the", ".", "lamp") else UNKNOWN for w in split_words(text * 40)]
    assert [task.vocab.tokens[i] for i in ids] == expected
    assert task.baseline_loss == pytest.approx(math.log(4))


def test_a_vocabulary_larger_than_the_text_keeps_every_word(tmp_path):
    task = LineLMTask(_write(tmp_path, THREE), seq_len=8, batch=3, tokens="words", vocab_size=8000)
    assert len(task.vocab) == 12 + 3  # 12 distinct words, <unk>, <s>, </s>
    assert "keeps all of them" in task.notes[0] and "100%" in task.notes[0]


def test_a_vocabulary_size_of_zero_is_refused():
    with pytest.raises(ConfigError, match="vocab-size must be a whole number from 1"):
        TrainConfig(vocab_size=0)
    with pytest.raises(TaskError, match="vocab-size must be at least 1"):
        charlm_module.word_vocabulary(Counter("ab"), 0, "x.txt")


def test_word_stream_too_short_speaks_of_words(tmp_path):
    with pytest.raises(TaskError, match="words"):
        CharLMTask(_write(tmp_path, "just four words here"), seq_len=10, batch=1, tokens="words")


def test_a_text_without_words_is_refused(tmp_path):
    with pytest.raises(TaskError, match="holds no words"):
        charlm_module.load_word_corpus(_write(tmp_path, " \n\n  "), 10)


# ---------------------------------------------------------------------------- sampling
def _line_model(task) -> RNN:
    return RNN(len(task.vocab), 4, len(task.vocab), seed=0, dtype="float64")


def test_sampling_stops_at_the_end_marker(tmp_path):
    task = LineLMTask(_write(tmp_path, THREE), seq_len=25, batch=3)
    model = _line_model(task)
    model.params["b_y"][task.end_id] = 50.0  # </s> is certain
    assert list(sample_text(model, task.vocab, "good", 30, temperature=0.0)) == []
    model.params["b_y"][task.end_id] = -50.0  # </s> never comes: the length bounds it
    assert len(list(sample_text(model, task.vocab, "", 30, temperature=0.0))) == 30


def test_word_seeds_are_checked_and_words_come_with_spaces(tmp_path):
    task = LineLMTask(_write(tmp_path, THREE), seq_len=8, batch=3, tokens="words")
    model = _line_model(task)
    with pytest.raises(UnknownTokensError, match="does not know the word 'bad'"):
        sample_text(model, task.vocab, "good bad", 5)
    model.params["b_y"][task.end_id] = -50.0
    pieces = list(sample_text(model, task.vocab, "Good I", 4, temperature=0.0))
    assert len(pieces) == 4 and all(p.startswith(" ") and p.strip() in task.vocab for p in pieces)


def test_plain_models_still_need_a_seed(tmp_path):
    with pytest.raises(ValueError, match="type at least one character"):
        sample_text(RNN(3, 2, 3), Vocabulary("abc"), "", 5)


def test_word_sentence_completion_and_checkpoint(tmp_path):
    """The tutorial's job at word level: "good" completes to "good i am fine", also after a
    checkpoint is saved and loaded (its vocabulary keeps its markers and kind)."""
    config = TrainConfig(task="charlm", corpus=str(_write(tmp_path, THREE)), lines="on", tokens="words",
                         seq_len=8, batch=3, hidden=16, lr=0.02, dtype="float64", eval_every=1000)
    trainer = Trainer(config)
    for _ in range(150):
        trainer.step()
    vocab = trainer.task.vocab
    assert "good" + "".join(sample_text(trainer.model, vocab, "good", 10, 0.0)) == "good i am fine"
    path = trainer.save(tmp_path / "words.npz")
    model, loaded, _ = load_model(path)
    assert loaded.kind == "word" and loaded.tokens == vocab.tokens
    assert "".join(sample_text(model, loaded, "good", 10, 0.0)) == " i am fine"


def test_make_task_picks_the_mode(tmp_path):
    corpus = str(_write(tmp_path, THREE * 20))
    assert isinstance(make_task(TrainConfig(corpus=corpus, lines="on", seq_len=5, batch=2)), LineLMTask)
    plain = make_task(TrainConfig(corpus=corpus, tokens="words", seq_len=5, batch=2))
    assert type(plain) is CharLMTask and plain.vocab.kind == "word"


def test_line_mode_resumes_exactly(tmp_path):
    corpus = _write(tmp_path, "".join(f"line {i} of the log\n" for i in range(25)))
    config = TrainConfig(task="charlm", corpus=str(corpus), lines="on", tokens="words", seq_len=6, batch=4,
                         hidden=8, dtype="float64", eval_every=1000)
    straight = Trainer(config)
    for _ in range(6):
        straight.step()
    halfway = Trainer(config)
    for _ in range(3):
        halfway.step()
    path = halfway.save(tmp_path / "half.npz")
    resumed = Trainer.from_checkpoint(path)
    for _ in range(3):
        resumed.step()
    np.testing.assert_array_equal(resumed.model.flat_params, straight.model.flat_params)
