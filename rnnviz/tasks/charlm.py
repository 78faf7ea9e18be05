"""Language model on any UTF-8 text file (min-char-rnn's task, batched), by characters or words.

The corpus is read in chunks and kept as one small-integer array (1 byte per character for
vocabularies up to 256 symbols), so a 100 MB file needs about 100 MB, not gigabytes.
Word tokens (``tokens="words"``) follow ``rnnviz.core.vocab.split_words``; the ``vocab_size``
most frequent words are kept and every other word reads as ``<unk>``.
A leading byte-order mark is dropped and Windows line endings (``\r\n``) are read as ``\n``,
so the same text saved on Windows or Unix gives the same vocabulary and the same model.
"""

from __future__ import annotations

import codecs
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import UNKNOWN, Vocabulary, split_words
from rnnviz.resource_files import default_corpus, resource_dir
from rnnviz.tasks.base import Batch, Task, TaskError

VAL_FRACTION = 0.1
# Held-out windows scored per evaluation: all of them up to this cap, else this many evenly
# spaced ones (and the standard error of that sample is reported). At H = 100, T = 25 scoring
# 1024 windows (the whole held-out part of a text of up to ~256,000 characters) costs ~12 B=32
# training steps, plus ~4 for the preview sample: ~14% of training at eval_every = 100; twice
# as many would cost ~20% (docs/engine.md).
MAX_EVAL_WINDOWS = 1024
_EVAL_BLOCK_LOGITS = 1 << 22  # score windows in blocks of at most this many logits (bounded memory)
PREVIEW_LENGTH = 200
_CHUNK_BYTES = 1 << 20  # 1 MiB: peak memory ~1.2 bytes per character on a 100 MB file


