"""``warta run`` and its roles: the scheduler plus the configured chat adapters, in one process.

:func:`run_role` runs what a :class:`bot.roles.Plan` asks for (``warta run`` all of it;
``warta worker``, ``sender`` and ``gateway`` a part each) from the same pieces, so every role is
the same code as ``warta run``.

An adapter starts only when its token is in the environment; the console adapter always runs.
Adapters run under :class:`bot.adapters.supervisor.Supervisor`: one that fails to start or whose
polling/gateway dies is restarted with backoff while the rest goes on, so the process exits on
SIGINT/SIGTERM only, never because of a platform. The heartbeat file (setting
``heartbeat_file``) carries each adapter's state for ``warta health``.
Several ``warta run`` processes can share one PostgreSQL database: feeds and deliveries are
claimed, not assigned, so the work spreads over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import metrics
from bot.adapters.base import ChatAdapter, load
from bot.adapters.supervisor import State, Supervisor
from bot.app import USER_AGENT, App
from bot.commands import CommandCore
from bot.config import Settings
from bot.delivery import Sender, compose_due, enqueue_instant
from bot.digest import compose_digest
from bot.errors import ConfigError, StoreError
from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import poll_due
from bot.health import write_heartbeat
from bot.limits import CommandLimits, FetchGate
from bot.logsafe import install_loop_handler
from bot.models import ChannelRef, Digest, Story
from bot.roles import Plan, Role, plan_for
from bot.summarize.base import Summarizer, get_summarizer
from bot.ticks import Scheduler

log = logging.getLogger(__name__)

# Below health.HEARTBEAT_MAX_AGE_S with room: a process with no send tick still beats.
HEARTBEAT_EVERY_S = 30.0
# How long a sending process waits for its adapters at start-up (a down platform is retried by
# the supervisor meanwhile; its deliveries wait, as they do whenever it is down).
ADAPTERS_UP_WAIT_S = 15.0

HOW_TO_ADD_TOKENS = """\
No chat platform token is set, so only the console adapter runs.
  Telegram: create a bot with @BotFather, then  export TELEGRAM_BOT_TOKEN=123456:ABC...
  Discord:  create an application at the Developer Portal, add a bot, then
            export DISCORD_BOT_TOKEN=...   (optional: WARTA_DISCORD_GUILD_ID for instant sync)
