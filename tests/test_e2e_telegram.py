"""End to end on Telegram: subscribe a group, get the scheduled digest, look stories up.

Everything is real except the clock: a SQLite store (``App.open`` on ``tmp_path``), feeds served
over HTTP by the loopback feed server and polled by the real poll job, the real command core
(``build_core``), the real Telegram adapter on python-telegram-bot against the third-party
``telegram-test-api`` emulator (node) behind the fix-up proxy, and the real outbox
(``compose_due`` + ``Sender``). The clock is injected so "08:00 in Jakarta" comes when the test
says.

What the emulator cannot do is done by the proxy and said where it happens: chat
administrators (``FakeChat``) and flood control (429s are *injected*; the emulator never sends
one). Needs ``npm ci --prefix tests/peers``: skipped locally without node, a failure in CI.

Helpers here (``ScriptedProxy``, ``story_feed``, ``check_digest_parts``) are shared with
``tests/test_crash.py``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.adapters.telegram import TelegramAdapter, create
from bot.app import App
from bot.config import Settings
from bot.delivery import Sender, compose_due
from bot.demo import render_sample, sample_feeds
from bot.digest import digest_from_json
from bot.lang.strings import t
from bot.models import ChannelRef, DeliveryState, Digest, Feed
from bot.render.telegram import TEXT_LIMIT, render_digest, utf16_len
from bot.runner import build_core, make_poll_job
from bot.summarize.base import get_summarizer
from tests import feedserver
from tests.crash_worker import FakeClock
from tests.feedserver import FeedServer
from tests.peers.telegram_emulator import (
    FakeChat,
    FixupProxy,
    NodeEmulator,
    telegram_html_error,
)

pytestmark = pytest.mark.telegram_emulator
feed_server = feedserver.feed_server

JAKARTA = ZoneInfo("Asia/Jakarta")
SORA_TITLE = "Protes Program Uji Coba, Kelompok Seniman Bocorkan Model Video Sora"


def morning(days_ago: int = 2) -> tuple[datetime, datetime]:
    """(07:00, 08:01) Jakarta time on a day in the past: the bot starts an hour before a
    "daily 08:00" digest is due, and the sender runs a minute after. In the past because feed
    dates far in the future are treated as unknown."""
    day = datetime.now(JAKARTA).date() - timedelta(days=days_ago)
    at = datetime(day.year, day.month, day.day, 7, 0, tzinfo=JAKARTA)
    return at.astimezone(UTC), (at + timedelta(hours=1, minutes=1)).astimezone(UTC)


# --------------------------------------------------------------------------- a feed of stories

_TOOLS = ("Midjourney", "Stable Diffusion", "Suno", "Udio", "Runway AI", "Adobe Firefly",
          "ElevenLabs", "DALL-E", "NovelAI", "Lensa", "Veo", "Imagen")  # fmt: skip
_CREATORS = (
    ("ilustrator", "ilustrasi"), ("komikus", "komik"), ("musisi", "lagu"), ("penyanyi", "album"),
    ("penulis", "novel"), ("fotografer", "foto"), ("animator", "animasi"),
    ("desainer grafis", "poster"), ("pengisi suara", "dubbing"), ("pelukis", "lukisan"),
    ("penari", "koreografi"), ("sutradara", "film pendek"),
)  # fmt: skip
_CITIES = (
    "Bandung", "Yogyakarta", "Surabaya", "Medan", "Makassar", "Denpasar", "Semarang", "Malang",
    "Padang", "Pontianak", "Manado", "Palembang", "Kupang", "Ambon", "Jayapura", "Mataram",
    "Banjarmasin", "Pekanbaru", "Jambi", "Bengkulu", "Ternate", "Kendari", "Palu", "Samarinda",
    "Tarakan", "Sorong", "Cirebon", "Solo", "Bogor", "Tegal", "Kediri", "Jember",
)  # fmt: skip


def story_feed(now: datetime, count: int = len(_CITIES)) -> bytes:
    """An Indonesian RSS feed of ``count`` distinct relevant stories (one per city, so none are
    folded together as the same event), published in the hours before ``now``, each with three
    long sentences that become long quick-facts bullets."""
    items = []
    for i, city in enumerate(_CITIES[:count]):
        tool = _TOOLS[i % len(_TOOLS)]
        who, work = _CREATORS[(i * 5) % len(_CREATORS)]
        n = 40 + i * 7
        url = f"https://seni{i}.example/berita/{city.lower()}-{i}"
        title = f"{n} {who.title()} {city} Gugat Pemakaian {tool} atas {work.title()} Mereka"
        text = (
            f"Sebanyak {n} {who} asal {city} melayangkan keberatan resmi karena {work} karya "
            f"mereka dipakai untuk melatih {tool} tanpa izin maupun imbalan yang layak bagi para "
            f"kreator lokal. Perwakilan komunitas {who} {city} menyebut kecerdasan buatan "
            f"generatif itu kini mampu meniru gaya {work} mereka hanya dari satu kalimat "
            f"perintah, sehingga pesanan dari klien turun hampir separuh. Pemerintah kota {city} "
            f"berjanji memfasilitasi pertemuan antara para {who} dan perusahaan pengembang "
            f"{tool} pada pekan depan untuk membahas lisensi serta pembagian royalti yang adil."
        )
        published = format_datetime(now - timedelta(minutes=30 + 25 * i))
        items.append(
            f"<item><title>{escape(title)}</title><link>{url}</link><guid>{url}</guid>"
            f"<pubDate>{published}</pubDate><description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Warta Seni Nusantara</title><link>https://seni.example/</link>"
        f"<language>id</language>{''.join(items)}</channel></rss>"
    ).encode()


async def serve_feeds(server: FeedServer, now: datetime) -> list[str]:
    """The bundled demo samples (the Sora story among them) plus :func:`story_feed`."""
    urls = [
        server.url(server.add_bytes(f"/demo/{name}", render_sample(raw, now)))
        for name, raw in sorted(sample_feeds().items())
    ]
    urls.append(server.url(server.add_bytes("/seni.xml", story_feed(now))))
    return urls


async def poll_into(app: App, urls: list[str], now: datetime) -> int:
    for url in urls:
        await app.store.add_feed(Feed(url=url, next_check_at=now))
    return await make_poll_job(app)(now)


# --------------------------------------------------------------------------- the Telegram peer


@dataclass
class Planned:
    action: str  # "pass" | "429" | "hold"
    retry_after: int = 1


class ScriptedProxy(FixupProxy):
    """The fix-up proxy with a script for the next sendMessage calls, for what the emulator
    cannot do: answer 429 (flood control) or *hold* a request without ever accepting it (so a
    test can kill the sender while the platform has not taken the message)."""

    def __init__(self, emulator_url: str, **kwargs: Any) -> None:
        super().__init__(emulator_url, **kwargs)
        self.plan: list[Planned] = []
        self.holding = asyncio.Event()
        self._release = asyncio.Event()

    def script(self, *steps: Planned) -> None:
        self.plan.extend(steps)

    def release(self) -> None:
        """End held requests (with an error, never forwarded to the emulator)."""
        self._release.set()

    async def stop(self) -> None:
        self.release()
        await super().stop()

    async def _bot_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method != "sendMessage" or request.match_info["token"] != self.token or not self.plan:
            return await super()._bot_api(request)
        step = self.plan.pop(0)
        if step.action == "pass":
            return await super()._bot_api(request)
        params, _ = await self._params(request)
        self.calls.append((method, params))
        if step.action == "429":
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {step.retry_after}",
                "parameters": {"retry_after": step.retry_after},
            }
            return web.json_response(body, status=429)
        self.holding.set()
        await self._release.wait()
        return web.json_response(
            {"ok": False, "error_code": 500, "description": "held by the test"}, status=500
        )


@pytest.fixture
async def peer(node: NodeEmulator) -> AsyncIterator[ScriptedProxy]:
    # A fresh token: isolated emulator state.
    async with ScriptedProxy(node.url) as proxy:
        yield proxy


# --------------------------------------------------------------------------- checking a digest

_STORY_LINE = re.compile(r"^(\d+)\. ", re.MULTILINE)


def visible(part: str) -> str:
    """A message's text after Telegram's HTML entity parsing."""
    error, text = telegram_html_error(part)
    assert error is None, error
    return text


def check_digest_parts(posted: list[str], digest: Digest) -> None:
    """``posted`` (the HTML texts that reached the chat, in order) is ``digest`` exactly once:
    what the renderer made, each part within Telegram's limit, split only between stories, and
    every story once, whole, in rank order."""
    expected = render_digest(digest)
    assert posted == expected
    texts = [visible(p) for p in posted]
    assert all(utf16_len(text) <= TEXT_LIMIT for text in texts)
    assert texts[0].startswith(digest.title)
    for text in texts[1:]:
        assert _STORY_LINE.match(text), f"a part starts inside a story: {text[:80]!r}"
    numbers = [int(n) for text in texts for n in _STORY_LINE.findall(text)]
    assert numbers == list(range(1, len(digest.entries) + 1))
    for entry in digest.entries:
        holding = [text for text in texts if entry.summary.headline in text]
        assert len(holding) == 1, entry.summary.headline
        assert entry.summary.bullets
        assert all(bullet in holding[0] for bullet in entry.summary.bullets)


# --------------------------------------------------------------------------- the scenario


async def test_subscribe_digest_search_flood_control_and_refusal(
    tmp_path: Path, feed_server: FeedServer, peer: ScriptedProxy
) -> None:
    start, due = morning()
    clock = FakeClock(start)
    db = f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}"
    # allow_loopback: an admin's "/feeds add" of a loopback URL would succeed, so the
    # non-admin's refusal below can only come from the permission check.
    settings = Settings(database_url=db, allow_loopback=True)
    group = peer.add_chat(FakeChat(-1001700, "supergroup", "Seni & AI", admins={7}, creator=8))
    channel = ChannelRef("telegram", str(group.id))

    async with await App.open(settings, database_url=db) as app:
        urls = await serve_feeds(feed_server, start)
        assert await poll_into(app, urls, start) == len(urls)
        assert all(not f.failures for f in await app.store.list_feeds())

        tg: TelegramAdapter = create(
            token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0
        )
        core = build_core(app, {"telegram": tg}, get_summarizer("extractive"), now=clock)
        await tg.start(core)
        try:
            await _scenario(app, tg, peer, group, channel, clock, due, feed_server)
        finally:
            await tg.stop()


async def _say(
    peer: ScriptedProxy, group: FakeChat, text: str, user_id: int, *, lang: str = "en"
) -> str:
    """A member sends ``text`` in the group; returns the bot's answer as the member sees it."""
    before = len(await peer.bot_messages(group.id))
    await peer.user_sends(
        text, chat_id=group.id, chat_type="supergroup", user_id=user_id, language_code=lang
    )
    messages = await peer.wait_bot_messages(group.id, before + 1)
    return visible(messages[before]["text"])


