"""OPML import/export of the feed list (the format every feed reader speaks).

ElementTree is safe enough here: it never resolves external entities, and the bundled expat
(>= 2.4.1) caps entity amplification ("billion laughs").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.config import FeedSpec
from bot.errors import ConfigError
from bot.models import Feed


def parse_opml(data: bytes) -> list[FeedSpec]:
    """Every ``<outline xmlUrl=...>`` at any depth. A ``language`` attribute ("id"/"en") is
    kept as the feed's language hint."""
    return read_opml(data)[0]


def read_opml(data: bytes) -> tuple[list[FeedSpec], list[tuple[str, str]]]:
    """The feeds of an OPML file and the entries skipped, as ``(entry, reason)``.

    An outline with an ``xmlUrl`` (or ``type="rss"``) is a feed entry; outlines without one are
    folders. A feed entry is skipped when its URL is missing, not http(s) (``javascript:``,
    ``file:``, ``feed:``), has no host, or repeats an earlier entry.
    Raises ConfigError when the file is not XML.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ConfigError(f"not an OPML file: {e}") from e
    specs: list[FeedSpec] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        raw = outline.get("xmlUrl")
        if raw is None and (outline.get("type") or "").lower() != "rss":
            continue  # a folder
        url = (raw or "").strip()
        title = outline.get("title") or outline.get("text") or None
        label = (title or url or "(untitled)")[:120]
        reason = _skip_reason(url, seen)
        if reason is not None:
            skipped.append((label if not url else f"{label} <{url[:200]}>", reason))
            continue
        seen.add(url)
        lang = (outline.get("language") or "").split("-")[0].lower() or None
        specs.append(FeedSpec(url=url, lang=lang if lang in ("id", "en") else None, title=title))
    return specs, skipped


def _skip_reason(url: str, seen: set[str]) -> str | None:
    if not url:
        return "no xmlUrl"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme.lower() or "no scheme"
        return f"only http(s) feeds are polled ({scheme})"
    if not parts.hostname:
        return "the URL has no host"
    if url in seen:
        return "listed twice"
    return None


def to_opml(
    feeds: Sequence[Feed], *, title: str = "Warta feeds", hidden: Sequence[str] = ()
) -> bytes:
    """An OPML 2.0 document of ``feeds``. ``hidden`` names sources whose address may not be
    shown to the reader (a paid feed's token): they become text-only outlines, no xmlUrl."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = datetime.now(UTC).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.lang:
            attrs["language"] = feed.lang
        ET.SubElement(body, "outline", attrs)
    for name in hidden:
        ET.SubElement(body, "outline", {"text": name})
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
