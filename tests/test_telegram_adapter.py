"""The Telegram adapter against a real Bot API peer: the third-party ``telegram-test-api``
emulator (node) behind the fix-up proxy in ``tests/peers/telegram_emulator.py``.

Needs ``npm ci --prefix tests/peers``; skipped locally without node/the package, a failure in CI.
The emulator enforces no limits and never answers 429 or "can't parse entities": those errors
are *injected* by the proxy. Chat membership (getChatMember/getChat) is not in the emulator
either: the proxy answers it from the FakeChat set up by each test.

The command core is a stub defined here that echoes the Invocation (the real core is tested on
its own; the full end-to-end scenario lives elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import ApplicationHandlerStop

from bot.adapters.base import ChatAdapter
from bot.adapters.telegram import (
    COMMANDS,
    DESCRIPTIONS,
    INDONESIAN_NAMES,
    TelegramAdapter,
    TokenMaskFilter,
    api_base_url,
    chat_id_of,
    create,
    mask_secrets,
)
from bot.commands import CommandCore, Invocation, Reply
from bot.errors import ChannelMoved, ConfigError, PermanentDeliveryError, RetryLater
from bot.models import (
    ChannelRef,
    Digest,
    DigestEntry,
    Story,
    Summary,
    TopicResult,
)
from bot.render.telegram import render_digest, to_plain
from tests.peers.telegram_emulator import (
    BOT_USERNAME,
    FakeChat,
    FixupProxy,
    NodeEmulator,
)

emulator = pytest.mark.telegram_emulator


class EchoCore:
    """Stand-in command core: records invocations, answers with what it saw."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []

    async def handle(self, inv: Invocation) -> Reply:
        self.invocations.append(inv)
        return Reply(
            text=f"echo {inv.command} [{inv.args}] admin={inv.is_admin} kind={inv.chat_kind} <ok>",
            lang="en",
        )


@pytest.fixture
async def peer(node: NodeEmulator, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FixupProxy]:
    # Opt into PTB 23's timedelta time periods: PTB 22 warns (an error here) when a RetryAfter
    # is built with the int form.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with FixupProxy(node.url) as proxy:  # a fresh token: isolated emulator state
        yield proxy


@pytest.fixture
def core() -> EchoCore:
    return EchoCore()


@pytest.fixture
async def adapter(peer: FixupProxy, core: EchoCore) -> AsyncIterator[TelegramAdapter]:
    tg = create(token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0)
    await tg.start(core)
    yield tg
    await tg.stop()


def _digest(title: str = "Seniman & <AI>") -> Digest:
    now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    story = Story(
        feed_url="https://example.org/feed",
        key="k1",
        url="https://example.org/a?x=1&y=2",
        title=title,
        text="",
        source="Kompas",
        lang="id",
        published=now,
        content_hash="h",
    )
    entry = DigestEntry(
        story,
        Summary(title, ("Poin pertama 🎨", "Poin <b>kedua</b>"), "id"),
        TopicResult(1.0, True),
    )
    return Digest("id", "Ringkasan AI & Seniman", now, now, "Asia/Jakarta", [entry])


# --------------------------------------------------------------------------- lifecycle, menus


