"""Chat `/stats` and digest permalinks, on both platforms' real paths.

Real: the SQLite store (``App.open``), the defaults file synced by ``App.sync_feeds_file``, the
loopback feed server polled by the real poll job, the command core from ``build_core`` (its
``Composer`` sets permalinks from ``web_base_url``), matplotlib drawing the chart, and each
adapter's real client: python-telegram-bot against the ``telegram-test-api`` emulator behind
the fix-up proxy (which records ``sendPhoto`` uploads: the emulator has no files), and
discord.py's ``app_commands`` tree and HTTP client against tests/peers/discord_rest.py (which
records multipart uploads). Stand-in: Discord's gateway (INTERACTION_CREATE payloads built as
in tests/test_e2e_tenancy_discord.py). ``web_base_url`` is only text in the messages here: no
request goes to it.

Proves: `/stats` (and `/statistik`) answer with a PNG counted over the asking chat's own
source set, sent as a Telegram photo and as a Discord attachment shown by an embed
(``attachment://stats.png``); a chat digest, asked for or scheduled, carries exactly one
"view on the web" link to its day's permalink.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.telegram import TelegramAdapter, create
from bot.app import App
from bot.config import Settings
from bot.delivery import compose_due
from bot.digest import digest_from_json
from bot.lang.strings import t
from bot.models import ChannelRef
from bot.runner import Composer, build_core, make_poll_job
from bot.summarize.base import get_summarizer
from bot.web.links import digest_url
from tests import feedserver
from tests.conftest import daily_after
from tests.crash_worker import FakeClock
from tests.feedserver import FeedServer
from tests.peers import discord_rest
from tests.peers.discord_rest import TOKEN as BOT_TOKEN
from tests.peers.discord_rest import DiscordREST
from tests.peers.telegram_emulator import FakeChat, FixupProxy, NodeEmulator
from tests.tenancy_helpers import serve
from tests.test_e2e_tenancy_discord import (
    ADMIN_ID,
    ADMIN_PERMS,
    CHANNEL_ID,
    STRANGER_DM,
    STRANGER_ID,
    dispatch,
    opt,
    payload,
)
from tests.test_e2e_tenancy_discord import (
    GUILD_ID as DISCORD_GUILD,
)
from tests.test_e2e_tenancy_telegram import Chat

feed_server = feedserver.feed_server
rest = discord_rest.rest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SITE = "https://warta.example"
TG_GROUP = -1001900
TG_ADMIN, TG_STRANGER = 7, 555


@pytest.fixture
async def peer(node: NodeEmulator) -> AsyncIterator[FixupProxy]:
    async with FixupProxy(node.url) as proxy:
        yield proxy


async def open_app(tmp_path: Path, feed_server: FeedServer, start: datetime) -> App:
    """An app whose one default source is "Bawaan", with the site's URL set."""
    default_url = serve(feed_server, "Bawaan", 0, start, count=3)
    defaults = tmp_path / "feeds.toml"
    defaults.write_text(f'[[feed]]\nurl = "{default_url}"\ninterval = "15m"\n')
    settings = Settings(
        feeds_file=str(defaults), allow_loopback=True, web_base_url=SITE, timezone="Asia/Jakarta"
    )
    app = await App.open(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    assert await app.sync_feeds_file() == 1
    return app


def web_links(html: str) -> list[str]:
    return re.findall(r'<a href="(https://warta\.example/[^"]*)">', html)


async def messages_until_link(peer: FixupProxy, chat_id: int, before: int) -> list[str]:
    """The bot's messages to ``chat_id`` after the first ``before``, up to the one that holds
    a link to the site (a digest's last part: the parts before it were sent before it)."""
    count = before + 1
    while True:
        sent = [m["text"] for m in (await peer.wait_bot_messages(chat_id, count))[before:]]
        if any(SITE in text for text in sent):
            return sent
        count = before + len(sent) + 1


@pytest.mark.telegram_emulator
async def test_stats_photo_and_permalinks_on_telegram(
    tmp_path: Path, feed_server: FeedServer, peer: FixupProxy
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(start + timedelta(minutes=10))
    app = await open_app(tmp_path, feed_server, start)
    tg: TelegramAdapter = create(
        token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0
    )
    peer.add_chat(FakeChat(TG_GROUP, "supergroup", "Seni & AI", admins={TG_ADMIN}, creator=8))
    summarizer = get_summarizer("extractive")
    try:
        await tg.start(build_core(app, {"telegram": tg}, summarizer, now=clock))
        admin = Chat(peer, TG_GROUP, TG_ADMIN, "supergroup")
        stranger = Chat(peer, TG_STRANGER, TG_STRANGER, "private")
        group_url = serve(feed_server, "Grup", 3, start, count=3)
        assert (await admin.say(f"/feeds add {group_url}")).startswith("Source added")
        assert await make_poll_job(app)(clock()) == 2

        # /stats in the group: one message, the chart as a photo (not a document) under its
        # caption, and no separate text message.
        before = len(await peer.bot_messages(TG_GROUP))
        await peer.user_sends(
            "/stats", chat_id=TG_GROUP, chat_type="supergroup", user_id=TG_ADMIN,
            language_code="en",
        )  # fmt: skip
        [group_png] = await peer.wait_photos(TG_GROUP, 1)
        assert group_png["caption"] == t("stats_caption", "en", weeks=12)
        assert len(await peer.bot_messages(TG_GROUP)) == before
        assert group_png["file_name"] == "stats.png"
        assert group_png["data"].startswith(PNG_MAGIC)
        assert not [d for d in peer.documents if d["chat_id"] == str(TG_GROUP)]

        # /statistik in Indonesian, in a DM whose set is the defaults only: another chart.
        # Telegram refuses the caption's markup once (injected): the photo goes again, its
        # caption as plain text.
        refusal = 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3'
        peer.inject("sendPhoto", 400, {"ok": False, "error_code": 400, "description": refusal})
        uploads = len(peer.calls_of("sendPhoto"))
        before = len(await peer.bot_messages(TG_STRANGER))
        await peer.user_sends(
            "/statistik 8", chat_id=TG_STRANGER, chat_type="private", user_id=TG_STRANGER,
            language_code="id",
        )  # fmt: skip
        [dm_png] = await peer.wait_photos(TG_STRANGER, 1)
        assert dm_png["caption"] == t("stats_caption", "id", weeks=8)
        assert len(peer.calls_of("sendPhoto")) == uploads + 2  # refused, then sent plain
        assert len(await peer.bot_messages(TG_STRANGER)) == before
        assert dm_png["data"].startswith(PNG_MAGIC)
        # The group's chart counts the group's own source too; the DM's does not.
        assert dm_png["data"] != group_png["data"]
        assert (await stranger.say("/stats 99")).startswith('"99" is not a number from 4 to 26')

        # /digest in the group: one link to the day's permalink, at the digest's end.
        before = len(await peer.bot_messages(TG_GROUP))
        await peer.user_sends(
            "/digest", chat_id=TG_GROUP, chat_type="supergroup", user_id=TG_ADMIN,
            language_code="en",
        )  # fmt: skip
        sent = await messages_until_link(peer, TG_GROUP, before)
        expected = digest_url(SITE, "en", clock(), tz="Asia/Jakarta")
        assert [link for html in sent for link in web_links(html)] == [expected]
        assert f'<a href="{expected}">{t("digest_web_link", "en")}</a>' in sent[-1]

        # A scheduled digest carries the same link through the outbox.
        assert (
            await admin.say(f"/subscribe en {daily_after(clock(), 'Asia/Jakarta')}")
        ).startswith("Subscribed")
        sub = await app.store.get_subscription(ChannelRef("telegram", str(TG_GROUP)))
        assert sub is not None
        assert sub.next_run_at is not None
        due = sub.next_run_at + timedelta(minutes=1)
        assert await compose_due(app.store, due, compose=Composer(app, summarizer)) == 1
        [delivery] = await app.store.list_deliveries()
        digest = digest_from_json(delivery.payload)
        assert digest.web_url == digest_url(SITE, "en", sub.next_run_at, tz="Asia/Jakarta")
        parts = tg.render_digest(digest)
        assert [link for part in parts for link in web_links(str(part))] == [digest.web_url]
        await tg.send_part(ChannelRef("telegram", str(TG_GROUP)), parts[-1])
        last = (await peer.bot_messages(TG_GROUP))[-1]["text"]
        assert web_links(last) == [digest.web_url]
    finally:
        await tg.stop()
        await app.close()


async def test_stats_attachment_and_permalink_on_discord(
    tmp_path: Path, feed_server: FeedServer, rest: DiscordREST
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(start + timedelta(minutes=10))
    app = await open_app(tmp_path, feed_server, start)
    adapter = DiscordAdapter(token=BOT_TOKEN, guild_id=DISCORD_GUILD)
    try:
        core = build_core(app, {"discord": adapter}, get_summarizer("extractive"), now=clock)
        await adapter.start(core, connect_gateway=False)
        group_url = serve(feed_server, "Grup", 3, start, count=3)
        add = payload(
            [opt("action", "add"), opt("url", group_url)], user_id=ADMIN_ID, perms=ADMIN_PERMS
        )
        await dispatch(adapter, add)
        assert await make_poll_job(app)(clock()) == 2
        assert await app.store.chat_source_urls(ChannelRef("discord", str(CHANNEL_ID))) == {
            f.url for f in await app.store.list_feeds()
        }

        async def stats(**where: Any) -> tuple[dict[str, Any], bytes]:
            uploads, followups = len(rest.uploads), len(rest.followups)
            await dispatch(adapter, payload([{"command": "stats"}], **where))
            [answer] = rest.followups[followups:]  # deferred at once: drawing takes a moment
            [(path, field, filename, data)] = rest.uploads[uploads:]
            assert (field, filename) == ("files[0]", "stats.png")
            assert path.startswith("/webhooks/")  # the interaction's follow-up message
            return answer, data

        answer, channel_png = await stats(user_id=ADMIN_ID)
        assert answer["content"] == t("stats_caption", "en", weeks=12)
        [embed] = answer["embeds"]
        assert embed["image"] == {"url": "attachment://stats.png"}
        assert [a["filename"] for a in answer["attachments"]] == ["stats.png"]
        assert channel_png.startswith(PNG_MAGIC)
        _, dm_png = await stats(user_id=STRANGER_ID, dm_channel=STRANGER_DM)
        assert dm_png.startswith(PNG_MAGIC)
        assert dm_png != channel_png  # the DM's set is the defaults only

        # /digest: the permalink as one masked link in the first message's content.
        followups = len(rest.followups)
        await dispatch(adapter, payload([{"command": "digest"}], user_id=ADMIN_ID))
        sent = rest.followups[followups:]
        expected = digest_url(SITE, "en", clock(), tz="Asia/Jakarta")
        contents = [str(m.get("content") or "") for m in sent]
        # The reply's own line first, then the digest: its title message holds the link.
        [with_link] = [c for c in contents if SITE in c]
        assert with_link.startswith("**AI & Artists Digest")
        assert with_link.endswith(f"\n[{t('digest_web_link', 'en')}]({expected})")
        assert with_link.count(SITE) == 1
    finally:
        await adapter.stop()
        await app.close()
