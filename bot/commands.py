"""Platform-neutral command core: every slash command's behaviour lives here.

Adapters build an :class:`Invocation` from their platform's update/interaction and render the
:class:`Reply`. Permission checks are enforced here, not in adapters, so no platform can forget
them: adapters only report whether the user is an admin of the chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import ChannelRef, Digest


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command as a user sent it.

    ``args`` is the raw argument text after the command name (Discord options are joined back
    into the same textual form, so parsing and its error messages are shared). ``locale`` is
    the user's client language when the platform tells it ("id", "en-US"), used for replies
    when the channel has no subscription language yet.
    """

    command: str
    args: str
    channel: ChannelRef
    user_id: str
    is_admin: bool
    locale: str | None = None
    chat_kind: str = "group"  # "private" | "group" | "channel"


@dataclass(frozen=True, slots=True)
class ReplyItem:
    """One line of a list reply (search results, latest stories, feeds). All untrusted text:
    renderers escape it."""

    title: str
    url: str | None = None
    detail: str | None = None
    ref: str | None = None  # e.g. story id "#123"


@dataclass(slots=True)
class Reply:
    """What a command answers. ``text`` is untrusted-safe plain text (renderers escape it)."""

    text: str
    lang: str
    items: list[ReplyItem] = field(default_factory=list)
    digest: Digest | None = None
    error: bool = False
    ephemeral: bool = False  # Discord: visible only to the caller (errors, help)
