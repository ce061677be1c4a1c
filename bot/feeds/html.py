"""HTML (or plain text) from a feed -> clean plain text.

Warta renders plain text only, so feed HTML is never shown and never needs sanitizing: it is
parsed once with a real HTML parser (lexbor via selectolax) and flattened. Paragraphs stay
separated by a blank line because the summarizer splits on them.
"""

from __future__ import annotations

import html
import re

from selectolax.lexbor import LexborHTMLParser

__all__ = ["cap_text", "clean_text", "html_to_text", "one_line"]

# Elements whose content a reader never sees as article text.
_DROP = ["script", "style", "noscript", "iframe", "template", "svg", "math", "object", "embed"]

# Control characters mark where the tree had a block boundary. They survive the whitespace
# collapse below (str.split does not split on them), are invisible anyway (so copies in the
# input are removed first), and being ASCII they keep mostly-ASCII text in Python's compact
# one-byte form, which makes every later pass over it faster than private-use markers did.
_PARA = "\x02"
_LINE = "\x03"

_PARA_BLOCKS = (
    "p,div,h1,h2,h3,h4,h5,h6,blockquote,pre,ul,ol,dl,table,section,article,header,footer,"
    "aside,nav,main,figure,hr,address,details,fieldset,form"
)
_LINE_BLOCKS = "li,dt,dd,tr,figcaption,caption,summary,legend"
_LINE_TAGS = frozenset(_LINE_BLOCKS.split(","))
_BREAK_TAGS = frozenset({*_PARA_BLOCKS.split(","), *_LINE_TAGS, "br"})
# Cheap pre-check so the tree is only searched for droppable elements when some may exist.
_DROP_HINT = re.compile("<(?:" + "|".join(_DROP) + ")", re.IGNORECASE)

# Invisible characters that only serve to confuse matching, spoofing or layout: zero-width
# space, LRM/RLM, bidi embeddings/overrides/isolates, word joiner, BOM, soft hyphen, C0 (but
# tab/newline/CR) and C1 controls. ZWJ/ZWNJ are kept: emoji sequences and some scripts need
# them. A regex is used because str.translate with a dict is several times slower here.
_INVISIBLE_CLASS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e"
    "\u2060\u2066-\u2069\ufeff"
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CLASS}]")
# The same minus the two markers, for the parser's output that carries them. (An entity that
# spells a marker, &#2;, can only add a line break: harmless in plain text.)
_INVISIBLE_BUT_MARKS = re.compile(
    "[\x00\x01\x04-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e"
    "\u2060\u2066-\u2069\ufeff]"
)
# Input must not carry our own block markers either.
_NEWLINES = re.compile("\r\n?|[\u2028\u2029]")

# Runs of whitespace but newlines, except a lone space (rewriting those to itself was the cost).
_ODD_SPACES = re.compile(r"[^\S\n ][^\S\n]*| [^\S\n]+")
_SPACE_RUNS = re.compile("  +")  # _ODD_SPACES on a text whose only whitespace is " " and "\n"
_PLAIN_BREAKS = re.compile(r" *\n(?: *\n)+ *")
_PLAIN_LINE = re.compile(r" *\n *")
_MARKS = re.compile("[\x02\x03][ \x02\x03]*")


def _mark(match: re.Match[str]) -> str:
    return "\n\n" if _PARA in match.group(0) else "\n"


def clean_text(s: str) -> str:
    """Plain text -> the same text with invisible characters removed and whitespace tidied.

    Blank-line paragraph breaks are kept (as one blank line), single newlines are kept, runs of
    other whitespace become one space.
    """
    # Most text is tidy already; each rewrite runs only where it could change something (a
    # rewrite of every single space and newline was most of the cost of `warta analyze`'s
    # text preparation).
    if "\r" in s or "\u2028" in s or "\u2029" in s:
        s = _NEWLINES.sub("\n", s)
    if "\xa0" in s:
        # The odd space news text has most. Every run of whitespace but newlines becomes one
        # space, whichever spaces it holds, so a no-break space may be a space from the start;
        # then such a text usually takes the fast path below.
        s = s.replace("\xa0", " ")
    if s.replace("\n", "").isprintable():
        # Neither an invisible character nor whitespace but space and newline is printable
        # (tests/test_html.py checks every code point), so on most texts both regex passes,
        # over every character, would change nothing; only runs of spaces may be left, which
        # a regex that opens on two spaces finds at a fraction of the cost.
        if "  " in s:
            s = _SPACE_RUNS.sub(" ", s)
    else:
        s = _INVISIBLE.sub("", s)
        s = _ODD_SPACES.sub(" ", s)  # every run of whitespace but newlines: one space
    if " \n" in s or "\n " in s or "\n\n\n" in s:
        s = _PLAIN_BREAKS.sub("\n\n", s)
        s = _PLAIN_LINE.sub("\n", s)
    return s.strip()


def html_to_text(s: str) -> str:
    """HTML fragment -> plain text with paragraphs separated by a blank line.

    Entities are decoded, script/style-like elements dropped, whitespace collapsed the way a
    browser does, block elements turned into line/paragraph breaks. Strings with no ``<`` and
    no ``&`` are plain text already; strings with entities but no ``<`` skip the parser.
    """
    if not s:
        return ""
    if "<" not in s:
        # No markup: only entities to decode, which the stdlib does without building a tree.
        return clean_text(html.unescape(s) if "&" in s else s)
    if _PARA in s or _LINE in s:
        s = s.replace(_PARA, "").replace(_LINE, "")
    tree = LexborHTMLParser(s, is_fragment=True)
    if _DROP_HINT.search(s) is not None:
        tree.strip_tags(_DROP, recursive=True)
    # One walk over the elements; measured cheaper than lexbor CSS queries on feed-sized HTML.
    root = tree.root
    for node in root.traverse() if root is not None else ():
        tag = node.tag
        if tag not in _BREAK_TAGS:
            continue
        if tag == "br":
            node.insert_before(_LINE)
        else:
            mark = _LINE if tag in _LINE_TAGS else _PARA
            node.insert_before(mark)
            node.insert_after(mark)
    # Decoded entities may have produced invisible characters (&#8203;); &nbsp; becomes space.
    text = _INVISIBLE_BUT_MARKS.sub("", tree.text())
    text = " ".join(text.split())  # HTML whitespace collapse; much faster than a regex
    if _PARA in text or _LINE in text:
        text = text.replace(" " + _PARA, _PARA).replace(" " + _LINE, _LINE)
        text = _MARKS.sub(_mark, text)
    return text.strip()


def one_line(s: str) -> str:
    """HTML or text -> a single line (titles, names)."""
    if "<" in s:
        return " ".join(html_to_text(s).split())
    # Titles are mostly markup-free: skip clean_text's paragraph handling, which a single line
    # discards anyway (every whitespace run becomes one space).
    if "&" in s:
        s = html.unescape(s)
    if _INVISIBLE.search(s) is not None:
        s = _INVISIBLE.sub("", s)
    return " ".join(s.split())


# Here, not in bot.feeds.parse (which re-exports it): `warta analyze` caps a one-line story's
# bullet with it and should not import the feed parsers for that.
def cap_text(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"
