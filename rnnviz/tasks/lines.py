"""Line mode of the language model: every non-empty line of the file is one training sequence.

This is how the small tutorials work (three memorised sentences, a list of names, commands):
each line is read as ``<s> tokens... </s>``, the model predicts every next token from a zero
hidden state at the line's start, and a batch is B lines padded at the end to the longest.
Padded targets are masked out of the loss, of every gradient (``rnnviz.core.heads``) and of
the diagnostics, so nothing is trained on padding. A line longer than ``seq_len`` tokens is
trained in consecutive pieces of ``seq_len``, each from a zero hidden state.

Validation holds out every tenth line when the file has at least ten; a smaller file trains
on all of its lines and validates on them too, and says so (``notes``, the metric
``val_on_training_lines``), rather than refusing to train.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import END, START, UNKNOWN, Vocabulary, split_words
from rnnviz.resource_files import default_corpus
from rnnviz.tasks.base import Batch, Task, TaskError
from rnnviz.tasks.charlm import (
    _EVAL_BLOCK_LOGITS,
    MAX_EVAL_WINDOWS,
    checked_corpus_path,
    id_dtype,
    perplexity,
    text_lines,
    word_vocabulary,
)

VAL_EVERY = 10  # line i is held out when i % VAL_EVERY == VAL_EVERY - 1 (evenly spread)
PREVIEW_LINES = 3
PREVIEW_TOKENS = {"character": 200, "word": 50}  # a sampled line stops here if no </s> came


def generate_line(model: RNN, vocab: Vocabulary, prime_ids: list[int], limit: int, temperature: float,
                  rng: np.random.Generator) -> list[str]:
    """Tokens sampled after ``prime_ids``, stopping before the end marker (or at ``limit``)."""
    end = vocab.index[END]
    out: list[str] = []
    for token in model.sample(prime_ids, limit, temperature=temperature, rng=rng):
        if token == end:
            break
        out.append(vocab.tokens[token])
    return out


class LineLMTask(Task):
    """Next-token prediction within lines: ``<s> w1 .. wn`` → ``w1 .. wn </s>``, masked padding."""

    vocab: Vocabulary  # always set: these tasks read tokens

    name = "charlm"
    head = "seq_softmax"

    def __init__(self, corpus: str | Path | None, seq_len: int, batch: int, tokens: str = "chars",
                 vocab_size: int = 8000) -> None:
        path = checked_corpus_path(corpus if corpus is not None else default_corpus())
        self.corpus_path = path
        self.seq_len, self.batch = seq_len, batch
        words = tokens == "words"
        split = split_words if words else list
        notes: list[str] = []
        # Pass 1: which tokens occur, and how many lines there are.
        counts: Counter[str] = Counter()
        n_lines = 0
        for line in text_lines(path):
            line = line.strip()
            if line:
                counts.update(split(line))
                n_lines += 1
        if n_lines == 0:
            raise TaskError(f"corpus {path.name} has no non-empty line to train on")
        if words:
            self.vocab, self.coverage, note = word_vocabulary(counts, vocab_size, path.name,
                                                              extra=(START, END))
            notes.append(note)
        else:
            self.vocab = Vocabulary([*sorted(counts), START, END], kind="character")
            self.coverage = 1.0
        self.start_id, self.end_id = self.vocab.index[START], self.vocab.index[END]
        # Pass 2: every line as <s> ids </s>, one after another in one array.
        dtype = id_dtype(len(self.vocab))
        unknown = self.vocab.index.get(UNKNOWN, -1)
        ids: np.ndarray = np.empty(sum(counts.values()) + 2 * n_lines, dtype=dtype)
        line_starts = np.empty(n_lines + 1, dtype=np.int64)
        pos = row = 0
        for text in text_lines(path):
            text = text.strip()
            if not text:
                continue
            toks = split(text)
            line_starts[row] = pos
            ids[pos] = self.start_id
            ids[pos + 1 : pos + 1 + len(toks)] = [self.vocab.index.get(t, unknown) for t in toks]
            ids[pos + 1 + len(toks)] = self.end_id
            pos += len(toks) + 2
            row += 1
        line_starts[n_lines] = pos
        self.ids = ids
        self.lines = n_lines
        self.input_size = self.output_size = len(self.vocab)
        self.baseline_loss = math.log(len(self.vocab))

        # Pieces: windows of at most seq_len + 1 ids, consecutive windows sharing one id.
        lengths = np.diff(line_starts)  # ids per line, markers included (>= 3)
        per_line = -(-(lengths - 1) // seq_len)  # ceil((L - 1) / seq_len)
        line_of_piece = np.repeat(np.arange(n_lines), per_line)
        first_piece = np.cumsum(per_line) - per_line
        rank = np.arange(line_of_piece.size) - first_piece[line_of_piece]
        self.piece_start = line_starts[line_of_piece] + rank * seq_len
        self.piece_len = np.minimum(seq_len + 1, line_starts[line_of_piece + 1] - self.piece_start)
        cut = int((per_line > 1).sum())
        if cut:
            notes.append(f"{cut:,} of the {n_lines:,} lines are longer than seq-len {seq_len} and are "
                         "trained in pieces, each from a zero hidden state")

        held_out = (line_of_piece % VAL_EVERY) == VAL_EVERY - 1
        self.val_on_training_lines = n_lines < VAL_EVERY
        if self.val_on_training_lines:
            self.train_pieces = self.val_pieces = np.arange(line_of_piece.size)
            self.val_lines = n_lines
            notes.append(f"{path.name} has only {n_lines} line{'s' if n_lines != 1 else ''}, too few to hold "
                         f"some out ({VAL_EVERY} are needed), so it trains on all of them and validation is "
                         "on the training lines")
        else:
            self.train_pieces = np.flatnonzero(~held_out)
            self.val_pieces = np.flatnonzero(held_out)
            self.val_lines = n_lines // VAL_EVERY
        self.notes = notes

    # ---------------------------------------------------------------- batches
    def _gather(self, pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, mask), each (T, n), for the pieces given: padded at the end with masked
        targets; padded inputs are the end marker, which no real input ever is."""
        starts, lengths = self.piece_start[pieces], self.piece_len[pieces]
        offsets = np.arange(int(lengths.max()))[:, None]
        valid = offsets < lengths[None, :]
        window = np.where(valid, self.ids[np.where(valid, starts[None, :] + offsets, 0)], self.end_id)
        mask = valid[1:]
        y = np.where(mask, window[1:], 0)
        return window[:-1], y, mask.astype(np.int8)

    def next_batch(self, rng: np.random.Generator) -> Batch:
        """B pieces drawn at random (distinct while there are enough), each from h = 0."""
        n = self.train_pieces.size
        if self.batch <= n:
            picks = rng.choice(n, self.batch, replace=False)
        else:
            picks = rng.integers(0, n, self.batch)
        x, y, mask = self._gather(self.train_pieces[picks])
        return Batch(x=x, y=y, carry_state=False, tokens=int(mask.sum()), mask=mask)

    # ------------------------------------------------------------- evaluation
    def eval_pieces(self) -> np.ndarray:
        """The held-out pieces scored: all up to MAX_EVAL_WINDOWS, else that many evenly spaced."""
        total = self.val_pieces.size
        if total <= MAX_EVAL_WINDOWS:
            return self.val_pieces
        return self.val_pieces[np.arange(MAX_EVAL_WINDOWS) * total // MAX_EVAL_WINDOWS]

    def token_losses(self, model: RNN, pieces: np.ndarray) -> tuple[float, int]:
        """(sum of -log p over the real targets of ``pieces``, how many targets), from h = 0."""
        total, count = 0.0, 0
        block = max(1, _EVAL_BLOCK_LOGITS // ((self.seq_len + 1) * self.output_size))
        for first in range(0, pieces.size, block):
            x, y, mask = self._gather(pieces[first : first + block])
            logits, _ = model.predict(x, head=self.head, h0=None)
            shifted = logits - logits.max(axis=2, keepdims=True)
            target = np.take_along_axis(shifted, y[:, :, None].astype(np.intp), axis=2)[..., 0]
            np.exp(shifted, out=shifted)
            per_token = np.log(shifted.sum(axis=2, dtype=np.float64)) - target
            real = mask.astype(bool)
            total += float(per_token[real].sum())
            count += int(real.sum())
        return total, count

    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        """``val_loss`` in nats per token over the held-out lines (or the training lines, when
        too few to hold out: ``val_on_training_lines`` = 1), its ``perplexity``, and sampled lines."""
        total, count = self.token_losses(model, self.eval_pieces())
        val_loss = total / count
        limit = PREVIEW_TOKENS.get(self.vocab.kind, 200)
        samples = [self.vocab.join(generate_line(model, self.vocab, [self.start_id], limit, 1.0, rng))
                   for _ in range(PREVIEW_LINES)]
        preview: dict[str, Any] = {"kind": "charlm", "prime": "", "sample": "\n".join(samples),
                                   "token_kind": self.vocab.kind, "lines": True, "coverage": self.coverage}
        if self.val_on_training_lines:
            preview["note"] = "validation is on the training lines (too few lines to hold some out)"
        metrics = {"val_loss": val_loss, "perplexity": perplexity(val_loss),
                   "val_lines": float(self.val_lines),
                   "val_on_training_lines": float(self.val_on_training_lines)}
        return metrics, preview

    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        """The tokens of one line; padding (the end marker as input) is shown as ''."""
        return tuple("" if int(i) == self.end_id else self.vocab.tokens[int(i)] for i in x[:, column])
