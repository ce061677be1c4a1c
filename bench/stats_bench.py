"""The chat command /stats: time to answer, PNG size and the longest event-loop stall meanwhile.

    python -m bench.stats_bench [--feeds 200] [--days 84] [--reps 5]

Fills a fresh SQLite store with :mod:`bench.feedgen`'s stories (as :mod:`bench.web_bench`
does), then asks the real command core for ``/stats`` in a chat whose set is the defaults
and in a chat that switched all but ten of them off (that one first: its first call pays for
importing matplotlib). A 5 ms ticker runs beside each call and
reports the longest gap between its ticks (drawing runs in a thread; reading and counting
stories run on the loop). Prints the first (chart drawn) and median later (chart cached)
latency per chat. Figures only, nothing asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.web_bench import seed
from bot.analyze import default_scorer
from bot.commands import CommandCore, Invocation
from bot.feeds.fetch import Fetcher
from bot.models import ChannelRef
from bot.store import open_store
from bot.summarize.base import get_summarizer


async def ticker(stop: asyncio.Event, gaps: list[float]) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def timed(core: CommandCore, channel: ChannelRef) -> tuple[float, float, int]:
    stop, gaps = asyncio.Event(), []  # type: ignore[var-annotated]
    tick = asyncio.create_task(ticker(stop, gaps))
    t0 = time.perf_counter()
    reply = await core.handle(Invocation("stats", "", channel, "1", True, "en", "private"))
    took = time.perf_counter() - t0
    stop.set()
    await tick
    assert reply.file is not None, reply.text
    return took, max(gaps, default=0.0), len(reply.file.data)


async def main(feeds: int, days: int, reps: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}")
        try:
            urls, stored = await seed(store, feeds, days)
            narrow = ChannelRef("telegram", "2")
            for url in urls[10:]:
                await store.remove_chat_source(narrow, url)  # switched off for this chat
            core = CommandCore(
                store,
                fetcher_factory=lambda: Fetcher(allow_private=False),
                summarizer=get_summarizer("extractive"),
                scorer=default_scorer(),
            )
            print(f"{stored} stories from {feeds} feeds over {days} days")
            for name, channel in (
                ("10 sources", narrow),
                ("all defaults", ChannelRef("telegram", "1")),
            ):
                first, stall, size = await timed(core, channel)
                later = [(await timed(core, channel))[0] for _ in range(reps)]
                print(
                    f"/stats, {name}: first {first * 1000:.0f} ms (longest loop stall "
                    f"{stall * 1000:.0f} ms), later median {statistics.median(later) * 1000:.0f}"
                    f" ms, PNG {size / 1024:.0f} KB"
                )
        finally:
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.feeds, args.days, args.reps))
