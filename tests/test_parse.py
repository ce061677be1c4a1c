"""parse_feed and html_to_text on hand-made documents: formats, hostile input, caps, fallbacks."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

import bot.feeds.parse as parse_module
from bot.errors import ParseError
from bot.feeds.html import html_to_text, one_line
from bot.feeds.parse import (
    MAX_ENTRIES,
    MAX_TEXT,
    MAX_TITLE,
    declares_entities,
    normalize_lang,
    parse_feed,
)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Contoh Berita</title>
  <link>https://berita.example.id/</link>
  <language>id-ID</language>
  <item>
    <title>Seniman protes &lt;b&gt;Sora&lt;/b&gt;</title>
    <link>https://berita.example.id/2025/05/seniman-protes?utm_source=rss</link>
    <guid isPermaLink="false">berita-123</guid>
    <pubDate>Mon, 12 May 2025 03:00:00 GMT</pubDate>
    <author>redaksi@example.id (Redaksi)</author>
    <description>&lt;p&gt;Paragraf satu.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;
      &lt;p&gt;Paragraf dua.&lt;/p&gt;</description>
    <media:thumbnail url="https://berita.example.id/img/1.jpg"/>
  </item>
  <item>
    <title>Kedua</title>
    <link>/relatif/2</link>
    <pubDate>Selasa, 3 Des 2024 | 14:05 WITA</pubDate>
    <description>Teks biasa</description>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB" xml:base="https://blog.example.com/posts/">
  <title type="html">Art &amp;amp; AI</title>
  <link href="https://blog.example.com/"/>
  <id>tag:blog.example.com,2025:feed</id>
  <updated>2025-05-12T10:00:00Z</updated>
  <entry>
    <title>Painters sue over training data</title>
    <id>tag:blog.example.com,2025:1</id>
    <link rel="alternate" href="painters-sue"/>
    <published>2025-05-12T10:00:00+07:00</published>
    <updated>2025-05-13T10:00:00Z</updated>
    <summary>Short teaser.</summary>
    <content type="html">&lt;p&gt;The long body of the story, much longer than the teaser.&lt;/p&gt;
      &lt;p&gt;Second paragraph.&lt;/p&gt;</content>
    <author><name>Ann Writer</name></author>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.org/">
    <title>RDF site</title>
    <link>https://rdf.example.org/</link>
    <description>d</description>
  </channel>
  <item rdf:about="https://rdf.example.org/a">
    <title>RDF item</title>
    <link>https://rdf.example.org/a</link>
    <description>RDF body</description>
    <dc:date>2024-01-02T03:04:05Z</dc:date>
    <dc:language>en</dc:language>
  </item>
</rdf:RDF>
"""


def _rss(items: str, extra_channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://x.example/</link>{extra_channel}{items}</channel></rss>"
    ).encode()


def test_rss20_fields() -> None:
    feed = parse_feed(RSS, url="https://berita.example.id/feed/")
    assert feed.parser == "fast"
    assert not feed.bozo
    assert feed.title == "Contoh Berita"
    assert feed.link == "https://berita.example.id/"
    assert feed.lang == "id"
    first, second = feed.entries
    assert first.guid == "berita-123"
    assert first.title == "Seniman protes Sora"
    assert first.text == "Paragraf satu.\n\nParagraf dua."
    assert "alert" not in first.text
    assert first.published == datetime(2025, 5, 12, 3, 0, tzinfo=UTC)
    assert first.image == "https://berita.example.id/img/1.jpg"
    assert first.lang == "id"  # inherited from the channel
    assert first.author is not None
    assert "Redaksi" in first.author
    # relative link resolved against the document URL; Indonesian date parsed from the raw text
    assert second.link == "https://berita.example.id/relatif/2"
    assert second.published == datetime(2024, 12, 3, 6, 5, tzinfo=UTC)


def test_atom_base_content_and_lang() -> None:
    feed = parse_feed(ATOM, url="https://blog.example.com/feed.atom")
    assert feed.title == "Art & AI"
    assert feed.lang == "en"
    (entry,) = feed.entries
    assert entry.link == "https://blog.example.com/posts/painters-sue"
    assert entry.guid == "tag:blog.example.com,2025:1"
    assert entry.published == datetime(2025, 5, 12, 3, 0, tzinfo=UTC)
    assert entry.text.startswith("The long body of the story")  # content beats the teaser
    assert entry.text.endswith("\n\nSecond paragraph.")
    assert entry.author == "Ann Writer"


