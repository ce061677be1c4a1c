"""A bounded per-word memo, shared by the sentence splitter and the summarizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

__all__ = ["MEMO_MAX", "WordMemo"]

V = TypeVar("V")

# Entries a memo keeps at most; a full memo starts over on its next miss.
MEMO_MAX: Final = 1 << 16


class WordMemo(dict[str, V]):
    """word -> ``of(word)``, filled in on first lookup: ``map(memo.__getitem__, words)`` then
    answers a whole sentence at C level, calling back into Python only for a word it has not
    met. News repeats its words, but the vocabulary a long-running process meets keeps
    growing, so a full memo starts over instead of growing without bound."""

    __slots__ = ("of",)

    def __init__(self, of: Callable[[str], V]) -> None:
        super().__init__()
        self.of = of

    def __missing__(self, word: str) -> V:
        if len(self) > MEMO_MAX:
            self.clear()
        hit = self[word] = self.of(word)
        return hit
