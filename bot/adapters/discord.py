"""Discord adapter: slash commands through discord.py's ``app_commands`` tree, digests as embeds.

Only this module and :mod:`bot.render.discord` know Discord. Commands become
:class:`bot.commands.Invocation` objects for the platform-neutral core; the adapter computes
``is_admin`` from the member's resolved channel permissions and nothing else — the core enforces.

Rate limits: discord.py handles per-route buckets and sleeps through a 429 *only when the response
carries a ``Via`` header* (a 429 without it is taken as a Cloudflare ban and raised). A 429 whose
``retry_after`` exceeds ``max_ratelimit_timeout`` is raised as ``discord.RateLimited`` instead of
slept through; both become :class:`bot.errors.RetryLater`, so the outbox reschedules the delivery
instead of blocking a sender for minutes.

Gateway: only the ``guilds`` intent (no message content); interactions arrive over the gateway,
whose address comes from ``GET /gateway/bot``. discord.py resumes or re-identifies after a drop
by itself; :meth:`DiscordAdapter.wait_closed` tells the supervisor when it gave up, and
:meth:`DiscordAdapter.link_problem` reports the gateway as down while it reconnects.
``start(core, connect_gateway=False)`` logs in over REST only.

REST base: ``base_url`` (setting ``discord_base_url``) replaces ``https://discord.com/api/v10``
for a rate-limit proxy such as nirn-proxy, or a test server. Start-up failures are mapped to
ConfigError (token refused) or PlatformUnavailable (the rest) at this boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.app_commands import Choice, locale_str
from discord.gateway import DiscordWebSocket

from bot.adapters.supervisor import describe
from bot.commands import Attachment, CommandCore, Invocation, Reply
from bot.errors import (
    CommandError,
    ConfigError,
    DeliveryError,
    FetchError,
    PermanentDeliveryError,
    PlatformUnavailable,
    RetryLater,
    TooLarge,
)
from bot.lang.strings import norm_lang, t
from bot.logsafe import register_secret
from bot.models import ChannelRef, Digest
from bot.render.discord import MessagePayload, render_digest, render_reply

log = logging.getLogger(__name__)

DInteraction = discord.Interaction[discord.Client]

_DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY  # restored on stop (it is process-wide)

PLATFORM = "discord"

# Discord wants an interaction answered within 3 s; these commands read the store, search or
# fetch a page, so they defer at once. Any other command defers if the core is not done by then.
SLOW_COMMANDS = frozenset({"digest", "search", "summary", "latest", "story", "stats"})
DEFER_AFTER_S = 2.0

SCHEDULE_EXAMPLES = (
    "daily 08:00",
    "daily 18:00",
    "every 6h",
    "every 12h",
    "weekly mon 09:00",
    "instant",
)

# Discord error codes that mean the channel will not accept our posts until a human acts.
PERMANENT_CODES = {
    10003: "unknown channel",
    50001: "missing access",
    50013: "missing permissions",
    50007: "cannot send messages to this user",
}

_FALLBACK_ERROR = {
    "id": "Maaf, terjadi kesalahan. Coba lagi nanti.",
    "en": "Sorry, something went wrong. Please try again later.",
}

# English default -> Indonesian, for command/option names, descriptions and choice names.
# Names must match ``^[-_\p{L}\p{N}]{1,32}$`` in lowercase; descriptions are 1-100 characters.
INDONESIAN: dict[str, str] = {
    **CommandCore.INDONESIAN_NAMES,  # command names: the core's, as on Telegram's menu
    "weeks": "minggu",
    "lang": "bahasa",
    "schedule": "jadwal",
    "keywords": "kata_kunci",
    "changes": "perubahan",
    "n": "jumlah",
    "query": "kueri",
    "id": "id",
    "url": "url",
    "action": "aksi",
    "Indonesian": "Bahasa Indonesia",
    "English": "Bahasa Inggris",
    "list": "daftar",
    "add": "tambah",
    "remove": "hapus",
    "export": "ekspor",
    "import": "impor",
    "default": "bawaan",
    "file": "berkas",
    "OPML file to import": "Berkas OPML untuk diimpor",
    "Feed URL, or add/remove URL after default": "URL feed, atau add/remove URL setelah bawaan",
    "Subscribe this channel to AI & artists digests": (
        "Langganankan kanal ini ke ringkasan AI & seniman"
    ),
    "Stop this channel's digests": "Hentikan ringkasan di kanal ini",
    "Show or change this channel's digest settings": (
        "Lihat atau ubah pengaturan ringkasan kanal ini"
    ),
    "Post a digest of the newest stories now": "Kirim ringkasan berita terbaru sekarang",
    "Show the latest stories": "Tampilkan berita terbaru",
    "Search stories": "Cari berita",
    "Show one story's quick facts": "Tampilkan fakta singkat satu berita",
    "Summarize a web article": "Ringkas sebuah artikel web",
    "List or manage the feeds": "Lihat atau kelola sumber berita",
    "Show the bot's status": "Tampilkan status bot",
    "Weekly charts of this channel's sources": "Grafik mingguan sumber kanal ini",
    "How many weeks (4-26)": "Berapa minggu (4-26)",
    "How to use the bot": "Cara memakai bot",
    "Digest language": "Bahasa ringkasan",
    "When to post, e.g. daily 08:00, every 6h, weekly mon 09:00, instant": (
        "Kapan dikirim, mis. daily 08:00, every 6h, weekly mon 09:00, instant"
    ),
    "Keywords: +widen -exclude !require": "Kata kunci: +perluas -kecualikan !wajib",
    "Change, e.g. schedule every 6h · lang en · keywords +a -b !c": (
        "Perubahan, mis. jadwal setiap 6j · bahasa en · kata +a -b !c"
    ),
    "How many stories (1-20)": "Berapa berita (1-20)",
    "Words to search for": "Kata yang dicari",
    "Story number": "Nomor berita",
    "Article URL (http or https)": "URL artikel (http atau https)",
    "What to do": "Yang dilakukan",
}


@runtime_checkable
class CommandCoreLike(Protocol):
    """What the adapter needs from :class:`bot.commands.CommandCore`."""

    async def handle(self, inv: Invocation) -> Reply:
        """Answer one command. Raises nothing for user mistakes (they become error replies)."""


@runtime_checkable
class SourceLister(Protocol):
    """Optional: a core that lists a chat's sources gets ``/feeds url`` autocomplete."""

    async def source_choices(
        self, channel: ChannelRef, *, is_operator: bool = False
    ) -> list[tuple[str, str]]:
        """(shown name, value) per source of ``channel``; names are redacted for non-operators
        and values are opaque ids, so a choice never carries a feed's secret."""
        ...


