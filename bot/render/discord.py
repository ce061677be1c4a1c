"""Discord rendering: a Digest or a Reply as message payloads within every Discord limit.

A payload is a plain JSON-shaped dict, ``{"content": str | None, "embeds": [embed dict, ...]}``,
in the shape of Discord's REST API (``discord.Embed.from_dict`` reads each embed). Plain dicts
keep rendering pure and deterministic (the same digest always yields the same parts) and let the
outbox log or store a part without pickling library objects.

All feed and user text is untrusted: markdown is escaped, mention syntax is neutralized
(``discord.utils.escape_mentions`` only knows 17-20 digit snowflakes, so every ``<`` is escaped
here too: ``<@…>``, ``<#…>``, ``</…>``, custom emoji, timestamps), masked-link syntax is
neutralized (see :func:`escape` and :func:`masked_link`) and only http/https URLs are ever
linked. Sending still uses ``AllowedMentions.none()``; escaping is what keeps a feed title from
*looking* like a ping or a link to somewhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypedDict
from urllib.parse import quote, urlsplit

from discord.utils import escape_markdown, escape_mentions

from bot.commands import Reply, ReplyItem
from bot.lang.strings import t
from bot.models import Digest, DigestEntry

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10
# Discord rejects embed URLs it cannot parse; very long ones are not worth the risk.
URL_MAX = 2048

ELLIPSIS = "…"
BULLET = "•"
ACCENT = 0x5865F2
ERROR_COLOUR = 0xED4245

# "[", "]" and "<" not already escaped, i.e. after an even run of backslashes (escape_markdown
# doubles every backslash it sees, but leaves those inside URLs alone).
_LINK_SYNTAX = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]<])")
# Inside a masked link's label, markdown link parsers do not honour a backslash before "]"
# (simple-markdown's link rule, which Discord's client derives from, matches the label with a
# plain regex), so "Outlet](https://evil.example/login) · [Official" would close our label
# early and turn the rest into a link of its own. Brackets in a label become their full-width
# look-alikes instead, which no parser treats as syntax.
_LABEL_BRACKETS = str.maketrans({"[": "\uff3b", "]": "\uff3d"})
# For the same reason a label that may span lines ends at the *last* "](" the parser can reach:
# an escaped "\]" in a later bullet, followed by "(", would still close our label there. So no
# untrusted text may hold "](": the "(" gets a backslash.
_CLOSE_THEN_OPEN = re.compile(r"\](?=\()")
# Characters that would end or confuse a markdown link target ``[text](url)``.
_LINK_UNSAFE = re.compile(r"[()\s<>\[\]\\]")


class MessagePayload(TypedDict):
    """One Discord message: ``content`` (None when there is none) and up to 10 embed dicts."""

    content: str | None
    embeds: list[dict[str, Any]]


# --------------------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Untrusted text made inert for Discord markdown: no formatting, no mentions, no links of
    its own: every "[", "]" and "<" is backslash-escaped, so no masked link can start in it,
    and no "](" is left that could end one of ours."""
    escaped = _LINK_SYNTAX.sub(r"\1\\\2", escape_mentions(escape_markdown(text)))
    return _CLOSE_THEN_OPEN.sub("]\\\\", escaped)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never leaving half an escape."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    # An odd run of trailing backslashes would escape the ellipsis (or leak out of a link).
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL Discord will accept, else None."""
    if not url or len(url) > URL_MAX:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url.strip()):
        return None
    return url.strip()


def _link_target(url: str) -> str:
    return _LINK_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), url)


def masked_link(label: str, url: str | None) -> str:
    """``[label](url)`` for a safe URL, else just the escaped label. The label can never close
    the link early: it holds no square brackets, and never ends in an odd run of backslashes
    (a raw one kept inside a URL-looking part of the label would escape our "]")."""
    target = safe_url(url)
    if target is None:
        return escape(label)
    text = escape(label.translate(_LABEL_BRACKETS))
    if (len(text) - len(text.rstrip("\\"))) % 2:
        text += "\\"
    return f"[{text}]({_link_target(target)})"


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6000 per-message total."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        size += len(f.get("name") or "") + len(f.get("value") or "")
    return size


def _fill_lines(lines: Iterable[str], limit: int) -> str:
    """Join lines up to ``limit`` characters; a line that does not fit is clipped and ends it."""
    out = ""
    for line in lines:
        candidate = f"{out}\n{line}" if out else line
        if len(candidate) <= limit:
            out = candidate
            continue
        room = limit - len(out) - (1 if out else 0)
        if room > len(ELLIPSIS) + 8:
            out = f"{out}\n{clip(line, room)}" if out else clip(line, room)
        break
    return out


def _chunk_text(text: str, limit: int) -> list[str]:
    """Split ``text`` on line boundaries into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            head = clip(line, limit)
            pieces.append(head)
            line = line[len(head) - len(ELLIPSIS) :]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current.strip():
        pieces.append(current)
    return pieces


# --------------------------------------------------------------------------- embeds


