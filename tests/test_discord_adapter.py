"""The Discord adapter against a loopback Discord REST server, driving the real app_commands tree.

What is real: discord.py's HTTP client, rate-limit handling, CommandTree dispatch, option
parsing, Interaction/response/followup code and our adapter; the server speaks HTTP on 127.0.0.1.
What is faked: Discord itself (tests/peers/discord_rest.py answers like REST API v10, no gateway)
and the command core (a tiny stub defined here that enforces ``is_admin`` the way the real core
must; the full scenario with the real core is the lead's integration test).

Interactions are built the way the gateway would deliver them: payload dicts shaped like
Discord's INTERACTION_CREATE, wrapped with ``discord.Interaction(data=..., state=...)`` and passed
to ``tree._call`` (what discord.py's own dispatch calls; a private name, pinned to discord.py 2.x).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.adapters import base
from bot.adapters.discord import DiscordAdapter, create
from bot.commands import Invocation, Reply, ReplyItem
from bot.errors import ConfigError, PermanentDeliveryError, RetryLater
from bot.models import AlsoReported, ChannelRef, Digest, DigestEntry, Story, Summary, TopicResult
from bot.render.discord import render_digest
from tests.peers import discord_rest
from tests.peers.discord_rest import APP_ID, TOKEN, DiscordREST

GUILD_ID = 444444444444444444
CHANNEL_ID = 555555555555555555
USER_ID = 666666666666666666
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
_ids = itertools.count(1_000_000_000_000_000_000)


class StubCore:
    """Stands in for bot.commands.CommandCore (not ready yet). It enforces admin-only feed
    changes from ``is_admin`` exactly as the real core must, so the test proves the adapter
    reports permissions correctly; it does not test the real core's rules."""

    def __init__(self) -> None:
        self.seen: list[Invocation] = []
        self.fail_with: Exception | None = None
        self.choices_asked: list[tuple[ChannelRef, bool]] = []

    async def handle(self, inv: Invocation) -> Reply:
        self.seen.append(inv)
        if self.fail_with is not None:
            raise self.fail_with
        if inv.command == "help":
            return Reply(text="/subscribe, /search <words> @everyone", lang="en", ephemeral=True)
        if inv.command == "search":
            return Reply(
                text=f"Results for {inv.args}",
                lang="en",
                items=[
                    ReplyItem(
                        title="Artists leak Sora @everyone <@&123456789012345678>",
                        url="https://example.com/sora",
                        detail="**bold** claim",
                        ref="#7",
                    ),
                    ReplyItem(title="No link", url="javascript:alert(1)", ref="#8"),
                ],
            )
        if inv.command == "feeds":
            action = (inv.args.split() or ["list"])[0]
            if action in ("add", "remove") and not inv.is_admin:
                return Reply(
                    text="Only channel admins can change feeds.",
                    lang="en",
                    error=True,
                    ephemeral=True,
                )
            return Reply(text=f"feeds {inv.args}: ok", lang="en")
        return Reply(text=f"{inv.command} ok", lang="en")

    async def source_choices(
        self, channel: ChannelRef, *, is_operator: bool = False
    ) -> list[tuple[str, str]]:
        self.choices_asked.append((channel, is_operator))
        return [
            ("The Verge (www.theverge.com)", "#1"),
            ("Tempo Tekno (rss.tempo.co)", "#2"),
            ("Long " + "x" * 120, "#3"),
        ]


# --------------------------------------------------------------------------- fixtures

rest = discord_rest.rest  # loopback Discord REST, Route.BASE pointed at it


@pytest.fixture
async def core() -> StubCore:
    return StubCore()


@pytest.fixture
async def adapter(rest: DiscordREST, core: StubCore) -> AsyncIterator[DiscordAdapter]:
    a = DiscordAdapter(token=TOKEN, guild_id=GUILD_ID, max_ratelimit_timeout=30.0)
    await a.start(core, connect_gateway=False)
    try:
        yield a
    finally:
        await a.stop()


def user(uid: int = USER_ID) -> dict[str, Any]:
    return {
        "id": str(uid),
        "username": "reader",
        "discriminator": "0",
        "global_name": "Reader",
        "avatar": None,
    }


