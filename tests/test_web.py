"""The public web face over real HTTP: pages, safety headers, caching, feeds, charts, metrics.

The server is the real aiohttp app over a SQLite store filled by a real poll of loopback feeds
(see tests/websupport.py). Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import feedparser
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from multidict import CIMultiDict
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.models import Story
from bot.web import stats_png
from bot.web.app import CSP, pick_lang
from bot.web.archive import StoreDefaultSources
from bot.web.charts import _label
from bot.web.strings import STRINGS
from bot.web.themes import story_themes
from tests.websupport import PRIVATE_MARKER, LiveSite

ROOT = Path(__file__).resolve().parents[1]
MAX_PAGE = 100_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    site = LiveSite(tmp_path_factory.mktemp("web"))
    site.start()
    yield site
    site.stop()


def day(live: LiveSite, offset: int = 0) -> str:
    """The newest digest day of the live site (with the Sora leak), or ``offset`` days from it."""
    assert live.day is not None
    return (live.day + timedelta(days=offset)).isoformat()


async def get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    """GET with a fresh session; the headers stay case-insensitive."""
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers or {}) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


def pages(live: LiveSite) -> list[tuple[str, str]]:
    """(path, lang) of every kind of HTML page, in both languages."""
    out = []
    for lang in ("id", "en"):
        out += [
            (f"/{lang}/", lang),
            (f"/digest/{lang}/{day(live)}", lang),
            (f"/{lang}/story/{live.xss_story_id}", lang),
            (f"/{lang}/search?q=seniman", lang),
            (f"/{lang}/stats", lang),
        ]
    return out


# --------------------------------------------------------------------------- pages


async def test_every_page_is_small_safe_and_in_its_language(live: LiveSite) -> None:
    for path, lang in pages(live):
        status, headers, body = await get(live.url + path)
        assert status == 200, path
        assert len(body) < MAX_PAGE, (path, len(body))
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Cache-Control"].startswith("public, max-age=")
        assert headers["ETag"]
        html = body.decode()
        assert f'<html lang="{lang}">' in html
        # Landmarks, and nothing the CSP would have to refuse: no script, no inline style.
        for landmark in ("<header", "<nav", '<main id="main"', "<footer", 'role="search"'):
            assert landmark in html, (path, landmark)
        assert "<script" not in html
        assert " style=" not in html
        assert "<style" not in html


async def test_archive_shows_todays_digest_with_facts_sources_and_reasons(live: LiveSite) -> None:
    _, _, body = await get(live.url + "/en/")
    html = body.decode()
    assert "AI &amp; Artists Digest — " in html
    assert "Artists Leak Access to OpenAI&#39;s Sora Video Tool in Protest" in html
    # Four outlets reported the leak: one entry, the others under "also reported by".
    assert html.count("Sora Video Tool in Protest") == 1
    assert "Also reported by:" in html
    assert 'class="facts"' in html
    assert "Why: sora" in html
    assert re.search(r'<time datetime="[^"]+">\d+ \w{3} \d{4}, \d\d:\d\d WIB</time>', html)
    # Every day is a permalink.
    assert f'href="/digest/en/{day(live)}"' in html
    assert f'href="/digest/en/{day(live, -1)}"' in html
    _, _, body = await get(live.url + "/id/")
    html = body.decode()
    assert "Ringkasan AI &amp; Seniman — " in html
    assert "Juga diberitakan oleh:" in html
    assert "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI" in html


async def test_accept_language_picks_the_root_page_language(live: LiveSite) -> None:
    for header, lang in [
        ("en-US,en;q=0.9", "en"),
        ("id-ID,id;q=0.9,en;q=0.5", "id"),
        ("id;q=0.2, en;q=0.8", "en"),
        ("ms-MY", "id"),
        ("fr-FR", "id"),  # the instance's default language
    ]:
        status, headers, body = await get(live.url + "/", {"Accept-Language": header})
        assert status == 200
        assert f'<html lang="{lang}">' in body.decode(), header
        assert headers["Vary"] == "Accept-Language"
        assert headers["Content-Language"] == lang
    # A language in the URL wins and needs no Vary.
    _, headers, body = await get(live.url + "/en/", {"Accept-Language": "id"})
    assert '<html lang="en">' in body.decode()
    assert "Vary" not in headers


def test_pick_lang() -> None:
    assert pick_lang(None, "id") == "id"
    assert pick_lang("", "en") == "en"
    assert pick_lang("en;q=0, id;q=0.1", "en") == "id"
    assert pick_lang("in", "en") == "id"  # the old ISO code for Indonesian
    assert pick_lang("de, en-GB;q=0.5, id;q=0.5", "id") == "en"  # ties: the first listed
    assert pick_lang("en;q=abc, id", "en") == "id"


async def test_digest_permalink_is_stable_and_bounded(live: LiveSite) -> None:
    url = f"{live.url}/digest/en/{day(live)}"
    first = await get(url)
    second = await get(url)
    assert first[0] == 200
    assert first[2] == second[2]
    assert first[1]["ETag"] == second[1]["ETag"]
    html = first[2].decode()
    assert f'<link rel="canonical" href="{url}">' in html
    assert "Sora Video Tool in Protest" in html
    assert f'href="/digest/id/{day(live)}"' in html  # the same day in the other language
    # A past day is cached longer than today, which can still change.
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    status, headers, _ = await get(f"{live.url}/digest/id/{today - timedelta(days=10)}")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=3600"
    status, headers, _ = await get(f"{live.url}/digest/id/{today}")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=60"
    tomorrow = (today + timedelta(days=1)).isoformat()
    for bad in (f"/digest/en/{tomorrow}", "/digest/en/2026-13-40", "/digest/fr/2026-01-01"):
        status, headers, body = await get(live.url + bad)
        assert status == 404, bad
        assert headers["Content-Security-Policy"] == CSP
        assert "<main" in body.decode()


async def test_etag_answers_304_and_changes_with_content(live: LiveSite) -> None:
    for path in ("/en/", "/feed/id.xml", "/feed/en.json", "/stats/en/theme.svg", "/id/stats"):
        status, headers, _ = await get(live.url + path)
        assert status == 200
        etag = headers["ETag"]
        status, headers304, body = await get(live.url + path, {"If-None-Match": etag})
        assert status == 304, path
        assert body == b""
        assert headers304["ETag"] == etag
        status, _, body = await get(live.url + path, {"If-None-Match": '"something-else"'})
        assert status == 200
        assert body
    # Different content, different tag.
    en = (await get(live.url + "/en/"))[1]["ETag"]
    id_ = (await get(live.url + "/id/"))[1]["ETag"]
    assert en != id_


async def test_story_page_and_unknown_story(live: LiveSite) -> None:
    status, _, body = await get(f"{live.url}/en/story/{live.xss_story_id}")
    assert status == 200
    html = body.decode()
    assert "Story #" in html
    assert "news.example" in html  # the outlet's host, shown beside its name
    assert f'href="/digest/en/{day(live)}"' in html
    for path in ("/story/99999999", "/en/story/0", "/story/abc"):
        status, _, _ = await get(live.url + path)
        assert status == 404, path


# --------------------------------------------------------------------------- safety


async def test_xss_in_a_feed_title_is_text(live: LiveSite) -> None:
    for path in ("/en/", f"/en/story/{live.xss_story_id}", "/en/search?q=onerror"):
        _, _, body = await get(live.url + path)
        html = body.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
        assert "<script" not in html
        assert "<img src=x" not in html
    # The feeds carry it as text too: escaped inside the (escaped) HTML content.
    _, _, body = await get(live.url + "/feed/en.xml")
    parsed = feedparser.parse(body)
    titles_html = " ".join(e.content[0].value for e in parsed.entries)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in titles_html
    assert "<script" not in titles_html
    _, _, body = await get(live.url + "/feed/en.json")
    content = " ".join(i["content_html"] for i in json.loads(body)["items"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script" not in content


async def test_only_public_sources_are_served(live: LiveSite) -> None:
    """A feed outside the feeds file (a chat's own source) never reaches the site, and no
    page shows a feed URL."""
    paths = [p for p, _ in pages(live)] + [
        "/",
        "/feed/en.xml",
        "/feed/id.json",
        "/stats/en/outlet.svg",
    ]
    feed_host = urlsplit(live.feeds_base).netloc
    for path in paths:
        _, _, body = await get(live.url + path)
        text = body.decode()
        assert PRIVATE_MARKER not in text, path
        assert feed_host not in text, path
    status, _, _ = await get(f"{live.url}/en/story/{live.private_story_id}")
    assert status == 404
    # Searching for it finds nothing (the page only repeats the query).
    _, _, body = await get(f"{live.url}/en/search?q={PRIVATE_MARKER}")
    assert 'No stories match "Zebrafinchcollective".' in unescape(body.decode())
    assert "/story/" not in body.decode()


async def test_search_is_paginated_bounded_and_literal(live: LiveSite) -> None:
    status, _, body = await get(live.url + "/en/search?q=illustrators")
    assert status == 200
    html = body.decode()
    assert 'Results for "illustrators"' in unescape(html)
    first = re.findall(r'<h2><a href="/en/story/(\d+)">', html)
    assert len(first) == 10
    assert 'rel="next" href="/en/search?q=illustrators&amp;page=2"' in html
    _, _, body = await get(live.url + "/en/search?q=illustrators&page=2")
    second = re.findall(r'<h2><a href="/en/story/(\d+)">', body.decode())
    assert second
    assert not set(first) & set(second)
    # Both languages are searched.
    _, _, body = await get(live.url + "/id/search?q=ilustrator")
    assert "Ilustrator menggugat" in body.decode()
    # Too long: refused before the database; silly pages are clamped; syntax is just text.
    status, _, body = await get(live.url + "/en/search?q=" + "a" * 101)
    assert status == 400
    assert "at most 100 characters" in body.decode()
    assert 'value="' + "a" * 100 + '"' in body.decode()  # the form keeps what fits
    for q in ('"sora" OR x*', "NEAR(a b)", "%27%3B--", "page", ""):
        status, _, _ = await get(f"{live.url}/en/search?q={q}&page=999999")
        assert status == 200, q


# --------------------------------------------------------------------------- feeds


async def test_atom_feed_parses_back_with_every_digest(live: LiveSite) -> None:
    status, headers, body = await get(live.url + "/feed/en.xml")
    assert status == 200
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Warta — AI & Artists Digest (English)"
    _, _, json_body = await get(live.url + "/feed/en.json")
    items = json.loads(json_body)["items"]
    # One entry per day with stories in the last two weeks (the history has one every ~2 days).
    assert len(parsed.entries) == len(items)
    assert 7 <= len(items) <= 14
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.id == item["id"] == entry.link
        assert re.fullmatch(rf"{re.escape(live.url)}/digest/en/\d{{4}}-\d\d-\d\d", entry.link)
        assert entry.title.startswith("AI & Artists Digest — ")
        assert entry.content[0].value
        assert entry.updated_parsed
        assert entry.published_parsed
    assert parsed.entries[0].link.endswith(day(live))
    assert "Sora" in parsed.entries[0].content[0].value
    # Every linked permalink is a page that exists.
    for entry in parsed.entries[:3]:
        status, _, _ = await get(entry.link)
        assert status == 200


async def test_json_feed_is_valid_json_feed_1_1(live: LiveSite) -> None:
    schema = json.loads((ROOT / "tests/data/jsonfeed-1.1.schema.json").read_text())
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_datetime(value: object) -> bool:
        return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    for lang in ("id", "en"):
        status, headers, body = await get(f"{live.url}/feed/{lang}.json")
        assert status == 200
        assert headers["Content-Type"] == "application/feed+json; charset=utf-8"
        doc = json.loads(body)
        errors = list(Draft202012Validator(schema, format_checker=checker).iter_errors(doc))
        assert errors == []
        assert doc["language"] == lang
        assert len({i["id"] for i in doc["items"]}) == len(doc["items"]) > 0
    # The checker is not a rubber stamp.
    bad = {"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [{"id": "1"}]}
    assert list(Draft202012Validator(schema, format_checker=checker).iter_errors(bad))
    bad = {**doc, "items": [{**doc["items"][0], "date_published": "yesterday"}]}
    assert list(Draft202012Validator(schema, format_checker=checker).iter_errors(bad))


# --------------------------------------------------------------------------- stats


async def test_stats_page_charts_and_png(live: LiveSite) -> None:
    _, _, body = await get(live.url + "/en/stats")
    html = body.decode()
    for kind in ("outlet", "theme", "lang"):
        match = re.search(rf'<img src="(/stats/en/{kind}\.svg\?v=\w+)" alt="([^"]+)"', html)
        assert match, kind
        assert "stories in 12 weeks" in match.group(2)
        status, headers, svg = await get(live.url + match.group(1).replace("&amp;", "&"))
        assert status == 200
        assert headers["Content-Type"] == "image/svg+xml"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert svg.startswith(b"<?xml")
        assert b"<svg" in svg
        assert b"<script" not in svg
    # The numbers behind the charts are on the page too: the history has 40 stories over
    # 10 weeks, 5 of every 8 in English.
    assert '<th scope="col">English</th>' in html
    assert "lawsuits &amp; copyright" in html
    _, _, body = await get(live.url + "/id/stats")
    assert "gugatan &amp; hak cipta" in body.decode()
    status, headers, png = await get(live.url + "/stats/id.png")
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert (await get(live.url + "/stats/en/pie.svg"))[0] == 404


async def test_stats_png_for_the_chat_command(live: LiveSite) -> None:
    from bot.store import open_store

    assert live.settings is not None
    store = await open_store(live.settings.database_url)
    try:
        png = await stats_png(store, "en", sources=StoreDefaultSources(store))
    finally:
        await store.close()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000


def _story(title: str, matched: tuple[str, ...] = ()) -> Story:
    return Story(
        feed_url="f", key="k", url="https://x.example/", title=title, text="", source="s",
        lang="en", published=None, content_hash="h", matched=matched,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("title", "themes"),
    [
        ("Artists sue Midjourney over training data", ("lawsuits",)),
        ("Ilustrator menggugat perusahaan AI", ("lawsuits",)),
        ("Seniman bocorkan akses Sora sebagai protes", ("protests",)),
        ("SAG-AFTRA strike over AI voice clones", ("labour",)),
        ("OpenAI launches a new image model for designers", ("tools",)),
        ("EU AI Act: what it means for musicians", ("policy",)),
        ("Pemerintah terbitkan pedoman AI", ("policy",)),
        ("Actor stars in a billion-dollar AI film", ("other",)),  # not "act", not "bill"
        ("Union sues over leaked AI contract", ("lawsuits", "protests", "labour")),
    ],
)
def test_story_themes(title: str, themes: tuple[str, ...]) -> None:
    assert story_themes(_story(title)) == themes


def test_chart_labels_from_feeds_cannot_break_the_renderer() -> None:
    assert _label("Cost $5 $") == r"Cost \$5 \$"
    assert _label("_hidden").startswith("\u200b")
    assert len(_label("x" * 100)) == 32


def test_web_strings_have_the_same_keys_and_placeholders() -> None:
    from bot.lang.strings import placeholders

    assert STRINGS["id"].keys() == STRINGS["en"].keys()
    for key, template in STRINGS["id"].items():
        assert placeholders(template) == placeholders(STRINGS["en"][key]), key


# --------------------------------------------------------------------------- operations


async def test_metrics_parse_with_the_prometheus_parser(live: LiveSite) -> None:
    status, headers, body = await get(live.url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    expected = {
        "warta_polls": "counter",
        "warta_fetch_seconds": "histogram",
        "warta_parse_fallbacks": "counter",
        "warta_stories_stored": "counter",
        "warta_digests_composed": "counter",
        "warta_messages_sent": "counter",
        "warta_send_retry_later": "counter",
        "warta_outbox_depth": "gauge",
        "warta_adapter_up": "gauge",
    }
    for name, kind in expected.items():
        assert families[name].type == kind, name

    def value(family: str, sample: str, **labels: str) -> float:
        return sum(
            s.value
            for s in families[family].samples
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
        )

    # This process polled the 7 loopback feeds of the live site (other tests may add more).
    assert value("warta_polls", "warta_polls_total", result="fetched") >= 7
    assert value("warta_fetch_seconds", "warta_fetch_seconds_count") >= 7
    assert value("warta_stories_stored", "warta_stories_stored_total") >= live.stories > 40
    assert value("warta_outbox_depth", "warta_outbox_depth") == 0


async def test_healthz_and_readyz_follow_the_adapters(live: LiveSite) -> None:
    status, headers, body = await get(live.url + "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}
    assert headers["Cache-Control"] == "no-store"
    status, _, body = await get(live.url + "/readyz")
    assert status == 200
    assert json.loads(body)["store"] == "ok"
    metrics.set_adapter_up("webtest", False)
    try:
        status, _, body = await get(live.url + "/readyz")
        assert status == 503
        assert json.loads(body)["adapters_down"] == ["webtest"]
        _, _, scraped = await get(live.url + "/metrics")
        assert 'warta_adapter_up{adapter="webtest"} 0.0' in scraped.decode()
    finally:
        metrics.set_adapter_up("webtest", True)
    status, _, _ = await get(live.url + "/readyz")
    assert status == 200


async def _run_cli(tmp: Path, *args: str, env: dict[str, str]) -> None:
    """Start `warta ...`, wait for "web on URL", check it serves, then stop it with SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT,
        env={
            **os.environ,
            "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
            "WARTA_FEEDS_FILE": str(tmp / "feeds.toml"),
            "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
            "WARTA_HEARTBEAT_FILE": str(tmp / "beat"),
            **env,
        },
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        url = ""
        while not url:
            line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
            assert line, "the process ended before serving"
            if m := re.search(r"web on (http://127\.0\.0\.1:\d+)", line):
                url = m.group(1)
        status, _, _ = await get(url + "/healthz")
        assert status == 200
        status, _, body = await get(url + "/readyz")
        assert status == 200, body
        status, _, body = await get(url + "/en/")
        assert status == 200
        assert b"No digests yet" in body
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0


async def test_warta_web_command_serves_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text("", encoding="utf-8")
    await _run_cli(tmp_path, "web", "--port", "0", env={})


async def test_warta_run_serves_the_site_when_enabled(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text("", encoding="utf-8")
    await _run_cli(
        tmp_path,
        "run",
        "--no-poll",
        env={"WARTA_WEB_ENABLED": "true", "WARTA_WEB_PORT": "0"},
    )


def test_web_defaults_bind_loopback() -> None:
    from bot.config import Settings

    settings = Settings()
    assert settings.web_host == "127.0.0.1"
    assert settings.web_enabled is False


def test_permalinks_for_chats() -> None:
    from datetime import UTC

    from bot.web.links import digest_url, story_url

    # 08:00 WIB on 5 Dec is 01:00 UTC: the digest page of 5 Dec (local), not 4 Dec (UTC day).
    end = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    assert digest_url("https://w.example/", "id", end) == "https://w.example/digest/id/2026-12-05"
    midnight = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # 00:00 WIB on 5 Dec
    assert digest_url("https://w.example", "en", midnight).endswith("/digest/en/2026-12-04")
    assert story_url("https://w.example/", "en", 7) == "https://w.example/en/story/7"
