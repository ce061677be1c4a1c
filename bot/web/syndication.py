"""The digests as feeds a reader app can subscribe to: Atom 1.0 and JSON Feed 1.1.

One feed item is one day's digest (its permalink is the item's id), with the entries as HTML.
Atom comes from an autoescaped Jinja template (the item HTML is escaped once more as
``type="html"`` content); JSON Feed is plain ``json.dumps`` of the spec's fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot.models import Digest
from bot.web.pages import Pages
from bot.web.strings import t

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(slots=True)
class FeedItem:
    url: str
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_items(
    pages: Pages, digests: list[tuple[date, Digest]], *, lang: str, base: str, start_of: Any
) -> list[FeedItem]:
    """Feed items for ``digests`` (newest first). ``start_of(day)`` gives the day's window start;
    an item's updated time is its newest story, so a reader sees an edited day as updated."""
    items: list[FeedItem] = []
    for day, digest in digests:
        published = start_of(day)
        times = [e.story.published or e.story.fetched_at for e in digest.entries]
        updated = max([w for w in times if w is not None], default=published)
        headlines = [e.summary.headline or e.story.title for e in digest.entries]
        items.append(
            FeedItem(
                url=f"{base}/digest/{lang}/{day.isoformat()}",
                title=digest.title,
                summary=" · ".join(headlines)[:500] or digest.empty_text,
                content_html=pages.render("feed_entry.html", lang=lang, dg=digest, base=base),
                published=published,
                updated=max(updated, published),
            )
        )
    return items


def atom(pages: Pages, items: list[FeedItem], *, lang: str, base: str) -> bytes:
    updated = max((i.updated for i in items), default=datetime.now(UTC))
    text = pages.render(
        "atom.xml",
        lang=lang,
        self_url=f"{base}/feed/{lang}.xml",
        home_url=f"{base}/{lang}/",
        title=t("feed_title", lang),
        subtitle=t("feed_subtitle", lang),
        updated=_iso(updated),
        items=[
            {
                "url": i.url,
                "title": i.title,
                "summary": i.summary,
                "content_html": i.content_html,
                "published": _iso(i.published),
                "updated": _iso(i.updated),
            }
            for i in items
        ],
    )
    return text.encode("utf-8")


def json_feed(items: list[FeedItem], *, lang: str, base: str) -> bytes:
    doc = {
        "version": JSON_FEED_VERSION,
        "title": t("feed_title", lang),
        "description": t("feed_subtitle", lang),
        "home_page_url": f"{base}/{lang}/",
        "feed_url": f"{base}/feed/{lang}.json",
        "language": lang,
        "authors": [{"name": "Warta", "url": f"{base}/"}],
        "items": [
            {
                "id": i.url,
                "url": i.url,
                "title": i.title,
                "summary": i.summary,
                "content_html": i.content_html,
                "date_published": _iso(i.published),
                "date_modified": _iso(i.updated),
                "language": lang,
            }
            for i in items
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
