"""What every command group shares: the invocation and reply models, the seams the core reads
(store, page fetcher, scorer), argument parsing, and :class:`CoreBase` with the helpers every
handler uses (localized text, errors, permission checks, formatting)."""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.digest import ComposeFn
from bot.digest_schedule import parse_schedule
from bot.errors import BlockedURL, CommandError, PermissionDenied, SummarizeError
from bot.feeds.fetch import redact_url
from bot.lang.strings import STRINGS, format_date, t
from bot.limits import FetchGate
from bot.models import (
    ChannelRef,
    ChatSource,
    Digest,
    Feed,
    FetchResult,
    ScheduleKind,
    Story,
    Subscription,
    Summary,
    TopicResult,
)
from bot.redact import display_source
from bot.summarize.base import Summarizer
from bot.summarize.extractive import summarize_text

AttachmentReader = Callable[[int], Awaitable[bytes]]
"""``read(max_bytes) -> the file's bytes``. Raises TooLarge without downloading more than
``max_bytes`` (adapters check the size the platform declares, then what actually arrived) and
FetchError when the platform will not hand the file over."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a command (a Telegram document, a Discord attachment option). Not read
    until a command needs it, and then only up to that command's size cap."""

    filename: str
    size: int | None
    read: AttachmentReader


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
    # One of the instance's operators (settings: operators_telegram / operators_discord). They
    # change the default sources and see full feed URLs and the whole instance's status.
    is_operator: bool = False
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class ReplyItem:
    """One line of a list reply (search results, latest stories, feeds). All untrusted text:
    renderers escape it."""

    title: str
    url: str | None = None
    detail: str | None = None
    ref: str | None = None  # e.g. story id "#123"


@dataclass(frozen=True, slots=True)
class ReplyFile:
    """A file a reply carries. A ``document`` (an OPML export) is a Telegram document and a
    Discord attachment; an ``image`` (the /stats chart, a PNG) is a Telegram photo and a
    Discord attachment shown inside an embed (``attachment://<filename>``), so adapters show
    it inline instead of as a file to download. ``filename`` is ours, never user text."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"
    kind: Literal["document", "image"] = "document"

    @property
    def is_image(self) -> bool:
        return self.kind == "image"


@dataclass(slots=True)
class Reply:
    """What a command answers. ``text`` is untrusted-safe plain text (renderers escape it)."""

    text: str
    lang: str
    items: list[ReplyItem] = field(default_factory=list)
    digest: Digest | None = None
    error: bool = False
    ephemeral: bool = False  # Discord: visible only to the caller (errors, help)
    file: ReplyFile | None = None
    # Post nothing (a refusal already answered once, see bot.limits). Telegram renders an empty
    # reply as no message; Discord must still acknowledge the interaction and does so without
    # leaving a message behind.
    silent: bool = False

    @classmethod
    def nothing(cls, lang: str) -> Reply:
        return cls(text="", lang=lang, ephemeral=True, silent=True)


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
STORY_ID_RE = re.compile(r"^#?(\d{1,12})$")
_KEYWORD_RE = re.compile(r"^([+!-]?)(.+)$")
REQUIRED_MARK = "!"
"""Marks a required keyword ("!sora"). Stored without the mark: a bare stored keyword is
required (the store's format predates the mark)."""
KEYWORD_PREFIXES = frozenset({"keywords", "keyword", "kata", "katakunci", "kw"})
"""Words that introduce a keyword list; after one, bare words are required keywords."""
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
        feeds: Collection[str] | None = None,
    ) -> list[Story]: ...
    async def search(
        self,
        query: str,
        *,
        limit: int = 10,
        lang: str | None = None,
        feeds: Collection[str] | None = None,
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
        feeds: Collection[str] | None = None,
    ) -> list[Story]: ...
    async def add_feed(self, feed: Feed) -> Feed: ...
    async def remove_feed(self, url: str) -> bool: ...
    async def get_feed(self, url: str) -> Feed | None: ...
    async def list_feeds(self) -> list[Feed]: ...
    async def set_feed_default(self, url: str, is_default: bool) -> bool: ...
    async def chat_sources(self, channel: ChannelRef) -> list[ChatSource]: ...
    async def chat_source_urls(self, channel: ChannelRef) -> frozenset[str]: ...
    async def add_chat_source(
        self, channel: ChannelRef, url: str, *, by: str | None = None, max_added: int | None = None
    ) -> str: ...
    async def remove_chat_source(
        self, channel: ChannelRef, url: str, *, by: str | None = None
    ) -> str: ...
    async def source_usage(self) -> dict[str, int]: ...
    async def get_meta(self, key: str) -> str | None: ...


class PageFetcher(Protocol):
    async def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """Raises FetchError subclasses (BlockedURL for private addresses, TooLarge past
        ``max_bytes``)."""
        ...


FetcherFactory = Callable[[], AbstractAsyncContextManager[PageFetcher]]
"""Makes a fetcher for user-supplied URLs; it must refuse private addresses
(``Fetcher(allow_private=False)``)."""


