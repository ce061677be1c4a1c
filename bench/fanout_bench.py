"""Digest fan-out: 10,000 subscriptions due at once, composed and enqueued.

    python -m bench.fanout_bench [--subs 10000] [--stories 330] [--baseline-sample 100]
                                 [--reps 3] [--pg postgresql+asyncpg://...]

Setup (not measured): a temporary SQLite store (and, with ``--pg``, a fresh schema in that
PostgreSQL database) with 12 feeds and ``--stories`` stories from
:mod:`bench.fanout_corpus` (re-told copies of the labeled AI-and-artists items), analyzed as
ingest analyzes them (score, matched terms, bullets stored once). ``--subs`` subscriptions,
all due at the same instant: half Indonesian, half English; three schedules (daily, every 6h,
weekly, so three windows); half with a keyword filter drawn from six; the chats spread over
four source sets (all feeds, or three of the feeds switched off).

Measured, each in a fresh child process (so the peak RSS is that of the work alone):

* new: :func:`bot.delivery.run_due` over every due subscription, the path `warta deliver
  --once` runs (minus sending): wall time, peak RSS, distinct composes, rows queued.
  Median of ``--reps`` runs; the store is reset (subscriptions due again, outbox emptied)
  between runs.
* baseline: the per-subscription path as it was before (one compose per subscription, every
  candidate re-scored, clustering over all pairs, no feature cache, one source-set query and
  one transaction per subscription) on the first ``--baseline-sample`` due subscriptions,
  extrapolated linearly to all of them (composes are independent, so the cost is linear).
  It runs the current code with three switches: stories reach the composer without their
  stored score (so the lexicon runs again, as the old composer always did), the clusterer is
  :func:`bot.cluster.cluster_all_pairs` and the feature cache is cleared before each compose.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
FEEDS = [f"https://outlet{i:02d}.example/rss" for i in range(12)]
SCHEDULES = ("daily 08:00", "every 6h", "weekly tue 08:00")
FILTERS: tuple[tuple[str, ...], ...] = (
    ("-suno",),
    ("sora",),
    ("+ghibli",),
    ("-nft", "-crypto"),
    ("openai",),
    ("musisi",),
)
# Four source sets: everything, or one group of three feeds switched off.
SOURCE_SETS: tuple[tuple[str, ...], ...] = (
    (),
    tuple(FEEDS[0:3]),
    tuple(FEEDS[3:6]),
    tuple(FEEDS[6:9]),
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- setup


async def setup(url: str, connect_args: dict[str, Any], n_subs: int, n_stories: int) -> int:
    """Fill the store; returns how many stored stories are relevant without keywords."""
    from sqlalchemy import insert

    from bench.fanout_corpus import generated_stories
    from bot.analyze import analyze, default_scorer
    from bot.models import Feed, Story
    from bot.store import open_store
    from bot.store.schema import chat_sources, subscriptions

    store = await open_store(url, connect_args=connect_args)
    try:
        for feed in FEEDS:
            await store.add_feed(Feed(url=feed))
        scorer = default_scorer()
        stories = []
        for i, g in enumerate(generated_stories(n_stories, seed=1, end=NOW)):
            a = analyze(g.title, g.text, lang=g.lang, scorer=scorer)
            stories.append(
                Story(
                    feed_url=FEEDS[i % len(FEEDS)],
                    key=f"s{i}",
                    url=f"{FEEDS[i % len(FEEDS)].removesuffix('/rss')}/{i}",
                    title=g.title,
                    text=g.text,
                    source=g.source,
                    lang=g.lang,
                    published=g.published,
                    content_hash=f"h{i}",
                    fetched_at=g.published,
                    relevance=a.topic.score,
                    matched=a.topic.matched,
                    bullets=a.summary.bullets,
                )
            )
        await store.upsert_stories(stories)
        relevant = sum(1 for s in stories if s.relevance and s.relevance >= scorer.threshold)
        feed_ids = {f.url: f.id for f in await store.list_feeds()}
        rng = random.Random(7)
        subs: list[dict[str, Any]] = []
        offs: list[dict[str, Any]] = []
        for n in range(n_subs):
            channel = f"chat-{n}"
            subs.append(
                {
                    "platform": "bench",
                    "channel_id": channel,
                    "lang": "id" if n % 2 else "en",
                    "schedule": SCHEDULES[n % 3],
                    "tz": "Asia/Jakarta",
                    "keywords": list(rng.choice(FILTERS)) if rng.random() < 0.5 else [],
                    "max_stories": 10,
                    "paused": False,
                    "next_run_at": NOW,
                    "last_window_end": None,
                    "created_at": NOW,
                }
            )
            for url in SOURCE_SETS[rng.randrange(len(SOURCE_SETS))]:
                offs.append(
                    {
                        "platform": "bench",
                        "channel_id": channel,
                        "feed_id": feed_ids[url],
                        "mode": "off",
                        "created_at": NOW,
                    }
                )
        # Bulk rows through the store's own tables: the setup is not what is measured.
        async with store._write() as conn:
            await conn.execute(insert(subscriptions), subs)
            if offs:
                await conn.execute(insert(chat_sources), offs)
        return relevant
    finally:
        await store.close()


async def reset(url: str, connect_args: dict[str, Any]) -> None:
    from sqlalchemy import delete, update

    from bot.store import open_store
    from bot.store.schema import deliveries, subscriptions

    store = await open_store(url, connect_args=connect_args)
    try:
        async with store._write() as conn:
            await conn.execute(delete(deliveries))
            await conn.execute(update(subscriptions).values(next_run_at=NOW, last_window_end=None))
    finally:
        await store.close()


# --------------------------------------------------------------------------- measured paths


async def run_new(url: str, connect_args: dict[str, Any]) -> dict[str, Any]:
    from bot.analyze import default_scorer
    from bot.delivery import run_due
    from bot.digest import StoryReader, compose_digest
    from bot.models import Digest
    from bot.store import open_store

    scorer = default_scorer()

    async def compose(store: StoryReader, **kw: Any) -> Digest:
        return await compose_digest(store, scorer=scorer, **kw)

    store = await open_store(url, connect_args=connect_args)
    try:
        t0 = time.perf_counter()
        report = await run_due(store, NOW + timedelta(minutes=1), compose=compose)
        wall = time.perf_counter() - t0
    finally:
        await store.close()
    return {
        "wall_s": wall,
        "rss_mb": _rss_mb(),
        "due": report.due,
        "queued": report.queued,
        "composes": report.composes,
        "empty": report.skipped_empty,
    }


class _Unscored:
    """The store as the old composer saw it: it re-scored every candidate, so stories arrive
    without their stored score and the composer's fallback runs the lexicon on each."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def stories_between(
        self,
        start: datetime,
        end: datetime,
        *,
        lang: str | None = None,
        min_relevance: float | None = None,
        limit: int = 200,
        feeds: Collection[str] | None = None,
    ) -> list[Any]:
        got = await self._store.stories_between(
            start, end, lang=lang, min_relevance=min_relevance, limit=limit, feeds=feeds
        )
        return [replace(s, relevance=None, matched=()) for s in got]


