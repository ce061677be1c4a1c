"""The console adapter: prints digests and replies to a stream. Always available, no token.

In a terminal it also reads commands typed as in a chat (``/search sora``), as the local admin
of the channel ``console:local`` — handy to try Warta before creating any bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from itertools import count
from typing import TYPE_CHECKING, Any, TextIO

from bot.models import ChannelRef
from bot.render.console import render_digest, render_reply

if TYPE_CHECKING:
    from bot.commands import CommandCore, Reply
    from bot.models import Digest

LOCAL = ChannelRef("console", "local")


class ConsoleAdapter:
    name = "console"

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interactive: bool = False,
        stdin: TextIO | None = None,
    ) -> None:
        self._stream = stream
        self._stdin = stdin
        self._interactive = interactive
        self._ids = count(1)
        self._reader: asyncio.Task[None] | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    async def start(self, core: CommandCore) -> None:
        if self._interactive and self._reader is None:
            self._reader = asyncio.create_task(self._read_commands(core), name="console-commands")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    async def handle_line(self, core: CommandCore, line: str) -> None:
        """Run one typed command line and print the reply."""
        from bot.commands import Invocation

        text = line.strip()
        if not text:
            return
        name, _, args = text.lstrip("/").partition(" ")
        inv = Invocation(
            command=name,
            args=args.strip(),
            channel=LOCAL,
            user_id="local",
            is_admin=True,
            chat_kind="private",
            # Whoever types at the process's terminal runs the instance: the operator.
            is_operator=True,
        )
        await self.send_reply(LOCAL, await core.handle(inv))

    async def _read_commands(self, core: CommandCore) -> None:
        stdin = self._stdin or sys.stdin
        self.stream.write("Type a command, e.g. /help or /search sora (Ctrl-C to quit)\n")
        self.stream.flush()
        while True:
            # A thread keeps the loop free; stdin has no portable non-blocking read.
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                return
            await self.handle_line(core, line)

    def render_digest(self, digest: Digest) -> Sequence[object]:
        return [render_digest(digest)]

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        self.stream.write(f"--- {channel} ---\n{part}")
        self.stream.flush()
        return str(next(self._ids))

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        if reply.silent:
            return []
        ids = [await self.send_part(channel, render_reply(reply))]
        if reply.file is not None:
            # A terminal shows the file itself (an OPML export is short text).
            body = reply.file.data.decode("utf-8", errors="replace")
            ids.append(await self.send_part(channel, f"[{reply.file.filename}]\n{body}\n"))
        return ids


def create(**settings: Any) -> ConsoleAdapter:
    return ConsoleAdapter(
        stream=settings.get("stream"),
        interactive=bool(settings.get("interactive", False)),
        stdin=settings.get("stdin"),
    )
