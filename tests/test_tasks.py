"""Tests for the tasks: corpus loading, batching, held-out evaluation and previews.

Expected values are derived independently here (from the text written to disk, from the
sine recurrence, from a hand-written cross-entropy), never copied from the code's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rnnviz.tasks.charlm as charlm
from rnnviz.core.rnn import RNN
from rnnviz.tasks import CharLMTask, SentimentTask, SineTask, TaskError, load_corpus
from rnnviz.tasks.sentiment import CLASSES, PAD, UNK

MIXED_TEXT = "Café, naïve — 日本語!\nZwei Zeilen 🚀🌊 und ein Ende.\n" * 3
BOM = "\ufeff"


def _write(tmp_path, text: str, name: str = "corpus.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _prose(n_chars: int) -> str:
    """Deterministic, varied text of exactly ``n_chars`` characters."""
    words = ["lamp", "wick", "tide", "fog", "bell", "gull", "keeper", "oil", "storm", "calm"]
    rng = np.random.default_rng(123)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < n_chars:
        parts.append(str(rng.choice(words)))
    return " ".join(parts)[:n_chars]


# ------------------------------------------------------------------------ load_corpus
class TestLoadCorpus:
    def test_vocabulary_is_sorted_distinct_characters(self, tmp_path):
        """The vocabulary is exactly the sorted set of characters, so ids are stable across runs."""
        vocab, _ = load_corpus(_write(tmp_path, MIXED_TEXT))
        assert vocab.tokens == sorted(set(MIXED_TEXT))

    def test_ids_decode_back_to_the_exact_text(self, tmp_path):
        """Non-ASCII, CJK and emoji all survive: the model trains on the real text."""
        vocab, ids = load_corpus(_write(tmp_path, MIXED_TEXT))
        assert ids.size == len(MIXED_TEXT)
        assert vocab.decode(ids) == MIXED_TEXT
        assert "🚀" in vocab and "日" in vocab

    def test_windows_line_endings_and_bom_give_the_unix_corpus(self, tmp_path):
        """The same text saved on Windows (BOM, CRLF) gives the same vocabulary and ids."""
        unix = load_corpus(_write(tmp_path, MIXED_TEXT, "unix.txt"))
        windows = load_corpus(_write(tmp_path, BOM + MIXED_TEXT.replace("\n", "\r\n"), "windows.txt"))
        assert windows[0].tokens == unix[0].tokens
        np.testing.assert_array_equal(windows[1], unix[1])
        assert "\r" not in windows[0] and BOM not in windows[0]

    @pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 4, 5, 6, 7, 1 << 20])
    def test_line_endings_split_across_chunks(self, tmp_path, monkeypatch, chunk_bytes):
        """A CRLF cut between two read chunks is still one newline; lone CRs and a BOM that is
        not at the start are kept as characters, as is a CR that ends the file."""
        monkeypatch.setattr(charlm, "_CHUNK_BYTES", chunk_bytes)
        text = BOM + "ab\r\nc\r\r\nd\re\r\n\r\n" + "é\r\n日\r\n🚀\r\n" + f"x{BOM}y\r\n\r"
        expected = text[1:].replace("\r\n", "\n")  # written out: no CRLF left, one CR kept per run
        assert expected == "ab\nc\r\nd\re\n\n" + "é\n日\n🚀\n" + f"x{BOM}y\n\r"
        vocab, ids = load_corpus(_write(tmp_path, text))
        assert vocab.decode(ids) == expected
        assert vocab.tokens == sorted(set(expected))

    def test_a_lone_bom_holds_no_text(self, tmp_path):
        with pytest.raises(TaskError, match="holds no text"):
            load_corpus(_write(tmp_path, BOM))

    def test_bad_byte_offset_counts_the_bom_and_carriage_returns(self, tmp_path):
        """The offset in the message is in the file as it is on disk, before any clean-up."""
        path = tmp_path / "bad.txt"
        data = (BOM + "one\r\ntwo\r\n").encode() + b"\xff"
        path.write_bytes(data)
        with pytest.raises(TaskError, match="not UTF-8") as info:
            load_corpus(path)
        assert f"offset {len(data) - 1}" in str(info.value)

    @pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7])
    def test_chunk_boundaries_inside_multibyte_characters(self, tmp_path, monkeypatch, chunk_bytes):
        """Tiny read chunks split 2-, 3- and 4-byte characters; decoding must still be exact."""
        monkeypatch.setattr(charlm, "_CHUNK_BYTES", chunk_bytes)
        vocab, ids = load_corpus(_write(tmp_path, MIXED_TEXT))
        assert vocab.decode(ids) == MIXED_TEXT
        assert vocab.tokens == sorted(set(MIXED_TEXT))

    def test_ids_are_one_byte_for_up_to_256_symbols(self, tmp_path):
        """A 100 MB corpus must need ~100 MB: one byte per character while the vocabulary fits."""
        text = "".join(chr(0x100 + i) for i in range(256)) * 2
        vocab, ids = load_corpus(_write(tmp_path, text))
        assert len(vocab) == 256
        assert ids.dtype == np.uint8
        assert vocab.decode(ids) == text

    def test_ids_widen_beyond_256_symbols(self, tmp_path):
        """More than 256 symbols cannot fit in a byte; ids must not wrap around."""
        text = "".join(chr(0x4E00 + i) for i in range(300))
        vocab, ids = load_corpus(_write(tmp_path, text))
        assert ids.dtype.itemsize >= 2
        assert vocab.decode(ids) == text

    def test_missing_file(self, tmp_path):
        with pytest.raises(TaskError, match="does not exist"):
            load_corpus(tmp_path / "nope.txt")

    def test_folder(self, tmp_path):
        with pytest.raises(TaskError, match="folder"):
            load_corpus(tmp_path)

    def test_empty_file(self, tmp_path):
        with pytest.raises(TaskError, match="empty"):
            load_corpus(_write(tmp_path, ""))

    def test_binary_file(self, tmp_path):
        path = tmp_path / "blob.bin"
        path.write_bytes(b"PK\x03\x04\x00\x00\x10text after a NUL")
        with pytest.raises(TaskError, match="binary"):
            load_corpus(path)

    def test_latin1_file_is_rejected_with_the_byte_offset(self, tmp_path):
        """Latin-1 'é' is not UTF-8; the message points at the offending byte's offset."""
        path = tmp_path / "latin1.txt"
        data = "hello café world".encode("latin-1")
        path.write_bytes(data)
        with pytest.raises(TaskError, match="not UTF-8") as info:
            load_corpus(path)
        assert f"offset {data.index(0xE9)}" in str(info.value)

    @pytest.mark.parametrize("chunk_bytes", [1 << 22, 7, 4])
    def test_truncated_character_offset_does_not_depend_on_chunking(self, tmp_path, monkeypatch,
                                                                   chunk_bytes):
        """A character cut off at the end is reported where it starts, whatever the chunk size."""
        monkeypatch.setattr(charlm, "_CHUNK_BYTES", chunk_bytes)
        good = "日本日本".encode()
        path = tmp_path / "cut.txt"
        path.write_bytes(good + "語".encode()[:2])
        with pytest.raises(TaskError, match="not UTF-8") as info:
            load_corpus(path)
        assert f"offset {len(good)}" in str(info.value)

    def test_corpus_too_short_for_batch_names_the_numbers(self, tmp_path):
        """The user must learn how much text the chosen seq-len and batch need."""
        path = _write(tmp_path, _prose(200))
        seq_len, batch = 30, 16
        with pytest.raises(TaskError, match="too short") as info:
            CharLMTask(path, seq_len=seq_len, batch=batch)
        message = str(info.value)
        assert str(seq_len) in message and str(batch) in message
        assert str((seq_len + 1) * batch) in message


