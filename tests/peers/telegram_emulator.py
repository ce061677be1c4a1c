"""A Telegram Bot API peer for tests: the third-party ``telegram-test-api`` emulator (node) behind a
small fix-up proxy (aiohttp, in the test process). Nothing leaves 127.0.0.1.

Installing the emulator is a build step, never done at import or test time::

    npm ci --prefix tests/peers

Why a proxy: python-telegram-bot 22 cannot use the emulator's answers as they are. The proxy
corrects them (see :data:`FIXUPS`), implements the few methods the emulator lacks from state a
test sets up (chat administrators, chats, command menus), checks HTML parse mode like Telegram
does, and injects errors on demand. The emulator enforces no limits and never answers 429, so a
test that needs flood control *injects* it here and says so.

Simulating people: :meth:`FixupProxy.user_sends` posts a user's message to the emulator's client
API (``POST /sendMessage``); :meth:`FixupProxy.bot_messages` reads what the bot sent from
``POST /getUpdatesHistory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import itertools
import json
import queue
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import aiohttp
from aiohttp import web

PEERS_DIR = Path(__file__).resolve().parent
LAUNCHER = PEERS_DIR / "tg_launcher.js"
PACKAGE = PEERS_DIR / "node_modules" / "telegram-test-api" / "package.json"
INSTALL_HINT = "npm ci --prefix tests/peers"

BOT_USERNAME = "TestNameBot"  # what the emulator's getMe answers
BOT_ID = 666

FIXUPS = (
    "getMe: add is_bot=true (PTB's User requires it)",
    "sendMessage: date from milliseconds to seconds",
    "sendMessage: link_preview_options echoed as a JSON string -> object",
    "editMessageText: null result -> the edited Message",
    "getUpdates: updates from chats of type 'channel' become channel_post (emulator only knows "
    "message); the emulator's private botToken field is removed from updates",
    "files: the emulator has none; sendDocument and sendPhoto (multipart) are recorded by the "
    "proxy, and documents users send are served by getFile and /file/bot<token>/<path> from "
    "the proxy",
)

LOCAL_METHODS = (
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "getFile",
)
"""Bot API methods the emulator does not have, answered by the proxy from test-provided state."""

_TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
_TELEGRAM_ENTITIES = {"lt", "gt", "amp", "quot"}


def emulator_problem() -> str | None:
    """Why the emulator cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not on PATH (needed for the telegram-test-api emulator)"
    if not PACKAGE.is_file():
        return f"telegram-test-api is not installed: run `{INSTALL_HINT}`"
    return None


# --------------------------------------------------------------------------- the node emulator


class NodeEmulator:
    """The ``telegram-test-api`` process. Synchronous so one can serve a whole test module;
    tests isolate themselves by using a fresh bot token each (the emulator keys state by it)."""

    def __init__(self, *, startup_timeout: float = 20.0) -> None:
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            ["node", str(LAUNCHER)],
            cwd=PEERS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = self._proc.stdout
        assert stdout is not None
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=self.startup_timeout)
            self.port = int(json.loads(line)["port"])
        except (queue.Empty, ValueError, KeyError) as e:
            self._stderr.seek(0)
            detail = self._stderr.read().decode(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"telegram-test-api did not start: {detail}") from e

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            assert proc.stdout is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()  # the launcher exits when its stdin ends
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait(timeout=10)
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> NodeEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- HTML check


