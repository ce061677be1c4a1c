"""feedparser's own 2,107 test fixtures through Warta's pipeline, and fast-vs-feedparser parity.

Each fixture's leading comment may carry ``Header: Name: value`` lines: simulated HTTP response
headers, passed to parse_feed. ``Expect:`` lines are Python expressions for feedparser's harness;
they are never evaluated here.
"""

from __future__ import annotations

import collections
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analyze import analyze, judge_story_lang
from bot.errors import ParseError
from bot.feeds.normalize import to_story
from bot.feeds.parse import parse_feed, parse_feed_with
from bot.models import Digest, DigestEntry, ParsedFeed, Story
from bot.render import console, discord, telegram

pytestmark = pytest.mark.corpus

FEED_URL = "http://example.org/feed.xml"
_COMMENT = re.compile(rb"\A\s*<!--(.*?)-->", re.DOTALL)
_HEADER = re.compile(r"^\s*Header:\s*([^:\s][^:]*?)\s*:\s*(.*?)\s*$", re.MULTILINE)


def corpus_dir(shared_dir: Path) -> Path:
    root = shared_dir / "corpora" / "feedparser-tests"
    if not root.is_dir():
        pytest.fail(f"corpus missing: {root.name}/ under the shared corpora folder")
    return root


def fixture_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".json") and p.is_file())


def fixture_headers(body: bytes) -> dict[str, str]:
    match = _COMMENT.match(body)
    if match is None:
        return {}
    comment = match.group(1).decode("utf-8", "replace")
    return {name: value for name, value in _HEADER.findall(comment)}


def run_pipeline_on_fixture(path: Path) -> list[Story]:
    """Fixture file -> stories -> topic + quick facts -> a digest rendered for every platform,
    the way the pipeline handles a fetched body.

    Raises ParseError when the document is refused or not a feed; anything else is a bug.
    """
    body = path.read_bytes()
    headers = fixture_headers(body)
    feed: ParsedFeed = parse_feed(body, url=FEED_URL, headers=headers)
    stories: list[Story] = []
    for entry in feed.entries:
        story = to_story(
            entry,
            feed_url=FEED_URL,
            source=feed.title or "example.org",
            lang_hint=None,
            detect_lang=judge_story_lang,
            base_url=feed.link or "http://example.org/",
        )
        if story is not None:
            stories.append(story)
    entries = []
    for story in stories:
        result = analyze(story.title, story.text, lang=story.lang)
        assert 0.0 <= result.topic.score <= 1.0
        assert len(result.summary.bullets) <= 4
        entries.append(DigestEntry(story=story, summary=result.summary, topic=result.topic))
    now = datetime(2026, 11, 24, tzinfo=UTC)
    for lang in ("id", "en"):
        digest = Digest(
            lang=lang,
            title="Warta",
            window_start=now,
            window_end=now,
            tz="Asia/Jakarta",
            entries=entries,
            empty_text="-",
        )
        assert console.render_digest(digest)
        assert telegram.render_digest(digest)
        assert discord.render_digest(digest)
    return stories


def test_header_lines_are_read() -> None:
    body = (
        b"<!--\nDescription: x\nHeader:      Content-Location: http://example.com/\n"
        b"Header:       Content-type: text/xml; charset=windows-1252\n"
        b"Expect:      not bozo\n-->\n<rss/>"
    )
    assert fixture_headers(body) == {
        "Content-Location": "http://example.com/",
        "Content-type": "text/xml; charset=windows-1252",
    }
    assert fixture_headers(b"<rss/>") == {}


def test_every_fixture_goes_through(shared_dir: Path) -> None:
    files = fixture_files(corpus_dir(shared_dir))
    assert len(files) >= 2000, f"expected the full corpus, found {len(files)} files"
    refused: list[str] = []
    crashed: list[str] = []
    stories = 0
    for path in files:
        try:
            stories += len(run_pipeline_on_fixture(path))
        except ParseError:
            refused.append(path.name)
        except Exception as e:  # the point of the test: report every crash, not the first
            crashed.append(f"{path.name}: {type(e).__name__}: {e}")
    print(f"\n{len(files)} fixtures, {stories} stories, {len(refused)} ParseError")
    assert crashed == []
    # Refusals are legitimate (entity declarations, non-feeds) but must stay rare.
    assert len(refused) < len(files) * 0.02, refused
    assert stories > 400


FIELDS = ("title", "link", "guid", "published")


def test_fast_path_matches_feedparser(shared_dir: Path) -> None:
    """Compare normalized outputs of both parsers on the well-formed fixtures.

    ``raw`` counts differences of the fast parser alone; ``served`` counts only documents the
    pipeline actually lets the fast path answer (the rest fall back to feedparser), which is
    what users get. Known remaining differences: feedparser resolves relative Atom ids
    against the document URL, and exotic elements (psc chapters, images inside categories).
    """
    files = fixture_files(corpus_dir(shared_dir) / "wellformed")
    raw: collections.Counter[str] = collections.Counter()
    served: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    compared_raw = compared_served = 0
    for path in files:
        body = path.read_bytes()
        headers = fixture_headers(body)
        try:
            ref = parse_feed_with(body, "feedparser", url=FEED_URL, headers=headers)
            fast = parse_feed_with(body, "fast", url=FEED_URL, headers=headers)
            chosen = parse_feed(body, url=FEED_URL, headers=headers)
        except ParseError:
            continue
        if ref.bozo:
            continue  # only well-formed documents have one right answer
        is_served = chosen.parser == "fast"
        if len(fast.entries) != len(ref.entries):
            raw["entry count"] += 1
            if is_served:
                served["entry count"] += 1
            continue
        for a, b in zip(fast.entries, ref.entries, strict=True):
            compared_raw += 1
            compared_served += is_served
            for name in FIELDS:
                if getattr(a, name) != getattr(b, name):
                    raw[name] += 1
                    if is_served:
                        served[name] += 1
                        examples.append(f"{path.name}.{name}: {getattr(a, name)!r}")
    raw_rate = sum(raw.values()) / max(1, compared_raw * len(FIELDS))
    served_rate = sum(served.values()) / max(1, compared_served * len(FIELDS))
    print(
        f"\nfast vs feedparser on {compared_raw} entries: raw mismatch {raw_rate:.2%} {dict(raw)};"
        f" served by fast path {compared_served} entries, mismatch {served_rate:.2%}"
        f" {dict(served)}"
    )
    assert compared_served > 500
    assert served_rate < 0.01, examples[:20]
