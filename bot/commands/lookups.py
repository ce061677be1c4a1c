"""Lookups: /digest, /latest, /search, /story, /summary."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.analyze import story_lang
from bot.commands.base import (
    DIGEST_HOURS,
    MAX_ARTICLE_CHARS,
    MAX_LATEST,
    MAX_QUERY_CHARS,
    SEARCH_LIMIT,
    STORY_ID_RE,
    CoreBase,
    Ctx,
    Reply,
    ReplyItem,
    check_url,
    parse_int,
    parse_lang,
    refused,
)
from bot.digest import BulletCache, compose_digest
from bot.errors import BlockedURL, CommandError, FetchError, FetchTimeout, HTTPStatusError, TooLarge
from bot.lang.reasons import reasons_text
from bot.lang.strings import norm_lang

# trafilatura's time and memory grow faster than linearly with the page (measured: an 8 MB
# page took 5 s and 44 MB; pages full of small blocks take minutes), so it only ever sees this
# much HTML. Article text sits well inside it once scripts, styles and inline SVG are gone.
MAX_EXTRACT_CHARS = 2**20
# Elements that hold no article text but often most of a heavy page's bytes; images inlined as
# data: URIs are megabytes of attribute that lxml would otherwise copy around for seconds.
_NOT_TEXT = (
    "script,style,noscript,template,svg,math,iframe,object,embed,"
    'img[src^="data:"],source[srcset^="data:"]'
)


def _trim_page(body: bytes) -> bytes | str:
    """The page as trafilatura should see it: small pages as they are; large ones without
    their non-text elements (lexbor, linear and fast) and cut to MAX_EXTRACT_CHARS."""
    if len(body) <= MAX_EXTRACT_CHARS:
        return body
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(body)
    for node in tree.css(_NOT_TEXT):
        node.decompose()
    html = tree.html or ""
    return html[:MAX_EXTRACT_CHARS]


def _extract_article(body: bytes) -> tuple[str, str]:
    """(title, text) of a web page with trafilatura; ("", "") when it finds no article.
    CPU-bound: callers run it in a thread."""
    # Imported on first use: trafilatura pulls in lxml, justext and more (~0.5 s), which the
    # poll loop and the CLI commands never need.
    import trafilatura

    out = trafilatura.extract(
        _trim_page(body),
        include_comments=False,
        output_format="json",
        with_metadata=True,
    )
    if not out:
        return "", ""
    data = json.loads(out)
    return str(data.get("title") or ""), str(data.get("text") or "")


class LookupCommands(CoreBase):
    async def _digest(self, ctx: Ctx, args: list[str]) -> Reply:
        sub = await self.store.get_subscription(ctx.inv.channel)
        lang = norm_lang(sub.lang) if sub else ctx.lang
        if args and parse_lang(args[0]):
            lang = parse_lang(args[0]) or lang
        compose = self._compose or compose_digest
        digest = await compose(
            self.store,
            lang=lang,
            start=ctx.now - timedelta(hours=DIGEST_HOURS),
            end=ctx.now,
            tz=sub.tz if sub else self.default_tz,
            keywords=sub.keywords if sub else (),
            max_stories=sub.max_stories if sub else 10,
            feeds=await self.store.chat_source_urls(ctx.inv.channel),
        )
        return Reply(text=self._t("digest_now", lang, hours=DIGEST_HOURS), lang=lang, digest=digest)

    async def _latest(self, ctx: Ctx, args: list[str]) -> Reply:
        n = parse_int(args[0], 1, MAX_LATEST, "/latest 5") if args else 5
        sources = await self.store.chat_source_urls(ctx.inv.channel)
        stories = await self.store.latest(n, relevant_only=True, feeds=sources)
        if not stories:
            return Reply(text=self._t("latest_none", ctx.lang), lang=ctx.lang)
        return Reply(
            text=self._t("latest_header", ctx.lang, count=len(stories)),
            lang=ctx.lang,
            items=[self._story_item(s, ctx.lang) for s in stories],
        )

    async def _search(self, ctx: Ctx, args: list[str]) -> Reply:
        query = " ".join(args).strip()[:MAX_QUERY_CHARS]
        if not query:
            raise CommandError("usage_search")
        sources = await self.store.chat_source_urls(ctx.inv.channel)
        stories = await self.store.search(query, limit=SEARCH_LIMIT, feeds=sources)
        if not stories:
            return Reply(text=self._t("search_none", ctx.lang, query=query), lang=ctx.lang)
        return Reply(
            text=self._t("search_header", ctx.lang, query=query),
            lang=ctx.lang,
            items=[self._story_item(s, ctx.lang) for s in stories],
        )

    async def _story(self, ctx: Ctx, args: list[str]) -> Reply:
        if not args:
            raise CommandError("usage_story")
        m = STORY_ID_RE.match(args[0])
        if m is None:
            raise CommandError("bad_story_id", value=args[0][:30])
        story = await self.store.get_story(int(m[1]))
        if story is None:
            raise CommandError("story_not_found", id=m[1])
        if story.bullets:
            headline, bullets = story.title, story.bullets
        else:
            # Stored without bullets (ingest summarizes only stories that can reach a chat):
            # summarize now, and keep them when they are the story's own (not a translation).
            summary = await self._summarize(
                story.title, story.text, story.lang, ctx.lang, chat=ctx.inv.channel
            )
            headline, bullets = summary.headline or story.title, summary.bullets
            own = summary.lang == story.lang and not summary.translated
            if own and bullets and story.id is not None and isinstance(self.store, BulletCache):
                await self.store.save_bullets({story.id: bullets})
        item = self._story_item(story, ctx.lang)
        lines = [headline, *(f"• {b}" for b in bullets), item.detail or story.source]
        terms = reasons_text(story.matched, ctx.lang)
        if terms:
            lines.append(self._t("story_why", ctx.lang, terms=terms))
        return Reply(text="\n".join(lines), lang=ctx.lang, items=[item])

    async def _summary(self, ctx: Ctx, args: list[str]) -> Reply:
        if not args:
            raise CommandError("usage_summary")
        url = check_url(args[0], "/summary https://example.com/news")
        # The gate bounds pages in flight and the bytes they hold across every chat; the
        # reservation lasts until the page is reduced to its text, since extraction is where
        # a big page costs the most memory.
        async with self.fetch_gate.reserve(self.fetch_max_bytes) as allowed:
            title, text, final_url = await self._fetch_article(url, allowed)
        text = text[:MAX_ARTICLE_CHARS]
        if len(text.split()) < 20:
            raise CommandError("summary_no_text")
        story_lang_ = await asyncio.to_thread(story_lang, title, text)
        summary = await self._summarize(title, text, story_lang_, ctx.lang, chat=ctx.inv.channel)
        topic = await asyncio.to_thread(self._scorer.score, title, text, story_lang_)
        lines = [summary.headline or title or url, *(f"• {b}" for b in summary.bullets)]
        if topic.relevant:
            terms = reasons_text(topic.matched, ctx.lang)
            lines.append(self._t("summary_relevant", ctx.lang, terms=terms))
        else:
            lines.append(self._t("summary_not_relevant", ctx.lang))
        return Reply(
            text="\n".join(lines),
            lang=ctx.lang,
            items=[ReplyItem(title=title or url, url=final_url or url)],
        )

    async def _fetch_article(self, url: str, max_bytes: int) -> tuple[str, str, str | None]:
        """(title, text, final URL) of the page at ``url``, read with at most ``max_bytes``."""
        try:
            async with self._fetcher_factory() as fetcher:
                result = await fetcher.fetch(url, max_bytes=max_bytes)
        except BlockedURL as e:
            raise refused(url, e) from e
        except TooLarge as e:
            if max_bytes < self.fetch_max_bytes:
                # Only the shared budget was short (other pages in flight): may fit later.
                raise CommandError("summary_busy", str(e)) from e
            raise CommandError("summary_too_large", str(e)) from e
        except FetchTimeout as e:
            raise CommandError("summary_timeout", str(e)) from e
        except HTTPStatusError as e:
            raise CommandError("summary_http", str(e), status=e.status) from e
        except FetchError as e:
            raise CommandError("summary_fetch_failed", str(e)) from e
        if not result.body:
            raise CommandError("summary_fetch_failed", f"HTTP {result.status} without a body")
        title, text = await asyncio.to_thread(_extract_article, result.body)
        return title, text, result.final_url
