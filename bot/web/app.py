"""The aiohttp application: routes, security headers, caching, health and metrics.

Every response carries a strict Content-Security-Policy (no script at all, styles only from our
own stylesheet); every 200 carries an ETag derived from its bytes, so a reader or proxy that
sends it back in If-None-Match gets a bodiless 304. The site reads the store through
:class:`~bot.web.archive.Archive` (public sources only) and never touches a chat adapter.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from importlib import resources
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST

from bot import metrics
from bot.errors import StoreError
from bot.lang.strings import norm_lang
from bot.models import Delivery, DeliveryState
from bot.web import charts
from bot.web.archive import (
    SEARCH_MAX_CHARS,
    Archive,
    WeeklyCounts,
    bound_query,
)
from bot.web.pages import Pages
from bot.web.strings import t
from bot.web.syndication import atom, build_items, json_feed

log = logging.getLogger(__name__)

LANGS = ("id", "en")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The SVG charts are images: a browser runs no script in an <img>, and their styles are
# matplotlib's inline ones, which the page policy (no inline styles) would strip if the file
# were opened on its own.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
PAGE_CACHE = "public, max-age=60"
ARCHIVE_CACHE = "public, max-age=3600"
FEED_CACHE = "public, max-age=300"
NO_STORE = "no-store"
INDEX_DIGESTS = 3  # full digests on the front page; older days are links
FEED_DAYS = 14
STATS_WEEKS = 12
SEARCH_PER_PAGE = 10
SEARCH_MAX_PAGE = 10
COUNTS_TTL_S = 60.0
FEED_TTL_S = 60.0
FIRST_DAY = date(2000, 1, 1)


class OpsStore(Protocol):
    """What /readyz and /metrics read; both raise StoreError when the database fails."""

    async def get_meta(self, key: str) -> str | None: ...

    async def list_deliveries(self, state: DeliveryState | None = None) -> list[Delivery]: ...


def pick_lang(accept_language: str | None, default: str) -> str:
    """The best of id/en for an Accept-Language header (q-values honoured; Malay reads id)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        base = tag.split("-")[0].lower()
        if q <= 0 or base not in ("id", "in", "ms", "en"):
            continue
        lang = norm_lang("id" if base == "in" else base)  # "in" is the old code for Indonesian
        if best is None or (q, -position) > (best[0], best[1]):
            best = (q, -position, lang)
    return best[2] if best else default


