"""Commands a person cannot get wrong: every /subscribe word is a language, a schedule or a
marked keyword, or the reply says what each word could have been; /help speaks the chat's
language and every example it shows works.

Real SQLite store, scorer and extractive summarizer. The /summary example's address is not on
this machine, so the page-fetcher seam sends every URL to a loopback article server (the real
Fetcher makes the request); that is the only stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import pytest

from bot.analyze import default_scorer
from bot.commands import CommandCore, Invocation, Reply, parse_keywords
from bot.errors import CommandError
from bot.feeds.fetch import Fetcher
from bot.lang.strings import t
from bot.models import ChannelRef, FetchResult
from bot.store import SQLStore, open_store
from bot.summarize.extractive import ExtractiveSummarizer
from tests import feedserver
from tests.feedserver import FeedServer
from tests.test_commands import ARTICLE, NOW, SORA_EN_TEXT, SORA_ID_TEXT, _story

feed_server = feedserver.feed_server
CHAT = ChannelRef("telegram", "-4002")


@pytest.fixture
async def store(tmp_path: object) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    # Enough stories that the "/story 12" example names one that exists.
    stories = [
        _story(n, f"Seniman dan AI, kabar ke-{n}", SORA_ID_TEXT, "id", "Kabar Kreatif", n)
        if n % 2
        else _story(n, f"Artists and AI, report {n}", SORA_EN_TEXT, "en", "Arts Desk", n)
        for n in range(1, 15)
    ]
    assert len(await s.upsert_stories(stories)) == 14
    yield s
    await s.close()


class ToLoopback:
    """A page fetcher that fetches ``target`` (a loopback page) whatever URL it is given."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.fetcher = Fetcher(allow_private=False, allow_loopback=True, timeout_s=10)
        self.asked: list[str] = []

    async def __aenter__(self) -> Self:
        await self.fetcher.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.fetcher.aclose()

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        self.asked.append(url)
        return await self.fetcher.fetch(self.target, max_bytes=max_bytes)


def make_core(store: SQLStore, article_url: str = "http://127.0.0.1:9/") -> CommandCore:
    return CommandCore(
        store,
        fetcher_factory=lambda: ToLoopback(article_url),
        summarizer=ExtractiveSummarizer(),
        scorer=default_scorer(),
        now=lambda: NOW,
    )


async def run(core: CommandCore, line: str, *, locale: str = "en", admin: bool = True) -> Reply:
    name, _, args = line.lstrip("/").partition(" ")
    return await core.handle(Invocation(name, args.strip(), CHAT, "u1", admin, locale, "group"))


# ----------------------------------------------------------------------------- /subscribe words


@pytest.mark.parametrize(
    ("locale", "wants"),
    [
        (
            "en",
            ['"xx" is not a language (id, en).', '"never" is not a schedule (daily 08:00'],
        ),
        ("id", ['"xx" bukan bahasa (id, en).', '"never" bukan jadwal (harian 08:00']),
    ],
)
async def test_unknown_words_are_refused_with_what_was_expected(
    store: SQLStore, locale: str, wants: list[str]
) -> None:
    reply = await run(make_core(store), "/subscribe xx never", locale=locale)
    assert reply.error
    assert reply.ephemeral
    for want in wants:
        assert want in reply.text
    assert "+midjourney" in reply.text  # a whole working example follows
    assert await store.get_subscription(CHAT) is None


async def test_an_unmarked_word_is_not_silently_a_required_keyword(store: SQLStore) -> None:
    reply = await run(make_core(store), "/subscribe en daily 08:00 sora")
    assert reply.error
    assert '"sora" is not a marked keyword (+sora widens, -sora excludes, !sora is' in reply.text
    assert "schedule" not in reply.text.split("\n")[0]  # the schedule was given already
    assert await store.get_subscription(CHAT) is None


