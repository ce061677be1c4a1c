"""Source commands: /feeds (list, add, remove)."""

from __future__ import annotations

import asyncio

from bot.commands.base import CoreBase, Ctx, Reply, ReplyItem, check_url, refused
from bot.errors import BlockedURL, CommandError, FetchError, ParseError
from bot.feeds.parse import normalize_lang, parse_feed
from bot.models import Feed


class SourceCommands(CoreBase):
    async def _feeds(self, ctx: Ctx, args: list[str]) -> Reply:
        if not args:
            feeds = await self.store.list_feeds()
            if not feeds:
                return Reply(text=self._t("feeds_none", ctx.lang), lang=ctx.lang)
            items = [
                ReplyItem(title=f.title or f.url, url=f.url, detail=self._feed_state(f, ctx.lang))
                for f in feeds
            ]
            return Reply(
                text=self._t("feeds_header", ctx.lang, count=len(feeds)),
                lang=ctx.lang,
                items=items,
            )
        action = args[0].lower()
        if action not in ("add", "tambah", "remove", "rm", "hapus", "delete"):
            raise CommandError("usage_feeds")
        self._require_admin(ctx)
        if not self.feeds_writable:
            raise CommandError("feeds_readonly")
        if len(args) != 2:
            raise CommandError("usage_feeds")
        url = check_url(args[1], "feeds add https://example.com/rss")
        if action in ("add", "tambah"):
            return await self._feed_add(ctx, url)
        if not await self.store.remove_feed(url):
            raise CommandError("feed_not_found", url=url)
        return Reply(text=self._t("feed_removed", ctx.lang, url=url), lang=ctx.lang)

    async def _feed_add(self, ctx: Ctx, url: str) -> Reply:
        if await self.store.get_feed(url) is not None:
            raise CommandError("feed_exists", url=url)
        # A URL typed in chat is untrusted: prove it is a public, reachable feed before polling.
        try:
            async with self._fetcher_factory() as fetcher:
                result = await fetcher.fetch(url)
        except BlockedURL as e:
            raise refused(url, e) from e
        except FetchError as e:
            raise CommandError("feed_unreachable", url=url, error=str(e)[:200]) from e
        if not result.body:
            raise CommandError("feed_unreachable", url=url, error=f"HTTP {result.status}")
        try:
            parsed = await asyncio.to_thread(
                parse_feed, result.body, url=result.final_url, headers=result.headers
            )
        except ParseError as e:
            raise CommandError("feed_not_a_feed", str(e), url=url) from e
        feed = await self.store.add_feed(
            Feed(url=url, title=parsed.title or None, lang=normalize_lang(parsed.lang))
        )
        title = feed.title or feed.url
        return Reply(text=self._t("feed_added", ctx.lang, title=title), lang=ctx.lang)
