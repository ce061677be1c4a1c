"""Source commands: /feeds — this chat's sources, the operators' defaults, OPML in and out.

A chat's source set is the instance's default feeds it did not switch off plus the feeds its
admins added (see :meth:`bot.store.base.Store.chat_sources`). ``/feeds add|remove`` changes the
invoking chat only; ``/feeds default …`` changes the defaults and is for operators only. A feed
URL may carry secrets (a paid feed's token), so non-operators see sources as title and host.
"""

from __future__ import annotations

import asyncio
import re

from bot.commands.base import CoreBase, Ctx, Reply, ReplyFile, ReplyItem, check_url, refused
from bot.errors import (
    BlockedURL,
    CommandError,
    ConfigError,
    FetchError,
    ParseError,
    PermissionDenied,
    TooLarge,
)
from bot.feeds.opml import parse_opml, to_opml
from bot.feeds.parse import declares_entities, normalize_lang, parse_feed
from bot.models import Feed
from bot.redact import display_source, redact_text

# An OPML file of a few hundred feeds is ~50 KB; anything far larger is not a feed list.
OPML_MAX_BYTES = 256 * 1024
# Each entry is fetched to prove it is a feed: bound the work one command can cause.
IMPORT_MAX_ENTRIES = 100
OPML_MIME = "text/x-opml"

_ADD = frozenset({"add", "tambah"})
_REMOVE = frozenset({"remove", "rm", "hapus", "delete"})
_DEFAULT = frozenset({"default", "bawaan"})
_EXPORT = frozenset({"export", "ekspor"})
_IMPORT = frozenset({"import", "impor"})
_FEED_ID = re.compile(r"^#(\d{1,12})$")


def has_secret_parts(url: str) -> bool:
    """Userinfo, a query string or a fragment: where feed URLs carry tokens."""
    head = url.split("://", 1)[-1].split("/", 1)[0]
    return "@" in head or "?" in url or "#" in url