class WartaTranslator(app_commands.Translator):
    """Indonesian names/descriptions for the slash commands (English is the default)."""

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is discord.Locale.indonesian:
            return INDONESIAN.get(string.message)
        return None


def join_args(*values: object) -> str:
    """Options back in the textual form a user types after the command (what Telegram sends),
    so the core parses both platforms the same way. Missing options are skipped."""
    return " ".join(str(v).strip() for v in values if v is not None and str(v).strip())


def invocation_from(
    interaction: discord.Interaction[Any],
    command: str,
    args: str,
    *,
    operators: Collection[int] = (),
    attachment: Attachment | None = None,
) -> Invocation:
    """Build the platform-neutral invocation. In a DM the user owns the chat, so is admin there
    (of that DM only); ``operators`` are the instance operators' user ids."""
    channel_id = interaction.channel_id
    if channel_id is None:
        # Discord always sends the channel for slash commands; a user DM is the fallback.
        channel_id = interaction.user.id
    if interaction.guild_id is None:
        chat_kind, is_admin = "private", True
    else:
        perms = interaction.permissions
        chat_kind = "group"
        is_admin = bool(perms.administrator or perms.manage_guild or perms.manage_channels)
    return Invocation(
        command=command,
        args=args,
        channel=ChannelRef(PLATFORM, str(channel_id)),
        user_id=str(interaction.user.id),
        is_admin=is_admin,
        locale=str(interaction.locale),
        chat_kind=chat_kind,
        is_operator=interaction.user.id in operators,
        attachment=attachment,
    )


