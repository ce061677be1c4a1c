"""``warta demo``: the whole pipeline offline, on bundled sample feeds served on 127.0.0.1.

The sample feeds were written for the project (real-looking, fictional outlets). Their dates are
written as ``{{ago:5h}}`` (RFC 822), ``{{ago-id:5h}}`` (Indonesian, WIB) and ``{{ago-iso:5h}}``
(RFC 3339) placeholders filled at serve time, so the digest always has fresh stories.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Settings

_PLACEHOLDER = re.compile(rb"\{\{ago(-id|-iso)?:(\d+)h\}\}")
_DAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
_MONTHS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]


def render_sample(raw: bytes, now: datetime) -> bytes:
    def fill(m: re.Match[bytes]) -> bytes:
        when = now - timedelta(hours=int(m.group(2)))
        if m.group(1) == b"-iso":
            return when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        if m.group(1) == b"-id":
            local = when.astimezone(ZoneInfo("Asia/Jakarta"))
            return (
                f"{_DAYS_ID[local.weekday()]}, {local.day} {_MONTHS_ID[local.month - 1]} "
                f"{local.year} {local:%H:%M} WIB"
            ).encode()
        return when.strftime("%a, %d %b %Y %H:%M:%S +0000").encode()

    return _PLACEHOLDER.sub(fill, raw)


def sample_feeds() -> dict[str, bytes]:
    folder = files("bot.demo")
    return {
        entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.name.endswith(".xml")
    }


async def serve_samples(now: datetime) -> tuple[web.AppRunner, str]:
    """Serve the sample feeds on a free loopback port; returns (runner, base URL)."""
    bodies = {name: render_sample(raw, now) for name, raw in sample_feeds().items()}

    async def handler(request: web.Request) -> web.Response:
        body = bodies.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/xml", charset="utf-8")

    app = web.Application()
    app.router.add_get("/feeds/{name}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/feeds/"


async def run_demo(settings: Settings, *, langs: list[str]) -> int:
    """Poll the sample feeds into a throwaway SQLite database and print digests."""
    from bot.app import App
    from bot.digest import compose_digest
    from bot.feeds.ingest import poll_due
    from bot.models import Feed
    from bot.render.console import render_digest

    # The demo prints its own one-line summary of the poll; the per-poll log line is noise here.
    logging.getLogger("bot.feeds.ingest").setLevel(logging.WARNING)
    now = datetime.now(UTC)
    # The sample feeds are served on loopback, which polled feeds may not reach otherwise.
    settings = replace(settings, allow_loopback=True)
    runner, base = await serve_samples(now)
    try:
        with tempfile.TemporaryDirectory(prefix="warta-demo-") as tmp:
            db = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
            async with await App.open(settings, database_url=db) as app:
                for name in sorted(sample_feeds()):
                    await app.store.add_feed(Feed(url=base + name, next_check_at=now))
                report = await poll_due(app.store, app.fetcher, now=now, scorer=app.scorer)
                print(
                    f"Warta demo: polled {report.feeds} sample feeds on {base} "
                    f"({report.baseline_stories} stories stored, {report.failed} failed)\n",
                    file=sys.stderr,
                )
                for lang in langs:
                    digest = await compose_digest(
                        app.store,
                        lang=lang,
                        start=now - timedelta(hours=48),
                        end=now,
                        tz=settings.timezone,
                        max_stories=settings.digest_max_stories,
                        scorer=app.scorer,
                        other_languages=settings.digest_other_languages,
                    )
                    sys.stdout.write(render_digest(digest) + "\n")
    finally:
        await runner.cleanup()
    return 0
