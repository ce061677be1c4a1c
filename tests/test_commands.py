"""The platform-neutral command core against a real SQLite store, the real topic scorer and
extractive summarizer, and a real HTTP server on 127.0.0.1 for /summary and feeds add.

The only stand-ins are at seams: ``admin_check`` (a platform's "is this user an admin of that
channel" call, which needs a live Telegram) and, in two tests, a summarizer that fails on
purpose to exercise the fallback and the generic-error path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.analyze import default_scorer
from bot.commands import Attachment, CommandCore, Invocation, Reply, parse_keywords, split_args
from bot.commands.sources import OPML_MAX_BYTES
from bot.errors import CommandError, SummarizeError, TooLarge
from bot.feeds.fetch import Fetcher
from bot.feeds.opml import parse_opml, to_opml
from bot.lang.strings import t
from bot.models import ChannelRef, Feed, Story, Summary
from bot.store import SQLStore, open_store
from bot.summarize.extractive import ExtractiveSummarizer
from tests import feedserver
from tests.feedserver import FeedServer
from tests.resolver import StaticResolver

feed_server = feedserver.feed_server

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
JKT = ZoneInfo("Asia/Jakarta")
CHAT = ChannelRef("telegram", "-4001")
OTHER = ChannelRef("discord", "5005")

SORA_ID_TEXT = (
    "Sekelompok seniman yang mendapat akses awal ke Sora, alat video AI milik OpenAI, "
    "membocorkan akses itu lewat Hugging Face sebagai bentuk protes. Akses dibuka sekitar tiga "
    "jam sebelum OpenAI menutupnya. Para seniman menerbitkan surat terbuka dan petisi agar "
    "OpenAI membayar seniman atas karya mereka. Mereka menilai program akses awal hanya "
    "memanfaatkan tenaga kreatif tanpa imbalan yang layak."
)
SORA_EN_TEXT = (
    "Artists with early access to OpenAI's Sora text-to-video model leaked it on Hugging Face "
    "in protest. Anyone could make clips for about three hours before OpenAI shut it down. "
    "The artists published an open letter and a petition asking OpenAI to pay artists for "
    "their work. They said the early access program used unpaid creative labour."
)
SUNO_EN_TEXT = (
    "Major record labels sued the AI music generators Suno and Udio for copyright "
    "infringement, saying the models were trained on copyrighted recordings of musicians "
    "without permission. The labels seek damages for every infringed song."
)
FLOOD_ID_TEXT = (
    "Banjir merendam sejumlah kelurahan di Jakarta Timur. Ratusan warga mengungsi ke posko "
    "yang disiapkan pemerintah daerah. Hujan deras turun sejak malam."
)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Kabar Seni AI</title><link>https://example.org/</link>
<language>id</language>
<item><title>Seniman dan AI</title><link>https://example.org/1</link><guid>1</guid>
<description>Seniman memprotes AI.</description></item>
</channel></rss>"""

ARTICLE = (
    "<html><head><title>Seniman Bocorkan Akses Sora</title></head><body><article>"
    "<h1>Seniman Bocorkan Akses Sora sebagai Protes</h1>"
    + "".join(f"<p>{s}.</p>" for s in SORA_ID_TEXT.split(". "))
    + "</article></body></html>"
).encode()


def _story(n: int, title: str, text: str, lang: str, source: str, hours_ago: float) -> Story:
    scorer = default_scorer()
    topic = scorer.score(title, text, lang)
    return Story(
        feed_url="https://feeds.example/rss",
        key=f"k{n}",
        url=f"https://news.example/{n}",
        title=title,
        text=text,
        source=source,
        lang=lang,
        published=NOW - timedelta(hours=hours_ago),
        content_hash=f"h{n}",
        relevance=topic.score,
        matched=topic.matched,
    )


@pytest.fixture
async def store(tmp_path: object) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    await s.add_feed(Feed(url="https://feeds.example/rss", title="Feeds Example"))
    stored = await s.upsert_stories(
        [
            _story(
                1,
                "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI",
                SORA_ID_TEXT,
                "id",
                "Kabar Kreatif",
                5,
            ),
            _story(
                2,
                "Artists Leak Access to OpenAI's Sora Video Tool in Protest",
                SORA_EN_TEXT,
                "en",
                "Arts Desk",
                6,
            ),
            _story(
                3,
                "Record Labels Sue AI Music Generators Suno and Udio",
                SUNO_EN_TEXT,
                "en",
                "Techline",
                2,
            ),
            _story(
                4,
                "Banjir Rendam Jakarta, Ratusan Warga Mengungsi",
                FLOOD_ID_TEXT,
                "id",
                "Kabar Kota",
                1,
            ),
        ]
    )
    assert len(stored) == 4
    yield s
    await s.close()


