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
from bot.app import USER_AGENT, App, settle_heap
from bot.commands import CommandCore
from bot.config import Settings
from bot.delivery import Sender, announce_stored, compose_due
from bot.digest import compose_digest
from bot.errors import ConfigError, StoreError
from bot.feeds.fetch import Fetcher
from bot.feeds.pacer import Pacer
from bot.health import write_heartbeat
from bot.limits import CommandLimits, FetchGate
from bot.logsafe import install_loop_handler
from bot.models import ChannelRef, Digest, Story
from bot.roles import Plan, Role, plan_for
from bot.send_loop import SendLoop
from bot.store.sql import WORK_CHANNEL
from bot.summarize.base import Summarizer, get_summarizer
from bot.ticks import Scheduler
from bot.wakeup import PgListener, Wakeup, asyncpg_dsn
from bot.web.links import digest_url

log = logging.getLogger(__name__)

# Below health.HEARTBEAT_MAX_AGE_S with room: a process with no send tick still beats.
HEARTBEAT_EVERY_S = 30.0
# How long a sending process waits for its adapters at start-up (a down platform is retried by
# the supervisor meanwhile; its deliveries wait, as they do whenever it is down).
ADAPTERS_UP_WAIT_S = 15.0
# Ctrl-C in a terminal: running work gets this long, whatever shutdown_grace_s says (what is
# cut short is released for the next start, or another copy, at once).
INTERACTIVE_GRACE_S = 1.5

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
        digest = await compose_digest(
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
        base = self._app.settings.web_base_url
        if base:
            # The site's day pages are days in the site's time zone, whatever the chat's.
            digest.web_url = digest_url(base, lang, end, tz=self._app.settings.timezone)
        return digest


def make_poll_job(app: App) -> Callable[[datetime], Awaitable[int]]:
    """One poll of every feed due at ``now`` (tests and one-shot use; ``warta run`` keeps a
    :class:`~bot.feeds.pacer.Pacer` running instead). Instant posts are not queued here: the
    store queues new stories for announcement in the transaction that stores them, and the
    send loop (make_send_step) turns them into posts."""

    async def poll(now: datetime) -> int:
        report = await app.pacer(clock=lambda: now).run_once()
        return report.feeds

    return poll


def make_send_step(app: App, sender: Sender) -> Callable[[], Awaitable[int]]:
    """One round of the send loop: stored stories to instant deliveries, then the outbox."""

    def relevant(story: Story) -> bool:
        return (story.relevance or 0.0) >= app.scorer.threshold_for(story.lang)

    async def step() -> int:
        queued = await announce_stored(
            app.store,
            is_relevant=relevant,
            other_languages=app.settings.digest_other_languages,
        )
        return queued + await sender.drain_once()

    return step


async def start_wakeups(app: App) -> Wakeup:
    """The sender's wake-up: this process's store writes, and on PostgreSQL every process's
    (LISTEN on a dedicated connection, closed with the app)."""
    wakeup = Wakeup()
    app.store.on_work(wakeup.set)
    dsn = asyncpg_dsn(app.store.url)
    if dsn is not None:
        listener = PgListener(dsn, WORK_CHANNEL, wakeup)
        listener.start()
        app.defer_close(listener.stop)
    return wakeup


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
    """Run ``plan`` until SIGINT/SIGTERM. On SIGTERM running work gets ``shutdown_grace_s`` to
    finish; Ctrl-C in a terminal (SIGINT) gets at most ``INTERACTIVE_GRACE_S``, so the prompt
    comes back at once. What this process still holds then (claimed feeds, deliveries being
    sent) is released at once for another copy."""
    stop = asyncio.Event()
    grace_s = settings.shutdown_grace_s
    loop = asyncio.get_running_loop()
    install_loop_handler(loop)

    def on_signal(sig: signal.Signals) -> None:
        nonlocal grace_s
        print(f"warta: {sig.name}: stopping", file=sys.stderr)
        if sig is signal.SIGINT:
            grace_s = min(grace_s, INTERACTIVE_GRACE_S)
        # A second Ctrl-C while stopping is the default one again: KeyboardInterrupt, exit 130.
        loop.remove_signal_handler(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)

    app = await App.open(settings)
    supervisor: Supervisor | None = None
    scheduler: Scheduler | None = None
    beating: asyncio.Task[None] | None = None
    send_loop: SendLoop | None = None
    polling: asyncio.Task[object] | None = None
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

        async def compose(now: datetime) -> int:
            return await compose_due(app.store, now, compose=compose_fn)

        scheduler = Scheduler(
            compose=compose if plan.compose else None,
            retention=make_retention_job(app) if plan.retention else None,
            compose_every_s=app.settings.compose_every_s,
            retention_every_s=app.settings.retention_every_s,
            retention_first_after_s=app.settings.retention_first_after_s,
            grace_s=grace_s,
        )
        scheduler.start()
        if plan.poll:
            # Polling is paced by work, not by a tick: feeds are claimed as slots free up.
            pacer = app.pacer()
            app.wake_on_due_feeds(pacer)
            polling = asyncio.create_task(_keep_polling(pacer, stop), name="poll")
        if plan.send and supervisor is not None:
            # Only adapters that are up send; a down adapter's deliveries wait (retry later).
            sender = Sender(app.store, supervisor.running, lease_s=app.settings.delivery_lease_s)
            send_step = make_send_step(app, sender)

            async def step() -> int:
                write_beat()  # every round: adapters' states stay fresh for /readyz
                return await send_step()

            await adapters_up(supervisor)
            # The sender wakes when work is stored, here or (PostgreSQL) in any process.
            send_loop = SendLoop(step, await start_wakeups(app))
            send_loop.start()
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
        # Everything is imported and built: full collections from now on walk only new objects.
        settle_heap()
        await stop.wait()
    finally:
        stop.set()
        if beating is not None:
            beating.cancel()
        if polling is not None:
            await _finish(polling, grace_s=grace_s)
        if send_loop is not None:
            await send_loop.stop(grace_s)
        if scheduler is not None:
            scheduler.grace_s = grace_s
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


async def _finish(task: asyncio.Task[object], *, grace_s: float) -> None:
    """Let ``task`` finish within ``grace_s`` (it was told to stop), else cancel it: a poll cut
    short is redone once its claim's lease runs out."""
    done, _ = await asyncio.wait({task}, timeout=grace_s)
    if not done:
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("polling failed while stopping")


async def _keep_polling(pacer: Pacer, stop: asyncio.Event) -> None:
    """Run the pacer until ``stop``; if it fails (the database away), start it again."""
    while not stop.is_set():
        try:
            await pacer.run_forever(stop)
        except Exception:
            log.exception("polling failed; starting again in 10 s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=10)
