"""Every chat owns its sources, on Telegram's real path.

Real: the SQLite store (``App.open``), the defaults file synced by ``App.sync_feeds_file``, the
loopback feed server polled by the real poll job, the real command core from ``build_core``
(operators from the settings), the Telegram adapter on python-telegram-bot against the
``telegram-test-api`` emulator behind the fix-up proxy, and the outbox's ``compose_due``.
The emulator has no files: the proxy records ``sendDocument`` uploads and serves the documents
users send (``getFile`` + the file route), and says so in its fix-up list. The clock is injected.

Proves: a stranger's DM changes nothing the group receives; the group and the DM get different
digests while each feed URL is fetched once per interval however many chats use it; nobody but
an operator sees a paid feed's token or password (replies, documents, logs); OPML export and
import through chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.telegram import TelegramAdapter, create
from bot.app import App
from bot.config import Settings
from bot.delivery import compose_due
from bot.digest import digest_from_json
from bot.feeds.opml import parse_opml, to_opml
from bot.lang.strings import t
from bot.models import ChannelRef, Feed
from bot.runner import Composer, build_core, make_poll_job
from bot.summarize.base import get_summarizer
from tests import feedserver
from tests.conftest import daily_after
from tests.crash_worker import FakeClock
from tests.feedserver import FeedServer
from tests.peers.telegram_emulator import (
    FakeChat,
    FixupProxy,
    NodeEmulator,
    telegram_html_error,
)
from tests.tenancy_helpers import (
    PASSWORD,
    TOKEN,
    capture_logs,
    leaks,
    secret_url,
    serve,
    source_feed,
    story_urls,
)

pytestmark = pytest.mark.telegram_emulator
feed_server = feedserver.feed_server

OPERATOR, ADMIN, MEMBER, STRANGER = 99, 7, 42, 555
GROUP_ID = -1001800


@pytest.fixture
async def peer(node: NodeEmulator) -> AsyncIterator[FixupProxy]:
    async with FixupProxy(node.url) as proxy:
        yield proxy


def visible(html: str) -> str:
    error, text = telegram_html_error(html)
    assert error is None, error
    return text


class Chat:
    """Someone typing in one chat; ``say`` returns the bot's answer as they see it."""

    def __init__(self, peer: FixupProxy, chat_id: int, user_id: int, kind: str) -> None:
        self.peer, self.chat_id, self.user_id, self.kind = peer, chat_id, user_id, kind
        self.seen: list[str] = []

    async def say(self, text: str) -> str:
        before = len(await self.peer.bot_messages(self.chat_id))
        await self.peer.user_sends(
            text, chat_id=self.chat_id, chat_type=self.kind, user_id=self.user_id,
            language_code="en",
        )  # fmt: skip
        answer = visible(
            (await self.peer.wait_bot_messages(self.chat_id, before + 1))[before]["text"]
        )
        self.seen.append(answer)
        return answer