# ---------------------------------------------------------------------------- charlm
@pytest.fixture
def small_corpus(tmp_path):
    return _write(tmp_path, _prose(3000))


class TestCharLMTask:
    def test_targets_are_inputs_shifted_by_one(self, small_corpus):
        task = CharLMTask(small_corpus, seq_len=10, batch=4)
        batch = task.next_batch(np.random.default_rng(0))
        assert batch.x.shape == batch.y.shape == (10, 4)
        np.testing.assert_array_equal(batch.y[:-1], batch.x[1:])
        assert batch.tokens == 40

    def test_streams_are_contiguous_across_batches(self, small_corpus):
        """Carrying the hidden state only makes sense if each stream continues where it stopped."""
        task = CharLMTask(small_corpus, seq_len=10, batch=4)
        rng = np.random.default_rng(0)
        first, second = task.next_batch(rng), task.next_batch(rng)
        np.testing.assert_array_equal(first.y[-1], second.x[0])
        # And each stream really is consecutive training text.
        for b in range(4):
            stream = np.concatenate([first.x[:, b], second.x[:, b], second.y[-1:, b]])
            candidates = [s for s in range(task.train.size - stream.size + 1)
                          if np.array_equal(task.train[s:s + stream.size], stream)]
            assert candidates, f"stream {b} is not a contiguous piece of the training text"

    def test_carry_state_false_at_start_and_after_wraparound(self, small_corpus):
        """A fresh pass through the text must start from a zero state, then carry it over."""
        seq_len, batch_size = 10, 4
        task = CharLMTask(small_corpus, seq_len=seq_len, batch=batch_size)
        rng = np.random.default_rng(0)
        per_pass = (task.train.size // batch_size - 1) // seq_len  # windows that fit in a stream
        flags = [task.next_batch(rng).carry_state for _ in range(2 * per_pass + 1)]
        assert flags[0] is False
        assert all(flags[1:per_pass])
        assert flags[per_pass] is False  # wrapped around
        assert all(flags[per_pass + 1:2 * per_pass])
        assert flags[2 * per_pass] is False

    def test_wraparound_restarts_at_the_stream_starts(self, small_corpus):
        task = CharLMTask(small_corpus, seq_len=10, batch=4)
        rng = np.random.default_rng(0)
        first = task.next_batch(rng)
        while True:
            batch = task.next_batch(rng)
            if not batch.carry_state:
                break
        np.testing.assert_array_equal(batch.x, first.x)

    def test_ninety_ten_split_keeps_every_character_in_order(self, small_corpus):
        _, ids = load_corpus(small_corpus)
        task = CharLMTask(small_corpus, seq_len=10, batch=4)
        np.testing.assert_array_equal(np.concatenate([task.train, task.val]), ids)
        assert abs(task.train.size - 0.9 * ids.size) <= 1

    def test_untrained_model_scores_the_uniform_baseline(self, small_corpus):
        """With near-zero weights every character is equally likely: loss = ln(V)."""
        task = CharLMTask(small_corpus, seq_len=10, batch=4)
        model = RNN(task.input_size, 16, task.output_size, init="small", seed=0)
        metrics, _ = task.evaluate(model, np.random.default_rng(0))
        assert metrics["val_loss"] == pytest.approx(math.log(len(task.vocab)), abs=0.02)
        assert task.baseline_loss == pytest.approx(math.log(len(task.vocab)))

    def test_evaluation_starts_every_window_from_zero_state(self, small_corpus):
        """Validation is honest: a trainer's carried state must not leak into it.

        Reference: every non-overlapping held-out window, scored from h0 = 0 with a
        hand-written log-softmax cross-entropy.
        """
        from rnnviz.training import TrainConfig, Trainer

        seq_len = 10
        cfg = TrainConfig(task="charlm", corpus=str(small_corpus), hidden=16, seq_len=seq_len, batch=4,
                          lr=0.01, eval_every=10**6, seed=3)
        trainer = Trainer(cfg)
        for _ in range(15):
            trainer.step()
        assert trainer.carried_state is not None and np.abs(trainer.carried_state).max() > 0.01

        val = trainer.task.val
        starts = np.arange(0, val.size - seq_len, seq_len)
        assert starts.size <= charlm.MAX_EVAL_WINDOWS  # so the task scores all of them too
        windows = val[starts[None, :] + np.arange(seq_len + 1)[:, None]].astype(np.int64)

        def reference_loss(h0):
            logits, _ = trainer.model.predict(windows[:-1], head="seq_softmax", h0=h0)
            logits = logits.astype(np.float64).reshape(-1, trainer.task.output_size)
            log_z = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
            targets = windows[1:].reshape(-1)
            return float(np.mean(log_z - logits[np.arange(targets.size), targets]))

        report = trainer.evaluate()
        got = report.val_loss
        assert got == pytest.approx(reference_loss(None), rel=1e-5)
        assert report.metrics["val_windows"] == report.metrics["val_windows_total"] == starts.size
        assert report.metrics["val_loss_se"] == 0.0  # every window scored: no sampling error
        carried = np.repeat(trainer.carried_state[:1], starts.size, axis=0)
        assert got != pytest.approx(reference_loss(carried), rel=1e-5)  # the check can tell them apart

    @staticmethod
    def _reference_window_losses(task, model, starts):
        """Per-window mean cross-entropy from h0 = 0, one window at a time, by hand."""
        out = []
        for start in starts:
            window = task.val[start : start + task.seq_len + 1].astype(np.int64)
            logits, _ = model.predict(window[:-1, None], head="seq_softmax", h0=None)
            logits = logits[:, 0, :].astype(np.float64)
            log_z = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
            out.append(np.mean(log_z - logits[np.arange(task.seq_len), window[1:]]))
        return np.array(out)

    def test_large_held_out_part_is_sampled_evenly_with_a_standard_error(self, small_corpus, monkeypatch):
        """Above the cap the same evenly spaced windows are scored every time, and the standard
        error of their mean (finite-population corrected) is reported with their number."""
        monkeypatch.setattr(charlm, "MAX_EVAL_WINDOWS", 7)
        seq_len = 10
        task = CharLMTask(small_corpus, seq_len=seq_len, batch=4)
        total = (task.val.size - 1) // seq_len  # 29 non-overlapping windows of 10 + 1 characters
        assert total == 29
        model = RNN(task.input_size, 16, task.output_size, seed=2)
        starts, counted = task.eval_window_starts()
        assert counted == total
        # Windows 0, 29/7, 2·29/7, ... rounded down: spread over the whole held-out part.
        np.testing.assert_array_equal(starts, np.array([0, 4, 8, 12, 16, 20, 24]) * seq_len)
        metrics, _ = task.evaluate(model, np.random.default_rng(0))
        again, _ = task.evaluate(model, np.random.default_rng(99))
        assert again["val_loss"] == metrics["val_loss"]  # deterministic: no random windows
        losses = self._reference_window_losses(task, model, starts)
        assert metrics["val_loss"] == pytest.approx(losses.mean(), rel=1e-6)
        n = losses.size
        se = math.sqrt(sum((v - losses.mean()) ** 2 for v in losses) / (n - 1) / n * (1 - n / total))
        assert metrics["val_loss_se"] == pytest.approx(se, rel=1e-5)
        assert metrics["val_loss_se"] > 0
        assert (metrics["val_windows"], metrics["val_windows_total"]) == (7, 29)

    def test_scoring_in_blocks_matches_one_window_at_a_time(self, small_corpus, monkeypatch):
        """Large held-out parts are scored a block at a time (bounded memory): same numbers."""
        seq_len = 10
        task = CharLMTask(small_corpus, seq_len=seq_len, batch=4)
        model = RNN(task.input_size, 16, task.output_size, seed=4)
        starts, total = task.eval_window_starts()
        assert starts.size == total == 29
        monkeypatch.setattr(charlm, "_EVAL_BLOCK_LOGITS", 3 * seq_len * task.output_size)  # 3 windows
        np.testing.assert_allclose(task.window_losses(model, starts),
                                   self._reference_window_losses(task, model, starts), rtol=1e-5)

    def test_preview_sample_length_and_characters(self, small_corpus, monkeypatch):
        monkeypatch.setattr(charlm, "PREVIEW_LENGTH", 37)
        task = CharLMTask(small_corpus, seq_len=10, batch=4)
        model = RNN(task.input_size, 16, task.output_size, seed=1)
        _, preview = task.evaluate(model, np.random.default_rng(0))
        assert preview["kind"] == "charlm"
        assert len(preview["sample"]) == 37
        assert set(preview["sample"]) <= set(task.vocab.tokens)

    def test_state_round_trip_resumes_the_same_batches(self, small_corpus):
        a = CharLMTask(small_corpus, seq_len=10, batch=4)
        rng = np.random.default_rng(0)
        for _ in range(5):
            a.next_batch(rng)
        b = CharLMTask(small_corpus, seq_len=10, batch=4)
        b.load_state(a.state())
        np.testing.assert_array_equal(a.next_batch(rng).x, b.next_batch(rng).x)


# ------------------------------------------------------------------------- sentiment
@pytest.fixture(scope="module")
def sentiment():
    return SentimentTask(batch=8)


class TestSentimentTask:
    def test_dataset_loads_and_test_words_are_known(self, sentiment):
        """A test word never seen in training would make 100% accuracy impossible."""
        assert sentiment.train and sentiment.test
        train_words = {w for phrase, _ in sentiment.train for w in phrase}
        test_words = {w for phrase, _ in sentiment.test for w in phrase}
        assert test_words <= train_words
        assert {label for _, label in sentiment.train} == set(range(len(CLASSES)))

    def test_encode_left_pads_so_phrases_end_at_the_last_step(self, sentiment):
        """The many-to-one head reads the last hidden state: the last word must be there."""
        short, long = ["i", "am", "happy"], ["i", "am", "not", "at", "all", "happy", "today"]
        ids = sentiment.encode([short, long])
        assert ids.shape == (len(long), 2)
        pad = sentiment.vocab.index[PAD]
        assert list(ids[: len(long) - len(short), 0]) == [pad] * (len(long) - len(short))
        assert sentiment.vocab.decode(ids[len(long) - len(short):, 0], sep=" ") == "i am happy"
        assert sentiment.vocab.decode(ids[:, 1], sep=" ") == " ".join(long)
        assert ids[-1, 0] == sentiment.vocab.index["happy"]

    def test_unknown_words_become_unk(self, sentiment):
        ids = sentiment.encode([["i", "am", "flabbergasted"]])
        assert ids[-1, 0] == sentiment.vocab.index[UNK]
        assert ids[0, 0] == sentiment.vocab.index["i"]

    def test_batch_labels_match_their_phrases(self, sentiment):
        """Each label must belong to the phrase in the same column (not shuffled apart)."""
        labels_of = {" ".join(p): y for p, y in sentiment.train}
        batch = sentiment.next_batch(np.random.default_rng(5))
        assert batch.carry_state is False
        for col in range(batch.x.shape[1]):
            words = [sentiment.vocab.tokens[i] for i in batch.x[:, col] if i != sentiment.vocab.index[PAD]]
            assert labels_of[" ".join(words)] == batch.y[col]

    def test_evaluate_accuracy_and_probabilities(self, sentiment):
        model = RNN(sentiment.input_size, 8, sentiment.output_size, seed=0)
        metrics, preview = sentiment.evaluate(model, np.random.default_rng(0))
        assert 0.0 <= metrics["accuracy"] <= 1.0
        assert math.isfinite(metrics["val_loss"])
        probs = np.asarray(preview["probs"])
        assert probs.shape == (len(preview["phrases"]), len(CLASSES))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
        assert np.all(probs >= 0)
        assert metrics["accuracy"] == pytest.approx(sentiment.accuracy(model, sentiment.test))


# ------------------------------------------------------------------------------ sine
class TestSineTask:
    def test_batch_shapes_and_next_value_targets(self):
        task = SineTask(seq_len=30, batch=5, freq=0.05, noise=0.0, seed=0)
        batch = task.next_batch(np.random.default_rng(0))
        assert batch.x.shape == batch.y.shape == (30, 5, 1)
        np.testing.assert_allclose(batch.y[:-1], batch.x[1:], atol=1e-12)

    def test_targets_are_clean_sine_values(self):
        """Clean sines obey s[t+1] = 2 cos(ω) s[t] - s[t-1]; noisy values do not."""
        freq = 0.07
        task = SineTask(seq_len=40, batch=6, freq=freq, noise=0.3, seed=0)
        batch = task.next_batch(np.random.default_rng(0))
        y = batch.y[:, :, 0]
        two_cos = 2.0 * math.cos(2.0 * math.pi * freq)
        np.testing.assert_allclose(y[2:], two_cos * y[1:-1] - y[:-2], atol=1e-9)
        assert np.all(np.abs(y) <= 1.0)

    def test_noise_is_only_on_the_inputs(self):
        """Same generator, with and without noise: identical targets, inputs differ by ~noise."""
        noise = 0.2
        clean = SineTask(seq_len=50, batch=32, freq=0.05, noise=0.0, seed=0)
        noisy = SineTask(seq_len=50, batch=32, freq=0.05, noise=noise, seed=0)
        a = clean.next_batch(np.random.default_rng(9))
        b = noisy.next_batch(np.random.default_rng(9))
        np.testing.assert_array_equal(a.y, b.y)
        diff = b.x - a.x
        assert np.std(diff) == pytest.approx(noise, rel=0.1)

    def test_evaluate_rmse_and_preview(self):
        seq_len = 20
        task = SineTask(seq_len=seq_len, batch=4, freq=0.05, noise=0.0, seed=0)
        model = RNN(1, 8, 1, seed=0)
        metrics, preview = task.evaluate(model, np.random.default_rng(0))
        assert metrics["rmse"] == pytest.approx(math.sqrt(metrics["val_loss"]))
        truth, one_step, free = preview["truth"], preview["one_step"], preview["free_run"]
        assert len(truth) == len(one_step) == len(free) > seq_len
        prime_len = preview["prime_len"]
        assert np.all(np.isnan(free[:prime_len]))
        assert np.all(np.isfinite(free[prime_len:]))
        assert np.isnan(one_step[0]) and np.all(np.isfinite(one_step[1:]))

    def test_evaluation_phases_are_fixed_per_seed(self):
        """The held-out set must not change between evaluations, or curves would be noise."""
        task = SineTask(seq_len=20, batch=4, freq=0.05, noise=0.0, seed=0)
        model = RNN(1, 8, 1, seed=0)
        first, _ = task.evaluate(model, np.random.default_rng(0))
        second, _ = task.evaluate(model, np.random.default_rng(1))
        assert first["val_loss"] == second["val_loss"]