async def _scenario(
    app: App,
    tg: TelegramAdapter,
    peer: ScriptedProxy,
    group: FakeChat,
    channel: ChannelRef,
    clock: FakeClock,
    due: datetime,
    feed_server: FeedServer,
) -> None:
    # An admin whose client is in English subscribes the group to the Indonesian digest: the
    # answer follows the subscription's language.
    answer = await _say(peer, group, "/subscribe id daily 08:00", user_id=7)
    assert answer.startswith(t("subscribed", "id", channel=str(group.id)))
    lines = answer.split("\n")
    assert "Bahasa: Indonesia" in lines
    assert "Jadwal: setiap hari 08:00" in lines
    assert "Zona waktu: Asia/Jakarta" in lines
    assert any(line.startswith("Berikutnya: ") and "08:00 (Asia/Jakarta)" in line for line in lines)
    sub = await app.store.get_subscription(channel)
    assert sub is not None
    assert (sub.lang, sub.schedule, sub.created_by) == ("id", "daily 08:00", "7")
    assert sub.next_run_at == due - timedelta(minutes=1)  # 08:00 WIB that day

    answer = await _say(peer, group, "/settings max 20", user_id=7)
    assert answer.startswith(t("settings_saved", "id"))

    # Any member may search; the Sora story comes first.
    answer = await _say(peer, group, "/search sora", user_id=42)
    assert answer.startswith(t("search_header", "id", query="sora"))
    assert answer.split("\n")[2].startswith("1. #")
    assert SORA_TITLE in answer.split("\n")[2]

    # A non-admin may not add feeds: refused in the chat's language, nothing fetched or stored.
    new_path = feed_server.add_bytes("/baru.xml", story_feed(clock.now, count=2))
    feeds_before = await app.store.list_feeds()
    answer = await _say(peer, group, f"/feeds add {feed_server.url(new_path)}", user_id=42)
    assert answer == t("not_admin", "id", command="feeds")
    assert await app.store.list_feeds() == feeds_before
    assert feed_server.stats(new_path).requests == 0
    # ...while the same command from the admin goes through (so the refusal was the permission).
    answer = await _say(peer, group, f"/feeds add {feed_server.url(new_path)}", user_id=7)
    assert answer == t("feed_added", "id", title="Warta Seni Nusantara (127.0.0.1)")
    assert len(await app.store.list_feeds()) == len(feeds_before) + 1

    # Before 08:00 nothing is due; a minute after, exactly one digest is queued (twice: still one).
    assert await compose_due(app.store, clock.now) == 0
    clock.now = due
    assert await compose_due(app.store, clock.now) == 1
    assert await compose_due(app.store, clock.now) == 0
    [delivery] = await app.store.list_deliveries()
    digest = digest_from_json(delivery.payload)
    parts = tg.render_digest(digest)
    assert digest.lang == "id"
    assert len(digest.entries) == 20
    assert len(parts) >= 2

    # Flood control, injected by the proxy (the emulator has none): part 1 goes through, then
    # part 2 gets four 429s in a row, one more than AIORateLimiter's 3 retries, so the outbox
    # has to reschedule the delivery.
    peer.script(Planned("pass"), *[Planned("429", retry_after=1)] * 4)
    before = len(await peer.bot_messages(group.id))
    sender = Sender(app.store, {"telegram": tg}, clock=clock, sleep=clock.sleep)
    assert await sender.drain_once() == 0
    posted = [m["text"] for m in (await peer.bot_messages(group.id))[before:]]
    assert posted == parts[:1]
    assert not peer.plan  # every scripted answer was used: 1 + 4 sendMessage calls
    [waiting] = await app.store.list_deliveries()
    assert waiting.state is DeliveryState.PENDING
    assert len(waiting.sent_parts) == 1
    assert waiting.not_before is not None
    assert waiting.not_before > clock.now

    # Not before retry_after (here the outbox backoff, which is longer): nothing is sent.
    assert await sender.drain_once() == 0
    assert len(await peer.bot_messages(group.id)) == before + 1

    clock.now = waiting.not_before + timedelta(seconds=1)
    assert await sender.drain_once() == 1
    messages = (await peer.bot_messages(group.id))[before:]
    check_digest_parts([m["text"] for m in messages], digest)
    assert all(m["parse_mode"] == "HTML" for m in messages)
    [sent] = await app.store.list_deliveries()
    assert sent.state is DeliveryState.SENT
    assert sent.sent_parts == [str(m["message_id"]) for m in messages]

    # Sending again delivers nothing more.
    clock.now += timedelta(hours=1)
    assert await sender.drain_once() == 0
    assert len(await peer.bot_messages(group.id)) == before + len(parts)
