"""Composing a platform-neutral Digest: rank relevant stories, fold same-event reports together.

The composer reads stored stories (their relevance, matched terms and bullets were computed once
at ingest), matches only a subscription's keywords against them (never re-running the lexicon),
clusters reports of the same event from different outlets into one entry ("also reported by
..."), and adds the localized chrome. It knows nothing about chat platforms.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bot import metrics
from bot.cluster import ClusterItem, cluster
from bot.lang.strings import format_date, t
from bot.models import AlsoReported, Digest, DigestEntry, Story, Summary, TopicResult
from bot.summarize.base import Summarizer
from bot.summarize.extractive import summarize_text
from bot.topic import TopicScorer

# How many candidate stories a window may hold before we stop reading: a digest shows at most a
# few dozen entries.
MAX_CANDIDATES = 400


class StoryReader(Protocol):
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


@runtime_checkable
class BulletCache(Protocol):
    """A store that keeps quick facts computed on demand (SQLStore): ingest summarizes only
    stories that can reach a chat, so a digest may be the first to summarize one."""

    async def save_bullets(self, bullets: Mapping[int, Sequence[str]]) -> None: ...


class ComposeFn(Protocol):
    """Composes a digest from a store; the seam the command core (/digest) and the delivery loop
    (scheduled digests) share. :func:`compose_digest` is one; the runner binds it to the app's
    scorer and summarizer.

    ``feeds`` is the chat's source set (feed URLs; None: every stored story). Together with
    lang, window, keywords and max_stories it is everything a digest depends on, so chats with
    the same set can later share one composition."""

    async def __call__(
        self,
        store: StoryReader,
        *,
        lang: str,
        start: datetime,
        end: datetime,
        tz: str = ...,
        keywords: Sequence[str] = ...,
        max_stories: int = ...,
        feeds: frozenset[str] | None = ...,
    ) -> Digest: ...


def _story_time(story: Story) -> datetime:
    return story.published or story.fetched_at or datetime.min.replace(tzinfo=UTC)


def _entry_rank(members: Sequence[Story], now: datetime) -> float:
    """Relevance first; more outlets reporting it and freshness break near-ties."""
    best = max(s.relevance or 0.0 for s in members)
    outlets = len({s.source for s in members})
    age_h = max(0.0, (now - max(_story_time(s) for s in members)).total_seconds() / 3600)
    return best * (1.0 + 0.15 * math.log2(outlets)) * (1.0 / (1.0 + age_h / 72.0))


def _pick_representative(members: Sequence[Story], lang: str) -> Story:
    """Prefer a report in the digest's language, then the most relevant, then the earliest."""
    return sorted(
        members,
        key=lambda s: (
            s.lang != lang,
            -(s.relevance or 0.0),
            _story_time(s),
            s.id or 0,
        ),
    )[0]


@lru_cache(maxsize=32)
def _cluster_cached(items: tuple[ClusterItem, ...]) -> tuple[tuple[int, ...], ...]:
    """Clusters of one candidate set. Grouping does not depend on the digest's language, time
    zone or length, so the composes of a due batch that keep the same stories (an Indonesian
    and an English digest of one source set, a keyword that filters nothing out) share it."""
    return tuple(tuple(group) for group in cluster(items))


def build_digest(
    stories: Sequence[Story],
    *,
    lang: str,
    start: datetime,
    end: datetime,
    tz: str = "Asia/Jakarta",
    keywords: Sequence[str] = (),
    max_stories: int = 10,
    scorer: TopicScorer | None = None,
    other_languages: bool = True,
) -> Digest:
    """Compose a digest from candidate stories (pure: no I/O).

    Entries in the digest's language come first; the rest form one section under a localized
    heading (``Digest.other_heading``), each ranked within its section. With
    ``other_languages=False`` an event reported only in another language is left out.
    """
    from bot.analyze import default_scorer

    scorer = scorer or default_scorer()
    topics: dict[int, TopicResult] = {}
    kept: list[Story] = []
    for story in stories:
        # Scored once at ingest: only the subscription's keywords are matched here. A story
        # that was never scored (relevance None: not analyzed yet) is scored now.
        if story.relevance is None:
            topic = scorer.score(story.title, story.text, story.lang, keywords=tuple(keywords))
        else:
            topic = scorer.judge_stored(
                title=story.title,
                text=story.text,
                lang=story.lang,
                relevance=story.relevance,
                matched=story.matched,
                keywords=tuple(keywords),
            )
        if topic.relevant:
            # A copy: the caller's stories (shared by every compose of a due batch) keep the
            # score stored at ingest; this digest ranks by its keyword-adjusted one.
            copy = replace(story, relevance=topic.score)
            topics[id(copy)] = topic
            kept.append(copy)

    groups = _cluster_cached(
        tuple(
            ClusterItem(
                title=s.title,
                text=s.text[:1500],
                lang=s.lang,
                source=s.source,
                published=s.published,
            )
            for s in kept
        )
    )
    ranked = sorted(
        ([kept[i] for i in group] for group in groups),
        key=lambda members: -_entry_rank(members, end),
    )
    if not other_languages:
        ranked = [m for m in ranked if any(s.lang == lang for s in m)]

    entries: list[DigestEntry] = []
    for members in ranked[:max_stories]:
        rep = _pick_representative(members, lang)
        summary = (
            Summary(headline=rep.title, bullets=rep.bullets, lang=rep.lang)
            if rep.bullets
            else summarize_text(rep.title, rep.text, rep.lang)
        )
        seen_sources = {rep.source}
        also: list[AlsoReported] = []
        for other in sorted(members, key=_story_time):
            if other is rep or other.source in seen_sources:
                continue
            seen_sources.add(other.source)
            also.append(AlsoReported(source=other.source, url=other.url))
        entries.append(
            DigestEntry(
                story=rep,
                summary=summary,
                topic=topics[id(rep)],
                also=also,
                other_lang=rep.lang != lang,
            )
        )

    local_end = end.astimezone(ZoneInfo(tz))
    digest = Digest(
        lang=lang,
        title=t("digest_title", lang, date=format_date(local_end, lang)),
        window_start=start,
        window_end=end,
        tz=tz,
        entries=entries,
        empty_text=t("digest_empty", lang),
    )
    order_sections(digest)
    return digest


