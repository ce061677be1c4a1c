"""What the tenancy end-to-end tests share (tests/test_e2e_tenancy_*.py): feeds with distinct
relevant stories per source, a feed URL that carries secrets, and log capture the way
``warta run`` logs (through bot.logsafe's filter)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from bot.logsafe import TokenMaskFilter
from tests.feedserver import FeedServer

# What must never reach a non-operator: the token of a paid feed and its basic-auth password.
TOKEN = "SECRET-7c1f0a"
PASSWORD = "hunter2pw"

_CITIES = ("Bandung", "Yogyakarta", "Surabaya", "Medan", "Makassar", "Denpasar", "Semarang",
           "Malang", "Padang", "Pontianak", "Manado", "Palembang", "Kupang", "Ambon",
           "Jayapura")  # fmt: skip
_TOOLS = ("Midjourney", "Stable Diffusion", "Suno", "Udio", "Runway AI", "Adobe Firefly",
          "ElevenLabs", "DALL-E", "NovelAI", "Lensa", "Veo", "Imagen", "Sora", "Kling",
          "Pika")  # fmt: skip
_WORK = (("ilustrator", "ilustrasi"), ("komikus", "komik"), ("musisi", "lagu"),
         ("penulis", "novel"), ("fotografer", "foto"), ("animator", "animasi"))  # fmt: skip


def source_feed(label: str, first: int, count: int, now: datetime) -> bytes:
    """An Indonesian RSS feed titled ``label`` of ``count`` relevant stories, each about a
    different city and tool (so no two sources report the same event), links on
    ``https://{label}.example/``."""
    items = []
    for i in range(first, first + count):
        city, tool = _CITIES[i % len(_CITIES)], _TOOLS[i % len(_TOOLS)]
        who, work = _WORK[i % len(_WORK)]
        url = f"https://{label.lower()}.example/berita/{i}"
        title = f"{label}: {who.title()} {city} Gugat Pemakaian {tool} atas {work.title()}"
        text = (
            f"Sebanyak {30 + i} {who} asal {city} melayangkan keberatan resmi karena {work} "
            f"mereka dipakai untuk melatih {tool} tanpa izin maupun imbalan bagi para kreator. "
            f"Perwakilan {who} {city} menyebut kecerdasan buatan generatif itu meniru gaya "
            f"{work} mereka dari satu kalimat perintah. Pemerintah kota {city} berjanji "
            f"mempertemukan para {who} dengan pengembang {tool} untuk membahas lisensi."
        )
        published = format_datetime(now - timedelta(minutes=20 + 15 * (i - first)))
        items.append(
            f"<item><title>{escape(title)}</title><link>{url}</link><guid>{url}</guid>"
            f"<pubDate>{published}</pubDate><description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(label)}</title><link>https://{label.lower()}.example/</link>"
        f"<language>id</language>{''.join(items)}</channel></rss>"
    ).encode()


def serve(server: FeedServer, label: str, first: int, now: datetime, count: int = 3) -> str:
    """Serve :func:`source_feed` at ``/{label}.xml``; returns its URL."""
    return server.url(
        server.add_bytes(f"/{label.lower()}.xml", source_feed(label, first, count, now))
    )


def secret_url(server: FeedServer, path: str) -> str:
    """``http://reader:PASSWORD@127.0.0.1:port{path}?token=TOKEN`` — a paid feed's address."""
    return server.url(path).replace("http://", f"http://reader:{PASSWORD}@") + f"?token={TOKEN}"


def leaks(text: str) -> bool:
    return TOKEN in text or PASSWORD in text


def capture_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture INFO and up through the filter ``warta run`` installs on its log handler."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(TokenMaskFilter())


def story_urls(entries: Sequence[object]) -> set[str]:
    return {e.story.feed_url for e in entries}
