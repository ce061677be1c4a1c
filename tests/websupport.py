"""A running Warta web server over a store filled through the real ingest path.

The feeds are served by :class:`tests.feedserver.FeedServer` on 127.0.0.1 and polled with the
real fetcher, parser, analyzer and SQLite store; then the real site is served on 127.0.0.1 with a
free port. Everything runs in a background thread with its own event loop, so async HTTP tests
and synchronous Selenium tests can share one seeded server.

What the store holds:

* the four bundled sample feeds (the Sora leak story reported by four outlets, false friends);
* ``history.xml``: 40 relevant stories spread over ten weeks in both languages and all five
  themes, so the weekly charts and the archive have something to show;
* ``xss.xml``: a public, relevant story whose title is :data:`XSS_TITLE`;
* ``private.xml``: a relevant story of a feed that is NOT in the feeds file (as a chat's own
  source would be): its :data:`PRIVATE_MARKER` must never reach a page or a feed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from bot.app import App
from bot.config import Settings
from bot.demo import render_sample, sample_feeds
from bot.feeds.ingest import poll_due
from bot.models import ChannelRef, Feed
from bot.web.server import WebServer, build_site
from tests.feedserver import FeedServer

JAKARTA = ZoneInfo("Asia/Jakarta")
XSS_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_HEADLINE = f"{XSS_TITLE} Illustrators sue AI image generator over copyright"
PRIVATE_MARKER = "Zebrafinchcollective"

# (language, title, text) templates: each relevant (AI x creative work) and tied to one theme.
_HISTORY = [
    (
        "en",
        "Illustrators sue {co} over AI training on their artwork",
        "A group of illustrators filed a copyright lawsuit against {co}, saying its AI image "
        "generator was trained on their artwork without consent. The artists seek damages.",
    ),
    (
        "en",
        "Voice actors' union strikes over AI voice clones in video games",
        "The voice actors' union called a strike after studios refused to limit AI voice "
        "clones. Performers say generative AI threatens the livelihood of artists.",
    ),
    (
        "en",
        "{co} launches AI image tool aimed at illustrators and designers",
        "{co} released a generative AI image tool for illustrators. Artists criticised the "
        "launch, asking whether the model was trained on their art.",
    ),
    (
        "en",
        "Artists protest AI-generated paintings at {co} gallery show",
        "Painters staged a protest and signed a petition against AI-generated art shown at "
        "the gallery, saying generative AI copies the work of human artists.",
    ),
    (
        "id",
        "Ilustrator menggugat {co} karena AI dilatih dengan karya seni mereka",
        "Sejumlah ilustrator menggugat {co} ke pengadilan karena model AI generatif dilatih "
        "dengan karya seni mereka tanpa izin. Para seniman menuntut ganti rugi.",
    ),
    (
        "id",
        "Pemerintah terbitkan pedoman AI generatif untuk industri kreatif dan seniman",
        "Pemerintah menerbitkan pedoman penggunaan kecerdasan buatan generatif bagi industri "
        "kreatif. Seniman dan ilustrator meminta perlindungan hak cipta atas karya mereka.",
    ),
    (
        "id",
        "Musisi protes lagu buatan AI yang meniru suara penyanyi {co}",
        "Musisi memprotes lagu buatan AI yang meniru suara penyanyi tanpa izin. Mereka "
        "menerbitkan petisi agar platform musik menandai karya buatan kecerdasan buatan.",
    ),
    (
        "en",
        "Lawmakers debate AI copyright bill to protect artists from {co}",
        "Parliament debated a bill requiring AI companies such as {co} to disclose training "
        "data, after artists and writers said generative AI used their work without pay.",
    ),
]
_COMPANIES = ["Pixelforge", "Stablecraft", "Dreamcanvas", "Artmind", "Lumen AI"]


def _rss(title: str, items: list[tuple[str, str, str, str, datetime]]) -> bytes:
    """A small RSS 2.0 document; items are (guid, lang, title, text, published)."""
    body = "".join(
        f"<item><title>{escape(t)}</title><link>https://news.example/{g}</link>"
        f'<guid isPermaLink="false">{g}</guid><pubDate>{format_datetime(p)}</pubDate>'
        f"<description>{escape(x)}</description></item>"
        for g, _lang, t, x, p in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>{body}</channel></rss>"
    ).encode()


def history_items(now: datetime, n: int = 40) -> list[tuple[str, str, str, str, datetime]]:
    items = []
    for i in range(n):
        lang, title, text = _HISTORY[i % len(_HISTORY)]
        co = _COMPANIES[i % len(_COMPANIES)]
        published = now - timedelta(days=1 + i * 70 / n, hours=i % 5)
        items.append((f"h{i}", lang, title.format(co=co), text.format(co=co), published))
    return items


def feed_clock(real_now: datetime) -> datetime:
    """The "now" the test feeds are dated from. A digest is one day in Asia/Jakarta and the
    sample stories are 1 to 33 hours old (the Sora leak's four reports 4 to 12 hours), so right
    after local midnight "now" would split them over two days: then the feeds are dated from
    23:00 of the local day before, and all tests read the same kind of day at any hour."""
    local = real_now.astimezone(JAKARTA)
    if local.hour >= 14:
        return real_now
    anchor = local.replace(hour=23, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return anchor.astimezone(UTC)


@contextmanager
def chromium_driver(chromium: str, chromedriver: str, log_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Debian Chromium through its chromedriver, kept off the network, quit on exit.

    chromedriver's own log goes to ``log_path``, a file this function opens and closes: left
    to itself, Selenium 4.11 (the floor) opens os.devnull for it and never closes it, which
    surfaces as an unraisable ResourceWarning at the end of the session."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        # Stay on loopback: none of Chromium's background calls home.
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-features=Translate,OptimizationHints,MediaRouter",
        "--metrics-recording-only",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with log_path.open("ab") as log:
        driver = webdriver.Chrome(options=options, service=Service(chromedriver, log_output=log))
        try:
            yield driver
        finally:
            driver.quit()


@dataclass
class LiveSite:
    """The seeded server; ``url`` is its base URL once started. ``hostile=False`` leaves out
    the XSS and private feeds (for the README's screenshots)."""

    tmp: Path
    hostile: bool = True
    url: str = ""
    settings: Settings | None = None
    feeds_base: str = ""  # the loopback feed server: its URLs must never reach a page
    private_story_id: int = 0
    xss_story_id: int = 0
    stories: int = 0
    day: date | None = None  # the newest digest day: it holds the Sora leak and the XSS story

    def start(self) -> None:
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="warta-web-test", daemon=True)
        self._thread.start()
        if not self._ready.wait(120):
            raise TimeoutError("the web test server did not start")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # surfaced to the test through start()
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        now = feed_clock(datetime.now(UTC))
        self.day = (now - timedelta(hours=1)).astimezone(JAKARTA).date()
        async with FeedServer() as feeds:
            public = [
                feeds.url(feeds.add_bytes(f"/{name}", render_sample(raw, now)))
                for name, raw in sorted(sample_feeds().items())
            ]
            public.append(
                feeds.url(feeds.add_bytes("/history.xml", _rss("Arts Wire", history_items(now))))
            )
            private = None
            if self.hostile:
                xss_text = (
                    "Illustrators filed a copyright lawsuit against an AI image generator, saying "
                    "it was trained on their artwork without consent."
                )
                public.append(
                    feeds.url(
                        feeds.add_bytes(
                            "/xss.xml",
                            # Escaped twice: the feed's title text itself is markup (an HTML-escaped
                            # title, as some feeds send), so it survives parsing as literal text.
                            _rss(
                                escape(f"{XSS_TITLE} Outlet"),
                                [
                                    (
                                        "x1",
                                        "en",
                                        escape(XSS_HEADLINE),
                                        xss_text,
                                        now - timedelta(hours=2),
                                    )
                                ],
                            ),
                        )
                    )
                )
                private = feeds.url(
                    feeds.add_bytes(
                        "/private.xml",
                        _rss(
                            f"{PRIVATE_MARKER} Private Source",
                            [
                                (
                                    "p1",
                                    "en",
                                    f"{PRIVATE_MARKER} artists protest AI art generator",
                                    f"The {PRIVATE_MARKER} of painters protested against an AI "
                                    "image generator trained on their art without consent.",
                                    now - timedelta(hours=3),
                                )
                            ],
                        ),
                    )
                )
            feeds_file = self.tmp / "feeds.toml"
            feeds_file.write_text(
                "".join(f'[[feed]]\nurl = "{u}"\n\n' for u in public), encoding="utf-8"
            )
            self.settings = Settings(
                database_url=f"sqlite+aiosqlite:///{self.tmp / 'web.db'}",
                feeds_file=str(feeds_file),
                allow_loopback=True,  # the test's feeds are on 127.0.0.1
            )
            async with await App.open(self.settings) as app:
                await app.sync_feeds_file()
                if private is not None:
                    # A chat's own source: stored as no default, in one chat's set only.
                    await app.store.add_feed(Feed(url=private, is_default=False))
                    chat = ChannelRef("telegram", "-100424242")
                    assert await app.store.add_chat_source(chat, private) == "added"
                report = await poll_due(app.store, app.fetcher, scorer=app.scorer)
                assert report.failed == 0, report.errors
                self.stories = report.baseline_stories
                self.feeds_base = feeds.base_url
                if self.hostile:
                    (private_story,) = await app.store.search(PRIVATE_MARKER)
                    (xss_story,) = await app.store.search("onerror Illustrators")
                    assert private_story.id
                    assert xss_story.id
                    self.private_story_id, self.xss_story_id = private_story.id, xss_story.id
                site = build_site(self.settings, app.store, app.scorer)
                async with WebServer(site, host="127.0.0.1", port=0) as server:
                    self.url = server.url
                    self._ready.set()
                    await self._stop.wait()