def make_core(store: SQLStore, **kw: object) -> CommandCore:
    return CommandCore(
        store,
        fetcher_factory=lambda: Fetcher(allow_private=False, allow_loopback=True, timeout_s=5),
        summarizer=ExtractiveSummarizer(),
        scorer=default_scorer(),
        now=lambda: NOW,
        **kw,  # type: ignore[arg-type]
    )


def inv(
    command: str,
    args: str = "",
    *,
    admin: bool = True,
    locale: str | None = "id",
    channel: ChannelRef = CHAT,
    op: bool = False,
    attachment: Attachment | None = None,
) -> Invocation:
    return Invocation(
        command=command,
        args=args,
        channel=channel,
        user_id="u1",
        is_admin=admin,
        locale=locale,
        is_operator=op,
        attachment=attachment,
    )


def file_of(data: bytes, name: str = "feeds.opml") -> Attachment:
    """An attachment as an adapter hands it over: read up to a cap, TooLarge beyond it."""

    async def read(max_bytes: int) -> bytes:
        if len(data) > max_bytes:
            raise TooLarge(f"{len(data)} bytes > {max_bytes}")
        return data

    return Attachment(filename=name, size=None, read=read)


async def run(core: CommandCore, command: str, args: str = "", **kw: object) -> Reply:
    return await core.handle(inv(command, args, **kw))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- argument parsing


def test_split_args_keeps_apostrophes_and_groups_quotes() -> None:
    assert split_args("mingguan jum'at 09:00") == ["mingguan", "jum'at", "09:00"]
    assert split_args('+"stable diffusion" -nft') == ["+stable diffusion", "-nft"]
    assert split_args("“seni rupa” +ai") == ["seni rupa", "+ai"]
    assert split_args('+"unclosed -nft') == ['+"unclosed', "-nft"]


def test_parse_keywords() -> None:
    assert parse_keywords(["+MidJourney", "-nft,+sora", "+midjourney"]) == (
        "+midjourney",
        "-nft",
        "+sora",
    )
    with pytest.raises(CommandError) as info:
        parse_keywords(["+x"])
    assert info.value.key == "bad_keywords"
    with pytest.raises(CommandError):
        parse_keywords([f"+kw{i}" for i in range(25)])


# ----------------------------------------------------------------------------- subscribe


async def test_subscribe_in_indonesian_with_schedule_and_keywords(store: SQLStore) -> None:
    core = make_core(store)
    reply = await run(core, "subscribe", "id daily 08:00 +midjourney -nft")
    assert not reply.error
    assert reply.lang == "id"
    assert "Berlangganan" in reply.text
    assert "setiap hari 08:00" in reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert (sub.lang, sub.schedule, sub.tz) == ("id", "daily 08:00", "Asia/Jakarta")
    assert sub.keywords == ("+midjourney", "-nft")
    # NOW is exactly 08:00 WIB, so the next run is tomorrow's.
    assert sub.next_run_at == datetime(2026, 11, 25, 8, 0, tzinfo=JKT)
    assert sub.created_by == "u1"


async def test_subscribe_in_english_with_indonesian_schedule_alias(store: SQLStore) -> None:
    core = make_core(store)
    reply = await run(core, "langganan", "setiap 6j en", locale="en-US")
    assert not reply.error
    assert reply.lang == "en"
    assert "Subscribed" in reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert (sub.lang, sub.schedule) == ("en", "every 6h")
    assert sub.next_run_at == datetime(2026, 11, 24, 12, 0, tzinfo=JKT)


async def test_subscribe_defaults_to_user_locale_and_daily(store: SQLStore) -> None:
    core = make_core(store)
    reply = await run(core, "subscribe", "", locale="en")
    assert not reply.error
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert (sub.lang, sub.schedule, sub.keywords) == ("en", "daily 08:00", ())


@pytest.mark.parametrize(("locale", "phrase"), [("id", "Hanya admin"), ("en", "Only admins")])
async def test_non_admin_cannot_subscribe(store: SQLStore, locale: str, phrase: str) -> None:
    reply = await run(make_core(store), "subscribe", "id daily 08:00", admin=False, locale=locale)
    assert reply.error
    assert reply.ephemeral
    assert phrase in reply.text
    assert await store.get_subscription(CHAT) is None


@pytest.mark.parametrize(
    ("locale", "args", "phrase"),
    [
        ("id", "id daily 25:00", "harian 08:00"),
        ("en", "en daily 25:00", "daily 08:00"),
        ("id", "harian", "Contoh"),
        ("en", "every 5m", "at most every 15 minutes"),
        ("id", "+x", "Kata kunci"),
        ("en", '+"unclosed', "Keyword"),
    ],
)
async def test_subscribe_bad_arguments_get_a_helpful_reply(
    store: SQLStore, locale: str, args: str, phrase: str
) -> None:
    reply = await run(make_core(store), "subscribe", args, locale=locale)
    assert reply.error
    assert reply.ephemeral
    assert reply.lang == locale
    assert phrase in reply.text
    assert await store.get_subscription(CHAT) is None