async def test_marked_keywords_in_any_order(store: SQLStore) -> None:
    core = make_core(store)
    reply = await run(core, "/subscribe !sora en +midjourney daily 08:00 -nft")
    assert not reply.error, reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert (sub.lang, sub.schedule) == ("en", "daily 08:00")
    assert sub.keywords == ("sora", "+midjourney", "-nft")  # stored: bare = required
    assert "Keywords: !sora +midjourney -nft" in reply.text  # shown as it is typed


async def test_a_keywords_word_makes_bare_words_required(store: SQLStore) -> None:
    core = make_core(store)
    reply = await run(core, '/subscribe id keywords sora "seni rupa" -nft')
    assert not reply.error, reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.keywords == ("sora", "seni rupa", "-nft")
    reply = await run(core, "/settings kata !midjourney lukisan")
    assert not reply.error, reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.keywords == ("midjourney", "lukisan")


def test_parse_keywords_marks() -> None:
    assert parse_keywords(["!Sora", "+ai,-nft"], bare_required=False) == ("sora", "+ai", "-nft")
    with pytest.raises(CommandError) as info:
        parse_keywords(["sora"], bare_required=False)
    assert info.value.key == "bad_keyword_mark"
    with pytest.raises(CommandError):
        parse_keywords(["!!x"])


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("/settings lang xx", "Choose id or en"),
        ("/settings schedule never", "daily 08:00"),
        ("/settings colour blue", "Unknown setting"),
    ],
)
async def test_settings_words_are_checked_too(store: SQLStore, line: str, phrase: str) -> None:
    core = make_core(store)
    await run(core, "/subscribe en")
    reply = await run(core, line)
    assert reply.error
    assert phrase in reply.text


# ----------------------------------------------------------------------------- /help


def examples(help_text: str) -> list[str]:
    """The command lines /help shows: each line that starts with "/" up to its " — "."""
    return [line.split(" — ", 1)[0] for line in help_text.splitlines() if line.startswith("/")]


INDONESIAN_NAMES = {
    "langganan", "pengaturan", "ringkasan", "terbaru", "cari", "berita", "ringkas", "sumber",
    "status", "statistik", "berhenti",
}  # fmt: skip
ENGLISH_NAMES = {
    "subscribe", "settings", "digest", "latest", "search", "story", "summary", "feeds",
    "status", "stats", "unsubscribe",
}  # fmt: skip


@pytest.mark.parametrize(("locale", "names"), [("id", INDONESIAN_NAMES), ("en", ENGLISH_NAMES)])
async def test_help_lists_the_chat_language_names_and_every_example_works(
    store: SQLStore, feed_server: FeedServer, locale: str, names: set[str]
) -> None:
    article = feed_server.url(feed_server.add_bytes("/a.html", ARTICLE, content_type="text/html"))
    core = make_core(store, article)
    shown = await run(core, "/help", locale=locale)
    assert shown.text == t("help", locale)
    lines = examples(shown.text)
    assert {line.split()[0].lstrip("/") for line in lines} == names
    assert all(CommandCore.canonical_name(n) in core.commands for n in names)
    for line in lines:
        reply = await run(core, line, locale=locale)
        assert not reply.error, f"{line!r} -> {reply.text!r}"
        assert not reply.silent
        if line.split()[0] in ("/langganan", "/subscribe"):
            sub = await store.get_subscription(CHAT)
            assert sub is not None
            assert sub.lang == locale
            assert sub.keywords == ("+midjourney", "-nft")
        if line.split()[0] in ("/ringkas", "/summary"):
            assert sum(b.startswith("• ") for b in reply.text.splitlines()) >= 2
        if line.split()[0] in ("/statistik", "/stats"):
            assert reply.file is not None
            assert reply.file.is_image
            assert reply.file.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert await store.get_subscription(CHAT) is None  # the last example unsubscribed


async def test_settings_takes_marked_keywords_without_the_keywords_word(store: SQLStore) -> None:
    core = make_core(store)
    await run(core, "/subscribe en")
    reply = await run(core, "/settings !sora -nft")
    assert not reply.error, reply.text
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.keywords == ("sora", "-nft")
    refused = await run(core, "/settings +midjourney lukisan")
    assert refused.error
    assert "!lukisan" in refused.text
