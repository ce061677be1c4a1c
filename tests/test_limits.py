"""Command rate limits and the /summary fetch gate.

Rate limits run against an injected monotonic clock (no sleeps, no timed assertions) and,
through ``CommandCore.handle``, against the real SQLite store. The fetch gate is measured with
a real loopback HTTP server that counts the requests it is serving at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.analyze import default_scorer
from bot.commands import CommandCore, Invocation, Reply
from bot.errors import CommandError
from bot.feeds.fetch import Fetcher
from bot.limits import CommandLimits, FetchGate, RateLimiter
from bot.models import ChannelRef
from bot.store import SQLStore, open_store
from bot.summarize.extractive import ExtractiveSummarizer
from tests.test_commands import ARTICLE


@dataclass
class Tick:
    """A monotonic clock the test moves by hand."""

    t: float = 1000.0

    def __call__(self) -> float:
        return self.t


# ----------------------------------------------------------------------------- token buckets


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Tick()
    rl = RateLimiter(per_min=12, burst=3, clock=clock)  # one token every 5 s
    for _ in range(3):
        assert rl.wait_time("u") == 0
        rl.spend("u")
    assert rl.wait_time("u") == pytest.approx(5.0)
    clock.t += 2.5
    assert rl.wait_time("u") == pytest.approx(2.5)
    clock.t += 2.5
    assert rl.wait_time("u") == 0


def test_idle_buckets_are_evicted_and_the_table_is_capped() -> None:
    clock = Tick()
    rl = RateLimiter(per_min=60, burst=2, clock=clock, max_keys=100)
    for i in range(1000):
        rl.spend(f"user{i}")
    assert len(rl) <= 100  # LRU cap under a flood of distinct keys
    clock.t += 2.0  # every bucket is full again: nothing worth keeping
    rl.spend("late")
    assert len(rl) == 1


def test_disabled_limiter_admits_everything() -> None:
    rl = RateLimiter(per_min=0, burst=0)
    for _ in range(100):
        assert rl.wait_time("u") == 0
        rl.spend("u")
    assert len(rl) == 0


def test_first_refusal_notifies_later_ones_stay_silent_until_admitted() -> None:
    clock = Tick()
    limits = CommandLimits(user_per_min=6, user_burst=2, chat_per_min=600, chat_burst=100,
                           clock=clock)  # fmt: skip
    verdicts = [limits.check("u", "c") for _ in range(6)]
    assert [v.allowed for v in verdicts] == [True, True, False, False, False, False]
    assert [v.notify for v in verdicts[2:]] == [True, False, False, False]
    assert verdicts[2].retry_seconds == 10  # 6 a minute: the next token in 10 s
    clock.t += 10
    assert limits.check("u", "c").allowed
    # A new limited period: one more answer.
    refused = limits.check("u", "c")
    assert (refused.allowed, refused.notify) == (False, True)


def test_chat_limit_is_shared_by_its_users_and_answers_once() -> None:
    clock = Tick()
    limits = CommandLimits(user_per_min=600, user_burst=100, chat_per_min=6, chat_burst=3,
                           clock=clock)  # fmt: skip
    admitted = [limits.check(f"user{i}", "chat").allowed for i in range(3)]
    assert admitted == [True, True, True]
    refusals = [limits.check(f"user{i}", "chat") for i in range(3, 9)]
    assert not any(v.allowed for v in refusals)
    assert sum(v.notify for v in refusals) == 1
    assert limits.check("someone", "other chat").allowed  # other chats are not affected


def test_a_refused_command_costs_no_tokens() -> None:
    clock = Tick()
    limits = CommandLimits(user_per_min=60, user_burst=1, chat_per_min=60, chat_burst=1,
                           clock=clock)  # fmt: skip
    assert limits.check("a", "c").allowed
    assert not limits.check("b", "c").allowed  # the chat is out; b's own bucket is untouched
    clock.t += 1
    assert limits.check("b", "c").allowed


# ----------------------------------------------------------------------------- through the core

CHAT = ChannelRef("telegram", "-4001")


@pytest.fixture
async def store(tmp_path: object) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path}/l.db")
    yield s
    await s.close()


def core_with(store: SQLStore, limits: CommandLimits | None = None, **kw: object) -> CommandCore:
    return CommandCore(
        store,
        fetcher_factory=lambda: Fetcher(allow_private=False, allow_loopback=True, timeout_s=10),
        summarizer=ExtractiveSummarizer(),
        scorer=default_scorer(),
        limits=limits,
        **kw,  # type: ignore[arg-type]
    )


def inv(user: str = "u1", locale: str = "en", command: str = "help") -> Invocation:
    return Invocation(command, "", CHAT, user, True, locale, "group")


@pytest.mark.parametrize(("locale", "phrase"), [("en", "Slow down"), ("id", "Pelan-pelan")])
async def test_core_answers_the_flood_once_then_nothing(
    store: SQLStore, locale: str, phrase: str
) -> None:
    clock = Tick()
    limits = CommandLimits(user_per_min=12, user_burst=6, chat_per_min=30, chat_burst=15,
                           clock=clock)  # fmt: skip
    core = core_with(store, limits)
    replies = [await core.handle(inv(locale=locale)) for _ in range(30)]
    answered = [r for r in replies if not r.silent]
    assert len(answered) == 7  # the burst of 6 helps, and one "slow down"
    slow = answered[-1]
    assert slow.error
    assert slow.ephemeral
    assert phrase in slow.text
    assert "5" in slow.text
    assert all(r.text == "" for r in replies if r.silent)
    clock.t += 5  # one token back
    again = await core.handle(inv(locale=locale))
    assert not again.error
    assert not again.silent
    assert "/" in again.text


async def test_core_without_limits_admits_everything(store: SQLStore) -> None:
    core = core_with(store)
    replies = [await core.handle(inv()) for _ in range(50)]
    assert not any(r.silent or r.error for r in replies)


# ----------------------------------------------------------------------------- the fetch gate


@dataclass
class Counting:
    """A loopback page server that counts requests in flight and holds each for a moment."""

    body: bytes
    in_flight: int = 0
    peak: int = 0
    served: int = 0
    hold: float = 0.05

    async def page(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.hold)  # keeps requests overlapping; not a timed assertion
            self.served += 1
            return web.Response(body=self.body, content_type="text/html")
        finally:
            self.in_flight -= 1


@pytest.fixture
async def pages() -> AsyncIterator[tuple[Counting, str]]:
    counting = Counting(ARTICLE)
    app = web.Application()
    app.router.add_get("/a.html", counting.page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield counting, f"http://127.0.0.1:{port}/a.html"
    await runner.cleanup()


async def test_summary_fetches_are_capped_globally(
    store: SQLStore, pages: tuple[Counting, str]
) -> None:
    counting, url = pages
    gate = FetchGate(concurrency=2, total_bytes=64 * 2**20, wait_s=60)
    core = core_with(store, fetch_gate=gate)
    replies = await asyncio.gather(
        *(
            core.handle(Invocation("summary", url, ChannelRef("telegram", str(i)), "u", True, "en"))
            for i in range(10)
        )
    )
    assert all(not r.error for r in replies), [r.text for r in replies if r.error]
    assert counting.served == 10
    assert counting.peak == 2  # never more than the gate's concurrency at once
    assert gate.free_bytes == gate.total_bytes  # every reservation given back


async def test_byte_budget_bounds_what_fetches_hold_together(
    store: SQLStore, pages: tuple[Counting, str]
) -> None:
    counting, url = pages
    # Room for two full reservations of 1 MiB, though four fetches could run at once.
    gate = FetchGate(concurrency=4, total_bytes=2 * 2**20, floor=2**20, wait_s=60)
    core = core_with(store, fetch_gate=gate, fetch_max_bytes=2**20)
    replies = await asyncio.gather(
        *(
            core.handle(Invocation("summary", url, ChannelRef("telegram", str(i)), "u", True, "en"))
            for i in range(8)
        )
    )
    assert all(not r.error for r in replies)
    assert counting.peak == 2
    assert gate.peak_reserved <= gate.total_bytes


async def test_busy_when_the_budget_stays_exhausted(store: SQLStore) -> None:
    gate = FetchGate(concurrency=1, total_bytes=2**20, wait_s=0.01)
    async with gate.reserve(2**20) as got:
        assert got == 2**20
        with pytest.raises(CommandError) as info:
            async with gate.reserve(2**20):
                pass
        assert info.value.key == "summary_busy"
        core = core_with(store, fetch_gate=gate)
        busy: Reply = await core.handle(
            Invocation("summary", "http://127.0.0.1:9/x", CHAT, "u", True, "en")
        )
        assert busy.error
        assert "try again" in busy.text
    assert gate.free_bytes == 2**20


async def test_a_reservation_smaller_than_the_page_means_busy_not_too_large(
    store: SQLStore, pages: tuple[Counting, str]
) -> None:
    _, url = pages
    # What is free is below the page's size, so the answer must be "busy", not "too large".
    gate = FetchGate(concurrency=2, total_bytes=len(ARTICLE) + 100, floor=100, wait_s=5)
    core = core_with(store, fetch_gate=gate, fetch_max_bytes=len(ARTICLE) + 100)
    async with gate.reserve(len(ARTICLE) - 50):
        reply = await core.handle(Invocation("summary", url, CHAT, "u", True, "en"))
    assert reply.error
    assert "Busy" in reply.text


# ----------------------------------------------------------------------------- heavy pages


def test_a_heavy_page_reaches_trafilatura_trimmed_with_its_article() -> None:
    from bench.summary_bench import ARTICLE_TITLE, heavy_page
    from bot.commands.lookups import MAX_EXTRACT_CHARS, _extract_article, _trim_page

    page = heavy_page(7_900_000)
    trimmed = _trim_page(page)
    assert isinstance(trimmed, str)
    assert len(trimmed) <= MAX_EXTRACT_CHARS
    assert "data:image" not in trimmed
    assert "__NEXT_DATA__" not in trimmed
    title, text = _extract_article(page)
    assert title == ARTICLE_TITLE
    assert text.count("Paragraf") == 40  # the whole article, not a cut one
    small = b"<html><body><article><p>kecil</p></article></body></html>"
    assert _trim_page(small) is small  # small pages go to trafilatura untouched


async def test_summary_of_a_heavy_page_through_the_core(store: SQLStore) -> None:
    from bench.summary_bench import ARTICLE_TITLE, heavy_page

    page = heavy_page(7_900_000)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/heavy.html", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/heavy.html"
        gate = FetchGate(concurrency=2, total_bytes=16 * 2**20)
        core = core_with(store, fetch_gate=gate, fetch_max_bytes=8 * 2**20)
        reply = await core.handle(Invocation("summary", url, CHAT, "u", True, "id"))
    finally:
        await runner.cleanup()
    assert not reply.error, reply.text
    assert reply.items[0].title == ARTICLE_TITLE
    assert sum(line.startswith("• ") for line in reply.text.splitlines()) >= 2
    assert gate.free_bytes == gate.total_bytes