def other_heading(lang: str) -> str:
    """The heading of a ``lang`` digest's other-language section."""
    other = "en" if lang == "id" else "id"
    return t(f"digest_section_{other}", lang)


def order_sections(digest: Digest) -> None:
    """Same-language entries first, the other-language section after (rank order kept within
    each), and the section heading set when the section is not empty."""
    digest.entries.sort(key=lambda e: e.other_lang)  # stable: rank order within each section
    digest.other_heading = (
        other_heading(digest.lang) if any(e.other_lang for e in digest.entries) else ""
    )


async def compose_digest(
    store: StoryReader,
    *,
    lang: str,
    start: datetime,
    end: datetime,
    tz: str = "Asia/Jakarta",
    keywords: Sequence[str] = (),
    max_stories: int = 10,
    scorer: TopicScorer | None = None,
    summarizer: Summarizer | None = None,
    feeds: frozenset[str] | None = None,
    other_languages: bool = True,
) -> Digest:
    """Read the window's stories from the store and compose the digest for ``lang``.

    With an abstractive ``summarizer`` (the LLM backend), entries from a story in the other
    language get quick facts written in the digest's language and join the main section;
    without one, or when it falls back, they keep their own-language bullets in the
    other-language section — never a fake translation. ``other_languages=False`` leaves out
    events reported only in another language. ``feeds`` limits the digest to those sources (a
    chat's set), in the query.
    """
    stories = await store.stories_between(start, end, limit=MAX_CANDIDATES, feeds=feeds)
    # Clustering and quick facts written on demand are CPU work: off the event loop, so the
    # adapters answer while a compose tick works through thousands of subscriptions.
    digest = await asyncio.to_thread(
        build_digest,
        stories,
        lang=lang,
        start=start,
        end=end,
        tz=tz,
        keywords=keywords,
        max_stories=max_stories,
        scorer=scorer,
        other_languages=other_languages,
    )
    if isinstance(store, BulletCache):
        fresh = {
            e.story.id: e.summary.bullets
            for e in digest.entries
            if e.story.id is not None and not e.story.bullets and e.summary.bullets
        }
        await store.save_bullets(fresh)
    if summarizer is not None and summarizer.name != "extractive":
        await translate_entries(digest, summarizer)
    metrics.DIGESTS_COMPOSED.labels(lang=lang).inc()
    return digest


async def translate_entries(digest: Digest, summarizer: Summarizer) -> None:
    """Rewrite other-language entries' quick facts in the digest's language, concurrently.

    A translated entry leaves the other-language section; the rest stay in it."""
    foreign = [e for e in digest.entries if e.story.lang != digest.lang]

    async def one(entry: DigestEntry) -> None:
        story = entry.story
        result = await summarizer.summarize(
            title=story.title, text=story.text, lang=story.lang, target_lang=digest.lang
        )
        if result.translated and result.lang == digest.lang:
            entry.summary = result
            entry.other_lang = False

    await asyncio.gather(*(one(e) for e in foreign))
    order_sections(digest)


# --------------------------------------------------------------------------- serialization
# The outbox stores a composed digest as JSON so the sender (maybe another process, maybe after
# a restart) renders exactly what was composed.


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def digest_to_json(digest: Digest) -> str:
    def default(o: object) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        raise TypeError(f"cannot serialize {type(o).__name__}")

    return json.dumps(asdict(digest), default=default, ensure_ascii=False, separators=(",", ":"))


def digest_from_json(payload: str) -> Digest:
    d = json.loads(payload)
    entries = []
    for e in d["entries"]:
        s = e["story"]
        story = Story(
            feed_url=s["feed_url"],
            key=s["key"],
            url=s["url"],
            title=s["title"],
            text=s["text"],
            source=s["source"],
            lang=s["lang"],
            published=_dt(s["published"]),
            content_hash=s["content_hash"],
            id=s["id"],
            fetched_at=_dt(s["fetched_at"]),
            relevance=s["relevance"],
            matched=tuple(s["matched"]),
            bullets=tuple(s["bullets"]),
        )
        sm = e["summary"]
        tp = e["topic"]
        entries.append(
            DigestEntry(
                story=story,
                summary=Summary(
                    headline=sm["headline"],
                    bullets=tuple(sm["bullets"]),
                    lang=sm["lang"],
                    method=sm["method"],
                    translated=sm["translated"],
                ),
                topic=TopicResult(
                    score=tp["score"], relevant=tp["relevant"], matched=tuple(tp["matched"])
                ),
                also=[AlsoReported(**a) for a in e["also"]],
                # Digests queued before sections existed marked such entries with a note.
                note=e.get("note") if "other_lang" in e else None,
                other_lang=e.get("other_lang", bool(e.get("note"))),
            )
        )
    digest = Digest(
        lang=d["lang"],
        title=d["title"],
        window_start=datetime.fromisoformat(d["window_start"]),
        window_end=datetime.fromisoformat(d["window_end"]),
        tz=d["tz"],
        entries=entries,
        empty_text=d["empty_text"],
        footer=d["footer"],
        other_heading=d.get("other_heading", ""),
        web_url=d.get("web_url", ""),  # digests queued before permalinks have none
    )
    if "other_heading" not in d:
        order_sections(digest)
    return digest
