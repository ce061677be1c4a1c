"""Polling end to end: a real loopback HTTP server, the real fetcher and parser, SQLite on disk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import poll_due
from bot.models import Feed
from bot.store import SQLStore, open_store
from tests import feedserver
from tests.feedserver import FeedServer

feed_server = feedserver.feed_server

NOW = datetime.now(UTC).replace(microsecond=0)


def rss(items: list[tuple[str, str, str]], *, title: str = "Kabar Kreatif") -> bytes:
    when = (NOW - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S +0000")

    def item(guid: str, head: str, body: str) -> str:
        return (
            f"<item><guid>{guid}</guid><title>{head}</title>"
            f"<link>https://kabar.example/{guid}?utm_source=rss</link>"
            f"<pubDate>{when}</pubDate>"
            f"<description><![CDATA[<p>{body}</p>]]></description></item>"
        )

    inner = "".join(item(*i) for i in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://kabar.example/</link><language>id</language>{inner}</channel></rss>"
    ).encode()


SORA = (
    "sora",
    "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI",
    "Sekelompok seniman membocorkan akses ke Sora, alat video AI milik OpenAI, lewat Hugging "
    "Face. Mereka menuntut OpenAI membayar seniman atas karya kreatif mereka.",
)
FLOOD = (
    "banjir",
    "Banjir Rendam Jakarta Timur",
    "Banjir merendam permukiman di Jakarta Timur. Ratusan warga mengungsi ke posko.",
)
SUNO = (
    "suno",
    "Label Rekaman Gugat Suno dan Udio atas Hak Cipta Lagu",
    "Label rekaman besar menggugat pembuat musik AI Suno dan Udio karena melatih model dengan "
    "rekaman lagu musisi tanpa izin.",
)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    yield s
    await s.close()


async def make_due(store: SQLStore) -> None:
    feeds = await store.list_feeds()
    for f in feeds:
        f.next_check_at = NOW
    await store.save_feeds(feeds)


async def test_poll_baseline_then_304_then_new_story(
    store: SQLStore, feed_server: FeedServer
) -> None:
    path = feed_server.add_bytes("/kabar.xml", rss([SORA, FLOOD]))
    feed_server.add_status("/gone.xml", 404)
    feed_server.add_bytes(
        "/page.html", b"<html><body>not a feed</body></html>", content_type="text/html"
    )
    for p in (path, "/gone.xml", "/page.html"):
        await store.add_feed(Feed(url=feed_server.url(p), next_check_at=NOW))

    async with Fetcher() as fetcher:
        first = await poll_due(store, fetcher, now=NOW)
        assert first.feeds == 3
        assert first.failed == 2  # the 404 and the HTML page; the good feed still went through
        assert first.baseline_stories == 2
        assert first.new_stories == []  # a new feed's first fetch is a baseline

        feeds = {f.url: f for f in await store.list_feeds()}
        gone = feeds[feed_server.url("/gone.xml")]
        assert gone.failures == 1
        assert gone.last_error
        assert "404" in gone.last_error
        good = feeds[feed_server.url(path)]
        assert good.failures == 0
        assert good.etag
        assert good.title == "Kabar Kreatif"
        assert good.next_check_at is not None
        assert good.next_check_at > NOW

        stored = await store.stories_between(NOW - timedelta(days=1), NOW + timedelta(hours=1))
        by_title = {s.title: s for s in stored}
        sora = by_title[SORA[1]]
        assert sora.url == "https://kabar.example/sora"  # tracking parameter dropped
        assert sora.lang == "id"
        assert sora.relevance is not None
        assert sora.relevance > (by_title[FLOOD[1]].relevance or 0.0)
        assert any(m.endswith("sora") for m in sora.matched)
        assert 1 <= len(sora.bullets) <= 4

        # Unchanged: the server answers 304 and nothing is parsed or stored.
        await make_due(store)
        second = await poll_due(store, fetcher, now=NOW)
        assert second.not_modified == 1
        assert feed_server.stats(path).not_modified == 1
        assert second.new_stories == []

        # A new item appears: only it is new.
        feed_server.set_body(path, rss([SUNO, SORA, FLOOD]))
        await make_due(store)
        third = await poll_due(store, fetcher, now=NOW)
        assert [s.title for s in third.new_stories] == [SUNO[1]]

        # An edit changes the content hash, not the identity: updated, not new.
        edited = (SORA[0], SORA[1], SORA[2] + " Petisi itu ditandatangani 600 seniman.")
        feed_server.set_body(path, rss([SUNO, edited, FLOOD]))
        await make_due(store)
        fourth = await poll_due(store, fetcher, now=NOW)
        assert fourth.new_stories == []
        assert fourth.updated_stories == 1
        again = await store.stories_between(NOW - timedelta(days=1), NOW + timedelta(hours=1))
        assert len(again) == 3
        assert any("600 seniman" in s.text for s in again)


async def test_unchanged_body_without_validators_skips_parsing(
    store: SQLStore, feed_server: FeedServer
) -> None:
    path = feed_server.add_bytes("/plain.xml", rss([SORA]), etag=False, last_modified=False)
    await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW))
    async with Fetcher() as fetcher:
        await poll_due(store, fetcher, now=NOW)
        await make_due(store)
        report = await poll_due(store, fetcher, now=NOW)
    assert report.fetched == 1
    assert report.unchanged_body == 1
    assert report.not_modified == 0


async def test_not_due_feeds_are_not_polled(store: SQLStore, feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/later.xml", rss([SORA]))
    await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW + timedelta(hours=1)))
    async with Fetcher() as fetcher:
        report = await poll_due(store, fetcher, now=NOW)
    assert report.feeds == 0
    assert feed_server.stats(path).requests == 0


async def test_polled_feeds_are_held_to_public_addresses(
    store: SQLStore, feed_server: FeedServer
) -> None:
    """The app's poller refuses private and loopback addresses unless a setting allows them
    (feeds can be added from chat, and DNS can later point a name at a private address)."""
    from bot.app import App
    from bot.config import Settings

    path = feed_server.add_bytes("/private.xml", rss([SORA]))
    await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW))
    db = "sqlite+aiosqlite:///:memory:"
    async with await App.open(Settings(database_url=db), database_url=db) as app:
        report = await poll_due(store, app.fetcher, now=NOW)
    assert report.failed == 1
    (error,) = report.errors.values()
    assert "loopback" in error
    assert feed_server.stats(path).requests == 0
