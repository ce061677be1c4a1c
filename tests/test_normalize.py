"""canonical_url, entry_key, content_hash and to_story."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analyze import judge_story_lang
from bot.feeds.normalize import (
    canonical_url,
    content_hash,
    display_url,
    entry_hash,
    entry_key,
    is_http_url,
    to_story,
)
from bot.models import LangGuess, ParsedEntry


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM/Path/A", "http://example.com/Path/A"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?id=5&fbclid=abc&gclid=x&dclid=y", "https://example.com/a?id=5"),
        ("https://example.com/a?msclkid=1&mc_cid=2&mc_eid=3&igshid=4", "https://example.com/a"),
        ("https://example.com/a?ref_src=twsrc&_ga=1.2&yclid=9&spm=a.b", "https://example.com/a"),
        ("https://example.com/a?at_medium=rss&at_campaign=x&p=1", "https://example.com/a?p=1"),
        ("https://example.com/a?UTM_Source=x", "https://example.com/a"),
        ("https://example.com/a#xtor=RSS-1", "https://example.com/a"),
        ("https://example.com/a#utm_source=x", "https://example.com/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/#!/story/42", "https://example.com/#!/story/42"),
        ("https://example.com/a?b=2&a=1&c=3", "https://example.com/a?a=1&b=2&c=3"),
        ("https://example.com/a?b=2&a=z&a=y", "https://example.com/a?a=z&a=y&b=2"),
        ("https://example.com/a?q=a+b%20c", "https://example.com/a?q=a+b%20c"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?amp", "https://example.com/a"),
        ("https://example.com/a?amp=1&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?outputType=amp", "https://example.com/a"),
        (
            "https://example.com/2025/05/seniman-protes/amp/",
            "https://example.com/2025/05/seniman-protes/",
        ),
        ("https://example.com/read/d-7912345/amp", "https://example.com/read/d-7912345"),
        ("https://example.com/amp", "https://example.com/amp"),
        ("https://example.com/news/amp", "https://example.com/news/amp"),
        ("https://example.com/amp/s/other.example/x", "https://example.com/amp/s/other.example/x"),
        ("https://Example.com./A", "https://example.com/A"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("not a url", "not a url"),
        ("http://example.com:99999/", "http://example.com:99999/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_canonical_url_is_idempotent() -> None:
    url = "HTTPS://Ex.com:443/x/amp/?utm_source=a&z=1&b=2#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://a.example/", True),
        ("http://a.example", True),
        ("javascript:alert(1)", False),
        ("ftp://a.example/", False),
        ("/relative", False),
        ("https://", False),
        (None, False),
    ],
)
def test_is_http_url(url: str | None, ok: bool) -> None:
    assert is_http_url(url) is ok


def entry(**kw: object) -> ParsedEntry:
    base: dict[str, object] = {
        "guid": None,
        "link": None,
        "title": "",
        "text": "",
        "published": None,
    }
    base.update(kw)
    return ParsedEntry(**base)  # type: ignore[arg-type]


def test_entry_key_prefers_guid() -> None:
    assert entry_key(entry(guid=" g-1 ", link="https://a.example/x")) == "g-1"


def test_entry_key_canonical_link() -> None:
    e1 = entry(link="https://A.example/x?utm_source=rss")
    e2 = entry(link="https://a.example/x#xtor=RSS-3")
    assert entry_key(e1) == entry_key(e2) == "https://a.example/x"


def test_entry_key_hash_of_title_and_date() -> None:
    when = datetime(2025, 5, 12, tzinfo=UTC)
    k1 = entry_key(entry(title="Judul", text="a", published=when))
    k2 = entry_key(entry(title="Judul", text="edited", published=when))
    k3 = entry_key(entry(title="Judul", published=None))
    assert k1 == k2  # text edits keep the identity
    assert k1 != k3
    assert k1.startswith("sha256:")
    assert len(k1) == len("sha256:") + 64


def test_content_hash() -> None:
    assert content_hash("T", "a  b\n c") == content_hash(" T ", "a b c")
    assert content_hash("T", "a b c") != content_hash("T", "a b d")
    assert content_hash("T", "x") != content_hash("U", "x")


def test_entry_hash_covers_title_and_body_as_given() -> None:
    base = entry(title="Judul", text="", body="<p>Isi berita.</p>")
    assert entry_hash(base) == entry_hash(
        entry(title=" Judul ", text="x", body="<p>Isi berita.</p>")
    )
    assert entry_hash(base) != entry_hash(entry(title="Judul", text="", body="<p>Isi baru.</p>"))
    assert entry_hash(base) != entry_hash(
        entry(title="Judul 2", text="", body="<p>Isi berita.</p>")
    )
    # Without a body (an entry built from text) the text stands in for it.
    assert entry_hash(entry(title="T", text="a")) != entry_hash(entry(title="T", text="b"))


def en(_title: str, _text: str, _prior: str | None) -> LangGuess:
    return LangGuess("en", 1.0, "text")


def test_to_story_basic() -> None:
    e = entry(
        guid="g",
        link="/2025/05/a?utm_source=rss",
        title="Judul",
        text="Isi berita.",
        published=datetime(2025, 5, 12, tzinfo=UTC),
        lang="id",
    )
    s = to_story(
        e,
        feed_url="https://news.example/feed.xml",
        source="News",
        lang_hint=None,
        detect_lang=judge_story_lang,
    )
    assert s is not None
    assert s.url == "https://news.example/2025/05/a"
    assert s.key == "g"
    assert s.lang == "id"
    assert s.source == "News"
    assert s.feed_url == "https://news.example/feed.xml"
    assert s.published == e.published
    assert s.content_hash == entry_hash(e)


def test_to_story_language_prior_is_operator_hint_then_declared() -> None:
    seen: list[tuple[str, str, str | None]] = []

    def judge(title: str, text: str, prior: str | None) -> LangGuess:
        seen.append((title, text, prior))
        return LangGuess(prior or "en", 0.5, "declared")

    e = entry(link="https://a.example/1", title="Title", text="Body", lang="en")
    s = to_story(e, feed_url="https://a.example/f", source="A", lang_hint="id", detect_lang=judge)
    assert s is not None
    assert s.lang == "id"
    assert s.lang_guess == LangGuess("id", 0.5, "declared")
    s = to_story(e, feed_url="https://a.example/f", source="A", lang_hint=None, detect_lang=judge)
    assert s is not None
    assert s.lang == "en"
    # A hint that is not a Warta language is no prior; the entry's declaration is.
    undeclared = entry(link="https://a.example/1", title="Title", text="Body", lang="fr")
    s = to_story(
        undeclared, feed_url="https://a.example/f", source="A", lang_hint="xx", detect_lang=judge
    )
    assert s is not None
    assert seen == [("Title", "Body", "id"), ("Title", "Body", "en"), ("Title", "Body", "fr")]


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,hi", "ftp://a.example/x", None]
)
def test_to_story_non_http_link_falls_back_to_site_link(link: str | None) -> None:
    e = entry(link=link, title="T", text="x")
    s = to_story(
        e,
        feed_url="https://a.example/feed",
        source="A",
        lang_hint="en",
        detect_lang=en,
        base_url="https://a.example/home",
    )
    assert s is not None
    assert s.url == "https://a.example/home"
    skipped = to_story(
        e, feed_url="https://a.example/feed", source="A", lang_hint="en", detect_lang=en
    )
    assert skipped is None


def test_to_story_title_from_first_sentence() -> None:
    text = "Seniman membocorkan akses Sora sebagai protes. Kalimat kedua di sini."
    s = to_story(
        entry(link="https://a.example/1", text=text),
        feed_url="https://a.example/f",
        source="A",
        lang_hint="id",
        detect_lang=en,
    )
    assert s is not None
    assert s.title == "Seniman membocorkan akses Sora sebagai protes."


def test_to_story_derived_title_is_capped() -> None:
    text = "kata " * 200
    s = to_story(
        entry(link="https://a.example/1", text=text),
        feed_url="https://a.example/f",
        source="A",
        lang_hint="id",
        detect_lang=en,
    )
    assert s is not None
    assert len(s.title) <= 140
    assert s.title.endswith("…")


def test_to_story_empty_entry_is_skipped() -> None:
    e = entry(link="https://a.example/1", title="  ", text="")
    assert (
        to_story(e, feed_url="https://a.example/f", source="A", lang_hint="en", detect_lang=en)
        is None
    )


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://d.example/2026/12/03/#item-3", "https://d.example/2026/12/03/#item-3"),
        ("https://d.example/a#xtor=RSS-3", "https://d.example/a"),
        ("https://d.example/a?utm_source=rss#ref=rss", "https://d.example/a"),
        ("https://d.example/a#utm_medium=feed&utm_source=x", "https://d.example/a"),
        ("https://d.example/a#section=2&utm_source=x", "https://d.example/a#section=2"),
        ("https://d.example/a#!/route/7", "https://d.example/a#!/route/7"),
        ("https://D.example:443/a#", "https://d.example/a"),
    ],
)
def test_display_url_keeps_anchors_and_drops_tracking_fragments(link: str, shown: str) -> None:
    assert display_url(link) == shown
    # Identity across spellings still drops every fragment but a hash-bang route.
    assert "#" not in canonical_url(link) or "#!" in link


def test_entries_that_are_anchors_on_one_page_keep_their_own_keys() -> None:
    a = entry(link="https://d.example/2026/12/03/#one", title="One")
    b = entry(link="https://d.example/2026/12/03/#two", title="Two")
    tracked = entry(link="https://d.example/2026/12/03/#one&xtor=RSS-1", title="One")
    assert entry_key(a) != entry_key(b)
    assert entry_key(tracked) == entry_key(a)