async def test_resubscribe_updates_keeps_keywords_and_unpauses(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "subscribe", "id daily 08:00 +sora")
    assert not (await run(core, "settings", "pause")).error
    reply = await run(core, "subscribe", "weekly mon 09:00")
    assert "diperbarui" in reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.schedule == "weekly mon 09:00"
    assert sub.keywords == ("+sora",)
    assert not sub.paused


async def test_subscribe_a_channel_target_needs_admin_there(store: SQLStore) -> None:
    asked: list[tuple[ChannelRef, str]] = []

    async def admin_check(target: ChannelRef, user_id: str) -> bool:
        asked.append((target, user_id))
        return target.id == "@seni_ai"

    core = make_core(store, admin_check=admin_check)
    ok = await run(core, "subscribe", "@seni_ai en instant")
    assert not ok.error
    target = ChannelRef("telegram", "@seni_ai")
    sub = await store.get_subscription(target)
    assert sub is not None
    assert (sub.lang, sub.schedule, sub.next_run_at) == ("en", "instant", None)
    assert await store.get_subscription(CHAT) is None
    assert asked == [(target, "u1")]

    refused = await run(core, "subscribe", "-1001234567890 id")
    assert refused.error
    assert "-1001234567890" in refused.text
    assert await store.get_subscription(ChannelRef("telegram", "-1001234567890")) is None

    without = await run(make_core(store), "subscribe", "@seni_ai id")
    assert without.error
    assert "tidak didukung" in without.text


async def test_channel_target_is_stored_by_its_resolved_id(store: SQLStore) -> None:
    async def admin_check(target: ChannelRef, user_id: str) -> bool:
        return target.id == "-1009999"

    async def resolve(name: str) -> ChannelRef | None:
        return ChannelRef("telegram", "-1009999") if name == "@seni_ai" else None

    core = make_core(store, admin_check=admin_check, resolve_target=resolve)
    ok = await run(core, "subscribe", "@seni_ai id daily 07:00")
    assert not ok.error, ok.text
    sub = await store.get_subscription(ChannelRef("telegram", "-1009999"))
    assert sub is not None
    assert sub.schedule == "daily 07:00"
    assert not (await run(core, "settings", "@seni_ai max 3")).error
    sub = await store.get_subscription(ChannelRef("telegram", "-1009999"))
    assert sub is not None
    assert sub.max_stories == 3
    unknown = await run(core, "unsubscribe", "@nobody_here", locale="en")
    assert unknown.error
    assert "not found" in unknown.text
    assert await core.source_choices(CHAT) == [("Feeds Example (feeds.example)", "#1")]


async def test_unsubscribe(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "subscribe", "id")
    assert (await run(core, "unsubscribe", admin=False)).error  # admins only
    assert await store.get_subscription(CHAT) is not None
    reply = await run(core, "unsubscribe")
    assert not reply.error
    assert await store.get_subscription(CHAT) is None
    again = await run(core, "unsubscribe", locale="en")
    assert again.error
    assert "not subscribed" in again.text


# ----------------------------------------------------------------------------- settings


async def test_settings_show_and_change_each_field(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "subscribe", "id daily 08:00")

    shown = await run(core, "settings", admin=False)
    assert not shown.error
    assert "Jadwal: setiap hari 08:00" in shown.text
    assert "Zona waktu: Asia/Jakarta" in shown.text

    reply = await run(core, "settings", "lang en")
    assert reply.lang == "en"
    assert "Language: English" in reply.text

    reply = await run(core, "settings", "schedule every 6h")
    assert not reply.error
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.schedule == "every 6h"
    assert sub.next_run_at == datetime(2026, 11, 24, 12, 0, tzinfo=JKT)

    reply = await run(core, "settings", "tz wita")
    assert not reply.error
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.tz == "Asia/Makassar"
    assert sub.next_run_at == datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Asia/Makassar"))

    await run(core, "settings", "keywords +midjourney -nft")
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.keywords == ("+midjourney", "-nft")
    await run(core, "settings", "keywords clear")
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.keywords == ()

    await run(core, "settings", "max 5")
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.max_stories == 5

    reply = await run(core, "settings", "pause")
    assert "paused" in reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.paused
    reply = await run(core, "settings", "resume")
    assert "resumed" in reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert not sub.paused


@pytest.mark.parametrize(
    ("args", "phrase_en"),
    [
        ("max 50", "from 1 to 20"),
        ("max lima", "from 1 to 20"),
        ("lang fr", "id or en"),
        ("tz Mars/Base", "Unknown time zone"),
        ("schedule sometimes", "daily 08:00"),
        ("colour blue", "Unknown setting"),
    ],
)
async def test_settings_bad_arguments(store: SQLStore, args: str, phrase_en: str) -> None:
    core = make_core(store)
    await run(core, "subscribe", "en")
    reply = await run(core, "settings", args)
    assert reply.error
    assert reply.ephemeral
    assert phrase_en in reply.text


