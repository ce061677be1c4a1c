"""Serving the site: one lifecycle for `warta web` and for `warta run` with web_enabled."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.topic import TopicScorer
from bot.web.app import OpsStore, Site, create_app
from bot.web.archive import Archive, ArchiveStore, PublicSources, StoreDefaultSources

log = logging.getLogger(__name__)


class SiteStore(ArchiveStore, OpsStore):
    pass


def build_site(
    settings: Settings,
    store: Any,
    scorer: TopicScorer,
    *,
    sources: PublicSources | None = None,
) -> Site:
    """The site over ``store`` (a :class:`bot.store.base.Store`). Only the stories of
    ``sources`` are public; by default the store's default feeds (never a chat's own)."""
    archive = Archive(
        store,
        sources=sources or StoreDefaultSources(store),
        scorer=scorer,
        tz=settings.timezone,
        max_stories=settings.digest_max_stories,
    )
    return Site(
        archive, store=store, base_url=settings.web_base_url, default_lang=settings.default_lang
    )


class WebServer:
    """An aiohttp server on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""

    def __init__(self, site: Site, *, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.site = site
        self.host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        # No access log: request lines carry search queries, which are the reader's business.
        self._runner = web.AppRunner(create_app(self.site), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._port).start()
        log.info("web: serving on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_forever(settings: Settings, *, host: str, port: int) -> int:
    """`warta web`: the site alone until SIGINT/SIGTERM."""
    from bot.app import App

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with await App.open(settings) as app:
        site = build_site(settings, app.store, app.scorer)
        async with WebServer(site, host=host, port=port) as server:
            print(f"warta: web on {server.url}", file=sys.stderr, flush=True)
            await stop.wait()
    return 0
