"""Bounded HTTP fetching of feeds and pages.

Why fetch by hand instead of letting feedparser or aiohttp do everything (DESIGN.md "Untrusted
input"): feedparser's own fetching has no timeout; aiohttp's timeouts are per read, so a server
that drips one byte every few seconds never trips them; nothing caps the *decompressed* size;
and redirects must be re-checked hop by hop for user-supplied URLs. So:

* one shared ``aiohttp.ClientSession`` (connection reuse, bounded pool per host and overall);
* a total deadline per fetch over connect, headers, every redirect and the whole body;
* redirects followed by hand, each hop checked by :mod:`bot.feeds.netguard` (scheme, host
  spelling, and for user URLs every resolved address and the address actually connected to);
* the body streamed with a cap on decompressed bytes (aiohttp >= 3.13 inflates in bounded
  steps, so a gzip bomb costs at most one step of memory past the cap);
* conditional GET (ETag / Last-Modified) so an unchanged feed costs one small 304;
* every aiohttp/OS error mapped to :mod:`bot.errors`, never leaked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self, TypeGuard
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy
from yarl import URL

from bot.errors import (
    BlockedURL,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooLarge,
    TooManyRedirects,
)
from bot.feeds import netguard
from bot.models import FetchResult

DEFAULT_USER_AGENT = "Warta/0.1 (+https://github.com/warta-bot/warta; news digest bot)"
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
# Only encodings the standard library inflates; brotli/zstd would need optional packages and a
# server may not send what was not offered.
ACCEPT_ENCODING = "gzip, deflate"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_SIZE = 64 * 1024
MAX_URL_LENGTH = 8192


def redact_url(url: str | URL) -> str:
    """A URL safe for logs and user-visible errors: no credentials, query or fragment
    (feed URLs often carry tokens in the query string)."""
    try:
        u = URL(url) if isinstance(url, str) else url
        if not u.absolute:
            return "<relative URL>"
        return str(u.with_user(None).with_password(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "<invalid URL>"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # HTTP-dates are GMT by definition
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` seconds from a Cache-Control header, or None (also for no-store/no-cache)."""
    if not cache_control:
        return None
    max_age: float | None = None
    for directive in cache_control.split(","):
        name, _, arg = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return None
        if name == "max-age":
            try:
                max_age = max(0.0, float(arg.strip().strip('"')))
            except ValueError:
                return None
    return max_age


def _lower_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


def _refused_at_connect(e: BaseException) -> TypeGuard[aiohttp.ClientConnectorError]:
    """Whether ``e`` is the connector reporting that netguard's socket factory refused the
    address (alone, or as one of several attempts that aiohappyeyeballs folds into one
    OSError whose message lists them)."""
    if not isinstance(e, aiohttp.ClientConnectorError):
        return False
    cause = e.os_error
    return isinstance(cause, netguard.RefusedAddress) or "at connect time" in str(cause)


