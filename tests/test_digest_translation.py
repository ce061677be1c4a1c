"""Other-language entries in a digest: LLM-written quick facts in the digest's language, or
the story's own bullets in the other-language section when the backend falls back. The model
is a scripted loopback peer speaking the OpenAI chat-completions API (no model can run here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.digest import build_digest, translate_entries
from bot.summarize.llm import LLMSummarizer
from tests.peers.openai_compat import OpenAICompatServer, status, summary
from tests.test_digest import NOW, SORA_ID, SUNO_EN


@pytest.fixture
async def server() -> AsyncIterator[OpenAICompatServer]:
    peer = OpenAICompatServer()
    await peer.start()
    yield peer
    await peer.close()


async def test_english_story_gets_indonesian_quick_facts(server: OpenAICompatServer) -> None:
    digest = build_digest([SORA_ID, SUNO_EN], lang="id", start=NOW - timedelta(days=1), end=NOW)
    suno = next(e for e in digest.entries if e.story.lang == "en")
    assert suno.other_lang is True
    assert digest.other_heading == "Berita berbahasa Inggris"
    server.push(
        summary(
            "Label Rekaman Menggugat Pembuat Musik AI Suno dan Udio",
            [
                "Label rekaman besar menggugat Suno dan Udio karena melatih model"
                " dengan rekaman musisi tanpa izin.",
                "Mereka menuntut ganti rugi untuk setiap lagu yang dilanggar.",
            ],
        )
    )
    async with LLMSummarizer(base_url=server.base_url, model="m", timeout_s=5) as llm:
        await translate_entries(digest, llm)
    assert server.calls == 1  # only the English story is rewritten
    assert suno.summary.lang == "id"
    assert suno.summary.translated is True
    # Translated, it joins the main section; no other-language section is left.
    assert suno.other_lang is False
    assert digest.other_heading == ""
    assert "Suno" in suno.summary.bullets[0]
    sora = next(e for e in digest.entries if e.story.lang == "id")
    assert sora.summary.method == "extractive"


async def test_fallback_keeps_own_language_bullets_in_other_section(
    server: OpenAICompatServer,
) -> None:
    digest = build_digest([SUNO_EN], lang="id", start=NOW - timedelta(days=1), end=NOW)
    before = digest.entries[0].summary
    server.push(status(500))
    async with LLMSummarizer(base_url=server.base_url, model="m", timeout_s=5) as llm:
        await translate_entries(digest, llm)
    entry = digest.entries[0]
    assert entry.summary == before
    assert entry.summary.lang == "en"
    assert entry.other_lang is True
    assert digest.other_heading == "Berita berbahasa Inggris"
