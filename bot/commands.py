"""Platform-neutral command core: every slash command's behaviour lives here.

Adapters build an :class:`Invocation` from their platform's update/interaction and render the
:class:`Reply`. Permission checks are enforced here, not in adapters, so no platform can forget
them: adapters only report whether the user is an admin of the chat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.analyze import story_lang
from bot.digest import ComposeFn, compose_digest
from bot.digest_schedule import (
    DEFAULT_TZ,
    HEAD_WORDS,
    Schedule,
    parse_schedule,
    parse_schedule_prefix,
    validate_tz,
)
from bot.errors import (
    BlockedURL,
    CommandError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    PermissionDenied,
    StoreError,
    SummarizeError,
    TooLarge,
    WartaError,
)
from bot.feeds.fetch import redact_url
from bot.feeds.parse import normalize_lang, parse_feed
from bot.lang.strings import STRINGS, format_date, norm_lang, t
from bot.models import (
    ChannelRef,
    Digest,
    Feed,
    FetchResult,
    ScheduleKind,
    Story,
    Subscription,
    Summary,
    TopicResult,
)
from bot.summarize.base import Summarizer
from bot.summarize.extractive import summarize_text


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command as a user sent it.

    ``args`` is the raw argument text after the command name (Discord options are joined back
    into the same textual form, so parsing and its error messages are shared). ``locale`` is
    the user's client language when the platform tells it ("id", "en-US"), used for replies
    when the channel has no subscription language yet.
    """

    command: str
    args: str
    channel: ChannelRef
    user_id: str
    is_admin: bool
    locale: str | None = None
    chat_kind: str = "group"  # "private" | "group" | "channel"


@dataclass(frozen=True, slots=True)
class ReplyItem:
    """One line of a list reply (search results, latest stories, feeds). All untrusted text:
    renderers escape it."""

    title: str
    url: str | None = None
    detail: str | None = None
    ref: str | None = None  # e.g. story id "#123"


@dataclass(slots=True)
class Reply:
    """What a command answers. ``text`` is untrusted-safe plain text (renderers escape it)."""

    text: str
    lang: str
    items: list[ReplyItem] = field(default_factory=list)
    digest: Digest | None = None
    error: bool = False
    ephemeral: bool = False  # Discord: visible only to the caller (errors, help)


# =========================================================================== the command core
# Everything below is platform-neutral: it reads and writes the store, composes digests and
# answers with a Reply. Adapters only translate platform updates to Invocations and Replies back.

log = logging.getLogger(__name__)

AdminCheck = Callable[[ChannelRef, str], Awaitable[bool]]
"""``(target_channel, user_id) -> is the user an admin there``. Adapters that can manage another
chat (a Telegram channel from its linked group) provide one; the core calls it for every
command that names a target, so the check cannot be skipped by a platform."""

ResolveTarget = Callable[[str], Awaitable[ChannelRef | None]]
"""``"@name" | "-100…" -> the chat's stable ChannelRef`` (usernames change, ids do not), or None
when the bot cannot see that chat (Telegram adapter's ``resolve_channel``)."""

MAX_KEYWORDS = 20
MAX_LATEST = 20
MAX_STORIES = 20
DIGEST_HOURS = 24
SEARCH_LIMIT = 10
MAX_QUERY_CHARS = 200
MAX_ARTICLE_CHARS = 60_000
_LANG_WORDS = {
    "id": "id",
    "ind": "id",
    "indo": "id",
    "indonesia": "id",
    "indonesian": "id",
    "bahasa": "id",
    "en": "en",
    "eng": "en",
    "english": "en",
    "inggris": "en",
}
# Telegram channel targets: "@username" or the numeric "-100…" id of a channel/supergroup.
_TARGET_RE = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,})$")
_STORY_ID_RE = re.compile(r"^#?(\d{1,12})$")
_KEYWORD_RE = re.compile(r"^([+-]?)(.+)$")
# Smart quotes from phone keyboards are the same quote to the user.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


