"""/status and /help."""

from __future__ import annotations

from datetime import datetime

from bot.commands.base import CoreBase, Ctx, Reply


class StatusCommands(CoreBase):
    async def _status(self, ctx: Ctx, args: list[str]) -> Reply:
        del args
        lang = ctx.lang
        sub = await self.store.get_subscription(ctx.inv.channel)
        tz = sub.tz if sub else self.default_tz
        raw = await self.store.get_meta("last_poll_at")
        try:
            last_poll = self._fmt_time(datetime.fromisoformat(raw), tz, lang) if raw else None
        except ValueError:
            last_poll = None
        feeds = await self.store.list_feeds()
        disabled = [f for f in feeds if f.disabled_reason]
        failing = [f for f in feeds if f.failures and not f.disabled_reason]
        lines = [
            self._t("status_header", lang),
            self._t(
                "status_body",
                lang,
                last_poll=last_poll or self._t("status_never", lang),
                feeds=len(feeds),
                failing=len(failing),
                disabled=len(disabled),
            ),
        ]
        for f in [*disabled, *failing][:10]:
            lines.append(
                "• " + self._t("status_problem", lang, url=f.url, reason=self._feed_state(f, lang))
            )
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
