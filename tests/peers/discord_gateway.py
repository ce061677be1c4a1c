"""A stand-in for Discord's gateway (API v10) on 127.0.0.1, enough for a bot that only takes
slash commands: an aiohttp websocket server, written from Discord's gateway docs.

Per connection it sends HELLO (op 10), answers heartbeats (op 1 -> op 11), answers IDENTIFY
(op 2) with a READY dispatch (session id, ``resume_gateway_url`` = this server, the bot user,
the application) and RESUME (op 6) with a RESUMED dispatch, or with INVALID_SESSION (op 9,
``d: false``) when ``refuse_resume`` is set, so the client must identify again. Frames are
uncompressed JSON *text*: discord.py asks for ``compress=zlib-stream`` but decompresses only
binary frames and reads text frames as they are (``DiscordWebSocket.received_message``).

The test drives it: :meth:`dispatch` sends an event (e.g. INTERACTION_CREATE) on the live
connection; :meth:`drop` closes it with a close code (1001 "going away" is resumable, 4004
"authentication failed" is not); :meth:`cut` ends it without a close frame, as a dead network
does. ``identifies``, ``resumes`` and ``connections`` count what happened.

Sharded bots open one connection per shard (IDENTIFY's ``shard: [id, count]``), from one
process or several: :meth:`dispatch_to_guild` sends an event on the connection of the shard
Discord would route that guild to, ``(guild_id >> 22) % count``, and ``shards`` maps each
live shard to its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

HELLO, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HEARTBEAT_ACK, DISPATCH = 10, 1, 2, 6, 9, 11, 0


@dataclass
class GatewayStandIn:
    ready_user: dict[str, Any]
    application_id: int
    heartbeat_interval_ms: int = 41250
    refuse_resume: bool = False
    url: str = ""
    identifies: list[dict[str, Any]] = field(default_factory=list)
    resumes: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    heartbeats: int = 0
    _ws: web.WebSocketResponse | None = None
    shards: dict[int, web.WebSocketResponse] = field(default_factory=dict)
    shard_count: int = 1
    _seq: int = 0
    _sessions: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ driving it

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def wait_until(self, check: Callable[[], bool], *, deadline_s: float = 30.0) -> None:
        """Wait until ``check()`` holds after some gateway event (a deadline for a peer)."""
        end = time.monotonic() + deadline_s
        async with self._changed:
            while not check():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("the gateway stand-in did not see that in time")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "no client connected"
        assert not self._ws.closed, "the client's connection is closed"
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": DISPATCH, "t": event, "s": self._seq, "d": data}))

    async def dispatch_to_guild(self, event: str, data: dict[str, Any], guild_id: int) -> int:
        """Send ``event`` on the connection of the shard that serves ``guild_id``; returns it."""
        shard = (guild_id >> 22) % self.shard_count
        ws = self.shards.get(shard)
        assert ws is not None, f"shard {shard} is not connected"
        assert not ws.closed, f"shard {shard}'s connection is closed"
        self._seq += 1
        await ws.send_str(json.dumps({"op": DISPATCH, "t": event, "s": self._seq, "d": data}))
        return shard

    async def drop(self, code: int = 1001) -> None:
        """Close the live connection with ``code`` (a close frame, as Discord does)."""
        assert self._ws is not None
        await self._ws.close(code=code, message=b"stand-in closed the connection")

    async def cut(self) -> None:
        """End the live connection without a close frame (a network failure)."""
        assert self._ws is not None
        transport = self._ws._req.transport if self._ws._req is not None else None
        assert transport is not None
        transport.abort()

    # ------------------------------------------------------------------ the protocol

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(payload))

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        self.connections += 1
        await self._notify()
        await self._send(
            ws, {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None}
        )
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            await self._handle(ws, payload)
            await self._notify()
        if self._ws is ws:
            self._ws = None
        for shard in [n for n, live in self.shards.items() if live is ws]:
            del self.shards[shard]
        await self._notify()
        return ws

    async def _handle(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d") or {}
        if op == HEARTBEAT:
            self.heartbeats += 1
            await self._send(ws, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            self.identifies.append(data)
            if data.get("shard"):
                shard, self.shard_count = data["shard"]
                self.shards[shard] = ws
            self._sessions += 1
            self._seq = 1
            ready = {
                "v": 10,
                "user": self.ready_user,
                "guilds": [],
                "session_id": f"session-{self._sessions}",
                "resume_gateway_url": self.url,
                "application": {"id": str(self.application_id), "flags": 0},
            }
            if data.get("shard"):
                ready["shard"] = data["shard"]  # Discord echoes a sharded session's shard
            await self._send(ws, {"op": DISPATCH, "t": "READY", "s": self._seq, "d": ready})
        elif op == RESUME:
            self.resumes.append(data)
            if self.refuse_resume:
                await self._send(ws, {"op": INVALID_SESSION, "d": False})
            else:
                self._seq += 1
                await self._send(ws, {"op": DISPATCH, "t": "RESUMED", "s": self._seq, "d": {}})
