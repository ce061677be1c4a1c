"""The LLM's daily budget shared fairly between chats, against the scripted loopback
OpenAI-compatible peer (tests/peers/openai_compat.py): real HTTP, scripted model replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.summarize.llm import LLMSummarizer
from tests.peers.openai_compat import OpenAICompatServer, summary
from tests.test_llm_summarizer import EN_BULLETS, EN_HEADLINE, TEXT_ID, TITLE_ID, Clock


@pytest.fixture
async def server() -> AsyncIterator[OpenAICompatServer]:
    peer = OpenAICompatServer()
    await peer.start()
    peer.default = summary(EN_HEADLINE, EN_BULLETS)
    yield peer
    await peer.close()


async def ask(llm: LLMSummarizer, n: int, chat: str | None) -> list[str]:
    """``n`` summaries of distinct stories (so the cache never answers) for ``chat``."""
    methods = []
    for i in range(n):
        result = await llm.summarize(
            title=f"{TITLE_ID} ({chat} {i})", text=TEXT_ID, lang="id", target_lang="en", chat=chat
        )
        methods.append(result.method)
    return methods


async def test_one_chat_cannot_spend_the_whole_day(server: OpenAICompatServer) -> None:
    clock = Clock()
    async with LLMSummarizer(
        base_url=server.base_url, model="m", max_calls_per_day=20, min_chat_calls=2, clock=clock
    ) as llm:
        # Alone, a chat still gets only a quarter of the day (fair_parties=4): 5 calls.
        assert await ask(llm, 7, "telegram:-1") == ["llm"] * 5 + ["extractive"] * 2
        assert server.calls == 5
        # Another chat and the digests (shared bucket) each get their own part.
        assert await ask(llm, 6, "discord:9") == ["llm"] * 5 + ["extractive"]
        assert await ask(llm, 1, None) == ["llm"]
        assert server.calls == 11
        assert llm.chat_calls_today("telegram:-1") == 5
        assert llm.chat_calls_today(None) == 1


async def test_many_chats_share_equally_and_the_day_cap_holds(
    server: OpenAICompatServer,
) -> None:
    clock = Clock()
    async with LLMSummarizer(
        base_url=server.base_url, model="m", max_calls_per_day=20, min_chat_calls=2, clock=clock
    ) as llm:
        used = [sum(m == "llm" for m in await ask(llm, 4, f"telegram:{c}")) for c in range(8)]
        # Parts shrink as chats arrive (20//4=5 capped by 4 asked, then 20//5=4, 20//6=3,
        # 20//7=2 ...), and the day's 20 calls are never exceeded.
        assert used[:4] == [4, 4, 4, 4]
        assert used[4] == 4  # 5 chats: 20 // 5
        assert sum(used) == 20
        assert server.calls == llm.calls_today == 20
        assert all(u <= 4 for u in used)
        # A new UTC day starts every chat over.
        clock.now += timedelta(hours=2)
        assert await ask(llm, 1, "telegram:7") == ["llm"]


async def test_over_budget_falls_back_to_extractive_in_the_story_language(
    server: OpenAICompatServer,
) -> None:
    clock = Clock()
    async with LLMSummarizer(
        base_url=server.base_url,
        model="m",
        max_calls_per_day=4,
        min_chat_calls=1,
        fair_parties=4,
        clock=clock,
    ) as llm:
        first = await llm.summarize(
            title=TITLE_ID, text=TEXT_ID, lang="id", target_lang="en", chat="telegram:-5"
        )
        assert (first.method, first.lang, first.translated) == ("llm", "en", True)
        second = await llm.summarize(
            title=TITLE_ID + " 2", text=TEXT_ID, lang="id", target_lang="en", chat="telegram:-5"
        )
        # Untranslated quick facts in the story's language: the digest shows its
        # "bullets in Indonesian" note instead of passing them off as a translation.
        assert (second.method, second.lang, second.translated) == ("extractive", "id", False)
        assert server.calls == 1
