"""/status, /stats and /help."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime

from bot.commands.base import CoreBase, Ctx, Reply, ReplyFile, parse_int
from bot.errors import CommandError
from bot.models import Feed
from bot.redact import display_source, redact_text
from bot.topic import TopicScorer

STATS_WEEKS = 12
STATS_MIN_WEEKS = 4
STATS_MAX_WEEKS = 26
STATS_FILENAME = "stats.png"


class StatusCommands(CoreBase):
    async def _status(self, ctx: Ctx, args: list[str]) -> Reply:
        """Operators see the whole instance (every feed, failing and disabled ones with full
        URLs, how many chats added each); everyone else sees this chat's sources only, each
        as title and host."""
        del args
        lang = ctx.lang
        operator = ctx.inv.is_operator
        sub = await self.store.get_subscription(ctx.inv.channel)
        tz = sub.tz if sub else self.default_tz
        raw = await self.store.get_meta("last_poll_at")
        try:
            last_poll = self._fmt_time(datetime.fromisoformat(raw), tz, lang) if raw else None
        except ValueError:
            last_poll = None
        feeds: list[Feed]
        if operator:
            feeds = await self.store.list_feeds()
        else:
            feeds = [s.feed for s in await self.store.chat_sources(ctx.inv.channel)]
        disabled = [f for f in feeds if f.disabled_reason]
        failing = [f for f in feeds if f.failures and not f.disabled_reason]
        lines = [
            self._t("status_header", lang),
            self._t(
                "status_body" if operator else "status_chat_body",
                lang,
                last_poll=last_poll or self._t("status_never", lang),
                feeds=len(feeds),
                failing=len(failing),
                disabled=len(disabled),
            ),
        ]
        for f in [*disabled, *failing][:10]:
            reason = self._feed_state(f, lang)
            shown = f.url if operator else display_source(f.url, f.title)
            if not operator:
                reason = redact_text(reason)
            lines.append("• " + self._t("status_problem", lang, url=shown, reason=reason))
        if operator:
            usage = await self.store.source_usage()
            for url, chats in sorted(usage.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
                lines.append("• " + self._t("status_usage", lang, source=url, chats=chats))
        if sub is None:
            lines.append(self._t("status_no_sub", lang))
        elif sub.paused:
            reason = sub.paused_reason or self._t("paused_by_user", lang)
            lines.append(self._t("status_sub_paused", lang, reason=reason))
        else:
            nxt = (
                self._t("next_instant", lang)
                if sub.schedule == "instant"
                else self._fmt_time(sub.next_run_at, sub.tz, lang)
            )
            lines.append(self._t("status_sub", lang, next=nxt))
        return Reply(text="\n".join(lines), lang=lang)

    async def _stats(self, ctx: Ctx, args: list[str]) -> Reply:
        """The web face's weekly charts (by outlet, theme, language) as one PNG, counted over
        this chat's own source set, so a chat sees its sources and never another chat's."""
        example = "/stats 8"
        if len(args) > 1:
            raise CommandError(
                "bad_number",
                value=" ".join(args)[:20],
                min=STATS_MIN_WEEKS,
                max=STATS_MAX_WEEKS,
                example=example,
            )
        weeks = (
            parse_int(args[0], STATS_MIN_WEEKS, STATS_MAX_WEEKS, example) if args else STATS_WEEKS
        )
        channel = ctx.inv.channel
        sub = await self.store.get_subscription(channel)

        async def sources() -> frozenset[str]:
            return await self.store.chat_source_urls(channel)

        # Imported here, and in a thread: bot.web pulls in the site's templates and charting
        # code, which only this command needs, and a first import is ~0.4 s that the event
        # loop must not wait out (matplotlib itself loads when the chart is drawn, off it too).
        web = await asyncio.to_thread(importlib.import_module, "bot.web")
        png: bytes = await web.stats_png(
            self.store,
            ctx.lang,
            sources=sources,
            weeks=weeks,
            tz=sub.tz if sub else self.default_tz,
            # Relevance thresholds come from the app's scorer; a stand-in without thresholds
            # (tests) gets the packaged lexicon's.
            scorer=self._scorer if isinstance(self._scorer, TopicScorer) else None,
        )
        return Reply(
            text=self._t("stats_caption", ctx.lang, weeks=weeks),
            lang=ctx.lang,
            file=ReplyFile(STATS_FILENAME, png, "image/png", kind="image"),
        )

    async def _help(self, ctx: Ctx, args: list[str]) -> Reply:
        del args
        return Reply(text=self._t("help", ctx.lang), lang=ctx.lang, ephemeral=True)
