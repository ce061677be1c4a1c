"""Real publishers' feed shapes, read as a poll reads them.

Each fixture under tests/data/feeds/ was written for these tests after a shape measured on real
feeds: an Indonesian portal declaring English, a self-hosted bridge with links on private hosts
(RSS and Atom), a vendor blog whose <author> carries a job <title>, a daily blog whose items are
anchors on one page, relative links in a file, Latin-1 bytes without a declaration, and a CMS
feed with "Baca juga" teasers, bylines, captions and tags in its bodies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analyze import analyze, judge_story_lang
from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import poll_due
from bot.feeds.normalize import to_story
from bot.feeds.parse import parse_feed, parse_feed_with
from bot.lang.reasons import reason_terms
from bot.models import Feed, Story
from bot.store import open_store
from tests import feedserver
from tests.feedserver import FeedServer

FEEDS = Path(__file__).parent / "data" / "feeds"
ALL = sorted(p.name for p in FEEDS.glob("*.xml"))
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
feed_server = feedserver.feed_server


def stories(name: str, *, url: str | None = None) -> list[Story]:
    """The stories a poll would make of a fixture read from a file (no feed URL but file://)."""
    path = FEEDS / name
    feed_url = url or path.resolve().as_uri()
    parsed = parse_feed(path.read_bytes(), url=feed_url)
    out = []
    for entry in parsed.entries:
        story = to_story(
            entry,
            feed_url=feed_url,
            source=parsed.title,
            lang_hint=None,
            detect_lang=judge_story_lang,
            base_url=parsed.link,
        )
        if story is not None:
            out.append(story)
    return out


@pytest.mark.parametrize("name", ALL)
def test_served_titles_and_links_agree_with_feedparser(name: str) -> None:
    """Whichever parser serves a fixture, titles and links are feedparser's on the same bytes."""
    data = (FEEDS / name).read_bytes()
    url = "https://feeds.example/" + name
    served = parse_feed(data, url=url)
    reference = parse_feed_with(data, "feedparser", url=url)
    assert [(e.title, e.link) for e in served.entries] == [
        (e.title, e.link) for e in reference.entries
    ]
    assert all(e.link for e in served.entries), "every fixture item has a link"


def test_private_host_links_are_kept() -> None:
    urls = [s.url for s in stories("rss-bridge-lan.xml")]
    assert urls == [
        "http://127.0.0.1:3000/?action=display&bridge=Galeri&item=1",
        "http://localhost/notes/2026-12-01",
        "http://192.168.1.20:8080/photos/album-7",
        "http://10.0.4.2/wiki/panduan-baru",
        "http://nas.lan/reports/backup-2026-12-01",
        "http://[::1]:8000/status",
        "http://192.168.1.20:3000/items/guid-only",
    ]
    parsed = parse_feed((FEEDS / "atom-lan.xml").read_bytes(), url="http://homelab.lan/feed")
    assert parsed.link == "http://homelab.lan/"
    assert [e.link for e in parsed.entries] == [
        "http://homelab.lan/posts/gallery",
        "http://192.168.0.1/notes",
    ]


def test_author_job_title_never_becomes_the_story_title() -> None:
    titles = [s.title for s in stories("author-with-job-title.xml")]
    assert titles == [
        "Generative AI tools for game artists, now in preview",
        "How a music label uses speech models to caption its archive",
        "Release notes for November",
    ]


def test_anchor_items_stay_apart_and_tracking_fragments_go() -> None:
    got = stories("daily-anchors.xml")
    assert [s.url for s in got] == [
        "https://sketchbook.example/2026/12/03/#ink-studies",
        "https://sketchbook.example/2026/12/03/#ai-opt-outs",
        "https://sketchbook.example/2026/12/03/#pigments",
        "https://sketchbook.example/2026/12/03/#sketch-a-day",
        "https://sketchbook.example/2026/12/02/",
        "https://sketchbook.example/2026/12/01/",
    ]
    # No guids: the identity is the link, and anchors keep the six items six.
    assert len({s.key for s in got}) == 6


def test_relative_links_in_a_file_resolve_against_the_site_link() -> None:
    assert [s.url for s in stories("relative-links.xml")] == [
        "https://studiocatatan.example/blog/2026/kredit-ilustrator",
        "https://studiocatatan.example/blog/2026/catatan-pameran",
        "https://studiocatatan.example/arsip/",
    ]


def test_relative_links_without_a_site_link_resolve_against_the_feed_url() -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Satu</title><link>/p/1</link><description>x</description></item>"
        b"</channel></rss>"
    )
    parsed = parse_feed(data, url="https://host.example/feeds/rss.xml")
    assert parsed.entries[0].link == "https://host.example/p/1"


def test_latin1_without_declaration_is_decoded() -> None:
    got = stories("latin1-undeclared.xml")
    assert [s.title for s in got] == [
        "Renée Dupré on AI art and the naïve résumé of creativity",
        "Crème brûlée and sketchbooks: a weekend in Liège",
    ]
    assert all("\ufffd" not in s.title + s.text for s in got)
    assert "Musée d'Orsay" in got[0].text


