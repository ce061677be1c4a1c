"""Group reports of the same event from different outlets, in Indonesian and English.

Each story becomes one sparse feature vector, TF-IDF weighted over the batch being clustered:

* ``c:`` concepts: content words mapped into one shared space by a small bilingual lexicon
  (``bocor``/``membocorkan``/``leaked`` -> ``leak``, ``pengisi suara`` -> ``voice_actor``), so an
  Indonesian and an English report of one event meet on their event words;
* ``w:`` other content words, which only match within one language (or a loanword both use);
* ``e:`` names: capitalized tokens in running text, odd-cased names ("OpenAI", "SAG-AFTRA"),
  designators ("Crew-2"); names cross languages unchanged ("Sora", "Hugging Face");
* ``n:`` numbers normalized to a value and unit: "tiga jam" = "three hours" = ``3 hour``,
  "US$157 miliar" = "$157 billion", "3,2 juta" (id) = "3.2 million" (en), "26 Juli" = "July 26";
* ``b:`` pairs of adjacent content terms, unordered because Indonesian puts the head first
  ("album hening" / "silent album").

Similarity is the cosine of two vectors. For a cross-language pair only language-neutral features
(everything but ``w:``, plus loanwords both texts share) count, so untranslatable words do not
dilute the score. IDF over the batch makes terms most stories share ("AI", and "OpenAI" in an
AI-news digest) weigh little; a few concepts are generic in any batch of this bot and weigh less
still (``_GENERIC``). A pair needs at least one *specific* shared signal -- a name, a number, or a
term pair that few stories in the batch carry -- otherwise its similarity is damped: generic words
alone ("AI", "voice") never fold two stories. Conflicting evidence pulls apart: "Crew-1" vs
"Crew-2", headlines leading with different counts, publication times more than ``max_gap`` apart.

Clustering is agglomerative. Two clusters merge when their average pairwise similarity reaches
the threshold (average link: A~B~C does not chain when A and C share nothing), or when one pair
across them is strong and no pair across them is unrelated (max link with a complete-link floor):
that lets a newcomer join a tight cluster it strongly matches even if it matches the other
members only moderately. Deterministic: ties break by index. Only pairs sharing a term few
stories of the batch carry are compared (a blocking index, :func:`candidate_pairs`), so a window
of a few hundred stories costs far fewer than its n^2/2 similarities.

Which story represents a cluster: :func:`pick_representative`.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from bot.lang.stopwords import stopwords

__all__ = [
    "DEFAULT_THRESHOLD",
    "ClusterItem",
    "candidate_pairs",
    "cluster",
    "cluster_all_pairs",
    "concept",
    "link_clusters",
    "pick_representative",
    "similarity",
]

DEFAULT_THRESHOLD = 0.36
"""Average-link similarity at which clusters merge; measured on tests/data/cluster_pairs.jsonl
and tests/data/cluster_items.jsonl (see ``python -m bench.topic_eval``)."""
STRONG_LINK = 0.5
"""One cross pair at least this similar merges two clusters, when no cross pair is below
``LINK_FLOOR``."""
LINK_FLOOR = 0.2

# --------------------------------------------------------------------------- bilingual lexicon

# concept: English forms | Indonesian root words or phrases. Written for Warta from the event
# vocabulary of creative-work and general news. English forms are matched after light suffix
# stripping, Indonesian ones after affix stripping (men-/di-/ber-/pe-...-kan/-an/-i/-nya), so one
# root covers "bocor, bocorkan, membocorkan, dibocorkan". Small on purpose: it only has to carry
# the words that tell one event from another across the two languages; names and numbers do the
# rest.
_LEXICON_TEXT = """
ai: ai, artificial intelligence, genai | ai, kecerdasan buatan, akal imitasi
generative: generative | generatif
leak: leak | bocor
sue: sue, lawsuit, suit, litigation, complaint | gugat, seret ke pengadilan
court: court | pengadilan, mahkamah
judge: judge | hakim
ruling: ruling, verdict | putus, putusan, vonis
protest: protest | protes, unjuk rasa, demo
petition: petition | petisi
strike: strike, walkout | mogok, mogok kerja
artist: artist | seniman, perupa
singer: singer, vocalist | penyanyi, vokalis, biduan
musician: musician | musisi, pemusik
voice: voice | suara
voice_actor: voice actor, voice performer, voice artist | pengisi suara, aktor suara
dubbing: dubbing, dub | dubbing, sulih suara
actor: actor, actress, performer | aktor, aktris, pemeran
writer: writer, author, novelist | penulis, pengarang, novelis
illustrator: illustrator | ilustrator
designer: designer | desainer, perancang
painter: painter | pelukis
filmmaker: filmmaker, director | sineas, sutradara, pembuat film
composer: composer | komposer, pencipta lagu
copyright: copyright | hak cipta, cipta
trademark: trademark | merek dagang
watermark: watermark | tanda air
infringe: infringe, infringement, violate, violation | langgar, pelanggaran
train: train, training | latih, pelatihan
video: video | video
image: image, picture, photo, photograph | gambar, foto, citra
music: music | musik
song: song, track | lagu
album: album | album
recording: recording | rekaman
record_label: label, record label | label, label rekaman
clone: clone, cloning, replica, imitate, mimic, copy | kloning, klon, tiru, tiruan, jiplak
plagiarism: plagiarism | plagiarisme, plagiat
access: access | akses
tool: tool | alat, perkakas
public: public | publik, umum
open: open | buka, terbuka
letter: letter | surat
sign: sign, signature, signatory | tandatangan, tanda tangan, teken
pay: pay, payment, unpaid | bayar, bayaran, upah
fair: fair | adil
free: free | gratis, cuma-cuma
company: company, firm | perusahaan
startup: startup, start-up | startup, perusahaan rintisan
government: government | pemerintah
ministry: ministry | kementerian
city: city | kota
regulation: regulation, law, rule | aturan, regulasi, undang-undang
release: release, launch, unveil, debut | rilis, luncur, peluncuran, perkenal, perkenalkan
settle: settle, settlement | damai, berdamai, penyelesaian
deal: deal, agreement, partnership, partner | sepakat, kesepakatan, mitra, kemitraan, kerja sama
license: license, licence, licensing | lisensi, izin lisensi
consent: consent, permission | izin
studio: studio | studio
game: game, gaming | gim, permainan
union: union | serikat
talk: talk, negotiation | runding, perundingan, negosiasi
ban: ban | larang, larangan
remove: remove, pull, takedown, delete | hapus, cabut, turunkan
pause: pause, suspend, halt | henti, hentikan, tangguh
damages: damages, compensation | ganti rugi, kompensasi
character: character | karakter, tokoh
festival: festival | festival
mascot: mascot | maskot
poster: poster | poster
book: book | buku
cover_art: book cover | sampul, sampul buku
newspaper: newspaper | surat kabar, koran
article: article | artikel
journalism: journalism | jurnalisme
astronaut: astronaut | astronaut, antariksawan
space_station: space station | stasiun luar angkasa, stasiun antariksa
rocket: rocket | roket
mission: mission | misi
flood: flood | banjir
evacuate: evacuate, evacuee | ungsi, pengungsi
rice: rice | beras
price: price | harga
election: election, vote | pemilu, pemilihan
governor: governor | gubernur
police: police | polisi, polri
arrest: arrest | tangkap, ringkus
fraud: fraud, scam | tipu, penipuan
chip: chip | cip, chip
export: export | ekspor
test: test, tester, trial | uji, uji coba, penguji
program: program, programme | program
group: group | kelompok, sekelompok
work: work, labor, labour | karya, kerja, tenaga kerja
creative: creative, creator | kreatif, kreator
empty: empty | kosong
silent: silent, silence | hening, sunyi, bisu
statement: statement | pernyataan
threat: threat, threaten | ancam, ancaman
theft: theft, steal | curi, pencurian
reject: reject, refuse, decline, dismiss | tolak
win: win | menang
lose: lose | kalah
buy: buy, acquire, acquisition | beli, akuisisi
criticize: criticize, criticise, criticism, criticize | kritik, kecam, kecaman
anger: anger, outrage, angry | geram, marah, berang
painting: painting | lukisan, lukis
exhibition: exhibition | pameran
gallery: gallery | galeri
concert: concert | konser
tour: tour | tur
prize: prize, award | penghargaan, hadiah
shortlist: shortlist | daftar pendek
film: film, movie | film
animation: animation, animator | animasi, animator
subscriber: subscriber | pelanggan
resolution: resolution | resolusi
clip: clip | klip
text: text, prompt | teks
user: user | pengguna
view: view | tonton, penonton
hour: hour | jam
minute: minute | menit
second: second | detik
day: day | hari
week: week | pekan
month: month | bulan
year: year | tahun
thousand: thousand | ribu
million: million | juta
billion: billion | miliar, milyar
trillion: trillion | triliun
percent: percent | persen
dollar: dollar | dolar
publisher: publisher | penerbit
graphic: graphic | grafis
make: make, made, generate, create | buat, buatan, hasil, bikin
use: use | pakai, guna, gunakan, manfaat
say: say, state, call | sebut, nyata, ungkap, klaim
"""

_DAYS = {
    "mon": ("monday", "senin"),
    "tue": ("tuesday", "selasa"),
    "wed": ("wednesday", "rabu"),
    "thu": ("thursday", "kamis"),
    "fri": ("friday", "jumat"),
    "sat": ("saturday", "sabtu"),
    "sun": ("sunday", "minggu"),
}
_MONTHS: dict[str, int] = {}
for _i, _names in enumerate(
    (
        "january jan januari",
        "february feb februari",
        "march mar maret",
        "april apr",
        "may mei",
        "june jun juni",
        "july jul juli",
        "august aug agustus agu",
        "september sep sept",
        "october oct oktober okt",
        "november nov",
        "december dec desember des",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _i

# Number words only count with a unit after them ("tiga jam", "ten-second"): alone they are
# too common ("two companies") to say anything about an event.
_NUMBER_WORDS = {
    **dict.fromkeys(("one", "satu", "se"), 1.0),
    **dict.fromkeys(("two", "dua"), 2.0),
    **dict.fromkeys(("three", "tiga"), 3.0),
    **dict.fromkeys(("four", "empat"), 4.0),
    **dict.fromkeys(("five", "lima"), 5.0),
    **dict.fromkeys(("six", "enam"), 6.0),
    **dict.fromkeys(("seven", "tujuh"), 7.0),
    **dict.fromkeys(("eight", "delapan"), 8.0),
    **dict.fromkeys(("nine", "sembilan"), 9.0),
    **dict.fromkeys(("ten", "sepuluh"), 10.0),
    **dict.fromkeys(("eleven", "sebelas"), 11.0),
    **dict.fromkeys(("twelve",), 12.0),
    **dict.fromkeys(("twenty",), 20.0),
    **dict.fromkeys(("hundred", "seratus"), 100.0),
    **dict.fromkeys(("seribu",), 1e3),
    **dict.fromkeys(("sejuta",), 1e6),
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_UNITS = frozenset(
    {"hour", "minute", "second", "day", "week", "month", "year", "percent", "dollar"}
)
_CURRENCY = (("US$", "dollar"), ("$", "dollar"), ("Rp", "rupiah"), ("€", "euro"), ("£", "pound"))

# Concepts any batch of this bot shares: weighed down on top of the batch IDF, and never the
# specific evidence a merge needs.
_GENERIC = frozenset(
    {"c:ai", "c:generative", "c:company", "c:tool", "c:year", "c:day", "c:work", "c:user"}
    | {"c:make", "c:use", "c:say"}
    | {f"c:{d}" for d in _DAYS}
)
_GENERIC_DAMP = 0.35

_STOP = stopwords("id") | stopwords("en")
_TOKEN = re.compile(
    r"(?:US\$|\$|Rp\.?\s?|€|£)?\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:[-'’][^\W_]+)*|\d+[^\W_]*", re.UNICODE
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+|\n+")
_DESIGNATOR = re.compile(r"^([^\W\d_]+)-?(\d+)$")
_YEAR = re.compile(r"^(19|20)\d\d$")
# "JAKARTA, KABARKREATIF - " / "Jakarta - ": datelines name the outlet and the city, not the event.
_DATELINE = re.compile(r"^\s*[^\W\d_][\w .,/]{0,40}?\s[-–—]\s")
# "Baca juga: ..." lines link other stories of the outlet.
_RELATED = re.compile(
    r"^\s*(baca juga|simak juga|lihat juga|read also|read more|see also)\b.*$", re.I | re.M
)
# Headline words that are capitalized in English title case but are not names.
_GENERIC_CAPS = frozenset({"the", "a", "an", "new", "us", "un"})

_KIND_WEIGHT = {"c": 1.0, "w": 1.0, "e": 1.6, "n": 1.6, "b": 0.8}
_TITLE_WEIGHT = 2
_UNTRANSLATED = 0.5


def _parse_lexicon(text: str) -> tuple[dict[str, str], dict[str, str], dict[tuple[str, ...], str]]:
    en: dict[str, str] = {}
    idn: dict[str, str] = {}
    phrases: dict[tuple[str, ...], str] = {}
    for line in text.strip().splitlines():
        name, _, forms = line.partition(":")
        en_forms, _, id_forms = forms.partition("|")
        for table, group in ((en, en_forms), (idn, id_forms)):
            for form in group.split(","):
                words = tuple(form.strip().lower().split())
                if len(words) == 1:
                    table.setdefault(words[0], name.strip())
                elif words:
                    phrases.setdefault(words, name.strip())
    for code, (en_day, id_day) in _DAYS.items():
        en[en_day] = code
        idn[id_day] = code
    return en, idn, phrases


_EN_LEX, _ID_LEX, _PHRASES = _parse_lexicon(_LEXICON_TEXT)
_MAX_PHRASE = max(len(p) for p in _PHRASES)

# --------------------------------------------------------------------------- word normalization


def _en_candidates(tok: str) -> Iterator[str]:
    yield tok
    if tok.endswith("ies") and len(tok) > 4:
        yield tok[:-3] + "y"
    if tok.endswith("es") and len(tok) > 3:
        yield tok[:-2]
    if tok.endswith("s") and not tok.endswith("ss") and len(tok) > 3:
        yield tok[:-1]
    if tok.endswith("ed"):
        yield tok[:-1]  # "sued", "released"
    for suffix in ("ing", "ed", "er", "ers"):
        if tok.endswith(suffix) and len(tok) > len(suffix) + 2:
            stem = tok[: -len(suffix)]
            yield stem
            yield stem + "e"
            if len(stem) > 2 and stem[-1] == stem[-2]:
                yield stem[:-1]


_ID_PREFIXES = (
    ("memper", ""),
    ("diper", ""),
    ("meny", "s"),
    ("peny", "s"),
    ("meng", ""),
    ("meng", "k"),
    ("peng", ""),
    ("peng", "k"),
    ("mem", ""),
    ("mem", "p"),
    ("pem", ""),
    ("pem", "p"),
    ("men", ""),
    ("men", "t"),
    ("pen", ""),
    ("pen", "t"),
    ("ber", ""),
    ("ter", ""),
    ("per", ""),
    ("me", ""),
    ("pe", ""),
    ("di", ""),
    ("ke", ""),
    ("se", ""),
    ("be", ""),
)
_ID_SUFFIXES = ("nya", "lah", "kah", "kan", "an", "i")


def _id_candidates(tok: str) -> Iterator[str]:
    """Indonesian root candidates, checked against the lexicon only: stripping affixes from a
    word the lexicon does not know would conflate unrelated words."""
    yield tok
    bases = [tok]
    for suffix in _ID_SUFFIXES:
        if tok.endswith(suffix) and len(tok) > len(suffix) + 3:
            base = tok[: -len(suffix)]
            bases.append(base)
            yield base
            # -kan/-an after a possessive or particle: "gugatannya" -> "gugatan" -> "gugat"
            for inner in ("kan", "an", "i"):
                if base.endswith(inner) and len(base) > len(inner) + 3:
                    bases.append(base[: -len(inner)])
                    yield base[: -len(inner)]
    for base in bases:
        for prefix, restore in _ID_PREFIXES:
            if base.startswith(prefix) and len(base) > len(prefix) + 2:
                yield restore + base[len(prefix) :]


def concept(word: str, lang: str) -> str | None:
    """The shared concept of one lowercased word in ``lang`` ("id" or "en"), or None."""
    table, candidates = (
        (_ID_LEX, _id_candidates(word)) if lang in ("id", "ms") else (_EN_LEX, _en_candidates(word))
    )
    for cand in candidates:
        found = table.get(cand)
        if found is not None:
            return found
    # Loanwords and names of things both languages write the same way ("video", "studio").
    other = _EN_LEX if table is _ID_LEX else _ID_LEX
    return other.get(word)


def _plain(word: str, lang: str) -> str:
    """Key for a word the lexicon does not know. English gets a light suffix stripping
    ("delays", "delayed", "delaying" -> "delay"; "postponed", "postpones" -> "postpon"), enough
    for two paraphrases of one report to meet; Indonesian only loses "-nya", because its prefixes
    cannot be stripped safely without knowing the root (meN- drops the root's first letter)."""
    if lang in ("id", "ms"):
        return word[:-3] if word.endswith("nya") and len(word) > 6 else word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and any(c in "aeiouy" for c in stem):
            word = stem
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


# --------------------------------------------------------------------------- features


@dataclass(frozen=True, slots=True)
class ClusterItem:
    """What clustering needs from a story. ``published`` is timezone-aware, or None if unknown."""

    title: str
    text: str
    lang: str
    source: str
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Features:
    terms: Counter[str]
    title_numbers: frozenset[str]
    designators: frozenset[tuple[str, str]]
    lang: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    low: str
    first: bool  # first word of its sentence (capitalized by grammar, not because it is a name)


def _tokens(chunk: str) -> list[list[_Token]]:
    sentences: list[list[_Token]] = []
    for sentence in _SENTENCE_END.split(chunk):
        toks: list[_Token] = []
        for m in _TOKEN.finditer(sentence):
            raw = m.group()
            # Split "text-to-video", "ten-second"; keep designators ("Crew-2") and names whose
            # parts are all capitalized ("SAG-AFTRA") whole.
            parts = (
                [raw]
                if _DESIGNATOR.match(raw) or "-" not in raw or raw.upper() == raw
                else raw.split("-")
            )
            for part in parts:
                low = part.lower().replace("’", "'")
                if low.endswith("'s"):
                    part, low = part[:-2], low[:-2]
                if part:
                    toks.append(_Token(part, low, not toks))
        if toks:
            sentences.append(toks)
    return sentences


def _number_value(raw: str, lang: str) -> tuple[float, str | None] | None:
    """Value and currency of a numeric token; Indonesian writes "3.565" and "3,2", English
    "3,565" and "3.2"."""
    unit = None
    body = raw
    for prefix, name in _CURRENCY:
        if body.startswith(prefix):
            unit, body = name, body[len(prefix) :].lstrip(". ")
            break
    if body.endswith("%"):
        unit, body = "percent", body[:-1]
    if not body or not body[0].isdigit():
        return None
    thousands, decimal = (".", ",") if lang in ("id", "ms") else (",", ".")
    groups = body.split(thousands)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        body = "".join(groups)
    body = body.replace(decimal, ".")
    try:
        return float(body), unit
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _numbers(sentence: list[_Token], lang: str, out: list[str]) -> set[int]:
    """Append normalized number keys of one sentence to ``out``; returns the token positions
    consumed (so "jam" in "tiga jam" is not also a content word)."""
    used: set[int] = set()
    i = 0
    while i < len(sentence):
        tok = sentence[i]
        parsed = (
            _number_value(tok.raw, lang)
            if tok.raw[:1].isdigit() or tok.raw[:1] in "$R€£U"
            else None
        )
        word_number = _NUMBER_WORDS.get(tok.low)
        if parsed is None and word_number is None:
            # English dates: "July 26"
            month = _MONTHS.get(tok.low)
            if month and i + 1 < len(sentence) and sentence[i + 1].low.isdigit():
                day = int(sentence[i + 1].low)
                if 1 <= day <= 31 and tok.raw[:1].isupper():
                    out.append(f"n:date {month}-{day}")
                    used |= {i, i + 1}
                    i += 2
                    continue
            i += 1
            continue
        value, unit = parsed if parsed is not None else (word_number or 0.0, None)
        j = i + 1
        nxt = sentence[j].low if j < len(sentence) else ""
        scale = _SCALES.get(concept(nxt, lang) or "") if nxt else None
        if scale is not None:
            value *= scale
            j += 1
            nxt = sentence[j].low if j < len(sentence) else ""
        month = _MONTHS.get(nxt)
        if (
            parsed is not None
            and month
            and unit is None
            and 1 <= value <= 31
            and value.is_integer()
        ):
            out.append(f"n:date {month}-{int(value)}")
            used |= set(range(i, j + 1))
            i = j + 1
            continue
        named = concept(nxt, lang) if nxt else None
        if named in _UNITS and unit is None:
            unit = named
            j += 1
        if (
            unit is None
            and scale is None
            and (parsed is None or value < 10 or _YEAR.match(tok.raw) is not None)
        ):
            # bare small numbers, number words without a unit and bare years say little
            i += 1
            continue
        out.append(f"n:{_fmt(value)} {unit}" if unit else f"n:{_fmt(value)}")
        if unit and not (parsed is None and value < 10):
            out.append(f"n:{_fmt(value)}")
        used |= set(range(i, j))
        i = j
    return used


def _clean(text: str) -> str:
    text = _RELATED.sub("", text)
    return _DATELINE.sub("", text, count=1)


@lru_cache(maxsize=4096)
def _features(item: ClusterItem) -> _Features:
    """Features of one story; cached because every compose of a due batch clusters mostly the
    same stories (callers only read the result)."""
    lang = "id" if item.lang in ("id", "ms") else "en"
    title = item.title or ""
    text = _clean(item.text or "")
    title_sents = _tokens(title)
    text_sents = _tokens(text)

    # Names: capitalized inside a sentence of running text; odd-cased anywhere; a sentence's first
    # word or a title-case headline word only when it is also seen as a name elsewhere.
    names: set[str] = set()
    for sent in text_sents:
        for tok in sent:
            if tok.raw[:1].isupper() and not tok.first:
                names.add(tok.low)
    for sent in (*title_sents, *text_sents):
        for tok in sent:
            rest = tok.raw[1:]
            if len(tok.raw) > 1 and rest != rest.lower() and any(c.isalpha() for c in rest):
                names.add(tok.low)
    names = {
        n
        for n in names
        if n not in _STOP
        and n not in _GENERIC_CAPS
        and len(n) > 1
        and not n[:1].isdigit()
        and n not in _MONTHS
        and concept(n, lang) is None
    }

    terms: Counter[str] = Counter()
    title_numbers: list[str] = []
    designators: set[tuple[str, str]] = set()
    for weight, sents in ((_TITLE_WEIGHT, title_sents), (1, text_sents)):
        for sent in sents:
            nums: list[str] = []
            used = _numbers(sent, lang, nums)
            if weight == _TITLE_WEIGHT:
                title_numbers += [n for n in nums if " " not in n[2:] and "date" not in n]
            for key in nums:
                terms[key] += weight
            seq: list[str] = []
            i = 0
            while i < len(sent):
                if i in used:
                    i += 1
                    continue
                tok = sent[i]
                phrase = _phrase_at(sent, i)
                if phrase is not None:
                    key, length = f"c:{phrase[0]}", phrase[1]
                    seq.append(key)
                    terms[key] += weight
                    i += length
                    continue
                d = _DESIGNATOR.match(tok.raw)
                if d and any(c.isdigit() for c in tok.raw):
                    designators.add((d.group(1).lower(), d.group(2)))
                    key = f"e:{tok.low}"
                elif tok.low in names:
                    key = f"e:{tok.low}"
                elif tok.low in _STOP or (len(tok.low) < 3 and not tok.low.isdigit()):
                    i += 1
                    continue
                elif (c := concept(tok.low, lang)) is not None:
                    key = f"c:{c}"
                elif tok.low[:1].isdigit():
                    i += 1
                    continue
                else:
                    key = f"w:{_plain(tok.low, lang)}"
                seq.append(key)
                terms[key] += weight
                i += 1
            # Pairs of names and concepts only: pairs of plain words are mostly phrasing.
            for a, b in itertools.pairwise(seq):
                if a != b and a[0] in "ce" and b[0] in "ce" and not {a, b} & _GENERIC:
                    lo, hi = sorted((a, b))
                    terms[f"b:{lo}|{hi}"] += weight
    return _Features(
        terms=terms,
        title_numbers=frozenset(title_numbers),
        designators=frozenset(designators),
        lang=lang,
        published=item.published,
    )


def _phrase_at(sent: list[_Token], i: int) -> tuple[str, int] | None:
    for length in range(min(_MAX_PHRASE, len(sent) - i), 1, -1):
        words = tuple(t.low for t in sent[i : i + length])
        found = _PHRASES.get(words)
        if found is not None:
            return found, length
    return None


# --------------------------------------------------------------------------- similarity


def _neutral(key: str) -> bool:
    return not key.startswith("w:") and "|w:" not in key and not key.startswith("b:w:")


class _Corpus:
    """IDF over one batch, so terms most stories share weigh little."""

    def __init__(self, feats: Sequence[_Features]) -> None:
        self.n = len(feats)
        self.df: Counter[str] = Counter()
        for f in feats:
            self.df.update(f.terms.keys())
        self.vectors = [self._vector(f) for f in feats]
        # Per vector (by identity): the squared norm, and the squared norm of its terms that
        # cannot cross languages; with them a pair's cosine needs only its shared terms.
        self._norms: dict[int, tuple[float, float]] = {
            id(v): (
                sum(w * w for w in v.values()),
                sum(w * w for t, w in v.items() if not _neutral(t)),
            )
            for v in self.vectors
        }

    def cosine(self, va: dict[str, float], vb: dict[str, float], cross_lang: bool) -> float:
        """:func:`_cosine` from the shared terms and the precomputed norms: a damped term
        (not neutral, not shared) only shrinks a norm, by ``1 - _UNTRANSLATED**2`` of its
        square, so the damped norms follow from the undamped ones and the shared terms."""
        if not va or not vb:
            return 0.0
        small, large = (va, vb) if len(va) <= len(vb) else (vb, va)
        dot = 0.0
        nn_small = nn_large = 0.0  # squared weights of shared terms that are not neutral
        for t, w in small.items():
            other = large.get(t)
            if other is None:
                continue
            dot += w * other
            if cross_lang and not _neutral(t):
                nn_small += w * w
                nn_large += other * other
        if dot == 0.0:
            return 0.0
        sq_small, nonneutral_small = self._norms[id(small)]
        sq_large, nonneutral_large = self._norms[id(large)]
        if cross_lang:
            shrink = 1.0 - _UNTRANSLATED * _UNTRANSLATED
            sq_small -= shrink * (nonneutral_small - nn_small)
            sq_large -= shrink * (nonneutral_large - nn_large)
        return dot / math.sqrt(sq_small * sq_large)

    def idf(self, key: str) -> float:
        value = math.log((self.n + 1) / (self.df[key] + 1)) + 1.0
        return value * (_GENERIC_DAMP if key in _GENERIC else 1.0)

    def _vector(self, f: _Features) -> dict[str, float]:
        return {
            t: (1.0 + math.log(c)) * self.idf(t) * _KIND_WEIGHT[t[0]] for t, c in f.terms.items()
        }

    def specific(self, key: str) -> bool:
        """A name, number or term pair that few stories of the batch carry."""
        if key[0] not in "enb" or key in _GENERIC:
            return False
        if key[0] == "b" and any(part in _GENERIC for part in key[2:].split("|")):
            return False
        return self.df[key] <= max(2, self.n // 2)


def _cosine(va: dict[str, float], vb: dict[str, float], cross_lang: bool) -> float:
    if cross_lang:
        # Words the lexicon cannot translate could never match across languages, so they count
        # only partly: in full they would sink every cross-language pair, left out they would
        # let two reports that differ mainly in such words look alike.
        va = {t: w if _neutral(t) or t in vb else w * _UNTRANSLATED for t, w in va.items()}
        vb = {t: w if _neutral(t) or t in va else w * _UNTRANSLATED for t, w in vb.items()}
    if not va or not vb:
        return 0.0
    small, large = (va, vb) if len(va) <= len(vb) else (vb, va)
    dot = sum(w * large[t] for t, w in small.items() if t in large)
    if dot == 0.0:
        return 0.0
    na = math.sqrt(sum(w * w for w in va.values()))
    nb = math.sqrt(sum(w * w for w in vb.values()))
    return dot / (na * nb)


def _pair_similarity(
    fa: _Features,
    fb: _Features,
    va: dict[str, float],
    vb: dict[str, float],
    corpus: _Corpus,
    max_gap: timedelta,
    *,
    reference: bool = False,
) -> float:
    cross_lang = fa.lang != fb.lang
    # ``reference``: the plain cosine, which the fast one is tested against.
    sim = _cosine(va, vb, cross_lang) if reference else corpus.cosine(va, vb, cross_lang)
    if sim == 0.0:
        return 0.0
    # Generic words alone never make one event.
    if not any(corpus.specific(t) for t in fa.terms.keys() & fb.terms.keys()):
        sim *= 0.4
    # Evidence of two different events, each a general rule rather than a list of cases:
    # a numbered thing with another number ("Crew-1"/"Crew-2", "GPT-4"/"GPT-5") ...
    prefixes_a = dict(fa.designators)
    if any(p in prefixes_a and prefixes_a[p] != n for p, n in fb.designators) and not (
        fa.designators & fb.designators
    ):
        sim *= 0.5
    # ... headlines that both lead with a count and share none (924 vs 3.565 evacuees) ...
    if (
        fa.title_numbers
        and fb.title_numbers
        and not fa.title_numbers & fb.terms.keys()
        and not fb.title_numbers & fa.terms.keys()
    ):
        sim *= 0.6
    # ... or publication times too far apart to be one news event.
    if (
        fa.published is not None
        and fb.published is not None
        and abs(fa.published - fb.published) > max_gap
    ):
        sim *= 0.3
    return sim


def similarity(a: ClusterItem, b: ClusterItem, *, context: Sequence[ClusterItem] = ()) -> float:
    """Similarity of two stories in [0, 1]; IDF comes from ``context`` (plus the pair)."""
    feats = [_features(i) for i in (a, b, *context)]
    corpus = _Corpus(feats)
    return _pair_similarity(
        feats[0], feats[1], corpus.vectors[0], corpus.vectors[1], corpus, timedelta(hours=72)
    )


# --------------------------------------------------------------------------- clustering


@dataclass(slots=True)
class _Link:
    """Similarities between the members of two live clusters."""

    total: float
    high: float
    low: float


def _mergeable(link: _Link, pairs: int, threshold: float, strong: float, floor: float) -> bool:
    return link.total / pairs >= threshold or (link.high >= strong and link.low >= floor)


def cluster(
    items: Sequence[ClusterItem],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_gap: timedelta = timedelta(hours=72),
    strong: float = STRONG_LINK,
    floor: float = LINK_FLOOR,
) -> list[list[int]]:
    """Indices of ``items`` grouped by event. Every index appears exactly once; clusters are
    sorted by their smallest index, members ascending. Deterministic for a given input order.
    The merge rule is :func:`link_clusters`'s.

    Only candidate pairs are compared (:func:`candidate_pairs`): pairs that share a term few
    stories of the batch carry. Every other pair counts as unrelated (similarity 0), which is
    what their similarity nearly is: terms most of the batch shares weigh little under IDF."""
    feats = [_features(i) for i in items]
    corpus = _Corpus(feats)
    sims: dict[tuple[int, int], float] = {}
    for i, j in candidate_pairs(feats, corpus):
        s = _pair_similarity(
            feats[i], feats[j], corpus.vectors[i], corpus.vectors[j], corpus, max_gap
        )
        if s > 0.0:
            sims[i, j] = s
    return _link_sparse(len(items), sims, threshold=threshold, strong=strong, floor=floor)


def cluster_all_pairs(
    items: Sequence[ClusterItem],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_gap: timedelta = timedelta(hours=72),
    strong: float = STRONG_LINK,
    floor: float = LINK_FLOOR,
) -> list[list[int]]:
    """:func:`cluster` comparing every pair with the plain cosine: the reference the blocked,
    fast version is tested against (and a baseline for benches). Quadratic."""
    n = len(items)
    feats = [_features(i) for i in items]
    corpus = _Corpus(feats)
    sim = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            s = _pair_similarity(
                feats[i],
                feats[j],
                corpus.vectors[i],
                corpus.vectors[j],
                corpus,
                max_gap,
                reference=True,
            )
            sim[i][j] = sim[j][i] = s
    return link_clusters(sim, threshold=threshold, strong=strong, floor=floor)


# A term carried by more than this share of the batch does not make two stories candidates by
# itself (its IDF weight is low); names, numbers and term pairs of one event are far rarer.
BLOCK_MAX_SHARE = 0.2
BLOCK_MIN_DF = 3


def candidate_pairs(feats: Sequence[_Features], corpus: _Corpus) -> list[tuple[int, int]]:
    """Pairs (i < j) that share at least one blocking term, from an inverted index: a term is
    a blocking term when at most ``max(BLOCK_MIN_DF, BLOCK_MAX_SHARE * n)`` stories carry it.
    Sorted, so clustering stays deterministic."""
    n = len(feats)
    cap = max(BLOCK_MIN_DF, int(BLOCK_MAX_SHARE * n))
    postings: dict[str, list[int]] = {}
    for i, f in enumerate(feats):
        for term in f.terms:
            if corpus.df[term] <= cap:
                postings.setdefault(term, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for docs in postings.values():
        if len(docs) > 1:
            pairs.update(itertools.combinations(docs, 2))
    return sorted(pairs)


def link_clusters(
    sim: Sequence[Sequence[float]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    strong: float = STRONG_LINK,
    floor: float = LINK_FLOOR,
) -> list[list[int]]:
    """Agglomerate a symmetric similarity matrix. Two clusters merge when their average cross
    similarity reaches ``threshold``, or when their best cross pair reaches ``strong`` and their
    worst reaches ``floor``; the most similar (by average) go first. Same output shape as
    :func:`cluster`."""
    n = len(sim)
    sparse = {(i, j): sim[i][j] for i in range(n) for j in range(i + 1, n) if sim[i][j] != 0.0}
    return _link_sparse(n, sparse, threshold=threshold, strong=strong, floor=floor)


def _link_sparse(
    n: int,
    sims: dict[tuple[int, int], float],
    *,
    threshold: float,
    strong: float,
    floor: float,
) -> list[list[int]]:
    """:func:`link_clusters` over the non-zero pairs only (i < j). An absent pair is 0, so two
    clusters without a stored link have total 0, high 0 and low 0: never mergeable for a
    positive threshold, which is why they need no entry at all. When only one side of a merge
    was linked to a third cluster, the merged link's low is 0 (the other side's pairs are 0)."""
    # Clusters are named by their smallest member; `links` holds cross statistics between live
    # clusters, `version` invalidates heap entries of a cluster that has grown since.
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    version = dict.fromkeys(range(n), 0)
    links: dict[int, dict[int, _Link]] = {i: {} for i in range(n)}
    heap: list[tuple[float, int, int, int, int]] = []
    for (i, j), s in sims.items():
        link = _Link(s, s, s)
        links[i][j] = links[j][i] = link
        if _mergeable(link, 1, threshold, strong, floor):
            heap.append((-s, i, j, 0, 0))
    heapq.heapify(heap)
    zero = _Link(0.0, 0.0, 0.0)
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if a not in members or b not in members or version[a] != va or version[b] != vb:
            continue
        keep, gone = (a, b) if a < b else (b, a)
        members[keep].extend(members.pop(gone))
        members[keep].sort()
        version[keep] += 1
        gone_links = links.pop(gone)
        keep_links = links[keep]
        keep_links.pop(gone, None)
        for k in set(keep_links) | set(gone_links):
            if k == keep:
                continue
            lk = keep_links.get(k, zero)
            lg = gone_links.get(k, zero)
            merged = _Link(lk.total + lg.total, max(lk.high, lg.high), min(lk.low, lg.low))
            keep_links[k] = links[k][keep] = merged
            links[k].pop(gone, None)
        size = len(members[keep])
        for k, link in keep_links.items():
            pairs = size * len(members[k])
            if _mergeable(link, pairs, threshold, strong, floor):
                lo, hi = min(keep, k), max(keep, k)
                heapq.heappush(heap, (-link.total / pairs, lo, hi, version[lo], version[hi]))
    return sorted(members.values(), key=lambda m: m[0])


def pick_representative(
    items: Sequence[ClusterItem],
    members: Sequence[int],
    relevance: Sequence[float] | None = None,
) -> int:
    """The member to show for a cluster: highest relevance (when given), then the longest text
    (the fuller report), then the smallest index. The others become "also reported by"."""
    if not members:
        raise ValueError("empty cluster")

    def key(i: int) -> tuple[float, int, int]:
        rel = relevance[i] if relevance is not None else 0.0
        return (-rel, -len(items[i].text or ""), i)

    return min(members, key=key)
