"""The offline extractive summarizer: a headline plus 2-4 quick-facts bullets.

It runs on every new story, so it is pure Python and linear in the text (no model, no download).

Steps: clean the text (datelines, bylines, boilerplate lines such as "Baca juga:" or tweet
attributions), split it into sentences, then pick three bullets the way a person writes
"quick facts": the lead (what happened) as the anchor, then greedily the sentences that add the
most, so the bullets span the article instead of retelling its first paragraph. A pick's value
mixes:

- coverage: the document weight of the terms it adds, with diminishing returns for terms the
  headline or an earlier bullet already said (a budgeted, submodular coverage objective);
- position: news is written lead first, but the prior loosens with each pick and with the
  length of the story, so a later paragraph's number or demand can win;
- facts: numbers (also written out: "tiga jam"), quantities with units, names, and verbs of
  demand or consequence ("meminta", "menggugat", "demands", "sues");
- quality: background ("... telah menjadi topik tren"), reported opinion and quotations count
  for less, and so does a second bullet from the same body paragraph.

Indonesian words are not stemmed (affixes carry meaning and a stemmer needs a dictionary);
English gets a light suffix strip so "artists" meets "artist".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import partial, reduce
from itertools import chain, repeat
from operator import attrgetter, itemgetter, or_

from bot.lang.memo import WordMemo
from bot.lang.sentences import paragraph_sentences, split_paragraphs
from bot.lang.stopwords import stopwords
from bot.models import Summary

# ----------------------------------------------------------------------------- cleaning

# Whole lines that are page furniture, not story text.
_BOILERPLATE_LINE = re.compile(
    r"""^(?:
        (?:baca|simak|lihat)\s+(?:juga|pula)\b.*
      | (?:read|see)\s+(?:more|also)\b.*
      | also\s+read\b.*
      | related(?:\s+(?:articles?|stories|news))?\s*:.*
      | advertisement | iklan | sponsored | scroll\s+to\s+continue.*
      | berikan\s+komentar | tulis\s+komentar | komentar | batal | bagikan | share(?:\s+this)?
      | (?:ikuti|follow)\s+(?:kami|us)\b.*
      | (?:foto|photo|image|gambar|ilustrasi|credit|kredit|sumber\s+foto)\s*:.*
      | [—–-]\s*[^()\n]{1,80}\(@\w{1,30}\).*          # tweet attribution: — Name (@handle) date
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Lines ending in a photo credit in parentheses are captions.
_CAPTION_LINE = re.compile(
    r"\((?:foto|photo|image|gambar|ilustrasi|sumber)\s*:[^)]*\)\s*$", re.IGNORECASE
)
_EMBED_LINE = re.compile(r"pic\.twitter\.com/|^https?://\S+$", re.IGNORECASE)

_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Cue:
    """Words and phrases that mark a sentence (a quantity, a demand, an opinion...): found as
    ``re.compile(rf"\\b(?:{'|'.join(words)})\\b|{phrases}", re.IGNORECASE)`` would find them.

    That one regex costs 5-20 µs a sentence (a case-insensitive alternation of dozens of words is
    tried at every offset), and the summarizer asks six of them about every sentence. Here a
    whole word is a set lookup among the sentence's words, and ``phrases`` (the part a word set
    cannot say) is searched only when one of its ``needles`` (lowercase substrings that every
    match of ``phrases`` contains) occurs in the lowercased sentence: the same answers for a
    fraction of a microsecond on most sentences (tests/test_extractive.py compares the two).
    """

    words: frozenset[str]
    phrases: re.Pattern[str] | None = None
    needles: tuple[str, ...] = ()
    # In a word's ``_cue_bits``: this bit when one of its \\w+ words is a cue word, the next
    # one up when it holds a needle.
    bit: int = 0

    @classmethod
    def of(
        cls, words: str, phrases: str = "", needles: tuple[str, ...] = (), *, bit: int = 0
    ) -> _Cue:
        pattern = re.compile(phrases, re.IGNORECASE | re.VERBOSE) if phrases else None
        return cls(frozenset(words.split()), pattern, needles, bit)

    def may_occur(self, low: str) -> bool:
        """Whether a phrase may match in some part of a text (lowercased: ``low``), as far as
        needles tell: none of them has whitespace, so a sentence of a paragraph has one only
        if the paragraph does."""
        # At C level: any() over a generator costs twice as much.
        return any(map(low.__contains__, self.needles))

    def found(self, text: str, low: str, words: Collection[str]) -> bool:
        """Whether ``text`` (lowercased: ``low``; its ``\\w+`` words, a set or a list:
        ``words``) has a cue."""
        if not self.words.isdisjoint(words):
            return True
        if self.phrases is not None:
            for needle in self.needles:  # a plain loop: any() over a generator costs twice
                if needle in low:
                    return self.phrases.search(text) is not None
        return False

    def marks(self, word: str, low: str, words: Collection[str]) -> int:
        """This cue's bits for one whitespace-separated ``word`` (lowercased: ``low``; its
        \\w+ words: ``words``)."""
        hit = 0 if self.words.isdisjoint(words) else self.bit
        return hit | (self.bit << 1 if any(n in low for n in self.needles) else 0)

    def found_in(self, text: str, bits: int) -> bool:
        """``found`` for a text whose words' ``_cue_bits`` or together to ``bits``."""
        if bits & self.bit:
            return True
        if self.phrases is not None and bits & self.bit << 1:
            return self.phrases.search(text) is not None
        return False


# The \\w+ words of a whitespace-separated word's lowercase (see _CONTENT_WORDS for why a
# sentence's are its words' end to end), for its ``_cue_bits``.
def _low_words(word: str) -> tuple[str, ...]:
    low = word.lower()
    # An alphanumeric word is one \\w+ word (no regex call for most words).
    return (low,) if low.isalnum() else tuple(_WORDS.findall(low))


# Sentences that are furniture inside running text (CNN/DailyMail style).
_BOILERPLATE_SENTENCE = _Cue.of(
    "",
    r"""scroll\s+down\s+for\s+video|click\s+here|\bPUBLISHED:|\bUPDATED:|^READ(?:\s+MORE)?:
      | ^(?:baca|simak)\s+juga|^advertisement\b""",
    ("scroll", "click", "published:", "updated:", "read", "baca", "simak", "advertisement"),
)

# Datelines and outlet credits at the start of a story:
#   "Jakarta, CNN Indonesia -- ", "JAKARTA, KOMPAS.com - ", "Merdeka.com - ", "Rimanews - ",
#   "MUENCHEN, JUARA.net - ", "JUARA.NET, TOKYO-", "Bandung (ANTARA News) - ", "(ANTARA) - ",
#   "LONDON (Reuters) - ", "(CNN)", "London (CNN)".
_PLACE = r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2}"
_DATELINE_PAREN = re.compile(
    rf"^(?:{_PLACE}\s*)?\((?P<outlet>[A-Z][^():]{{0,38}})\)(?P<glue>\S?)\s*(?P<dash>[-–—]{{1,2}})?\s*"
)
_DATELINE_DASH = re.compile(
    rf"^{_PLACE}(?:,\s*[\w.'’-]+(?:\s+[\w.'’-]+){{0,2}})?\s+[-–—]{{1,2}}\s+(?=\S)"
)
# A glued hyphen before another capitalized acronym is a compound ("SAG-AFTRA called"), not a
# dateline ("JUARA.NET, TOKYO-Pasangan ...").
_DATELINE_CAPS = re.compile(
    r"^[A-Z][A-Z.]+(?:,\s*[A-Z][A-Za-z.]+)*(?:\s*[–—]{1,2}(?=[A-Z])|\s*-{1,2}(?=[A-Z][a-z]))"
)
_BYLINE = re.compile(r"^By\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}(?:,\s*[A-Z][\w ]{1,30})?$")
_TITLE_SUFFIX = re.compile(r"\s+[|]\s+[^|]{1,40}$")