class Site:
    def __init__(
        self,
        archive: Archive,
        *,
        store: OpsStore,
        base_url: str | None = None,
        default_lang: str = "id",
    ) -> None:
        self.archive = archive
        self.store = store
        self.base_url = base_url.rstrip("/") if base_url else None
        self.default_lang = default_lang
        self.pages = Pages(tz=archive.tz)
        self.css = resources.files("bot.web").joinpath("static/style.css").read_bytes()
        self.static_url = f"/static/style.css?v={hashlib.sha256(self.css).hexdigest()[:12]}"
        self._counts: tuple[float, WeeklyCounts] | None = None
        self._feeds: dict[tuple[str, str, str], tuple[float, bytes]] = {}
        self._days: dict[int, tuple[float, list[date]]] = {}

    # ------------------------------------------------------------------ helpers

    def base(self, request: web.Request) -> str:
        # Behind a proxy the Host header is what the proxy sends: set web_base_url there.
        return self.base_url or f"{request.scheme}://{request.host}"

    def lang_of(self, request: web.Request) -> str:
        lang = request.match_info.get("lang")
        if lang in LANGS:
            return lang
        return pick_lang(request.headers.get("Accept-Language"), self.default_lang)

    def html(
        self,
        request: web.Request,
        template: str,
        *,
        status: int = 200,
        cache: str = PAGE_CACHE,
        **context: object,
    ) -> web.Response:
        lang = self.lang_of(request)
        other = "en" if lang == "id" else "id"
        text = self.pages.render(
            template,
            lang=lang,
            other_lang=other,
            other_lang_url=_other_lang_url(request, lang, other),
            static_url=self.static_url,
            search_max=SEARCH_MAX_CHARS,
            canonical=context.pop("canonical", None),
            query=context.pop("query", None),
            **context,
        )
        response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
        response.headers["Cache-Control"] = cache
        response.headers["Content-Language"] = lang
        if "lang" not in request.match_info:
            response.headers["Vary"] = "Accept-Language"
        return response

    def error(self, request: web.Request, status: int, message: str | None = None) -> web.Response:
        lang = self.lang_of(request)
        heading = t("not_found_title" if status == 404 else "bad_request_title", lang)
        return self.html(
            request,
            "error.html",
            status=status,
            cache=PAGE_CACHE,
            heading=heading,
            message=message or t("not_found", lang),
        )

    async def recent_days(self, days: int) -> list[date]:
        """Days with stories, kept for a minute: the front page and the feeds ask on every
        request, and a new day only appears with a poll."""
        now = time.monotonic()
        cached = self._days.get(days)
        if cached is not None and now - cached[0] < COUNTS_TTL_S:
            return cached[1]
        found = await self.archive.recent_days(days=days)
        self._days[days] = (now, found)
        return found

    async def counts(self) -> WeeklyCounts:
        now = time.monotonic()
        if self._counts is not None and now - self._counts[0] < COUNTS_TTL_S:
            return self._counts[1]
        counts = await self.archive.weekly_counts(weeks=STATS_WEEKS)
        self._counts = (now, counts)
        return counts

    # ------------------------------------------------------------------ pages

    async def index(self, request: web.Request) -> web.Response:
        lang = self.lang_of(request)
        days = await self.recent_days(30)
        digests = [(d, await self.archive.digest(lang, d)) for d in days[:INDEX_DIGESTS]]
        return self.html(
            request, "index.html", digests=digests, older=days[INDEX_DIGESTS:], canonical=None
        )

    async def lang_root(self, request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(f"/{request.match_info['lang']}/")

    async def digest(self, request: web.Request) -> web.Response:
        lang = request.match_info["lang"]
        try:
            day = date.fromisoformat(request.match_info["day"])
        except ValueError:
            return self.error(request, 404)
        today = self.archive.today()
        if day > today or day < FIRST_DAY:
            return self.error(request, 404)
        digest = await self.archive.digest(lang, day)
        return self.html(
            request,
            "digest.html",
            cache=PAGE_CACHE if day == today else ARCHIVE_CACHE,
            dg=digest,
            day=day,
            prev_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1) if day < today else None,
            canonical=f"{self.base(request)}/digest/{lang}/{day.isoformat()}",
        )

    async def story(self, request: web.Request) -> web.Response:
        try:
            story = await self.archive.story(int(request.match_info["id"]))
        except (ValueError, OverflowError):
            story = None
        if story is None:
            return self.error(request, 404)
        bullets = story.bullets
        if not bullets:
            from bot.summarize.extractive import summarize_text

            summary = await asyncio.to_thread(summarize_text, story.title, story.text, story.lang)
            bullets = summary.bullets
        when = story.published or story.fetched_at
        return self.html(
            request,
            "story.html",
            story=story,
            bullets=bullets,
            day=self.archive.local(when).date() if when else None,
        )

    async def search(self, request: web.Request) -> web.Response:
        lang = self.lang_of(request)
        raw = request.query.get("q", "")
        query = bound_query(raw)
        if query is None:
            return self.html(
                request,
                "search.html",
                status=400,
                query=raw[:SEARCH_MAX_CHARS],
                result=None,
                per_page=SEARCH_PER_PAGE,
                error=t("search_too_long", lang, max=SEARCH_MAX_CHARS),
            )
        try:
            page = min(max(int(request.query.get("page", "1")), 1), SEARCH_MAX_PAGE)
        except ValueError:
            page = 1
        result = (
            await self.archive.search(query, page=page, per_page=SEARCH_PER_PAGE) if query else None
        )
        return self.html(
            request,
            "search.html",
            query=query,
            result=result,
            per_page=SEARCH_PER_PAGE,
            error=None,
        )

    async def stats(self, request: web.Request) -> web.Response:
        lang = self.lang_of(request)
        counts = await self.counts()
        shown = []
        for kind in charts.CHART_KINDS:
            s = charts.series(counts, kind, lang)
            shown.append((kind, s, charts.alt_text(s, lang, STATS_WEEKS)))
        return self.html(
            request,
            "stats.html",
            charts=shown,
            weeks=STATS_WEEKS,
            version=counts.fingerprint(),
        )

    async def chart_svg(self, request: web.Request) -> web.Response:
        lang, kind = request.match_info["lang"], request.match_info["kind"]
        if kind not in charts.CHART_KINDS:
            return self.error(request, 404)
        counts = await self.counts()
        body = await charts.render([charts.series(counts, kind, lang)], "svg")
        response = web.Response(body=body, content_type="image/svg+xml")
        response.headers["Cache-Control"] = ARCHIVE_CACHE
        response.headers["Content-Security-Policy"] = SVG_CSP
        return response

    async def chart_png(self, request: web.Request) -> web.Response:
        lang = request.match_info["lang"]
        counts = await self.counts()
        body = await charts.render(
            [charts.series(counts, kind, lang) for kind in charts.CHART_KINDS], "png"
        )
        response = web.Response(body=body, content_type="image/png")
        response.headers["Cache-Control"] = ARCHIVE_CACHE
        return response

    async def feed(self, request: web.Request) -> web.Response:
        lang, fmt = request.match_info["lang"], request.match_info["fmt"]
        base = self.base(request)
        # Feed readers poll often and a feed reads two weeks of stories: one build per minute
        # serves them all (the response says max-age=300 anyway).
        key = (lang, fmt, base)
        cached = self._feeds.get(key)
        if cached is not None and time.monotonic() - cached[0] < FEED_TTL_S:
            body = cached[1]
        else:
            body = await self._build_feed(lang, fmt, base)
            if len(self._feeds) >= 16:  # without web_base_url, Host headers vary the key
                self._feeds.clear()
            self._feeds[key] = (time.monotonic(), body)
        response = web.Response(
            body=body,
            content_type="application/atom+xml" if fmt == "xml" else "application/feed+json",
            charset="utf-8",
        )
        response.headers["Cache-Control"] = FEED_CACHE
        return response

    async def _build_feed(self, lang: str, fmt: str, base: str) -> bytes:
        days = await self.recent_days(FEED_DAYS)
        digests = [(d, await self.archive.digest(lang, d)) for d in days]

        def render() -> bytes:
            items = build_items(
                self.pages,
                digests,
                lang=lang,
                base=base,
                start_of=lambda d: self.archive.day_window(d)[0],
            )
            if fmt == "xml":
                return atom(self.pages, items, lang=lang, base=base)
            return json_feed(items, lang=lang, base=base)

        # Two weeks of digests through the templates is tens of milliseconds: off the loop.
        return await asyncio.to_thread(render)

    async def stylesheet(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.css, content_type="text/css", charset="utf-8")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    # ------------------------------------------------------------------ operations

    async def healthz(self, request: web.Request) -> web.Response:
        response = web.json_response({"status": "ok"})
        response.headers["Cache-Control"] = NO_STORE
        return response

    async def readyz(self, request: web.Request) -> web.Response:
        checks: dict[str, object] = {}
        ok = True
        try:
            await self.store.get_meta("last_poll_at")
            checks["store"] = "ok"
        except StoreError as e:
            checks["store"] = f"unreachable: {type(e).__name__}"
            ok = False
        down = metrics.adapters_down()
        checks["adapters_down"] = down
        ok = ok and not down
        response = web.json_response(
            {"status": "ready" if ok else "not ready", **checks}, status=200 if ok else 503
        )
        response.headers["Cache-Control"] = NO_STORE
        return response

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            depth = 0
            for state in (DeliveryState.PENDING, DeliveryState.SENDING):
                depth += len(await self.store.list_deliveries(state))
            metrics.OUTBOX_DEPTH.set(depth)
        except StoreError:
            pass  # the gauge keeps its last value; /readyz reports the store
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        response.headers["Cache-Control"] = NO_STORE
        return response


