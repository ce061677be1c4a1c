"""Every chat owns its sources, on Discord's real path.

Real: the SQLite store, the defaults file synced by ``App.sync_feeds_file``, the loopback feed
server polled by the real poll job, the command core from ``build_core`` (operators from the
settings), the Discord adapter on discord.py's real ``app_commands`` tree (commands,
autocomplete, the attachment option) and its HTTP client against tests/peers/discord_rest.py,
and the outbox's ``compose_due``. Stand-ins: Discord itself (INTERACTION_CREATE payloads as the
gateway delivers them, see tests/test_e2e_discord.py); an attachment's CDN URL points at the
loopback feed server, which discord.py downloads it from.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.config import Settings
from bot.delivery import compose_due
from bot.digest import digest_from_json
from bot.feeds.opml import parse_opml, to_opml
from bot.lang.strings import t
from bot.models import ChannelRef, Feed
from bot.runner import build_core, make_poll_job
from bot.summarize.base import get_summarizer
from tests import feedserver
from tests.conftest import daily_after
from tests.crash_worker import FakeClock
from tests.feedserver import FeedServer
from tests.peers import discord_rest
from tests.peers.discord_rest import APP_ID, DiscordREST
from tests.peers.discord_rest import TOKEN as BOT_TOKEN
from tests.tenancy_helpers import (
    TOKEN,
    capture_logs,
    leaks,
    secret_url,
    serve,
    source_feed,
    story_urls,
)

feed_server = feedserver.feed_server
rest = discord_rest.rest

GUILD_ID = 444444444444444444
CHANNEL_ID = 555555555555555555
ADMIN_ID = 666666666666666666
MEMBER_ID = 777777777777777777
STRANGER_ID = 888888888888888888
STRANGER_DM = 999999999999999999
OPERATOR_ID = 123456789012345678
OPERATOR_DM = 223456789012345678
VIEW_CHANNEL, SEND_MESSAGES, MANAGE_GUILD = 1 << 10, 1 << 11, 1 << 5
MEMBER_PERMS = VIEW_CHANNEL | SEND_MESSAGES
ADMIN_PERMS = MEMBER_PERMS | MANAGE_GUILD
_ids = itertools.count(1_200_000_000_000_000_000)


def _user(uid: int) -> dict[str, Any]:
    return {"id": str(uid), "username": f"u{uid}", "discriminator": "0", "avatar": None}


def payload(
    options: list[dict[str, Any]],
    *,
    user_id: int,
    perms: int = MEMBER_PERMS,
    dm_channel: int | None = None,
    kind: int = 2,
    resolved: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``/feeds`` (or other) INTERACTION_CREATE: in the guild channel, or in a DM."""
    name = options.pop(0)["command"] if options and "command" in options[0] else "feeds"
    data: dict[str, Any] = {"id": str(next(_ids)), "name": name, "type": 1, "options": options}
    if resolved:
        data["resolved"] = resolved
    body: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"itoken-{next(_ids)}",
        "version": 1,
        "locale": "en-US",
        "app_permissions": str(MEMBER_PERMS),
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
        "data": data,
    }
    if dm_channel is not None:
        body.update(
            channel_id=str(dm_channel),
            channel={"id": str(dm_channel), "type": 1, "recipients": [_user(user_id)], "flags": 0},
            user=_user(user_id),
            context=1,
            authorizing_integration_owners={"1": str(user_id)},
        )
        return body
    body.update(
        guild_id=str(GUILD_ID),
        guild_locale="en-US",
        guild={"id": str(GUILD_ID), "locale": "en-US", "features": []},
        channel_id=str(CHANNEL_ID),
        channel={
            "id": str(CHANNEL_ID),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": "berita-ai",
            "position": 0,
            "nsfw": False,
            "parent_id": None,
            "permission_overwrites": [],
            "flags": 0,
            "permissions": str(perms),
        },
        member={
            "user": _user(user_id),
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": str(perms),
        },
        context=0,
        authorizing_integration_owners={"0": str(GUILD_ID)},
    )
    return body


def opt(name: str, value: object, *, type_: int = 3, focused: bool = False) -> dict[str, Any]:
    o: dict[str, Any] = {"name": name, "type": type_, "value": value}
    if focused:
        o["focused"] = True
    return o


def texts_of(body: dict[str, Any]) -> str:
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or "", embed.get("url") or ""]
        parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


