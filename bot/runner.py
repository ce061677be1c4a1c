"""``warta run``: the scheduler plus every configured chat adapter, in one process.

An adapter starts only when its token is in the environment; the console adapter always runs.
Several ``warta run`` processes can share one PostgreSQL database: feeds and deliveries are
claimed, not assigned, so the work spreads over them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.adapters.base import ChatAdapter, load
from bot.app import USER_AGENT, App
from bot.commands import CommandCore
from bot.config import Settings
from bot.delivery import Sender, compose_due, enqueue_instant
from bot.digest import compose_digest
from bot.errors import WartaError
from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import poll_due
from bot.models import ChannelRef, Digest, Story
from bot.summarize.base import Summarizer, get_summarizer
from bot.ticks import Scheduler

log = logging.getLogger(__name__)

HOW_TO_ADD_TOKENS = """\
No chat platform token is set, so only the console adapter runs.
  Telegram: create a bot with @BotFather, then  export TELEGRAM_BOT_TOKEN=123456:ABC...
  Discord:  create an application at the Developer Portal, add a bot, then
            export DISCORD_BOT_TOKEN=...   (optional: WARTA_DISCORD_GUILD_ID for instant sync)
See the README section "Connecting Telegram and Discord"."""


def heartbeat_path() -> Path:
    return Path(os.environ.get("WARTA_HEARTBEAT_FILE", "data/warta.heartbeat"))


def make_summarizer(settings: Settings) -> Summarizer:
    if settings.summarizer == "llm":
        return get_summarizer(
            "llm",
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
        )
    return get_summarizer(settings.summarizer)


def build_adapters(settings: Settings) -> dict[str, ChatAdapter]:
    """The adapters to run: console always, the others when their token is set."""
    adapters: dict[str, ChatAdapter] = {"console": load("console")(interactive=sys.stdin.isatty())}
    if settings.telegram_token:
        adapters["telegram"] = load("telegram")(
            token=settings.telegram_token, base_url=settings.telegram_base_url
        )
    if settings.discord_token:
        adapters["discord"] = load("discord")(
            token=settings.discord_token, guild_id=settings.discord_guild_id
        )
    return adapters


def build_core(
    app: App,
    adapters: dict[str, ChatAdapter],
    summarizer: Summarizer,
    *,
    now: Callable[[], datetime] | None = None,
) -> CommandCore:
    """The command core wired to the store and the adapters. ``now`` replaces the clock
    (tests drive schedules with an injected time, as Sender and Scheduler allow)."""
    telegram: Any = adapters.get("telegram")

    async def admin_check(channel: ChannelRef, user_id: str) -> bool:
        # Only Telegram has chats one can subscribe "from elsewhere" (a channel from its group).
        checker = getattr(adapters.get(channel.platform), "is_admin_of", None)
        return bool(checker and await checker(channel, user_id))

    return CommandCore(
        app.store,
        fetcher_factory=lambda: Fetcher(
            user_agent=USER_AGENT,
            allow_private=False,
            allow_loopback=app.settings.allow_loopback,
            timeout_s=app.settings.fetch_timeout_s,
            max_bytes=app.settings.fetch_max_bytes,
        ),
        summarizer=summarizer,
        scorer=app.scorer,
        admin_check=admin_check,
        resolve_target=telegram.resolve_channel if telegram is not None else None,
        compose=Composer(app, summarizer),
        default_tz=app.settings.timezone,
        now=now or (lambda: datetime.now(UTC)),
    )


class Composer:
    """compose_digest bound to the app's scorer and summarizer (an LLM backend writes
    other-language entries in the digest's language). Fits both the command core's and the
    delivery loop's compose seam."""

    def __init__(self, app: App, summarizer: Summarizer) -> None:
        self._app = app
        self._summarizer = summarizer

    async def __call__(
        self,
        store: Any,
        *,
        lang: str,
        start: datetime,
        end: datetime,
        tz: str = "Asia/Jakarta",
        keywords: Sequence[str] = (),
        max_stories: int = 10,
    ) -> Digest:
        return await compose_digest(
            store,
            lang=lang,
            start=start,
            end=end,
            tz=tz,
            keywords=keywords,
            max_stories=max_stories,
            scorer=self._app.scorer,
            summarizer=self._summarizer,
            other_languages=self._app.settings.digest_other_languages,
        )


def make_poll_job(app: App) -> Callable[[datetime], Awaitable[int]]:
    def relevant(story: Story) -> bool:
        return (story.relevance or 0.0) >= app.scorer.threshold_for(story.lang)

    async def poll(now: datetime) -> int:
        report = await poll_due(
            app.store,
            app.fetcher,
            now=now,
            limit=app.settings.poll_batch,
            scorer=app.scorer,
            concurrency=app.settings.fetch_concurrency,
            show_progress=False,
        )
        if report.new_stories:
            await enqueue_instant(
                app.store,
                report.new_stories,
                is_relevant=relevant,
                now=now,
                other_languages=app.settings.digest_other_languages,
            )
        return report.feeds

    return poll


async def run_forever(settings: Settings, *, poll: bool = True) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    app = await App.open(settings)
    started: dict[str, ChatAdapter] = {}
    scheduler: Scheduler | None = None
    try:
        added = await app.sync_feeds_file()
        if added:
            log.info("added %d feeds from %s", added, settings.feeds_file)
        adapters = build_adapters(settings)
        summarizer = make_summarizer(settings)
        closing = getattr(summarizer, "aclose", None)
        if closing is not None:
            app.defer_close(closing)
        core = build_core(app, adapters, summarizer)
        compose_fn = Composer(app, summarizer)
        for name, adapter in adapters.items():
            try:
                await adapter.start(core)
            except WartaError as e:
                print(f"warta: the {name} adapter did not start: {e}", file=sys.stderr)
                continue
            started[name] = adapter
        print(f"warta: running adapters: {', '.join(sorted(started))}", file=sys.stderr)
        if set(started) == {"console"}:
            print(HOW_TO_ADD_TOKENS, file=sys.stderr)

        sender = Sender(app.store, started)
        beat = heartbeat_path()
        beat.parent.mkdir(parents=True, exist_ok=True)

        async def send(now: datetime) -> int:
            beat.touch()
            return await sender.drain_once()

        async def compose(now: datetime) -> int:
            return await compose_due(app.store, now, compose=compose_fn)

        scheduler = Scheduler(poll=make_poll_job(app) if poll else None, compose=compose, send=send)
        scheduler.start()
        await stop.wait()
    finally:
        if scheduler is not None:
            await scheduler.shutdown()
        for adapter in started.values():
            try:
                await adapter.stop()
            except WartaError as e:
                log.warning("stopping %s: %s", adapter.name, e)
        await app.close()
    return 0
