"""The roles a Warta process can play, and what each one runs.

``warta run`` is every role in one process (the default, and all a small install needs). On
several machines sharing one PostgreSQL, the parts run as separate processes, any number of
copies each:

* ``warta worker`` polls feeds, analyzes and stores stories, composes due digests into the
  outbox and prunes old rows. Copies share the work through claims (``FOR UPDATE SKIP LOCKED``
  on feeds; a unique key per digest window in the outbox).
* ``warta sender`` drains the outbox through the chat platforms' send APIs only: it never
  receives commands (Telegram allows one getUpdates poller per bot). Copies claim deliveries.
* ``warta gateway --platform telegram|discord`` answers commands on one platform. Telegram: one
  copy (one poller per bot token). Discord: one copy per set of shards
  (``discord_shard_count``/``discord_shard_ids``).

Each role is a :class:`Plan` over the same pieces (:func:`bot.runner.run_role`); nothing here
has a loop of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import ConfigError

PLATFORMS = ("telegram", "discord")


class Role(StrEnum):
    RUN = "run"
    WORKER = "worker"
    SENDER = "sender"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class Plan:
    """What one process runs."""

    role: Role
    poll: bool = False  # claim due feeds, fetch, analyze, store (and queue instant posts)
    compose: bool = False  # compose due digests into the outbox
    send: bool = False  # drain the outbox
    retention: bool = False  # prune old stories and finished deliveries
    web: bool = False  # the public web face, when web_enabled
    # Which chat adapters to build: None = console plus every platform with a token.
    platforms: frozenset[str] | None = None
    receive: bool = True  # adapters take commands (False: send only)

    @property
    def adapters(self) -> bool:
        return self.send or (self.receive and self.platforms != frozenset())


def plan_for(role: Role | str, *, platform: str | None = None, poll: bool = True) -> Plan:
    """The plan of ``role``. ``platform`` is the gateway's; ``poll=False`` is ``run --no-poll``."""
    role = Role(role)
    if role is Role.RUN:
        return Plan(role, poll=poll, compose=True, send=True, retention=True, web=True)
    if role is Role.WORKER:
        return Plan(role, poll=True, compose=True, retention=True, platforms=frozenset())
    if role is Role.SENDER:
        return Plan(role, send=True, receive=False)
    if platform not in PLATFORMS:
        raise ConfigError(f"warta gateway needs --platform {' or '.join(PLATFORMS)}")
    return Plan(role, platforms=frozenset({platform}))