async def test_settings_change_needs_admin_and_a_subscription(store: SQLStore) -> None:
    core = make_core(store)
    missing = await run(core, "settings", "max 5")
    assert missing.error
    assert "/subscribe" in missing.text
    await run(core, "subscribe", "id")
    refused = await run(core, "settings", "max 5", admin=False)
    assert refused.error
    assert "Hanya admin" in refused.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.max_stories == 10


# ----------------------------------------------------------------------------- lookups


async def test_digest_now_uses_channel_settings(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "subscribe", "en")
    reply = await run(core, "digest", admin=False)
    assert not reply.error
    assert reply.digest is not None
    assert reply.digest.lang == "en"
    titles = [e.story.title for e in reply.digest.entries]
    assert any("Suno" in t for t in titles)
    assert not any("Banjir" in t for t in titles)
    assert reply.digest.window_end == NOW
    assert reply.digest.window_start == NOW - timedelta(hours=24)


async def test_digest_without_subscription_is_in_user_language(store: SQLStore) -> None:
    reply = await run(make_core(store), "ringkasan", admin=False, locale="id")
    assert reply.digest is not None
    assert reply.digest.lang == "id"
    assert "Ringkasan" in reply.text


async def test_latest(store: SQLStore) -> None:
    reply = await run(make_core(store), "latest", "2", admin=False)
    assert not reply.error
    assert len(reply.items) == 2
    assert all(item.ref and item.ref.startswith("#") for item in reply.items)
    assert reply.items[0].title.startswith("Record Labels")  # newest relevant first


@pytest.mark.parametrize(("arg", "locale"), [("0", "id"), ("21", "en"), ("abc", "en")])
async def test_latest_bad_number(store: SQLStore, arg: str, locale: str) -> None:
    reply = await run(make_core(store), "latest", arg, locale=locale)
    assert reply.error
    assert "1" in reply.text
    assert "20" in reply.text
    assert "/latest 5" in reply.text


async def test_search_finds_stored_stories_in_both_languages(store: SQLStore) -> None:
    reply = await run(make_core(store), "search", "sora", admin=False)
    assert not reply.error
    titles = {item.title for item in reply.items}
    assert "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI" in titles
    assert "Artists Leak Access to OpenAI's Sora Video Tool in Protest" in titles
    none = await run(make_core(store), "cari", "zeppelin", locale="en")
    assert not none.error
    assert none.items == []
    assert "zeppelin" in none.text
    empty = await run(make_core(store), "search", "  ", locale="en")
    assert empty.error
    assert "/search" in empty.text


async def test_story_shows_quick_facts(store: SQLStore) -> None:
    found = await store.search("Suno")
    story_id = found[0].id
    reply = await run(make_core(store), "story", f"#{story_id}", locale="en")
    assert not reply.error
    lines = reply.text.splitlines()
    assert lines[0] == "Record Labels Sue AI Music Generators Suno and Udio"
    assert sum(line.startswith("• ") for line in lines) >= 2
    assert "Techline" in reply.text
    assert reply.items[0].url == "https://news.example/3"


@pytest.mark.parametrize(
    ("args", "phrase"),
    [("999999", "not found"), ("abc", "not a story number"), ("", "Example: /story 123")],
)
async def test_story_bad_arguments(store: SQLStore, args: str, phrase: str) -> None:
    reply = await run(make_core(store), "story", args, locale="en")
    assert reply.error
    assert phrase in reply.text


async def test_summary_of_a_local_article(store: SQLStore, feed_server: FeedServer) -> None:
    url = feed_server.url(feed_server.add_bytes("/a.html", ARTICLE, content_type="text/html"))
    reply = await run(make_core(store), "summary", url, admin=False, locale="en")
    assert not reply.error, reply.text
    bullets = [line for line in reply.text.splitlines() if line.startswith("• ")]
    assert 2 <= len(bullets) <= 4
    assert "Relevant to AI & artists" in reply.text
    assert reply.items[0].url == url


async def test_summary_falls_back_when_the_summarizer_fails(
    store: SQLStore, feed_server: FeedServer
) -> None:
    class Failing:
        name = "failing"

        async def summarize(
            self,
            *,
            title: str,
            text: str,
            lang: str,
            target_lang: str | None = None,
            chat: str | None = None,
        ) -> Summary:
            raise SummarizeError("backend down")

    url = feed_server.url(feed_server.add_bytes("/a.html", ARTICLE, content_type="text/html"))
    core = make_core(store)
    core._summarizer = Failing()
    reply = await run(core, "summary", url)
    assert not reply.error
    assert sum(line.startswith("• ") for line in reply.text.splitlines()) >= 2


