"""Platform-neutral command core: every slash command's behaviour lives in this package.

Adapters build an :class:`Invocation` from their platform's update/interaction and render the
:class:`Reply`. Permission checks are enforced here, not in adapters, so no platform can forget
them: adapters only report whether the user is an admin of the chat.

One module per group of commands (like cogs): ``subscriptions`` (/subscribe, /unsubscribe,
/settings), ``sources`` (/feeds), ``lookups`` (/digest, /latest, /search, /story, /summary),
``status`` (/status, /stats, /help); ``base`` holds what they share. :class:`CommandCore`
mixes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from bot.commands.base import (
    AdminCheck,
    CommandStore,
    Ctx,
    FetcherFactory,
    Handler,
    Invocation,
    Reply,
    ResolveTarget,
    Scorer,
    split_args,
    utcnow,
)
from bot.commands.lookups import LookupCommands
from bot.commands.sources import SourceCommands
from bot.commands.status import StatusCommands
from bot.commands.subscriptions import SubscriptionCommands
from bot.digest import ComposeFn
from bot.digest_schedule import DEFAULT_TZ, parse_schedule, validate_tz
from bot.errors import CommandError, PermissionDenied, StoreError, WartaError
from bot.lang.strings import norm_lang
from bot.limits import CommandLimits, FetchGate, Verdict
from bot.models import ChannelRef
from bot.redact import display_source
from bot.summarize.base import Summarizer

log = logging.getLogger(__name__)


class CommandCore(SubscriptionCommands, SourceCommands, LookupCommands, StatusCommands):
    """Handles every command, whatever the platform. One instance serves all adapters.

    ``summarizer`` may be an LLM backend; any SummarizeError falls back to the extractive
    summary. ``fetcher_factory`` is used only for user-supplied URLs and must refuse private
    addresses. ``feeds_writable=False`` (defaults managed in the config file only) refuses
    ``feeds default add/remove``. ``chat_sources_max`` caps the feeds one chat may add.
    ``admin_check`` enables Telegram-style targets ("/subscribe @channel …" from a linked
    group); without it such targets are refused.

    ``limits`` (per-user and per-chat token buckets) is checked before any other work; None
    admits everything. ``fetch_gate`` bounds /summary page fetches (how many at once and the
    bytes they hold together; a default gate when None), each capped at ``fetch_max_bytes``.
    """

    ALIASES: ClassVar[dict[str, str]] = {
        "langganan": "subscribe",
        "berlangganan": "subscribe",
        "berhenti": "unsubscribe",
        "pengaturan": "settings",
        "atur": "settings",
        "ringkasan": "digest",
        "terbaru": "latest",
        "cari": "search",
        "berita": "story",
        "ringkas": "summary",
        "sumber": "feeds",
        "umpan": "feeds",
        "bantuan": "help",
        "statistik": "stats",
        "start": "help",
    }
    # The one Indonesian name of each command that menus show and an Indonesian /help teaches
    # (Telegram's "id" menu, Discord's name localizations); each is one of ALIASES above.
    INDONESIAN_NAMES: ClassVar[dict[str, str]] = {
        "subscribe": "langganan",
        "unsubscribe": "berhenti",
        "settings": "pengaturan",
        "digest": "ringkasan",
        "latest": "terbaru",
        "search": "cari",
        "story": "berita",
        "summary": "ringkas",
        "feeds": "sumber",
        "status": "status",  # the same word in both languages
        "stats": "statistik",
        "help": "bantuan",
    }

    def __init__(
        self,
        store: CommandStore,
        *,
        fetcher_factory: FetcherFactory,
        summarizer: Summarizer,
        scorer: Scorer,
        feeds_writable: bool = True,
        chat_sources_max: int = 50,
        admin_check: AdminCheck | None = None,
        resolve_target: ResolveTarget | None = None,
        compose: ComposeFn | None = None,
        default_tz: str = DEFAULT_TZ,
        default_schedule: str = "daily 08:00",
        now: Callable[[], datetime] = utcnow,
        limits: CommandLimits | None = None,
        fetch_gate: FetchGate | None = None,
        fetch_max_bytes: int = 8 * 2**20,
    ) -> None:
        self.store = store
        self._fetcher_factory = fetcher_factory
        self._summarizer = summarizer
        self._scorer = scorer
        self.feeds_writable = feeds_writable
        self.chat_sources_max = chat_sources_max
        self._admin_check = admin_check
        self._resolve_target = resolve_target
        self._compose = compose
        self.default_tz = validate_tz(default_tz)
        self.default_schedule = parse_schedule(default_schedule, self.default_tz).canonical()
        self._now = now
        self.limits = limits
        self.fetch_gate = fetch_gate if fetch_gate is not None else FetchGate()
        self.fetch_max_bytes = fetch_max_bytes
        self._handlers: dict[str, Handler] = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "settings": self._settings,
            "digest": self._digest,
            "latest": self._latest,
            "search": self._search,
            "story": self._story,
            "summary": self._summary,
            "feeds": self._feeds,
            "status": self._status,
            "stats": self._stats,
            "help": self._help,
        }

    @property
    def commands(self) -> tuple[str, ...]:
        """Canonical command names, for adapters registering slash commands."""
        return tuple(self._handlers)

    async def source_choices(
        self, channel: ChannelRef, *, is_operator: bool = False
    ) -> list[tuple[str, str]]:
        """(shown name, value) of the chat's sources, for autocompleting ``feeds remove``: the
        value is an opaque ``#id`` the core resolves within that chat only, and the name is
        title and host unless the user is an operator (never a query string or userinfo)."""
        choices = []
        for source in await self.store.chat_sources(channel):
            feed = source.feed
            name = feed.url if is_operator else display_source(feed.url, feed.title)
            choices.append((name, f"#{feed.id}"))
        return choices

    async def channel_moved(self, old: ChannelRef, new: ChannelRef) -> None:
        """A chat got a new id (Telegram: a group upgraded to a supergroup): its subscription
        and queued digests follow it at once, so /status there is right before the next post."""
        if await self.store.move_channel(old, new):
            log.info("subscription moved from %s to %s", old, new)

    @classmethod
    def canonical_name(cls, command: str) -> str:
        name = command.strip().lstrip("/").split("@", 1)[0].lower()
        return cls.ALIASES.get(name, name)

    # ------------------------------------------------------------------ entry point

    async def handle(self, inv: Invocation) -> Reply:
        """Answer one invocation. Never raises: every failure becomes a localized reply.

        Rate limits come first, before the store is read: a flood costs a dictionary lookup
        per command. The first refusal answers "slow down" (privately where the platform can);
        later ones answer nothing (``Reply.silent``) until the user may send again.
        """
        lang = norm_lang(inv.locale)
        verdict: Verdict | None = None
        if self.limits is not None:
            chat = (inv.channel.platform, inv.channel.id)
            verdict = self.limits.check((inv.channel.platform, inv.user_id), chat)
            if not verdict.allowed and not verdict.notify:
                return Reply.nothing(lang)
        try:
            sub = await self.store.get_subscription(inv.channel)
            if sub is not None:
                lang = norm_lang(sub.lang)
        except StoreError:
            log.warning("cannot read subscription of %s for the reply language", inv.channel)
        if verdict is not None and not verdict.allowed:
            log.info("rate limited: %s user %s (/%s)", inv.channel, inv.user_id, inv.command[:32])
            return self._error(lang, "rate_limited", seconds=verdict.retry_seconds)
        ctx = Ctx(inv=inv, lang=lang, now=self._now())
        name = self.canonical_name(inv.command)
        handler = self._handlers.get(name)
        try:
            if handler is None:
                help_reply = await self._help(ctx, [])
                help_reply.text = (
                    self._t("unknown_command", lang, command=name[:32]) + "\n" + help_reply.text
                )
                return help_reply
            return await handler(ctx, split_args(inv.args))
        except PermissionDenied as e:
            return self._error(lang, e.key, command=name, **e.params)
        except CommandError as e:
            return self._error(lang, e.key, **e.params)
        except StoreError:
            log.exception("store error in /%s", name)
            return self._error(lang, "store_error")
        except WartaError:
            log.exception("unmapped Warta error in /%s", name)
            return self._error(lang, "internal_error")
        except Exception:
            log.exception("unexpected error in /%s (args %r)", name, inv.args[:200])
            return self._error(lang, "internal_error")
