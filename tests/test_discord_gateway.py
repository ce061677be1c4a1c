"""The real Discord adapter, built as `warta run` builds it, over a gateway and REST on loopback.

Real: ``build_adapters`` from settings (``discord_base_url`` pointing at the REST stand-in),
discord.py's HTTP client and gateway client (HELLO, heartbeats, IDENTIFY, RESUME, reconnects),
its app_commands tree, the real command core on a SQLite store, and the supervisor that keeps
the adapter running. Stand-ins (no Discord emulator exists): tests/peers/discord_rest.py for
REST v10, whose ``GET /gateway/bot`` points at tests/peers/discord_gateway.py, a websocket
server speaking the gateway protocol. Failures are injected by the stand-ins and named where
they happen: a dropped connection (close 1001), a cut one (no close frame) with the session
refused (re-IDENTIFY), a close discord.py cannot handle (4004: the supervisor restarts the
adapter), and REST errors while the adapter starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.adapters.supervisor import RestartBackoff, State, Supervisor
from bot.app import App
from bot.config import Settings
from bot.runner import build_adapters, build_core, make_summarizer
from tests.peers.discord_gateway import GatewayStandIn
from tests.peers.discord_rest import API_PREFIX, APP_ID, TOKEN, DiscordREST
from tests.test_discord_adapter import GUILD_ID, interaction

GUILDS_INTENT = 1 << 0


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[tuple[DiscordREST, GatewayStandIn]]:
    rest = DiscordREST()
    await rest.start()
    gateway = GatewayStandIn(ready_user=rest.bot_user(), application_id=APP_ID)
    rest.gateway_url = await gateway.start()
    base_before = discord.http.Route.BASE
    try:
        yield rest, gateway
    finally:
        await gateway.close()
        await rest.close()
    # The adapter put discord.py's process-wide REST base back when it stopped.
    assert base_before == discord.http.Route.BASE


@pytest_asyncio.fixture
async def running(
    tmp_path: Path, peers: tuple[DiscordREST, GatewayStandIn]
) -> AsyncIterator[tuple[Supervisor, DiscordAdapter]]:
    rest, _ = peers
    db = f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}"
    settings = Settings(
        database_url=db,
        discord_token=TOKEN,
        # The server root: the adapter adds Discord's /api/v10 like for a nirn-proxy address.
        discord_base_url=rest.base_url.removesuffix(API_PREFIX),
        discord_guild_id=GUILD_ID,
    )
    async with await App.open(settings) as app:
        adapters = build_adapters(settings)
        discord_adapter = adapters["discord"]
        assert isinstance(discord_adapter, DiscordAdapter)
        core = build_core(app, adapters, make_summarizer(settings))
        supervisor = Supervisor(adapters, core, backoff=RestartBackoff(base_s=0.2, cap_s=1.0))
        try:
            yield supervisor, discord_adapter
        finally:
            await supervisor.stop()


async def until(what: str, check: Any, deadline_s: float = 30.0) -> None:
    """Wait for ``check()`` (a deadline for a peer, not a timing assertion)."""
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, f"no {what} within {deadline_s} s"
        await asyncio.sleep(0.05)


async def ask_help(rest: DiscordREST, gateway: GatewayStandIn) -> dict[str, Any]:
    """A member runs /help: INTERACTION_CREATE over the gateway; returns the interaction
    response the bot POSTed to /interactions/{id}/{token}/callback."""
    payload = interaction("help")
    await gateway.dispatch("INTERACTION_CREATE", payload)

    def answered() -> list[dict[str, Any]]:
        return [c for c in rest.interaction_callbacks if c["interaction_id"] == payload["id"]]

    await until("answer to /help", answered)
    [callback] = answered()
    [request] = rest.requests_to("POST", rf"^/interactions/{payload['id']}/{payload['token']}/")
    assert request.body == {k: v for k, v in callback.items() if k != "interaction_id"}
    return callback


def help_text(callback: dict[str, Any]) -> str:
    data = callback["data"]
    return str(data.get("content") or "") + str(data.get("embeds") or "")


async def test_interactions_over_the_gateway_survive_drops(
    peers: tuple[DiscordREST, GatewayStandIn], running: tuple[Supervisor, DiscordAdapter]
) -> None:
    rest, gateway = peers
    supervisor, adapter = running
    supervisor.start()
    await supervisor.wait_for("discord", State.UP, within_s=30)
    await gateway.wait_until(lambda: len(gateway.identifies) == 1)
    identify = gateway.identifies[0]
    assert identify["token"] == TOKEN
    assert identify["intents"] == GUILDS_INTENT  # guilds only: no message content
    await until("the gateway READY", lambda: adapter.link_problem() is None)
    assert rest.commands[str(GUILD_ID)]  # the slash commands were synced to the test guild

    first = await ask_help(rest, gateway)
    assert first["type"] == 4  # answered at once, not deferred
    assert "/subscribe" in help_text(first)

    # The gateway goes away (close 1001, resumable): discord.py must RESUME the session.
    await gateway.drop(1001)
    await gateway.wait_until(lambda: len(gateway.resumes) == 1 and gateway.connected)
    resume = gateway.resumes[0]
    assert (resume["session_id"], resume["token"]) == ("session-1", TOKEN)
    assert resume["seq"] >= 1
    assert "/subscribe" in help_text(await ask_help(rest, gateway))

    # The network dies (no close frame) and the gateway refuses to resume: discord.py must
    # IDENTIFY again for a new session.
    gateway.refuse_resume = True
    await gateway.cut()
    await gateway.wait_until(lambda: len(gateway.identifies) == 2 and gateway.connected)
    assert len(gateway.resumes) == 2
    await until("the new session's READY", lambda: adapter.link_problem() is None)
    assert "/subscribe" in help_text(await ask_help(rest, gateway))

    # discord.py recovered by itself each time; the supervisor never had to restart it.
    assert supervisor.status("discord").restarts == 0
    assert supervisor.status("discord").state is State.UP


async def test_a_gateway_discord_py_gives_up_on_is_restarted(
    peers: tuple[DiscordREST, GatewayStandIn], running: tuple[Supervisor, DiscordAdapter]
) -> None:
    rest, gateway = peers
    supervisor, adapter = running
    supervisor.start()
    await supervisor.wait_for("discord", State.UP, within_s=30)
    await gateway.wait_until(lambda: len(gateway.identifies) == 1)
    logins_before = len(rest.requests_to("GET", r"^/users/@me$"))

    # Close code 4004 (authentication failed) is one discord.py does not reconnect after: its
    # gateway task ends, and the supervisor restarts the whole adapter (log in, sync, connect).
    await gateway.drop(4004)
    await until("a supervisor restart", lambda: supervisor.status("discord").restarts == 1)
    await supervisor.wait_for("discord", State.UP, within_s=30)
    await gateway.wait_until(lambda: len(gateway.identifies) == 2 and gateway.connected)
    assert len(rest.requests_to("GET", r"^/users/@me$")) == logins_before + 1
    await until("the new session's READY", lambda: adapter.link_problem() is None)
    assert "/subscribe" in help_text(await ask_help(rest, gateway))


async def test_rest_errors_while_starting_are_retried(
    peers: tuple[DiscordREST, GatewayStandIn], running: tuple[Supervisor, DiscordAdapter]
) -> None:
    rest, gateway = peers
    supervisor, _ = running
    # INJECTED: logging in (GET /users/@me) answers 503 twice; discord.py raises it at once and
    # the supervisor retries. Then GET /gateway/bot answers one 502, which discord.py retries by
    # itself (it retries 500/502/504/524 up to five times, 25 s in all, before raising).
    rest.inject(
        "GET", r"^/users/@me$", 503, {"message": "upstream unavailable", "code": 0}, times=2
    )
    rest.inject("GET", r"^/gateway/bot$", 502, {"message": "Bad Gateway", "code": 0})
    supervisor.start()
    status = await supervisor.wait_for("discord", State.UP, within_s=30)
    assert status.restarts == 2
    assert len(rest.requests_to("GET", r"^/users/@me$")) == 3
    assert len(rest.requests_to("GET", r"^/gateway/bot$")) == 2
    await gateway.wait_until(lambda: len(gateway.identifies) == 1)
    assert "/subscribe" in help_text(await ask_help(rest, gateway))