@pytest.mark.parametrize(
    ("args", "locale", "phrase"),
    [
        ("", "en", "Example: /summary"),
        ("ftp://example.org/x", "en", "not an http(s) web address"),
        ("bukan-url", "id", "bukan alamat web"),
        ("http://10.0.0.1/secret", "en", "cannot be opened"),
        ("http://169.254.169.254/latest/meta-data", "id", "tidak bisa dibuka"),
    ],
)
async def test_summary_bad_input(store: SQLStore, args: str, locale: str, phrase: str) -> None:
    reply = await run(make_core(store), "summary", args, locale=locale)
    assert reply.error
    assert phrase in reply.text


async def test_summary_http_error_and_no_text(store: SQLStore, feed_server: FeedServer) -> None:
    core = make_core(store)
    missing = feed_server.url(feed_server.add_status("/gone", 404))
    reply = await run(core, "summary", missing, locale="en")
    assert reply.error
    assert "404" in reply.text
    empty = feed_server.url(
        feed_server.add_bytes("/e.html", b"<html><body></body></html>", content_type="text/html")
    )
    reply = await run(core, "summary", empty, locale="en")
    assert reply.error
    assert "No article text" in reply.text


# ----------------------------------------------------------------------------- feeds, status


async def test_feeds_list_add_remove(store: SQLStore, feed_server: FeedServer) -> None:
    core = make_core(store)
    listed = await run(core, "feeds", admin=False, locale="en")
    assert listed.text == "1 sources for this chat:"
    # Title and host only, no link: a non-operator never gets a feed's full address.
    assert [(i.title, i.url) for i in listed.items] == [("Feeds Example (feeds.example)", None)]
    assert listed.items[0].detail == "default · ok"

    url = feed_server.url(feed_server.add_bytes("/rss.xml", RSS))
    refused = await run(core, "feeds", f"add {url}", admin=False)
    assert refused.error
    assert "Hanya admin" in refused.text
    assert await store.get_feed(url) is None

    added = await run(core, "feeds", f"add {url}")
    assert not added.error, added.text
    assert added.text == "Sumber ditambahkan: Kabar Seni AI (127.0.0.1)"
    feed = await store.get_feed(url)
    assert feed is not None
    assert feed.title == "Kabar Seni AI"
    assert not feed.is_default  # a chat's addition, not everyone's
    assert await store.chat_source_urls(CHAT) == {"https://feeds.example/rss", url}
    assert await store.chat_source_urls(OTHER) == {"https://feeds.example/rss"}

    again = await run(core, "feeds", f"add {url}")
    assert again.error
    assert "sudah ada" in again.text

    page = feed_server.url(feed_server.add_bytes("/p.html", ARTICLE, content_type="text/html"))
    not_feed = await run(core, "feeds", f"add {page}", locale="en")
    assert not_feed.error
    assert "not an RSS/Atom feed" in not_feed.text

    removed = await run(core, "feeds", f"remove {url}")
    assert not removed.error
    assert await store.chat_source_urls(CHAT) == {"https://feeds.example/rss"}
    gone = await run(core, "feeds", f"remove {url}", locale="en")
    assert gone.error
    assert "not found" in gone.text

    # Removing a default switches it off for this chat only; adding it back switches it on.
    off = await run(core, "feeds", "remove https://feeds.example/rss", locale="en")
    assert (
        off.text == "Default source switched off for this chat only: Feeds Example (feeds.example)"
    )
    assert await store.chat_source_urls(CHAT) == frozenset()
    assert await store.chat_source_urls(OTHER) == {"https://feeds.example/rss"}
    assert (await run(core, "latest", locale="en")).text == t("latest_none", "en")
    assert (await run(core, "latest", locale="en", channel=OTHER)).items
    on = await run(core, "feeds", "add https://feeds.example/rss", locale="en")
    assert on.text.startswith("Default source switched back on for this chat")


async def test_feeds_readonly_and_private_urls(store: SQLStore) -> None:
    ro = make_core(store, feeds_writable=False)
    reply = await run(ro, "feeds", "default add https://example.org/rss", locale="en", op=True)
    assert reply.error
    assert "configuration file" in reply.text
    core = make_core(store)
    blocked = await run(core, "feeds", "add http://192.168.1.1/rss", locale="en")
    assert blocked.error
    assert blocked.text == t("url_refused", "en")
    assert await store.get_feed("http://192.168.1.1/rss") is None
    usage = await run(core, "feeds", "frobnicate", locale="en")
    assert usage.error
    assert "feeds add" in usage.text


SECRET_FEED = "/paid.xml?token=SECRET"


def _secret_url(server: FeedServer) -> str:
    base = server.url("/paid.xml")
    return base.replace("http://", "http://user:pass@") + "?token=SECRET"


