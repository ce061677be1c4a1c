"""/status and /help."""

from __future__ import annotations

from datetime import datetime

from bot.commands.base import CoreBase, Ctx, Reply
from bot.models import Feed
from bot.redact import display_source, redact_text


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

    async def _help(self, ctx: Ctx, args: list[str]) -> Reply:
        del args
        return Reply(text=self._t("help", ctx.lang), lang=ctx.lang, ephemeral=True)
