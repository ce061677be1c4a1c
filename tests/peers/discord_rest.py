"""A loopback server that answers like Discord's REST API v10, for the endpoints Warta uses.

No usable Discord emulator exists, so this is a small stand-in written from Discord's API docs:
it validates what Discord validates for these endpoints (command names/descriptions on bulk
overwrite, embed and content limits on messages), answers errors in Discord's shape (``code``,
``message``, ``errors``; 50035 "Invalid Form Body"), and every response is exactly
``application/json`` — discord.py only parses JSON when the content type is exactly that.

Faults are injected per request: a 429 with ``retry_after`` JSON, ``X-RateLimit-*`` headers and
(by default) ``Via: 1.1 google`` like Discord's edge, or a 403/404 with a Discord error code.

Point discord.py at it with ``discord.http.Route.BASE = server.base_url`` (see the fixture in
``tests/test_discord_adapter.py``); the webhook/interaction routes use the same ``Route.BASE``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any

import discord
import pytest_asyncio
from aiohttp import web

API_PREFIX = "/api/v10"
TOKEN = "test-token.not-a-real-one"
APP_ID = 111111111111111111
BOT_ID = 222222222222222222
OWNER_ID = 333333333333333333

# Discord's documented limits.
EMBED_LIMITS = {"title": 256, "description": 4096, "footer": 2048, "author": 256}
EMBED_TOTAL = 6000
EMBEDS_MAX = 10
FIELDS_MAX = 25
CONTENT_MAX = 2000


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


@dataclass
class DiscordREST:
    """The fake Discord. ``requests`` records every call; ``messages`` the posted message
    payloads per channel id; ``commands`` the last bulk overwrite per scope ("global"/guild id)."""

    token: str = TOKEN
    requests: list[Recorded] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    interaction_callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    # (path, form field, filename, bytes) of every multipart file upload (message attachments).
    uploads: list[tuple[str, str, str, bytes]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # interaction responses removed
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    callback_seen: asyncio.Event = field(default_factory=asyncio.Event)
    _faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900000000000000001))
    _runner: web.AppRunner | None = None
    base_url: str = ""
    # What GET /gateway/bot answers: Discord's own gateway unless a test runs a stand-in.
    gateway_url: str = "wss://gateway.discord.gg"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}{API_PREFIX}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ fault injection

    def inject(
        self,
        method: str,
        path: str,
        status: int,
        body: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex
        (searched in the path without the API prefix) with ``status``/``body``."""
        self._faults.append(
            Fault(method.upper(), re.compile(path), status, body, headers or {}, times)
        )

    def inject_429(
        self,
        path: str,
        *,
        retry_after: float,
        via: bool = True,
        is_global: bool = False,
        method: str = "POST",
        times: int = 1,
    ) -> None:
        headers = {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket0000000000000000000000",
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Retry-After": str(max(1, round(retry_after))),
        }
        if via:
            headers["Via"] = "1.1 google"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
            "code": 0,
        }
        self.inject(method, path, 429, body, headers=headers, times=times)

    def inject_error(
        self, path: str, status: int, code: int, message: str, *, method: str = "POST"
    ) -> None:
        self.inject(method, path, status, {"message": message, "code": code})

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
        if status == 204:
            return web.Response(status=204, headers=headers)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return web.Response(status=status, body=json.dumps(data).encode(), headers=all_headers)

    def _invalid_form(self, errors: dict[str, Any]) -> web.Response:
        return self._json(400, {"code": 50035, "message": "Invalid Form Body", "errors": errors})

    def _snowflake(self) -> str:
        return str(next(self._ids))

    async def _dispatch(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        raw = await request.read()
        if raw:
            ctype = request.headers.get("Content-Type", "")
            if ctype.startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._json(
                        400, {"code": 50109, "message": "The request body contains invalid JSON."}
                    )
            elif ctype.startswith("multipart/form-data"):
                # The body is already read, so parse it as a MIME document (aiohttp's post()
                # would read the consumed stream again).
                message = BytesParser(policy=email_policy.HTTP).parsebytes(
                    f"Content-Type: {ctype}\r\n\r\n".encode() + raw
                )
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    data = part.get_payload(decode=True)
                    if not isinstance(data, bytes):
                        continue
                    filename = part.get_filename()
                    if name == "payload_json":
                        body = json.loads(data)
                    elif filename is not None:
                        # Uploaded files ("files[n]" parts), kept for tests to read back.
                        self.uploads.append((path, str(name), filename, data))
        self.requests.append(
            Recorded(request.method, path, dict(request.query), body, dict(request.headers))
        )

        # Webhook and interaction-callback routes are authenticated by the token in the path.
        authless = path.startswith(("/webhooks/", "/interactions/"))
        if not authless and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._json(401, {"message": "401: Unauthorized", "code": 0})

        for fault in self._faults:
            if fault.times > 0 and fault.method == request.method and fault.path.search(path):
                fault.times -= 1
                return self._json(fault.status, fault.body, fault.headers)

        for method, pattern, handler in self._routes():
            m = re.fullmatch(pattern, path)
            if m and method == request.method:
                return handler(m, body, request)
        return self._json(404, {"message": "404: Not Found", "code": 0})

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/oauth2/applications/@me", self._app_info),
            ("PUT", r"/applications/(?P<app>\d+)/commands", self._bulk_commands),
            (
                "PUT",
                r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands",
                self._bulk_commands,
            ),
            ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", self._followup),
            (
                "PATCH",
                r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>[^/]+)",
                self._edit,
            ),
            (
                "DELETE",
                r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>[^/]+)",
                self._delete,
            ),
            ("POST", r"/channels/(?P<channel>\d+)/messages", self._create_message),
        ]

    # ------------------------------------------------------------------ objects

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": str(BOT_ID),
            "username": "warta",
            "discriminator": "0",
            "global_name": "Warta",
            "avatar": None,
            "bot": True,
            "flags": 0,
            "public_flags": 0,
            "mfa_enabled": False,
            "verified": True,
        }

    def _message(self, channel_id: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": self._snowflake(),
            "channel_id": channel_id,
            "type": 0,
            "content": body.get("content") or "",
            "author": self.bot_user(),
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-11-24T08:00:00.000000+00:00",
            "edited_timestamp": None,
            "flags": int(body.get("flags") or 0),
            "components": [],
            **extra,
        }

    # ------------------------------------------------------------------ handlers

    def _me(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        return self._json(200, self.bot_user())

    def _gateway_bot(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        return self._json(200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _app_info(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        return self._json(
            200,
            {
                "id": str(APP_ID),
                "name": "Warta",
                "icon": None,
                "description": "AI & artists news digests",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": {
                    "id": str(OWNER_ID),
                    "username": "owner",
                    "discriminator": "0",
                    "avatar": None,
                },
                "team": None,
            },
        )

    def _bulk_commands(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        if not isinstance(body, list):
            return self._invalid_form(
                {"_errors": [{"code": "MODEL_TYPE_CONVERT", "message": "Expected a list."}]}
            )
        if len(body) > 100:
            return self._invalid_form(
                {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 100 or fewer in length.",
                        }
                    ]
                }
            )
        errors: dict[str, Any] = {}
        seen: set[str] = set()
        for i, command in enumerate(body):
            problems = validate_command(command)
            name = command.get("name") if isinstance(command, dict) else None
            if isinstance(name, str):
                if name in seen:
                    problems["name"] = _err("APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate name")
                seen.add(name)
            if problems:
                errors[str(i)] = problems
        if errors:
            return self._invalid_form(errors)
        guild = m.groupdict().get("guild")
        saved = []
        for command in body:
            saved.append(
                {
                    "id": self._snowflake(),
                    "application_id": m.group("app"),
                    "version": self._snowflake(),
                    "type": command.get("type", 1),
                    "default_member_permissions": command.get("default_member_permissions"),
                    "nsfw": command.get("nsfw", False),
                    "options": command.get("options", []),
                    **({"guild_id": guild} if guild else {}),
                    **{k: v for k, v in command.items() if k not in ("options",)},
                }
            )
        self.commands[guild or "global"] = saved
        return self._json(200, saved)

    def _callback(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        if not isinstance(body, dict) or body.get("type") not in (1, 4, 5, 6, 7, 8, 9, 12):
            return self._invalid_form(
                {"type": _err("BASE_TYPE_CHOICES", "Invalid interaction response type")}
            )
        data = body.get("data") or {}
        if body.get("type") == 4:
            problems = validate_message(data)
            if problems:
                return self._invalid_form({"data": problems})
        self.interaction_callbacks.append({"interaction_id": m.group("iid"), **body})
        self.callback_seen.set()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return self._json(204, None)
        ephemeral = bool(int(data.get("flags") or 0) & 64)
        message_id = self._snowflake()
        out: dict[str, Any] = {
            "interaction": {
                "id": m.group("iid"),
                "type": 2,
                "response_message_id": message_id,
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": ephemeral,
            }
        }
        if body["type"] in (4, 5):
            out["resource"] = {
                "type": body["type"],
                "message": self._message("0", data, id=message_id),
            }
        return self._json(200, out)

    def _followup(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        if not isinstance(body, dict):
            return self._invalid_form(
                {"_errors": [_err("MODEL_TYPE_CONVERT", "Expected an object")]}
            )
        problems = validate_message(body)
        if problems:
            return self._invalid_form(problems)
        self.followups.append(body)
        if request.query.get("wait") not in ("true", "1", "True"):
            return self._json(204, None)
        return self._json(200, self._message("0", body, webhook_id=m.group("app")))

    def _edit(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        problems = validate_message(body or {})
        if problems:
            return self._invalid_form(problems)
        self.followups.append({"edit": m.group("mid"), **(body or {})})
        return self._json(200, self._message("0", body or {}, webhook_id=m.group("app")))

    def _delete(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        self.deleted.append(m.group("mid"))
        return web.Response(status=204)

    def _create_message(self, m: re.Match[str], body: Any, request: web.Request) -> web.Response:
        if not isinstance(body, dict):
            return self._invalid_form(
                {"_errors": [_err("MODEL_TYPE_CONVERT", "Expected an object")]}
            )
        problems = validate_message(body)
        if not body.get("content") and not body.get("embeds"):
            return self._json(400, {"code": 50006, "message": "Cannot send an empty message"})
        if problems:
            return self._invalid_form(problems)
        channel = m.group("channel")
        self.messages.setdefault(channel, []).append(body)
        return self._json(200, self._message(channel, body))


# ---------------------------------------------------------------------- validation


def _err(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def valid_command_name(name: object) -> bool:
    """Discord's ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lowercase for slash commands
    (the Devanagari/Thai marks are not needed here, so they are not allowed)."""
    if not isinstance(name, str) or not 1 <= len(name) <= 32 or name != name.lower():
        return False
    return all(ch in "-_" or unicodedata.category(ch)[0] in "LN" for ch in name)


def _check_text(value: object, lo: int, hi: int) -> bool:
    return isinstance(value, str) and lo <= len(value) <= hi


def _check_localized(problems: dict[str, Any], key: str, table: object, *, names: bool) -> None:
    if table is None:
        return
    if not isinstance(table, dict):
        problems[key] = _err("MODEL_TYPE_CONVERT", "Expected a dict")
        return
    for locale, text in table.items():
        ok = valid_command_name(text) if names else _check_text(text, 1, 100)
        if not ok:
            problems.setdefault(key, {})[locale] = _err(
                "APPLICATION_COMMAND_INVALID_NAME" if names else "BASE_TYPE_BAD_LENGTH",
                f"Invalid localized {'name' if names else 'description'}",
            )


def validate_command(command: object) -> dict[str, Any]:
    """Problems with one CHAT_INPUT command body, keyed like Discord's ``errors`` object."""
    if not isinstance(command, dict):
        return _err("MODEL_TYPE_CONVERT", "Expected an object")
    problems: dict[str, Any] = {}
    if not valid_command_name(command.get("name")):
        problems["name"] = _err("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not _check_text(command.get("description"), 1, 100):
        problems["description"] = _err(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    _check_localized(problems, "name_localizations", command.get("name_localizations"), names=True)
    _check_localized(
        problems, "description_localizations", command.get("description_localizations"), names=False
    )
    options = command.get("options") or []
    if len(options) > 25:
        problems["options"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        return problems
    seen_optional = False
    names: set[str] = set()
    for j, option in enumerate(options):
        sub: dict[str, Any] = {}
        if not valid_command_name(option.get("name")):
            sub["name"] = _err("APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid")
        elif option["name"] in names:
            sub["name"] = _err(
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate option"
            )
        names.add(str(option.get("name")))
        if not _check_text(option.get("description"), 1, 100):
            sub["description"] = _err(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        _check_localized(sub, "name_localizations", option.get("name_localizations"), names=True)
        _check_localized(
            sub, "description_localizations", option.get("description_localizations"), names=False
        )
        if option.get("required"):
            if seen_optional:
                sub["required"] = _err(
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if choices and option.get("autocomplete"):
            sub["autocomplete"] = _err(
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_AND_CHOICES",
                "Autocomplete cannot be set with choices",
            )
        if len(choices) > 25:
            sub["choices"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for k, choice in enumerate(choices):
            if not _check_text(choice.get("name"), 1, 100):
                sub.setdefault("choices", {})[str(k)] = _err(
                    "BASE_TYPE_BAD_LENGTH", "Bad choice name"
                )
            value = choice.get("value")
            if isinstance(value, str) and not 1 <= len(value) <= 100:
                sub.setdefault("choices", {})[str(k)] = _err(
                    "BASE_TYPE_BAD_LENGTH", "Bad choice value"
                )
            _check_localized(
                sub, "name_localizations", choice.get("name_localizations"), names=False
            )
        if sub:
            problems.setdefault("options", {})[str(j)] = sub
    return problems


def embed_length(embed: dict[str, Any]) -> int:
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        size += len(f.get("name") or "") + len(f.get("value") or "")
    return size


def validate_message(body: dict[str, Any]) -> dict[str, Any]:
    """Problems with a message body (content + embeds), keyed like Discord's ``errors``."""
    problems: dict[str, Any] = {}
    content = body.get("content")
    if content is not None and len(str(content)) > CONTENT_MAX:
        problems["content"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        problems["embeds"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        return problems
    total = 0
    for i, embed in enumerate(embeds):
        sub: dict[str, Any] = {}
        for key in ("title", "description"):
            if len(embed.get(key) or "") > EMBED_LIMITS[key]:
                sub[key] = _err(
                    "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_LIMITS[key]} or fewer in length."
                )
        if len((embed.get("footer") or {}).get("text") or "") > EMBED_LIMITS["footer"]:
            sub["footer"] = {
                "text": _err("BASE_TYPE_MAX_LENGTH", "Must be 2048 or fewer in length.")
            }
        if len((embed.get("author") or {}).get("name") or "") > EMBED_LIMITS["author"]:
            sub["author"] = {
                "name": _err("BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length.")
            }
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_MAX:
            sub["fields"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, f in enumerate(fields):
            if (
                not 1 <= len(f.get("name") or "") <= 256
                or not 1 <= len(f.get("value") or "") <= 1024
            ):
                sub.setdefault("fields", {})[str(j)] = _err("BASE_TYPE_BAD_LENGTH", "Bad field")
        url = embed.get("url")
        if url is not None and not re.match(r"https?://[^\s/]+", str(url)):
            sub["url"] = _err("URL_TYPE_INVALID_URL", "Not a well formed URL.")
        if sub:
            problems.setdefault("embeds", {})[str(i)] = sub
        total += embed_length(embed)
    if total > EMBED_TOTAL:
        problems.setdefault("embeds", {})["_errors"] = [
            {
                "code": "MAX_EMBED_SIZE_EXCEEDED",
                "message": "Embed size exceeds maximum size of 6000",
            }
        ]
    return problems


@pytest_asyncio.fixture
async def rest() -> AsyncIterator[DiscordREST]:
    """A started DiscordREST with discord.py's ``Route.BASE`` pointed at it for the test."""
    server = DiscordREST()
    base_url = await server.start()
    old = discord.http.Route.BASE
    discord.http.Route.BASE = base_url
    try:
        yield server
    finally:
        discord.http.Route.BASE = old
        await server.close()
