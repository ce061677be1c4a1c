"""Reasons shown to readers: plain words in their language, never the scorer's tags."""

from __future__ import annotations

import pytest

from bot.lang.reasons import reason_terms, reasons_text
from bot.store import SQLStore
from tests.test_commands import make_core, run, store

__all__ = ["store"]  # the stored-stories fixture of the command tests

MATCHED = (
    "ai:ai generatif",
    "ai:sora",
    "ai:openai",
    "art:penulis",
    "art:seniman",
    "art:artist",
    "neg:gossip(nikah)",
    "kw-:nft",
    "kw+:ghibli",
)


def test_tags_become_words_in_the_readers_language() -> None:
    assert reason_terms(MATCHED, "id") == [
        "AI generatif",
        "Sora",
        "OpenAI",
        "penulis",
        "seniman",
        "Ghibli",
    ]
    assert reason_terms(MATCHED, "en") == [
        "generative AI",
        "Sora",
        "OpenAI",
        "writers",
        "artists",
        "Ghibli",
    ]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_internal_tags_vetoes_or_exclusions(lang: str) -> None:
    text = reasons_text(MATCHED, lang)
    for leak in ("ai:", "art:", "neg:", "kw", "nikah", "nft", "gossip"):
        assert leak not in text


def test_a_word_of_a_longer_term_is_not_repeated() -> None:
    assert reason_terms(("ai:ai", "ai:ai music", "art:desainer", "art:desainer grafis"), "id") == [
        "musik AI",
        "desainer grafis",
    ]


def test_limit_and_nothing_to_show() -> None:
    assert reasons_text(("neg:seni bela diri",), "id") == ""
    many = tuple(f"art:term{n}" for n in range(10))
    assert len(reason_terms(many, "en", limit=4)) == 4


async def test_story_command_shows_reasons_as_words(store: SQLStore) -> None:
    found = await store.search("Sora")
    sora_id = next(s.id for s in found if s.lang == "id")
    for locale, label, word in (
        ("en", "Why it is relevant: ", "artists"),
        ("id", "Alasan", "seniman"),
    ):
        reply = await run(make_core(store), "story", f"#{sora_id}", locale=locale)
        assert not reply.error
        [why] = [line for line in reply.text.splitlines() if line.startswith(label)]
        assert word in why
        for tag in ("ai:", "art:", "neg:", "kw"):
            assert tag not in why