def interaction(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    perms: int = SEND_MESSAGES,
    locale: str = "en-US",
    dm: bool = False,
    kind: int = 2,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload as Discord sends it (type 2 command, 4 autocomplete)."""
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"itoken-{next(_ids)}",
        "version": 1,
        "locale": locale,
        "app_permissions": str(SEND_MESSAGES),
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
        "data": {"id": str(next(_ids)), "name": name, "type": 1, "options": options or []},
    }
    if dm:
        data.update(
            channel_id=str(CHANNEL_ID),
            channel={"id": str(CHANNEL_ID), "type": 1, "recipients": [user()], "flags": 0},
            user=user(),
            context=1,
            authorizing_integration_owners={"1": str(USER_ID)},
        )
    else:
        data.update(
            guild_id=str(GUILD_ID),
            guild_locale="id",
            guild={"id": str(GUILD_ID), "locale": "id", "features": []},
            channel_id=str(CHANNEL_ID),
            channel={
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "berita",
                "position": 0,
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "rate_limit_per_user": 0,
                "permission_overwrites": [],
                "flags": 0,
                "permissions": str(perms),
                "last_message_id": None,
            },
            member={
                "user": user(),
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "nick": None,
                "avatar": None,
                "premium_since": None,
                "communication_disabled_until": None,
                "permissions": str(perms),
            },
            context=0,
            authorizing_integration_owners={"0": str(GUILD_ID)},
        )
    return data


async def dispatch(adapter: DiscordAdapter, payload: dict[str, Any]) -> None:
    inter: discord.Interaction[discord.Client] = discord.Interaction(
        data=payload,  # type: ignore[arg-type]
        state=adapter.client._connection,
    )
    await adapter.tree._call(inter)


def opt(name: str, value: object, type_: int = 3, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "value": value, **extra}


# --------------------------------------------------------------------------- commands


async def test_registry_loads_discord_factory() -> None:
    factory = base.load("discord")
    assert factory is create
    with pytest.raises(ConfigError):
        create(token="")


async def test_bad_token_is_config_error(rest: DiscordREST, core: StubCore) -> None:
    a = DiscordAdapter(token="wrong-token")
    with pytest.raises(ConfigError) as info:
        await a.start(core, connect_gateway=False)
    assert "wrong-token" not in str(info.value)
    await a.stop()
    await a.stop()  # safe twice


async def test_start_syncs_commands_to_the_test_guild(
    adapter: DiscordAdapter, rest: DiscordREST
) -> None:
    synced = rest.commands[str(GUILD_ID)]
    names = {c["name"] for c in synced}
    assert names == {
        "subscribe",
        "unsubscribe",
        "settings",
        "digest",
        "latest",
        "search",
        "story",
        "summary",
        "feeds",
        "status",
        "stats",
        "help",
    }
    assert "global" not in rest.commands  # a test guild is synced instantly, not globally
    sub = next(c for c in synced if c["name"] == "subscribe")
    assert sub["name_localizations"]["id"] == "langganan"
    assert sub["description_localizations"]["id"].startswith("Langganankan")
    lang = next(o for o in sub["options"] if o["name"] == "lang")
    assert [c["value"] for c in lang["choices"]] == ["id", "en"]
    assert lang["choices"][0]["name_localizations"]["id"] == "Bahasa Indonesia"
    sched = next(o for o in sub["options"] if o["name"] == "schedule")
    assert sched["autocomplete"] is True
    assert int(sub["default_member_permissions"]) == MANAGE_CHANNELS
    stats = next(c for c in synced if c["name"] == "stats")
    assert stats["name_localizations"]["id"] == "statistik"
    [weeks] = stats["options"]
    assert (weeks["name"], weeks["name_localizations"]["id"]) == ("weeks", "minggu")
    assert (weeks["min_value"], weeks["max_value"], weeks["required"]) == (4, 26, False)
    assert isinstance(adapter, base.ChatAdapter)


async def test_sync_without_guild_goes_global(rest: DiscordREST, core: StubCore) -> None:
    a = DiscordAdapter(token=TOKEN)
    await a.start(core, connect_gateway=False)
    await a.stop()
    assert len(rest.commands["global"]) == 12


async def test_server_rejects_bad_command_names_and_sync_reports_it(
    adapter: DiscordAdapter, rest: DiscordREST
) -> None:
    async def shout(interaction: discord.Interaction[discord.Client]) -> None:
        pass

    bad = app_commands.Command(name="shout", description="x", callback=shout)
    bad.name = "Shout Loud"  # discord.py validates at construction; bypass to test the server
    adapter.tree.add_command(bad)
    with pytest.raises(ConfigError, match="refused"):
        await adapter.sync_commands()
    last = rest.requests_to("PUT", r"/guilds/\d+/commands$")[-1]
    assert any(c["name"] == "Shout Loud" for c in last.body)


async def test_help_answers_through_the_interaction_callback(
    adapter: DiscordAdapter, rest: DiscordREST, core: StubCore
) -> None:
    await dispatch(adapter, interaction("help", locale="id"))
    assert core.seen[-1].command == "help"
    assert core.seen[-1].locale == "id"
    [callback] = rest.interaction_callbacks
    assert callback["type"] == 4  # CHANNEL_MESSAGE_WITH_SOURCE, no defer needed
    data = callback["data"]
    assert data["flags"] & 64  # ephemeral
    assert "@\u200beveryone" in data["content"]
    assert data["allowed_mentions"] == {"parse": []}
    assert rest.followups == []


async def test_search_defers_then_follows_up(
    adapter: DiscordAdapter, rest: DiscordREST, core: StubCore
) -> None:
    await dispatch(adapter, interaction("search", [opt("query", "sora")]))
    inv = core.seen[-1]
    assert (inv.command, inv.args, inv.is_admin, inv.chat_kind) == (
        "search",
        "sora",
        False,
        "group",
    )
    assert inv.channel == ChannelRef("discord", str(CHANNEL_ID))
    assert inv.user_id == str(USER_ID)
    [callback] = rest.interaction_callbacks
    assert callback["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("thinking")
    [follow] = rest.followups
    assert follow["allowed_mentions"] == {"parse": []}
    assert follow["content"] == "Results for sora"
    [embed] = follow["embeds"]
    desc = embed["description"]
    assert "[Artists leak Sora @\u200beveryone \\<@\u200b&123456789012345678>]" in desc
    assert "](https://example.com/sora)" in desc
    assert "\\*\\*bold\\*\\*" in desc
    assert "javascript:" not in desc


async def test_non_admin_feeds_add_is_refused_by_core(
    adapter: DiscordAdapter, rest: DiscordREST, core: StubCore
) -> None:
    url = "https://rss.example.org/ai.xml"
    await dispatch(adapter, interaction("feeds", [opt("action", "add"), opt("url", url)]))
    inv = core.seen[-1]
    assert (inv.args, inv.is_admin) == (f"add {url}", False)
    data = rest.interaction_callbacks[-1]["data"]
    assert data["content"] == "Only channel admins can change feeds."
    assert data["flags"] & 64

    await dispatch(
        adapter,
        interaction(
            "feeds", [opt("action", "add"), opt("url", url)], perms=SEND_MESSAGES | MANAGE_CHANNELS
        ),
    )
    assert core.seen[-1].is_admin is True
    data = rest.interaction_callbacks[-1]["data"]
    assert data["content"] == f"feeds add {url}: ok"

    await dispatch(adapter, interaction("feeds"))  # action defaults to list
    assert core.seen[-1].args == ""
    await dispatch(adapter, interaction("feeds", [opt("action", "list")]))
    assert core.seen[-1].args == ""
    assert not int(data.get("flags") or 0) & 64


async def test_dm_user_is_admin_of_their_dm(adapter: DiscordAdapter, core: StubCore) -> None:
    await dispatch(
        adapter, interaction("subscribe", [opt("lang", "en"), opt("schedule", "every 6h")], dm=True)
    )
    inv = core.seen[-1]
    assert (inv.chat_kind, inv.is_admin, inv.args) == ("private", True, "en every 6h")


async def test_latest_range_and_subscribe_options_join(
    adapter: DiscordAdapter, core: StubCore
) -> None:
    await dispatch(adapter, interaction("latest", [opt("n", 5, type_=4)]))
    assert core.seen[-1].args == "5"
    await dispatch(
        adapter,
        interaction(
            "subscribe",
            [
                opt("lang", "id"),
                opt("schedule", "weekly mon 09:00"),
                opt("keywords", "+musik -kripto"),
            ],
        ),
    )
    assert core.seen[-1].args == "id weekly mon 09:00 +musik -kripto"


async def test_schedule_and_feed_autocomplete(adapter: DiscordAdapter, rest: DiscordREST) -> None:
    await dispatch(
        adapter, interaction("subscribe", [opt("schedule", "dai", focused=True)], kind=4)
    )
    cb = rest.interaction_callbacks[-1]
    assert cb["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    values = [c["value"] for c in cb["data"]["choices"]]
    assert "daily 08:00" in values
    assert "every 6h" not in values

    await dispatch(
        adapter,
        interaction("feeds", [opt("action", "remove"), opt("url", "tempo", focused=True)], kind=4),
    )
    choices = rest.interaction_callbacks[-1]["data"]["choices"]
    # The chat's own sources, as the core names them; the value is an opaque id.
    assert [(c["name"], c["value"]) for c in choices] == [("Tempo Tekno (rss.tempo.co)", "#2")]
    await dispatch(
        adapter,
        interaction("feeds", [opt("action", "remove"), opt("url", "", focused=True)], kind=4),
    )
    choices = rest.interaction_callbacks[-1]["data"]["choices"]
    assert len(choices) == 3
    assert all(len(c["name"]) <= 100 for c in choices)  # long names are clipped, not dropped


async def test_core_crash_gets_a_generic_ephemeral_answer(
    adapter: DiscordAdapter, rest: DiscordREST, core: StubCore
) -> None:
    core.fail_with = RuntimeError("database on fire")
    await dispatch(adapter, interaction("status", locale="id"))
    data = rest.interaction_callbacks[-1]["data"]
    assert data["flags"] & 64
    assert "fire" not in data["content"]
    assert data["content"]


@pytest.mark.parametrize(
    ("perms", "admin"),
    [
        (SEND_MESSAGES, False),
        (SEND_MESSAGES | MANAGE_CHANNELS, True),
        (SEND_MESSAGES | MANAGE_GUILD, True),
        (ADMINISTRATOR, True),
    ],
)
async def test_is_admin_from_resolved_permissions(
    adapter: DiscordAdapter, core: StubCore, perms: int, admin: bool
) -> None:
    await dispatch(adapter, interaction("settings", perms=perms, locale="id"))
    inv = core.seen[-1]
    assert (inv.is_admin, inv.locale, inv.chat_kind) == (admin, "id", "group")


# --------------------------------------------------------------------------- delivery


def story_entry(i: int, title: str = "Seniman bocorkan Sora", bullets: int = 3) -> DigestEntry:
    story = Story(
        feed_url="https://example.com/feed",
        key=f"k{i}",
        url=f"https://example.com/s/{i}",
        title=title,
        text="...",
        source="Example News",
        lang="id",
        published=datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
        content_hash="h",
        id=i,
    )
    summary = Summary(
        headline=title, bullets=tuple(f"Fakta {j} " * 40 for j in range(bullets)), lang="id"
    )
    return DigestEntry(
        story=story,
        summary=summary,
        topic=TopicResult(score=1.0, relevant=True),
        also=[AlsoReported("Tempo", "https://tempo.co/x")],
    )


def digest(n: int) -> Digest:
    return Digest(
        lang="id",
        title="Ringkasan AI & Seniman — 24 Nov 2026",
        window_start=datetime(2026, 11, 23, tzinfo=UTC),
        window_end=datetime(2026, 11, 24, tzinfo=UTC),
        tz="Asia/Jakarta",
        entries=[story_entry(i) for i in range(n)],
        empty_text="Kosong.",
    )


async def test_send_part_posts_embeds_without_mentions(
    adapter: DiscordAdapter, rest: DiscordREST
) -> None:
    parts = adapter.render_digest(digest(25))
    assert len(parts) >= 3
    ref = ChannelRef("discord", str(CHANNEL_ID))
    ids = [await adapter.send_part(ref, part) for part in parts]
    assert len(set(ids)) == len(parts)
    posted = rest.messages[str(CHANNEL_ID)]
    assert len(posted) == len(parts)
    for body in posted:
        assert body["allowed_mentions"] == {"parse": []}
    assert posted[0]["content"].startswith("**Ringkasan AI & Seniman")
    assert sum(len(b["embeds"]) for b in posted) == 25
    assert posted[0]["embeds"][0]["url"] == "https://example.com/s/0"


async def test_send_reply_outside_interaction(adapter: DiscordAdapter, rest: DiscordREST) -> None:
    ids = await adapter.send_reply(
        ChannelRef("discord", str(CHANNEL_ID)), Reply(text="@here hi", lang="en", digest=digest(1))
    )
    assert len(ids) == 2
    assert rest.messages[str(CHANNEL_ID)][0]["content"] == "@\u200bhere hi"


async def test_short_429_with_via_is_retried_by_discord_py(
    adapter: DiscordAdapter, rest: DiscordREST
) -> None:
    rest.inject_429(r"^/channels/\d+/messages$", retry_after=0.05)
    msg_id = await adapter.send_part(
        ChannelRef("discord", str(CHANNEL_ID)), render_digest(digest(1))[0]
    )
    assert msg_id
    assert len(rest.requests_to("POST", r"^/channels/\d+/messages$")) == 2
    assert len(rest.messages[str(CHANNEL_ID)]) == 1


async def test_long_429_becomes_retry_later(adapter: DiscordAdapter, rest: DiscordREST) -> None:
    rest.inject_429(r"^/channels/\d+/messages$", retry_after=120.0)
    with pytest.raises(RetryLater) as info:
        await adapter.send_part(ChannelRef("discord", str(CHANNEL_ID)), render_digest(digest(1))[0])
    assert info.value.retry_after == pytest.approx(120.0)
    assert str(CHANNEL_ID) not in rest.messages


async def test_429_without_via_becomes_retry_later(
    adapter: DiscordAdapter, rest: DiscordREST
) -> None:
    rest.inject_429(r"^/channels/\d+/messages$", retry_after=3.0, via=False)
    with pytest.raises(RetryLater) as info:
        await adapter.send_part(ChannelRef("discord", str(CHANNEL_ID)), render_digest(digest(1))[0])
    assert info.value.retry_after == pytest.approx(3.0)
    assert len(rest.requests_to("POST", r"^/channels/\d+/messages$")) == 1  # not retried


@pytest.mark.parametrize(("status", "code"), [(403, 50013), (403, 50001), (404, 10003)])
async def test_permanent_errors(
    adapter: DiscordAdapter, rest: DiscordREST, status: int, code: int
) -> None:
    rest.inject_error(r"^/channels/\d+/messages$", status, code, "Missing Permissions")
    with pytest.raises(PermanentDeliveryError, match=str(code)):
        await adapter.send_part(ChannelRef("discord", str(CHANNEL_ID)), render_digest(digest(1))[0])


async def test_503_is_retry_later(adapter: DiscordAdapter, rest: DiscordREST) -> None:
    rest.inject_error(r"^/channels/\d+/messages$", 503, 0, "upstream unavailable")
    with pytest.raises(RetryLater):
        await adapter.send_part(ChannelRef("discord", str(CHANNEL_ID)), render_digest(digest(1))[0])


async def test_bad_channel_id_is_permanent(adapter: DiscordAdapter) -> None:
    with pytest.raises(PermanentDeliveryError):
        await adapter.send_part(ChannelRef("discord", "general"), render_digest(digest(1))[0])


async def test_server_enforces_embed_limits(adapter: DiscordAdapter, rest: DiscordREST) -> None:
    """The fake really validates: an over-limit part we did not render is refused with 50035
    (so the acceptance of our rendered parts above means something)."""
    too_big = {"content": None, "embeds": [{"title": "x", "description": "y" * 4000}] * 2}
    with pytest.raises(Exception, match="50035"):
        await adapter.send_part(ChannelRef("discord", str(CHANNEL_ID)), too_big)


async def test_slow_fast_command_is_deferred_before_discords_deadline(
    rest: DiscordREST,
) -> None:
    """/status is not known to be slow; when the core has not answered in time the adapter
    defers, and the answer arrives as a followup. The stub core only finishes once the defer
    has reached the server, so the test does not depend on timing."""

    class SlowCore(StubCore):
        async def handle(self, inv: Invocation) -> Reply:
            await rest.callback_seen.wait()
            return await super().handle(inv)

    a = DiscordAdapter(token=TOKEN, guild_id=GUILD_ID, defer_after_s=0.01)
    await a.start(SlowCore(), connect_gateway=False)
    try:
        await asyncio.wait_for(dispatch(a, interaction("status")), timeout=10)
    finally:
        await a.stop()
    [callback] = rest.interaction_callbacks
    assert callback["type"] == 5
    assert [f["content"] for f in rest.followups] == ["status ok"]


async def test_digest_command_reply_spans_several_followups(
    adapter: DiscordAdapter, rest: DiscordREST, core: StubCore
) -> None:
    big = digest(30)

    async def handle(inv: Invocation) -> Reply:
        return Reply(text="", lang="id", digest=big)

    core.handle = handle  # type: ignore[method-assign]
    await dispatch(adapter, interaction("digest"))
    assert rest.interaction_callbacks[-1]["type"] == 5
    parts = render_digest(big)
    assert len(rest.followups) == len(parts) > 1
    assert sum(len(f["embeds"]) for f in rest.followups) == 30
    assert all(f["allowed_mentions"] == {"parse": []} for f in rest.followups)
