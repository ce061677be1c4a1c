"""The bounded per-word memo (bot/lang/memo.py) the sentence splitter and the summarizer share."""

from __future__ import annotations

from bot.lang.memo import MEMO_MAX, WordMemo


def test_a_word_is_computed_once_then_looked_up() -> None:
    calls: list[str] = []

    def of(word: str) -> int:
        calls.append(word)
        return len(word)

    memo = WordMemo(of)
    assert list(map(memo.__getitem__, ["seni", "AI", "seni"])) == [4, 2, 4]
    assert calls == ["seni", "AI"]


def test_a_full_memo_starts_over_and_still_answers() -> None:
    memo = WordMemo(str.upper)
    for i in range(MEMO_MAX + 1):
        memo[f"w{i}"]
    assert len(memo) == MEMO_MAX + 1
    assert memo["new"] == "NEW"  # the miss that finds it full empties it first
    assert len(memo) == 1
    assert memo["w0"] == "W0"
