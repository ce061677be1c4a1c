"""Telegram adapter on python-telegram-bot 22.

Lifecycle: Warta's app owns the event loop, so PTB runs through
``Application.initialize() / start() / updater.start_polling()`` and :meth:`TelegramAdapter.stop`
reverses it (never ``run_polling``, which wants the loop for itself).

Flood control is PTB's :class:`~telegram.ext.AIORateLimiter` (per-chat/group throttling and
retrying a 429 after its ``retry_after``). Its default ``max_retries`` is 0; we set 3. A 429 means
Telegram did not post the message, so retrying it cannot double-post; only when the retries are
used up does :meth:`TelegramAdapter.send_part` raise :class:`~bot.errors.RetryLater` and the
outbox reschedules the part. A *timeout* is different: the message may have been posted, and no
layer can know. It also becomes RetryLater (losing a digest part is worse than a rare repeat).

A group upgraded to a supergroup gets a new chat id. Sends to the old id raise
:class:`~bot.errors.ChannelMoved` (the outbox follows it); a reply to a command is resent to the
new id; the ``migrate_to_chat_id`` service message is passed to the core's optional
``channel_moved(old, new)`` (:class:`ChannelMoveHook`).

Optional capability for the command core (``TargetAdminCheck``): :meth:`is_admin_of` and
:meth:`resolve_channel` let ``/subscribe @channel`` from a linked group (or by ``-100…`` id)
check that the caller administers *that* chat, and store its numeric id.

Secrets: PTB logs the bot API URL (which contains the token) at DEBUG and httpx logs request
URLs at INFO. Install :class:`TokenMaskFilter` on the log handlers (:func:`install_log_filter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Protocol, runtime_checkable

import httpx
from telegram import (
    BotCommand,
    Document,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.supervisor import describe
from bot.commands import Attachment, Invocation, Reply, ReplyFile
from bot.commands.core import CommandCore as _Core
from bot.errors import (
    ChannelMoved,
    ConfigError,
    DeliveryError,
    FetchError,
    PermanentDeliveryError,
    PlatformUnavailable,
    RetryLater,
    TooLarge,
)
from bot.logsafe import (  # noqa: F401 - re-exported
    TokenMaskFilter,
    install_log_filter,
    mask_secrets,
    register_secret,
)
from bot.models import ChannelRef, Digest
from bot.render.telegram import CAPTION_LIMIT, render_digest, render_reply, to_plain, utf16_len

log = logging.getLogger(__name__)


async def _html_or_plain(
    send: Callable[[str, ParseMode | None], Awaitable[Message]], html: str
) -> Message:
    """``send(html, HTML)``; when Telegram refuses the markup, the same content as plain text
    (a message's text or a file's caption alike)."""
    try:
        return await send(html, ParseMode.HTML)
    except BadRequest as e:
        if "can't parse entities" not in e.message.lower():
            raise
        log.warning("telegram: HTML refused (%s); resending as plain text", e.message)
        return await send(to_plain(html), None)


class CommandCore(Protocol):
    """What this adapter needs from :class:`bot.commands.CommandCore`."""

    async def handle(self, inv: Invocation) -> Reply:
        """Answer one command. User errors come back as a Reply with ``error=True``."""
        ...


@runtime_checkable
class ChannelMoveHook(Protocol):
    """Optional on the command core: told when a group announces its move to a new chat id
    (the ``migrate_to_chat_id`` service message), so the subscription follows before the
    next digest instead of when that digest's first send fails."""

    async def channel_moved(self, old: ChannelRef, new: ChannelRef) -> None: ...


PLATFORM = "telegram"

COMMANDS: tuple[str, ...] = (
    "subscribe",
    "unsubscribe",
    "settings",
    "digest",
    "latest",
    "search",
    "story",
    "summary",
    "feeds",
    "status",
    "stats",
    "help",
)
# Indonesian names the core understands (/langganan, /ringkas, …), listed in an Indonesian /help.
CORE_ALIASES: tuple[str, ...] = tuple(_Core.ALIASES)
# The Indonesian command menu (setMyCommands with language_code "id") shows the core's names.
INDONESIAN_NAMES: dict[str, str] = _Core.INDONESIAN_NAMES

