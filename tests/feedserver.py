"""A real HTTP server on 127.0.0.1 that serves feeds and misbehaves on demand.

For tests and benches (no mocks of the HTTP client). Usage::

    from tests import feedserver
    from tests.feedserver import FeedServer

    feed_server = feedserver.feed_server  # expose the fixture in this test module (no F811)

    async def test_x(feed_server: FeedServer) -> None:
        feed_server.add_bytes("/a.xml", b"<rss>...</rss>")
        url = feed_server.url("/a.xml")

or outside pytest: ``async with FeedServer() as srv: ...``.

Routes (all return the path they registered, so calls can be inlined):

* ``add_bytes``      static body with automatic ETag + Last-Modified + 304 handling, optional gzip
* ``set_body``       replace a static body (new ETag/Last-Modified), e.g. to simulate an update
* ``add_redirect`` / ``add_redirect_chain`` / ``add_redirect_loop``
* ``add_status``     any status with optional Retry-After and body
* ``add_drip``       sends one byte every ``interval_s`` seconds
* ``add_gzip_bomb``  a small gzip body (~1 MB per GiB) that inflates to ``expanded`` bytes
* ``add_huge_length`` announces a huge Content-Length
* ``add_slow``       answers after a delay (to observe concurrency)
* ``add_handler``    any aiohttp handler

``stats(path)`` counts requests, 304s and in-flight requests per path; ``max_in_flight`` is the
peak of simultaneous requests over all paths.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import gzip
import hashlib
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import pytest_asyncio
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class PathStats:
    requests: int = 0
    not_modified: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    request_headers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Static:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    gzip_body: bytes | None
    headers: dict[str, str]


def _etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@functools.lru_cache(maxsize=4)
def gzip_bomb(expanded: int = 2**30, block: int = 2**20) -> bytes:
    """A valid gzip stream of ``expanded`` zero bytes, built without compressing them all.

    After a full flush deflate starts fresh, so every 1 MiB block of zeros compresses to the
    same bytes; repeat them and append the right CRC and length.
    """
    zeros = bytes(block)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(expanded, block)
    parts = [first] + [again] * (blocks - 1) if blocks else []
    if rest:
        parts.append(comp.compress(bytes(rest)))
    parts.append(comp.flush(zlib.Z_FINISH))
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (expanded & 0xFFFFFFFF).to_bytes(4, "little")
    return header + b"".join(parts) + trailer


class FeedServer:
    """An aiohttp server on 127.0.0.1 with a random port and a registry of routes."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self._routes: dict[str, Handler] = {}
        self._stats: dict[str, PathStats] = {}
        self._in_flight = 0
        self.max_in_flight = 0
        self._runner: web.AppRunner | None = None
        self._record_headers = False
        self._statics: dict[str, _Static] = {}
        # Every answer waits this long first, as a real server's round trip does.
        self.latency_s = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # A short shutdown timeout: drip/slow handlers must not hold a test for a minute.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def url(self, path: str) -> str:
        if not path.startswith("/"):
            path = "/" + path
        return self.base_url + path

    # ------------------------------------------------------------------ stats

    def stats(self, path: str) -> PathStats:
        return self._stats.setdefault(path, PathStats())

    @property
    def total_requests(self) -> int:
        """Requests received on any path (a refused fetch must leave this unchanged)."""
        return sum(st.requests for st in self._stats.values())

    def record_headers(self, on: bool = True) -> None:
        """Keep each request's headers in ``stats(path).request_headers`` (off by default to
        keep benches light)."""
        self._record_headers = on

    def reset_stats(self) -> None:
        self._stats.clear()
        self.max_in_flight = 0

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        handler = self._routes.get(path)
        st = self.stats(path)
        st.requests += 1
        if self._record_headers:
            st.request_headers.append(dict(request.headers))
        if handler is None:
            return web.Response(status=404, text="not found")
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            resp = await handler(request)
            if resp.status == 304:
                st.not_modified += 1
            return resp
        finally:
            st.in_flight -= 1
            self._in_flight -= 1

    # ------------------------------------------------------------------ routes

    def add_handler(self, path: str, handler: Handler) -> str:
        self._routes[path] = handler
        return path

    def add_bytes(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: bool = True,
        last_modified: bool = True,
        gzip_encode: bool = False,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve ``body`` with validators and 304 handling. With ``gzip_encode`` the body is
        sent gzip-encoded to clients that accept gzip."""
        static = _Static(
            body=body,
            content_type=content_type,
            etag=_etag_for(body) if etag else None,
            last_modified=email.utils.formatdate(time.time(), usegmt=True)
            if last_modified
            else None,
            gzip_body=gzip.compress(body, mtime=0) if gzip_encode else None,
            headers=dict(headers or {}),
        )
        self._statics[path] = static
        return self.add_handler(path, functools.partial(self._serve_static, path))

    def set_body(self, path: str, body: bytes, *, last_modified: float | None = None) -> None:
        """Replace the body of an ``add_bytes`` route; validators change with it."""
        old = self._statics[path]
        old.body = body
        if old.etag is not None:
            old.etag = _etag_for(body)
        if old.last_modified is not None:
            # Last-Modified has one-second resolution: move it forward so an update within the
            # same second is still seen as newer.
            when = last_modified if last_modified is not None else time.time() + 1
            old.last_modified = email.utils.formatdate(when, usegmt=True)
        if old.gzip_body is not None:
            old.gzip_body = gzip.compress(body, mtime=0)

    async def _serve_static(self, path: str, request: web.Request) -> web.StreamResponse:
        s = self._statics[path]
        headers = {"Content-Type": s.content_type, **s.headers}
        if s.etag:
            headers["ETag"] = s.etag
        if s.last_modified:
            headers["Last-Modified"] = s.last_modified
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        if inm is not None and s.etag is not None:
            if s.etag in (t.strip() for t in inm.split(",")) or inm.strip() == "*":
                return web.Response(status=304, headers=headers)
        elif ims is not None and s.last_modified is not None and ims == s.last_modified:
            # Exact match is what feed servers commonly do and avoids date-parsing subtleties.
            return web.Response(status=304, headers=headers)
        body = s.body
        if s.gzip_body is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = s.gzip_body
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        return web.Response(body=body, headers=headers)

    def add_redirect(self, path: str, to: str, *, status: int = 302) -> str:
        """Redirect ``path`` to ``to`` (a path on this server, or an absolute URL)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        return self.add_handler(path, handler)

    def add_redirect_chain(self, prefix: str, hops: int, final: str, *, status: int = 302) -> str:
        """``hops`` redirects ``prefix/0 -> prefix/1 -> ... -> final``; returns the first path."""
        for i in range(hops):
            nxt = f"{prefix}/{i + 1}" if i + 1 < hops else final
            self.add_redirect(f"{prefix}/{i}", nxt, status=status)
        return f"{prefix}/0" if hops else final

    def add_redirect_loop(self, a: str, b: str) -> str:
        self.add_redirect(a, b)
        self.add_redirect(b, a)
        return a

    def add_status(
        self,
        path: str,
        status: int,
        *,
        retry_after: str | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> str:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, body=body, headers=extra)

        return self.add_handler(path, handler)

    def add_drip(self, path: str, *, interval_s: float = 2.0, total: int = 1000) -> str:
        """Announce ``total`` bytes and send them one every ``interval_s`` seconds: every read
        finishes quickly, only a total deadline cuts it."""

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            resp.content_length = total
            await resp.prepare(request)
            try:
                for _ in range(total):
                    await resp.write(b" ")
                    await asyncio.sleep(interval_s)
            except ConnectionError:
                pass  # the client gave up, as it should
            return resp

        return self.add_handler(path, handler)

    def add_gzip_bomb(self, path: str, *, expanded: int = 2**30) -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            body = gzip_bomb(expanded)
            resp = web.StreamResponse(
                headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
            )
            resp.content_length = len(body)
            await resp.prepare(request)
            try:
                for i in range(0, len(body), 64 * 1024):
                    await resp.write(body[i : i + 64 * 1024])
            except ConnectionError:
                pass
            return resp

        return self.add_handler(path, handler)

    def add_huge_length(self, path: str, *, length: int = 10**12) -> str:
        """Announce ``length`` bytes, then send small chunks until the client hangs up."""

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            resp.content_length = length
            await resp.prepare(request)
            try:
                for _ in range(100):
                    await resp.write(b"<" * 1024)
                    await asyncio.sleep(0.05)
            except ConnectionError:
                pass
            return resp

        return self.add_handler(path, handler)

    def add_slow(self, path: str, body: bytes = b"<rss/>", *, delay_s: float = 0.2) -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            await asyncio.sleep(delay_s)
            return web.Response(body=body, content_type="application/rss+xml")

        return self.add_handler(path, handler)


@pytest_asyncio.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A started FeedServer, stopped after the test."""
    async with FeedServer() as server:
        yield server
