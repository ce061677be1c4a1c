"""The seam between Warta's platform-neutral core and a chat platform.

An adapter turns a platform's commands into :class:`bot.commands.Invocation` objects for the
command core, and turns a :class:`bot.models.Digest` or a :class:`bot.commands.Reply` into the
platform's messages. Adding a platform is adding one module here and one registry entry.

Delivery is done part by part so the outbox can record each platform message id as soon as it
exists: after a crash the sender resumes after the last confirmed part instead of reposting.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.commands import CommandCore, Reply
    from bot.models import ChannelRef, Digest

CommandHandler = Callable[["Invocation"], Awaitable["Reply"]]


@runtime_checkable
class ChatAdapter(Protocol):
    """A running connection to one chat platform."""

    name: str

    async def start(self, core: CommandCore) -> None:
        """Connect, register commands (in both languages where the platform allows) and begin
        routing command invocations to ``core``. Raises ConfigError on a bad token/setting."""

    async def stop(self) -> None:
        """Disconnect. Safe to call twice."""

    def render_digest(self, digest: Digest) -> Sequence[object]:
        """Split ``digest`` into platform messages within every platform limit, in order.
        Pure and deterministic: the same digest always yields the same parts."""

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        """Post one rendered part; return the platform message id.

        Raises RetryLater (flood control, transient network/5xx) or PermanentDeliveryError
        (bot removed, chat not found, missing permission)."""

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        """Post a command reply outside an interaction (e.g. an instant story)."""


AdapterFactory = Callable[..., ChatAdapter]

# name -> "module:factory"; a factory takes keyword settings and returns an adapter.
_REGISTRY: dict[str, str] = {
    "console": "bot.adapters.console:create",
    "telegram": "bot.adapters.telegram:create",
    "discord": "bot.adapters.discord:create",
}


def register(name: str, target: str) -> None:
    """Register a third-party adapter as ``"package.module:factory"``."""
    _REGISTRY[name] = target


def available() -> list[str]:
    return sorted(_REGISTRY)


def load(name: str) -> AdapterFactory:
    """Find an adapter factory by name; a failed import is a clear ConfigError."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown chat adapter {name!r}; known: {', '.join(available())}"
        ) from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory: AdapterFactory = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot load chat adapter {name!r} from {target}: {e}") from e
    return factory


if TYPE_CHECKING:
    from bot.commands import Invocation
