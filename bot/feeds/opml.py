"""OPML import/export of the feed list (the format every feed reader speaks).

ElementTree is safe enough here: it never resolves external entities, and the bundled expat
(>= 2.4.1) caps entity amplification ("billion laughs").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.config import FeedSpec
from bot.errors import ConfigError
from bot.models import Feed


def parse_opml(data: bytes) -> list[FeedSpec]:
    """Every ``<outline xmlUrl=...>`` at any depth. A ``language`` attribute ("id"/"en") is
    kept as the feed's language hint."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ConfigError(f"not an OPML file: {e}") from e
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url.startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        lang = (outline.get("language") or "").split("-")[0].lower() or None
        title = outline.get("title") or outline.get("text") or None
        specs.append(FeedSpec(url=url, lang=lang if lang in ("id", "en") else None, title=title))
    return specs


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
