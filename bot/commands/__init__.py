"""The platform-neutral command core (see :mod:`bot.commands.core`)."""

from __future__ import annotations

from bot.commands.base import (
    AdminCheck,
    CommandStore,
    FetcherFactory,
    Invocation,
    PageFetcher,
    Reply,
    ReplyItem,
    ResolveTarget,
    Scorer,
    parse_keywords,
    parse_lang,
    split_args,
)
from bot.commands.core import CommandCore

__all__ = [
    "AdminCheck",
    "CommandCore",
    "CommandStore",
    "FetcherFactory",
    "Invocation",
    "PageFetcher",
    "Reply",
    "ReplyItem",
    "ResolveTarget",
    "Scorer",
    "parse_keywords",
    "parse_lang",
    "split_args",
]