class CommandStore(Protocol):
    """The part of :class:`bot.store.base.Store` the command core uses."""

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None: ...
    async def upsert_subscription(self, sub: Subscription) -> Subscription: ...
    async def delete_subscription(self, channel: ChannelRef) -> bool: ...
    async def move_channel(self, old: ChannelRef, new: ChannelRef) -> bool: ...
    async def latest(
        self,
        n: int,
        *,
        relevant_only: bool = True,
        lang: str | None = None,
        min_relevance: float = 0.5,
    ) -> list[Story]: ...
    async def search(
        self, query: str, *, limit: int = 10, lang: str | None = None
    ) -> list[Story]: ...
    async def get_story(self, id: int) -> Story | None: ...
    async def stories_between(
        self,
        start: datetime,
        end: datetime,
        *,
        lang: str | None = None,
        min_relevance: float | None = None,
        limit: int = 200,
    ) -> list[Story]: ...
    async def add_feed(self, feed: Feed) -> Feed: ...
    async def remove_feed(self, url: str) -> bool: ...
    async def get_feed(self, url: str) -> Feed | None: ...
    async def list_feeds(self) -> list[Feed]: ...
    async def get_meta(self, key: str) -> str | None: ...


class PageFetcher(Protocol):
    async def fetch(self, url: str) -> FetchResult:
        """Raises FetchError subclasses (BlockedURL for private addresses)."""
        ...


FetcherFactory = Callable[[], AbstractAsyncContextManager[PageFetcher]]
"""Makes a fetcher for user-supplied URLs; it must refuse private addresses
(``Fetcher(allow_private=False)``)."""