def _other_lang_url(request: web.Request, lang: str, other: str) -> str:
    path = request.path
    for prefix in (f"/{lang}/", f"/digest/{lang}/"):
        if path.startswith(prefix):
            path = path.replace(f"/{lang}/", f"/{other}/", 1)
            break
    else:
        path = f"/{other}{path}" if path != "/" else f"/{other}/"
    return path + (f"?{request.query_string}" if request.query_string else "")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _make_middlewares(site: Site) -> list[Middleware]:
    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return site.error(request, 404)
        except web.HTTPException:
            raise
        except Exception:
            # Logged with the traceback here; the reader gets a plain page, no details.
            log.exception("web: %s %s failed", request.method, request.path)
            response = web.Response(status=500, text="500 Internal Server Error")
            response.headers["Cache-Control"] = NO_STORE
            return response

    @web.middleware
    async def security_and_etag(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if (
            request.method in ("GET", "HEAD")
            and response.status == 200
            and isinstance(response, web.Response)
            and isinstance(response.body, bytes)
            and headers.get("Cache-Control") != NO_STORE
        ):
            etag = hashlib.sha256(response.body).hexdigest()[:32]
            response.etag = etag
            if any(tag.value in (etag, "*") for tag in request.if_none_match or ()):
                not_modified = web.Response(status=304)
                for name in ("ETag", "Cache-Control", "Vary", "Content-Security-Policy"):
                    if name in headers:
                        not_modified.headers[name] = headers[name]
                return not_modified
        return response

    # The first is outermost: error pages get the security headers too.
    return [security_and_etag, errors]


def create_app(site: Site) -> web.Application:
    app = web.Application(middlewares=_make_middlewares(site), client_max_size=16 * 1024)
    lang = "{lang:id|en}"
    fmt = "{fmt:xml|json}"
    app.router.add_get("/", site.index)
    app.router.add_get(f"/{lang}", site.lang_root)
    app.router.add_get(f"/{lang}/", site.index)
    app.router.add_get(f"/digest/{lang}/{{day}}", site.digest)
    app.router.add_get("/story/{id:[0-9]{1,12}}", site.story)
    app.router.add_get(f"/{lang}/story/{{id:[0-9]{{1,12}}}}", site.story)
    app.router.add_get("/search", site.search)
    app.router.add_get(f"/{lang}/search", site.search)
    app.router.add_get("/stats", site.stats)
    app.router.add_get(f"/{lang}/stats", site.stats)
    app.router.add_get(f"/stats/{lang}/{{kind}}.svg", site.chart_svg)
    app.router.add_get(f"/stats/{lang}.png", site.chart_png)
    app.router.add_get(f"/feed/{lang}.{fmt}", site.feed)
    app.router.add_get("/static/style.css", site.stylesheet)
    app.router.add_get("/healthz", site.healthz)
    app.router.add_get("/readyz", site.readyz)
    app.router.add_get("/metrics", site.metrics)
    return app
