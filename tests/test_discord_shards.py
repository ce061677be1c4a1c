"""Discord sharding across processes: `warta gateway --platform discord --shard-count 2` run as
two processes, `--shard-ids 0` and `--shard-ids 1`, sharing one PostgreSQL database.

Real: both processes (the `warta` command, discord.py's AutoShardedClient, the command core).
Stand-ins (no Discord emulator exists): tests/peers/discord_rest.py for REST v10 and
tests/peers/discord_gateway.py for the gateway, which routes a guild's events to the shard
Discord would, ``(guild_id >> 22) % shard_count``. Each interaction must be answered once, by
the process that runs its guild's shard; when one process stops, the other keeps answering
its own guilds.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.peers.discord_gateway import GatewayStandIn
from tests.peers.discord_rest import API_PREFIX, TOKEN, DiscordREST
from tests.test_discord_adapter import GUILD_ID, interaction
from tests.test_discord_gateway import peers
from tests.test_roles import Role, pg_db, role_env, until

__all__ = ["peers", "pg_db"]  # fixtures, used by name below
pytestmark = pytest.mark.postgres


def guild_on_shard(shard: int, count: int) -> int:
    """A guild id Discord routes to ``shard`` of ``count`` (the id's timestamp bits decide)."""
    guild = GUILD_ID
    while (guild >> 22) % count != shard:
        guild += 1 << 22
    return guild


def help_in(guild: int) -> dict[str, Any]:
    """/help run by a member of ``guild`` (the shared payload, moved to another guild)."""
    payload = copy.deepcopy(interaction("help"))
    payload["guild_id"] = payload["guild"]["id"] = payload["channel"]["guild_id"] = str(guild)
    return payload


async def test_two_processes_split_the_shards_and_each_answers_its_guilds(
    tmp_path: Path, pg_db: str, peers: tuple[DiscordREST, GatewayStandIn]
) -> None:
    rest, gateway = peers
    env = role_env(tmp_path, pg_db, []) | {
        "DISCORD_BOT_TOKEN": TOKEN,
        # The server root: the adapter adds Discord's /api/v10, as for a REST proxy's address.
        "WARTA_DISCORD_BASE_URL": rest.base_url.removesuffix(API_PREFIX),
        "WARTA_DISCORD_GUILD_ID": str(GUILD_ID),
    }
    args = ("gateway", "--platform", "discord", "--shard-count", "2", "--shard-ids")
    shard = {n: Role(tmp_path, env, *args, str(n)) for n in (0, 1)}
    for role in shard.values():
        await role.start()
    try:
        await until("both shards connected", lambda: set(gateway.shards) == {0, 1}, *shard.values())
        # One IDENTIFY per shard, each naming its shard of two, on its own connection.
        assert sorted(i["shard"] for i in gateway.identifies) == [[0, 2], [1, 2]]
        assert all(i["token"] == TOKEN for i in gateway.identifies)
        assert gateway.shards[0] is not gateway.shards[1]

        async def ask(guild: int, *running: Role) -> dict[str, Any]:
            payload = help_in(guild)
            await gateway.dispatch_to_guild("INTERACTION_CREATE", payload, guild)

            def answers() -> list[dict[str, Any]]:
                return [
                    c for c in rest.interaction_callbacks if c["interaction_id"] == payload["id"]
                ]

            [answer] = await until(f"an answer in guild {guild}", answers, *running)
            return answer

        for n in (0, 1):
            answer = await ask(guild_on_shard(n, 2), *shard.values())
            assert "/subscribe" in str(answer["data"].get("content"))

        # Shard 1's process stops: its connection goes, shard 0's guilds are still answered.
        assert await shard[1].stop() == 0, shard[1].output()[-3000:]
        await until("shard 1 gone", lambda: set(gateway.shards) == {0}, shard[0])
        answer = await ask(guild_on_shard(0, 2), shard[0])
        assert "/subscribe" in str(answer["data"].get("content"))
        # Each interaction was answered exactly once, whichever process saw it.
        answered = [c["interaction_id"] for c in rest.interaction_callbacks]
        assert len(answered) == len(set(answered)) == 3
    finally:
        for role in shard.values():
            assert await role.stop() == 0, role.output()[-3000:]
    for role in shard.values():
        assert "gateway: starting" in role.output(), role.output()[-3000:]
