"""Plain data that flows through the pipeline.

Everything here is platform-neutral: no chat platform, HTTP library or database type appears.
The pipeline is

    FetchResult -> ParsedFeed/ParsedEntry -> Story -> (TopicResult, Summary) -> Digest -> adapter

Dataclasses use ``slots`` and are frozen where identity matters, so they hash and compare by value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

LANGS: tuple[str, ...] = ("id", "en")
"""Languages Warta composes digests and replies in."""


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """Where to post: a chat on one platform. ``id`` is the platform's id as text."""

    platform: str
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        platform, _, ident = text.partition(":")
        if not platform or not ident:
            raise ValueError(f"not a channel reference (want platform:id): {text!r}")
        return cls(platform, ident)


# --------------------------------------------------------------------------- fetching


@dataclass(slots=True)
class FetchResult:
    """What one HTTP fetch of a feed produced.

    ``status`` is the final HTTP status (304 means unchanged; ``body`` is then None).
    ``retry_after`` is in seconds, from Retry-After or Cache-Control max-age when present.
    """

    url: str
    final_url: str
    status: int
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


# --------------------------------------------------------------------------- parsing


@dataclass(slots=True)
class ParsedEntry:
    """One feed entry after parsing, already converted to plain text and capped."""

    guid: str | None
    link: str | None
    title: str
    text: str
    published: datetime | None  # timezone-aware UTC, or None when unknown/out of range
    author: str | None = None
    lang: str | None = None  # declared language (xml:lang / <language>), if any
    image: str | None = None
    # The body as the feed gave it (HTML or text, capped), when known. Hashing this instead of
    # ``text`` lets a poll skip HTML->text for entries it already stored.
    body: str | None = None


@dataclass(slots=True)
class ParsedFeed:
    """A parsed feed document. ``parser`` says which parser produced it ("fast" or "feedparser")."""

    title: str
    link: str | None
    lang: str | None
    entries: list[ParsedEntry]
    parser: str = "fast"
    bozo: bool = False
    bozo_reason: str | None = None


# --------------------------------------------------------------------------- feeds and stories


@dataclass(slots=True)
class Feed:
    """A polled feed and its polling state."""

    url: str
    id: int | None = None
    title: str | None = None
    lang: str | None = None  # configured language hint ("id"/"en"), or None to detect per story
    interval_s: int = 900
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_check_at: datetime | None = None
    last_checked_at: datetime | None = None
    last_ok_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    disabled_reason: str | None = None
    baseline_done: bool = False
    # In every chat's source set unless a chat switched it off. Feeds a chat adds are not
    # defaults; the operator's (config/feeds.toml, ``warta feeds add``) are.
    is_default: bool = True


@dataclass(slots=True)
class ChatSource:
    """One source in a chat's set: the feed, and whether the chat added it (else a default)."""

    feed: Feed
    added: bool


@dataclass(frozen=True, slots=True)
class LangGuess:
    """A story's language, how sure the detector was of it, and what decided it."""

    lang: str  # "id" or "en"
    confidence: float  # the detector's confidence in its answer, 0..1 (0 when not asked)
    by: str  # "text" (detected from title + text) or "declared" (the feed's/operator's prior)


@dataclass(slots=True)
class Story:
    """A normalized news story.

    ``key`` identifies the entry within its feed (guid, else canonical link, else a hash of
    title+date). ``content_hash`` changes when the entry is edited; the identity does not.
    ``source`` is the outlet's display name (feed title or host).
    """

    feed_url: str
    key: str
    url: str
    title: str
    text: str
    source: str
    lang: str
    published: datetime | None
    content_hash: str
    id: int | None = None
    fetched_at: datetime | None = None
    relevance: float | None = None
    matched: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()
    # How the language was decided (shown by `warta inspect`); not stored.
    lang_guess: LangGuess | None = None
    # Set by ingest on a story that may be posted to instant subscribers (not a feed's
    # baseline): storing it also queues an announcement in the same transaction. Not stored.
    announce: bool = False


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True, slots=True)
class TopicResult:
    """Relevance of a story to "AI and artists", with the evidence.

    ``matched`` lists the lexicon terms that fired, grouped by prefix: ``ai:<term>``,
    ``art:<term>``, ``neg:<term>`` (a false friend that vetoed a match), ``kw+:<term>`` /
    ``kw-:<term>`` (subscription keywords). Users see these to learn why a story was kept.
    """

    score: float
    relevant: bool
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """A story's quick facts: a headline plus 2-4 short bullets, in ``lang``."""

    headline: str
    bullets: tuple[str, ...]
    lang: str
    method: str = "extractive"
    translated: bool = False  # True only when an LLM wrote the bullets in another language


# --------------------------------------------------------------------------- digests


@dataclass(frozen=True, slots=True)
class AlsoReported:
    source: str
    url: str


@dataclass(slots=True)
class DigestEntry:
    story: Story
    summary: Summary
    topic: TopicResult
    also: list[AlsoReported] = field(default_factory=list)
    note: str | None = None  # a localized remark on this entry (none is set by the composer)
    # The entry is in the digest's other-language section (its quick facts are in the story's
    # language, not the digest's): renderers put ``Digest.other_heading`` once before the first.
    other_lang: bool = False


@dataclass(slots=True)
class Digest:
    """A platform-neutral digest. Renderers turn it into console text, Telegram HTML or embeds."""

    lang: str
    title: str  # "Ringkasan AI & Seniman — 24 Nov 2026"
    window_start: datetime
    window_end: datetime
    tz: str
    entries: list[DigestEntry]
    empty_text: str = ""  # localized "nothing new" line used when entries is empty
    footer: str = ""
    # Localized heading of the other-language section ("Dalam bahasa Inggris"); entries with
    # ``other_lang`` come after all the others.
    other_heading: str = ""
    # The permalink of this digest's day on the public site (bot.web.links.digest_url), set by
    # the composer when the operator gives the site's URL (web_base_url); renderers add one
    # "view on the web" link per digest. Empty: no site, no link.
    web_url: str = ""


# --------------------------------------------------------------------------- subscriptions


class ScheduleKind(enum.StrEnum):
    DAILY = "daily"
    EVERY = "every"
    WEEKLY = "weekly"
    INSTANT = "instant"


@dataclass(slots=True)
class Subscription:
    """A channel's subscription. ``schedule`` is the user's text ("daily 08:00", "every 6h",
    "weekly mon 09:00", "instant"); ``next_run_at`` is derived from it with APScheduler triggers.
    """

    channel: ChannelRef
    lang: str = "id"
    schedule: str = "daily 08:00"
    tz: str = "Asia/Jakarta"
    keywords: tuple[str, ...] = ()  # "+term" widens, "-term" narrows, "term" requires
    max_stories: int = 10
    paused: bool = False
    paused_reason: str | None = None
    next_run_at: datetime | None = None
    last_window_end: datetime | None = None
    id: int | None = None
    created_by: str | None = None


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent; the subscription is paused with the reason


@dataclass(slots=True)
class Delivery:
    """An outbox row: one composed digest for one subscription and window.

    ``key`` is unique (subscription id + window), so composing twice never doubles a post.
    ``payload`` is the serialized Digest; ``sent_parts`` records the platform message ids of the
    parts already posted, so a retry after a crash resumes after the last confirmed part.
    """

    subscription_id: int
    channel: ChannelRef
    key: str
    payload: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    not_before: datetime | None = None
    sent_parts: list[str] = field(default_factory=list)
    last_error: str | None = None
    id: int | None = None
    created_at: datetime | None = None
