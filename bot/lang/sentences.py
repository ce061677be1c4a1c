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

from bot.lang.memo import WordMemo
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

# A run of terminal punctuation, any closing quotes/brackets, then whitespace. Opening on a
# character set lets the regex engine skip ahead to the next mark; an opening group (such as
# "(?:\.\.\.|…|[.!?])+", which matches the same runs) is tried at every offset, at twice the cost.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
# The same runs in a text with no "!", "?" or "…" (most paragraphs). Opening on a literal lets
# the regex engine search for it as a substring, not test a set at every offset: on 2,000
# stories the scan takes 6 ms instead of 36.
_PERIODS = re.compile(r"\.\.*[\"'”’»)\]]*(?=\s)")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_DOTTED = re.compile(r"^(?:[^\W\d_]{1,4}\.)+[^\W\d_]{1,4}$")
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


def _closes_later(text: str, pos: int) -> bool:
    return text.find("”", pos) >= 0 or text.find('"', pos) >= 0


# What a period after a word may be, by the word alone (see _abbreviation_holds).
_PLAIN, _ALWAYS, _MONTH, _MAYBE = range(4)


def _period_kind(word: str) -> int:
    token = word.lstrip(_OPENERS)
    low = token.lower()
    if low in _NEVER_END:
        return _ALWAYS
    if len(token) == 1 and token.isalpha():
        return _ALWAYS  # an initial: "J. K. Rowling", "H. Agus Salim"
    if low in _MONTHS:
        return _MONTH
    if low in _MAY_END or ("." in token and _DOTTED.match(token)):
        return _MAYBE
    return _PLAIN


# News repeats the words before its periods: a dict lookup answers most of them (plain words)
# instead of a call with a strip, a lowercase and four set lookups.
_PERIOD_KINDS = WordMemo(_period_kind)


def _abbreviation_holds(kind: int, text: str, pos: int) -> bool:
    """True when the period after a word of ``kind`` (``_PERIOD_KINDS``) belongs to an
    abbreviation, not to a sentence end (the next sentence would start at ``text[pos]``)."""
    if kind == _MONTH:
        return text[pos : pos + 1].isdigit()
    if kind == _MAYBE:
        first = _FIRST_WORD.match(text, pos)
        return not (first and first.group(0).lower() in _STARTERS)
    return kind == _ALWAYS


def _split_paragraph(paragraph: str) -> list[str]:
    """Sentences of one paragraph whose whitespace is collapsed to single spaces and stripped
    (as ``split_sentences`` passes it): a boundary is followed by exactly one space, and the
    word before a period starts after the last space. Each candidate boundary then costs
    a few index lookups, not a copy of the rest of the paragraph and a scan of the sentence."""
    sentences: list[str] = []
    start = 0
    size = len(paragraph)
    # A span can be inside a quotation only if the paragraph has a quote mark; most have
    # none, and their boundaries skip the check (with the kind memo: 93 -> 80 ms of sentence
    # splitting on 2,000 stories).
    quotes = '"' in paragraph or "“" in paragraph
    kinds = _PERIOD_KINDS
    marks = "!" in paragraph or "?" in paragraph or "…" in paragraph
    for m in (_BOUNDARY if marks else _PERIODS).finditer(paragraph):
        mark, end = m.span()
        after = end + 1  # the boundary's lookahead saw the one space
        if after >= size:
            break
        nxt = paragraph[after]
        if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
            continue
        if end - mark == 1 and paragraph[mark] == ".":  # the mark is one period
            word_start = max(paragraph.rfind(" ", start, mark) + 1, start)
            if word_start < mark:
                kind = kinds[paragraph[word_start:mark]]
                # A plain word's period ends the sentence: no call for it.
                if kind != _PLAIN and _abbreviation_holds(kind, paragraph, after):
                    continue
        if quotes:
            span = paragraph[start:end]
            if _inside_quote(span) and len(span) < _MAX_QUOTE and _closes_later(paragraph, after):
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
        out.extend(paragraph_sentences(paragraph))
    return out


def paragraph_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph as ``split_paragraphs`` gives it (stripped, no newline):
    ``split_sentences`` without splitting paragraphs again, for a caller that already did."""
    # str.split() breaks at the characters the regex \s matches; on a stripped paragraph the
    # join is re.sub(r"\s+", " ", paragraph) at a fraction of the cost. Most paragraphs are
    # collapsed already: no whitespace but single inner spaces (whitespace other than a space
    # is unprintable), so the join would give the same string back.
    if (
        paragraph.isprintable()
        and "  " not in paragraph
        and paragraph[:1] != " "
        and paragraph[-1:] != " "
    ):
        return _split_paragraph(paragraph)
    return _split_paragraph(" ".join(paragraph.split()))
