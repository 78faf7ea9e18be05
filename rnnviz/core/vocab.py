"""Token vocabularies: characters for the language model, words for classification."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


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

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """Tokens not in the vocabulary, in order of first appearance, without repeats."""
        return list(dict.fromkeys(t for t in tokens if t not in self.index))

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids for ``tokens`` (a str is a sequence of characters); unknown ones raise."""
        tokens = list(tokens)
        missing = self.unknown(tokens)
        if missing:
            raise UnknownTokensError(missing, self.kind)
        return np.fromiter((self.index[t] for t in tokens), dtype=np.int64, count=len(tokens))

    def decode(self, ids: Iterable[int], sep: str = "") -> str:
        return sep.join(self.tokens[int(i)] for i in ids)
