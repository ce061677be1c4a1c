"""A loopback server that answers like an OpenAI-compatible chat-completions API.

It serves ``POST /v1/chat/completions`` the way OpenAI, vLLM and Ollama's ``/v1`` do (same
request and response shapes), but its replies are scripted by the test: queue behaviours with
``push`` (each request consumes one; when the queue is empty, ``default`` answers). It records
every request body and header set, so tests can inspect the prompt and the Authorization header.

Behaviours: ``reply(obj_or_text)`` (a normal completion whose message content is the given JSON
object or raw text), ``status(code)`` (an OpenAI-shaped error), ``raw(body)`` (a 200 that is not
JSON at all), ``hang()`` (never answers until the server closes), and ``refuse_json_mode`` (a 400
for requests that carry ``response_format``, like servers without a JSON mode).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PREFIX = "/v1"


@dataclass(frozen=True)
class Behaviour:
    kind: str  # "reply" | "status" | "raw" | "hang"
    content: str = ""
    status: int = 200


def reply(content: dict[str, Any] | list[Any] | str) -> Behaviour:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Behaviour("reply", content=text)


def summary(headline: str, bullets: list[str]) -> Behaviour:
    return reply({"headline": headline, "bullets": bullets})


def status(code: int, message: str = "server error") -> Behaviour:
    return Behaviour("status", content=message, status=code)


def raw(body: str) -> Behaviour:
    return Behaviour("raw", content=body)


def hang() -> Behaviour:
    return Behaviour("hang")


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def system(self) -> str:
        return str(self.body["messages"][0]["content"])

    @property
    def user(self) -> str:
        return str(self.body["messages"][-1]["content"])


@dataclass
class OpenAICompatServer:
    default: Behaviour = field(default_factory=lambda: status(500, "no behaviour scripted"))
    refuse_json_mode: bool = False
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""
    _queue: list[Behaviour] = field(default_factory=list)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def calls(self) -> int:
        return len(self.requests)

    def push(self, *behaviours: Behaviour) -> None:
        self._queue.extend(behaviours)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(PREFIX + "/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}{PREFIX}"
        return self.base_url

    async def close(self) -> None:
        self._release.set()  # let hanging handlers finish so cleanup does not wait on them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    def _error(code: int, message: str) -> web.Response:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
        return web.json_response(body, status=code)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "body is not JSON")
        self.requests.append(Recorded(body=body, headers=dict(request.headers)))
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return self._error(400, "'model' and 'messages' are required")
        if self.refuse_json_mode and "response_format" in body:
            return self._error(400, "response_format is not supported by this server")
        behaviour = self._queue.pop(0) if self._queue else self.default
        if behaviour.kind == "hang":
            await self._release.wait()
            return self._error(503, "released")
        if behaviour.kind == "status":
            return self._error(behaviour.status, behaviour.content)
        if behaviour.kind == "raw":
            return web.Response(text=behaviour.content, content_type="text/plain")
        created = int(time.time())
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": created,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": behaviour.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
        )