def _decoded_chunks(path: Path):
    """Yield the file's text in chunks, raising TaskError for binary or non-UTF-8 data.

    A leading byte-order mark is dropped and ``\r\n`` becomes ``\n``, also when a chunk ends
    between the two (a trailing ``\r`` is held back until the next chunk shows what follows).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    at_start = True  # no text yielded yet: a BOM here is a byte-order mark, not a character
    held_cr = ""
    with path.open("rb") as fh:
        while True:
            raw = fh.read(_CHUNK_BYTES)
            if b"\x00" in raw:
                raise TaskError(f"{path} looks like a binary file (it contains NUL bytes); "
                                "choose a UTF-8 text file")
            pending = len(decoder.getstate()[0])  # bytes held back from the previous chunk
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:  # exc.start counts from the held-back bytes
                raise TaskError(f"{path} is not UTF-8 text (undecodable byte at offset "
                                f"{offset - pending + exc.start}); choose a UTF-8 text file") from exc
            if at_start and text:
                at_start = False
                text = text.removeprefix("\ufeff")
            text = held_cr + text
            held_cr = ""
            if raw and text.endswith("\r"):
                text, held_cr = text[:-1], "\r"
            text = text.replace("\r\n", "\n")
            if text:
                yield text
            if not raw:
                return
            offset += len(raw)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def checked_corpus_path(path: str | Path) -> Path:
    """The corpus path, refused with one sentence if it is missing, a folder or empty.

    A bare file name that is not in the working folder but ships in ``resources/corpora``
    (a preset's ``corpus = "three-sentences.txt"``) means the shipped file.
    """
    path = Path(path).expanduser()
    shipped = resource_dir("corpora", path.name)
    if not path.exists() and path.name == str(path) and shipped.is_file():
        path = shipped
    if not path.exists():
        raise TaskError(f"corpus file {path} does not exist")
    if path.is_dir():
        raise TaskError(f"corpus {path} is a folder; choose a text file")
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise TaskError(f"cannot read corpus {path}: {exc.strerror or exc}") from exc
    if empty:
        raise TaskError(f"corpus file {path} is empty")
    return path


def id_dtype(size: int) -> type:
    """The smallest unsigned integer type that holds ids below ``size``."""
    return np.uint8 if size <= 256 else np.uint16 if size <= 65536 else np.uint32


def text_lines(path: Path) -> Iterator[str]:
    """Every line of the file (without its line break), read chunk by chunk."""
    held = ""
    try:
        for text in _decoded_chunks(path):
            parts = (held + text).split("\n")
            held = parts.pop()
            yield from parts
    except OSError as exc:
        raise TaskError(f"cannot read corpus {path}: {exc.strerror or exc}") from exc
    if held:
        yield held


def word_chunks(path: Path) -> Iterator[list[str]]:
    """The file's word tokens, a chunk at a time (a word cut by a chunk's end is held back)."""
    held = ""
    try:
        for text in _decoded_chunks(path):
            text = held + text
            cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
            held, text = (text[cut + 1:], text[: cut + 1]) if cut >= 0 else (text, "")
            if text:
                yield split_words(text)
    except OSError as exc:
        raise TaskError(f"cannot read corpus {path}: {exc.strerror or exc}") from exc
    if held:
        yield split_words(held)


def word_vocabulary(counts: Counter[str], vocab_size: int, name: str,
                    extra: tuple[str, ...] = ()) -> tuple[Vocabulary, float, str]:
    """(vocabulary of the ``vocab_size`` most frequent words + ``<unk>`` + ``extra``, the
    fraction of the text's words it covers, one sentence saying so)."""
    if not counts:
        raise TaskError(f"corpus {name} holds no words")
    if vocab_size < 1:
        raise TaskError(f"vocab-size must be at least 1; got {vocab_size}")
    total = sum(counts.values())
    kept = [word for word, _ in counts.most_common(vocab_size)]
    covered = sum(counts[word] for word in kept)
    coverage = covered / total
    if vocab_size >= len(counts):
        note = (f"{name} has {len(counts):,} distinct words (vocab-size is {vocab_size:,}), so the "
                f"vocabulary keeps all of them: it covers 100% of the text's {total:,} words")
    else:
        note = (f"the {vocab_size:,} most frequent of the {len(counts):,} distinct words in {name} cover "
                f"{coverage:.1%} of its {total:,} words; the other {1 - coverage:.1%} read as {UNKNOWN}")
    return Vocabulary([*kept, UNKNOWN, *extra], kind="word"), coverage, note


def load_word_corpus(path: str | Path, vocab_size: int) -> tuple[Vocabulary, np.ndarray, float, str]:
    """Read a UTF-8 text file into (word vocabulary, id array, coverage, coverage sentence)."""
    path = checked_corpus_path(path)
    counts: Counter[str] = Counter()
    for words in word_chunks(path):
        counts.update(words)
    vocab, coverage, note = word_vocabulary(counts, vocab_size, path.name)
    unknown = vocab.index[UNKNOWN]
    ids: np.ndarray = np.empty(sum(counts.values()), dtype=id_dtype(len(vocab)))
    pos = 0
    for words in word_chunks(path):
        ids[pos : pos + len(words)] = [vocab.index.get(w, unknown) for w in words]
        pos += len(words)
    return vocab, ids, coverage, note


def load_corpus(path: str | Path) -> tuple[Vocabulary, np.ndarray]:
    """Read a UTF-8 text file into (vocabulary of its characters, id array)."""
    path = checked_corpus_path(path)
    try:
        # Pass 1: which characters occur, and how many characters there are.
        counts = np.zeros(0, dtype=np.int64)
        for text in _decoded_chunks(path):
            cps = _codepoints(text)
            chunk_counts = np.bincount(cps)
            if chunk_counts.size > counts.size:
                chunk_counts[: counts.size] += counts
                counts = chunk_counts
            else:
                counts[: chunk_counts.size] += chunk_counts
        present = np.flatnonzero(counts)
        total = int(counts.sum())
        if total == 0:
            raise TaskError(f"corpus file {path} holds no text")
        vocab = Vocabulary(chr(int(cp)) for cp in present)
        dtype = id_dtype(len(vocab))
        lookup = np.zeros(present[-1] + 1, dtype=dtype)
        lookup[present] = np.arange(len(present), dtype=dtype)
        # Pass 2: map characters to ids, chunk by chunk, into one preallocated array.
        ids: np.ndarray = np.empty(total, dtype=dtype)
        pos = 0
        for text in _decoded_chunks(path):
            cps = _codepoints(text)
            ids[pos : pos + cps.size] = lookup[cps]
            pos += cps.size
    except OSError as exc:
        raise TaskError(f"cannot read corpus {path}: {exc.strerror or exc}") from exc
    return vocab, ids


def perplexity(nats_per_token: float) -> float:
    """exp(loss): the effective number of equally likely next tokens (inf past overflow)."""
    return math.exp(nats_per_token) if nats_per_token < 700 else math.inf


class CharLMTask(Task):
    """Predict the next character (or word) at every step (``seq_softmax``), stateful across batches.

    The batch is B parallel streams through the training text (90%); each step takes the
    next ``seq_len`` characters of every stream and carries the hidden state over, as
    min-char-rnn does. Evaluation uses the last 10% with frozen weights and, honestly,
    starts every window from a zero hidden state.
    """

    vocab: Vocabulary  # always set: these tasks read tokens

    name = "charlm"
    head = "seq_softmax"

    def __init__(self, corpus: str | Path | None, seq_len: int, batch: int, tokens: str = "chars",
                 vocab_size: int = 8000) -> None:
        self.corpus_path = checked_corpus_path(corpus if corpus is not None else default_corpus())
        self.notes = []
        if tokens == "words":
            self.vocab, ids, self.coverage, note = load_word_corpus(self.corpus_path, vocab_size)
            self.notes.append(note)
        else:
            self.vocab, ids = load_corpus(self.corpus_path)
            self.coverage = 1.0
        unit = f"{self.vocab.kind}s"
        self.input_size = self.output_size = len(self.vocab)
        self.baseline_loss = math.log(len(self.vocab))
        self.seq_len, self.batch = seq_len, batch
        n_train = round(ids.size * (1.0 - VAL_FRACTION))
        self.train, self.val = ids[:n_train], ids[n_train:]
        self.stream_len = self.train.size // batch
        need = (seq_len + 1) * batch
        if self.stream_len < seq_len + 1:
            raise TaskError(f"corpus {self.corpus_path.name} is too short: its training part has "
                            f"{self.train.size} {unit}, but seq-len {seq_len} with batch {batch} "
                            f"needs at least {need}; use a longer text, smaller settings, or line mode "
                            "(lines on) for a file of short lines")
        if self.val.size < seq_len + 1:
            raise TaskError(f"corpus {self.corpus_path.name} is too short to hold out "
                            f"{seq_len + 1} {unit} for validation; use a longer text, a shorter "
                            "seq-len, or line mode (lines on) for a file of short lines")
        self.stream_starts = np.arange(batch) * self.stream_len
        self.offsets = np.arange(seq_len + 1)[:, None]
        self.position = 0

    def next_batch(self, rng: np.random.Generator) -> Batch:
        carry = True
        if self.position + self.seq_len + 1 > self.stream_len:
            self.position, carry = 0, False  # wrapped around: start from a fresh state
        if self.position == 0:
            carry = False
        window = self.train[self.stream_starts[None, :] + self.position + self.offsets]
        self.position += self.seq_len
        return Batch(x=window[:-1], y=window[1:], carry_state=carry, tokens=self.seq_len * self.batch)

    def eval_window_starts(self) -> tuple[np.ndarray, int]:
        """(start offsets of the held-out windows scored, how many windows there are in all).

        The held-out text is cut into non-overlapping windows of ``seq_len`` characters; all
        are scored up to MAX_EVAL_WINDOWS, else that many evenly spaced ones, the same ones at
        every evaluation (so the curve's steps are the model's, not the sample's).
        """
        total = (self.val.size - 1) // self.seq_len
        if total <= MAX_EVAL_WINDOWS:
            picks = np.arange(total)
        else:  # window k·total/n, rounded down: distinct, since total/n > 1
            picks = np.arange(MAX_EVAL_WINDOWS) * total // MAX_EVAL_WINDOWS
        return picks * self.seq_len, total

    def window_losses(self, model: RNN, starts: np.ndarray) -> np.ndarray:
        """Mean loss per character of each window starting at ``starts``, from h = 0."""
        losses = np.empty(starts.size)
        block = max(1, _EVAL_BLOCK_LOGITS // (self.seq_len * self.output_size))
        for first in range(0, starts.size, block):
            window = self.val[starts[None, first : first + block] + self.offsets]
            logits, _ = model.predict(window[:-1], head=self.head, h0=None)  # h0 = 0; (T, n, V)
            # -log p[y] = log Σ exp(z - m) - (z[y] - m), m = max z, in the model's dtype (the
            # exponentials dominate the cost) with the sums taken in float64.
            shifted = logits - logits.max(axis=2, keepdims=True)
            target = np.take_along_axis(shifted, window[1:, :, None].astype(np.intp), axis=2)[..., 0]
            np.exp(shifted, out=shifted)
            per_char = np.log(shifted.sum(axis=2, dtype=np.float64)) - target
            losses[first : first + window.shape[1]] = per_char.mean(axis=0)
        return losses

    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        """``val_loss`` (nats per character) with ``val_windows`` scored of ``val_windows_total``
        and ``val_loss_se``: the standard error of the mean over a sample of windows (with the
        finite-population correction), 0 when every window is scored."""
        starts, total = self.eval_window_starts()
        losses = self.window_losses(model, starts)
        scored = losses.size
        val_loss = float(losses.mean())
        if scored < total and scored > 1:
            se = float(losses.std(ddof=1) / math.sqrt(scored) * math.sqrt(1.0 - scored / total))
        else:
            se = 0.0
        prime = [int(self.val[0])]
        length = PREVIEW_LENGTH if self.vocab.kind == "character" else PREVIEW_LENGTH // 4
        sampled = [self.vocab.tokens[i] for i in model.sample(prime, length, temperature=1.0, rng=rng)]
        prime_text = self.vocab.tokens[prime[0]]
        sample = self.vocab.join(sampled)
        if self.vocab.kind == "word":
            sample = " " + sample
        preview = {"kind": "charlm", "prime": prime_text, "sample": sample, "token_kind": self.vocab.kind,
                   "coverage": self.coverage}
        metrics = {"val_loss": val_loss, "val_loss_se": se, "val_windows": float(scored),
                   "val_windows_total": float(total), "perplexity": perplexity(val_loss)}
        return metrics, preview

    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        return tuple(self.vocab.tokens[int(i)] for i in x[:, column])

    def state(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state(self, state: dict[str, Any]) -> None:
        self.position = int(state.get("position", 0))
