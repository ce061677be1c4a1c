"""The CPU part of ingesting one feed body, as plain functions a worker process can run.

A poll does two CPU stages around one store query:

1. :func:`outline`: parse the body and give each entry's key and content hash (no HTML->text);
2. the loop asks the store which keys it holds, with which hash;
3. :func:`build`: turn the entries the store lacks (or holds with another hash) into analyzed
   stories (HTML->text, boilerplate, language, topic score, summary).

Both stages are pure: bytes and plain data in, plain data out, so they run inline or in a
process pool alike (see :mod:`bot.feeds.cpu`). The ``*_job`` variants are what a worker runs:
they take the raw body again rather than parsed entries, because parsing is cheap next to
pickling hundreds of entries' HTML to the worker and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.analyze import analyze, judge_story_lang
from bot.feeds.normalize import entry_hash, entry_key, to_story
from bot.feeds.parse import parse_feed
from bot.models import ParsedEntry, ParsedFeed, Story
from bot.topic import TopicScorer


@dataclass(frozen=True, slots=True)
class Outline:
    """What the loop needs from a parsed body to ask the store about it."""

    title: str
    link: str | None
    parser: str
    # entry key -> content hash of each entry with that key, in feed order (the first entry
    # that makes a story owns the key; later duplicates are fallbacks).
    hashes: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class BuildSpec:
    """How entries become stories for one feed (the feed's side of :func:`to_story`)."""

    feed_url: str
    source: str
    lang_hint: str | None
    base_url: str | None
    now: datetime
    # Every subscription's bare +keywords: a story they widen is summarized (see analyze).
    widen: tuple[str, ...] | None = None


def _groups(parsed: ParsedFeed) -> dict[str, list[ParsedEntry]]:
    groups: dict[str, list[ParsedEntry]] = {}
    for entry in parsed.entries:
        groups.setdefault(entry_key(entry), []).append(entry)
    return groups


def outline(body: bytes, url: str | None, headers: Mapping[str, str]) -> tuple[Outline, ParsedFeed]:
    """Parse ``body`` and key its entries; the parsed feed is kept for an inline :func:`build`."""
    parsed = parse_feed(body, url=url, headers=dict(headers))
    hashes = {key: tuple(entry_hash(e) for e in group) for key, group in _groups(parsed).items()}
    return Outline(parsed.title, parsed.link, parsed.parser, hashes), parsed


def pending(out: Outline, known: Mapping[str, str]) -> int:
    """How many keys :func:`build` will turn into stories at most: those whose first entry is
    not stored with the same hash (a key whose first entry is unchanged is skipped at once)."""
    return sum(1 for key, hashes in out.hashes.items() if not hashes or known.get(key) != hashes[0])


def build(
    parsed: ParsedFeed,
    known: Mapping[str, str],
    spec: BuildSpec,
    scorer: TopicScorer | None,
    hashes: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Story]:
    """Analyzed stories for the entries the store lacks or holds with another hash.
    ``hashes``: the outline's entry hashes of ``parsed`` (not computed again when given)."""
    stories: list[Story] = []
    for key, group in _groups(parsed).items():
        stored_hash = known.get(key)
        got = hashes.get(key) if hashes is not None else None
        # The first entry that makes a story owns the key; later duplicates are ignored.
        for i, entry in enumerate(group):
            if (
                stored_hash is not None
                and (got[i] if got is not None else entry_hash(entry)) == stored_hash
            ):
                break
            story = to_story(
                entry,
                feed_url=spec.feed_url,
                source=spec.source,
                lang_hint=spec.lang_hint,
                detect_lang=judge_story_lang,
                base_url=spec.base_url,
            )
            if story is not None:
                story.fetched_at = spec.now
                stories.append(story)
                break
    for story in stories:
        result = analyze(story.title, story.text, lang=story.lang, scorer=scorer, widen=spec.widen)
        story.relevance = result.topic.score
        story.matched = result.topic.matched
        story.bullets = result.summary.bullets
    return stories


# --------------------------------------------------------------------------- worker side

# The scorer a worker process was started with (see bot.feeds.cpu.ProcessWork): sent once per
# worker, not once per job.
_worker_scorer: TopicScorer | None = None


def init_worker(scorer: TopicScorer | None) -> None:
    """Called once per worker by bot.feeds.worker.start_worker."""
    global _worker_scorer
    _worker_scorer = scorer


def outline_job(body: bytes, url: str | None, headers: Mapping[str, str]) -> Outline:
    return outline(body, url, headers)[0]


def build_job(
    body: bytes,
    url: str | None,
    headers: Mapping[str, str],
    known: Mapping[str, str],
    spec: BuildSpec,
) -> list[Story]:
    parsed = parse_feed(body, url=url, headers=dict(headers))
    return build(parsed, known, spec, _worker_scorer)
