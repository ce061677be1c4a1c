"""The sender process that ``tests/test_events_kill.py`` starts and SIGKILLs (its workers are
``warta worker`` itself).

It wires the public pieces ``warta sender`` does, with a recording peer for the chat instead of
a platform adapter: :class:`bot.send_loop.SendLoop` running :func:`bot.runner.make_send_step`
(stored stories to instant deliveries, then the outbox through the real
:class:`bot.delivery.Sender`), woken by :func:`bot.runner.start_wakeups` (LISTEN/NOTIFY), plus
``compose_due`` for digests every second.

The chat is a recording peer on loopback (``WARTA_EVENTS_PEER``): one HTTP POST per message.
It honours a nonce the way Discord's ``enforce_nonce`` does, so the one message a kill between
"the platform accepted it" and "recorded in the outbox" would repeat is stored once; the peer
counts such repeats, and the test prints them.

Usage: ``python -m tests.events_proc sender`` with WARTA_* settings in the environment.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp

from bot.app import App, setup_logging
from bot.commands import CommandCore, Reply
from bot.config import Settings, load_settings
from bot.delivery import Sender, compose_due
from bot.models import ChannelRef, Digest
from bot.runner import Composer, make_send_step, start_wakeups
from bot.send_loop import SendLoop
from bot.summarize.base import get_summarizer


class PeerAdapter:
    """Posts each digest entry as one message to the recording peer."""

    name = "peer"

    def __init__(self, url: str) -> None:
        self._url = url
        self._http = aiohttp.ClientSession()

    async def start(self, core: CommandCore) -> None:
        return None

    async def stop(self) -> None:
        await self._http.close()

    def render_digest(self, digest: Digest) -> Sequence[object]:
        return [
            json.dumps(
                {
                    "window_end": digest.window_end.isoformat(),
                    "title": e.story.title,
                    "story_key": e.story.key,
                    "feed": e.story.feed_url,
                }
            )
            for e in digest.entries
        ]

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        text = str(part)
        nonce = hashlib.sha1(f"{channel.id}|{text}".encode()).hexdigest()
        body = {"chat": channel.id, "text": text, "nonce": nonce, "pid": os.getpid()}
        async with self._http.post(self._url, json=body) as resp:
            resp.raise_for_status()
            answer = await resp.json()
        return str(answer["id"])

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        return []


async def sender(app: App) -> None:
    adapter = PeerAdapter(os.environ["WARTA_EVENTS_PEER"])
    app.defer_close(adapter.stop)
    send = Sender(app.store, {"peer": adapter}, pacing_s={})
    loop = SendLoop(make_send_step(app, send), await start_wakeups(app), fallback_s=2.0)
    loop.start()
    app.defer_close(loop.stop)
    # Digests are composed by a loop of their own in a thread, with its own connections, as
    # a second composer process would: the compose turn keeps the two from composing twice.
    threading.Thread(target=asyncio.run, args=(composer(app.settings),), daemon=True).start()
    await asyncio.Event().wait()


async def composer(settings: Settings) -> None:
    app = await App.open(settings)
    try:
        compose = Composer(app, get_summarizer("extractive"))
        while True:
            await compose_due(app.store, datetime.now(UTC), compose=compose)
            await asyncio.sleep(1.0)
    finally:
        await app.close()


async def main(role: str) -> int:
    settings = load_settings()
    setup_logging(settings)
    app = await App.open(settings)
    try:
        print(json.dumps({"event": "started", "role": role, "pid": os.getpid()}), flush=True)
        await sender(app)
    finally:
        await app.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