# Telegram's command menu text (setMyCommands, 3-256 characters each). English is the default
# list; Indonesian is shown to clients whose language is "id".
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "en": {
        "subscribe": "Subscribe this chat to the AI & artists digest",
        "unsubscribe": "Stop the digest in this chat",
        "settings": "Digest language, schedule, time zone and keywords",
        "digest": "Post a digest now",
        "latest": "The latest stories",
        "search": "Search stories",
        "story": "One story's quick facts",
        "summary": "Summarize a web page",
        "feeds": "The feeds Warta reads",
        "status": "Subscription and bot status",
        "stats": "Weekly charts of this chat's sources",
        "help": "How to use Warta",
    },
    "id": {
        "subscribe": "Langganan ringkasan AI & seniman di obrolan ini",
        "unsubscribe": "Hentikan ringkasan di obrolan ini",
        "settings": "Bahasa, jadwal, zona waktu, dan kata kunci ringkasan",
        "digest": "Kirim ringkasan sekarang",
        "latest": "Berita terbaru",
        "search": "Cari berita",
        "story": "Fakta singkat satu berita",
        "summary": "Ringkas sebuah halaman web",
        "feeds": "Daftar feed yang dibaca Warta",
        "status": "Status langganan dan bot",
        "stats": "Grafik mingguan sumber obrolan ini",
        "help": "Cara memakai Warta",
    },
}

# "/feeds …" or "/sumber …" (optionally "@botname") at the start of a document's caption.
_FEEDS_CAPTION = r"^/(feeds|sumber)(@\w+)?(\s|$)"

# Telegram's anonymous-admin account: a group admin posting "as the group" has this as sender.
_ANONYMOUS_ADMIN = 1087968824
_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})

# Chat-level BadRequests that retrying never fixes: the subscription must pause.
_PERMANENT_BAD_REQUEST = (
    "chat not found",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "chat_write_forbidden",
    "chat_restricted",
    "user is deactivated",
    "bot was kicked",
    "peer_id_invalid",
    "topic_closed",
    "topic_deleted",
    "message thread not found",
)


# Secrets in logs: bot.logsafe (re-exported here for callers of this module).


# --------------------------------------------------------------------------- helpers


def api_base_url(base_url: str | None) -> str | None:
    """PTB wants the API base ending in ``/bot`` (it appends the token). Accept the server root
    too ("http://127.0.0.1:8081"), as a self-hosted telegram-bot-api is usually configured."""
    if not base_url:
        return None
    base = base_url.rstrip("/")
    if "{token}" in base or base.endswith("/bot"):
        return base
    return base + "/bot"


def _file_base_url(api_base: str) -> str:
    root = api_base.split("{token}")[0]
    root = root[: -len("/bot")] if root.endswith("/bot") else root.rstrip("/")
    return root + "/file/bot"


def chat_id_of(channel: ChannelRef) -> int | str:
    """The Bot API chat_id for a ChannelRef: numeric ids as int, "@channelname" as is."""
    if channel.platform != PLATFORM:
        raise PermanentDeliveryError(f"not a Telegram channel: {channel}")
    ident = channel.id.strip()
    try:
        return int(ident)
    except ValueError:
        if not ident.startswith("@"):
            raise PermanentDeliveryError(f"bad Telegram chat id: {ident!r}") from None
        return ident


def _retry_seconds(error: RetryAfter) -> float:
    # PTB 22.2+ warns when the int form is read unless PTB_TIMEDELTA opts into timedelta.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


