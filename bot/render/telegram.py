"""Telegram rendering: digests and replies as HTML parse-mode messages within Telegram's limits.

Every untrusted string (feed titles, bullets, sources, URLs, user-visible reply text) goes
through one escaping path: text is built as *segments* (plain text plus the tags that wrap it)
and only :func:`_render` turns segments into HTML. Tags are therefore balanced by construction,
even when an oversize story is cut, and Telegram never answers 400 "can't parse entities" for
markup we produced.

Limits: Telegram allows 4096 characters *after entity parsing* and counts them in UTF-16 code
units (the unit of its entity offsets), so an emoji counts two. The raw HTML is also kept under
:data:`RAW_LIMIT` so long URLs in many links cannot make a request Telegram refuses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from bot.commands import Reply, ReplyItem
from bot.lang.strings import t
from bot.models import Digest, DigestEntry

TEXT_LIMIT = 4096
"""Telegram's message limit, in UTF-16 code units of the text after entity parsing."""

CAPTION_LIMIT = 1024
"""A photo's or document's caption, counted as TEXT_LIMIT is."""

RAW_LIMIT = 12_000
"""Bound on the raw HTML of one message. Telegram documents no raw limit; this keeps a message
with many long links well inside what the Bot API accepts."""

URL_LIMIT = 2048
"""Longer hrefs are dropped (the text stays): Telegram rejects very long entity URLs."""

ELLIPSIS = "…"

# A word joiner after "@" stops Telegram's automatic mention detection, so a feed title like
# "@someuser said" cannot notify a member of the chat. It is invisible when read.
_MENTION = re.compile(r"@(?=[A-Za-z0-9_])")
_WORD_JOINER = "\u2060"
# Control/format characters that have no business in a chat message (keep \n and \t).
# Lone surrogates go too: they cannot be encoded for the Bot API at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

Tag = tuple[str, str | None]  # (tag name, href for <a>)


@dataclass(frozen=True, slots=True)
class Seg:
    """A run of plain (unescaped) text and the tags that wrap it, outermost first."""

    text: str
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """A unit that is never split across messages unless it alone is too long (one story)."""

    segs: tuple[Seg, ...]
    sep: str = "\n\n"  # joins this block to the previous one in the same message


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean_text(text: str) -> str:
    """Neutralize an untrusted string for display: drop control/BiDi characters and defuse
    @mentions. Escaping for HTML happens later, in :func:`_render`."""
    return _MENTION.sub("@" + _WORD_JOINER, _CONTROL.sub("", text))