class Person:
    """Someone using slash commands in one place; ``ask`` returns what they were shown."""

    def __init__(
        self, adapter: DiscordAdapter, rest: DiscordREST, user_id: int, **where: Any
    ) -> None:
        self.adapter, self.rest, self.user_id, self.where = adapter, rest, user_id, where
        self.seen: list[str] = []

    async def ask(self, *options: dict[str, Any], resolved: dict[str, Any] | None = None) -> str:
        callbacks, followups = len(self.rest.interaction_callbacks), len(self.rest.followups)
        body = payload(list(options), user_id=self.user_id, resolved=resolved, **self.where)
        await dispatch(self.adapter, body)
        [callback] = self.rest.interaction_callbacks[callbacks:]
        if callback["type"] == 5:  # deferred: the answer is the followup
            [answer] = self.rest.followups[followups:]
        else:
            answer = callback["data"]
        text = texts_of(answer)
        self.seen.append(text)
        return text

    async def autocomplete(self, typed: str) -> list[dict[str, Any]]:
        body = payload(
            [opt("action", "remove"), opt("url", typed, focused=True)],
            user_id=self.user_id,
            kind=4,
            **self.where,
        )
        await dispatch(self.adapter, body)
        choices: list[dict[str, Any]] = self.rest.interaction_callbacks[-1]["data"]["choices"]
        self.seen.extend(f"{c['name']} {c['value']}" for c in choices)
        return choices


async def dispatch(adapter: DiscordAdapter, body: dict[str, Any]) -> None:
    import discord

    inter: discord.Interaction[discord.Client] = discord.Interaction(
        data=body,  # type: ignore[arg-type]
        state=adapter.client._connection,
    )
    await adapter.tree._call(inter)