class SourceCommands(CoreBase):
    async def _feeds(self, ctx: Ctx, args: list[str]) -> Reply:
        if not args or args[0].lower() == "list":
            return await self._feeds_list(ctx)
        action, rest = args[0].lower(), args[1:]
        if action in _DEFAULT:
            return await self._feeds_default(ctx, rest)
        if action in _EXPORT:
            return await self._feeds_export(ctx, rest)
        if action in _IMPORT:
            self._require_admin(ctx)
            return await self._feeds_import(ctx)
        if action not in _ADD | _REMOVE:
            raise CommandError("usage_feeds")
        self._require_admin(ctx)
        if len(rest) != 1:
            raise CommandError("usage_feeds")
        if action in _ADD:
            url = check_url(rest[0], "feeds add https://example.com/rss")
            status, title = await self._add_to_chat(ctx, url)
            key = {"restored": "feed_restored", "added": "feed_added"}[status]
            return Reply(text=self._t(key, ctx.lang, title=title), lang=ctx.lang)
        return await self._remove_from_chat(ctx, rest[0])

    # ------------------------------------------------------------------ this chat

    async def _feeds_list(self, ctx: Ctx) -> Reply:
        sources = await self.store.chat_sources(ctx.inv.channel)
        if not sources:
            return Reply(text=self._t("feeds_none", ctx.lang), lang=ctx.lang)
        items = []
        for source in sources:
            origin = self._t(
                "feed_origin_added" if source.added else "feed_origin_default", ctx.lang
            )
            items.append(self._source_item(ctx, source.feed, origin))
        return Reply(
            text=self._t("feeds_chat_header", ctx.lang, count=len(sources)),
            lang=ctx.lang,
            items=items,
        )

    def _source_item(self, ctx: Ctx, feed: Feed, origin: str | None = None) -> ReplyItem:
        state = self._feed_state(feed, ctx.lang)
        parts = [origin, state] if origin else [state]
        if ctx.inv.is_operator:
            # Spelled out too: renderers turn ``url`` into a link behind the title.
            title, url = feed.title or feed.url, feed.url
            parts.insert(0, feed.url)
        else:
            # No URL at all: a rendered link would carry the query string.
            title, url = display_source(feed.url, feed.title), None
            parts = [redact_text(p) for p in parts]
        return ReplyItem(title=title, url=url, detail=" · ".join(parts))

    async def _add_to_chat(self, ctx: Ctx, url: str) -> tuple[str, str]:
        """Put ``url`` in the invoking chat's set: ("added" | "restored", shown name).
        Raises CommandError when it is already there, the chat is full, or it is no feed."""
        channel = ctx.inv.channel
        feed = await self.store.get_feed(url)
        if feed is None:
            # Check the cap before fetching: a full chat must not make Warta fetch anything.
            added = sum(s.added for s in await self.store.chat_sources(channel))
            if added >= self.chat_sources_max:
                raise CommandError("chat_sources_full", max=self.chat_sources_max)
            feed = await self.store.add_feed(await self._validated_feed(ctx, url, default=False))
        status = await self.store.add_chat_source(
            channel, url, by=ctx.inv.user_id, max_added=self.chat_sources_max
        )
        shown = self._show_source(ctx, url, feed.title)
        if status == "exists":
            raise CommandError("feed_exists", url=shown)
        if status == "full":
            raise CommandError("chat_sources_full", max=self.chat_sources_max)
        return status, shown

    async def _remove_from_chat(self, ctx: Ctx, arg: str) -> Reply:
        m = _FEED_ID.match(arg.strip())
        if m is not None:
            # An opaque id (Discord's autocomplete value): only this chat's sources resolve.
            wanted = int(m[1])
            sources = await self.store.chat_sources(ctx.inv.channel)
            found = next((s.feed for s in sources if s.feed.id == wanted), None)
            if found is None:
                raise CommandError("feed_not_found", url=arg.strip())
            url, title = found.url, found.title
        else:
            url = check_url(arg, "feeds remove https://example.com/rss")
            known = await self.store.get_feed(url)
            title = known.title if known else None
        shown = self._show_source(ctx, url, title)
        status = await self.store.remove_chat_source(ctx.inv.channel, url, by=ctx.inv.user_id)
        if status == "removed":
            return Reply(text=self._t("feed_removed", ctx.lang, url=shown), lang=ctx.lang)
        if status == "switched_off":
            return Reply(text=self._t("feed_switched_off", ctx.lang, title=shown), lang=ctx.lang)
        raise CommandError("feed_not_found", url=shown)

    async def _validated_feed(self, ctx: Ctx, url: str, *, default: bool) -> Feed:
        """Fetch ``url`` once and parse it: a URL typed in chat is untrusted, so it must be a
        public, reachable feed before anything polls it."""
        shown = self._show_source(ctx, url, None)
        try:
            async with self._fetcher_factory() as fetcher:
                result = await fetcher.fetch(url)
        except BlockedURL as e:
            raise refused(url, e) from e
        except FetchError as e:
            error = str(e) if ctx.inv.is_operator else redact_text(str(e))
            raise CommandError("feed_unreachable", url=shown, error=error[:200]) from e
        if not result.body:
            raise CommandError("feed_unreachable", url=shown, error=f"HTTP {result.status}")
        try:
            parsed = await asyncio.to_thread(
                parse_feed, result.body, url=result.final_url, headers=result.headers
            )
        except ParseError as e:
            raise CommandError("feed_not_a_feed", "not a feed", url=shown) from e
        return Feed(
            url=url,
            title=parsed.title or None,
            lang=normalize_lang(parsed.lang),
            is_default=default,
        )

    # ------------------------------------------------------------------ the operators' defaults

    def _require_operator(self, ctx: Ctx, action: str) -> None:
        if not ctx.inv.is_operator:
            message = f"/feeds {action} needs an operator"
            raise PermissionDenied("not_operator", message, action=action)

    async def _feeds_default(self, ctx: Ctx, args: list[str]) -> Reply:
        self._require_operator(ctx, "default")
        if not args:
            defaults = [f for f in await self.store.list_feeds() if f.is_default]
            return Reply(
                text=self._t("feeds_defaults_header", ctx.lang, count=len(defaults)),
                lang=ctx.lang,
                items=[self._source_item(ctx, f) for f in defaults],
            )
        action = args[0].lower()
        if action not in _ADD | _REMOVE or len(args) != 2:
            raise CommandError("usage_feeds")
        if not self.feeds_writable:
            raise CommandError("feeds_readonly")
        url = check_url(args[1], "feeds default add https://example.com/rss")
        known = await self.store.get_feed(url)
        if action in _ADD:
            if known is None:
                known = await self.store.add_feed(
                    await self._validated_feed(ctx, url, default=True)
                )
            else:
                await self.store.set_feed_default(url, True)
            title = self._show_source(ctx, url, known.title)
            return Reply(text=self._t("default_added", ctx.lang, title=title), lang=ctx.lang)
        if known is None or not known.is_default:
            raise CommandError("feed_not_found", url=url)
        await self.store.set_feed_default(url, False)
        title = self._show_source(ctx, url, known.title)
        return Reply(text=self._t("default_removed", ctx.lang, title=title), lang=ctx.lang)

    # ------------------------------------------------------------------ OPML

    async def _feeds_export(self, ctx: Ctx, args: list[str]) -> Reply:
        if args and args[0].lower() in _DEFAULT:
            self._require_operator(ctx, "export default")
            feeds = [f for f in await self.store.list_feeds() if f.is_default]
            key, name = "feeds_export_defaults", "warta-defaults.opml"
        else:
            feeds = [s.feed for s in await self.store.chat_sources(ctx.inv.channel)]
            key, name = "feeds_export", "warta-sources.opml"
        shown, hidden = feeds, []
        if not ctx.inv.is_operator:
            # Addresses with a token or credentials never leave as such: name and host only.
            shown = [f for f in feeds if not has_secret_parts(f.url)]
            hidden = [display_source(f.url, f.title) for f in feeds if has_secret_parts(f.url)]
        data = to_opml(shown, title="Warta", hidden=hidden)
        lines = [self._t(key, ctx.lang, count=len(feeds))]
        if hidden:
            lines.append(self._t("feeds_export_hidden", ctx.lang, hidden=len(hidden)))
        return Reply(
            text="\n".join(lines),
            lang=ctx.lang,
            file=ReplyFile(filename=name, data=data, mime=OPML_MIME),
        )

    async def _feeds_import(self, ctx: Ctx) -> Reply:
        attachment = ctx.inv.attachment
        if attachment is None:
            raise CommandError("import_need_file")
        if attachment.size is not None and attachment.size > OPML_MAX_BYTES:
            raise CommandError("import_too_large", max=OPML_MAX_BYTES // 1024)
        try:
            data = await attachment.read(OPML_MAX_BYTES)
        except TooLarge as e:
            raise CommandError("import_too_large", max=OPML_MAX_BYTES // 1024) from e
        except FetchError as e:
            raise CommandError("import_bad_file", error=redact_text(str(e))[:200]) from e
        # The same guard as for feeds: a DOCTYPE declaring entities is refused unread.
        if declares_entities(data):
            raise CommandError("import_bad_file", error="entity declarations are not allowed")
        try:
            specs = await asyncio.to_thread(parse_opml, data)
        except ConfigError as e:
            raise CommandError("import_bad_file", error=redact_text(str(e))[:200]) from e

        counts = {"added": 0, "existing": 0, "skipped": 0}
        items: list[ReplyItem] = []
        for spec in specs[:IMPORT_MAX_ENTRIES]:
            shown = self._show_source(ctx, spec.url, spec.title)
            try:
                url = check_url(spec.url, "https://example.com/rss")
                await self._add_to_chat(ctx, url)
            except CommandError as e:
                if e.key == "feed_exists":
                    counts["existing"] += 1
                    detail = self._t("import_exists", ctx.lang)
                else:
                    counts["skipped"] += 1
                    reason = self._t(e.key, ctx.lang, **e.params)
                    detail = self._t("import_skipped", ctx.lang, reason=reason)
            else:
                counts["added"] += 1
                detail = self._t("import_added", ctx.lang)
            items.append(ReplyItem(title=shown, detail=detail))
        if len(specs) > IMPORT_MAX_ENTRIES:
            counts["skipped"] += len(specs) - IMPORT_MAX_ENTRIES
            reason = self._t("import_reason_too_many", ctx.lang, max=IMPORT_MAX_ENTRIES)
            items.append(
                ReplyItem(
                    title=f"+{len(specs) - IMPORT_MAX_ENTRIES}",
                    detail=self._t("import_skipped", ctx.lang, reason=reason),
                )
            )
        return Reply(text=self._t("import_header", ctx.lang, **counts), lang=ctx.lang, items=items)