async def test_only_operators_change_defaults_and_see_urls(
    store: SQLStore, feed_server: FeedServer
) -> None:
    feed_server.add_bytes("/paid.xml", RSS)
    url = _secret_url(feed_server)
    core = make_core(store)
    # A chat admin (or a stranger in a DM) is refused the defaults, in the chat's language.
    refused = await run(core, "feeds", f"default add {url}", locale="en")
    assert refused.error
    assert refused.text == "Only Warta's operators may use /feeds default."
    assert await store.get_feed(url) is None
    assert (await run(core, "feeds", "default", locale="en")).error

    added = await run(core, "feeds", f"default add {url}", locale="en", op=True)
    assert not added.error, added.text
    assert url in added.text  # operators see the full address
    for chat in (CHAT, OTHER):
        assert url in await store.chat_source_urls(chat)

    # Everyone else: title and host, never the token or the credentials.
    for reply in (
        await run(core, "feeds", locale="en"),
        await run(core, "status", locale="en"),
        await run(core, "feeds", f"add {url}", locale="en"),
    ):
        shown = reply.text + "".join(f"{i.title}{i.url}{i.detail}" for i in reply.items)
        assert "SECRET" not in shown
        assert "pass" not in shown
    assert "Kabar Seni AI (127.0.0.1)" in "".join(
        i.title for i in (await run(core, "feeds", locale="en")).items
    )
    assert await core.source_choices(CHAT) == [
        ("Feeds Example (feeds.example)", "#1"),
        ("Kabar Seni AI (127.0.0.1)", "#2"),
    ]
    op_choices = await core.source_choices(CHAT, is_operator=True)
    assert op_choices[1] == (url, "#2")
    op_list = await run(core, "feeds", locale="en", op=True)
    assert [i.url for i in op_list.items] == ["https://feeds.example/rss", url]

    # An operator's status covers the instance and how many chats added each feed.
    await run(core, "feeds", "remove #2", locale="en", channel=OTHER)  # switched off there
    assert url not in await store.chat_source_urls(OTHER)
    removed = await run(core, "feeds", f"default remove {url}", locale="en", op=True)
    assert removed.text.startswith("No longer a default source")
    assert url not in await store.chat_source_urls(CHAT)


async def test_per_chat_cap_and_a_stranger_changes_only_their_dm(
    store: SQLStore, feed_server: FeedServer
) -> None:
    core = make_core(store, chat_sources_max=1)
    one = feed_server.url(feed_server.add_bytes("/one.xml", RSS))
    two_path = feed_server.add_bytes("/two.xml", RSS)
    dm = ChannelRef("telegram", "9001")
    assert not (await run(core, "feeds", f"add {one}", channel=dm)).error
    full = await run(core, "feeds", f"add {feed_server.url(two_path)}", channel=dm, locale="en")
    assert full.error
    assert full.text == "This chat already added 1 sources (the limit). Remove one first."
    assert feed_server.stats(two_path).requests == 0  # refused before fetching anything
    assert not (await run(core, "feeds", "remove https://feeds.example/rss", channel=dm)).error
    # The stranger's DM changed nothing for the group.
    assert await store.chat_source_urls(CHAT) == {"https://feeds.example/rss"}
    assert await store.chat_source_urls(dm) == {one}


async def test_opml_export_and_import_through_the_core(
    store: SQLStore, feed_server: FeedServer
) -> None:
    core = make_core(store)
    feed_server.add_bytes("/paid.xml", RSS)
    secret = _secret_url(feed_server)
    good = feed_server.url(feed_server.add_bytes("/good.xml", RSS))
    page = feed_server.url(feed_server.add_bytes("/p.html", ARTICLE, content_type="text/html"))
    opml = to_opml(
        [Feed(url=good, title="Good"), Feed(url=page, title="Page"), Feed(url=secret, title="Paid")]
    ).replace(b"</body>", b'<outline text="LAN" xmlUrl="http://192.168.1.1/rss"/></body>')
    imported = await run(core, "feeds", "import", locale="en", attachment=file_of(opml))
    assert imported.text == "OPML import: 2 added, 0 already there, 2 skipped."
    lines = [(i.title, i.detail) for i in imported.items]
    assert lines[0] == ("Good (127.0.0.1)", "added")
    assert lines[1][0] == "Page (127.0.0.1)"
    assert lines[1][1] is not None
    assert lines[1][1].startswith("skipped: That address is not an RSS/Atom feed")
    assert lines[2] == ("Paid (127.0.0.1)", "added")
    assert lines[3][0] == "LAN (192.168.1.1)"
    assert lines[3][1] is not None
    assert "cannot be opened" in lines[3][1]
    assert await store.chat_source_urls(CHAT) == {"https://feeds.example/rss", good, secret}
    again = await run(core, "feeds", "import", locale="en", attachment=file_of(opml))
    assert again.text == "OPML import: 0 added, 2 already there, 2 skipped."

    exported = await run(core, "feeds", "export", locale="en")
    assert exported.file is not None
    assert exported.file.filename.endswith(".opml")
    assert b"SECRET" not in exported.file.data
    assert b"pass" not in exported.file.data
    assert [s.url for s in parse_opml(exported.file.data)] == ["https://feeds.example/rss", good]
    assert b'<outline text="Kabar Seni AI (127.0.0.1)" />' in exported.file.data
    assert "1 sources with a private address" in exported.text
    op_export = await run(core, "feeds", "export", locale="en", op=True)
    assert op_export.file is not None
    assert secret in [s.url for s in parse_opml(op_export.file.data)]

    # The guards: no file, too large, entity declarations, not OPML, non-admins.
    assert (await run(core, "feeds", "import", locale="en")).text.startswith("Attach an OPML")
    big = file_of(b"<opml>" + b" " * (OPML_MAX_BYTES + 1) + b"</opml>")
    assert "too large" in (await run(core, "feeds", "import", locale="en", attachment=big)).text
    bomb = b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]><opml>&a;</opml>'
    refused = await run(core, "feeds", "import", locale="en", attachment=file_of(bomb))
    assert "entity" in refused.text
    junk = await run(core, "feeds", "import", locale="en", attachment=file_of(b"<opml"))
    assert junk.text.startswith("That file is not a readable OPML file")
    member = await run(core, "feeds", "import", admin=False, attachment=file_of(opml))
    assert member.error
    assert "Hanya admin" in member.text


