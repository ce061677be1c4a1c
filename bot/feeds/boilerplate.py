"""Publisher boilerplate out of an article's plain text, before anything reads it.

News CMSs put lines into the article body that are not the article: related-article teasers
("Baca juga: Lima Pameran …", "Read more: …"), bylines and editor lines ("Penulis: …",
"Editor: …", "By Mary Lee"), tag lists ("Tags: …"), photo captions and credits ("Foto: …",
"(Foto: Antara)"), embed placeholders ("[Gambas:Video CNN]") and calls to follow the outlet.
Left in, they make a story "relevant" for a word in a teaser of another story (an exhibition in
"Baca juga: Lima Pameran …" once became the reason shown for an AI story) and put a byline into
the quick facts. The rules work on lines of the text ``html_to_text`` produces (each block
element is a line), so the markup of any CMS reduces to the same shapes.

Hand-written because the available extractors (trafilatura, justext) work on whole pages and
need the page's structure around the article; a feed body is a fragment of it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["strip_boilerplate"]

# Optional decoration a CMS puts before a label: bullets, brackets, dashes, bold markers.
_LEAD: Final = r"^[\s\-–—•*>\[(]*"
_COLON: Final = r"\s*[:：|]"

# Lines that are a teaser of another article, whatever follows the label.
_TEASER = re.compile(
    _LEAD + r"(?:baca(?:\s+(?:juga|pula|lainnya|selengkapnya))|lihat\s+juga|simak\s+juga|"
    r"tonton\s+juga|artikel\s+terkait|berita\s+terkait|read\s+(?:more|also|next)|also\s+read|"
    r"see\s+also|more\s+from|related(?:\s+(?:articles?|stories|news|content|reading))?)"
    r"\b\s*[:：\-–—|]",
    re.IGNORECASE,
)
# Teaser labels that are unambiguous even without a colon ("Baca juga Lima Pameran ...").
_TEASER_BARE = re.compile(
    _LEAD + r"(?:baca\s+juga|lihat\s+juga|simak\s+juga|read\s+more|also\s+read|see\s+also|"
    r"pilihan\s+editor|editor'?s\s+picks?)\b",
    re.IGNORECASE,
)
# A label alone on its line heads a list of other articles' titles ("Baca Juga" over a <ul>).
_LIST_LABEL = re.compile(
    _LEAD + r"(?:baca\s+juga|baca\s+pula|lihat\s+juga|simak\s+juga|artikel\s+terkait|"
    r"berita\s+terkait|berita\s+lainnya|artikel\s+lainnya|rekomendasi|berita\s+populer|"
    r"terpopuler|pilihan\s+editor|related(?:\s+(?:articles?|stories|news|posts|content))?|"
    r"read\s+(?:more|also|next)|also\s+read|see\s+also|more\s+(?:stories|from\s+\S+.*)|"
    r"recommended(?:\s+(?:for\s+you|stories|reading))?|you\s+(?:may|might)\s+also\s+like|"
    r"most\s+(?:read|popular)|trending(?:\s+now)?|editor'?s\s+picks?)"
    r"\s*[:：\-–—]?\s*$",
    re.IGNORECASE,
)
# A line that reads as a headline: short, without a sentence's end mark.
_TITLE_LIKE_MAX: Final = 160
# WordPress's syndication footer and its Indonesian counterparts.
_SYNDICATION = re.compile(
    r"^(?:the\s+post\s+.{1,300}\s+appeared\s+first\s+on\s+.{1,200}|"
    r"artikel\s+ini\s+(?:telah\s+)?(?:tayang|terbit|dimuat)\s+(?:di|pada)\s+.{1,200}|"
    r"(?:copyright|hak\s+cipta)?\s*©.{0,120}|"
    r"(?:continue\s+reading|lanjutkan\s+membaca|read\s+the\s+full\s+(?:story|article))\b.{0,200})$",
    re.IGNORECASE,
)
# Credits, bylines, tag lists and captions: a label and a colon at the start of a short line.
_LABELLED = re.compile(
    _LEAD + r"(?:penulis|editor|penyunting|redaktur|reporter|pewarta|wartawan|kontributor|"
    r"koresponden|oleh|laporan\s+wartawan|writer|written\s+by|author|reporting\s+by|"
    r"editing\s+by|edited\s+by|fotografer|photographer|foto|photo|gambar|image|ilustrasi|"
    r"illustration|grafis|infografis|sumber\s+foto|sumber\s+gambar|kredit|credit|caption|"
    r"tags?|tagar|topik|topics?|kategori|categories|filed\s+under|label)" + _COLON,
    re.IGNORECASE,
)
# "By Mary Lee", "By Mary Lee and John Roe, Reuters": a short line of capitalized names.
_BY_LINE = re.compile(
    r"^(?:[Bb]y|BY|[Oo]leh|OLEH)\s+(?:[A-Z][\w.'’-]*\s*(?:,|and|dan|&)?\s*){1,8}$",
)
# Calls to follow the outlet and ad markers, as whole lines.
_CHROME = re.compile(
    _LEAD + r"(?:advertisement|iklan|scroll\s+to\s+continue|gulir\s+untuk|"
    r"(?:ikuti|follow)\s+(?:kami|us|berita|saluran|channel|whatsapp)|"
    r"simak\s+(?:berita|breaking|video|artikel)|dapatkan\s+(?:update|berita|informasi)|"
    r"(?:download|unduh)\s+(?:aplikasi|the\s+app)|klik\s+di\s+sini|click\s+here)\b",
    re.IGNORECASE,
)
# Inline credits, embed placeholders and excerpt marks inside a sentence: "(Foto: Antara/Budi)",
# "[Gambas:Video CNN]", WordPress's "[…]".
_INLINE_OPEN = (
    r"[(\[](?:foto|photo|gambar|image|ilustrasi|illustration|sumber|source|dok|doc|"
    r"istimewa|gambas|video)"
)
_INLINE = re.compile(
    r"\s*" + _INLINE_OPEN + r"(?:\s*[:.][^)\]\n]{0,160})?[)\]]|\s*\[(?:…|\.\.\.)\]",
    re.IGNORECASE,
)
# What every match of _INLINE contains. Searched first because it opens on a bracket, which the
# regex engine skips ahead to, while _INLINE's leading \s* is tried at every offset of a line
# (and most lines with a bracket hold a date like "(28/7)", not a credit).
# Written as one bracket and then the alternatives (the excerpt mark's own bracket checked by a
# lookbehind), not as two top-level alternatives: only then does the engine skip ahead to a
# bracket instead of trying both at every offset (a third of the cost). Same matches.
_INLINE_HINT = re.compile(_INLINE_OPEN[:-1] + r"|(?<=\[)(?:…|\.\.\.)\])", re.IGNORECASE)
# A teaser glued into a paragraph after a sentence end: "... protes. Baca juga: Judul".
_INLINE_TEASER = re.compile(
    r"(?<=[.!?”\"])\s+(?:baca|lihat|simak)\s+juga\s*[:：][^\n]{0,200}$", re.IGNORECASE
)

# A labelled credit line is short; a long line that starts with "Foto:" is a caption too, but a
# long line starting "Editor:" is rare enough that the limit avoids eating a paragraph.
_MAX_LABEL_LINE: Final = 300
_MAX_BY_LINE: Final = 80
_PARAGRAPH = re.compile(r"\n\s*\n")


def _title_like(line: str) -> bool:
    stripped = line.strip()
    return 0 < len(stripped) <= _TITLE_LIKE_MAX and stripped[-1] not in ".!?…"


def _drop_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if _TEASER.match(stripped) or _TEASER_BARE.match(stripped):
        return True
    if _SYNDICATION.match(stripped):
        return True
    if len(stripped) <= _MAX_LABEL_LINE and (_LABELLED.match(stripped) or _CHROME.match(stripped)):
        return True
    return len(stripped) <= _MAX_BY_LINE and _BY_LINE.match(stripped) is not None


def strip_boilerplate(text: str) -> str:
    """``text`` without teaser, byline, tag, caption and chrome lines; paragraphs kept.

    A teaser label alone on its line ("Baca Juga", "Related Articles") takes the headline-like
    lines after it with it, in its paragraph and, when the label ends its paragraph, the next
    paragraph if that is a list of headlines (a CMS's ``<ul>`` of related links).
    """
    if not text:
        return text
    paragraphs: list[str] = []
    in_list = False  # after a label line: headline-like lines are the list's items
    # The cue every inline teaser has, asked of the whole text once: most have none, and then
    # no line needs asking (it has no whitespace, so a line has it only if the text does).
    juga = "juga" in text.lower()
    for para in _PARAGRAPH.split(text):
        raw_lines = para.split("\n")
        if in_list and not all(_title_like(line) for line in raw_lines if line.strip()):
            in_list = False
        lines = []
        for line in raw_lines:
            if _LIST_LABEL.match(line.strip()):
                in_list = True
                continue
            if in_list:
                if _title_like(line):
                    continue
                in_list = False
            if _drop_line(line):
                continue
            if juga and "juga" in line.lower():  # the regex is slow
                line = _INLINE_TEASER.sub("", line)
            if ("(" in line or "[" in line) and _INLINE_HINT.search(line):
                line = _INLINE.sub("", line)
            if line.strip():
                lines.append(line.strip())
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)
