"""What the public site may show, read from the store: daily digests, stories, search, counts.

Only stories of the instance's public sources are ever returned (the operator's default feeds
as the store marks them, see :class:`StoreDefaultSources`): a chat's own sources, its
subscriptions and chat ids never reach a page. A day's digest is composed from that day's
stored stories in the site's time zone with the same composer as the chats, so its permalink
shows the same entries every time; composed digests are cached under a fingerprint of their
candidate stories, so a page is re-composed only when a story of that day was added, edited or
re-scored.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.digest import MAX_CANDIDATES, build_digest
from bot.lang.strings import format_date, t
from bot.models import LANGS, Digest, Feed, Story
from bot.topic import TopicScorer
from bot.web.themes import THEME_ORDER, story_themes

PublicSources = Callable[[], Awaitable[frozenset[str]]]
"""Returns the feed URLs whose stories the public site may show."""

SEARCH_MAX_CHARS = 100
SEARCH_MAX_WORDS = 8
SEARCH_MAX_RESULTS = 100  # ten pages of ten: enough to browse, bounded work per request
# Stories one stats request may read: a busy instance keeps a few hundred relevant stories a
# week; past this the oldest weeks are under-counted rather than the server slowed down.
STATS_MAX_STORIES = 20_000


class ArchiveStore(Protocol):
    """The store methods the site reads (see :class:`bot.store.base.Store`; all raise
    StoreError when the database fails)."""

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

    async def get_story(self, id: int) -> Story | None: ...

    async def search(
        self, query: str, *, limit: int = 10, lang: str | None = None
    ) -> list[Story]: ...


class FeedLister(Protocol):
    async def list_feeds(self) -> list[Feed]: ...


class StoreDefaultSources:
    """The operator's default sources as the store marks them (``feeds.is_default``): the
    feeds file's feeds once synced, plus defaults operators added from chat or the CLI, minus
    those they took back. A feed a chat added for itself is never one, so it never reaches a
    page; a chat switching a default off changes that chat only, not the site.

    Read from the store on every call (one query over the feeds table, which holds sources,
    not stories), so a change an operator makes in another process shows at the next request."""

    def __init__(self, store: FeedLister) -> None:
        self._store = store

    async def __call__(self) -> frozenset[str]:
        return frozenset(f.url for f in await self._store.list_feeds() if f.is_default)


@dataclass(slots=True)
class WeeklyCounts:
    """Relevant public stories per week, split three ways. ``weeks`` are Mondays (local)."""

    weeks: list[date]
    by_outlet: dict[str, list[int]] = field(default_factory=dict)
    by_theme: dict[str, list[int]] = field(default_factory=dict)
    by_lang: dict[str, list[int]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        parts = [repr(self.weeks), repr(self.by_outlet), repr(self.by_theme), repr(self.by_lang)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@dataclass(slots=True)
class SearchPage:
    stories: list[Story]
    page: int
    has_next: bool


def bound_query(raw: str) -> str | None:
    """The search text cut to :data:`SEARCH_MAX_WORDS` words; None when it is too long to be a
    search (the caller answers 400) so a huge query never reaches the database."""
    if len(raw) > SEARCH_MAX_CHARS:
        return None
    return " ".join(raw.split()[:SEARCH_MAX_WORDS])


class Archive:
    def __init__(
        self,
        store: ArchiveStore,
        *,
        sources: PublicSources,
        scorer: TopicScorer,
        tz: str = "Asia/Jakarta",
        max_stories: int = 10,
        now: Callable[[], datetime] | None = None,
        cache_size: int = 128,
    ) -> None:
        self.store = store
        self.sources = sources
        self.scorer = scorer
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.max_stories = max_stories
        self.now = now or (lambda: datetime.now(UTC))
        self._digests: OrderedDict[str, Digest] = OrderedDict()
        self._cache_size = cache_size

    # ------------------------------------------------------------------ time

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    def day_window(self, day: date) -> tuple[datetime, datetime]:
        """Local midnight to the next local midnight, in UTC."""
        start = datetime.combine(day, datetime.min.time(), tzinfo=self.zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.zone)

    # ------------------------------------------------------------------ reading

    def relevant(self, story: Story) -> bool:
        return (story.relevance or 0.0) >= self.scorer.threshold_for(story.lang)

    def _floor(self) -> float:
        """The lowest relevance threshold of any language: the database drops what is below
        it, so counting reads only candidates (texts of off-topic stories stay unread)."""
        return min(self.scorer.threshold_for(lang) for lang in LANGS)

    async def _public(self, stories: Sequence[Story]) -> list[Story]:
        allowed = await self.sources()
        return [s for s in stories if s.feed_url in allowed]

    async def digest(self, lang: str, day: date) -> Digest:
        """The digest of ``day`` (local) in ``lang``: every public story of that day is a
        candidate, composed exactly as a chat's digest (ranking, clustering, quick facts)."""
        start, end = self.day_window(day)
        candidates = await self._public(
            await self.store.stories_between(start, end, limit=MAX_CANDIDATES)
        )
        key = _fingerprint(lang, day, self.max_stories, candidates)
        cached = self._digests.get(key)
        if cached is not None:
            self._digests.move_to_end(key)
            return cached
        # Scoring and clustering are CPU work: off the event loop.
        digest = await asyncio.to_thread(
            build_digest,
            candidates,
            lang=lang,
            start=start,
            end=end,
            tz=self.tz,
            max_stories=self.max_stories,
            scorer=self.scorer,
        )
        # The composer titles a digest by its window's end, the next midnight for a whole day.
        digest.title = t("digest_title", lang, date=format_date(start.astimezone(self.zone), lang))
        self._digests[key] = digest
        while len(self._digests) > self._cache_size:
            self._digests.popitem(last=False)
        return digest

    async def recent_days(self, *, days: int = 30) -> list[date]:
        """Local days among the last ``days`` with at least one relevant public story, newest
        first."""
        today = self.today()
        start, _ = self.day_window(today - timedelta(days=days - 1))
        _, end = self.day_window(today)
        stories = await self._public(
            await self.store.stories_between(
                start,
                end,
                min_relevance=self._floor(),
                limit=STATS_MAX_STORIES,
                feeds=await self.sources(),
            )
        )
        found = {
            self.local(s.published or s.fetched_at or end).date()
            for s in stories
            if self.relevant(s)
        }
        return sorted(found, reverse=True)

    async def story(self, id: int) -> Story | None:
        story = await self.store.get_story(id)
        if story is None or not await self._public([story]):
            return None
        return story

    async def search(self, query: str, *, page: int = 1, per_page: int = 10) -> SearchPage:
        """One page of full-text results over both languages (``query`` already bounded)."""
        found = await self._public(await self.store.search(query, limit=SEARCH_MAX_RESULTS))
        first = (page - 1) * per_page
        return SearchPage(
            stories=found[first : first + per_page],
            page=page,
            has_next=len(found) > first + per_page,
        )

    async def weekly_counts(self, *, weeks: int = 12, top_outlets: int = 6) -> WeeklyCounts:
        """Relevant public stories per local week (Monday first) over the last ``weeks``."""
        today = self.today()
        this_monday = today - timedelta(days=today.weekday())
        mondays = [this_monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
        start, _ = self.day_window(mondays[0])
        _, end = self.day_window(today)
        # The source set filters in the query, so the read cap counts only stories that may
        # be shown (a chat's /stats on a busy instance is not crowded out by other sources).
        stories = [
            s
            for s in await self._public(
                await self.store.stories_between(
                    start,
                    end,
                    min_relevance=self._floor(),
                    limit=STATS_MAX_STORIES,
                    feeds=await self.sources(),
                )
            )
            if self.relevant(s)
        ]
        index = {monday: i for i, monday in enumerate(mondays)}

        def week_of(story: Story) -> int | None:
            day = self.local(story.published or story.fetched_at or end).date()
            return index.get(day - timedelta(days=day.weekday()))

        outlets = Counter(s.source for s in stories)
        top = [name for name, _ in outlets.most_common(top_outlets)]
        counts = WeeklyCounts(
            weeks=mondays,
            by_outlet={name: [0] * weeks for name in [*top, ""]},
            by_theme={theme: [0] * weeks for theme in THEME_ORDER},
            by_lang={lang: [0] * weeks for lang in ("id", "en")},
        )
        for story in stories:
            week = week_of(story)
            if week is None:
                continue
            outlet = story.source if story.source in top else ""  # "" = the other outlets
            counts.by_outlet[outlet][week] += 1
            for theme in story_themes(story):
                counts.by_theme[theme][week] += 1
            counts.by_lang.setdefault(story.lang, [0] * weeks)[week] += 1
        if not any(counts.by_outlet[""]):
            del counts.by_outlet[""]
        return counts


def _fingerprint(lang: str, day: date, max_stories: int, stories: Sequence[Story]) -> str:
    h = hashlib.sha256(f"{lang}|{day}|{max_stories}".encode())
    for s in stories:
        h.update(f"|{s.id}:{s.content_hash}:{s.relevance}".encode())
    return h.hexdigest()