async def test_status_shows_poll_failures_and_next_digest(store: SQLStore) -> None:
    core = make_core(store)
    await store.set_meta("last_poll_at", (NOW - timedelta(minutes=5)).isoformat())
    await store.add_feed(Feed(url="https://broken.example/rss"))
    await store.add_feed(Feed(url="https://dead.example/rss"))
    broken = await store.get_feed("https://broken.example/rss")
    dead = await store.get_feed("https://dead.example/rss")
    assert broken is not None
    assert dead is not None
    broken.failures, broken.last_error = 3, "HTTP 503"
    dead.disabled_reason = "HTTP 410 Gone"
    await store.save_feeds([broken, dead])
    await run(core, "subscribe", "en daily 08:00")

    reply = await run(core, "status", admin=False)
    assert not reply.error
    assert "Last poll: 24 Nov 2026 07:55 (Asia/Jakarta)" in reply.text
    assert "This chat's sources: 3 (1 failing, 1 disabled)" in reply.text
    assert "dead.example: disabled — HTTP 410 Gone" in reply.text
    assert "https://" not in reply.text  # addresses are for operators
    assert "failed 3× — HTTP 503" in reply.text
    assert "Next digest for this chat: 25 Nov 2026 08:00 (Asia/Jakarta)" in reply.text
    # The broken feeds are switched off here: this chat's status no longer counts them...
    await run(core, "feeds", "remove https://dead.example/rss")
    await run(core, "feeds", "remove https://broken.example/rss")
    mine = await run(core, "status", admin=False)
    assert "This chat's sources: 1 (0 failing, 0 disabled)" in mine.text
    # ...while an operator sees the whole instance, with full addresses.
    whole = await run(core, "status", op=True)
    assert "Sources: 3 (1 failing, 1 disabled)" in whole.text
    assert "https://dead.example/rss: disabled — HTTP 410 Gone" in whole.text


async def test_status_shows_a_paused_subscriptions_reason(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "subscribe", "id")
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.id is not None
    await store.pause_subscription(sub.id, "PermanentDeliveryError: chat not found")
    reply = await run(core, "status")
    assert "Belum pernah".lower() in reply.text.lower()
    assert "dijeda: PermanentDeliveryError: chat not found" in reply.text
    shown = await run(core, "settings")
    assert "chat not found" in shown.text


# ----------------------------------------------------------------------------- help, errors


async def test_help_and_unknown_commands(store: SQLStore) -> None:
    core = make_core(store)
    helped = await run(core, "help", locale="en")
    assert "/subscribe" in helped.text
    assert "/summary https://" in helped.text
    unknown = await run(core, "frobnicate@WartaBot", locale="id")
    assert unknown.text.startswith("Perintah /frobnicate tidak dikenal")
    assert "/langganan" in unknown.text
    assert CommandCore.canonical_name("/Cari@WartaBot") == "search"


async def test_reply_language_follows_the_subscription(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "subscribe", "en")
    reply = await run(core, "help", locale="id")
    assert reply.lang == "en"


