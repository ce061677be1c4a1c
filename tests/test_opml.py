from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.feeds.opml import parse_opml, to_opml
from bot.models import Feed


def test_roundtrip_keeps_urls_titles_languages() -> None:
    feeds = [
        Feed(url="https://a.example/rss", title="A & B", lang="id"),
        Feed(url="https://b.example/atom", title=None, lang=None),
    ]
    specs = parse_opml(to_opml(feeds))
    assert [(s.url, s.title, s.lang) for s in specs] == [
        ("https://a.example/rss", "A & B", "id"),
        ("https://b.example/atom", "https://b.example/atom", None),
    ]


def test_nested_outlines_duplicates_and_bad_schemes() -> None:
    data = b"""<?xml version="1.0"?>
    <opml version="1.0"><body>
      <outline text="Tech"><outline text="X" xmlUrl="https://x.example/feed" language="en-US"/>
        <outline text="dup" xmlUrl="https://x.example/feed"/></outline>
      <outline text="local" xmlUrl="file:///etc/passwd"/>
      <outline text="no url"/>
    </body></opml>"""
    specs = parse_opml(data)
    assert [(s.url, s.lang) for s in specs] == [("https://x.example/feed", "en")]


def test_not_opml_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="OPML"):
        parse_opml(b"<opml><body>")