def _strip_dateline(paragraph: str) -> str:
    m = _DATELINE_PAREN.match(paragraph)
    if m:
        outlet = m.group("outlet")
        # "(CNN)The ..." is glued; "Joko Widodo (Jokowi) mengatakan" is not a dateline, so a
        # parenthesis counts only when glued, followed by a dash, or an all-caps outlet name.
        if m.group("glue"):
            return paragraph[m.start("glue") :]
        if m.group("dash") or outlet.split()[0].isupper():
            return paragraph[m.end() :]
    for pattern in (_DATELINE_DASH, _DATELINE_CAPS):
        m = pattern.match(paragraph)
        if m and m.end() <= 60:
            return paragraph[m.end() :]
    return paragraph


def clean_text(text: str) -> list[str]:
    """Story paragraphs without datelines, bylines, captions and boilerplate lines."""
    kept: list[str] = []
    for paragraph in split_paragraphs(text):
        line = paragraph.strip()
        if (
            _BOILERPLATE_LINE.match(line)
            or _CAPTION_LINE.search(line)
            # Both of its forms have a slash; the regex alone is tried at every offset.
            or ("/" in line and _EMBED_LINE.search(line))
            or _BYLINE.match(line)
        ):
            continue
        if len(kept) < 2:
            line = _strip_dateline(line).strip()
        if line:
            kept.append(line)
    return kept


def clean_title(title: str) -> str:
    """The title without outlet suffixes ("... | Kompas.com") and extra whitespace."""
    title = " ".join(title.split())
    stripped = _TITLE_SUFFIX.sub("", title)
    return stripped if len(stripped) >= 15 else title


# ----------------------------------------------------------------------------- tokens

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_NUMBER = re.compile(r"\d")


