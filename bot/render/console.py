"""Plain-text rendering for the console adapter and the CLI.

Untrusted text is printed as text; control characters (terminal escape sequences from a hostile
feed could rewrite the screen) are removed first.
"""

from __future__ import annotations

import textwrap
import unicodedata

from bot.commands import Reply
from bot.lang.reasons import reasons_text
from bot.lang.strings import t
from bot.models import Digest

WIDTH = 88


def clean(text: str) -> str:
    """Drop control and format characters (ESC, BiDi overrides...) but keep newlines/tabs."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )


def _wrap(text: str, first: str, rest: str) -> str:
    return textwrap.fill(
        clean(text),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_digest(digest: Digest) -> str:
    lines = [clean(digest.title), "=" * min(WIDTH, len(digest.title))]
    if not digest.entries:
        lines += ["", clean(digest.empty_text)]
    in_other = False
    for n, entry in enumerate(digest.entries, 1):
        story = entry.story
        if entry.other_lang and not in_other and digest.other_heading:
            in_other = True
            heading = clean(digest.other_heading)
            lines += ["", heading, "-" * min(WIDTH, len(heading))]
        lines.append("")
        lines.append(
            _wrap(entry.summary.headline or story.title, f"{n}. ", " " * (len(str(n)) + 2))
        )
        pad = " " * (len(str(n)) + 2)
        for bullet in entry.summary.bullets:
            lines.append(_wrap(bullet, pad + "• ", pad + "  "))
        if entry.note:
            lines.append(_wrap(f"({entry.note})", pad, pad))
        lines.append(f"{pad}{clean(story.source)} — {clean(story.url)}")
        if entry.also:
            sources = ", ".join(clean(a.source) for a in entry.also)
            lines.append(_wrap(t("digest_also", digest.lang, sources=sources), pad, pad))
        terms = reasons_text(entry.topic.matched, digest.lang)
        if terms:
            lines.append(_wrap(t("digest_why", digest.lang, terms=terms), pad, pad))
    if digest.footer:
        lines += ["", clean(digest.footer)]
    return "\n".join(lines) + "\n"


def render_reply(reply: Reply) -> str:
    lines = [clean(reply.text)] if reply.text else []
    for n, item in enumerate(reply.items, 1):
        head = f"{n}. " + (f"[{item.ref}] " if item.ref else "") + clean(item.title)
        lines.append(head)
        if item.detail:
            lines.append("   " + clean(item.detail))
        if item.url:
            lines.append("   " + clean(item.url))
    if reply.digest is not None:
        lines.append(render_digest(reply.digest))
    return "\n".join(lines) + "\n"
