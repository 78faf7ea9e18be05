"""Character-level language model on any UTF-8 text file (min-char-rnn's task, batched).

The corpus is read in chunks and kept as one small-integer array (1 byte per character for
vocabularies up to 256 symbols), so a 100 MB file needs about 100 MB, not gigabytes.
"""

from __future__ import annotations

import codecs
import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.core.heads import softmax_cross_entropy
from rnnviz.core.rnn import RNN
from rnnviz.core.vocab import Vocabulary
from rnnviz.resource_files import default_corpus
from rnnviz.tasks.base import Batch, Task, TaskError

VAL_FRACTION = 0.1
MAX_EVAL_WINDOWS = 256  # evenly spaced held-out windows per evaluation (all of them if fewer)
PREVIEW_LENGTH = 200
_CHUNK_BYTES = 1 << 20  # 1 MiB: peak memory ~1.2 bytes per character on a 100 MB file


def _decoded_chunks(path: Path):
    """Yield the file's text in chunks, raising TaskError for binary or non-UTF-8 data."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
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
            if text:
                yield text
            if not raw:
                return
            offset += len(raw)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def load_corpus(path: str | Path) -> tuple[Vocabulary, np.ndarray]:
    """Read a UTF-8 text file into (vocabulary of its characters, id array)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise TaskError(f"corpus file {path} does not exist")
    if path.is_dir():
        raise TaskError(f"corpus {path} is a folder; choose a text file")
    try:
        if path.stat().st_size == 0:
            raise TaskError(f"corpus file {path} is empty")
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
        id_dtype = np.uint8 if len(vocab) <= 256 else np.uint16 if len(vocab) <= 65536 else np.uint32
        lookup = np.zeros(present[-1] + 1, dtype=id_dtype)
        lookup[present] = np.arange(len(present), dtype=id_dtype)
        # Pass 2: map characters to ids, chunk by chunk, into one preallocated array.
        ids = np.empty(total, dtype=id_dtype)
        pos = 0
        for text in _decoded_chunks(path):
            cps = _codepoints(text)
            ids[pos : pos + cps.size] = lookup[cps]
            pos += cps.size
    except OSError as exc:
        raise TaskError(f"cannot read corpus {path}: {exc.strerror or exc}") from exc
    return vocab, ids


class CharLMTask(Task):
    """Predict the next character at every step (``seq_softmax``), stateful across batches.

    The batch is B parallel streams through the training text (90%); each step takes the
    next ``seq_len`` characters of every stream and carries the hidden state over, as
    min-char-rnn does. Evaluation uses the last 10% with frozen weights and, honestly,
    starts every window from a zero hidden state.
    """

    name = "charlm"
    head = "seq_softmax"

    def __init__(self, corpus: str | Path | None, seq_len: int, batch: int) -> None:
        self.corpus_path = Path(corpus) if corpus is not None else default_corpus()
        self.vocab, ids = load_corpus(self.corpus_path)
        self.input_size = self.output_size = len(self.vocab)
        self.baseline_loss = math.log(len(self.vocab))
        self.seq_len, self.batch = seq_len, batch
        n_train = round(ids.size * (1.0 - VAL_FRACTION))
        self.train, self.val = ids[:n_train], ids[n_train:]
        self.stream_len = self.train.size // batch
        need = (seq_len + 1) * batch
        if self.stream_len < seq_len + 1:
            raise TaskError(f"corpus {self.corpus_path.name} is too short: its training part has "
                            f"{self.train.size} characters, but seq-len {seq_len} with batch {batch} "
                            f"needs at least {need}; use a longer text or smaller settings")
        if self.val.size < seq_len + 1:
            raise TaskError(f"corpus {self.corpus_path.name} is too short to hold out "
                            f"{seq_len + 1} characters for validation; use a longer text or a "
                            "shorter seq-len")
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

    def _eval_windows(self) -> np.ndarray:
        count = (self.val.size - 1) // self.seq_len
        picks = np.unique(np.linspace(0, count - 1, min(count, MAX_EVAL_WINDOWS)).astype(np.int64))
        starts = picks * self.seq_len
        return self.val[starts[None, :] + self.offsets]

    def evaluate(self, model: RNN, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, Any]]:
        window = self._eval_windows()
        logits, _ = model.predict(window[:-1], head=self.head, h0=None)  # h0 = 0
        val_loss, _ = softmax_cross_entropy(logits.reshape(-1, self.output_size).astype(np.float64),
                                            window[1:].reshape(-1).astype(np.int64))
        prime = [int(self.val[0])]
        sample = self.vocab.decode(model.sample(prime, PREVIEW_LENGTH, temperature=1.0, rng=rng))
        preview = {"kind": "charlm", "prime": self.vocab.decode(prime), "sample": sample}
        return {"val_loss": val_loss}, preview

    def input_labels(self, x: np.ndarray, column: int = 0) -> tuple[str, ...]:
        return tuple(self.vocab.tokens[int(i)] for i in x[:, column])

    def state(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state(self, state: dict[str, Any]) -> None:
        self.position = int(state.get("position", 0))