def attachment_of(file: discord.Attachment) -> Attachment:
    """A Discord attachment, read only when the command needs it and only up to its cap."""

    async def read(max_bytes: int) -> bytes:
        if file.size > max_bytes:
            raise TooLarge(f"attachment of {file.size} bytes > {max_bytes}")
        try:
            data = await file.read()
        except (discord.DiscordException, aiohttp.ClientError, TimeoutError, OSError) as e:
            raise FetchError(f"cannot download the attachment: {type(e).__name__}") from e
        if len(data) > max_bytes:
            raise TooLarge(f"attachment of {len(data)} bytes > {max_bytes}")
        return data

    return Attachment(filename=file.filename, size=file.size, read=read)


def _embeds(part: MessagePayload) -> list[discord.Embed]:
    return [discord.Embed.from_dict(e) for e in part["embeds"]]


def map_http_error(e: Exception) -> DeliveryError:
    """A discord.py/aiohttp failure as Warta's delivery error."""
    if isinstance(e, discord.RateLimited):
        return RetryLater(f"discord rate limited: {e}", retry_after=float(e.retry_after))
    if isinstance(e, discord.HTTPException):
        code, status = e.code, e.status
        if status == 429:
            return RetryLater(f"discord 429 (code {code})", retry_after=_retry_after(e))
        if status >= 500:
            return RetryLater(f"discord server error {status}", retry_after=5.0)
        if isinstance(e, discord.Forbidden | discord.NotFound) or code in PERMANENT_CODES:
            reason = PERMANENT_CODES.get(code, e.text or "forbidden/not found")
            return PermanentDeliveryError(f"discord {status} {code}: {reason}")
        # 400 (a body we built wrong) or 401 (token revoked): not the channel's fault, so not a
        # reason to pause the subscription; the outbox records it as a failed delivery.
        return DeliveryError(f"discord {status} {code}: {e.text}")
    if isinstance(e, aiohttp.ClientError | TimeoutError | OSError):
        return RetryLater(f"discord network error: {e!r}", retry_after=5.0)
    return DeliveryError(f"discord send failed: {e!r}")


def _retry_after(e: discord.HTTPException) -> float:
    response: Any = e.response
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        header = response.headers.get("Retry-After")
        if header is not None:
            return max(float(header), 0.0)
    return 5.0


class WartaTree(app_commands.CommandTree[discord.Client]):
    async def on_error(
        self, interaction: discord.Interaction[discord.Client], error: app_commands.AppCommandError
    ) -> None:
        command = interaction.command.name if interaction.command else "?"
        log.error("discord command /%s failed", command, exc_info=error)
        lang = norm_lang(str(interaction.locale))
        text = t("internal_error", lang)
        if text == "internal_error":
            text = _FALLBACK_ERROR[lang]
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(
                    text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )


def check_shards(count: int, ids: Sequence[int]) -> None:
    """Shard settings discord.py would only refuse once connecting: refuse them at start."""
    if count < 0:
        raise ConfigError("discord: the shard count must be 0 (Discord decides) or more")
    if ids and count <= 1:
        raise ConfigError("discord: shard ids need a shard count above 1")
    wrong = sorted(i for i in ids if not 0 <= i < count)
    if wrong:
        raise ConfigError(f"discord: shard ids {wrong} are not below the shard count {count}")


def rest_base(url: str) -> str:
    """discord.py's Route.BASE for ``url``: a proxy or server root gets Discord's API prefix
    (``http://nirn:8080`` -> ``http://nirn:8080/api/v10``); a base that names a version is kept."""
    base = url.rstrip("/")
    if re.search(r"/api/v\d+$", base):
        return base
    return f"{base}/api/v{discord.http.INTERNAL_API_VERSION}"


