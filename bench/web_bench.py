"""Latency and size of the public web pages over real HTTP on loopback.

    python -m bench.web_bench [--feeds 200] [--days 30] [--reps 20]

Fills a fresh SQLite store with the realistic stories of :mod:`bench.feedgen` (parsed, analyzed
and stored as a poll would; their dates spread over ``--days`` days), serves the site on
127.0.0.1 and requests each page ``--reps`` times with a keep-alive client. Prints, per page,
the first (cold: digests composed, charts drawn) and median warm latency, the HTML size and
whether an If-None-Match revalidation answers 304. Figures only, nothing asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.feedgen import news_feed
from bot.analyze import analyze, default_scorer, judge_story_lang
from bot.config import Settings
from bot.feeds.normalize import to_story
from bot.feeds.parse import parse_feed
from bot.models import Feed, Story
from bot.store import open_store
from bot.web.server import WebServer, build_site


async def seed(store: object, feeds: int, days: int) -> tuple[list[str], int]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    urls: list[str] = []
    total = 0
    scorer = default_scorer()
    for f in range(feeds):
        url = f"https://news{f}.example/rss"
        urls.append(url)
        await store.add_feed(Feed(url=url))  # type: ignore[attr-defined]
        parsed = parse_feed(news_feed(f), url=url)
        batch: list[Story] = []
        for entry in parsed.entries:
            story = to_story(
                entry,
                feed_url=url,
                source=parsed.title or url,
                lang_hint=None,
                detect_lang=judge_story_lang,
                base_url=url,
            )
            if story is None:
                continue
            result = analyze(story.title, story.text, lang=story.lang, scorer=scorer)
            story.relevance = result.topic.score
            story.matched = result.topic.matched
            story.bullets = result.summary.bullets
            story.published = now - timedelta(seconds=rng.uniform(0, days * 86400))
            story.fetched_at = story.published
            batch.append(story)
        total += len(await store.upsert_stories(batch))  # type: ignore[attr-defined]
    return urls, total


async def measure(url: str, reps: int) -> tuple[float, float, int, bool]:
    async with aiohttp.ClientSession() as http:
        t0 = time.perf_counter()
        async with http.get(url) as resp:
            body = await resp.read()
            etag = resp.headers.get("ETag")
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(reps):
            t0 = time.perf_counter()
            async with http.get(url) as resp:
                await resp.read()
            warm.append(time.perf_counter() - t0)
        revalidated = False
        if etag:
            async with http.get(url, headers={"If-None-Match": etag}) as resp:
                revalidated = resp.status == 304
    return cold, statistics.median(warm), len(body), revalidated


async def main(feeds: int, days: int, reps: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'web.db'}"
        store = await open_store(db)
        t0 = time.perf_counter()
        urls, stories = await seed(store, feeds, days)
        print(f"seeded {stories} stories from {feeds} feeds over {days} days "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        feeds_file = Path(tmp) / "feeds.toml"
        feeds_file.write_text("".join(f'[[feed]]\nurl = "{u}"\n' for u in urls))
        settings = Settings(database_url=db, feeds_file=str(feeds_file))
        site = build_site(settings, store, default_scorer())
        today = datetime.now(UTC).astimezone(site.archive.zone).date().isoformat()
        paths = [
            "/en/",
            f"/digest/id/{today}",
            "/en/search?q=artists",
            "/id/search?q=seniman&page=2",
            "/en/stats",
            "/stats/en/outlet.svg",
            "/stats/id.png",
            "/feed/en.xml",
            "/feed/id.json",
            "/metrics",
        ]
        try:
            async with WebServer(site, host="127.0.0.1", port=0) as server:
                print(f"{'path':32} {'cold ms':>9} {'warm ms':>9} {'bytes':>8}  304")
                for path in paths:
                    cold, warm, size, revalidated = await measure(server.url + path, reps)
                    print(
                        f"{path:32} {cold * 1000:9.1f} {warm * 1000:9.1f} {size:8d}  "
                        f"{'yes' if revalidated else 'no'}"
                    )
        finally:
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.feeds, args.days, args.reps))
