"""Sentence splitting for Indonesian and English news text.

Written by hand on purpose. The offline options here do not fit: NLTK's Punkt needs a trained
model (a download, and none exists for Indonesian), pySBD has no Indonesian rules, and sumy
delegates to Punkt. News text needs only a handful of rules, and they are easier to read and to
keep fast as code: a period ends a sentence when whitespace and a capital (or digit, or opening
quote) follow, unless the word before it is a known abbreviation, an initial, or a month before a
day number; nothing is split inside a quotation; blank lines are hard breaks.
"""

from __future__ import annotations

import re

from bot.lang.stopwords import STOPWORDS

# Abbreviations (lowercase, final period dropped) after which a sentence never ends: titles,
# address parts and reference words that always have something after them.
_NEVER_END = frozenset(
    [
        "dr",
        "drs",
        "dra",
        "ir",
        "prof",
        "no",
        "nos",
        "hlm",
        "tgl",
        "kpd",
        "yth",
        "sdr",
        "sdri",
        "bpk",
        "jl",
        "jln",
        "kab",
        "kec",
        "kel",
        "prov",
        "rp",
        "h",
        "hj",
        "st",
        "a.n",
        "u.p",
        "s.d",
        "ust",
        "pt",
        "cv",
        "mr",
        "mrs",
        "ms",
        "messrs",
        "sen",
        "rep",
        "gov",
        "gen",
        "lt",
        "col",
        "capt",
        "sgt",
        "maj",
        "cpl",
        "adm",
        "rev",
        "hon",
        "mt",
        "ft",
        "ave",
        "blvd",
        "rd",
        "vol",
        "vols",
        "pp",
        "fig",
        "figs",
        "approx",
        "vs",
        "e.g",
        "i.e",
        "cf",
    ]
)
# Abbreviations that may also close a sentence ("... dan lain-lain dll. Selain itu ..."): there
# the period ends the sentence only when a common sentence-opening word follows.
_MAY_END = frozenset(
    [
        "dll",
        "dsb",
        "dst",
        "tsb",
        "dkk",
        "tbk",
        "m.si",
        "s.h",
        "s.kom",
        "s.e",
        "s.t",
        "s.pd",
        "m.pd",
        "m.m",
        "ph.d",
        "inc",
        "ltd",
        "co",
        "corp",
        "jr",
        "sr",
        "u.s",
        "u.k",
        "u.n",
        "a.m",
        "p.m",
        "etc",
        "llc",
        "plc",
        "dept",
        "est",
        "al",
    ]
)
_MONTHS = frozenset(
    [
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "agu",
        "agt",
        "sep",
        "sept",
        "okt",
        "oct",
        "nov",
        "des",
        "dec",
    ]
)
_OPENERS = "\"“‘'([«"
_CLOSERS = "\"'”’»)]"
_STARTERS = STOPWORDS["id"] | STOPWORDS["en"]

# A run of terminal punctuation, any closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"(?:\.\.\.|…|[.!?])+[\"'”’»)\]]*(?=\s)")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SPACES = re.compile(r"\s+")
_DOTTED = re.compile(r"^(?:[^\W\d_]{1,4}\.)+[^\W\d_]{1,4}$")
_WORD_AT_END = re.compile(r"(\S+)$")
_FIRST_WORD = re.compile(r"[^\W\d_]+")

# A quotation longer than this is probably a stray quote mark, not a quote to keep whole.
_MAX_QUOTE = 600


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of ``text``: blank lines always separate; a single newline does too, except
    where a line was evidently hard-wrapped (it ends mid-clause and the next starts lowercase)."""
    paragraphs: list[str] = []
    for block in _PARAGRAPH.split(text.strip()):
        current = ""
        for raw in block.split("\n"):
            line = raw.strip()
            if not line:
                continue
            if current and current[-1].isalpha() | (current[-1] == ",") and line[0].islower():
                current = f"{current} {line}"
                continue
            if current:
                paragraphs.append(current)
            current = line
        if current:
            paragraphs.append(current)
    return paragraphs


def _inside_quote(span: str) -> bool:
    """True when a quotation opened in ``span`` is still open at its end."""
    curly = span.count("“") - span.count("”")
    straight = span.count('"') % 2
    return curly > 0 or straight == 1


def _closes_later(rest: str) -> bool:
    return "”" in rest or '"' in rest


def _abbreviation_holds(word: str, next_text: str) -> bool:
    """True when the period after ``word`` belongs to an abbreviation, not to a sentence end."""
    token = word.lstrip(_OPENERS)
    low = token.lower()
    if low in _NEVER_END:
        return True
    if len(token) == 1 and token.isalpha():
        return True  # an initial: "J. K. Rowling", "H. Agus Salim"
    if low in _MONTHS:
        return next_text[:1].isdigit()
    if low in _MAY_END or _DOTTED.match(token):
        first = _FIRST_WORD.match(next_text)
        return not (first and first.group(0).lower() in _STARTERS)
    return False


def _split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        end = m.end()
        rest = paragraph[end:].lstrip()
        if not rest:
            break
        nxt = rest[0]
        if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
            continue
        mark = m.group(0)
        if mark == ".":
            before = _WORD_AT_END.search(paragraph, start, m.start())
            if before and _abbreviation_holds(before.group(1), rest):
                continue
        span = paragraph[start:end]
        if _inside_quote(span) and len(span) < _MAX_QUOTE and _closes_later(rest):
            continue
        sentence = paragraph[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_sentences(text: str, lang: str = "id") -> list[str]:
    """The sentences of ``text`` in order, whitespace collapsed.

    ``lang`` is accepted for callers that know it; the rules cover Indonesian and English
    together, since Indonesian news quotes English names and abbreviations all the time.
    """
    del lang  # one rule set serves both languages (see docstring)
    out: list[str] = []
    for paragraph in split_paragraphs(text):
        for sentence in _split_paragraph(_SPACES.sub(" ", paragraph)):
            out.append(sentence)
    return out