@contextlib.contextmanager
def start_errors() -> Iterator[None]:
    """Map discord.py's and aiohttp's exceptions while connecting to Warta's tree: a refused
    token is a ConfigError; everything the platform or the network did is PlatformUnavailable,
    which the supervisor retries with backoff."""
    try:
        yield
    except discord.LoginFailure as e:
        raise ConfigError("discord: the bot token was refused") from e
    except discord.HTTPException as e:
        if e.status == 401:
            raise ConfigError("discord: the bot token was refused") from e
        raise PlatformUnavailable(
            f"discord: HTTP {e.status} (code {e.code})", platform=PLATFORM
        ) from e
    except (
        discord.GatewayNotFound,
        discord.ConnectionClosed,
        aiohttp.ClientError,
        TimeoutError,
        OSError,
    ) as e:
        raise PlatformUnavailable(f"discord: {describe(e)}", platform=PLATFORM) from e
    except (KeyError, TypeError, ValueError) as e:
        # discord.py indexes replies directly: a proxy's or broken server's odd answer lands here.
        raise PlatformUnavailable(
            f"discord: unexpected reply ({describe(e)})", platform=PLATFORM
        ) from e


class DiscordAdapter:
    """A Discord bot connection. Lifecycle: ``await start(core)`` ... ``await stop()``."""

    name = PLATFORM

    def __init__(
        self,
        *,
        token: str,
        guild_id: int | None = None,
        base_url: str | None = None,
        max_ratelimit_timeout: float = 30.0,
        defer_after_s: float = DEFER_AFTER_S,
        operators: Collection[int] = (),
        receive: bool = True,
        shard_count: int = 1,
        shard_ids: Sequence[int] = (),
    ) -> None:
        if not token or not token.strip():
            raise ConfigError("discord: a bot token is required (set it in the environment)")
        check_shards(shard_count, shard_ids)
        self._token = token.strip()
        register_secret(self._token)
        self.guild_id = guild_id
        self.base_url = rest_base(base_url) if base_url else None
        self.defer_after_s = defer_after_s
        self.max_ratelimit_timeout = max_ratelimit_timeout
        self.operators = frozenset(int(u) for u in operators)
        # False: REST only (`warta sender`): no gateway, no command sync; the gateway
        # processes (`warta gateway --platform discord`) answer the commands.
        self.receive = receive
        self.shard_count = shard_count
        self.shard_ids = tuple(shard_ids)
        self._core: CommandCoreLike | None = None
        self._gateway: asyncio.Task[None] | None = None
        self._started = False
        self._link_down: tuple[datetime, str] | None = None
        self._saved_base: str | None = None
        self._new_client()

    def _new_client(self) -> None:
        """A fresh discord.py client and command tree. Each start after the first gets new
        ones: a closed discord.Client keeps its closed connection pool (``clear()`` does not
        reset it), so reopening one fails with "Session is closed"."""
        intents = discord.Intents.none()
        intents.guilds = True
        options: dict[str, Any] = {
            "intents": intents,
            "allowed_mentions": discord.AllowedMentions.none(),
            "max_ratelimit_timeout": self.max_ratelimit_timeout,
        }
        if self.shard_count == 1:
            self.client = discord.Client(**options)
        else:
            # A bot in many guilds must shard (Discord refuses one connection past 2,500
            # guilds). discord.py runs the shards of this process over one client; shard_ids
            # lets gateways on several machines each run their own part.
            if self.shard_ids:
                options["shard_ids"] = list(self.shard_ids)
            self.client = discord.AutoShardedClient(shard_count=self.shard_count or None, **options)
        self.tree = WartaTree(self.client)
        self._fresh = True
        self._watch_link()
        build_commands(self)

    def __repr__(self) -> str:
        # Never show the token, even in a debugger or a log line.
        return f"DiscordAdapter(guild_id={self.guild_id!r}, started={self._started})"

    # ------------------------------------------------------------------ lifecycle

    async def start(
        self, core: CommandCoreLike, *, connect_gateway: bool = True, sync_commands: bool = True
    ) -> None:
        """Log in over REST, sync the slash commands (instantly to ``guild_id`` when set, else
        globally) and, unless told not to, connect the gateway in the background.

        Raises ConfigError (token refused, command definitions refused) or PlatformUnavailable
        (5xx, network, timeouts, no gateway, a reply discord.py could not read). After a
        failure nothing is left open, so the supervisor can call start again."""
        self._core = core
        if not self.receive:
            connect_gateway = sync_commands = False
        if not self._fresh:
            self._new_client()
        self._fresh = False
        if self.base_url is not None:
            # discord.py has one REST base per process (Route.BASE; the interaction and
            # webhook routes use it too): a rate-limit proxy such as nirn-proxy, or a test server.
            self._saved_base = discord.http.Route.BASE
            discord.http.Route.BASE = self.base_url
        try:
            with start_errors():
                await self.client.login(self._token)
                self._started = True
                await self.tree.set_translator(WartaTranslator())
                if sync_commands:
                    await self.sync_commands()
                if connect_gateway:
                    # Ask where the gateway is (GET /gateway/bot, as Discord documents), so a
                    # REST base that is not discord.com also brings its own gateway.
                    _shards, url, _limits = await self.client.http.get_bot_gateway()
                    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
                    self._link_down = (datetime.now(UTC), "gateway: connecting")
                    self._gateway = asyncio.create_task(self.client.connect(reconnect=True))
                    self._gateway.add_done_callback(_log_gateway_end)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.stop()
            raise

    def _watch_link(self) -> None:
        """Follow the gateway's state through discord.py's events: READY ("connect") and
        RESUMED mean connected; "disconnect" means discord.py is reconnecting by itself."""

        async def on_connect() -> None:
            self._link_down = None

        async def on_resumed() -> None:
            self._link_down = None

        async def on_disconnect() -> None:
            if self._link_down is None:
                self._link_down = (datetime.now(UTC), "gateway: disconnected, reconnecting")

        for handler in (on_connect, on_resumed, on_disconnect):
            self.client.event(handler)

    def link_problem(self) -> tuple[datetime, str] | None:
        """(since, why) while the gateway is not connected; None when it is (or not used)."""
        return self._link_down if self._gateway is not None else None

    async def wait_closed(self) -> None:
        """Raise once the gateway task ended on its own. discord.py reconnects by itself after
        drops and resumable close codes; it ends only on what it cannot handle (a refused
        token, close codes 4004-4014, a clean close it did not ask for)."""
        gateway = self._gateway
        if gateway is None:
            await asyncio.Event().wait()  # REST only: nothing that can die by itself
            return
        await asyncio.wait({gateway})  # not `await gateway`: being cancelled must not cancel it
        error = None if gateway.cancelled() else gateway.exception()
        if error is not None:
            raise PlatformUnavailable(
                f"discord gateway stopped: {describe(error)}", platform=PLATFORM
            ) from error
        raise PlatformUnavailable("discord gateway closed", platform=PLATFORM)

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Register the commands with Discord; a bad definition is a ConfigError, a 5xx or a
        network failure PlatformUnavailable."""
        try:
            if self.guild_id is not None:
                guild = discord.Object(id=self.guild_id)
                self.tree.copy_global_to(guild=guild)
                return await self.tree.sync(guild=guild)
            return await self.tree.sync()
        except app_commands.CommandSyncFailure as e:
            raise ConfigError(f"discord: command definitions refused: {e}") from e
        except discord.HTTPException as e:
            if e.status >= 500 or e.status == 429:
                raise PlatformUnavailable(
                    f"discord: command sync failed: {e.status}", platform=PLATFORM
                ) from e
            raise ConfigError(f"discord: command sync failed: {e.status} {e.code}") from e

    async def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._gateway
            self._gateway = None
        self._link_down = None
        if not self.client.is_closed() or self._started:
            with start_errors():
                await self.client.close()
        self._started = False
        DiscordWebSocket.DEFAULT_GATEWAY = _DISCORD_GATEWAY
        if self._saved_base is not None:
            discord.http.Route.BASE, self._saved_base = self._saved_base, None

    # ------------------------------------------------------------------ commands

    @property
    def core(self) -> CommandCoreLike:
        if self._core is None:
            raise RuntimeError("DiscordAdapter.start(core) was not called")
        return self._core

    async def source_choices(self, interaction: DInteraction) -> list[tuple[str, str]]:
        """The invoking chat's sources for autocomplete, as the core names them for this user."""
        core = self.core
        if not isinstance(core, SourceLister):
            return []
        inv = invocation_from(interaction, "feeds", "", operators=self.operators)
        return await core.source_choices(inv.channel, is_operator=inv.is_operator)

    async def run(
        self,
        interaction: discord.Interaction[discord.Client],
        command: str,
        args: str,
        *,
        file: discord.Attachment | None = None,
    ) -> None:
        """Route one slash command to the core and answer within Discord's 3 s deadline."""
        inv = invocation_from(
            interaction,
            command,
            args,
            operators=self.operators,
            attachment=attachment_of(file) if file is not None else None,
        )
        deferred = False
        if command in SLOW_COMMANDS:
            await interaction.response.defer(thinking=True)
            deferred = True
        task = asyncio.create_task(self._handle(inv))
        if not deferred:
            done, _ = await asyncio.wait({task}, timeout=self.defer_after_s)
            if not done:
                await interaction.response.defer(thinking=True)
                deferred = True
        reply = await task
        await self._answer(interaction, reply, deferred=deferred)

    async def _handle(self, inv: Invocation) -> Reply:
        try:
            return await self.core.handle(inv)
        except CommandError as e:
            # The core normally turns these into error replies itself; this is the safety net.
            lang = norm_lang(inv.locale)
            try:
                text = t(e.key, lang, **e.params)
            except (KeyError, IndexError, ValueError):
                text = t("internal_error", lang)
            return Reply(text=text, lang=lang, error=True, ephemeral=True)

    async def _answer(
        self, interaction: discord.Interaction[discord.Client], reply: Reply, *, deferred: bool
    ) -> None:
        if reply.silent:
            # A rate-limit refusal already answered once. Discord still wants the interaction
            # acknowledged; acknowledge it and remove the placeholder, so nothing is left.
            if not deferred:
                await interaction.response.defer(ephemeral=True)
            await interaction.delete_original_response()
            return
        parts = render_reply(reply)
        none = discord.AllowedMentions.none()
        if deferred and reply.ephemeral:
            # A private answer (an error, "slow down") after a public "thinking…": the first
            # follow-up would inherit the placeholder's visibility, so drop the placeholder and
            # answer privately instead of showing the whole channel.
            await interaction.delete_original_response()
            for part in parts:
                await interaction.followup.send(
                    content=part["content"] or "",
                    embeds=_embeds(part),
                    ephemeral=True,
                    allowed_mentions=none,
                )
            return
        first, rest = parts[0], parts[1:]
        # A file rides on the first message as an attachment: an OPML export as a file, the
        # /stats chart shown by the embed the renderer points at it (attachment://stats.png).
        extra: dict[str, Any] = {}
        if reply.file is not None:
            extra["file"] = discord.File(io.BytesIO(reply.file.data), filename=reply.file.filename)
        if deferred:
            await interaction.followup.send(
                content=first["content"] or "",
                embeds=_embeds(first),
                ephemeral=reply.ephemeral,
                allowed_mentions=none,
                **extra,
            )
        else:
            await interaction.response.send_message(
                content=first["content"] or None,
                embeds=_embeds(first),
                ephemeral=reply.ephemeral,
                allowed_mentions=none,
                **extra,
            )
        for part in rest:
            await interaction.followup.send(
                content=part["content"] or "",
                embeds=_embeds(part),
                ephemeral=reply.ephemeral,
                allowed_mentions=none,
            )

    # ------------------------------------------------------------------ delivery

    def render_digest(self, digest: Digest) -> list[MessagePayload]:
        return render_digest(digest)

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        """Post one rendered part (a :class:`MessagePayload`); return the message id."""
        payload = _as_payload(part)
        try:
            channel_id = int(channel.id)
        except ValueError as e:
            raise PermanentDeliveryError(f"not a Discord channel id: {channel.id!r}") from e
        target = self.client.get_partial_messageable(channel_id)
        try:
            message = await target.send(
                content=payload["content"] or None,
                embeds=_embeds(payload),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except (discord.DiscordException, aiohttp.ClientError, TimeoutError, OSError) as e:
            raise map_http_error(e) from e
        return str(message.id)

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        return [await self.send_part(channel, part) for part in render_reply(reply)]


def _as_payload(part: object) -> MessagePayload:
    if isinstance(part, dict) and isinstance(part.get("embeds"), list):
        content = part.get("content")
        return {"content": content if isinstance(content, str) else None, "embeds": part["embeds"]}
    raise TypeError(f"not a Discord message payload: {type(part).__name__}")


def _log_gateway_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("discord gateway stopped: %s", type(error).__name__, exc_info=error)


# ---------------------------------------------------------------------- slash commands


def _matching(options: Sequence[str], current: str, limit: int = 25) -> list[Choice[str]]:
    needle = current.strip().lower()
    found = [o for o in options if needle in o.lower() and len(o) <= 100]
    return [Choice(name=o, value=o) for o in found[:limit]]


def build_commands(adapter: DiscordAdapter) -> None:
    """Define every slash command on ``adapter.tree``. Names/descriptions are ``locale_str`` so
    :class:`WartaTranslator` adds Indonesian; admin-only ones carry ``default_permissions`` as a
    hint to Discord's UI — the core still checks ``is_admin``."""
    tree = adapter.tree
    lang_choices = [
        Choice(name=locale_str("Indonesian"), value="id"),
        Choice(name=locale_str("English"), value="en"),
    ]

    async def schedule_autocomplete(interaction: DInteraction, current: str) -> list[Choice[str]]:
        choices = _matching(SCHEDULE_EXAMPLES, current)
        typed = current.strip()
        if typed and 0 < len(typed) <= 100 and typed not in SCHEDULE_EXAMPLES:
            choices.insert(0, Choice(name=typed, value=typed))
        return choices[:25]

    @tree.command(
        name=locale_str("subscribe"),
        description=locale_str("Subscribe this channel to AI & artists digests"),
    )
    @app_commands.describe(
        lang=locale_str("Digest language"),
        schedule=locale_str("When to post, e.g. daily 08:00, every 6h, weekly mon 09:00, instant"),
        keywords=locale_str("Keywords: +widen -exclude !require"),
    )
    @app_commands.rename(
        lang=locale_str("lang"), schedule=locale_str("schedule"), keywords=locale_str("keywords")
    )
    @app_commands.choices(lang=lang_choices)
    @app_commands.autocomplete(schedule=schedule_autocomplete)
    @app_commands.default_permissions(manage_channels=True)
    async def subscribe(
        interaction: DInteraction,
        lang: str | None = None,
        schedule: str | None = None,
        keywords: str | None = None,
    ) -> None:
        await adapter.run(interaction, "subscribe", join_args(lang, schedule, keywords))

    @tree.command(
        name=locale_str("unsubscribe"), description=locale_str("Stop this channel's digests")
    )
    @app_commands.default_permissions(manage_channels=True)
    async def unsubscribe(interaction: DInteraction) -> None:
        await adapter.run(interaction, "unsubscribe", "")

    @tree.command(
        name=locale_str("settings"),
        description=locale_str("Show or change this channel's digest settings"),
    )
    @app_commands.describe(
        changes=locale_str("Change, e.g. schedule every 6h · lang en · keywords +a -b !c")
    )
    @app_commands.rename(changes=locale_str("changes"))
    @app_commands.default_permissions(manage_channels=True)
    async def settings(interaction: DInteraction, changes: str | None = None) -> None:
        await adapter.run(interaction, "settings", join_args(changes))

    @tree.command(
        name=locale_str("digest"), description=locale_str("Post a digest of the newest stories now")
    )
    async def digest(interaction: DInteraction) -> None:
        await adapter.run(interaction, "digest", "")

    @tree.command(name=locale_str("latest"), description=locale_str("Show the latest stories"))
    @app_commands.describe(n=locale_str("How many stories (1-20)"))
    @app_commands.rename(n=locale_str("n"))
    async def latest(
        interaction: DInteraction, n: app_commands.Range[int, 1, 20] | None = None
    ) -> None:
        await adapter.run(interaction, "latest", join_args(n))

    @tree.command(name=locale_str("search"), description=locale_str("Search stories"))
    @app_commands.describe(query=locale_str("Words to search for"))
    @app_commands.rename(query=locale_str("query"))
    async def search(interaction: DInteraction, query: app_commands.Range[str, 1, 200]) -> None:
        await adapter.run(interaction, "search", join_args(query))

    @tree.command(name=locale_str("story"), description=locale_str("Show one story's quick facts"))
    @app_commands.describe(id=locale_str("Story number"))
    @app_commands.rename(id=locale_str("id"))
    async def story(interaction: DInteraction, id: app_commands.Range[int, 1]) -> None:
        await adapter.run(interaction, "story", join_args(id))

    @tree.command(name=locale_str("summary"), description=locale_str("Summarize a web article"))
    @app_commands.describe(url=locale_str("Article URL (http or https)"))
    @app_commands.rename(url=locale_str("url"))
    async def summary(interaction: DInteraction, url: app_commands.Range[str, 1, 2000]) -> None:
        await adapter.run(interaction, "summary", join_args(url))

    async def feed_autocomplete(interaction: DInteraction, current: str) -> list[Choice[str]]:
        # Only this chat's sources, named as the core names them for this user (title and
        # host unless an operator); the value is an opaque "#id", never a URL.
        needle = current.strip().lower()
        choices = await adapter.source_choices(interaction)
        found = [(n, v) for n, v in choices if needle in n.lower()]
        return [Choice(name=n[:100], value=v) for n, v in found[:25]]

    @tree.command(name=locale_str("feeds"), description=locale_str("List or manage the feeds"))
    @app_commands.describe(
        action=locale_str("What to do"),
        url=locale_str("Feed URL, or add/remove URL after default"),
        file=locale_str("OPML file to import"),
    )
    @app_commands.rename(
        action=locale_str("action"), url=locale_str("url"), file=locale_str("file")
    )
    @app_commands.choices(
        action=[
            Choice(name=locale_str("list"), value="list"),
            Choice(name=locale_str("add"), value="add"),
            Choice(name=locale_str("remove"), value="remove"),
            Choice(name=locale_str("export"), value="export"),
            Choice(name=locale_str("import"), value="import"),
            Choice(name=locale_str("default"), value="default"),
        ]
    )
    @app_commands.autocomplete(url=feed_autocomplete)
    async def feeds(
        interaction: DInteraction,
        action: str = "list",
        url: str | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        # A bare "/feeds" lists; the core reads any first word as an action.
        args = join_args(url) if action == "list" else join_args(action, url)
        await adapter.run(interaction, "feeds", args, file=file)

    @tree.command(name=locale_str("status"), description=locale_str("Show the bot's status"))
    async def status(interaction: DInteraction) -> None:
        await adapter.run(interaction, "status", "")

    @tree.command(
        name=locale_str("stats"), description=locale_str("Weekly charts of this channel's sources")
    )
    @app_commands.describe(weeks=locale_str("How many weeks (4-26)"))
    @app_commands.rename(weeks=locale_str("weeks"))
    async def stats(
        interaction: DInteraction, weeks: app_commands.Range[int, 4, 26] | None = None
    ) -> None:
        await adapter.run(interaction, "stats", join_args(weeks))

    @tree.command(name=locale_str("help"), description=locale_str("How to use the bot"))
    async def help_(interaction: DInteraction) -> None:
        await adapter.run(interaction, "help", "")


def create(**settings: Any) -> DiscordAdapter:
    """Registry factory: ``token`` (from the environment), optional ``guild_id`` (a test guild
    gets its commands instantly; otherwise they sync globally, which Discord rolls out slower)."""
    guild = settings.get("guild_id")
    return DiscordAdapter(
        token=str(settings.get("token") or ""),
        guild_id=int(guild) if guild not in (None, "") else None,
        base_url=settings.get("base_url") or None,
        max_ratelimit_timeout=float(settings.get("max_ratelimit_timeout", 30.0)),
        operators=tuple(settings.get("operators") or ()),
        receive=bool(settings.get("receive", True)),
        shard_count=int(settings.get("shard_count", 1)),
        shard_ids=tuple(int(i) for i in settings.get("shard_ids") or ()),
    )