@emulator
async def test_start_registers_menus_in_both_languages(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    assert isinstance(adapter, ChatAdapter)
    assert adapter.username == BOT_USERNAME
    assert [c["command"] for c in peer.commands[None]] == list(COMMANDS)
    # The Indonesian menu shows the Indonesian names, each one the core answers to.
    id_menu = [c["command"] for c in peer.commands["id"]]
    assert id_menu == [INDONESIAN_NAMES[name] for name in COMMANDS]
    assert id_menu[:3] == ["langganan", "berhenti", "pengaturan"]
    assert "statistik" in id_menu
    assert "bantuan" in id_menu
    assert [CommandCore.canonical_name(name) for name in id_menu] == list(COMMANDS)
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", name) for name in id_menu)
    by_name = {c["command"]: c["description"] for c in peer.commands["id"]}
    assert by_name["cari"] == DESCRIPTIONS["id"]["search"] != DESCRIPTIONS["en"]["search"]


@emulator
async def test_stop_twice_and_bad_settings(adapter: TelegramAdapter) -> None:
    await adapter.stop()
    await adapter.stop()
    with pytest.raises(ConfigError):
        create(token="")
    with pytest.raises(ConfigError):
        create(token="1:x", no_such_setting=True)


# --------------------------------------------------------------------------- incoming commands


@emulator
async def test_help_in_private_chat(
    adapter: TelegramAdapter, peer: FixupProxy, core: EchoCore
) -> None:
    await peer.user_sends("/help", chat_id=5001, user_id=5001, language_code="id")
    [reply] = await peer.wait_bot_messages(5001)
    assert reply["parse_mode"] == "HTML"
    assert reply["text"] == "echo help [] admin=True kind=private &lt;ok&gt;"
    [inv] = core.invocations
    assert inv.channel == ChannelRef("telegram", "5001")
    assert (inv.user_id, inv.is_admin, inv.locale, inv.chat_kind) == ("5001", True, "id", "private")


@emulator
async def test_commands_in_a_group_need_our_name_and_check_admin(
    adapter: TelegramAdapter, peer: FixupProxy, core: EchoCore
) -> None:
    group = peer.add_chat(FakeChat(-1001234, "supergroup", "Seni", admins={7}, creator=8))
    # Addressed to another bot: not ours, no reply.
    await peer.user_sends("/status@OtherBot", chat_id=group.id, chat_type="supergroup", user_id=42)
    await peer.user_sends(
        f"/help@{BOT_USERNAME}", chat_id=group.id, chat_type="supergroup", user_id=42
    )
    await peer.user_sends(
        f"/search@{BOT_USERNAME}  sora  protes ",
        chat_id=group.id,
        chat_type="supergroup",
        user_id=7,
    )
    await peer.user_sends("/settings", chat_id=group.id, chat_type="supergroup", user_id=8)
    replies = await peer.wait_bot_messages(group.id, 3)
    assert len(replies) == 3
    by_command = {inv.command: inv for inv in core.invocations}
    assert sorted(by_command) == ["help", "search", "settings"]
    assert by_command["help"].is_admin is False
    assert by_command["search"].is_admin is True  # administrator
    assert by_command["search"].args == "sora  protes"
    assert by_command["settings"].is_admin is True  # creator
    assert {inv.chat_kind for inv in core.invocations} == {"group"}
    texts = sorted(r["text"] for r in replies)
    assert texts[0].startswith("echo help [] admin=False kind=group")


@emulator
async def test_channel_post_command_is_by_an_admin(
    adapter: TelegramAdapter, peer: FixupProxy, core: EchoCore
) -> None:
    channel = peer.add_chat(FakeChat(-1009876, "channel", "Kanal Seni", username="kanalseni"))
    await peer.user_sends(
        "/subscribe", chat_id=channel.id, chat_type="channel",
        sender_chat={"id": channel.id, "type": "channel", "title": "Kanal Seni"},
    )  # fmt: skip
    [reply] = await peer.wait_bot_messages(channel.id)
    assert "kind=channel" in reply["text"]
    [inv] = core.invocations
    assert (inv.command, inv.is_admin, inv.chat_kind) == ("subscribe", True, "channel")


@emulator
async def test_is_admin_of_a_target_channel_and_resolve(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    peer.add_chat(FakeChat(-1005555, "channel", "Kanal", username="kanalku", admins={7}))
    target = await adapter.resolve_channel("@kanalku")
    assert target == ChannelRef("telegram", "-1005555")
    assert await adapter.resolve_channel("@tidakada") is None
    assert await adapter.is_admin_of(ChannelRef("telegram", "@kanalku"), "7") is True
    assert await adapter.is_admin_of(target, "42") is False
    assert await adapter.is_admin_of(ChannelRef("telegram", "-100404"), "7") is False  # unknown
    # Cached: asking again does not call getChatMember again.
    before = len(peer.calls_of("getChatMember"))
    assert await adapter.is_admin_of(target, "42") is False
    assert len(peer.calls_of("getChatMember")) == before


# --------------------------------------------------------------------------- delivery


@emulator
async def test_send_part_posts_html_without_previews(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    parts = adapter.render_digest(_digest())
    assert len(parts) == 1
    channel = ChannelRef("telegram", "-100777")
    message_id = await adapter.send_part(channel, parts[0])
    [posted] = await peer.bot_messages(-100777)
    assert str(posted["message_id"]) == message_id
    assert posted["text"] == parts[0]
    assert posted["parse_mode"] == "HTML"  # the strict peer accepted our markup
    [call] = peer.calls_of("sendMessage")
    assert call["link_preview_options"] == {"is_disabled": True}


@emulator
async def test_one_429_is_retried_by_the_rate_limiter_without_double_post(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    # Injected: the emulator itself has no flood control.
    peer.inject_429(times=1, retry_after=1)
    message_id = await adapter.send_part(ChannelRef("telegram", "5002"), "<b>satu</b>")
    posted = await peer.bot_messages(5002)
    assert [p["text"] for p in posted] == ["<b>satu</b>"]  # posted exactly once
    assert str(posted[0]["message_id"]) == message_id
    assert len(peer.calls_of("sendMessage")) == 2  # refused once, then accepted


@emulator
async def test_429_beyond_the_retries_surfaces_as_retry_later(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    # Injected: max_retries=3, so a 4th consecutive 429 reaches the outbox.
    peer.inject_429(times=4, retry_after=1)
    with pytest.raises(RetryLater) as caught:
        await adapter.send_part(ChannelRef("telegram", "5003"), "dua")
    assert caught.value.retry_after == 1.0
    assert await peer.bot_messages(5003) == []  # nothing posted: the outbox may retry safely
    assert len(peer.calls_of("sendMessage")) == 4


@emulator
async def test_parse_error_is_resent_as_plain_text(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    part = render_digest(_digest())[0]
    # Injected once: our renderer's markup is valid, so force Telegram's refusal.
    peer.inject_error(
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3'
    )
    message_id = await adapter.send_part(ChannelRef("telegram", "5004"), part)
    [posted] = await peer.bot_messages(5004)
    assert str(posted["message_id"]) == message_id
    assert "parse_mode" not in posted
    assert posted["text"] == to_plain(part)
    assert "Seniman & <AI>" in posted["text"]


@emulator
async def test_really_bad_markup_falls_back_too(adapter: TelegramAdapter, peer: FixupProxy) -> None:
    # Not injected: the proxy checks HTML like Telegram and refuses an unclosed tag.
    await adapter.send_part(ChannelRef("telegram", "5005"), "<b>tebal <i>miring</b>")
    [posted] = await peer.bot_messages(5005)
    assert "parse_mode" not in posted
    assert posted["text"] == "tebal miring"


@emulator
@pytest.mark.parametrize(
    ("status", "description"),
    [
        (403, "Forbidden: bot was kicked from the supergroup chat"),
        (403, "Forbidden: bot was blocked by the user"),
        (400, "Bad Request: chat not found"),
        (400, "Bad Request: not enough rights to send text messages to the chat"),
    ],
)
async def test_permanent_errors(
    adapter: TelegramAdapter, peer: FixupProxy, status: int, description: str
) -> None:
    peer.inject_error(description, status=status)  # injected: the emulator accepts any chat
    with pytest.raises(PermanentDeliveryError, match="(?i)" + description.split(": ", 1)[1][:20]):
        await adapter.send_part(ChannelRef("telegram", "-100888"), "halo")
    assert len(peer.calls_of("sendMessage")) == 1  # not retried


@emulator
async def test_server_error_is_retry_later(adapter: TelegramAdapter, peer: FixupProxy) -> None:
    peer.inject_error("Bad Gateway", status=502)
    with pytest.raises(RetryLater):
        await adapter.send_part(ChannelRef("telegram", "5006"), "halo")


def _migrated(new_chat_id: int) -> dict[str, Any]:
    # The Bot API's answer for a group that became a supergroup (the emulator never migrates
    # chats, so the proxy injects it).
    return {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": new_chat_id},
    }


@emulator
async def test_a_migrated_group_raises_channel_moved(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    peer.inject("sendMessage", 400, _migrated(-1004001))
    with pytest.raises(ChannelMoved) as caught:
        await adapter.send_part(ChannelRef("telegram", "-4001"), "halo")
    assert caught.value.new_channel == ChannelRef("telegram", "-1004001")
    assert not isinstance(caught.value, PermanentDeliveryError)  # the outbox must not pause
    assert len(peer.calls_of("sendMessage")) == 1
    # The new id takes the message.
    await adapter.send_part(caught.value.new_channel, "halo")
    [posted] = await peer.bot_messages(-1004001)
    assert posted["text"] == "halo"


@emulator
async def test_a_command_reply_follows_the_group_to_its_supergroup(
    adapter: TelegramAdapter, peer: FixupProxy, core: EchoCore
) -> None:
    group = peer.add_chat(FakeChat(-4002, "group", "Seni", admins={7}))
    peer.inject("sendMessage", 400, _migrated(-1004002))
    await peer.user_sends("/help", chat_id=group.id, chat_type="group", user_id=7)
    [reply] = await peer.wait_bot_messages(-1004002)
    assert reply["text"].startswith("echo help [] admin=True kind=group")
    assert "reply_parameters" not in reply  # the message replied to stayed in the old chat
    assert await peer.bot_messages(group.id) == []


class MoveRecordingCore(EchoCore):
    def __init__(self) -> None:
        super().__init__()
        self.moves: list[tuple[ChannelRef, ChannelRef]] = []
        self.moved = asyncio.Event()

    async def channel_moved(self, old: ChannelRef, new: ChannelRef) -> None:
        self.moves.append((old, new))
        self.moved.set()


@emulator
async def test_the_migrate_service_message_reaches_the_core(peer: FixupProxy) -> None:
    # The emulator cannot produce service messages: the proxy answers one getUpdates with the
    # update Telegram sends to the old group when it becomes a supergroup.
    service = {
        "update_id": 900_001,
        "message": {
            "message_id": 77,
            "date": int(time.time()),
            "chat": {"id": -4003, "type": "group", "title": "Seni"},
            "migrate_to_chat_id": -1004003,
        },
    }
    peer.inject("getUpdates", 200, {"ok": True, "result": [service]})
    core = MoveRecordingCore()
    tg = create(token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0)
    await tg.start(core)
    try:
        # A deadline for the peer, not a timing assertion: on timeout the assert below says why.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(core.moved.wait(), 15)
    finally:
        await tg.stop()
    assert core.moves == [(ChannelRef("telegram", "-4003"), ChannelRef("telegram", "-1004003"))]
    assert core.invocations == []


@emulator
async def test_send_reply_outside_an_interaction(
    adapter: TelegramAdapter, peer: FixupProxy
) -> None:
    ids = await adapter.send_reply(
        ChannelRef("telegram", "5007"), Reply(text="Berita <baru>", lang="id", digest=_digest())
    )
    posted = await peer.bot_messages(5007)
    assert [str(p["message_id"]) for p in posted] == ids
    assert posted[0]["text"] == "Berita &lt;baru&gt;"
    assert posted[1]["text"].startswith("<b>Ringkasan AI &amp; Seniman</b>")


# --------------------------------------------------------------------------- secrets


@emulator
async def test_token_never_reaches_the_logs(
    peer: FixupProxy, core: EchoCore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(TokenMaskFilter())
    caplog.set_level(logging.DEBUG)
    tg = create(token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0)
    await tg.start(core)
    await tg.send_part(ChannelRef("telegram", "5008"), "x")
    await tg.stop()
    secret = peer.token.split(":", 1)[1]
    assert secret not in caplog.text
    assert "/bot" in caplog.text  # PTB/httpx did log the API URLs, masked
    assert secret not in repr(tg)


def test_mask_secrets_patterns() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-_x"
    assert token not in mask_secrets(f"POST https://api.example/bot{token}/getMe")
    assert token not in mask_secrets(f"token={token} done")
    assert mask_secrets("at 12:30:00 nothing") == "at 12:30:00 nothing"


def test_api_base_url_forms() -> None:
    assert api_base_url("http://127.0.0.1:8081") == "http://127.0.0.1:8081/bot"
    assert api_base_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/bot"
    assert api_base_url("http://h/custom/{token}") == "http://h/custom/{token}"
    assert api_base_url(None) is None


# --------------------------------------------------------------------------- without a peer
# Real PTB objects built from data (no network): the paths the emulator cannot produce.


def _message(text: str, chat: Chat, **kwargs: object) -> Message:
    return Message(message_id=1, date=datetime.now(UTC), chat=chat, text=text, **kwargs)  # type: ignore[arg-type]


async def test_anonymous_admin_and_linked_channel_forwards() -> None:
    tg = create(token="1:x" * 4)
    group = Chat(-1002, Chat.SUPERGROUP)
    anonymous = await tg.invocation_for(
        _message(
            "/settings lang en", group, sender_chat=group, from_user=User(1087968824, "Group", True)
        )
    )
    assert anonymous is not None
    assert (anonymous.command, anonymous.args, anonymous.is_admin) == ("settings", "lang en", True)
    forwarded = _message(
        "/subscribe", group, sender_chat=Chat(-1003, Chat.CHANNEL), is_automatic_forward=True
    )
    assert await tg.invocation_for(forwarded) is None  # the channel_post already ran it
    other_channel = await tg.invocation_for(
        _message("/subscribe", group, sender_chat=Chat(-1004, Chat.CHANNEL))
    )
    assert other_channel is not None
    assert other_channel.is_admin is False  # posting as some channel proves nothing here


async def test_start_means_help_and_args_keep_lines() -> None:
    tg = create(token="1:x" * 4)
    private = Chat(9, Chat.PRIVATE)
    user = User(9, "Tester", False, language_code="en-US")
    start = await tg.invocation_for(_message("/start", private, from_user=user))
    assert start is not None
    assert (start.command, start.locale, start.is_admin) == ("help", "en-US", True)
    search = await tg.invocation_for(_message("/search sora\nprotes", private, from_user=user))
    assert search is not None
    assert search.args == "sora\nprotes"
    assert await tg.invocation_for(_message("hello", private, from_user=user)) is None


async def test_duplicate_update_ids_are_dropped() -> None:
    tg = create(token="1:x" * 4)
    context: Any = None
    await tg._drop_seen(Update(41), context)
    await tg._drop_seen(Update(40), context)  # out of order is fine (concurrent updates)
    with pytest.raises(ApplicationHandlerStop):
        await tg._drop_seen(Update(41), context)


def test_chat_ids() -> None:
    assert chat_id_of(ChannelRef("telegram", "-1001234")) == -1001234
    assert chat_id_of(ChannelRef("telegram", "@kanal")) == "@kanal"
    with pytest.raises(PermanentDeliveryError):
        chat_id_of(ChannelRef("discord", "1"))
    with pytest.raises(PermanentDeliveryError):
        chat_id_of(ChannelRef("telegram", "kanal"))