def story_embed(entry: DigestEntry, lang: str) -> dict[str, Any]:
    """One story: headline linking to the story, quick-facts bullets, also-reported, note."""
    story = entry.story
    headline = entry.summary.headline or story.title or story.url
    embed: dict[str, Any] = {"type": "rich", "title": clip(escape(headline), TITLE_MAX)}
    url = safe_url(story.url)
    if url is not None:
        embed["url"] = url
    embed["color"] = ACCENT

    footer_bits = [story.source] if story.source else []
    if story.id is not None:
        footer_bits.append(f"#{story.id}")
    footer = clip(" · ".join(footer_bits), FOOTER_MAX)
    if footer:
        # Footers are shown verbatim (no markdown), so they are not escaped.
        embed["footer"] = {"text": footer}
    if story.published is not None:
        embed["timestamp"] = story.published.isoformat()

    lines = [f"{BULLET} {escape(b)}" for b in entry.summary.bullets if b.strip()]
    if entry.also:
        sources = ", ".join(masked_link(a.source, a.url) for a in entry.also)
        lines.append(t("digest_also", lang, sources=sources))
    if entry.note:
        lines.append(f"*{escape(entry.note)}*")
    room = min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - embed_size(embed))
    description = _fill_lines(lines, room)
    if description:
        embed["description"] = description
    return embed


def _pack(embeds: list[dict[str, Any]], first_content: str | None) -> list[MessagePayload]:
    """Group embeds into messages: at most 10 each and 6000 counted characters each."""
    messages: list[MessagePayload] = []
    current: list[dict[str, Any]] = []
    total = 0
    for embed in embeds:
        size = embed_size(embed)
        if current and (len(current) >= EMBEDS_PER_MESSAGE or total + size > EMBED_TOTAL_MAX):
            messages.append({"content": None, "embeds": current})
            current, total = [], 0
        current.append(embed)
        total += size
    if current or not messages:
        messages.append({"content": None, "embeds": current})
    if first_content:
        messages[0]["content"] = first_content
    return messages


def render_digest(digest: Digest) -> list[MessagePayload]:
    """A digest as Discord messages, in order: the first carries the title as its content,
    then one embed per story. An empty digest is one message with ``digest.empty_text``."""
    header = clip(f"**{escape(digest.title)}**", CONTENT_MAX) if digest.title else ""
    if digest.footer:
        header = clip(
            f"{header}\n{escape(digest.footer)}" if header else escape(digest.footer), CONTENT_MAX
        )
    if not digest.entries:
        header = (
            f"{header}\n{escape(digest.empty_text or '')}"
            if header
            else escape(digest.empty_text or "")
        )
    # One "view on the web" link per digest, in the first message's content. It goes last and
    # the text before it is clipped to make room, so a long title never cuts the link in half.
    link = masked_link(t("digest_web_link", digest.lang), digest.web_url) if digest.web_url else ""
    if link.startswith("[") and len(link) < CONTENT_MAX // 2:
        header = f"{clip(header, CONTENT_MAX - len(link) - 1)}\n{link}" if header else link
    if not digest.entries:
        return [{"content": clip(header, CONTENT_MAX) or ELLIPSIS, "embeds": []}]
    embeds: list[dict[str, Any]] = []
    in_other = False
    for entry in digest.entries:
        if entry.other_lang and not in_other and digest.other_heading:
            # The other-language section opens with one heading embed of its own.
            in_other = True
            heading = clip(digest.other_heading, TITLE_MAX)
            embeds.append({"type": "rich", "title": heading, "color": ACCENT})
        embeds.append(story_embed(entry, digest.lang))
    return _pack(embeds, header or None)


def _item_line(item: ReplyItem) -> str:
    parts = []
    if item.ref:
        parts.append(f"`{item.ref.replace('`', '')}`")
    parts.append(masked_link(item.title, item.url))
    line = " ".join(parts)
    if item.detail:
        line += f" — {escape(item.detail)}"
    return line


def render_reply(reply: Reply) -> list[MessagePayload]:
    """A command reply as Discord messages: the text as content (split at 2000 characters),
    list items as embed lines (one embed per 4096 characters), then any digest; an image file
    (the /stats chart) as an embed image in the first message, which carries the file."""
    texts = _chunk_text(escape(reply.text), CONTENT_MAX) if reply.text.strip() else []
    colour = ERROR_COLOUR if reply.error else ACCENT

    item_embeds: list[dict[str, Any]] = []
    lines = [clip(_item_line(item), DESCRIPTION_MAX) for item in reply.items]
    for chunk in _chunk_text("\n".join(lines), DESCRIPTION_MAX) if lines else []:
        item_embeds.append({"type": "rich", "description": chunk, "color": colour})

    messages: list[MessagePayload] = [{"content": text, "embeds": []} for text in texts]
    if item_embeds:
        packed = _pack(item_embeds, None)
        if messages:
            # The last text message carries the first embeds when they fit with it.
            messages[-1]["embeds"] = packed[0]["embeds"]
            packed = packed[1:]
        messages.extend(packed)
    if reply.digest is not None:
        messages.extend(render_digest(reply.digest))
    if reply.file is not None and reply.file.is_image:
        # The adapter attaches the file to the first message; an embed there shows it inline.
        image = {
            "type": "rich",
            "color": colour,
            "image": {"url": f"attachment://{_link_target(reply.file.filename)}"},
        }
        if messages and len(messages[0]["embeds"]) < EMBEDS_PER_MESSAGE:
            messages[0]["embeds"].append(image)
        else:
            messages.insert(0, {"content": None, "embeds": [image]})
    if not messages:
        messages.append({"content": ELLIPSIS, "embeds": []})
    return messages
