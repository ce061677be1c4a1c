"""HTML (or plain text) from a feed -> clean plain text.

Warta renders plain text only, so feed HTML is never shown and never needs sanitizing: it is
parsed once with a real HTML parser (lexbor via selectolax) and flattened. Paragraphs stay
separated by a blank line because the summarizer splits on them.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

__all__ = ["clean_text", "html_to_text", "one_line"]

# Elements whose content a reader never sees as article text.
_DROP = ["script", "style", "noscript", "iframe", "template", "svg", "math", "object", "embed"]

# Private-use code points mark where the tree had a block boundary. They survive the whitespace
# collapse below (they are not whitespace) and any copies in the input are removed first.
_PARA = "\ue000"
_LINE = "\ue001"

_PARA_BLOCKS = (
    "p,div,h1,h2,h3,h4,h5,h6,blockquote,pre,ul,ol,dl,table,section,article,header,footer,"
    "aside,nav,main,figure,hr,address,details,fieldset,form"
)
_LINE_BLOCKS = "li,dt,dd,tr,figcaption,caption,summary,legend"

# Invisible characters that only serve to confuse matching, spoofing or layout: zero-width
# space, LRM/RLM, bidi embeddings/overrides/isolates, word joiner, BOM, soft hyphen, C0 (but
# tab/newline) and C1 controls. ZWJ/ZWNJ are kept: emoji sequences and some scripts need them.
_INVISIBLE = dict.fromkeys(
    [
        *range(0x00, 0x09),
        0x0B,
        0x0C,
        *range(0x0E, 0x20),
        0x7F,
        *range(0x80, 0xA0),
        0x00AD,
        0x200B,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        0x2060,
        *range(0x2066, 0x206A),
        0xFEFF,
    ]
)
_INVISIBLE[0x0D] = 0x0A  # lone CR is a line break
_INVISIBLE[0x2028] = 0x0A  # LINE SEPARATOR
_INVISIBLE[0x2029] = 0x0A  # PARAGRAPH SEPARATOR -> handled as a line break, then collapsed

# Input must not carry our own block markers.
_INPUT_TABLE = {**_INVISIBLE, 0xE000: None, 0xE001: None}

_SPACES = re.compile(r"[^\S\n]+")
_PLAIN_BREAKS = re.compile(r" *\n(?: *\n)+ *")
_PLAIN_LINE = re.compile(r" *\n *")
_ALL_WS = re.compile(r"\s+")
_MARKS = re.compile(r"\s*[\ue000\ue001][\s\ue000\ue001]*")


def _mark(match: re.Match[str]) -> str:
    return "\n\n" if _PARA in match.group(0) else "\n"


def clean_text(s: str) -> str:
    """Plain text -> the same text with invisible characters removed and whitespace tidied.

    Blank-line paragraph breaks are kept (as one blank line), single newlines are kept, runs of
    other whitespace become one space.
    """
    s = s.translate(_INVISIBLE)
    s = _SPACES.sub(" ", s)
    s = _PLAIN_BREAKS.sub("\n\n", s)
    s = _PLAIN_LINE.sub("\n", s)
    return s.strip()


def html_to_text(s: str) -> str:
    """HTML fragment -> plain text with paragraphs separated by a blank line.

    Entities are decoded, script/style-like elements dropped, whitespace collapsed the way a
    browser does, block elements turned into line/paragraph breaks. Strings with no ``<`` and
    no ``&`` are plain text already and skip the parser.
    """
    if not s:
        return ""
    if "<" not in s and "&" not in s:
        return clean_text(s)
    s = s.translate(_INPUT_TABLE)
    tree = LexborHTMLParser(s, is_fragment=True)
    tree.strip_tags(_DROP, recursive=True)
    for node in tree.css(_PARA_BLOCKS):
        node.insert_before(_PARA)
        node.insert_after(_PARA)
    for node in tree.css(_LINE_BLOCKS):
        node.insert_before(_LINE)
        node.insert_after(_LINE)
    for node in tree.css("br"):
        node.insert_before(_LINE)
    # Decoded entities may have produced invisible characters (&#8203;); &nbsp; becomes space.
    text = tree.text().translate(_INVISIBLE)
    text = _ALL_WS.sub(" ", text)
    text = _MARKS.sub(_mark, text)
    return text.strip()


def one_line(s: str) -> str:
    """HTML or text -> a single line (titles, names)."""
    return _ALL_WS.sub(" ", html_to_text(s)).strip()
