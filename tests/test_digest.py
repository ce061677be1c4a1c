from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest import build_digest, digest_from_json, digest_to_json
from bot.models import Story

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta


def story(n: int, title: str, text: str, *, lang: str, source: str, hours_ago: float) -> Story:
    return Story(
        feed_url=f"https://{source.lower().replace(' ', '')}.example/rss",
        key=f"k{n}",
        url=f"https://{source.lower().replace(' ', '')}.example/{n}",
        title=title,
        text=text,
        source=source,
        lang=lang,
        published=NOW - timedelta(hours=hours_ago),
        content_hash=f"h{n}",
        id=n,
    )


SORA_ID = story(
    1,
    "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI",
    "Sekelompok seniman yang mendapat akses awal ke Sora, alat video AI milik OpenAI, "
    "membocorkan akses itu lewat Hugging Face. Akses dibuka tiga jam sebelum ditutup. "
    "Mereka menerbitkan petisi agar OpenAI membayar seniman atas karya mereka.",
    lang="id",
    source="Kabar Kreatif",
    hours_ago=5,
)
SORA_EN = story(
    2,
    "Artists Leak Access to OpenAI's Sora Video Tool in Protest",
    "Artists with early access to OpenAI's Sora text-to-video model leaked it on Hugging "
    "Face in protest. Anyone could make clips for about three hours. The artists published "
    "an open letter and a petition asking OpenAI to pay artists.",
    lang="en",
    source="Arts Desk",
    hours_ago=6,
)
SUNO_EN = story(
    3,
    "Record Labels Sue AI Music Generators Suno and Udio",
    "Major record labels sued the AI music generators Suno and Udio for copyright "
    "infringement, saying the models were trained on copyrighted recordings of musicians "
    "without permission. The labels seek damages per infringed song.",
    lang="en",
    source="Techline",
    hours_ago=2,
)
FLOOD_ID = story(
    4,
    "Banjir Rendam Jakarta, Ratusan Warga Mengungsi",
    "Banjir merendam sejumlah kelurahan di Jakarta Timur. Ratusan warga mengungsi ke "
    "posko yang disiapkan pemerintah daerah.",
    lang="id",
    source="Kabar Kota",
    hours_ago=1,
)


def test_same_event_folds_into_one_entry_with_also_reported() -> None:
    digest = build_digest(
        [SORA_ID, SORA_EN, SUNO_EN, FLOOD_ID],
        lang="id",
        start=NOW - timedelta(hours=24),
        end=NOW,
    )
    titles = [e.story.title for e in digest.entries]
    assert "Banjir Rendam Jakarta, Ratusan Warga Mengungsi" not in titles
    sora = [e for e in digest.entries if "Sora" in e.story.title]
    assert len(sora) == 1, titles
    # An Indonesian digest prefers the Indonesian report and names the other outlet.
    assert sora[0].story.source == "Kabar Kreatif"
    assert [a.source for a in sora[0].also] == ["Arts Desk"]
    assert sora[0].other_lang is False
    assert any(e.story.source == "Techline" for e in digest.entries)


def test_localized_chrome_and_other_language_section() -> None:
    id_digest = build_digest([SUNO_EN], lang="id", start=NOW - timedelta(days=1), end=NOW)
    en_digest = build_digest([SUNO_EN], lang="en", start=NOW - timedelta(days=1), end=NOW)
    assert id_digest.title == "Ringkasan AI & Seniman — 24 Nov 2026"
    assert en_digest.title == "AI & Artists Digest — 24 Nov 2026"
    assert id_digest.entries[0].other_lang is True
    assert id_digest.other_heading == "Berita berbahasa Inggris"
    assert id_digest.entries[0].note is None  # one heading for the section, no per-entry note
    assert en_digest.entries[0].other_lang is False
    assert en_digest.other_heading == ""
    # Bullets stay in the story's language: never a fake translation.
    assert id_digest.entries[0].summary.lang == "en"
    assert 1 <= len(id_digest.entries[0].summary.bullets) <= 4


def test_dates_follow_the_subscribers_timezone() -> None:
    late = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # already 25 Nov in Jakarta
    assert build_digest([], lang="en", start=late - timedelta(days=1), end=late).title.endswith(
        "25 Nov 2026"
    )
    assert build_digest(
        [], lang="en", start=late - timedelta(days=1), end=late, tz="America/New_York"
    ).title.endswith("24 Nov 2026")


def test_empty_digest_has_localized_text() -> None:
    digest = build_digest([FLOOD_ID], lang="id", start=NOW - timedelta(days=1), end=NOW)
    assert digest.entries == []
    assert "Belum ada" in digest.empty_text


def test_keywords_narrow_and_max_stories() -> None:
    narrowed = build_digest(
        [SORA_ID, SORA_EN, SUNO_EN],
        lang="en",
        start=NOW - timedelta(days=1),
        end=NOW,
        keywords=("-suno",),
    )
    assert all("Suno" not in e.story.title for e in narrowed.entries)
    assert narrowed.entries
    one = build_digest(
        [SORA_ID, SORA_EN, SUNO_EN],
        lang="en",
        start=NOW - timedelta(days=1),
        end=NOW,
        max_stories=1,
    )
    assert len(one.entries) == 1


def test_serialization_roundtrip() -> None:
    digest = build_digest(
        [SORA_ID, SORA_EN, SUNO_EN], lang="en", start=NOW - timedelta(days=1), end=NOW
    )
    again = digest_from_json(digest_to_json(digest))
    assert again == digest


def test_readers_language_first_then_one_other_language_section() -> None:
    window = {"start": NOW - timedelta(days=1), "end": NOW}
    en_digest = build_digest([SORA_ID, SUNO_EN], lang="en", **window)
    assert [e.story.lang for e in en_digest.entries] == ["en", "id"]
    assert [e.other_lang for e in en_digest.entries] == [False, True]
    assert en_digest.other_heading == "Stories in Indonesian"
    id_digest = build_digest([SORA_ID, SUNO_EN, FLOOD_ID], lang="id", **window)
    assert [e.story.lang for e in id_digest.entries] == ["id", "en"]
    assert id_digest.other_heading == "Berita berbahasa Inggris"


def test_same_language_only_setting_drops_events_reported_only_in_another_language() -> None:
    window = {"start": NOW - timedelta(days=1), "end": NOW}
    only_en = build_digest([SORA_ID, SUNO_EN], lang="en", other_languages=False, **window)
    assert [e.story.title for e in only_en.entries] == [SUNO_EN.title]
    assert only_en.other_heading == ""
    # An event also reported in the reader's language stays, told by that report.
    both = build_digest([SORA_ID, SORA_EN], lang="en", other_languages=False, **window)
    assert [e.story.source for e in both.entries] == [SORA_EN.source]