async def test_chats_own_their_sources_on_telegram(
    tmp_path: Path,
    feed_server: FeedServer,
    peer: FixupProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    capture_logs(caplog)
    # Real time: feeds added from chat are due "now" by the store's clock.
    start = datetime.now(UTC).replace(microsecond=0)
    t0 = start + timedelta(minutes=10)
    clock = FakeClock(t0)
    default_url = serve(feed_server, "Bawaan", 0, start, count=2)
    group_url = serve(feed_server, "Grup", 2, start, count=2)
    dm_url = serve(feed_server, "Asing", 4, start, count=2)
    extra_url = serve(feed_server, "Impor", 6, start, count=2)
    feed_server.add_bytes("/paid.xml", source_feed("Berbayar", 8, 2, start))
    paid_url = secret_url(feed_server, "/paid.xml")
    defaults_file = tmp_path / "feeds.toml"
    defaults_file.write_text(f'[[feed]]\nurl = "{default_url}"\ninterval = "15m"\n')

    db = f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}"
    settings = Settings(
        database_url=db,
        feeds_file=str(defaults_file),
        allow_loopback=True,
        operators_telegram=(OPERATOR,),
        # One scripted user sends many commands within seconds; the rate limits have their own
        # tests (tests/test_limits.py, tests/test_e2e_limits.py), so they are wide open here.
        rate_user_burst=1000,
        rate_chat_burst=1000,
    )
    peer.add_chat(FakeChat(GROUP_ID, "supergroup", "Seni & AI", admins={ADMIN}, creator=8))
    group = ChannelRef("telegram", str(GROUP_ID))
    dm = ChannelRef("telegram", str(STRANGER))

    async with await App.open(settings, database_url=db) as app:
        assert await app.sync_feeds_file() == 1
        tg: TelegramAdapter = create(
            token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0,
            operators=settings.operators_telegram,
        )  # fmt: skip
        summarizer = get_summarizer("extractive")
        core = build_core(app, {"telegram": tg}, summarizer, now=clock)
        await tg.start(core)
        try:
            admin = Chat(peer, GROUP_ID, ADMIN, "supergroup")
            member = Chat(peer, GROUP_ID, MEMBER, "supergroup")
            stranger = Chat(peer, STRANGER, STRANGER, "private")
            operator = Chat(peer, OPERATOR, OPERATOR, "private")
            poll = make_poll_job(app)

            # The group's admin adds a source for the group; both chats subscribe.
            answer = await admin.say(f"/feeds add {group_url}")
            assert answer == t("feed_added", "en", title="Grup (127.0.0.1)")
            schedule = daily_after(t0, settings.timezone)
            assert (await admin.say(f"/subscribe en {schedule}")).startswith("Subscribed")
            assert (await stranger.say(f"/subscribe en {schedule}")).startswith("Subscribed")
            assert await poll(t0) == 2
            group_set = await app.store.chat_source_urls(group)
            assert group_set == {default_url, group_url}

            # A stranger in a DM: adds their own feed and the group's, switches the default
            # off, and cannot touch the defaults. Only the DM changes.
            assert (await stranger.say(f"/feeds add {dm_url}")).startswith("Source added: Asing")
            assert (await stranger.say(f"/feeds add {group_url}")).startswith("Source added")
            answer = await stranger.say(f"/feeds remove {default_url}")
            assert answer == t("feed_switched_off", "en", title="Bawaan (127.0.0.1)")
            answer = await stranger.say(f"/feeds default remove {default_url}")
            assert answer == t("not_operator", "en", action="default")
            assert await app.store.chat_source_urls(group) == group_set
            assert await app.store.chat_source_urls(dm) == {dm_url, group_url}
            assert await poll(t0) == 1  # the stranger's new feed, due at once

            # Each URL is fetched once per interval, however many chats read it.
            paths = ["/bawaan.xml", "/grup.xml", "/asing.xml"]
            before = {p: feed_server.stats(p).requests for p in paths}
            t1 = t0 + timedelta(hours=2)
            assert await poll(t1) == 3
            assert {p: feed_server.stats(p).requests - before[p] for p in paths} == dict.fromkeys(
                paths, 1
            )
            assert await poll(t1) == 0

            # Scheduled digests: the group's is exactly what its own sources make, the DM's
            # comes from the DM's sources.
            sub = await app.store.get_subscription(group)
            assert sub is not None
            assert sub.next_run_at is not None
            due = sub.next_run_at + timedelta(minutes=1)
            clock.now = due
            assert await compose_due(app.store, due) == 2
            digests = {
                d.channel: digest_from_json(d.payload) for d in await app.store.list_deliveries()
            }
            group_digest, dm_digest = digests[group], digests[dm]
            assert story_urls(group_digest.entries) == {default_url, group_url}
            assert story_urls(dm_digest.entries) == {group_url, dm_url}
            unchanged = await Composer(app, summarizer)(
                app.store,
                lang=group_digest.lang,
                start=group_digest.window_start,
                end=group_digest.window_end,
                tz=sub.tz,
                max_stories=sub.max_stories,
                feeds=group_set,  # the group's set from before the stranger acted
            )
            assert [e.story.url for e in unchanged.entries] == [
                e.story.url for e in group_digest.entries
            ]

            # /latest and /search in each chat read that chat's set.
            latest = await stranger.say("/latest 20")
            assert "Asing:" in latest
            assert "Bawaan:" not in latest
            assert "Bawaan:" in await member.say("/search gugat")
            assert "Asing:" not in await member.say("/search gugat")

            # An operator adds a paid feed as a default: they see its address in full...
            answer = await operator.say(f"/feeds default add {paid_url}")
            assert answer.startswith("Default source (every chat) added")
            assert TOKEN in answer
            assert TOKEN in await operator.say("/feeds")
            assert await poll(t1 + timedelta(minutes=1)) == 1
            assert paid_url in await app.store.chat_source_urls(group)
            # ...it fails later (a log line names it), and nobody else ever sees the secrets.
            feed_server.add_status("/paid.xml", 500)
            assert await poll(t1 + timedelta(hours=2)) >= 1
            assert "feed failed" in caplog.text
            assert "Berbayar (127.0.0.1)" in await member.say("/feeds")
            status = await member.say("/status")
            assert "This chat's sources: 3 (1 failing, 0 disabled)" in status
            assert "Berbayar (127.0.0.1): failed 1×" in status
            assert "already exists: Berbayar (127.0.0.1)" in await admin.say(
                f"/feeds add {paid_url}"
            )
            assert "Berbayar (127.0.0.1)" in await stranger.say(f"/feeds remove {paid_url}")
            assert TOKEN in await operator.say("/status")

            # OPML out: the group's sources as a document; the paid feed by name only.
            before_docs = len(peer.documents)
            assert (await admin.say("/feeds export")).startswith("This chat's sources as OPML")
            [doc] = (await peer.wait_documents(GROUP_ID, 1))[-1:]
            assert len(peer.documents) == before_docs + 1
            assert doc["file_name"] == "warta-sources.opml"
            assert [s.url for s in parse_opml(doc["data"])] == [default_url, group_url]
            assert not leaks(doc["data"].decode())
            await operator.say("/feeds export default")
            [op_doc] = await peer.wait_documents(OPERATOR, 1)
            assert paid_url in [s.url for s in parse_opml(op_doc["data"])]

            # OPML in: a document captioned "/feeds import" in the stranger's DM.
            opml = to_opml(
                [Feed(url=extra_url, title="Impor"), Feed(url=dm_url, title="Asing")]
            ).replace(b"</body>", b'<outline text="LAN" xmlUrl="http://10.1.2.3/rss"/></body>')
            n = len(await peer.bot_messages(STRANGER))
            await peer.user_sends_document(
                peer.add_file(opml, "langganan.opml"),
                caption="/feeds import",
                chat_id=STRANGER,
                user_id=STRANGER,
                language_code="en",
            )
            report = visible((await peer.wait_bot_messages(STRANGER, n + 1))[n]["text"])
            stranger.seen.append(report)
            assert report.split("\n") == [
                "OPML import: 1 added, 1 already there, 1 skipped.",
                "",
                "1. Impor (127.0.0.1)",
                "   added",
                "2. Asing (127.0.0.1)",
                "   already there",
                "3. LAN (10.1.2.3)",
                "   skipped: " + t("url_refused", "en"),
            ]
            assert extra_url in await app.store.chat_source_urls(dm)
            assert extra_url not in await app.store.chat_source_urls(group)

            # The other way in: "/feeds import" as a reply to a document, here in the group.
            n = len(await peer.bot_messages(GROUP_ID))
            await peer.user_sends(
                "/feeds import",
                chat_id=GROUP_ID,
                chat_type="supergroup",
                user_id=ADMIN,
                language_code="en",
                reply_to={"document": peer.add_file(opml, "dari-dm.opml")},
            )
            report = visible((await peer.wait_bot_messages(GROUP_ID, n + 1))[n]["text"])
            admin.seen.append(report)
            assert report.startswith("OPML import: 2 added, 0 already there, 1 skipped.")
            assert {extra_url, dm_url} <= await app.store.chat_source_urls(group)
        finally:
            await tg.stop()

    # Nothing a non-operator saw, and no log line, carries the token or the password.
    for seen in (admin.seen, member.seen, stranger.seen):
        assert not any(leaks(text) for text in seen)
    assert not leaks(caplog.text)
    assert PASSWORD not in caplog.text