def test_rdf() -> None:
    feed = parse_feed(RDF)
    assert feed.title == "RDF site"
    (entry,) = feed.entries
    assert entry.title == "RDF item"
    assert entry.link == "https://rdf.example.org/a"
    assert entry.text == "RDF body"
    assert entry.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON site",
        "home_page_url": "https://json.example/",
        "items": [
            {
                "id": "j1",
                "url": "https://json.example/1",
                "title": "JSON item",
                "content_html": "<p>Hello <em>world</em></p>",
                "date_published": "2025-01-01T00:00:00Z",
            }
        ],
    }
    feed = parse_feed(json.dumps(doc).encode())
    assert feed.parser == "fast"
    (entry,) = feed.entries
    assert (entry.guid, entry.link, entry.title, entry.text) == (
        "j1",
        "https://json.example/1",
        "JSON item",
        "Hello world",
    )
    assert entry.published == datetime(2025, 1, 1, tzinfo=UTC)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://x.example/1</link></item></channel></rss>
"""


def test_billion_laughs_refused() -> None:
    with pytest.raises(ParseError, match="declares entities"):
        parse_feed(BILLION_LAUGHS)


def test_entity_declaration_refused_in_utf16_too() -> None:
    body = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', "").encode("utf-16")
    assert declares_entities(body)
    with pytest.raises(ParseError):
        parse_feed(body)


def test_external_doctype_without_entities_is_accepted() -> None:
    body = (
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
        + _rss("<item><title>a</title><link>https://x.example/a</link></item>")
        .decode()
        .split("?>", 1)[1]
        .encode()
    )
    assert not declares_entities(body)
    assert parse_feed(body).entries[0].title == "a"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"<html><body><p>Not a feed</p></body></html>", "not a feed"),
        (b"just some words", "not a feed"),
    ],
)
def test_not_a_feed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, url="https://x.example/feed")


def test_str_body_is_refused() -> None:
    with pytest.raises(TypeError):
        parse_feed("/etc/passwd")  # type: ignore[arg-type]


def test_html_in_titles() -> None:
    body = _rss(
        "<item><title>Tom &amp;amp; Jerry &lt;b&gt;live&lt;/b&gt;</title>"
        "<link>https://x.example/1</link></item>"
        "<item><title><![CDATA[<b>AI</b> &amp; artists]]></title>"
        "<link>https://x.example/2</link></item>"
    )
    titles = [e.title for e in parse_feed(body).entries]
    assert titles == ["Tom & Jerry live", "AI & artists"]


def test_broken_xml_recovered_by_feedparser() -> None:
    body = (
        b'<rss version="2.0"><channel><title>Broken & proud</title>'
        b"<item><title>One & two</title><link>https://x.example/1</link>"
        b"<description>body <b>bold</description></item>"
        b"<item><title>Three</title><link>https://x.example/3</link>"
        b"</channel>"
    )
    feed = parse_feed(body)
    assert feed.parser == "feedparser"
    assert feed.bozo
    assert feed.bozo_reason
    assert [e.title for e in feed.entries] == ["One & two", "Three"]


def test_wrong_guess_of_charset_falls_back_to_feedparser() -> None:
    body = (
        '<rss version="2.0"><channel><title>Café</title>'
        "<item><title>Crème brûlée</title><link>https://x.example/1</link></item>"
        "</channel></rss>"
    ).encode("cp1252")
    feed = parse_feed(body, headers={"Content-Type": "application/rss+xml; charset=windows-1252"})
    assert feed.parser == "feedparser"
    assert feed.title == "Café"
    assert feed.entries[0].title == "Crème brûlée"


def test_content_language_header_sets_feed_lang() -> None:
    body = _rss("<item><title>a</title><link>https://x.example/a</link></item>")
    feed = parse_feed(body, headers={"Content-Language": "en-US"})
    assert feed.lang == "en"
    assert feed.entries[0].lang == "en"


def test_field_caps() -> None:
    long_title = "judul " * 200
    long_text = "<p>" + ("kata " * 30_000) + "</p>"
    long_link = "https://x.example/" + "a" * 3000
    items = (
        f"<item><title>{long_title}</title><link>{long_link}</link>"
        f"<guid>g</guid><description><![CDATA[{long_text}]]></description></item>"
    )
    items += "".join(
        f"<item><title>n{i}</title><link>https://x.example/{i}</link></item>" for i in range(700)
    )
    feed = parse_feed(_rss(items))
    assert len(feed.entries) == MAX_ENTRIES
    first = feed.entries[0]
    assert len(first.title) <= MAX_TITLE
    assert first.title.endswith("…")
    assert len(first.text) <= MAX_TEXT
    assert first.link is None  # a truncated URL would point somewhere else
    assert feed.entries[-1].title == f"n{MAX_ENTRIES - 2}"


@pytest.mark.parametrize(
    "date",
    ["Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", "Kamis, 1 Jan 1987"],
)
def test_out_of_range_dates_are_unknown(date: str) -> None:
    body = _rss(
        f"<item><title>a</title><link>https://x.example/a</link><pubDate>{date}</pubDate></item>"
    )
    assert parse_feed(body).entries[0].published is None


def test_channel_without_items_is_an_empty_feed() -> None:
    feed = parse_feed(_rss(""))
    assert feed.title == "T"
    assert feed.entries == []


def test_non_http_image_ignored() -> None:
    body = (
        b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>'
        b"<item><title>a</title><link>https://x.example/a</link>"
        b'<media:thumbnail url="javascript:alert(1)"/></item></channel></rss>'
    )
    assert parse_feed(body).entries[0].image is None


# --------------------------------------------------------------------------- html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain   text\n\n\n here", "plain text\n\nhere"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<div>a<br>b</div>tail", "a\nb\n\ntail"),
        ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
        ("a <script>evil()</script>b<style>p{}</style> c", "a b c"),
        ("<noscript>no</noscript><iframe src=x>frame</iframe>ok", "ok"),
        ("AT&amp;T &lt;3 &eacute;t&#233; &#x263A;", "AT&T <3 été ☺"),
        ("zero\u200bwidth\u202e and\u00adsoft\x07", "zerowidth andsoft"),
        ("a&nbsp;&nbsp;b", "a b"),
        ("<p>  spaced\n   out  </p>", "spaced out"),
        ("a < b and c > d", "a < b and c > d"),
        ("<h1>Head</h1>Body", "Head\n\nBody"),
        ("\x02mark\x03er<p>x</p>", "marker\n\nx"),  # our block markers in the input are dropped
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_one_line() -> None:
    assert one_line("<p>a</p><p>b</p>") == "a b"


@pytest.mark.parametrize(
    ("tag", "lang"),
    [("en-US", "en"), ("id_ID", "id"), ("in", "id"), ("ID", "id"), ("", None), ("1x", None)],
)
def test_normalize_lang(tag: str, lang: str | None) -> None:
    assert normalize_lang(tag) == lang


def test_entry_text_is_made_once_on_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll compares keys and hashes before it needs text: parsing must not convert HTML."""
    calls: list[str] = []
    real = parse_module.html_to_text

    def counting(s: str) -> str:
        calls.append(s)
        return real(s)

    monkeypatch.setattr(parse_module, "html_to_text", counting)
    first, second = parse_feed(RSS, url="https://berita.example.id/feed/").entries
    assert calls == []
    assert first.body is not None
    assert "<p>Paragraf satu.</p>" in first.body  # the body as the feed gave it
    assert first.text == "Paragraf satu.\n\nParagraf dua."
    assert first.text == "Paragraf satu.\n\nParagraf dua."
    assert len(calls) == 1
    # Copies and assignments see the converted text; an assigned text wins over the body.
    assert dataclasses.replace(first, title="x").text == first.text
    second.text = "diganti"
    assert second.text == "diganti"
    assert len(calls) == 1


