"""Subscription commands: /subscribe, /unsubscribe, /settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.commands.base import (
    KEYWORD_PREFIXES,
    MAX_STORIES,
    CoreBase,
    Ctx,
    Reply,
    is_marked_keyword,
    parse_int,
    parse_keywords,
    parse_lang,
)
from bot.digest_schedule import (
    HEAD_WORDS,
    Schedule,
    parse_schedule,
    parse_schedule_prefix,
    validate_tz,
)
from bot.errors import CommandError
from bot.lang.strings import norm_lang
from bot.models import Subscription


def _looks_like_lang(word: str) -> bool:
    # "xx", "fr", "ina": a short word of letters where a language would go.
    return word.isalpha() and 2 <= len(word) <= 3


class SubscriptionCommands(CoreBase):
    async def _subscribe(self, ctx: Ctx, args: list[str]) -> Reply:
        self._require_admin(ctx)
        channel, args = await self._target(ctx, args)
        existing = await self.store.get_subscription(channel)
        tz = existing.tz if existing else self.default_tz
        lang, sched, keywords = self._subscribe_args(ctx, args, tz)

        if existing is None:
            sched = sched or parse_schedule(self.default_schedule, tz)
            sub = Subscription(
                channel=channel,
                lang=lang or ctx.lang,
                schedule=sched.canonical(),
                tz=tz,
                keywords=keywords or (),
                next_run_at=sched.next_after(ctx.now),
                created_by=ctx.inv.user_id,
            )
            head = "subscribed"
        else:
            sched = sched or parse_schedule(existing.schedule, tz)
            sub = replace(
                existing,
                lang=lang or existing.lang,
                schedule=sched.canonical(),
                keywords=existing.keywords if keywords is None else keywords,
                paused=False,
                paused_reason=None,
                next_run_at=sched.next_after(ctx.now),
                last_window_end=self._fresh_window_end(existing, sched, ctx.now),
            )
            head = "subscription_updated"
        sub = await self.store.upsert_subscription(sub)
        reply_lang = norm_lang(sub.lang) if channel == ctx.inv.channel else ctx.lang
        text = (
            self._t(head, reply_lang, channel=str(channel.id))
            + "\n"
            + self._describe_sub(sub, reply_lang)
        )
        return Reply(text=text, lang=reply_lang)

    def _subscribe_args(
        self, ctx: Ctx, args: list[str], tz: str
    ) -> tuple[str | None, Schedule | None, tuple[str, ...] | None]:
        """(language, schedule, keywords) from /subscribe's words, in any order.

        Every word must be a language, part of a schedule, a marked keyword (``+a -b !c``) or
        follow a "keywords" word; anything else is refused with what each word could have
        been, rather than silently becoming a required keyword that empties every digest.
        """
        lang: str | None = None
        sched: Schedule | None = None
        marked: list[str] = []
        bare: list[str] = []  # after "keywords"/"kata": the user said these are keywords
        unknown: list[tuple[str, bool]] = []  # (word, could it have been the language)
        lowered = [a.lower() for a in args]
        i = 0
        while i < len(args):
            word = lowered[i]
            if word in KEYWORD_PREFIXES:
                bare.extend(args[i + 1 :])
                break
            if lang is None and parse_lang(word):
                lang = parse_lang(word)
                i += 1
                continue
            if sched is None and word in HEAD_WORDS:
                parsed = parse_schedule_prefix(lowered[i:], tz)  # raises on "daily 25:00"
                if parsed is not None:
                    sched, used = parsed
                    i += used
                    continue
            if is_marked_keyword(args[i]):
                marked.append(args[i])
            else:
                lang_slot = lang is None and not any(could for _, could in unknown)
                unknown.append((args[i], lang_slot and _looks_like_lang(word)))
            i += 1
        if unknown:
            raise CommandError("bad_args", problems=self._explain(ctx.lang, unknown, sched))
        keywords = None
        if marked or bare:
            keywords = parse_keywords(marked, bare_required=False) + parse_keywords(bare)
            keywords = tuple(dict.fromkeys(keywords))  # one of each, first spelling kept
        return lang, sched, keywords

    def _explain(self, lang: str, unknown: list[tuple[str, bool]], sched: Schedule | None) -> str:
        lines = []
        for word, as_lang in unknown:
            value = word[:40]
            if as_lang:
                expected = [self._t("expect_lang", lang)]
            else:
                expected = []
                if sched is None:
                    expected.append(self._t("expect_schedule", lang))
                expected.append(self._t("expect_keyword", lang, word=value.lower()))
            lines.append(
                self._t("arg_not", lang, value=value, expected=self._t("or", lang).join(expected))
            )
        return "\n".join(lines)

    @staticmethod
    def _fresh_window_end(sub: Subscription, sched: Schedule, now: datetime) -> datetime | None:
        # After a long pause the next digest should not sweep up weeks of old stories.
        if sub.last_window_end is None:
            return None
        return max(sub.last_window_end, now - sched.lookback)

    async def _unsubscribe(self, ctx: Ctx, args: list[str]) -> Reply:
        self._require_admin(ctx)
        channel, _ = await self._target(ctx, args)
        if not await self.store.delete_subscription(channel):
            raise CommandError("not_subscribed")
        return Reply(text=self._t("unsubscribed", ctx.lang, channel=str(channel.id)), lang=ctx.lang)

    async def _settings(self, ctx: Ctx, args: list[str]) -> Reply:
        channel, args = await self._target(ctx, args) if args else (ctx.inv.channel, args)
        sub = await self.store.get_subscription(channel)
        if sub is None:
            raise CommandError("not_subscribed")
        if not args:
            text = (
                self._t("settings_header", ctx.lang, channel=str(channel.id))
                + "\n"
                + self._describe_sub(sub, ctx.lang)
            )
            return Reply(text=text, lang=ctx.lang)
        self._require_admin(ctx)
        what, values = args[0].lower(), args[1:]
        value = " ".join(values)
        head = "settings_saved"
        if what in ("lang", "language", "bahasa"):
            lang = parse_lang(value) if len(values) == 1 else None
            if lang is None:
                raise CommandError("bad_lang", value=value[:20])
            sub = replace(sub, lang=lang)
        elif what in ("schedule", "jadwal"):
            sched = parse_schedule(value, sub.tz)
            sub = replace(
                sub,
                schedule=sched.canonical(),
                next_run_at=sched.next_after(ctx.now),
                last_window_end=self._fresh_window_end(sub, sched, ctx.now),
            )
        elif what in ("tz", "timezone", "zona", "zone"):
            if len(values) != 1:
                raise CommandError("bad_timezone", tz=value[:64])
            tz = validate_tz(value)
            sched = parse_schedule(sub.schedule, tz)
            sub = replace(sub, tz=tz, next_run_at=sched.next_after(ctx.now))
        elif what in ("keywords", "keyword", "kata", "katakunci", "kw"):
            clear = value.lower() in ("", "clear", "none", "hapus", "kosong", "-")
            # "keywords ..." names the list, so bare words in it are required keywords.
            sub = replace(sub, keywords=() if clear else parse_keywords(values))
        elif is_marked_keyword(args[0]):
            # "/settings +sora -nft": marked keywords need no "keywords" word before them.
            sub = replace(sub, keywords=parse_keywords(args, bare_required=False))
        elif what in ("max", "maks", "maksimum"):
            sub = replace(sub, max_stories=parse_int(value, 1, MAX_STORIES, "settings max 5"))
        elif what in ("pause", "jeda", "stop"):
            sub = replace(sub, paused=True, paused_reason=None)
            head = "paused"
        elif what in ("resume", "lanjut", "lanjutkan", "unpause"):
            sched = parse_schedule(sub.schedule, sub.tz)
            sub = replace(
                sub,
                paused=False,
                paused_reason=None,
                next_run_at=sched.next_after(ctx.now),
                last_window_end=self._fresh_window_end(sub, sched, ctx.now),
            )
            head = "resumed"
        else:
            raise CommandError("usage_settings", value=what[:30])
        sub = await self.store.upsert_subscription(sub)
        lang = norm_lang(sub.lang) if channel == ctx.inv.channel else ctx.lang
        text = self._t(head, lang, channel=str(channel.id)) + "\n" + self._describe_sub(sub, lang)
        return Reply(text=text, lang=lang)
