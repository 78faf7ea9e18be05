"""Token vocabularies: characters or words for the language model, words for classification.

The word rule (``split_words``) is deliberately simple, so a user can predict it: the text
is lower-cased, and a token is either a run of letters and digits (with inner apostrophes,
as in "don't") or any single other visible character (punctuation: ``.``, ``,``, ``"`` ...).
Spaces and line breaks only separate tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

START, END, UNKNOWN = "<s>", "</s>", "<unk>"  # sentence start/end markers, the unknown word
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|\S")


def split_words(text: str) -> list[str]:
    """The word tokens of ``text`` by the module's rule: lower-case, words and punctuation."""
    return _WORD.findall(text.lower())


class UnknownTokensError(ValueError):
    """Raised when text holds tokens the model has never seen; ``unknown`` names them."""

    def __init__(self, unknown: Sequence[str], kind: str = "character") -> None:
        self.unknown = list(unknown)
        shown = ", ".join(repr(u) for u in self.unknown[:12])
        more = f" and {len(self.unknown) - 12} more" if len(self.unknown) > 12 else ""
        plural = "s" if len(self.unknown) != 1 else ""
        super().__init__(f"the model does not know the {kind}{plural} {shown}{more}")


class Vocabulary:
    """An ordered list of distinct tokens and the inverse map token → id."""

    def __init__(self, tokens: Iterable[str], kind: str = "character") -> None:
        self.tokens: list[str] = list(tokens)
        self.kind = kind
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be distinct")

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def split(self, text: str) -> list[str]:
        """``text`` as this vocabulary's tokens: its characters, or its words (``split_words``)."""
        return split_words(text) if self.kind == "word" else list(text)

    def join(self, tokens: Iterable[str]) -> str:
        """Readable text of tokens: characters run together, words separated by spaces."""
        return (" " if self.kind == "word" else "").join(tokens)

    def unknown(self, tokens: Iterable[str] | str) -> list[str]:
        """Tokens not in the vocabulary, in order of first appearance, without repeats.
        A str is split into this vocabulary's tokens first (characters or words)."""
        if isinstance(tokens, str):
            tokens = self.split(tokens)
        return list(dict.fromkeys(t for t in tokens if t not in self.index))

    def encode(self, tokens: Iterable[str] | str) -> np.ndarray:
        """Ids for ``tokens`` (a str is split into characters or words); unknown ones raise."""
        tokens = self.split(tokens) if isinstance(tokens, str) else list(tokens)
        missing = self.unknown(tokens)
        if missing:
            raise UnknownTokensError(missing, self.kind)
        return np.fromiter((self.index[t] for t in tokens), dtype=np.int64, count=len(tokens))

    def decode(self, ids: Iterable[int], sep: str = "") -> str:
        return sep.join(self.tokens[int(i)] for i in ids)