async def run_baseline(url: str, connect_args: dict[str, Any], sample: int) -> dict[str, Any]:
    import bot.digest
    from bot.analyze import default_scorer
    from bot.cluster import _features, cluster_all_pairs
    from bot.digest import compose_digest, digest_to_json
    from bot.digest_schedule import parse_schedule
    from bot.lang.strings import norm_lang
    from bot.models import Delivery
    from bot.store import open_store

    bot.digest.cluster = cluster_all_pairs  # type: ignore[assignment]
    scorer = default_scorer()
    now = NOW + timedelta(minutes=1)
    store = await open_store(url, connect_args=connect_args)
    try:
        t0 = time.perf_counter()
        subs = await store.due_subscriptions(now, limit=sample)
        queued = 0
        for sub in subs:
            assert sub.id is not None
            schedule = parse_schedule(sub.schedule, sub.tz)
            window_end = sub.next_run_at or now
            window_start = sub.last_window_end or window_end - schedule.lookback
            advanced = replace(
                sub, next_run_at=schedule.next_after(now), last_window_end=window_end
            )
            _features.cache_clear()
            digest = await compose_digest(
                _Unscored(store),
                lang=norm_lang(sub.lang),
                start=window_start,
                end=window_end,
                tz=sub.tz,
                keywords=sub.keywords,
                max_stories=sub.max_stories,
                scorer=scorer,
                feeds=await store.chat_source_urls(sub.channel),
            )
            if not digest.entries:
                await store.upsert_subscription(advanced)
                continue
            delivery = Delivery(
                subscription_id=sub.id,
                channel=sub.channel,
                key=f"{sub.id}:{window_end.isoformat()}",
                payload=digest_to_json(digest),
            )
            if await store.enqueue_delivery(delivery, advance=advanced) is not None:
                queued += 1
        wall = time.perf_counter() - t0
    finally:
        await store.close()
    return {"wall_s": wall, "rss_mb": _rss_mb(), "due": len(subs), "queued": queued}