def test_language_comes_from_the_text_not_the_declaration() -> None:
    got = {s.key: s for s in stories("id-portal-declares-en.xml")}
    for key in ("wn-1001", "wn-1002", "wn-1003"):
        assert got[key].lang == "id", got[key].title
        assert got[key].lang_guess is not None
        assert got[key].lang_guess.by == "text"
    # An English story in the same feed stays English.
    assert got["wn-1005"].lang == "en"
    # Three words say nothing reliable: the declaration is the prior.
    assert got["wn-1004"].lang == "en"
    assert got["wn-1004"].lang_guess is not None
    assert got["wn-1004"].lang_guess.by == "declared"


def test_short_text_uses_the_prior_long_text_overrules_it() -> None:
    assert judge_story_lang("Bank Indonesia holds rates", "", "en").lang == "en"
    assert judge_story_lang("Samsung Galaxy S26 Ultra", "", "en").lang == "en"
    long_id = (
        "Pemerintah kota mengumumkan bahwa pameran seni rupa tahunan akan digelar lebih awal "
        "tahun ini karena gedung pameran yang biasa dipakai sedang direnovasi."
    )
    guess = judge_story_lang("Pameran Seni Rupa Digelar Lebih Awal", long_id, "en")
    assert guess.lang == "id"
    assert guess.by == "text"
    assert 0.0 < guess.confidence <= 1.0
    # Without any declaration even a short text is detected.
    assert judge_story_lang("Seniman bocorkan akses Sora", "", None).by == "text"


def test_cms_boilerplate_is_not_the_article() -> None:
    sora, rice, english = stories("cms-baca-juga.xml")
    for story in (sora, rice, english):
        text = story.text.casefold()
        for furniture in (
            "baca juga",
            "penulis:",
            "editor:",
            "reporter:",
            "foto:",
            "photo:",
            "tags:",
            "gambas",
            "google news",
            "read more",
            "by mary lee",
        ):
            assert furniture not in text, (story.title, furniture)
    assert sora.text.startswith("Jakarta - Sekelompok seniman")
    assert sora.url == (
        "https://kabarbudaya.example/teknologi/2026/12/03/seniman-bocorkan-akses-sora"
    )

    result = analyze(sora.title, sora.text, lang=sora.lang)
    assert result.topic.relevant
    terms = {m.split(":", 1)[1] for m in result.topic.matched}
    # The exhibition, writer and photo words were only in a teaser, a byline and a caption.
    assert not terms & {"pameran", "penulis", "foto", "fotografi", "film"}, terms
    assert reason_terms(result.topic.matched, "id")[:3] == ["Sora", "OpenAI", "seniman"]
    assert all("Baca" not in b and "Penulis" not in b for b in result.summary.bullets)

    # The rice story was "about" an AI lawsuit only through its teaser.
    assert not analyze(rice.title, rice.text, lang=rice.lang).topic.relevant
    assert english.lang == "en"
    assert all("Mary Lee" not in b for b in analyze(english.title, english.text).summary.bullets)


async def test_a_poll_stores_what_inspect_shows(tmp_path: Path, feed_server: FeedServer) -> None:
    """The poll path end to end (loopback server, real fetcher, SQLite): an operator's `en`
    hint on an Indonesian portal is a prior only, and the stored text is the article."""
    portal = feed_server.add_bytes(
        "/portal.xml", (FEEDS / "id-portal-declares-en.xml").read_bytes()
    )
    cms = feed_server.add_bytes("/cms.xml", (FEEDS / "cms-baca-juga.xml").read_bytes())
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        await store.add_feed(Feed(url=feed_server.url(portal), lang="en", next_check_at=NOW))
        await store.add_feed(Feed(url=feed_server.url(cms), next_check_at=NOW))
        async with Fetcher() as fetcher:
            report = await poll_due(store, fetcher, now=NOW)
        assert report.failed == 0, report.errors
        stored = {s.key: s for s in await store.stories_between(EPOCH, NOW, limit=100)}
    finally:
        await store.close()
    assert stored["wn-1001"].lang == "id"
    assert stored["wn-1005"].lang == "en"
    assert stored["wn-1004"].lang == "en"  # three words: the hint decides
    sora = stored["kb-77001"]
    assert "Baca juga" not in sora.text
    assert "Penulis" not in sora.text
    assert not {m for m in sora.matched if m.endswith((":pameran", ":penulis", ":foto"))}
    assert sora.url.endswith("/seniman-bocorkan-akses-sora")


@pytest.mark.parametrize("prior", [None, "en"])
def test_names_in_a_short_english_text_do_not_make_it_indonesian(prior: str | None) -> None:
    # The detector alone reads these as Indonesian (the names); "to"/"new" say English.
    for title in (
        "Jakarta governor Pramono Anung opens new MRT line to Ancol",
        "Prabowo visits Kalimantan to inspect Nusantara capital progress",
    ):
        assert judge_story_lang(title, "", prior).lang == "en", title


def test_short_indonesian_text_overrules_an_english_declaration() -> None:
    for title in (
        "Harga emas Antam hari ini naik Rp 5.000 per gram",
        "Timnas Indonesia kalahkan Vietnam dua gol tanpa balas di Hanoi",
    ):
        guess = judge_story_lang(title, "", "en")
        assert (guess.lang, guess.by) == ("id", "text"), title