See the README section "Connecting Telegram and Discord"."""


def make_summarizer(settings: Settings) -> Summarizer:
    if settings.summarizer == "llm":
        return get_summarizer(
            "llm",
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            max_calls_per_day=settings.llm_max_calls_per_day,
        )
    return get_summarizer(settings.summarizer)


def build_adapters(
    settings: Settings, *, platforms: frozenset[str] | None = None, receive: bool = True
) -> dict[str, ChatAdapter]:
    """The adapters to run: console and every platform whose token is set (``platforms=None``),
    or just the named platforms, which then must have their token. ``receive=False`` builds
    them send-only (``warta sender``)."""
    adapters: dict[str, ChatAdapter] = {}
    if platforms is None:
        adapters["console"] = load("console")(interactive=receive and sys.stdin.isatty())
    tokens = {"telegram": settings.telegram_token, "discord": settings.discord_token}
    for name in sorted(platforms or ()):
        if not tokens.get(name):
            env = "TELEGRAM_BOT_TOKEN" if name == "telegram" else "DISCORD_BOT_TOKEN"
            raise ConfigError(f"the {name} gateway needs {env} in the environment")
    wanted = set(tokens) if platforms is None else platforms
    if settings.telegram_token and "telegram" in wanted:
        adapters["telegram"] = load("telegram")(
            token=settings.telegram_token,
            base_url=settings.telegram_base_url,
            operators=settings.operators_telegram,
            receive=receive,
        )
    if settings.discord_token and "discord" in wanted:
        adapters["discord"] = load("discord")(
            token=settings.discord_token,
            guild_id=settings.discord_guild_id,
            base_url=settings.discord_base_url,
            operators=settings.operators_discord,
            receive=receive,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
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
    s = app.settings

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
        chat_sources_max=app.settings.chat_sources_max,
        default_tz=app.settings.timezone,
        now=now or (lambda: datetime.now(UTC)),
        # One set of limits for every adapter: Telegram and Discord pass the same buckets.
        limits=CommandLimits(
            user_per_min=s.rate_user_per_min,
            user_burst=s.rate_user_burst,
            chat_per_min=s.rate_chat_per_min,
            chat_burst=s.rate_chat_burst,
        ),
        fetch_gate=FetchGate(
            concurrency=s.summary_fetch_concurrency, total_bytes=s.summary_fetch_total_bytes
        ),
        fetch_max_bytes=s.fetch_max_bytes,
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
        feeds: frozenset[str] | None = None,
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
            feeds=feeds,
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


def make_retention_job(app: App) -> Callable[[datetime], Awaitable[int]]:
    """Prune stories and finished deliveries past their retention (settings; 0 keeps)."""
    s = app.settings

    async def prune(now: datetime) -> int:
        stories, deliveries = await app.store.prune(
            stories_before=now - timedelta(days=s.retention_days) if s.retention_days else None,
            deliveries_before=(
                now - timedelta(days=s.retention_deliveries_days)
                if s.retention_deliveries_days
                else None
            ),
            batch=s.retention_batch,
        )
        if stories or deliveries:
            log.info("retention: pruned %d stories, %d deliveries", stories, deliveries)
        return stories + deliveries

    return prune


async def run_forever(settings: Settings, *, poll: bool = True) -> int:
    """``warta run``: every role in one process."""
    return await run_role(settings, plan_for(Role.RUN, poll=poll))


async def run_role(settings: Settings, plan: Plan) -> int:
    """Run ``plan`` until SIGINT/SIGTERM. On the signal, running work gets
    ``shutdown_grace_s`` to finish; what this process still holds after it (claimed feeds,
    deliveries being sent) is released at once for another copy."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    install_loop_handler(loop)

    def on_signal(sig: signal.Signals) -> None:
        print(f"warta: {sig.name}: stopping", file=sys.stderr)
        # A second Ctrl-C while stopping is the default one again: KeyboardInterrupt, exit 130.
        loop.remove_signal_handler(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)

    app = await App.open(settings)
    supervisor: Supervisor | None = None
    scheduler: Scheduler | None = None
    beating: asyncio.Task[None] | None = None
    try:
        if plan.poll:
            added = await app.sync_feeds_file()
            if added:
                log.info("added %d feeds from %s", added, settings.feeds_file)
        adapters = (
            build_adapters(settings, platforms=plan.platforms, receive=plan.receive)
            if plan.adapters
            else {}
        )
        summarizer = make_summarizer(settings)
        closing = getattr(summarizer, "aclose", None)
        if closing is not None:
            app.defer_close(closing)
        core = build_core(app, adapters, summarizer)
        compose_fn = Composer(app, summarizer)
        beat = Path(settings.heartbeat_file)

        def write_beat() -> None:
            snapshot = supervisor.snapshot() if supervisor is not None else {}
            for name, status in snapshot.items():  # the adapter gauge and /readyz
                metrics.set_adapter_up(name, status["state"] == "up")
            write_heartbeat(beat, snapshot, now=datetime.now(UTC))

        print(f"warta: {plan.role}: starting", file=sys.stderr)
        if adapters:
            supervisor = Supervisor(adapters, core, on_change=write_beat)
            print(f"warta: starting adapters: {', '.join(sorted(adapters))}", file=sys.stderr)
            if set(adapters) == {"console"}:
                print(HOW_TO_ADD_TOKENS, file=sys.stderr)
            supervisor.start()
        else:
            write_beat()

        async def beat_forever() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_EVERY_S)
                write_beat()

        beating = asyncio.create_task(beat_forever())

        # Only adapters that are up send; a down adapter's deliveries wait (retry later).
        sender = Sender(app.store, supervisor.running) if supervisor is not None else None

        async def send(now: datetime) -> int:
            assert sender is not None
            write_beat()  # every send tick (2 s): adapters' states stay fresh for /readyz
            return await sender.drain_once()

        async def compose(now: datetime) -> int:
            return await compose_due(app.store, now, compose=compose_fn)

        if sender is not None and supervisor is not None:
            await adapters_up(supervisor)
        scheduler = Scheduler(
            poll=make_poll_job(app) if plan.poll else None,
            compose=compose if plan.compose else None,
            send=send if plan.send and sender is not None else None,
            retention=make_retention_job(app) if plan.retention else None,
            grace_s=settings.shutdown_grace_s,
        )
        scheduler.start()
        if plan.web and settings.web_enabled:
            from bot.web.server import WebServer, build_site

            web = WebServer(
                build_site(settings, app.store, app.scorer),
                host=settings.web_host,
                port=settings.web_port,
            )
            await web.start()
            app.defer_close(web.stop)
            print(f"warta: web on {web.url}", file=sys.stderr)
        await stop.wait()
    finally:
        if beating is not None:
            beating.cancel()
        if scheduler is not None:
            await scheduler.shutdown()
        await release_held(app)
        if supervisor is not None:
            await supervisor.stop()
        await app.close()
    return 0


async def adapters_up(supervisor: Supervisor, within_s: float = ADAPTERS_UP_WAIT_S) -> None:
    """Wait (bounded) for the adapters to come up before the first send tick: the sender parks
    a platform's deliveries for a lease period when its adapter is not running yet, so a send
    tick at start-up would hold every queued delivery back for minutes."""

    async def up(name: str) -> None:
        with contextlib.suppress(TimeoutError):
            await supervisor.wait_for(name, State.UP, within_s=within_s)

    await asyncio.gather(*(up(name) for name in supervisor.configured()))


async def release_held(app: App) -> None:
    """Hand back what the grace period did not finish, so another copy takes it now rather
    than when its lease runs out."""
    if not len(app.store.held):
        return
    try:
        feeds, deliveries = await app.store.release_held()
    except StoreError as e:  # the database went away too: the leases run out by themselves
        log.warning("could not release held work: %s", e)
        return
    print(f"warta: released {feeds} feeds and {deliveries} deliveries", file=sys.stderr)