@contextlib.contextmanager
def delivery_errors(channel: ChannelRef) -> Iterator[None]:
    """Map PTB's exceptions to Warta's delivery errors. Order matters: BadRequest and TimedOut
    are NetworkErrors in PTB."""
    try:
        yield
    except RetryAfter as e:
        raise RetryLater(f"{channel}: flood control", retry_after=_retry_seconds(e)) from e
    except ChatMigrated as e:
        # Nothing was posted; the outbox moves the subscription and resends to the new id.
        raise ChannelMoved(
            f"{channel}: group became a supergroup; new chat id {e.new_chat_id}",
            new_channel=ChannelRef(PLATFORM, str(e.new_chat_id)),
        ) from e
    except Forbidden as e:
        raise PermanentDeliveryError(f"{channel}: {e.message}") from e
    except InvalidToken as e:
        raise ConfigError("the Telegram bot token was rejected") from e
    except BadRequest as e:
        text = e.message.lower()
        if any(marker in text for marker in _PERMANENT_BAD_REQUEST):
            raise PermanentDeliveryError(f"{channel}: {e.message}") from e
        # Any other 400 is about this message and will fail the same way on every retry.
        raise PermanentDeliveryError(f"{channel}: message refused: {e.message}") from e
    except TimedOut as e:
        raise RetryLater(f"{channel}: timed out", retry_after=5.0) from e
    except NetworkError as e:
        raise RetryLater(
            f"{channel}: network error: {mask_secrets(e.message)}", retry_after=15.0
        ) from e
    except TelegramError as e:
        raise RetryLater(f"{channel}: {mask_secrets(e.message)}", retry_after=30.0) from e


@contextlib.contextmanager
def start_errors() -> Iterator[None]:
    """Map PTB's exceptions while connecting or disconnecting: a rejected token is a
    ConfigError, anything else from the platform is PlatformUnavailable (the supervisor
    retries it). Messages are masked: PTB puts unparsable response bodies in them, and a
    proxy's error page may echo the request path with the token."""
    try:
        yield
    except InvalidToken as e:
        raise ConfigError("the Telegram bot token was rejected") from e
    except TelegramError as e:
        raise PlatformUnavailable(
            f"cannot reach the Telegram Bot API: {describe(e)}", platform=PLATFORM
        ) from e
    except (httpx.HTTPError, OSError) as e:
        raise PlatformUnavailable(f"telegram: {describe(e)}", platform=PLATFORM) from e


async def _stop_step(step: str, action: Awaitable[object]) -> None:
    try:
        await action
    except (TelegramError, httpx.HTTPError, OSError, RuntimeError) as e:
        log.warning("telegram: stopping (%s) failed: %s", step, describe(e))


class _PollProbe(HTTPXRequest):
    """The request object for getUpdates only (PTB keeps it apart from the other calls):
    records whether the last poll was answered, so the adapter can report a link that is down
    while PTB retries, and notices a rejected token, which ends PTB's polling for good."""

    def __init__(self) -> None:
        # PTB's own default for the getUpdates connection (one long poll at a time).
        super().__init__(connection_pool_size=1)
        self.failing_since: datetime | None = None
        self.error: str | None = None
        self.rejected: str | None = None
        self.changed = asyncio.Event()

    def _failed(self, error: str) -> None:
        if self.failing_since is None:
            self.failing_since = datetime.now(UTC)
        self.error = error
        self.changed.set()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(
                url,
                method,
                request_data,
                read_timeout,
                write_timeout,
                connect_timeout,
                pool_timeout,
            )
        except Exception as e:
            self._failed(describe(e))
            raise
        if code == HTTPStatus.OK:
            if self.failing_since is not None:
                self.failing_since, self.error = None, None
                self.changed.set()
        elif code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
            self.rejected = f"HTTP {code}"
            self._failed(f"getUpdates answered HTTP {code}")
        else:
            self._failed(f"getUpdates answered HTTP {code}")
        return code, payload


# --------------------------------------------------------------------------- the adapter


