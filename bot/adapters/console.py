"""The console adapter: prints digests and replies to a stream. Always available, no token.

In a terminal it also reads commands typed as in a chat (``/search sora``), as the local admin
of the channel ``console:local`` — handy to try Warta before creating any bot.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
import os
import sys
import threading
from collections.abc import AsyncIterator, Sequence
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
        async for line in read_lines(stdin):
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
        if reply.file is not None and reply.file.is_image:
            # A PNG printed as text is noise in a terminal: say what it is instead.
            file = reply.file
            note = f"[{file.filename}: {file.mime}, {len(file.data)} bytes]\n"
            ids.append(await self.send_part(channel, note))
        elif reply.file is not None:
            # A terminal shows the file itself (an OPML export is short text).
            body = reply.file.data.decode("utf-8", errors="replace")
            ids.append(await self.send_part(channel, f"[{reply.file.filename}]\n{body}\n"))
        return ids


async def read_lines(stdin: TextIO) -> AsyncIterator[str]:
    """Lines typed on ``stdin``, without ever leaving a thread blocked in a read.

    A blocking ``readline`` in an executor thread cannot be interrupted: on Ctrl-C the loop
    stops, but ``asyncio.run`` (and the interpreter's exit) then wait for that thread until the
    user presses Enter. So a terminal or pipe is watched with ``loop.add_reader`` and read only
    when it has data. Where that is impossible (a regular file under epoll, Windows, a stream
    with no file descriptor) a daemon thread reads instead, which the exit does not wait for.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    try:
        fd = stdin.fileno()
        loop.add_reader(fd, _on_readable, fd, _LineSplitter(queue, stdin.encoding or "utf-8"))
    except (OSError, ValueError, NotImplementedError, io.UnsupportedOperation):
        fd = -1
        threading.Thread(
            target=_read_in_thread, args=(stdin, loop, queue), name="console-stdin", daemon=True
        ).start()
    try:
        while (line := await queue.get()) is not None:
            yield line
    finally:
        if fd >= 0:
            loop.remove_reader(fd)


class _LineSplitter:
    """Bytes as they arrive -> whole lines on the queue; None at end of input."""

    def __init__(self, queue: asyncio.Queue[str | None], encoding: str) -> None:
        self._queue = queue
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        if not data:
            if self._pending:
                self._queue.put_nowait(self._pending)
            self._queue.put_nowait(None)
            return
        *lines, self._pending = (self._pending + self._decoder.decode(data)).split("\n")
        for line in lines:
            self._queue.put_nowait(line + "\n")


def _on_readable(fd: int, splitter: _LineSplitter) -> None:
    try:
        # Readable means this read returns at once. stdin's own buffer is bypassed on purpose:
        # nothing else in the process reads it, and O_NONBLOCK is left alone because the
        # terminal's file description is shared with the shell.
        data = os.read(fd, 65536)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if not data:
        asyncio.get_running_loop().remove_reader(fd)
    splitter.feed(data)


def _read_in_thread(
    stdin: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]
) -> None:
    while True:
        try:
            line: str | None = stdin.readline() or None
        except (OSError, ValueError):
            line = None
        try:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return
        if line is None:
            return


def create(**settings: Any) -> ConsoleAdapter:
    return ConsoleAdapter(
        stream=settings.get("stream"),
        interactive=bool(settings.get("interactive", False)),
        stdin=settings.get("stdin"),
    )
