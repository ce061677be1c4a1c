"""The platform-neutral command core (see :mod:`bot.commands.core`)."""

from __future__ import annotations

from bot.commands.base import (
    AdminCheck,
    Attachment,
    CommandStore,
    FetcherFactory,
    Invocation,
    PageFetcher,
    Reply,
    ReplyFile,
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
    "Attachment",
    "CommandCore",
    "CommandStore",
    "FetcherFactory",
    "Invocation",
    "PageFetcher",
    "Reply",
    "ReplyFile",
    "ReplyItem",
    "ResolveTarget",
    "Scorer",
    "parse_keywords",
    "parse_lang",
    "split_args",
]