async def test_unexpected_error_becomes_a_generic_reply(
    store: SQLStore, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "broken"

        async def summarize(
            self,
            *,
            title: str,
            text: str,
            lang: str,
            target_lang: str | None = None,
            chat: str | None = None,
        ) -> Summary:
            raise RuntimeError("bug")

    url = feed_server.url(feed_server.add_bytes("/a.html", ARTICLE, content_type="text/html"))
    core = make_core(store)
    core._summarizer = Broken()
    reply = await run(core, "summary", url, locale="en")
    assert reply.error
    assert reply.text == "Sorry, something went wrong. Please try again in a moment."
    assert "RuntimeError: bug" in caplog.text


async def test_channel_moved_hook_moves_the_subscription(store: SQLStore) -> None:
    core = make_core(store)
    old, new = ChannelRef("telegram", "-100"), ChannelRef("telegram", "-1001234")
    await run(core, "subscribe", "id daily 08:00", channel=old)
    await core.channel_moved(old, new)
    assert await store.get_subscription(old) is None
    moved = await store.get_subscription(new)
    assert moved is not None
    assert moved.schedule.startswith("daily")


# ----------------------------------------------------------------------------- refused URLs

# Spellings of 127.0.0.1 that inet_aton accepts; the command core's fetcher allows loopback
# (make_core: allow_loopback=True), so these are refused for their spelling alone.
ODD_LOOPBACK = ["2130706433", "127.1", "017700000001", "0177.0.0.1", "127.000.000.001", "0x7f.1"]


@pytest.mark.parametrize("host", ODD_LOOPBACK)
@pytest.mark.parametrize("locale", ["id", "en"])
async def test_summary_and_feeds_add_refuse_odd_ipv4_spellings(
    store: SQLStore, feed_server: FeedServer, host: str, locale: str
) -> None:
    feed_server.add_bytes("/a.html", ARTICLE, content_type="text/html")
    feed_server.add_bytes("/feed.xml", RSS)
    core = make_core(store)
    summary = await run(core, "summary", f"http://{host}:{feed_server.port}/a.html", locale=locale)
    assert summary.error
    assert summary.text == t("url_refused", locale)
    url = f"http://{host}:{feed_server.port}/feed.xml"
    added = await run(core, "feeds", f"add {url}", locale=locale)
    assert added.error
    assert added.text == t("url_refused", locale)
    assert await store.get_feed(url) is None
    assert feed_server.total_requests == 0


async def test_summary_refuses_a_redirect_to_decimal_loopback(
    store: SQLStore, feed_server: FeedServer
) -> None:
    target = feed_server.add_bytes("/a.html", ARTICLE, content_type="text/html")
    hop = feed_server.add_redirect("/go", f"http://2130706433:{feed_server.port}{target}")
    core = make_core(store)
    reply = await run(core, "summary", feed_server.url(hop), locale="en")
    assert reply.text == t("url_refused", "en")
    feed_hop = feed_server.add_redirect("/go-feed", f"http://127.1:{feed_server.port}/feed.xml")
    added = await run(core, "feeds", f"add {feed_server.url(feed_hop)}", locale="en")
    assert added.text == t("url_refused", "en")
    assert feed_server.stats(hop).requests == 1
    assert feed_server.stats(feed_hop).requests == 1
    assert feed_server.stats(target).requests == 0
    assert feed_server.stats("/feed.xml").requests == 0
    # Control: the same redirect to the canonical spelling is followed.
    ok_hop = feed_server.add_redirect("/go-ok", f"http://127.0.0.1:{feed_server.port}{target}")
    assert not (await run(core, "summary", feed_server.url(ok_hop), locale="en")).error


@pytest.mark.parametrize("locale", ["id", "en"])
async def test_private_unresolvable_and_odd_urls_get_the_same_reply(
    store: SQLStore, caplog: pytest.LogCaptureFixture, locale: str
) -> None:
    # A user-URL fetcher with a DNS table: intranet.test is private, nowhere.test does not exist.
    dns = StaticResolver({"intranet.test": ["10.1.2.3"]})
    core = make_core(store)
    core._fetcher_factory = lambda: Fetcher(allow_private=False, timeout_s=5, resolver=dns)
    urls = [
        "http://intranet.test/wiki",  # resolves to a private address
        "http://nowhere.test/wiki",  # does not resolve
        "http://10.1.2.3/wiki",  # a private literal
        "http://2130706433/wiki",  # an odd spelling
        "http://[fec0::1]/wiki",  # site-local
        "http://user:hunter2@intranet.test/feed?token=s3cret",
    ]
    caplog.set_level("INFO", logger="bot.commands")
    for url in urls:
        for command, args in (("summary", url), ("feeds", f"add {url}")):
            reply = await run(core, command, args, locale=locale)
            assert reply.error, url
            assert reply.text == t("url_refused", locale), (command, url)
    assert dns.lookups.count("intranet.test") == 4
    assert dns.lookups.count("nowhere.test") == 2
    # The log keeps the detail, without credentials or query string.
    logged = caplog.text
    assert "does not resolve" in logged
    assert "resolves to a private address" in logged
    assert "non-canonical IPv4" in logged
    assert "hunter2" not in logged
    assert "s3cret" not in logged
