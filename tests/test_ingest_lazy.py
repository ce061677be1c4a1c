"""A poll converts HTML to text only for entries the store lacks or holds with another hash.

Real loopback HTTP server, real fetcher and parser, SQLite on disk. The only stand-in is a
counting wrapper around the real html_to_text, to see which entries were converted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import bot.feeds.parse as parse_module
from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import poll_due
from bot.models import Feed
from bot.store import SQLStore
from tests import feedserver, test_ingest
from tests.feedserver import FeedServer
from tests.test_ingest import NOW, make_due

feed_server = feedserver.feed_server
store = test_ingest.store  # the same on-disk SQLite fixture


def rss(items: list[tuple[str, str]]) -> bytes:
    date = (NOW - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    inner = "".join(
        f"<item><guid>{guid}</guid><title>Judul {guid}</title>"
        f"<link>https://kabar.example/{guid}</link><pubDate>{date}</pubDate>"
        f"<description><![CDATA[<p>{body}</p><p>Paragraf kedua {guid}.</p>]]></description>"
        "</item>"
        for guid, body in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Kabar</title>'
        f"<link>https://kabar.example/</link><language>id</language>{inner}</channel></rss>"
    ).encode()


async def test_known_entries_are_not_converted(
    store: SQLStore, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted: list[str] = []
    real = parse_module.html_to_text

    def counting(s: str) -> str:
        converted.append(s)
        return real(s)

    monkeypatch.setattr(parse_module, "html_to_text", counting)
    items = [(f"g{i}", f"Seniman ke-{i} memprotes model AI generatif.") for i in range(5)]
    path = feed_server.add_bytes("/kabar.xml", rss(items))
    await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW))

    async with Fetcher() as fetcher:
        first = await poll_due(store, fetcher, now=NOW)
        assert first.baseline_stories == 5
        assert len(converted) == 5

        # One new item and one edited item: only those two are converted (and analyzed).
        converted.clear()
        edited = ("g2", "Seniman ke-2 memprotes model AI generatif. Petisi diteken 600 orang.")
        feed_server.set_body(path, rss([("g5", "Ilustrator menggugat."), *items[:2], edited]))
        await make_due(store)
        second = await poll_due(store, fetcher, now=NOW)

    assert [s.title for s in second.new_stories] == ["Judul g5"]
    assert second.updated_stories == 1
    assert sorted(c for c in converted) == sorted(
        [
            "<p>Ilustrator menggugat.</p><p>Paragraf kedua g5.</p>",
            f"<p>{edited[1]}</p><p>Paragraf kedua g2.</p>",
        ]
    )
    stored = await store.stories_between(NOW - timedelta(days=1), NOW + timedelta(hours=1))
    texts = {s.key: s.text for s in stored}
    assert texts["g2"] == f"{edited[1]}\n\nParagraf kedua g2."
    assert texts["g0"] == "Seniman ke-0 memprotes model AI generatif.\n\nParagraf kedua g0."