def test_plain_text_body_is_not_read_as_html() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id>'
        b'<title>t</title><content type="text">1 &lt; 2 &amp;&amp; a &lt;b&gt; c</content>'
        b"</entry></feed>"
    )
    (entry,) = parse_feed(atom).entries
    assert entry.text == "1 < 2 && a <b> c"


def test_atom_href_character_references_are_decoded() -> None:
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><title>x</title><id>1</id><updated>2026-11-20T10:00:00Z</updated>"
        b'<link href="https://a.example/p?utm_campaign=feed&amp;fbclid=abc&amp;id=7"/></entry>'
        b"</feed>"
    )
    feed = parse_feed(body)
    assert feed.entries[0].link == "https://a.example/p?utm_campaign=feed&fbclid=abc&id=7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tidy text.\n\nNext paragraph.\nA line.", "tidy text.\n\nNext paragraph.\nA line."),
        ("a \t b\u00a0\u00a0c\td", "a b c d"),
        ("a  b", "a b"),
        ("a \n  b", "a\nb"),
        ("a\n \n\n b", "a\n\nb"),
        ("a\n\n\nb", "a\n\nb"),
        ("a\r\nb\rc\u2028d", "a\nb\nc\nd"),
        ("a\u200b b\u00ad", "a b"),
        ("  lead and tail  \n", "lead and tail"),
    ],
)
def test_plain_text_whitespace(text: str, expected: str) -> None:
    """Plain text keeps its paragraphs and lines; other whitespace runs become one space
    (tidy text passes unchanged, whatever shortcut takes it)."""
    assert html_to_text(text) == expected