class TelegramAdapter:
    """A running Telegram bot. See the module docstring for lifecycle and error policy."""

    name = PLATFORM

    def __init__(
        self,
        *,
        token: str,
        base_url: str | None = None,
        poll_interval: float = 0.0,
        poll_timeout: float = 10.0,
        max_retries: int = 3,
        admin_cache_ttl: float = 60.0,
        concurrent_updates: int = 8,
        drop_pending_updates: bool = False,
        operators: Collection[int] = (),
        receive: bool = True,
    ) -> None:
        if not token or not token.strip():
            raise ConfigError("Telegram needs a bot token (WARTA_TELEGRAM_TOKEN)")
        self._token = token.strip()
        register_secret(self._token)
        self._base_url = api_base_url(base_url)
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.max_retries = max_retries
        self.admin_cache_ttl = admin_cache_ttl
        self.concurrent_updates = concurrent_updates
        self.drop_pending_updates = drop_pending_updates
        self.operators = frozenset(int(u) for u in operators)
        # False: send only (`warta sender`). Telegram lets one getUpdates poller per bot, so
        # only the gateway process receives commands; senders just call the Bot API.
        self.receive = receive
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._core: CommandCore | None = None
        self._admin_cache: dict[tuple[str, str], tuple[float, bool]] = {}
        # Some Bot API emulators/proxies ignore getUpdates' offset: never run an update twice.
        self._seen_ids: deque[int] = deque(maxlen=1024)
        self._seen_set: set[int] = set()
        self.username: str | None = None
        self._probe: _PollProbe | None = None  # made per start: PTB shuts its client down

    def __repr__(self) -> str:  # never show the token
        return f"TelegramAdapter(base_url={self._base_url!r}, username={self.username!r})"

    # ----------------------------------------------------------------- lifecycle

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        builder = (
            Application.builder()
            .token(self._token)
            .rate_limiter(AIORateLimiter(max_retries=self.max_retries))
            .concurrent_updates(self.concurrent_updates)
            .job_queue(None)  # Warta schedules with its own APScheduler ticks
        )
        if self._probe is not None:
            builder = builder.get_updates_request(self._probe)
        if self._base_url:
            builder = builder.base_url(self._base_url).base_file_url(_file_base_url(self._base_url))
        return builder.build()

    async def start(self, core: CommandCore) -> None:
        """Connect (getMe), register the command menus, route commands to ``core`` and poll.
        Raises ConfigError for a rejected token, PlatformUnavailable for anything the platform
        did (5xx, a timeout, no network, a reply that is not the Bot API's); after a failure
        nothing is left running, so the supervisor can simply call start again."""
        if self._app is not None:
            return
        self._core = core
        self._probe = _PollProbe()
        app = self._build()
        try:
            with start_errors():
                await app.initialize()
                self._app = app
                self.username = app.bot.username
                if not self.receive:
                    log.info("telegram: sending as @%s (not receiving commands)", self.username)
                    return
                self._add_handlers(app)
                await self._register_commands()
                await app.start()
                if app.updater is None:  # pragma: no cover - the builder always makes one here
                    raise ConfigError("python-telegram-bot built no updater")
                await app.updater.start_polling(
                    poll_interval=self.poll_interval,
                    timeout=timedelta(seconds=self.poll_timeout),
                    allowed_updates=[Update.MESSAGE, Update.CHANNEL_POST],
                    drop_pending_updates=self.drop_pending_updates,
                    error_callback=self._on_poll_error,
                )
        except BaseException:
            self._app = app
            with contextlib.suppress(Exception):
                await self.stop()
            raise
        log.info("telegram: polling as @%s", self.username)

    async def start_sending(self) -> None:
        """Connect (getMe) for sending only: no command menus, no getUpdates, so a one-shot
        `warta deliver --once` beside a running `warta run` does not take its updates."""
        if self._app is not None:
            return
        app = self._build()
        with start_errors():
            await app.initialize()
        self._app = app

    def _add_handlers(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        update_kinds = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(TypeHandler(Update, self._drop_seen), group=-1)
        app.add_handler(
            # Indonesian names (/langganan, /ringkas, ...) reach the core too; it maps them.
            CommandHandler(
                [*COMMANDS, *CORE_ALIASES, "start"], self._on_command, filters=update_kinds
            )
        )
        # "/feeds import" as the caption of an OPML document: CommandHandler reads only text.
        app.add_handler(
            MessageHandler(
                filters.Document.ALL & filters.CaptionRegex(_FEEDS_CAPTION), self._on_command
            )
        )
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        app.add_error_handler(self._on_error)

    def _on_poll_error(self, error: TelegramError) -> None:
        # PTB retries getUpdates by itself (growing its pause up to 30 s); the probe already
        # marks the link down, this only keeps the log short and masked.
        log.warning("telegram: getUpdates failed, retrying: %s", describe(error))

    async def stop(self) -> None:
        """Stop polling and PTB's application. Each step runs even if the one before failed
        (a polling task that died of a refused token re-raises when stopped)."""
        app, self._app = self._app, None
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await _stop_step("polling", app.updater.stop())
        if app.running:
            await _stop_step("application", app.stop())
        await _stop_step("shutdown", app.shutdown())

    async def wait_closed(self) -> None:
        """Return-by-raising once polling is over without :meth:`stop`: PTB gives up on
        getUpdates only for a rejected token; any other ending is unexpected too."""
        if not self.receive and self._app is not None:
            await asyncio.Event().wait()  # send only: nothing that can die by itself
        while True:
            app = self._app
            if app is None or app.updater is None or not app.updater.running:
                raise PlatformUnavailable("telegram: polling stopped", platform=PLATFORM)
            probe = self._probe
            if probe is not None and probe.rejected is not None:
                raise ConfigError(f"telegram: getUpdates refused the token ({probe.rejected})")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await (probe.changed if probe is not None else asyncio.Event()).wait()
            if probe is not None:
                probe.changed.clear()

    def link_problem(self) -> tuple[datetime, str] | None:
        """Set while getUpdates fails (PTB keeps retrying): (since, masked error)."""
        probe = self._probe
        if probe is None or probe.failing_since is None:
            return None
        return probe.failing_since, probe.error or "getUpdates failing"

    async def _register_commands(self) -> None:
        assert self._app is not None
        for lang, code in (("en", None), ("id", "id")):
            names = INDONESIAN_NAMES if lang == "id" else {name: name for name in COMMANDS}
            menu = [BotCommand(names[name], DESCRIPTIONS[lang][name]) for name in COMMANDS]
            try:
                await self._app.bot.set_my_commands(menu, language_code=code)
            except TelegramError as e:
                # A missing menu is cosmetic: commands still work when typed.
                log.warning("telegram: setMyCommands(%s) failed: %s", lang, mask_secrets(str(e)))

    # ----------------------------------------------------------------- incoming commands

    async def _drop_seen(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.update_id in self._seen_set:
            raise ApplicationHandlerStop
        if len(self._seen_ids) == self._seen_ids.maxlen:
            self._seen_set.discard(self._seen_ids[0])
        self._seen_ids.append(update.update_id)
        self._seen_set.add(update.update_id)

    async def invocation_for(self, message: Message) -> Invocation | None:
        """Build the platform-neutral Invocation for a command message (None: not for us).
        A document sent with the command (as its caption, or the message replied to) becomes
        the invocation's attachment; a person listed in ``operators`` is marked as one."""
        inv = await self._chat_invocation(message)
        if inv is None:
            return None
        user = message.from_user
        # A channel post or an anonymous admin has no person behind it to be an operator.
        operator = (
            inv.chat_kind != "channel"
            and message.sender_chat is None
            and user is not None
            and user.id in self.operators
        )
        replied = message.reply_to_message
        document = message.document or (replied.document if replied is not None else None)
        attachment = self._attachment(document) if document is not None else None
        if operator or attachment is not None:
            inv = replace(inv, is_operator=operator, attachment=attachment)
        return inv

    def _attachment(self, document: Document) -> Attachment:
        async def read(max_bytes: int) -> bytes:
            # Bot API files carry their size: refuse before downloading when it is declared.
            if document.file_size is not None and document.file_size > max_bytes:
                raise TooLarge(f"document of {document.file_size} bytes > {max_bytes}")
            try:
                file = await self._bot().get_file(document.file_id)
                if file.file_size is not None and file.file_size > max_bytes:
                    raise TooLarge(f"file of {file.file_size} bytes > {max_bytes}")
                data = bytes(await file.download_as_bytearray())
            except TelegramError as e:
                raise FetchError(f"cannot download the document: {mask_secrets(str(e))}") from e
            if len(data) > max_bytes:
                raise TooLarge(f"document of {len(data)} bytes > {max_bytes}")
            return data

        return Attachment(
            filename=document.file_name or "document", size=document.file_size, read=read
        )

    async def _chat_invocation(self, message: Message) -> Invocation | None:
        text = message.text or message.caption or ""
        if not text.startswith("/") or message.is_automatic_forward:
            # Linked-channel posts are forwarded into the discussion group: the channel_post
            # update already ran the command once.
            return None
        head, *rest = text.split(maxsplit=1)
        command = head[1:].split("@", 1)[0].lower()
        command = "help" if command == "start" else command
        args = rest[0].strip() if rest else ""
        chat = message.chat
        user = message.from_user
        channel = ChannelRef(PLATFORM, str(chat.id))
        if chat.type == ChatType.CHANNEL:
            # Only the channel's admins can post in it.
            sender = message.sender_chat or chat
            return Invocation(command, args, channel, str(sender.id), True, None, "channel")
        if chat.type == ChatType.PRIVATE:
            uid = str(user.id if user else chat.id)
            locale = user.language_code if user else None
            return Invocation(command, args, channel, uid, True, locale, "private")
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            # An anonymous group admin ("send as the group"): only admins can do that.
            return Invocation(command, args, channel, str(chat.id), True, None, "group")
        if user is None or user.id == _ANONYMOUS_ADMIN or message.sender_chat is not None:
            return Invocation(command, args, channel, str(chat.id), False, None, "group")
        is_admin = await self.is_admin_of(channel, str(user.id))
        return Invocation(
            command, args, channel, str(user.id), is_admin, user.language_code, "group"
        )

    async def _on_command(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or self._core is None:
            return
        inv = await self.invocation_for(message)
        if inv is None:
            return
        reply = await self._core.handle(inv)
        thread = message.message_thread_id if message.is_topic_message else None
        reply_to = (
            ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
            if inv.chat_kind == "group"
            else None
        )
        target = inv.channel
        where: dict[str, Any] = {"message_thread_id": thread, "reply_parameters": reply_to}
        parts = render_reply(reply)
        Send = Callable[[int | str, dict[str, Any]], Awaitable[Message]]

        def text(part: str) -> Send:
            return lambda chat, kw: self._send_html(chat, part, **kw)

        sends = [text(part) for part in parts]
        if (file := reply.file) is not None:
            upload = file  # narrowed, for the closures below
            # The raw HTML is never shorter than the parsed text Telegram counts.
            if file.is_image and len(parts) == 1 and utf16_len(parts[0]) <= CAPTION_LIMIT:
                # The chart and its caption as one message, as people post a picture.
                sends = [lambda chat, kw: self._send_file(chat, upload, caption=parts[0], **kw)]
            else:
                sends.append(lambda chat, kw: self._send_file(chat, upload, **kw))
        for send in sends:
            try:
                try:
                    with delivery_errors(target):
                        await send(chat_id_of(target), where)
                except ChannelMoved as e:
                    # The command came in just before the group became a supergroup: answer
                    # there (the message replied to and its thread stayed behind).
                    log.info("telegram: %s moved to %s; replying there", target, e.new_channel)
                    target, where = e.new_channel, {}
                    with delivery_errors(target):
                        await send(chat_id_of(target), where)
            except DeliveryError as e:
                log.warning("telegram: reply to %s failed: %s", target, e)
                return

    async def _send_file(
        self, chat_id: int | str, file: ReplyFile, *, caption: str | None = None, **kwargs: Any
    ) -> Message:
        """A document (OPML) as a file to download; an image (the /stats chart) as a photo,
        which Telegram shows inline (and recompresses: fine for a chart). ``caption`` is HTML,
        sent as plain text if Telegram refuses its markup."""
        bot = self._bot()
        send = bot.send_photo if file.is_image else bot.send_document

        async def upload(text: str | None, mode: ParseMode | None) -> Message:
            media = InputFile(file.data, filename=file.filename)
            sent: Message = await send(chat_id, media, caption=text, parse_mode=mode, **kwargs)
            return sent

        if caption is None:
            return await upload(None, None)
        return await _html_or_plain(upload, caption)

    async def _on_migrate(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.migrate_to_chat_id is None:
            return  # the new supergroup's "migrated from" twin carries nothing new
        old = ChannelRef(PLATFORM, str(message.chat.id))
        new = ChannelRef(PLATFORM, str(message.migrate_to_chat_id))
        log.info("telegram: group %s became supergroup %s", old, new)
        if isinstance(self._core, ChannelMoveHook):
            await self._core.channel_moved(old, new)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "telegram: error while handling update %s: %s",
            getattr(update, "update_id", "?"),
            mask_secrets(repr(error)),
            exc_info=error,
        )

    # ----------------------------------------------------------------- admin checks

    async def is_admin_of(self, channel: ChannelRef, user_id: str) -> bool:
        """Whether ``user_id`` is the creator or an administrator of ``channel`` (a numeric id or
        "@channelname"). False when the bot cannot see that chat or the check fails; results
        are cached for ``admin_cache_ttl`` seconds."""
        try:
            chat_id = chat_id_of(channel)
            uid = int(user_id)
        except (PermanentDeliveryError, ValueError):
            return False
        key = (str(chat_id).lower(), user_id)
        now = time.monotonic()
        cached = self._admin_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await self._bot().get_chat_member(chat_id, uid)
        except (BadRequest, Forbidden) as e:
            log.info("telegram: admin check in %s impossible: %s", channel, e.message)
            result = False
        except TelegramError as e:
            log.warning("telegram: admin check in %s failed: %s", channel, mask_secrets(str(e)))
            return False  # not cached: a transient failure must not stick
        else:
            result = member.status in _ADMIN_STATUSES
        if len(self._admin_cache) > 4096:
            self._admin_cache = {k: v for k, v in self._admin_cache.items() if v[0] > now}
        self._admin_cache[key] = (now + self.admin_cache_ttl, result)
        return result

    async def resolve_channel(self, target: str) -> ChannelRef | None:
        """The numeric ChannelRef of "@channelname" or "-100…" (usernames change, ids do not).
        None when the bot cannot see that chat."""
        target = target.strip()
        try:
            chat_id = chat_id_of(ChannelRef(PLATFORM, target))
            chat = await self._bot().get_chat(chat_id)
        except PermanentDeliveryError:
            return None
        except TelegramError as e:
            log.info("telegram: cannot resolve %r: %s", target, mask_secrets(str(e)))
            return None
        return ChannelRef(PLATFORM, str(chat.id))

    # ----------------------------------------------------------------- outgoing

    def _bot(self) -> Any:
        if self._app is None:
            # Down and being restarted by the supervisor: the outbox tries again later.
            raise RetryLater("the Telegram adapter is not running", retry_after=30.0)
        return self._app.bot

    async def _send_html(self, chat_id: int | str, text: str, **kwargs: Any) -> Message:
        """Send HTML; if Telegram refuses the markup, send the same content as plain text."""
        bot = self._bot()
        no_preview = LinkPreviewOptions(is_disabled=True)

        async def message(body: str, mode: ParseMode | None) -> Message:
            sent: Message = await bot.send_message(
                chat_id, body, parse_mode=mode, link_preview_options=no_preview, **kwargs
            )
            return sent

        return await _html_or_plain(message, text)

    def render_digest(self, digest: Digest) -> Sequence[object]:
        return render_digest(digest)

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        """Post one rendered HTML part; returns the Telegram message id.
        Raises RetryLater (429 after AIORateLimiter's retries, timeouts, network/5xx),
        ChannelMoved (the group became a supergroup: ``new_channel`` has its new id) or
        PermanentDeliveryError (bot blocked/kicked, chat not found, no rights, refused message).
        """
        if not isinstance(part, str):
            raise TypeError(f"Telegram parts are HTML strings, not {type(part).__name__}")
        with delivery_errors(channel):
            message = await self._send_html(chat_id_of(channel), part)
        return str(message.message_id)

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        ids = []
        for part in render_reply(reply):
            ids.append(await self.send_part(channel, part))
        if reply.file is not None:
            with delivery_errors(channel):
                message = await self._send_file(chat_id_of(channel), reply.file)
            ids.append(str(message.message_id))
        return ids


def create(**settings: Any) -> TelegramAdapter:
    """Registry factory (``bot.adapters.telegram:create``). Settings: ``token`` (required),
    ``base_url`` (WARTA_TELEGRAM_BASE_URL: a self-hosted telegram-bot-api or a test emulator),
    ``poll_interval``, ``poll_timeout``, ``max_retries``, ``admin_cache_ttl``,
    ``concurrent_updates``, ``drop_pending_updates``, ``operators`` (user ids). Unknown keys
    are a ConfigError."""
    try:
        return TelegramAdapter(**settings)
    except TypeError as e:
        raise ConfigError(f"bad Telegram adapter settings: {e}") from e
