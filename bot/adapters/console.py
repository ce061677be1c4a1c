"""The console adapter: prints digests and replies to a stream. Always available, no token."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from itertools import count
from typing import TYPE_CHECKING, Any, TextIO

from bot.render.console import render_digest, render_reply

if TYPE_CHECKING:
    from bot.commands import CommandCore, Reply
    from bot.models import ChannelRef, Digest


class ConsoleAdapter:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._ids = count(1)

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    async def start(self, core: CommandCore) -> None:
        return None

    async def stop(self) -> None:
        return None

    def render_digest(self, digest: Digest) -> Sequence[object]:
        return [render_digest(digest)]

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        self.stream.write(f"--- {channel} ---\n{part}")
        self.stream.flush()
        return str(next(self._ids))

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        return [await self.send_part(channel, render_reply(reply))]


def create(**settings: Any) -> ConsoleAdapter:
    return ConsoleAdapter(stream=settings.get("stream"))