class Scorer(Protocol):
    def score(
        self, title: str, text: str, lang: str, *, keywords: Sequence[str] = ()
    ) -> TopicResult: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def split_args(text: str) -> list[str]:
    """Split arguments on whitespace; "double quotes" group a phrase ("+\"stable diffusion\"").
    Apostrophes stay literal (jum'at, artist's)."""
    lexer = shlex.shlex(text.translate(_QUOTES), posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        # An unbalanced quote: take the words as typed; a stray quote in a keyword is then
        # refused by parse_keywords, and /search simply searches the words.
        return text.translate(_QUOTES).split()


def _refused(url: str, error: BlockedURL) -> CommandError:
    """The one reply for a refused user URL, whether its host is private, does not resolve or
    is spelled oddly: a different reply per case would tell a stranger which internal names
    exist. The detail goes to the log only, without the URL's query string or credentials."""
    log.info("refused user-supplied URL %s: %s", redact_url(url), error)
    return CommandError("url_refused", "refused user-supplied URL")


def parse_lang(word: str) -> str | None:
    return _LANG_WORDS.get(word.lower())


def parse_keywords(tokens: Sequence[str]) -> tuple[str, ...]:
    """``+term`` widens, ``-term`` narrows, ``term`` requires; lowercased, deduplicated.
    Commas also separate ("+sora,+midjourney")."""
    out: list[str] = []
    for token in tokens:
        for part in token.split(","):
            part = part.strip()
            if not part:
                continue
            m = _KEYWORD_RE.match(part)
            assert m is not None  # .+ matches any non-empty text
            sign, word = m[1], " ".join(m[2].split()).lower()
            if not 2 <= len(word) <= 40 or word[0] in "+-" or '"' in word:
                raise CommandError("bad_keywords", value=part[:60], max=MAX_KEYWORDS)
            kw = sign + word
            if kw not in out:
                out.append(kw)
    if len(out) > MAX_KEYWORDS:
        raise CommandError("bad_keywords", value=out[MAX_KEYWORDS], max=MAX_KEYWORDS)
    return tuple(out)


def _parse_int(text: str, lo: int, hi: int, example: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise CommandError("bad_number", value=text[:20], min=lo, max=hi, example=example)
    return value


def _check_url(text: str, example: str) -> str:
    url = text.strip().strip("<>")  # Discord/Telegram users paste <url> to stop previews
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in url:
        raise CommandError("bad_url", value=text[:100], example=example)
    return url


def _extract_article(body: bytes) -> tuple[str, str]:
    """(title, text) of a web page with trafilatura; ("", "") when it finds no article."""
    # Imported on first use: trafilatura pulls in lxml, justext and more (~0.5 s), which the
    # poll loop and the CLI commands never need.
    import trafilatura

    out = trafilatura.extract(
        body,
        include_comments=False,
        output_format="json",
        with_metadata=True,
    )
    if not out:
        return "", ""
    data = json.loads(out)
    return str(data.get("title") or ""), str(data.get("text") or "")


@dataclass(slots=True)
class _Ctx:
    """One invocation being handled: its reply language and clock reading."""

    inv: Invocation
    lang: str
    now: datetime


Handler = Callable[[_Ctx, list[str]], Awaitable[Reply]]


class CommandCore:
    """Handles every command, whatever the platform. One instance serves all adapters.

    ``summarizer`` may be an LLM backend; any SummarizeError falls back to the extractive
    summary. ``fetcher_factory`` is used only for user-supplied URLs and must refuse private
    addresses. ``feeds_writable=False`` (feeds managed in the config file) refuses
    ``feeds add/remove``. ``admin_check`` enables Telegram-style targets ("/subscribe @channel
    …" from a linked group); without it such targets are refused.
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
        "start": "help",
    }

    def __init__(
        self,
        store: CommandStore,
        *,
        fetcher_factory: FetcherFactory,
        summarizer: Summarizer,
        scorer: Scorer,
        feeds_writable: bool = True,
        admin_check: AdminCheck | None = None,
        resolve_target: ResolveTarget | None = None,
        compose: ComposeFn | None = None,
        default_tz: str = DEFAULT_TZ,
        default_schedule: str = "daily 08:00",
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self._fetcher_factory = fetcher_factory
        self._summarizer = summarizer
        self._scorer = scorer
        self.feeds_writable = feeds_writable
        self._admin_check = admin_check
        self._resolve_target = resolve_target
        self._compose = compose
        self.default_tz = validate_tz(default_tz)
        self.default_schedule = parse_schedule(default_schedule, self.default_tz).canonical()
        self._now = now
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
            "help": self._help,
        }

    @property
    def commands(self) -> tuple[str, ...]:
        """Canonical command names, for adapters registering slash commands."""
        return tuple(self._handlers)

    async def feed_urls(self) -> list[str]:
        """Known feed URLs (Discord autocompletes ``feeds remove`` with them)."""
        return [f.url for f in await self.store.list_feeds()]

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
        """Answer one invocation. Never raises: every failure becomes a localized reply."""
        lang = norm_lang(inv.locale)
        try:
            sub = await self.store.get_subscription(inv.channel)
            if sub is not None:
                lang = norm_lang(sub.lang)
        except StoreError:
            log.warning("cannot read subscription of %s for the reply language", inv.channel)
        ctx = _Ctx(inv=inv, lang=lang, now=self._now())
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

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _t(key: str, lang: str, /, **params: Any) -> str:
        # Positional-only: templates may have their own {lang} placeholder.
        try:
            return t(key, lang, **params)
        except (KeyError, IndexError, ValueError):
            log.exception("localized string %r cannot be formatted with %r", key, params)
            return t("internal_error", lang)

    def _error(self, lang: str, key: str, **params: Any) -> Reply:
        if key not in STRINGS["en"]:
            log.error("no localized string for error key %r", key)
            key, params = "internal_error", {}
        return Reply(text=self._t(key, lang, **params), lang=lang, error=True, ephemeral=True)

    def _require_admin(self, ctx: _Ctx) -> None:
        if not ctx.inv.is_admin:
            raise PermissionDenied("not_admin", f"/{ctx.inv.command} needs an admin")

    async def _target(self, ctx: _Ctx, args: list[str]) -> tuple[ChannelRef, list[str]]:
        """The channel a subscription command is about: the invoking chat, or a target named
        first ("@channel" / "-100…") whose admin the user must be."""
        if not args or not _TARGET_RE.match(args[0]):
            return ctx.inv.channel, args
        if self._admin_check is None:
            raise CommandError("target_unsupported", target=args[0])
        target: ChannelRef | None = ChannelRef(ctx.inv.channel.platform, args[0])
        if self._resolve_target is not None:
            target = await self._resolve_target(args[0])
            if target is None:
                raise CommandError("target_not_found", target=args[0])
        assert target is not None
        if not await self._admin_check(target, ctx.inv.user_id):
            raise PermissionDenied("not_admin_target", target=args[0])
        return target, args[1:]

    def _fmt_time(self, when: datetime | None, tz: str, lang: str) -> str:
        if when is None:
            return self._t("next_none", lang)
        local = when.astimezone(ZoneInfo(tz))
        return f"{format_date(local, lang)} {local:%H:%M} ({tz})"

    def _describe_sub(self, sub: Subscription, lang: str) -> str:
        try:
            sched = parse_schedule(sub.schedule, sub.tz)
            schedule_text = sched.describe(lang)
            instant = sched.kind is ScheduleKind.INSTANT
        except CommandError:
            schedule_text, instant = sub.schedule, False
        if sub.paused:
            state = self._t(
                "state_paused", lang, reason=sub.paused_reason or self._t("paused_by_user", lang)
            )
        else:
            state = self._t("state_active", lang)
        nxt = (
            self._t("next_instant", lang)
            if instant
            else self._fmt_time(None if sub.paused else sub.next_run_at, sub.tz, lang)
        )
        return self._t(
            "settings_body",
            lang,
            lang=self._t(f"lang_name_{sub.lang}", lang),
            schedule=schedule_text,
            tz=sub.tz,
            keywords=" ".join(sub.keywords) or self._t("keywords_none", lang),
            max=sub.max_stories,
            next=nxt,
            state=state,
        )

    async def _summarize(self, title: str, text: str, lang: str, target: str) -> Summary:
        try:
            return await self._summarizer.summarize(
                title=title, text=text, lang=lang, target_lang=target
            )
        except SummarizeError as e:
            log.warning("summarizer %s failed (%s); using the extractive summary", type(e), e)
            return await asyncio.to_thread(summarize_text, title, text, lang)

    def _story_item(self, story: Story, lang: str) -> ReplyItem:
        when = story.published or story.fetched_at
        date = format_date(when.astimezone(ZoneInfo(self.default_tz)), lang) if when else ""
        detail = f"{story.source} · {date}" if date else story.source
        return ReplyItem(
            title=story.title,
            url=story.url,
            detail=detail,
            ref=f"#{story.id}" if story.id is not None else None,
        )

    # ------------------------------------------------------------------ subscriptions

    async def _subscribe(self, ctx: _Ctx, args: list[str]) -> Reply:
        self._require_admin(ctx)
        channel, args = await self._target(ctx, args)
        existing = await self.store.get_subscription(channel)
        tz = existing.tz if existing else self.default_tz
        lang: str | None = None
        sched: Schedule | None = None
        rest: list[str] = []
        lowered = [a.lower() for a in args]
        i = 0
        while i < len(args):
            word = lowered[i]
            if lang is None and not rest and parse_lang(word):
                lang = parse_lang(word)
                i += 1
                continue
            if sched is None and word in HEAD_WORDS:
                parsed = parse_schedule_prefix(lowered[i:], tz)
                if parsed is not None:
                    sched, used = parsed
                    i += used
                    continue
            rest.append(args[i])
            i += 1
        keywords = parse_keywords(rest) if rest else None

        if existing is None:
            sched = sched or parse_schedule(self.default_schedule, tz)
            sub = Subscription(
                channel=channel,
                lang=lang or ctx.lang,
                schedule=sched.canonical(),
                tz=tz,
                keywords=keywords or (),
                next_run_at=sched.next_after(ctx.now),
                created_by=ctx.inv.user_id,
            )
            head = "subscribed"
        else:
            sched = sched or parse_schedule(existing.schedule, tz)
            sub = replace(
                existing,
                lang=lang or existing.lang,
                schedule=sched.canonical(),
                keywords=existing.keywords if keywords is None else keywords,
                paused=False,
                paused_reason=None,
                next_run_at=sched.next_after(ctx.now),
                last_window_end=self._fresh_window_end(existing, sched, ctx.now),
            )
            head = "subscription_updated"
        sub = await self.store.upsert_subscription(sub)
        reply_lang = norm_lang(sub.lang) if channel == ctx.inv.channel else ctx.lang
        text = (
            self._t(head, reply_lang, channel=str(channel.id))
            + "\n"
            + self._describe_sub(sub, reply_lang)
        )
        return Reply(text=text, lang=reply_lang)

    @staticmethod
    def _fresh_window_end(sub: Subscription, sched: Schedule, now: datetime) -> datetime | None:
        # After a long pause the next digest should not sweep up weeks of old stories.
        if sub.last_window_end is None:
            return None
        return max(sub.last_window_end, now - sched.lookback)

    async def _unsubscribe(self, ctx: _Ctx, args: list[str]) -> Reply:
        self._require_admin(ctx)
        channel, _ = await self._target(ctx, args)
        if not await self.store.delete_subscription(channel):
            raise CommandError("not_subscribed")
        return Reply(text=self._t("unsubscribed", ctx.lang, channel=str(channel.id)), lang=ctx.lang)

    async def _settings(self, ctx: _Ctx, args: list[str]) -> Reply:
        channel, args = await self._target(ctx, args) if args else (ctx.inv.channel, args)
        sub = await self.store.get_subscription(channel)
        if sub is None:
            raise CommandError("not_subscribed")
        if not args:
            text = (
                self._t("settings_header", ctx.lang, channel=str(channel.id))
                + "\n"
                + self._describe_sub(sub, ctx.lang)
            )
            return Reply(text=text, lang=ctx.lang)
        self._require_admin(ctx)
        what, values = args[0].lower(), args[1:]
        value = " ".join(values)
        head = "settings_saved"
        if what in ("lang", "language", "bahasa"):
            lang = parse_lang(value) if len(values) == 1 else None
            if lang is None:
                raise CommandError("bad_lang", value=value[:20])
            sub = replace(sub, lang=lang)
        elif what in ("schedule", "jadwal"):
            sched = parse_schedule(value, sub.tz)
            sub = replace(
                sub,
                schedule=sched.canonical(),
                next_run_at=sched.next_after(ctx.now),
                last_window_end=self._fresh_window_end(sub, sched, ctx.now),
            )
        elif what in ("tz", "timezone", "zona", "zone"):
            if len(values) != 1:
                raise CommandError("bad_timezone", tz=value[:64])
            tz = validate_tz(value)
            sched = parse_schedule(sub.schedule, tz)
            sub = replace(sub, tz=tz, next_run_at=sched.next_after(ctx.now))
        elif what in ("keywords", "keyword", "kata", "katakunci", "kw"):
            clear = value.lower() in ("", "clear", "none", "hapus", "kosong", "-")
            sub = replace(sub, keywords=() if clear else parse_keywords(values))
        elif what in ("max", "maks", "maksimum"):
            sub = replace(sub, max_stories=_parse_int(value, 1, MAX_STORIES, "settings max 5"))
        elif what in ("pause", "jeda", "stop"):
            sub = replace(sub, paused=True, paused_reason=None)
            head = "paused"
        elif what in ("resume", "lanjut", "lanjutkan", "unpause"):
            sched = parse_schedule(sub.schedule, sub.tz)
            sub = replace(
                sub,
                paused=False,
                paused_reason=None,
                next_run_at=sched.next_after(ctx.now),
                last_window_end=self._fresh_window_end(sub, sched, ctx.now),
            )
            head = "resumed"
        else:
            raise CommandError("usage_settings", value=what[:30])
        sub = await self.store.upsert_subscription(sub)
        lang = norm_lang(sub.lang) if channel == ctx.inv.channel else ctx.lang
        text = self._t(head, lang, channel=str(channel.id)) + "\n" + self._describe_sub(sub, lang)
        return Reply(text=text, lang=lang)

    # ------------------------------------------------------------------ lookups

    async def _digest(self, ctx: _Ctx, args: list[str]) -> Reply:
        sub = await self.store.get_subscription(ctx.inv.channel)
        lang = norm_lang(sub.lang) if sub else ctx.lang
        if args and parse_lang(args[0]):
            lang = parse_lang(args[0]) or lang
        compose = self._compose or compose_digest
        digest = await compose(
            self.store,
            lang=lang,
            start=ctx.now - timedelta(hours=DIGEST_HOURS),
            end=ctx.now,
            tz=sub.tz if sub else self.default_tz,
            keywords=sub.keywords if sub else (),
            max_stories=sub.max_stories if sub else 10,
        )
        return Reply(text=self._t("digest_now", lang, hours=DIGEST_HOURS), lang=lang, digest=digest)

    async def _latest(self, ctx: _Ctx, args: list[str]) -> Reply:
        n = _parse_int(args[0], 1, MAX_LATEST, "/latest 5") if args else 5
        stories = await self.store.latest(n, relevant_only=True)
        if not stories:
            return Reply(text=self._t("latest_none", ctx.lang), lang=ctx.lang)
        return Reply(
            text=self._t("latest_header", ctx.lang, count=len(stories)),
            lang=ctx.lang,
            items=[self._story_item(s, ctx.lang) for s in stories],
        )

    async def _search(self, ctx: _Ctx, args: list[str]) -> Reply:
        query = " ".join(args).strip()[:MAX_QUERY_CHARS]
        if not query:
            raise CommandError("usage_search")
        stories = await self.store.search(query, limit=SEARCH_LIMIT)
        if not stories:
            return Reply(text=self._t("search_none", ctx.lang, query=query), lang=ctx.lang)
        return Reply(
            text=self._t("search_header", ctx.lang, query=query),
            lang=ctx.lang,
            items=[self._story_item(s, ctx.lang) for s in stories],
        )

    async def _story(self, ctx: _Ctx, args: list[str]) -> Reply:
        if not args:
            raise CommandError("usage_story")
        m = _STORY_ID_RE.match(args[0])
        if m is None:
            raise CommandError("bad_story_id", value=args[0][:30])
        story = await self.store.get_story(int(m[1]))
        if story is None:
            raise CommandError("story_not_found", id=m[1])
        if story.bullets:
            headline, bullets = story.title, story.bullets
        else:
            summary = await self._summarize(story.title, story.text, story.lang, ctx.lang)
            headline, bullets = summary.headline or story.title, summary.bullets
        item = self._story_item(story, ctx.lang)
        lines = [headline, *(f"• {b}" for b in bullets), item.detail or story.source]
        terms = [m for m in story.matched if not m.startswith("neg:")]
        if terms:
            lines.append(self._t("story_why", ctx.lang, terms=", ".join(terms)))
        return Reply(text="\n".join(lines), lang=ctx.lang, items=[item])

    async def _summary(self, ctx: _Ctx, args: list[str]) -> Reply:
        if not args:
            raise CommandError("usage_summary")
        url = _check_url(args[0], "/summary https://example.com/news")
        try:
            async with self._fetcher_factory() as fetcher:
                result = await fetcher.fetch(url)
        except BlockedURL as e:
            raise _refused(url, e) from e
        except TooLarge as e:
            raise CommandError("summary_too_large", str(e)) from e
        except FetchTimeout as e:
            raise CommandError("summary_timeout", str(e)) from e
        except HTTPStatusError as e:
            raise CommandError("summary_http", str(e), status=e.status) from e
        except FetchError as e:
            raise CommandError("summary_fetch_failed", str(e)) from e
        if not result.body:
            raise CommandError("summary_fetch_failed", f"HTTP {result.status} without a body")
        title, text = await asyncio.to_thread(_extract_article, result.body)
        text = text[:MAX_ARTICLE_CHARS]
        if len(text.split()) < 20:
            raise CommandError("summary_no_text")
        story_lang_ = await asyncio.to_thread(story_lang, title, text)
        summary = await self._summarize(title, text, story_lang_, ctx.lang)
        topic = await asyncio.to_thread(self._scorer.score, title, text, story_lang_)
        lines = [summary.headline or title or url, *(f"• {b}" for b in summary.bullets)]
        if topic.relevant:
            terms = ", ".join(m for m in topic.matched if not m.startswith("neg:"))
            lines.append(self._t("summary_relevant", ctx.lang, terms=terms))
        else:
            lines.append(self._t("summary_not_relevant", ctx.lang))
        return Reply(
            text="\n".join(lines),
            lang=ctx.lang,
            items=[ReplyItem(title=title or url, url=result.final_url or url)],
        )

    # ------------------------------------------------------------------ feeds and status

    async def _feeds(self, ctx: _Ctx, args: list[str]) -> Reply:
        if not args:
            feeds = await self.store.list_feeds()
            if not feeds:
                return Reply(text=self._t("feeds_none", ctx.lang), lang=ctx.lang)
            items = [
                ReplyItem(title=f.title or f.url, url=f.url, detail=self._feed_state(f, ctx.lang))
                for f in feeds
            ]
            return Reply(
                text=self._t("feeds_header", ctx.lang, count=len(feeds)),
                lang=ctx.lang,
                items=items,
            )
        action = args[0].lower()
        if action not in ("add", "tambah", "remove", "rm", "hapus", "delete"):
            raise CommandError("usage_feeds")
        self._require_admin(ctx)
        if not self.feeds_writable:
            raise CommandError("feeds_readonly")
        if len(args) != 2:
            raise CommandError("usage_feeds")
        url = _check_url(args[1], "feeds add https://example.com/rss")
        if action in ("add", "tambah"):
            return await self._feed_add(ctx, url)
        if not await self.store.remove_feed(url):
            raise CommandError("feed_not_found", url=url)
        return Reply(text=self._t("feed_removed", ctx.lang, url=url), lang=ctx.lang)

    async def _feed_add(self, ctx: _Ctx, url: str) -> Reply:
        if await self.store.get_feed(url) is not None:
            raise CommandError("feed_exists", url=url)
        # A URL typed in chat is untrusted: prove it is a public, reachable feed before polling.
        try:
            async with self._fetcher_factory() as fetcher:
                result = await fetcher.fetch(url)
        except BlockedURL as e:
            raise _refused(url, e) from e
        except FetchError as e:
            raise CommandError("feed_unreachable", url=url, error=str(e)[:200]) from e
        if not result.body:
            raise CommandError("feed_unreachable", url=url, error=f"HTTP {result.status}")
        try:
            parsed = await asyncio.to_thread(
                parse_feed, result.body, url=result.final_url, headers=result.headers
            )
        except ParseError as e:
            raise CommandError("feed_not_a_feed", str(e), url=url) from e
        feed = await self.store.add_feed(
            Feed(url=url, title=parsed.title or None, lang=normalize_lang(parsed.lang))
        )
        title = feed.title or feed.url
        return Reply(text=self._t("feed_added", ctx.lang, title=title), lang=ctx.lang)

    def _feed_state(self, feed: Feed, lang: str) -> str:
        if feed.disabled_reason:
            return self._t("feed_disabled", lang, reason=feed.disabled_reason)
        if feed.failures:
            return self._t("feed_failing", lang, count=feed.failures, error=feed.last_error or "?")
        return self._t("feed_ok", lang)

    async def _status(self, ctx: _Ctx, args: list[str]) -> Reply:
        del args
        lang = ctx.lang
        sub = await self.store.get_subscription(ctx.inv.channel)
        tz = sub.tz if sub else self.default_tz
        raw = await self.store.get_meta("last_poll_at")
        try:
            last_poll = self._fmt_time(datetime.fromisoformat(raw), tz, lang) if raw else None
        except ValueError:
            last_poll = None
        feeds = await self.store.list_feeds()
        disabled = [f for f in feeds if f.disabled_reason]
        failing = [f for f in feeds if f.failures and not f.disabled_reason]
        lines = [
            self._t("status_header", lang),
            self._t(
                "status_body",
                lang,
                last_poll=last_poll or self._t("status_never", lang),
                feeds=len(feeds),
                failing=len(failing),
                disabled=len(disabled),
            ),
        ]
        for f in [*disabled, *failing][:10]:
            lines.append(
                "• " + self._t("status_problem", lang, url=f.url, reason=self._feed_state(f, lang))
            )
        if sub is None:
            lines.append(self._t("status_no_sub", lang))
        elif sub.paused:
            reason = sub.paused_reason or self._t("paused_by_user", lang)
            lines.append(self._t("status_sub_paused", lang, reason=reason))
        else:
            nxt = (
                self._t("next_instant", lang)
                if sub.schedule == "instant"
                else self._fmt_time(sub.next_run_at, sub.tz, lang)
            )
            lines.append(self._t("status_sub", lang, next=nxt))
        return Reply(text="\n".join(lines), lang=lang)

    async def _help(self, ctx: _Ctx, args: list[str]) -> Reply:
        del args
        return Reply(text=self._t("help", ctx.lang), lang=ctx.lang, ephemeral=True)