def safe_href(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL fit for an href, else None."""
    if not url or len(url) > URL_LIMIT:
        return None
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _open(tag: Tag) -> str:
    name, href = tag
    if name == "a":
        return f'<a href="{html.escape(href or "", quote=True)}">'
    return f"<{name}>"


def _render(segs: Iterable[Seg]) -> str:
    out: list[str] = []
    open_tags: list[Tag] = []
    # Tags shared with the previous run stay open ("<b>1. <a>…</a></b>"): shorter HTML, same
    # visible text, and still balanced since every tag opened here is closed here.
    for seg in segs:
        if not seg.text:
            continue
        keep = 0
        while keep < min(len(open_tags), len(seg.tags)) and open_tags[keep] == seg.tags[keep]:
            keep += 1
        out.extend(f"</{name}>" for name, _ in reversed(open_tags[keep:]))
        out.extend(_open(tag) for tag in seg.tags[keep:])
        open_tags[keep:] = seg.tags[keep:]
        out.append(html.escape(seg.text, quote=False))
    out.extend(f"</{name}>" for name, _ in reversed(open_tags))
    return "".join(out)


def _visible(segs: Iterable[Seg]) -> str:
    return "".join(seg.text for seg in segs)


def _measure(segs: Sequence[Seg]) -> tuple[int, int]:
    return utf16_len(_visible(segs)), len(_render(segs))


def _escaped_len(text: str) -> int:
    return len(html.escape(text, quote=False))


def _cut_words(text: str, max_units: int, max_raw: int | None = None) -> str:
    """The longest prefix of ``text`` within ``max_units`` UTF-16 units (and, escaped, within
    ``max_raw`` characters), cut at a word boundary when one exists in the second half (a
    single huge word is cut mid-word instead)."""

    def fits(n: int) -> bool:
        prefix = text[:n]
        return utf16_len(prefix) <= max_units and (
            max_raw is None or _escaped_len(prefix) <= max_raw
        )

    if fits(len(text)):
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # largest prefix length that fits (fits() is monotonic)
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    prefix = text[:lo]
    if lo < len(text) and not text[lo].isspace():
        space = max(prefix.rfind(" "), prefix.rfind("\n"))
        if space > lo // 2:
            prefix = prefix[:space]
    return prefix.rstrip()


def truncate(segs: Sequence[Seg], text_limit: int, raw_limit: int) -> tuple[Seg, ...]:
    """Keep whole segments while they fit, cut the first one that does not at a word boundary,
    and end with an ellipsis. Segments carry their own tags, so the result stays balanced."""
    budget_units = text_limit - utf16_len(ELLIPSIS)
    budget_raw = raw_limit - len(ELLIPSIS)
    kept: list[Seg] = []
    used_units = used_raw = 0
    for seg in segs:
        units, raw = _measure([seg])
        if used_units + units <= budget_units and used_raw + raw <= budget_raw:
            kept.append(seg)
            used_units += units
            used_raw += raw
            continue
        tags_len = raw - _escaped_len(seg.text)
        room_units = budget_units - used_units
        room_raw = budget_raw - used_raw - tags_len
        if room_units > 0 and room_raw > 0:
            text = _cut_words(seg.text, room_units, room_raw)
            if text:
                kept.append(Seg(text, seg.tags))
        break
    kept.append(Seg(ELLIPSIS))
    return tuple(kept)


def pack(
    blocks: Sequence[Block], *, text_limit: int = TEXT_LIMIT, raw_limit: int = RAW_LIMIT
) -> list[str]:
    """Greedily fill messages with whole blocks; a block too long on its own is truncated."""
    parts: list[str] = []
    current: list[Seg] = []
    cur_units = cur_raw = 0
    for block in blocks:
        segs: tuple[Seg, ...] = block.segs
        units, raw = _measure(segs)
        if units == 0:
            continue
        if units > text_limit or raw > raw_limit:
            segs = truncate(segs, text_limit, raw_limit)
            units, raw = _measure(segs)
        sep_units = utf16_len(block.sep) if current else 0
        if current and (
            cur_units + sep_units + units > text_limit or cur_raw + len(block.sep) + raw > raw_limit
        ):
            parts.append(_render(current))
            current, cur_units, cur_raw, sep_units = [], 0, 0, 0
        if current:
            current.append(Seg(block.sep))
            cur_units += sep_units
            cur_raw += len(block.sep)
        current.extend(segs)
        cur_units += units
        cur_raw += raw
    if current:
        parts.append(_render(current))
    return parts


# --------------------------------------------------------------------------- digests


def _link(text: str, url: str | None, tags: tuple[Tag, ...] = ()) -> Seg:
    href = safe_href(url)
    return Seg(clean_text(text), (*tags, ("a", href)) if href else tags)


def _also_segs(entry: DigestEntry, lang: str) -> list[Seg]:
    if not entry.also:
        return []
    # Split the localized template around its {sources} slot so the sources can be links.
    marker = "\x00"
    before, _, after = t("digest_also", lang, sources=marker).partition(marker)
    segs = [Seg("\n"), Seg(before, (("i", None),))]
    for n, other in enumerate(entry.also):
        if n:
            segs.append(Seg(", ", (("i", None),)))
        segs.append(_link(other.source, other.url, (("i", None),)))
    segs.append(Seg(after, (("i", None),)))
    return segs


def _entry_block(n: int, entry: DigestEntry, lang: str) -> Block:
    story, summary = entry.story, entry.summary
    bold: tuple[Tag, ...] = (("b", None),)
    segs: list[Seg] = [Seg(f"{n}. ", bold), _link(summary.headline or story.title, story.url, bold)]
    for bullet in summary.bullets:
        segs.append(Seg("\n• " + clean_text(bullet)))
    source = clean_text(story.source)
    if source:
        segs.append(Seg("\n— " + source))
    segs.extend(_also_segs(entry, lang))
    if entry.note:
        segs.append(Seg("\n"))
        segs.append(Seg(clean_text(entry.note), (("i", None),)))
    return Block(tuple(segs))


def render_digest(digest: Digest) -> list[str]:
    """Telegram HTML messages for ``digest``, split between stories, each within the limits.
    Pure and deterministic. An empty digest is one message with ``digest.empty_text``."""
    title = Block((Seg(clean_text(digest.title), (("b", None),)),))
    blocks = [title]
    if not digest.entries:
        blocks.append(Block((Seg(clean_text(digest.empty_text)),)))
    in_other = False
    for n, entry in enumerate(digest.entries, 1):
        if entry.other_lang and not in_other and digest.other_heading:
            in_other = True
            blocks.append(Block((Seg(clean_text(digest.other_heading), (("b", None),)),)))
        blocks.append(_entry_block(n, entry, digest.lang))
    if digest.footer:
        blocks.append(Block((Seg(clean_text(digest.footer), (("i", None),)),)))
    if digest.web_url and safe_href(digest.web_url):
        # One link per digest, at its end (the last part when it is split).
        blocks.append(Block((_link(t("digest_web_link", digest.lang), digest.web_url),)))
    parts = pack(blocks)
    return parts or [html.escape(clean_text(digest.empty_text or digest.title), quote=False) or "—"]


# --------------------------------------------------------------------------- replies


def _item_block(n: int, item: ReplyItem) -> Block:
    # Items are one list: one newline between them, a blank line before the first.
    segs: list[Seg] = [Seg(f"{n}. ")]
    if item.ref:
        segs.append(Seg(clean_text(item.ref), (("code", None),)))
        segs.append(Seg(" "))
    segs.append(_link(item.title, item.url))
    if item.detail:
        segs.append(Seg("\n   " + clean_text(item.detail)))
    return Block(tuple(segs), sep="\n\n" if n == 1 else "\n")


def render_reply(reply: Reply) -> list[str]:
    """Telegram HTML messages for a command reply: its text (split between paragraphs), its
    items as a numbered list of links, then its digest if any. Empty reply -> []."""
    blocks: list[Block] = []
    for para in clean_text(reply.text).split("\n\n"):
        if para.strip():
            blocks.append(Block((Seg(para.strip("\n")),)))
    blocks.extend(_item_block(n, item) for n, item in enumerate(reply.items, 1))
    parts = pack(blocks)
    if reply.digest is not None:
        parts.extend(render_digest(reply.digest))
    return parts


# --------------------------------------------------------------------------- plain fallback


class _PlainText(HTMLParser):
    def __init__(self, *, with_links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.with_links = with_links
        self.out: list[str] = []
        self._hrefs: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._hrefs.append((dict(attrs).get("href"), len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._hrefs:
            href, start = self._hrefs.pop()
            href = safe_href(href)
            anchor = "".join(self.out[start:]).strip()
            if self.with_links and href and anchor != href:
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def to_plain(html_text: str) -> str:
    """Plain text for resending a message Telegram refused to parse: tags dropped, entities
    unescaped, link targets appended in parentheses when that still fits the limit."""
    for with_links in (True, False):
        parser = _PlainText(with_links=with_links)
        parser.feed(html_text)
        parser.close()
        text = "".join(parser.out).strip()
        if utf16_len(text) <= TEXT_LIMIT:
            return text
    return _cut_words(text, TEXT_LIMIT - 1).rstrip() + ELLIPSIS
