"""Both platforms pass through the same command rate limits: a flood reaches the platform as
the commands the burst allows plus exactly one "slow down" message, whatever the flood's size.

Telegram: the real adapter on python-telegram-bot against the ``telegram-test-api`` emulator
behind the fix-up proxy (see tests/test_e2e_telegram.py). Discord: the real adapter's
``app_commands`` tree driven with interaction payloads, discord.py's HTTP client against the
loopback REST peer (see tests/test_e2e_discord.py). The store, core and limits are real and
built by ``build_core`` from settings; the limit's refill is set slow (1 a minute) so no token
comes back while the test runs, which keeps the counts exact without timing anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.adapters.telegram import TelegramAdapter, create
from bot.app import App
from bot.commands import CommandCore, Invocation, Reply
from bot.config import Settings
from bot.lang.strings import t
from bot.runner import build_core
from bot.summarize.base import get_summarizer
from tests.peers import discord_rest
from tests.peers.discord_rest import TOKEN, DiscordREST
from tests.peers.telegram_emulator import FakeChat
from tests.test_e2e_discord import (
    EPHEMERAL,
    GUILD_ID,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    dispatch,
    interaction,
    opt,
)
from tests.test_e2e_telegram import ScriptedProxy, peer, visible

__all__ = ["peer"]  # a fixture used by the Telegram test

rest = discord_rest.rest

LIMITS = {
    "rate_user_per_min": 1.0,
    "rate_user_burst": 3,
    "rate_chat_per_min": 1.0,
    "rate_chat_burst": 15,
}
FLOOD = 10


def slow_down(lang: str) -> str:
    return t("rate_limited", lang, seconds=0).split(":")[0]  # "Slow down" / "Pelan-pelan, ya"


# --------------------------------------------------------------------------- Telegram


class Counted:
    """The core, counting finished commands (silent ones post nothing the test could wait on)."""

    def __init__(self, core: CommandCore) -> None:
        self.core = core
        self.done = 0
        self._changed = asyncio.Event()

    async def handle(self, inv: Invocation) -> Reply:
        try:
            return await self.core.handle(inv)
        finally:
            self.done += 1
            self._changed.set()

    async def wait_done(self, n: int, deadline_s: float = 30.0) -> None:
        # A deadline for the peer, not a timing assertion.
        async with asyncio.timeout(deadline_s):
            while self.done < n:
                self._changed.clear()
                await self._changed.wait()


@pytest.mark.telegram_emulator
async def test_telegram_flood_gets_one_slow_down(tmp_path: Path, peer: ScriptedProxy) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}"
    settings = Settings(database_url=db, **LIMITS)  # type: ignore[arg-type]
    group = peer.add_chat(FakeChat(-1001800, "supergroup", "Seni & AI", admins={7}, creator=8))
    async with await App.open(settings, database_url=db) as app:
        tg: TelegramAdapter = create(
            token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0
        )
        core = Counted(build_core(app, {"telegram": tg}, get_summarizer("extractive")))
        await tg.start(core)  # type: ignore[arg-type]
        try:
            for _ in range(FLOOD):
                await peer.user_sends(
                    "/bantuan", chat_id=group.id, chat_type="supergroup", user_id=42,
                    language_code="id",
                )  # fmt: skip
            await core.wait_done(FLOOD)
            # Another member is still served: the chat's own bucket has room.
            await peer.user_sends(
                "/status", chat_id=group.id, chat_type="supergroup", user_id=43,
                language_code="en",
            )  # fmt: skip
            await core.wait_done(FLOOD + 1)
            messages = await peer.wait_bot_messages(group.id, 3 + 1 + 1)
        finally:
            await tg.stop()
    texts = [visible(m["text"]) for m in messages]
    assert len(texts) == 5, texts
    assert sum(text.startswith(slow_down("id")) for text in texts) == 1
    assert sum(text.startswith("Warta mengirim") for text in texts) == 3
    assert sum(text.startswith(t("status_header", "en")) for text in texts) == 1


# --------------------------------------------------------------------------- Discord


@pytest_asyncio.fixture
async def discord(tmp_path: Path, rest: DiscordREST) -> AsyncIterator[DiscordAdapter]:
    settings = Settings(feeds_file=str(tmp_path / "none.toml"), **LIMITS)  # type: ignore[arg-type]
    async with await App.open(
        settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    ) as app:
        adapter = DiscordAdapter(token=TOKEN, guild_id=GUILD_ID)
        core = build_core(app, {"discord": adapter}, get_summarizer("extractive"))
        await adapter.start(core, connect_gateway=False)
        try:
            yield adapter
        finally:
            await adapter.stop()


def _texts(rest: DiscordREST) -> list[tuple[str, int]]:
    """(content, flags) of every message the interactions produced, in order."""
    out = []
    for cb in rest.interaction_callbacks:
        if cb["type"] == 4:
            data: dict[str, Any] = cb["data"]
            out.append((data.get("content") or "", int(data.get("flags") or 0)))
    for body in rest.followups:
        out.append((body.get("content") or "", int(body.get("flags") or 0)))
    return out


async def test_discord_flood_gets_one_slow_down(discord: DiscordAdapter, rest: DiscordREST) -> None:
    member = VIEW_CHANNEL | SEND_MESSAGES
    for _ in range(FLOOD):
        await dispatch(discord, interaction("help", user_id=4242, perms=member, locale="en-US"))
    # Every interaction was acknowledged (Discord shows "did not respond" otherwise).
    assert len(rest.interaction_callbacks) == FLOOD
    texts = _texts(rest)
    slow = [(c, f) for c, f in texts if c.startswith(slow_down("en"))]
    assert len(slow) == 1
    assert slow[0][1] & EPHEMERAL  # only the flooder sees it
    assert sum(c.startswith("Warta posts") for c, _ in texts) == 3
    # The silent ones: an ephemeral acknowledgement, removed at once, nothing posted.
    silent = [cb for cb in rest.interaction_callbacks if cb["type"] == 5]
    assert len(silent) == FLOOD - 4
    assert all(int(cb["data"]["flags"]) & EPHEMERAL for cb in silent)
    assert len(rest.deleted) == FLOOD - 4
    assert len(texts) == 4

    # A slow command (deferred publicly before the core runs) refused silently leaves nothing.
    await dispatch(
        discord,
        interaction("search", [opt("query", "sora")], user_id=4242, perms=member),
    )
    assert len(rest.deleted) == FLOOD - 4 + 1
    assert len(_texts(rest)) == 4
    # Someone else in the channel is still served.
    await dispatch(discord, interaction("status", user_id=4343, perms=member))
    assert len(_texts(rest)) == 5


async def test_discord_slow_command_refusal_stays_private(
    discord: DiscordAdapter, rest: DiscordREST
) -> None:
    member = VIEW_CHANNEL | SEND_MESSAGES
    search = [opt("query", "sora")]
    for _ in range(4):  # /search is deferred publicly before the core runs
        await dispatch(discord, interaction("search", search, user_id=5151, perms=member))
    # Three results, then the refusal: its public "thinking…" removed, the answer private.
    assert [cb["type"] for cb in rest.interaction_callbacks] == [5, 5, 5, 5]
    assert len(rest.deleted) == 1
    refusal = rest.followups[-1]
    assert refusal["content"].startswith(slow_down("en"))
    assert int(refusal["flags"]) & EPHEMERAL
    assert not any(int(f.get("flags") or 0) & EPHEMERAL for f in rest.followups[:-1])
