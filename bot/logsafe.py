"""Keeping secrets out of every output: logs, printed errors and uncaught tracebacks.

HTTP libraries log request URLs, and Telegram's Bot API puts the bot token in the URL path;
exception messages carry response bodies, and a proxy's error page often echoes the request
path (token included, sometimes URL-encoded or upper-cased). So:

* :func:`register_secret` remembers a configured secret; :func:`mask_secrets` replaces it in
  any text case-insensitively, in its URL-encoded forms too, plus anything shaped like a
  Telegram or Discord token and the ``/bot<token>`` path form.
* :class:`TokenMaskFilter` masks log records (message, arguments and traceback text); attach it
  to *handlers* (:func:`install_log_filter`).
* :func:`install_excepthooks` masks what Python prints by itself: ``sys.excepthook`` (a
  traceback at exit), ``threading.excepthook`` and, per event loop, the asyncio exception handler.
Feed URLs lose their userinfo and query string (paid feeds' tokens; see bot.redact).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.redact import mask_url_secrets

if TYPE_CHECKING:
    from bot.config import Settings

MASK = "<secret>"

_TOKEN_PATTERNS = (
    # Telegram API URLs: .../bot<id>:<secret>/method, the colon possibly URL-encoded.
    re.compile(r"(?<=/bot)(\d+)(?::|%3A)[^/\s?#\"'<>&]+", re.IGNORECASE),
    re.compile(r"(?<![A-Za-z0-9])(\d{5,})(?::|%3A)[A-Za-z0-9_-]{30,}", re.IGNORECASE),  # bare
)
# Discord bot tokens: base64 user id . timestamp . HMAC.
_DISCORD_TOKEN = re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}\b")
_KNOWN_SECRETS: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def _variants(secret: str) -> set[str]:
    """The spellings a secret takes in URLs and echoed request lines."""
    return {secret, quote(secret, safe=""), quote(secret), quote(quote(secret, safe=""), safe="")}


def register_secret(secret: str | None) -> None:
    """Mask this string too (a configured token, whatever its shape), in any letter case and
    URL-encoded. Strings under 8 characters are ignored: masking them would garble text."""
    global _known_pattern
    if secret and len(secret) >= 8 and secret not in _KNOWN_SECRETS:
        _KNOWN_SECRETS.add(secret)
        spellings = sorted({v for s in _KNOWN_SECRETS for v in _variants(s)}, key=len, reverse=True)
        _known_pattern = re.compile("|".join(map(re.escape, spellings)), re.IGNORECASE)


def mask_secrets(text: str) -> str:
    if _known_pattern is not None:
        text = _known_pattern.sub(MASK, text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(r"\1:<redacted>", text)
    return mask_url_secrets(_DISCORD_TOKEN.sub("<redacted>", text))


class TokenMaskFilter(logging.Filter):
    """Masks secrets in log messages and tracebacks. Attach it to *handlers*: a logger's own
    filters do not see records propagated from child loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> TokenMaskFilter:
    """Add one :class:`TokenMaskFilter` to every handler of ``logger`` (default: root, plus
    :data:`logging.lastResort`, which prints when no handler is configured). Call after logging
    is configured; handlers added later need it too."""
    token_filter = TokenMaskFilter()
    handlers = list((logger or logging.getLogger()).handlers)
    if logger is None and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, TokenMaskFilter) for f in handler.filters):
            handler.addFilter(token_filter)
    return token_filter


def format_exception_masked(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> str:
    return mask_secrets("".join(traceback.format_exception(exc_type, exc, tb)))


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    sys.stderr.write(format_exception_masked(exc_type, exc, tb))
    sys.stderr.flush()


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n")
    sys.stderr.write(format_exception_masked(args.exc_type, args.exc_value, args.exc_traceback))
    sys.stderr.flush()


def install_excepthooks() -> None:
    """Mask tracebacks Python prints itself (uncaught in the main thread or another thread)."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An asyncio exception handler ("Task exception was never retrieved" and the like) that
    logs through the masked handlers instead of printing the context as it is."""
    message = mask_secrets(str(context.get("message") or "unhandled error in the event loop"))
    exc = context.get("exception")
    details = ", ".join(
        f"{key}={mask_secrets(repr(value))}"
        for key, value in context.items()
        if key not in ("message", "exception")
    )
    logging.getLogger("asyncio").error(
        "%s%s", message, f" ({details})" if details else "", exc_info=exc
    )


def install_loop_handler(loop: asyncio.AbstractEventLoop | None = None) -> None:
    (loop or asyncio.get_running_loop()).set_exception_handler(loop_exception_handler)


def setup_logging(settings: Settings) -> None:
    """The process's logging: one masked handler, quiet libraries. Lives here, not in bot.app,
    so commands that log import no database or HTTP library."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for secret in (settings.telegram_token, settings.discord_token, settings.llm_api_key):
        register_secret(secret)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Every handler masks secrets, and so do the tracebacks Python prints by itself.
    install_log_filter()
    install_excepthooks()
    root.setLevel(settings.log_level.upper())
    # httpx logs every request URL at INFO, tokens included; keep it quiet. Alembic announces
    # every migration check at INFO on each start.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs two INFO lines per job run ("Running job", "executed successfully"); the
    # send tick runs every 2 s. That chatter is for debugging the scheduler, so DEBUG only.
    apscheduler = logging.getLogger("apscheduler")
    apscheduler.setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