@pytest_asyncio.fixture
async def app(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[App]:
    start = datetime.now(UTC).replace(microsecond=0)
    default_url = serve(feed_server, "Bawaan", 0, start, count=2)
    defaults = tmp_path / "feeds.toml"
    defaults.write_text(f'[[feed]]\nurl = "{default_url}"\ninterval = "15m"\n')
    # One scripted user sends many commands within seconds; the rate limits have their own
    # tests (tests/test_limits.py, tests/test_e2e_limits.py), so they are wide open here.
    settings = Settings(
        feeds_file=str(defaults),
        allow_loopback=True,
        operators_discord=(OPERATOR_ID,),
        rate_user_burst=1000,
        rate_chat_burst=1000,
    )
    opened = await App.open(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    try:
        assert await opened.sync_feeds_file() == 1
        yield opened
    finally:
        await opened.close()


async def test_chats_own_their_sources_on_discord(
    app: App, rest: DiscordREST, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    capture_logs(caplog)
    start = datetime.now(UTC).replace(microsecond=0)
    t0 = start + timedelta(minutes=10)
    clock = FakeClock(t0)
    [default] = await app.store.list_feeds()
    default_url = default.url
    group_url = serve(feed_server, "Grup", 2, start, count=2)
    dm_url = serve(feed_server, "Asing", 4, start, count=2)
    extra_url = serve(feed_server, "Impor", 6, start, count=2)
    feed_server.add_bytes("/paid.xml", source_feed("Berbayar", 8, 2, start))
    paid_url = secret_url(feed_server, "/paid.xml")
    channel = ChannelRef("discord", str(CHANNEL_ID))
    dm = ChannelRef("discord", str(STRANGER_DM))

    adapter = DiscordAdapter(
        token=BOT_TOKEN, guild_id=GUILD_ID, operators=app.settings.operators_discord
    )
    core = build_core(app, {"discord": adapter}, get_summarizer("extractive"), now=clock)
    await adapter.start(core, connect_gateway=False)
    try:
        admin = Person(adapter, rest, ADMIN_ID, perms=ADMIN_PERMS)
        member = Person(adapter, rest, MEMBER_ID)
        stranger = Person(adapter, rest, STRANGER_ID, dm_channel=STRANGER_DM)
        operator = Person(adapter, rest, OPERATOR_ID, dm_channel=OPERATOR_DM)
        poll = make_poll_job(app)

        assert await admin.ask(opt("action", "add"), opt("url", group_url)) == t(
            "feed_added", "en", title="Grup (127.0.0.1)"
        )
        refused = await member.ask(opt("action", "add"), opt("url", dm_url))
        assert refused == t("not_admin", "en", command="feeds")
        for who in (admin, stranger):
            schedule = opt("schedule", daily_after(t0, app.settings.timezone))
            answer = await who.ask({"command": "subscribe"}, opt("lang", "en"), schedule)
            assert answer.startswith("Subscribed")
        assert await poll(t0) == 2
        group_set = await app.store.chat_source_urls(channel)
        assert group_set == {default_url, group_url}

        # The stranger's DM: their own changes only; the defaults are out of reach.
        assert (await stranger.ask(opt("action", "add"), opt("url", dm_url))).startswith(
            "Source added: Asing"
        )
        await stranger.ask(opt("action", "add"), opt("url", group_url))
        off = await stranger.ask(opt("action", "remove"), opt("url", default_url))
        assert off == t("feed_switched_off", "en", title="Bawaan (127.0.0.1)")
        denied = await stranger.ask(opt("action", "default"), opt("url", f"remove {default_url}"))
        assert denied == t("not_operator", "en", action="default")
        assert await app.store.chat_source_urls(channel) == group_set
        assert await app.store.chat_source_urls(dm) == {group_url, dm_url}
        assert await poll(t0) == 1

        # One fetch per URL per interval, however many chats read it.
        paths = ["/bawaan.xml", "/grup.xml", "/asing.xml"]
        before = {p: feed_server.stats(p).requests for p in paths}
        t1 = t0 + timedelta(hours=2)
        assert await poll(t1) == 3
        assert {p: feed_server.stats(p).requests - before[p] for p in paths} == dict.fromkeys(
            paths, 1
        )

        sub = await app.store.get_subscription(channel)
        assert sub is not None
        assert sub.next_run_at is not None
        due = sub.next_run_at + timedelta(minutes=1)
        assert await compose_due(app.store, due) == 2
        digests = {
            d.channel: digest_from_json(d.payload) for d in await app.store.list_deliveries()
        }
        assert story_urls(digests[channel].entries) == {default_url, group_url}
        assert story_urls(digests[dm].entries) == {group_url, dm_url}

        # The operator adds a paid default and sees its address; it fails on the next poll.
        added = await operator.ask(opt("action", "default"), opt("url", f"add {paid_url}"))
        assert TOKEN in added
        assert await poll(t1 + timedelta(minutes=1)) == 1
        feed_server.add_status("/paid.xml", 500)
        assert await poll(t1 + timedelta(hours=2)) >= 1
        assert "feed failed" in caplog.text

        # Autocomplete offers this chat's sources: names without secrets, opaque values.
        choices = await member.autocomplete("")
        assert [c["name"] for c in choices] == [
            "Bawaan (127.0.0.1)",
            "Grup (127.0.0.1)",
            "Berbayar (127.0.0.1)",
        ]
        assert all(c["value"].startswith("#") for c in choices)
        assert [c["name"] for c in await stranger.autocomplete("asing")] == ["Asing (127.0.0.1)"]
        assert paid_url in [c["name"] for c in await operator.autocomplete("")]
        # ...and the opaque value works as the option's value, in the asking chat only.
        paid_id = choices[2]["value"]
        switched = await stranger.ask(opt("action", "remove"), opt("url", paid_id))
        assert switched == t("feed_switched_off", "en", title="Berbayar (127.0.0.1)")
        assert paid_url in await app.store.chat_source_urls(channel)
        again = await stranger.ask(opt("action", "remove"), opt("url", paid_id))
        assert again == t("feed_not_found", "en", url=paid_id)
        assert "Berbayar (127.0.0.1)" in await member.ask()
        status = await member.ask({"command": "status"})
        assert "Berbayar (127.0.0.1): failed 1×" in status
        assert TOKEN in await operator.ask({"command": "status"})

        # OPML out, as an attachment of the answer.
        uploads = len(rest.uploads)
        exported = await admin.ask(opt("action", "export"))
        assert exported.startswith("This chat's sources as OPML (3 sources).")
        [(_, _, filename, data)] = rest.uploads[uploads:]
        assert filename == "warta-sources.opml"
        assert [s.url for s in parse_opml(data)] == [default_url, group_url]
        assert b'text="Berbayar (127.0.0.1)"' in data
        assert not leaks(data.decode())

        # OPML in, from the attachment option; discord.py downloads it from its URL.
        opml = to_opml([Feed(url=extra_url, title="Impor"), Feed(url=dm_url, title="Asing")])
        upload_url = feed_server.url(feed_server.add_bytes("/cdn/list.opml", opml))
        att_id = str(next(_ids))
        resolved = {
            "attachments": {
                att_id: {
                    "id": att_id,
                    "filename": "list.opml",
                    "size": len(opml),
                    "url": upload_url,
                    "proxy_url": upload_url,
                    "content_type": "text/x-opml",
                }
            }
        }
        report = await stranger.ask(
            opt("action", "import"), opt("file", att_id, type_=11), resolved=resolved
        )
        assert report.startswith("OPML import: 1 added, 1 already there, 0 skipped.")
        assert "Impor (127.0.0.1)" in report
        assert extra_url in await app.store.chat_source_urls(dm)
        assert extra_url not in await app.store.chat_source_urls(channel)
    finally:
        await adapter.stop()

    for who in (admin, member, stranger):
        assert not any(leaks(text) for text in who.seen), who.user_id
    assert not leaks(caplog.text)