def _describe(e: BaseException) -> str:
    """A short message for an aiohttp/OS error, free of URLs with queries or credentials."""
    if isinstance(e, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {e.host}"
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate problem with {e.host}"
    if isinstance(e, aiohttp.ClientSSLError):
        return f"TLS error with {e.host}"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"cannot connect to {e.host}:{e.port} ({e.os_error.strerror or e.os_error})"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(e, aiohttp.ClientPayloadError):
        return "broken or badly encoded response body"
    if isinstance(e, aiohttp.ClientResponseError):
        return f"bad HTTP response ({e.status} {e.message})"
    if isinstance(e, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(e, OSError):
        return f"network error ({e.strerror or type(e).__name__})"
    return f"HTTP client error ({type(e).__name__})"


def _host_key(url: str) -> str:
    """The host a fetch of ``url`` holds a per-host slot of: as spelled in the URL, lowered
    (no IDNA decoding: yarl's ``URL.host`` decodes punycode, ~10 us a fetch, and the slot key
    only has to group one host's URLs together)."""
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


@dataclass(slots=True)
class _HostSlots:
    sem: asyncio.Semaphore
    users: int = 0


class Fetcher:
    """Fetches URLs over one shared, bounded ``aiohttp.ClientSession``.

    Use as ``async with Fetcher(...) as f: await f.fetch(url)``. Safe to call ``fetch``
    concurrently from many tasks; the connector bounds sockets overall (``concurrency``) and per
    host (``per_host``); extra calls wait for a free slot, and their deadline starts only once
    they have one, so gathering thousands of fetches at once is fine.

    ``allow_private=False`` is for user-supplied URLs: private, loopback, link-local and reserved
    addresses are refused on every hop, after DNS resolution and again at connect time; a name
    that does not resolve is refused the same way. ``allow_loopback=True`` re-allows
    127.0.0.0/8 and ::1 only (tests, local demos). ``resolver`` replaces the DNS lookup (the
    guard still judges what it returns); it is closed with the fetcher.
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout_s: float = 20.0,
        max_bytes: int = 8 * 2**20,
        max_redirects: int = 5,
        concurrency: int = 50,
        per_host: int = 4,
        allow_private: bool = True,
        allow_loopback: bool = False,
        accept: str = DEFAULT_ACCEPT,
        resolver: AbstractResolver | None = None,
    ) -> None:
        if timeout_s <= 0 or max_bytes <= 0 or max_redirects < 0 or concurrency <= 0:
            raise ValueError("timeout_s, max_bytes and concurrency must be > 0, max_redirects >= 0")
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.concurrency = concurrency
        self.per_host = per_host
        self.allow_private = allow_private
        self.allow_loopback = allow_loopback
        self.accept = accept
        self._session: aiohttp.ClientSession | None = None
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, _HostSlots] = {}
        self._lookup = resolver
        self._resolver: AbstractResolver | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Open the session (needs a running event loop). Idempotent."""
        if self._session is not None:
            return
        self._resolver = (
            self._lookup
            if self.allow_private
            else netguard.GuardedResolver(allow_loopback=self.allow_loopback, inner=self._lookup)
        )
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            limit_per_host=self.per_host,
            ttl_dns_cache=300,
            resolver=self._resolver,
            socket_factory=(
                None
                if self.allow_private
                else netguard.guarded_socket_factory(allow_loopback=self.allow_loopback)
            ),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Feeds have no business setting cookies, and a jar shared by all feeds would leak
            # one site's cookies into requests that a redirect sends elsewhere.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            # The real bound is the asyncio.timeout in fetch(); aiohttp's per-phase timeouts
            # would only add a second, differently-typed failure for the same thing.
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,
            headers={
                "User-Agent": self.user_agent,
                "Accept": self.accept,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        if self._resolver is not None:
            # A resolver passed in is not owned (nor closed) by the connector.
            resolver, self._resolver = self._resolver, None
            await resolver.close()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given).

        ``max_bytes`` lowers this fetch's body cap below the fetcher's (a caller sharing a byte
        budget between fetches, like /summary, passes what it reserved).

        Returns a FetchResult with ``status`` 2xx and the body, or 304 with ``body=None``.
        Raises BlockedURL, TooManyRedirects, TooLarge, FetchTimeout, HTTPStatusError (4xx/5xx,
        with ``retry_after``), or FetchError for any other network problem; each carries ``url``.
        """
        if self._session is None:
            raise RuntimeError("Fetcher is not started: use 'async with Fetcher() as f'")
        start = 0.0
        try:
            # Wait for a slot *before* the deadline starts: a caller may gather thousands of
            # fetches at once, and time spent queued behind other feeds is not this server's
            # fault. The connector's limits still hold for redirect hops to other hosts.
            async with self._slot(_host_key(url)), asyncio.timeout(self.timeout_s):
                start = time.monotonic()
                cap = self.max_bytes if max_bytes is None else min(max_bytes, self.max_bytes)
                result = await self._fetch(self._session, url, etag, last_modified, cap)
        except TimeoutError as e:
            raise FetchTimeout(f"no complete response within {self.timeout_s:g} s", url=url) from e
        except FetchError as e:
            if e.url is None:
                e.url = url
            raise
        result.elapsed = time.monotonic() - start
        return result

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of ``per_host`` slots for ``host`` and one of ``concurrency`` overall.

        The host slot is taken first so that feeds queued behind a busy host do not hold
        global slots that feeds on other hosts could use.
        """
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = _HostSlots(asyncio.Semaphore(max(1, self.per_host)))
        entry.users += 1
        try:
            async with entry.sem, self._global:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._hosts[host]  # keep the table as small as the set of busy hosts

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        url: str,
        etag: str | None,
        last_modified: str | None,
        cap: int,
    ) -> FetchResult:
        if len(url) > MAX_URL_LENGTH:
            raise BlockedURL("URL too long")
        try:
            current = URL(url.strip())
        except (ValueError, TypeError) as e:
            raise BlockedURL("not a valid URL") from e
        if not current.absolute:
            raise BlockedURL("not an absolute URL")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: set[URL] = set()
        for hop in range(self.max_redirects + 1):
            netguard.check_url(
                current, allow_private=self.allow_private, allow_loopback=self.allow_loopback
            )
            seen.add(current)
            try:
                async with session.get(current, headers=headers, allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in REDIRECT_STATUSES and location:
                        try:
                            target = current.join(URL(location))
                        except (ValueError, TypeError) as e:
                            raise FetchError("redirect to an invalid URL") from e
                        if hop == self.max_redirects:
                            raise TooManyRedirects(
                                f"more than {self.max_redirects} redirects "
                                f"(last to {redact_url(target)})"
                            )
                        if target in seen:
                            raise TooManyRedirects(f"redirect loop at {redact_url(target)}")
                        current = target
                        continue
                    return await self._result(resp, url, current, etag, last_modified, cap)
            except (FetchError, TimeoutError):
                raise  # TimeoutError is an OSError: keep it for the deadline handler
            except (aiohttp.ClientError, OSError) as e:
                if _refused_at_connect(e):
                    raise BlockedURL(str(e.os_error)) from e
                raise FetchError(_describe(e)) from e
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _result(
        self,
        resp: aiohttp.ClientResponse,
        url: str,
        final: URL,
        etag: str | None,
        last_modified: str | None,
        cap: int,
    ) -> FetchResult:
        headers = _lower_headers(resp.headers)
        status = resp.status
        if status == 304:
            return FetchResult(
                url=url,
                final_url=str(final),
                status=304,
                body=None,
                etag=headers.get("etag") or etag,
                last_modified=headers.get("last-modified") or last_modified,
                content_type=headers.get("content-type"),
                retry_after=parse_max_age(headers.get("cache-control")),
                headers=headers,
            )
        if status >= 300:
            reason = resp.reason or ""
            raise HTTPStatusError(
                f"HTTP {status} {reason}".strip(),
                status=status,
                retry_after=parse_retry_after(headers.get("retry-after")),
            )
        length = resp.content_length
        if length is not None and length > cap:
            raise TooLarge(f"Content-Length {length} exceeds the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        # The cap counts decompressed bytes: aiohttp inflates as we read, in bounded steps.
        async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"body exceeds the {cap}-byte cap (decompressed)")
            chunks.append(chunk)
        return FetchResult(
            url=url,
            final_url=str(final),
            status=status,
            body=b"".join(chunks),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            content_type=headers.get("content-type"),
            retry_after=parse_max_age(headers.get("cache-control")),
            headers=headers,
        )