class _TelegramHTMLCheck(html.parser.HTMLParser):
    """Telegram's HTML parse mode rules, enough to refuse what Telegram refuses: only its tags,
    properly nested, and only the four named entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.error: str | None = None
        self.visible: list[str] = []

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TELEGRAM_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Unmatched end tag "{tag}"')
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _TELEGRAM_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
        self.visible.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.visible.append(html.unescape(f"&#{name};"))


def telegram_html_error(text: str) -> tuple[str | None, str]:
    """(the parse error Telegram would give or None, the visible text)."""
    check = _TelegramHTMLCheck()
    check.feed(text)
    check.close()
    if check.stack and check.error is None:
        check.error = f'Can\'t find end tag corresponding to start tag "{check.stack[-1]}"'
    return check.error, "".join(check.visible)


# --------------------------------------------------------------------------- the proxy


@dataclass
class Injected:
    status: int
    body: dict[str, Any]
    echo_html: bool = False  # answer a proxy's HTML error page that echoes the request path


@dataclass
class FakeChat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    admins: set[int] = field(default_factory=set)
    creator: int | None = None


_token_counter = itertools.count(100001)


class FixupProxy:
    """A Bot API endpoint for PTB (``base_url``) in front of the node emulator."""

    def __init__(
        self,
        emulator_url: str,
        *,
        token: str | None = None,
        strict_html: bool = True,
        long_poll_s: float = 0.0,
    ):
        self.emulator_url = emulator_url.rstrip("/")
        # The emulator answers getUpdates at once, so a client with no poll interval (as
        # `warta run` polls Telegram: long polling) would spin. With long_poll_s > 0 the proxy
        # holds an empty getUpdates up to that long (and the request's timeout), like Telegram.
        self.long_poll_s = long_poll_s
        self.token = token or f"{next(_token_counter)}:{secrets.token_urlsafe(27)}"
        self.strict_html = strict_html
        self.port: int | None = None
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (method, params) as PTB sent them
        self.commands: dict[str | None, list[dict[str, str]]] = {}
        self.chats: dict[int, FakeChat] = {}
        self._injected: dict[str, list[Injected]] = defaultdict(list)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._message_ids = itertools.count(1)
        # Files: the emulator has none. Documents users send are registered here (file_id ->
        # bytes, served by getFile and the file download route); documents the bot sends
        # (sendDocument, multipart) are recorded in ``documents``.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.documents: list[dict[str, Any]] = []
        self.photos: list[dict[str, Any]] = []  # sendPhoto uploads, like ``documents``
        self._file_ids = itertools.count(1)

    # ------------------------------------------------------------- set-up for tests

    @property
    def base_url(self) -> str:
        """What Warta's WARTA_TELEGRAM_BASE_URL would be: the server root."""
        return f"http://127.0.0.1:{self.port}"

    def add_chat(self, chat: FakeChat) -> FakeChat:
        self.chats[chat.id] = chat
        return chat

    def inject(self, method: str, status: int, body: dict[str, Any], times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with this error instead of the emulator."""
        self._injected[method].extend(Injected(status, body) for _ in range(times))

    def inject_bad_gateway(self, method: str, times: int = 1) -> None:
        """INJECTED (the emulator never fails like this): answer the next ``times`` calls of
        ``method`` with 502 and an HTML error page, as a reverse proxy in front of the Bot API
        does when the API is down. The page echoes the request path, token included, as is,
        upper-cased and URL-encoded (proxies do echo it), so tests can check it is masked."""
        self._injected[method].extend(Injected(502, {}, echo_html=True) for _ in range(times))

    def injected_left(self, method: str) -> int:
        return len(self._injected.get(method, []))

    def inject_429(self, times: int = 1, retry_after: int = 1) -> None:
        """Flood control for the next ``times`` sendMessage calls (the emulator has no limits)."""
        self.inject(
            "sendMessage",
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
            times,
        )

    def inject_error(self, description: str, status: int = 400, times: int = 1) -> None:
        self.inject(
            "sendMessage",
            status,
            {"ok": False, "error_code": status, "description": description},
            times,
        )

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file_download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------- simulated people

    async def user_sends(
        self,
        text: str,
        *,
        chat_id: int,
        chat_type: str = "private",
        user_id: int | None = None,
        language_code: str | None = None,
        chat_title: str | None = None,
        sender_chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> None:
        """A person (or a channel, with ``chat_type="channel"``) posts ``text``; a leading
        "/command" gets a bot_command entity, as Telegram clients send it. ``reply_to`` adds
        fields of the message replied to (e.g. ``{"document": ...}``)."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Tester"
        else:
            chat["title"] = chat_title or f"chat {chat_id}"
        message: dict[str, Any] = {
            "botToken": self.token,
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        if user_id is not None:
            sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Tester"}
            if language_code:
                sender["language_code"] = language_code
            message["from"] = sender
        if sender_chat is not None:
            message["sender_chat"] = sender_chat
        if reply_to is not None:
            message["reply_to_message"] = {"message_id": 1, "date": message["date"], "chat": chat}
            message["reply_to_message"].update(reply_to)
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        await self._client("sendMessage", message)

    def add_file(self, data: bytes, file_name: str, mime: str = "text/x-opml") -> dict[str, Any]:
        """A document a user can send: the Bot API ``Document`` object for ``data``."""
        n = next(self._file_ids)
        file_id = f"doc-{n}"
        self.files[file_id] = (f"documents/file_{n}.opml", data)
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{n}",
            "file_name": file_name,
            "mime_type": mime,
            "file_size": len(data),
        }

    async def user_sends_document(
        self,
        document: dict[str, Any],
        *,
        caption: str,
        chat_id: int,
        chat_type: str = "private",
        user_id: int,
        language_code: str | None = None,
    ) -> None:
        """A person sends a document with a caption (Telegram clients put a leading /command
        in ``caption_entities``)."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Tester"
        else:
            chat["title"] = f"chat {chat_id}"
        sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if language_code:
            sender["language_code"] = language_code
        length = len(caption.split(maxsplit=1)[0])
        message: dict[str, Any] = {
            "botToken": self.token,
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "caption": caption,
            "caption_entities": [{"type": "bot_command", "offset": 0, "length": length}],
            "document": document,
        }
        await self._client("sendMessage", message)

    async def wait_documents(
        self, chat_id: int, count: int, *, deadline_s: float = 15.0
    ) -> list[dict[str, Any]]:
        """Poll until the bot sent ``count`` documents to ``chat_id`` (a peer deadline)."""
        deadline = time.monotonic() + deadline_s
        while True:
            docs = [d for d in self.documents if str(d["chat_id"]) == str(chat_id)]
            if len(docs) >= count or time.monotonic() > deadline:
                if len(docs) < count:
                    raise AssertionError(f"bot sent {len(docs)}/{count} documents to {chat_id}")
                return docs
            await asyncio.sleep(0.05)

    async def wait_photos(
        self, chat_id: int, count: int, *, deadline_s: float = 30.0
    ) -> list[dict[str, Any]]:
        """Poll until the bot sent ``count`` photos to ``chat_id`` (a peer deadline)."""
        deadline = time.monotonic() + deadline_s
        while True:
            photos = [p for p in self.photos if str(p["chat_id"]) == str(chat_id)]
            if len(photos) >= count or time.monotonic() > deadline:
                if len(photos) < count:
                    raise AssertionError(f"bot sent {len(photos)}/{count} photos to {chat_id}")
                return photos
            await asyncio.sleep(0.05)

    async def _send_document(self, request: web.Request) -> web.StreamResponse:
        return await self._send_upload(request, "sendDocument", "document", self.documents)

    async def _send_photo(self, request: web.Request) -> web.StreamResponse:
        return await self._send_upload(request, "sendPhoto", "photo", self.photos)

    async def _send_upload(
        self, request: web.Request, method: str, field: str, sent: list[dict[str, Any]]
    ) -> web.StreamResponse:
        form = await request.post()
        upload = form.get(field)
        if not isinstance(upload, web.FileField):
            return _error(400, f"Bad Request: there is no {field} in the request")
        data = upload.file.read()
        if not data:
            return _error(400, "Bad Request: file must be non-empty")
        chat_id = str(form.get("chat_id", ""))
        self.calls.append((method, {"chat_id": chat_id}))
        if self._injected.get(method):  # an upload answered as injected, like any other call
            injected = self._injected[method].pop(0)
            return web.json_response(injected.body, status=injected.status)
        if self._find_chat(chat_id) is None and not chat_id.lstrip("-").isdigit():
            return _error(400, "Bad Request: chat not found")
        # A caption is checked as message text is, with its own 1024-character limit.
        refused, visible = _parsed(str(form.get("caption", "")), form.get("parse_mode"))
        if refused is not None:
            return refused
        if len(visible.encode("utf-16-le")) // 2 > 1024:
            return _error(400, "Bad Request: message caption is too long")
        sent.append(
            {
                "chat_id": chat_id,
                "file_name": upload.filename,
                "content_type": upload.content_type,
                "data": data,
                "caption": visible,  # what a reader sees under the picture
            }
        )
        n = next(self._file_ids)
        file = {"file_id": f"sent-{n}", "file_unique_id": f"su-{n}", "file_size": len(data)}
        # A photo comes back as its sizes (Telegram's PhotoSize list), a document as one file.
        media: Any = (
            [{**file, "width": 800, "height": 600}]
            if field == "photo"
            else {**file, "file_name": upload.filename}
        )
        return _ok(
            {
                "message_id": 100000 + n,
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "private"},
                field: media,
            }
        )

    async def _file_download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        wanted = request.match_info["path"]
        for path, data in self.files.values():
            if path == wanted:
                return web.Response(body=data, content_type="application/octet-stream")
        return _error(404, "Not Found: file")

    async def bot_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """What the bot posted (the emulator's stored sendMessage bodies), oldest first."""
        history = await self._client("getUpdatesHistory", {"token": self.token})
        out = []
        for item in history["result"]:
            message = item["message"]
            if "chat_id" not in message:  # a user's message
                continue
            if chat_id is None or str(message["chat_id"]) == str(chat_id):
                out.append({**message, "message_id": item["messageId"]})
        return out

    async def wait_bot_messages(
        self, chat_id: int, count: int = 1, *, deadline_s: float = 15.0
    ) -> list[dict[str, Any]]:
        """Poll until the bot posted ``count`` messages in ``chat_id``; a timeout fails the test
        with what was seen (a deadline for a peer, not a timing assertion)."""
        deadline = time.monotonic() + deadline_s
        while True:
            messages = await self.bot_messages(chat_id)
            if len(messages) >= count or time.monotonic() > deadline:
                if len(messages) < count:
                    raise AssertionError(f"bot posted {len(messages)}/{count} in {chat_id}")
                return messages
            await asyncio.sleep(0.05)

    async def _client(self, route: str, payload: dict[str, Any]) -> Any:
        assert self._session is not None
        async with self._session.post(f"{self.emulator_url}/{route}", json=payload) as resp:
            resp.raise_for_status()
            return await resp.json()

    # ------------------------------------------------------------- the Bot API side

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], bytes]:
        raw = await request.read()
        params: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json" and raw:
            params.update(json.loads(raw))
        elif ctype == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qsl

            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        elif ctype.startswith("multipart/"):
            raise web.HTTPBadRequest(text="multipart not supported by this peer")
        # PTB sends objects as JSON strings inside the form.
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, raw

    async def _bot_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        if method == "sendDocument":
            return await self._send_document(request)
        if method == "sendPhoto":
            return await self._send_photo(request)
        params, raw = await self._params(request)
        self.calls.append((method, params))
        if self._injected.get(method):
            injected = self._injected[method].pop(0)
            if injected.echo_html:
                return _bad_gateway_page(request.path)
            return web.json_response(injected.body, status=injected.status)
        if method in LOCAL_METHODS:
            return self._local(method, params)
        if method == "sendMessage" and self.strict_html:
            refused = _check_message(params)
            if refused is not None:
                return refused
        assert self._session is not None
        async with self._session.request(
            request.method,
            f"{self.emulator_url}/bot{self.token}/{method}",
            data=raw,
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        ) as resp:
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                return _error(502, f"emulator answered non-JSON for {method}")
            status = resp.status
        if method == "getUpdates" and self.long_poll_s > 0 and body.get("result") == []:
            body = await self._hold_get_updates(request, raw, params)
        if not isinstance(body, dict) or "ok" not in body:
            # Unknown methods come back as {"message": ...} with 500: make it a Bot API error.
            return _error(404 if status == 500 else status, f"Not Found: {body}")
        return web.json_response(self._fix(method, params, body), status=status)

    async def _hold_get_updates(
        self, request: web.Request, raw: bytes, params: dict[str, Any]
    ) -> Any:
        """Ask the emulator again every 0.1 s until an update comes or the hold ends."""
        assert self._session is not None
        try:
            timeout = float(params.get("timeout") or 0)
        except (TypeError, ValueError):
            timeout = 0.0
        deadline = time.monotonic() + min(self.long_poll_s, timeout)
        body: Any = {"ok": True, "result": []}
        while time.monotonic() < deadline and self._runner is not None:
            await asyncio.sleep(0.1)
            async with self._session.post(
                f"{self.emulator_url}/bot{self.token}/getUpdates",
                data=raw,
                headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
            ) as resp:
                body = await resp.json(content_type=None)
            if not isinstance(body, dict) or body.get("result") != []:
                break
        return body

    def _fix(self, method: str, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        result = body.get("result")
        if method == "getMe" and isinstance(result, dict):
            result.setdefault("is_bot", True)
        elif method == "sendMessage" and isinstance(result, dict):
            if isinstance(result.get("date"), int) and result["date"] > 10**11:
                result["date"] //= 1000
            lpo = result.get("link_preview_options")
            if isinstance(lpo, str):
                result["link_preview_options"] = json.loads(lpo)
            for key in ("reply_parameters",):
                if isinstance(result.get(key), str):
                    result[key] = json.loads(result[key])
        elif method == "editMessageText" and result is None:
            body["result"] = {
                "message_id": int(params.get("message_id", 0)),
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
                "text": params.get("text", ""),
            }
        elif method == "getUpdates" and isinstance(result, list):
            for update in result:
                message = update.get("message")
                if not isinstance(message, dict):
                    continue
                message.pop("botToken", None)
                if message.get("chat", {}).get("type") == "channel":
                    update["channel_post"] = update.pop("message")
        return body

    def _local(self, method: str, params: dict[str, Any]) -> web.Response:
        if method == "setMyCommands":
            self.commands[params.get("language_code") or None] = list(params["commands"])
            return _ok(True)
        if method == "getFile":
            known = self.files.get(str(params.get("file_id")))
            if known is None:
                return _error(400, "Bad Request: invalid file_id")
            path, data = known
            return _ok(
                {
                    "file_id": params["file_id"],
                    "file_unique_id": f"u-{params['file_id']}",
                    "file_size": len(data),
                    "file_path": path,
                }
            )
        if method == "getMyCommands":
            return _ok(self.commands.get(params.get("language_code") or None, []))
        if method == "deleteMyCommands":
            self.commands.pop(params.get("language_code") or None, None)
            return _ok(True)
        chat = self._find_chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        if method == "getChat":
            info: dict[str, Any] = {"id": chat.id, "type": chat.type, "accent_color_id": 0}
            info.update(
                {k: v for k, v in (("title", chat.title), ("username", chat.username)) if v}
            )
            info["max_reaction_count"] = 11
            return _ok(info)
        if method == "getChatMember":
            return _ok(_member(chat, int(params["user_id"])))
        if method == "getChatAdministrators":
            return _ok(
                [_member(chat, uid) for uid in sorted(chat.admins | {chat.creator or 0}) if uid]
            )
        return _error(404, "Not Found")  # pragma: no cover

    def _find_chat(self, chat_id: Any) -> FakeChat | None:
        text = str(chat_id)
        if text.startswith("@"):
            return next((c for c in self.chats.values() if c.username == text[1:]), None)
        with contextlib.suppress(ValueError):
            return self.chats.get(int(text))
        return None


def _member(chat: FakeChat, user_id: int) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": user_id == BOT_ID, "first_name": f"user {user_id}"}
    if user_id == chat.creator:
        return {"status": "creator", "user": user, "is_anonymous": False}
    if user_id in chat.admins:
        rights = dict.fromkeys(
            (
                "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                "can_delete_stories",
            ),
            False,
        )  # fmt: skip
        return {"status": "administrator", "user": user, **rights}
    return {"status": "member", "user": user}


def _parsed(text: str, parse_mode: object) -> tuple[web.Response | None, str]:
    """(Telegram's refusal of ``text``'s markup or None, the text a reader sees)."""
    if str(parse_mode or "").upper() != "HTML":
        return None, text
    error, visible = telegram_html_error(text)
    if error is not None:
        return _error(400, f"Bad Request: can't parse entities: {error}"), text
    return None, visible


def _check_message(params: dict[str, Any]) -> web.Response | None:
    """Refuse a sendMessage the way Telegram does (markup, emptiness, length)."""
    refused, visible = _parsed(str(params.get("text", "")), params.get("parse_mode"))
    if refused is not None:
        return refused
    if not visible.strip():
        return _error(400, "Bad Request: message text is empty")
    if len(visible.strip().encode("utf-16-le")) // 2 > 4096:
        return _error(400, "Bad Request: message is too long")
    return None


def _bad_gateway_page(path: str) -> web.Response:
    """An nginx-style 502 page that echoes the request path, as some proxies do."""
    from urllib.parse import quote

    page = (
        "<html><head><title>502 Bad Gateway</title></head><body>"
        f"<center><h1>502 Bad Gateway</h1></center><p>upstream failed for POST {path}</p>"
        f"<p>{path.upper()}</p><!-- {quote(path, safe='/')} --></body></html>"
    )
    return web.Response(status=502, text=page, content_type="text/html")


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


@contextlib.contextmanager
def node_emulator() -> Iterator[NodeEmulator]:
    with NodeEmulator() as emulator:
        yield emulator


@contextlib.asynccontextmanager
async def fixup_proxy(emulator: NodeEmulator, **kwargs: Any) -> AsyncIterator[FixupProxy]:
    async with FixupProxy(emulator.url, **kwargs) as proxy:
        yield proxy