def _stem_en(word: str) -> str:
    # Light suffix strip only: enough to meet plural/verb forms, never a dictionary.
    if len(word) > 4:
        for suffix in ("ing", "ies", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _content_word(token: str, lang: str) -> str:
    """``token`` as a content word of ``lang``, or "" for a stopword or a lone letter."""
    if token in stopwords(lang) or (len(token) < 2 and not token.isdigit()):
        return ""
    return _stem_en(token) if lang == "en" else token


def _word_content(word: str, lang: str) -> tuple[str, ...]:
    low = word.lower()
    if low.isalnum():  # most words: one token, the whole word (no regex call)
        content = _content_word(low, lang)
        return (content,) if content else ()
    return tuple(c for t in _TOKEN.findall(low) if (c := _content_word(t, lang)))


# whitespace-separated word -> its content words, per language. A sentence's tokens are its
# words' tokens end to end: no token spans whitespace, and lowercasing a word alone gives what
# lowercasing the sentence gives there (only a capital sigma's lowercase depends on its
# neighbours, and never across whitespace; a sentence with one takes the regex path all the
# same). So most words are answered by one dict lookup instead of a regex pass over the
# sentence, the stopword and the suffix checks.
_CONTENT_WORDS: dict[str, WordMemo[tuple[str, ...]]] = {}


def _content_memo(lang: str) -> WordMemo[tuple[str, ...]]:
    memo = _CONTENT_WORDS.get(lang)
    if memo is None:
        memo = _CONTENT_WORDS[lang] = WordMemo(partial(_word_content, lang=lang))
    return memo


def content_tokens(sentence: str, lang: str, split: list[str] | None = None) -> list[str]:
    """Lowercased content words of ``sentence`` (stopwords dropped; English lightly stemmed).
    ``split``: ``sentence.split()`` when the caller has it."""
    if "Σ" in sentence:
        return [c for t in _TOKEN.findall(sentence.lower()) if (c := _content_word(t, lang))]
    words = sentence.split() if split is None else split
    return list(chain.from_iterable(map(_content_memo(lang).__getitem__, words)))


def _term_sets(texts: list[str], splits: list[list[str]], lang: str) -> list[frozenset[str]]:
    """``frozenset(content_tokens(text, lang, split))`` for each text and its split: the set
    made straight from the memo entries, no list and no call a sentence (with _analyse
    working a paragraph at a time: 295 -> 291 ms of _analyse on 2,000 stories)."""
    get = _content_memo(lang).__getitem__
    return [
        frozenset(content_tokens(text, lang, split))
        if "Σ" in text
        else frozenset(chain.from_iterable(map(get, split)))
        for text, split in zip(texts, splits, strict=True)
    ]


def _jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


# ----------------------------------------------------------------------------- shortening

_TERMINAL = ".!?…”\"’'"
# Clause boundaries to cut a long sentence at, best first. The text before the boundary stays.
_CLAUSE_CUTS = (
    "; ",
    " — ",
    " – ",
    " -- ",
    ", ",
    " yang ",
    " which ",
    " who ",
    " karena ",
    " because ",
    " sehingga ",
    " namun ",
    " but ",
    " while ",
    " sementara ",
    " dan ",
    " and ",
)


def _quote_open(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def shorten(sentence: str, max_chars: int) -> str | None:
    """``sentence`` cut to at most ``max_chars`` at a clause boundary, or None when no cut keeps
    enough of it. Never cuts mid-word and never leaves an open quotation behind."""
    if len(sentence) <= max_chars:
        return sentence
    floor = max_chars * 0.45
    best: int | None = None
    for cut in _CLAUSE_CUTS:
        pos = sentence.rfind(cut, 0, max_chars)
        while pos > floor:
            if not _quote_open(sentence[:pos]):
                if best is None or pos > best:
                    best = pos
                break
            pos = sentence.rfind(cut, 0, pos)
    if best is None:
        return None
    head = sentence[:best].rstrip(" ,;:—–-")
    if head and head[-1] not in _TERMINAL:
        head += "…"
    return head


# ----------------------------------------------------------------------------- scoring

# Openers that lean on the sentence before. A connective or a pronoun attribution is cut off
# and the reported statement kept as the fact ("Menurutnya, identitas korban ..." ->
# "Identitas korban ..."); a sentence that opens on a bare demonstrative is not used.
_LEADING_CONNECTIVE = re.compile(
    r"""^(?:
        (?:namun|tetapi|akan\s+tetapi|selain\s+itu|sementara\s+itu|oleh\s+karena\s+itu|
            meski\s+demikian|dengan\s+demikian|sebelumnya|however|meanwhile|moreover|
            furthermore|but|also|and)\s*,?
      | menurut(?:nya|\s+dia|\s+mereka)\s*,
      | (?:ia|dia|mereka|beliau)\s+(?:mengatakan|menambahkan|menjelaskan|menyebutkan|
            mengungkapkan|menegaskan|melanjutkan|berkata|menuturkan)(?:\s+bahwa|\s*,)
      | (?:he|she|they)\s+(?:said|added|explained|told\s+\w+)(?:\s+that|\s*,)
    )\s+""",
    re.IGNORECASE | re.VERBOSE,
)
_DANGLING = re.compile(
    r"^(?:hal\s+(?:ini|itu|tersebut)|ini|itu|this|these|those)\s+(?:adalah|merupakan|is|was|are|were)\b",
    re.IGNORECASE,
)


# ASCII characters that open no alternative of _LEADING_CONNECTIVE (or of _DANGLING), in
# either case: a sentence opening on one is not matched (on 2,000 stories 37% of sentences
# skip the connective regex, 76% the dangling one). A non-ASCII character may fold to one of
# their letters ("ſ" to "s"): matched.
_ASCII = frozenset(map(chr, range(128)))
_NO_CONNECTIVE = _ASCII - frozenset("ntasomdhfbiNTASOMDHFBI")
_NO_DANGLING = _ASCII - frozenset("hitHIT")


def _detach(sentence: str) -> str:
    """``sentence`` without a leading connective or pronoun attribution."""
    if sentence[:1] in _NO_CONNECTIVE:
        return sentence
    m = _LEADING_CONNECTIVE.match(sentence)
    if not m or len(sentence) - m.end() < 30:
        return sentence
    rest = sentence[m.end() :]
    return rest[0].upper() + rest[1:]


# "..., kata dia." / '..." he said.' — a quote whose speaker is only a pronoun.
_PRONOUN_SPEAKER = re.compile(
    r"[,”\"]\s*(?:(?:kata|ujar|ucap|tutur|jelas|tambah)(?:nya|\s+dia|\s+ia|\s+mereka)"
    r"|(?:he|she|they)\s+(?:said|added|told)|said\s+(?:he|she))[^\w]*$",
    re.IGNORECASE,
)

# Quantities: digits, or number words that news writes out ("tiga jam", "two million").
_NUMBER_WORD = _Cue.of(
    """satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas belas puluh
    puluhan ratus ratusan seratus ribu ribuan seribu juta jutaan miliar triliun
    two three four five six seven eight nine ten eleven twelve dozen dozens hundred hundreds
    thousand thousands million millions billion billions trillion trillions""",
    bit=1 << 1,
)
# A quantity with a unit (time, money, share) is the kind of detail a reader keeps.
_UNIT = _Cue.of(
    """detik menit jam hari pekan minggu bulan tahun persen second seconds minute minutes hour
    hours day days week weeks month months year years percent dolar rupiah dollar dollars pound
    pounds euro euros""",
    r"[$£€¥]\s?\d | \brp\.?\s?\d | \bus\$ | \bper\s+cent\b | %",
    ("$", "£", "€", "¥", "rp", "cent", "%"),
    bit=1 << 3,
)
# Verbs of demand, decision and consequence: what someone asks for or what happens next.
# Not "ban": in Indonesian it is a tyre.
_ACTION = _Cue.of(
    """meminta menuntut menggugat mendesak menolak menyerukan memprotes melarang memutuskan
    menandatangani membayar kompensasi menangkap menghentikan ditutup dihentikan dilarang
    digugat ditangkap didenda denda petisi gugatan tuntutan larangan vonis dijatuhi
    ask asks asked demand demands demanded sue sues sued lawsuit urge urges urged refused
    banned bans ruled fine fined arrested charged signed petition halted""",
    r"\b(?:mengganti\s+rugi|ganti\s+rugi|calls?\s+for|called\s+for|compensat\w*|shut\s+down)\b",
    ("ganti", "call", "compensat", "shut"),
    bit=1 << 5,
)
# Background and opinion: true of the whole field, not a fact of this story.
_BACKGROUND = _Cue.of(
    "",
    r"""\b(?:
        telah\s+menjadi\s+(?:topik|tren|isu|perbincangan|perdebatan)|menjadi\s+tren|
        semakin\s+(?:populer|marak|ramai)|ramai\s+diperbincangkan|
        (?:has|have)\s+become\s+(?:a\s+)?(?:hot\s+|popular\s+|major\s+)?(?:topic|trend|debate|issue)|
        is\s+(?:becoming|a)\s+(?:trend|hot\s+topic)|in\s+recent\s+years|
        beberapa\s+tahun\s+terakhir
    )\b""",
    ("menjadi", "semakin", "diperbincangkan", "become", "trend", "topic", "recent", "terakhir"),
    bit=1 << 7,
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
# Reported feelings and judgements: a view about the story, not one of its facts.
_OPINION_WORDS = _Cue.of(
    """merasa menilai berpendapat menganggap meyakini khawatir believe believes think thinks
    argue argues opinion""",
    r"\b(?:percaya\s+bahwa|feels?\s+that|felt\s+that|worried\s+that)\b",
    ("percaya", "feel", "felt", "worried"),
    bit=1 << 9,
)
_DIGIT = 1  # the word has a \\d
_MARKED = (_NUMBER_WORD, _UNIT, _ACTION, _BACKGROUND, _OPINION_WORDS)


def _bits(text: str, low: str, words: Collection[str]) -> int:
    """The cue bits of ``text`` (lowercased: ``low``; its \\w+ words: ``words``)."""
    bits = _DIGIT if _NUMBER.search(text) else 0
    for cue in _MARKED:
        bits |= cue.marks(text, low, words)
    return bits


def _cue_bits(word: str) -> int:
    """What the cues of ``_prepare`` see in one whitespace-separated word, as bits: a
    sentence's are its words' or-ed together, as no cue word or needle spans whitespace and
    a word lowercases alone as in its sentence (but a capital sigma: see ``_prepare``)."""
    return _bits(word, word.lower(), _low_words(word))


# One dict lookup a word and one C-level or for a sentence's cues, instead of five passes of
# set lookups over its words and a substring search a needle (summarize on 2,000 stories:
# 692 -> 619 ms).
_CUE_BITS: WordMemo[int] = WordMemo(_cue_bits)

# Weights of a bullet's value after the lead. On the dev corpora these sit on a plateau
# (position 3-5, coverage 0.5-1, demand 1-1.25 change ROUGE by under a point); the demand weight
# is what lets a story's ask or consequence beat a third retelling of the lead.
_W_POSITION = 4.0
_W_COVER = 0.75
_W_FACT = 0.5
_W_ACTION = 1.0
# Each pick after the lead leans less on position: the first bullets establish the story, the
# later ones should add what the rest of the article says.
_POSITION_DECAY = 0.9
_COVERED = 0.25  # a term already said keeps this share of its weight (diminishing returns)
_HEADLINE_COVERED = 0.6  # the headline says its terms once already, but less than a bullet
_LENGTH_EXP = 0.5  # coverage per sqrt(word count): neither the longest nor the shortest wins
_SAME_PARAGRAPH = 0.85  # outside the lead paragraph, a second bullet from one paragraph
_QUOTE = 0.5  # quotations are voice, rarely the fact (on IndoSum 1% of quotes are in summaries)
_OPINION = 0.75
_BACKGROUND_Q = 0.5
# Human quick facts are three: what happened, a telling detail, the demand or consequence.
_QUICK_FACTS = 3
_DUP_HEADLINE = 0.6
_NEW_FACTS_MIN = 3  # content words beyond the headline's that make a similar sentence a fact
_DUP_BULLET = 0.5


@dataclass(slots=True)
class _Sentence:
    index: int
    paragraph: int
    text: str
    split: list[str]  # text.split(), made once for the word count and the cues
    candidate: bool
    terms: frozenset[str] = frozenset()
    words: int = 0
    prior: float = 0.0
    prepared: bool = False  # fact, action and quality are known
    fact: float = 0.0
    action: bool = False
    quality: float = 1.0


def _facts(sentence: str, bits: int, split: list[str]) -> float:
    """0..1: how much ``sentence`` (``split``: its ``str.split()``; ``bits``: its cue bits)
    reads as a concrete fact (quantities, units, names)."""
    # Capitalized words after the first (split's words are never empty), counted at C level.
    names = sum(map(str.isupper, map(itemgetter(0), split[1:])))
    number = bool(bits & _DIGIT) or _NUMBER_WORD.found_in(sentence, bits)
    unit = number and _UNIT.found_in(sentence, bits)
    return 0.4 * number + 0.25 * unit + 0.35 * min(names, 3) / 3


def _length_quality(length: int) -> float:
    return 0.7 if length < 9 else (0.85 if length > 55 else 1.0)


def _quality(sentence: str, bits: int, fact: float, length: int) -> float:
    """A multiplier below 1 for sentences that read as background, opinion or a bare quote
    (``length``: its word count; ``bits``: its cue bits)."""
    q = _length_quality(length)
    if _BACKGROUND.found_in(sentence, bits):
        q *= _BACKGROUND_Q
    if _OPINION_WORDS.found_in(sentence, bits):
        q *= _OPINION
    # Most sentences quote nothing: no regex pass for them.
    quoted = (
        sum(len(m) for m in _QUOTED.findall(sentence)) if "“" in sentence or '"' in sentence else 0
    )
    if quoted > 0.5 * len(sentence):
        q *= _QUOTE if fact >= 0.35 else _QUOTE * 0.8
    return q


def _speaker_last(text: str) -> bool:
    """Whether ``text`` may end as ``_PRONOUN_SPEAKER`` says: its last word character, before
    the non-word ones that may close it, is the last letter of one of the regex's speaker
    words ("...nya", "dia", "ia", "mereka", "said", "added", "told", "he", "she"): a, d or e,
    in either case (no other character matches those case-insensitively). The regex is
    tried at every comma and quote mark of the sentence; this looks at a character or two."""
    i = len(text) - 1
    while i >= 0 and not ((ch := text[i]).isalnum() or ch == "_"):
        i -= 1
    return i >= 0 and text[i] in "adeADE"


def _candidate(text: str, words: int) -> bool:
    """Whether a sentence (``words``: its word count) may be a bullet."""
    complete = text[-1] in _TERMINAL
    if words < 6 or not (complete or words >= 12):
        return False
    if text[0] not in _NO_DANGLING and _DANGLING.match(text):
        return False
    return not (words < 25 and _speaker_last(text) and _PRONOUN_SPEAKER.search(text))


def _texts(paragraph: str, furniture: bool) -> list[str]:
    """The sentences of a paragraph, furniture dropped (``furniture``: whether its story has
    a needle of the furniture cue) and leading connectives detached."""
    parts = paragraph_sentences(paragraph)  # clean_text's are split_paragraphs'
    # Most paragraphs have no needle of the furniture cue, so none of their sentences does.
    if furniture and _BOILERPLATE_SENTENCE.may_occur(paragraph.lower()):
        parts = [s for s in parts if not _BOILERPLATE_SENTENCE.found(s, s.lower(), frozenset())]
    return list(map(_detach, parts))


def _analyse(paragraphs: list[str], lang: str) -> list[_Sentence]:
    sentences: list[_Sentence] = []
    # Most stories have no needle of the furniture cue, so none of their paragraphs does: one
    # search of the story for them instead of one a paragraph (1,460 of 2,000 stories).
    furniture = _BOILERPLATE_SENTENCE.may_occur("\n".join(paragraphs).lower())
    # A paragraph's sentences a list at a time, at C level where a map will do.
    for p, paragraph in enumerate(paragraphs):
        texts = _texts(paragraph, furniture)
        splits = list(map(str.split, texts))
        words = list(map(len, splits))
        first = len(sentences)
        sentences.extend(
            map(
                _Sentence,
                range(first, first + len(texts)),
                repeat(p),
                texts,
                splits,
                map(_candidate, texts, words),
                _term_sets(texts, splits, lang),
                words,
            )
        )
    return sentences


def _repeats(terms: frozenset[str], headline_tokens: set[str]) -> bool:
    """Whether a sentence of ``terms`` repeats the headline. A lead that restates the headline
    but adds names, numbers or a cause ("Citra Maharani", "enam", "setelah promotor beralih")
    does not."""
    # _jaccard(terms, headline_tokens) >= _DUP_HEADLINE and len(terms - headline_tokens) <
    # _NEW_FACTS_MIN, the same ints and division from one intersection instead of three sets;
    # none at all for a sentence with enough terms that, even if it had every headline term,
    # it would add new ones (226 of the 387 candidates of the titled topics dev stories).
    if len(terms) >= len(headline_tokens) + _NEW_FACTS_MIN:
        return False
    shared = len(terms & headline_tokens)
    if not shared or len(terms) - shared >= _NEW_FACTS_MIN:
        return False
    return shared / (len(terms) + len(headline_tokens) - shared) >= _DUP_HEADLINE


def _position_scale(count: int) -> float:
    """The position prior of sentence ``index`` of ``count`` is ``exp(-index / scale)``.
    Lead-first, but softer the longer the story: short wire copy says everything up front,
    while a long feature keeps its numbers and demands for later paragraphs."""
    return max(4.0, count / 3.0)


_PARAGRAPH = attrgetter("paragraph")
_WEIGHT = attrgetter("weight")
# sqrt(word count) for the coverage per word, as max(1, n) ** _LENGTH_EXP gives it, looked up.
_ROOTS: list[float] = [max(1, n) ** _LENGTH_EXP for n in range(256)]


def _weigh(pool: list[_Candidate], weights: dict[str, float]) -> float:
    """Sets each candidate's full and per-word weight; the largest per-word weight, or 1."""
    roots = _ROOTS
    for c in pool:
        terms = c.terms
        c.full = full = sum(map(weights.get, terms, repeat(0.0)))
        n = len(terms)
        c.weight = full / (roots[n] if n < 256 else max(1, n) ** _LENGTH_EXP)
    return max(map(_WEIGHT, pool)) or 1.0


# 1 + log(n) for the document frequencies a story has (a few dozen at most): looked up, not
# computed for each of a story's few hundred terms.
_LOG_WEIGHTS: list[float] = [0.0] + [1.0 + math.log(n) for n in range(1, 257)]


_TERMS = attrgetter("terms")


def _term_weights(sentences: list[_Sentence]) -> dict[str, float]:
    """Document term weights: a word the story returns to in several sentences is its subject."""
    df = Counter(chain.from_iterable(map(_TERMS, sentences)))  # one counting pass, at C level
    table = _LOG_WEIGHTS
    if len(sentences) >= len(table):  # a frequency never exceeds the sentence count
        return {t: 1.0 + math.log(n) for t, n in df.items()}
    # The same dict as a comprehension, built at C level.
    return dict(zip(df.keys(), map(table.__getitem__, df.values()), strict=True))


def _sentence_bits(text: str, split: list[str]) -> int:
    """The cue bits of ``text`` (``split``: its ``str.split()``)."""
    if "Σ" in text:  # its lowercase depends on the letters around it: the sentence's words
        low = text.lower()
        return _bits(text, low, _WORDS.findall(low))
    return reduce(or_, map(_CUE_BITS.__getitem__, split), 0)


def _prepare(s: _Sentence) -> None:
    """The parts of a candidate's value that do not change while picking, but its prior."""
    split = s.split  # its words, names after the first, and the length
    bits = _sentence_bits(s.text, split)
    s.prepared = True
    s.fact = _facts(s.text, bits, split)
    s.action = _ACTION.found_in(s.text, bits)
    s.quality = _quality(s.text, bits, s.fact, len(split))


def _headline_from(sentences: list[_Sentence], max_chars: int = 110) -> str:
    for s in sentences:
        if s.candidate or s.words >= 4:
            short = shorten(s.text, max_chars)
            if short is None:
                cut = s.text[:max_chars].rsplit(" ", 1)[0]
                short = cut.rstrip(" ,;:") + "…"
            return short.rstrip("…").rstrip(" .") if short.endswith("…") else short
    return ""


@dataclass(slots=True)
class _Candidate:
    sentence: _Sentence
    bullet: str
    terms: frozenset[str]  # of the bullet as shown: a shortened sentence says less
    weight: float = 0.0  # its terms' document weight per sqrt(word): what it could cover
    full: float = 0.0  # its terms' document weight
    reach: float = 0.0  # the most its coverage term can be in _select: novelty 1 or less


# Above any sentence's fact score (at most 1, give or take a rounding).
_FACT_CEILING = 1.01
# The most a fact score and a demand verb can add to a pick's value (see _select).
_FACT_MOST = _W_FACT * _FACT_CEILING
_ACTION_MOST = _W_ACTION * True
# Above any novelty (a sum of remaining weights over the sum of the same terms' full weights,
# termwise no larger: 1 at most, give or take a rounding).
_NOVELTY_MOST = 1.0 + 1e-9


def _select(
    pool: list[_Candidate],
    sentences: list[_Sentence],
    headline_tokens: set[str],
    count: int,
) -> list[_Candidate]:
    """Up to ``count`` bullets: the lead as anchor, then greedy weighted coverage.

    Each further pick weighs what it adds (its terms' document weight, discounted for terms
    already said: diminishing returns), a position prior that loosens with every pick,
    concrete-fact evidence and demand/consequence verbs; background, opinion and quote
    sentences count for less, and so does a second bullet from one body paragraph.
    """
    if not pool:
        return []
    weights = _term_weights(sentences)
    top_weight = _weigh(pool, weights)
    remaining = weights  # its full weights are read no more: no copy
    for t in headline_tokens:
        if t in remaining:
            remaining[t] *= _HEADLINE_COVERED
    scale = _position_scale(len(sentences))
    for c in pool:  # the same rounding steps as the cover term below
        c.reach = _W_COVER * _NOVELTY_MOST * c.weight / top_weight
        s = c.sentence
        s.prior = math.exp(-s.index / scale)
    # Spreading over paragraphs only makes sense when there are enough of them.
    spread = len(set(map(_PARAGRAPH, sentences))) > count

    chosen = [pool[0]]  # the lead anchors the summary (the pool is in article order)
    pool = pool[1:]
    # paragraph -> bullets chosen from it so far
    per_paragraph: dict[int, int] = {chosen[0].sentence.paragraph: 1}
    while pool and len(chosen) < count:
        best_i, best_value = -1, -math.inf
        # A candidate's value, written out in the loop (it runs for every candidate of every
        # pick; three calls a candidate were a quarter of its cost):
        #   quality * (cover * novelty * weight / top_weight + position * prior
        #              + fact weight * fact + action weight * action) * same-paragraph factor,
        # novelty being the share of its terms' document weight not said yet.
        position = _W_POSITION * _POSITION_DECAY ** (len(chosen) - 1)
        get = remaining.get
        for i, c in enumerate(pool):
            s = c.sentence
            paragraph = s.paragraph
            same = 1.0  # x * 1.0 is x exactly
            if spread and paragraph > 0:
                same = _SAME_PARAGRAPH ** per_paragraph.get(paragraph, 0)
            prior = position * s.prior
            # A candidate that could not beat the best so far even if none of its terms had
            # been said is passed over before its novelty is summed (3 in 4 candidates on 2,000
            # stories; 619 -> 599 ms); the ceilings below and the value then decide as before.
            if s.prepared:  # the value's sum with the reach for the cover, in its order
                ceiling = s.quality * (c.reach + prior + _W_FACT * s.fact + _W_ACTION * s.action)
            else:
                ceiling = _length_quality(s.words) * (c.reach + prior + _FACT_MOST + _ACTION_MOST)
            if ceiling * same <= best_value:
                continue
            # map() with a repeated default: remaining.get(t, 0.0) per term, in the same order
            # (so the same float sum) as a generator, at a third of its cost.
            novelty = sum(map(get, c.terms, repeat(0.0))) / c.full if c.full else 0.0
            cover = _W_COVER * novelty * c.weight / top_weight
            if not s.prepared:
                # The cue checks are most of a summary's cost: a candidate that could not beat
                # the best so far even with every cue for it is never checked (nor is the lead).
                # Its ceiling is the same sum with the most a fact score, a demand verb and the
                # quality of a sentence of its length can give: each term no less than its
                # counterpart, and rounding keeps that order.
                ceiling = _length_quality(s.words) * (cover + prior + _FACT_MOST + _ACTION_MOST)
                if ceiling * same <= best_value:
                    continue
                _prepare(s)
            value = s.quality * (cover + prior + _W_FACT * s.fact + _W_ACTION * s.action) * same
            if value > best_value:
                best_i, best_value = i, value
        pick = pool.pop(best_i)
        if any(_jaccard(pick.terms, c.terms) >= _DUP_BULLET for c in chosen):
            continue
        chosen.append(pick)
        paragraph = pick.sentence.paragraph
        per_paragraph[paragraph] = per_paragraph.get(paragraph, 0) + 1
        for t in pick.terms:
            remaining[t] = remaining.get(t, 0.0) * _COVERED
    return chosen


def summarize_text(
    title: str,
    text: str,
    lang: str,
    *,
    max_bullets: int = 4,
    min_bullets: int = 2,
    max_chars: int = 220,
) -> Summary:
    """A headline and ``min_bullets``..``max_bullets`` bullets picked from ``text``: three
    (the quick-facts shape) when the bounds allow, more only when ``min_bullets`` asks.

    Pure CPU, never raises on text. Fewer than ``min_bullets`` come back only when the text
    has fewer usable sentences. Bullets keep the order of the article.
    """
    paragraphs = clean_text(text)
    sentences = _analyse(paragraphs, lang)
    # Without a title the headline is made from the lead: its first clause when the lead is
    # long. The full lead then stays a bullet (it carries the facts the clause dropped); only a
    # lead short enough to be the headline whole is left out of the bullets.
    synthesized = not title.strip()
    headline = _headline_from(sentences) if synthesized else clean_title(title)
    headline_tokens = set(content_tokens(headline, lang))

    pool: list[_Candidate] = []
    for s in sentences:
        if not s.candidate:
            continue
        if synthesized:
            if s.text == headline:
                continue
        elif _repeats(s.terms, headline_tokens):
            continue
        short = shorten(s.text, max_chars)
        if short is not None:
            terms = s.terms if short == s.text else frozenset(content_tokens(short, lang))
            pool.append(_Candidate(s, short, terms))
    # Three bullets unless the caller's bounds say otherwise; fewer only when the text is short.
    count = min(max_bullets, max(min_bullets, _QUICK_FACTS))
    chosen = _select(pool, sentences, headline_tokens, count)
    chosen.sort(key=lambda c: c.sentence.index)
    return Summary(headline=headline, bullets=tuple(c.bullet for c in chosen), lang=lang)


class ExtractiveSummarizer:
    """The offline default ``Summarizer``. It cannot translate: ``target_lang`` is ignored and
    the summary stays in the story's language."""

    name = "extractive"

    def __init__(self, *, max_bullets: int = 4, min_bullets: int = 2, max_chars: int = 220) -> None:
        self.max_bullets = max_bullets
        self.min_bullets = min_bullets
        self.max_chars = max_chars

    async def summarize(
        self,
        *,
        title: str,
        text: str,
        lang: str,
        target_lang: str | None = None,
        chat: str | None = None,
    ) -> Summary:
        del target_lang, chat  # extractive bullets are quotes of the story; no budget to share
        # Imported here: `warta analyze` imports this module but runs no event loop.
        import asyncio

        # Linear in the text (a /summary page may hold 60,000 characters): off the event loop.
        return await asyncio.to_thread(
            summarize_text,
            title,
            text,
            lang,
            max_bullets=self.max_bullets,
            min_bullets=self.min_bullets,
            max_chars=self.max_chars,
        )


def create(**kwargs: int) -> ExtractiveSummarizer:
    """Registry factory (see ``bot.summarize.base``)."""
    return ExtractiveSummarizer(**kwargs)