# --------------------------------------------------------------------------- driver


def _child(args: Sequence[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.fanout_bench", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _pg_schema(pg: str) -> tuple[str, str]:
    schema = f"fanout_bench_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(pg.replace("+asyncpg", ""))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE SCHEMA {schema}"))
    return schema, f"DROP SCHEMA {schema} CASCADE"


def bench_backend(name: str, url: str, ca: dict[str, Any], ns: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    relevant = asyncio.run(setup(url, ca, ns.subs, ns.stories))
    print(
        f"[{name}] setup {time.perf_counter() - t0:.1f} s: {ns.subs} subscriptions due, "
        f"{ns.stories} stories ({relevant} relevant without keywords), {len(FEEDS)} feeds, "
        f"{len(SOURCE_SETS)} source sets, {len(SCHEDULES)} schedules, {len(FILTERS)} filters",
        flush=True,
    )
    common = ["--url", url, "--connect-args", json.dumps(ca)]
    base = _child(["--child", "baseline", "--sample", str(ns.baseline_sample), *common])
    per_sub = base["wall_s"] / max(1, base["due"])
    news = []
    for _ in range(ns.reps):
        asyncio.run(reset(url, ca))
        news.append(_child(["--child", "new", *common]))
    wall = statistics.median(r["wall_s"] for r in news)
    rss = statistics.median(r["rss_mb"] for r in news)
    last = news[-1]
    runs = ", ".join(f"{r['wall_s']:.2f}" for r in news)
    print(f"[{name}] {'':26} {'baseline (per subscription)':>30} {'compose once per key':>24}")
    print(
        f"[{name}] {'subscriptions composed':26} {base['due']:>30} {last['due']:>24}\n"
        f"[{name}] {'distinct composes':26} {base['due']:>30} {last['composes']:>24}\n"
        f"[{name}] {'deliveries queued':26} {base['queued']:>30} {last['queued']:>24}\n"
        f"[{name}] {'wall, measured':26} {base['wall_s']:>28.1f} s {wall:>22.2f} s\n"
        f"[{name}] {'wall per subscription':26} {per_sub * 1000:>27.1f} ms "
        f"{wall / max(1, last['due']) * 1000:>21.2f} ms\n"
        f"[{name}] {'wall for all ' + str(ns.subs):26} {per_sub * ns.subs:>23.0f} s (ext) "
        f"{wall:>22.2f} s\n"
        f"[{name}] {'peak RSS':26} {base['rss_mb']:>27.0f} MB {rss:>21.0f} MB\n"
        f"[{name}] new path runs (wall s): {runs}; "
        f"goal <= 10 s and <= 250 MB: "
        f"{'met' if wall <= 10 and rss <= 250 else 'NOT met'}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--subs", type=int, default=10_000)
    p.add_argument("--stories", type=int, default=330)
    p.add_argument("--baseline-sample", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--pg", help="also on PostgreSQL (a fresh schema in this database)")
    p.add_argument("--child", choices=["new", "baseline"], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--connect-args", default="{}", help=argparse.SUPPRESS)
    p.add_argument("--sample", type=int, default=100, help=argparse.SUPPRESS)
    ns = p.parse_args(argv)
    if ns.child:
        ca = json.loads(ns.connect_args)
        if ns.child == "new":
            result = asyncio.run(run_new(ns.url, ca))
        else:
            result = asyncio.run(run_baseline(ns.url, ca, ns.sample))
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        bench_backend("sqlite", f"sqlite+aiosqlite:///{os.path.join(tmp, 'w.db')}", {}, ns)
    if ns.pg:
        schema, drop = _pg_schema(ns.pg)
        try:
            bench_backend("postgresql", ns.pg, {"server_settings": {"search_path": schema}}, ns)
        finally:
            import asyncpg  # type: ignore[import-untyped]

            async def cleanup() -> None:
                conn = await asyncpg.connect(ns.pg.replace("+asyncpg", ""))
                try:
                    await conn.execute(drop)
                finally:
                    await conn.close()

            asyncio.run(cleanup())
    return 0


if __name__ == "__main__":
    sys.exit(main())
