"""The other-language section on every platform: one localized heading, shown once, before the
other-language entries, never a per-entry note; the reasons line in plain words."""

from __future__ import annotations

from datetime import timedelta

from bot.digest import build_digest, digest_from_json, digest_to_json
from bot.models import Digest
from bot.render import console, discord, telegram
from tests.peers.discord_rest import validate_message
from tests.test_digest import NOW, SORA_ID, SUNO_EN


def id_digest() -> Digest:
    return build_digest([SUNO_EN, SORA_ID], lang="id", start=NOW - timedelta(days=1), end=NOW)


def test_console_heading_once_between_sections_and_plain_reasons() -> None:
    text = console.render_digest(id_digest())
    assert text.count("Berita berbahasa Inggris") == 1
    before, after = text.split("Berita berbahasa Inggris")
    assert "Sora" in before
    assert "Suno" in after
    assert "(Poin-poin" not in text
    assert "ai:" not in text
    assert "art:" not in text
    assert "Alasan: " in before


def test_telegram_heading_is_one_bold_line_before_the_english_entry() -> None:
    html = "\n".join(telegram.render_digest(id_digest()))
    assert html.count("<b>Berita berbahasa Inggris</b>") == 1
    assert html.index("Sora") < html.index("Berita berbahasa Inggris") < html.index("Suno")


def test_discord_heading_is_one_embed_before_the_english_entry() -> None:
    messages = discord.render_digest(id_digest())
    for message in messages:
        validate_message(message)
    embeds = [e for m in messages for e in m["embeds"]]
    titles = [e.get("title", "") for e in embeds]
    assert titles.count("Berita berbahasa Inggris") == 1
    heading = titles.index("Berita berbahasa Inggris")
    assert "Sora" in titles[heading - 1]
    assert "Suno" in titles[heading + 1]


def test_sections_survive_the_outbox_round_trip() -> None:
    digest = id_digest()
    again = digest_from_json(digest_to_json(digest))
    assert again.other_heading == digest.other_heading
    assert [e.other_lang for e in again.entries] == [False, True]