class Scorer(Protocol):
    def score(
        self, title: str, text: str, lang: str, *, keywords: Sequence[str] = ()
    ) -> TopicResult: ...


def utcnow() -> datetime:
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


def refused(url: str, error: BlockedURL) -> CommandError:
    """The one reply for a refused user URL, whether its host is private, does not resolve or
    is spelled oddly: a different reply per case would tell a stranger which internal names
    exist. The detail goes to the log only, without the URL's query string or credentials."""
    log.info("refused user-supplied URL %s: %s", redact_url(url), error)
    return CommandError("url_refused", "refused user-supplied URL")


def parse_lang(word: str) -> str | None:
    return _LANG_WORDS.get(word.lower())


def is_marked_keyword(token: str) -> bool:
    """Whether ``token`` carries a keyword mark (``+``, ``-`` or ``!``) on its first part."""
    return token[:1] in ("+", "-", REQUIRED_MARK) and len(token) > 1


def show_keywords(keywords: Sequence[str]) -> str:
    """Stored keywords as a person types them: required ones get their ``!`` back."""
    return " ".join(k if k[:1] in "+-" else REQUIRED_MARK + k for k in keywords)


def parse_keywords(tokens: Sequence[str], *, bare_required: bool = True) -> tuple[str, ...]:
    """``+term`` widens, ``-term`` narrows, ``!term`` requires; lowercased, deduplicated.
    Commas also separate ("+sora,+midjourney"). A bare ``term`` is required only with
    ``bare_required`` (after an explicit "keywords" word); otherwise it is an error, because a
    stray word silently becoming a required keyword empties every later digest."""
    out: list[str] = []
    for token in tokens:
        for part in token.split(","):
            part = part.strip()
            if not part:
                continue
            m = _KEYWORD_RE.match(part)
            assert m is not None  # .+ matches any non-empty text
            sign, word = m[1], " ".join(m[2].split()).lower()
            if not 2 <= len(word) <= 40 or word[0] in "+-!" or '"' in word:
                raise CommandError("bad_keywords", value=part[:60], max=MAX_KEYWORDS)
            if not sign and not bare_required:
                raise CommandError("bad_keyword_mark", value=part[:60], word=word)
            kw = ("" if sign == REQUIRED_MARK else sign) + word
            if kw not in out:
                out.append(kw)
    if len(out) > MAX_KEYWORDS:
        raise CommandError("bad_keywords", value=out[MAX_KEYWORDS], max=MAX_KEYWORDS)
    return tuple(out)


def parse_int(text: str, lo: int, hi: int, example: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise CommandError("bad_number", value=text[:20], min=lo, max=hi, example=example)
    return value


def check_url(text: str, example: str) -> str:
    url = text.strip().strip("<>")  # Discord/Telegram users paste <url> to stop previews
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in url:
        raise CommandError("bad_url", value=text[:100], example=example)
    return url


@dataclass(slots=True)
class Ctx:
    """One invocation being handled: its reply language and clock reading."""

    inv: Invocation
    lang: str
    now: datetime


Handler = Callable[[Ctx, list[str]], Awaitable[Reply]]


class CoreBase:
    """State and helpers shared by the command groups; :class:`bot.commands.CommandCore` mixes
    the groups together and sets these attributes."""

    store: CommandStore
    _fetcher_factory: FetcherFactory
    _summarizer: Summarizer
    _scorer: Scorer
    feeds_writable: bool
    chat_sources_max: int
    _admin_check: AdminCheck | None
    _resolve_target: ResolveTarget | None
    _compose: ComposeFn | None
    default_tz: str
    default_schedule: str
    _now: Callable[[], datetime]
    fetch_gate: FetchGate
    fetch_max_bytes: int

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

    def _require_admin(self, ctx: Ctx) -> None:
        if not ctx.inv.is_admin:
            raise PermissionDenied("not_admin", f"/{ctx.inv.command} needs an admin")

    def _show_source(self, ctx: Ctx, url: str, title: str | None) -> str:
        """How a source is named to this user: operators see the URL, everyone else the
        title and host only (a feed URL may carry a paid feed's token)."""
        if ctx.inv.is_operator:
            return f"{title} ({url})" if title and title != url else url
        return display_source(url, title)

    async def _target(self, ctx: Ctx, args: list[str]) -> tuple[ChannelRef, list[str]]:
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
            keywords=show_keywords(sub.keywords) or self._t("keywords_none", lang),
            max=sub.max_stories,
            next=nxt,
            state=state,
        )

    async def _summarize(
        self, title: str, text: str, lang: str, target: str, *, chat: ChannelRef | None = None
    ) -> Summary:
        try:
            return await self._summarizer.summarize(
                title=title,
                text=text,
                lang=lang,
                target_lang=target,
                chat=f"{chat.platform}:{chat.id}" if chat is not None else None,
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

    def _feed_state(self, feed: Feed, lang: str) -> str:
        if feed.disabled_reason:
            return self._t("feed_disabled", lang, reason=feed.disabled_reason)
        if feed.failures:
            return self._t("feed_failing", lang, count=feed.failures, error=feed.last_error or "?")
        return self._t("feed_ok", lang)
