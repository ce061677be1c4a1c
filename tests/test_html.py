"""Plain-text tidying (bot/feeds/html.py): its fast path changes nothing the regexes would."""

from __future__ import annotations

import sys

import pytest

from bot.feeds import html


def test_every_character_the_tidy_regexes_touch_is_unprintable() -> None:
    """``clean_text`` skips both regex passes on a text that is printable but for newlines:
    sound only while no character they remove or rewrite (an invisible one, whitespace but
    space and newline) is printable."""
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        touched = html._INVISIBLE.match(ch) or (ch.isspace() and ch not in " \n")
        assert not (touched and ch.isprintable()), hex(code)


@pytest.mark.parametrize(
    "text",
    [
        "Plain text.\n\nSecond  paragraph with  double spaces.",
        "Tab\there and\u00a0no-break and\u200bzero width.\n\n\n Indented line",
        "Line one \nline two\r\nline three\u2028four",
        "Soft\u00adhyphen and \u3000 ideographic  space",
        "“Curly” quotes — and a dash, all printable.",
        "No-break\u00a0 space\u00a0\u00a0runs \u00a0and   plain  ones.\n\nNext\u00a0one.",
        "No-break\u00a0\u200b\u00a0next to an invisible one and\ta tab.",
    ],
)
def test_clean_text_is_both_regex_passes(text: str) -> None:
    s = html._NEWLINES.sub("\n", text)
    s = html._ODD_SPACES.sub(" ", html._INVISIBLE.sub("", s))
    if " \n" in s or "\n " in s or "\n\n\n" in s:
        s = html._PLAIN_LINE.sub("\n", html._PLAIN_BREAKS.sub("\n\n", s))
    assert html.clean_text(text) == s.strip()
