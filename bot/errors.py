"""Warta's one exception tree.

Foreign exceptions (aiohttp, feedparser, SQLAlchemy, telegram, discord) are mapped to these at
the boundary where they occur, with ``raise ... from e`` so the cause stays in tracebacks.

::

    WartaError
    ├── ConfigError                 bad settings file, missing/invalid value
    ├── FeedError                   one feed failed; the poll goes on with the others
    │   ├── FetchError              network/HTTP problem
    │   │   ├── FetchTimeout        total deadline exceeded
    │   │   ├── TooLarge            body over the (decompressed) byte cap
    │   │   ├── TooManyRedirects
    │   │   ├── BlockedURL          scheme not http/https, or a private address for user URLs
    │   │   └── HTTPStatusError     4xx/5xx (``status``, ``retry_after``)
    │   └── ParseError              not a feed, or refused as hostile (entity declarations)
    ├── StoreError                  database problem
    ├── SummarizeError              a summarizer backend failed (callers fall back)
    ├── AdapterError                a chat platform failed at the adapter boundary
    │   └── PlatformUnavailable     5xx, timeout, network, an unexpected reply: try again later
    ├── CommandError                bad command argument; ``key``/``params`` give a localized reply
    │   └── PermissionDenied        admin-only command by a non-admin
    └── DeliveryError               sending to a chat failed
        ├── RetryLater              flood control / transient; ``retry_after`` seconds
        ├── ChannelMoved            the chat got a new id (``new_channel``): follow it, never pause
        └── PermanentDeliveryError  bot removed, chat not found, no permission: pause the sub
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # bot.models stays free to import this module
    from bot.models import ChannelRef


class WartaError(Exception):
    """Base of every error Warta raises on purpose."""


class ConfigError(WartaError):
    pass


class FeedError(WartaError):
    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class FetchError(FeedError):
    pass


class FetchTimeout(FetchError):
    pass


class TooLarge(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class BlockedURL(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        """404/410 and most 4xx will not fix themselves; 408/429 and 5xx may."""
        return 400 <= self.status < 500 and self.status not in (408, 425, 429)


class ParseError(FeedError):
    pass


class StoreError(WartaError):
    pass


class SummarizeError(WartaError):
    pass


class AdapterError(WartaError):
    """A chat platform (its API, gateway or library) failed. ``platform`` names the adapter.
    The supervisor restarts an adapter that raises this from ``start`` or whose connection
    dies; ``warta run`` never exits because of it."""

    def __init__(self, message: str, *, platform: str) -> None:
        super().__init__(message)
        self.platform = platform


class PlatformUnavailable(AdapterError):
    """Transient: a 5xx, a timeout, a network error or a reply the library could not read."""


class CommandError(WartaError):
    """A user-facing problem with a command. ``key`` names a localized string in bot.lang.strings;
    ``params`` fill it. The message is the English fallback for logs."""

    def __init__(self, key: str, message: str = "", **params: Any) -> None:
        super().__init__(message or key)
        self.key = key
        self.params = params


class PermissionDenied(CommandError):
    pass


class DeliveryError(WartaError):
    pass


class RetryLater(DeliveryError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChannelMoved(DeliveryError):
    """The chat now lives at ``new_channel`` (a Telegram group upgraded to a supergroup gets a
    new chat id). Nothing was posted; the outbox moves the subscription and resends there."""

    def __init__(self, message: str, *, new_channel: ChannelRef) -> None:
        super().__init__(message)
        self.new_channel = new_channel


class PermanentDeliveryError(DeliveryError):
    pass
