"""The "why" of a story in words a reader understands.

The topic scorer explains itself with tagged lexicon terms (``ai:ai generatif``,
``art:penulis``, ``neg:gossip(nikah)``, ``kw+:ghibli``): good for tuning, noise in a chat. Readers
see the terms that made a story relevant, as plain words in their own language: the tag is
dropped, vetoes and exclusions are left out (they argue against the story), a term with a usual
equivalent in the reader's language is given in it ("seniman" reads "artists" in an English
digest) and names keep their spelling from the lexicon ("OpenAI", "Stable Diffusion").
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Final

__all__ = ["reason_terms", "reasons_text"]

# Tags whose terms say why a story is in: lexicon AI and creative-work terms and the reader's
# own widening/required keywords. "neg:" (a false friend or context rule) and "kw-:" (an
# excluded keyword) argue against the story and are never shown as a reason.
_SHOWN: Final = ("ai:", "art:", "kw+:", "kw:")

# Indonesian and English words for the same thing, for the terms readers meet most. A term not
# here is shown as written: most are names (Sora, Midjourney) or read the same in both.
_PAIRS: Final = (
    ("AI generatif", "generative AI"),
    ("kecerdasan buatan generatif", "generative AI"),
    ("kecerdasan buatan", "artificial intelligence"),
    ("kecerdasan artifisial", "artificial intelligence"),
    ("buatan AI", "AI-generated"),
    ("hasil AI", "AI-generated"),
    ("karya AI", "AI-made work"),
    ("seni AI", "AI art"),
    ("musik AI", "AI music"),
    ("lagu AI", "AI song"),
    ("penyanyi AI", "AI singer"),
    ("gambar AI", "AI image"),
    ("suara AI", "AI voice"),
    ("kloning suara", "voice cloning"),
    ("replika digital", "digital replica"),
    ("data latih", "training data"),
    ("data pelatihan", "training data"),
    ("melatih AI", "AI training"),
    ("model bahasa", "language model"),
    ("model AI", "AI model"),
    ("perusahaan AI", "AI company"),
    ("algoritma", "algorithm"),
    ("dibuat dengan AI", "made with AI"),
    ("dibuat AI", "made by AI"),
    ("ditiru AI", "imitated by AI"),
    ("suara tiruan", "cloned voice"),
    ("dilatih", "trained on"),
    ("melatih", "to train"),
    ("perusahaan AI", "AI companies"),
    ("desainer", "designers"),
    ("desainer grafis", "graphic designers"),
    ("penampil", "performers"),
    ("karya", "work"),
    ("seniman", "artists"),
    ("pekerja seni", "artists"),
    ("perupa", "visual artists"),
    ("ilustrator", "illustrators"),
    ("pelukis", "painters"),
    ("kartunis", "cartoonists"),
    ("komikus", "comic artists"),
    ("fotografer", "photographers"),
    ("musisi", "musicians"),
    ("penyanyi", "singers"),
    ("pencipta lagu", "songwriters"),
    ("penulis lagu", "songwriters"),
    ("komposer", "composers"),
    ("penulis", "writers"),
    ("novelis", "novelists"),
    ("penyair", "poets"),
    ("penulis skenario", "screenwriters"),
    ("aktor", "actors"),
    ("aktris", "actresses"),
    ("pengisi suara", "voice actors"),
    ("penari", "dancers"),
    ("sutradara", "film directors"),
    ("sineas", "filmmakers"),
    ("pekerja kreatif", "creative workers"),
    ("kreator", "creators"),
    ("label rekaman", "record labels"),
    ("karya seni", "artwork"),
    ("seni rupa", "fine art"),
    ("seni digital", "digital art"),
    ("musik", "music"),
    ("lagu", "songs"),
    ("animasi", "animation"),
    ("komik", "comics"),
    ("fiksi", "fiction"),
    ("puisi", "poetry"),
    ("lukisan", "paintings"),
    ("ilustrasi", "illustration"),
    ("fotografi", "photography"),
    ("desain grafis", "graphic design"),
    ("sulih suara", "dubbing"),
    ("industri kreatif", "creative industries"),
    ("ekonomi kreatif", "creative economy"),
    ("karya kreatif", "creative work"),
    ("karya cipta", "creative work"),
    ("teater", "theatre"),
    ("galeri", "gallery"),
    ("pameran", "exhibition"),
    ("patung", "sculpture"),
    ("hak cipta", "copyright"),
    ("berhak cipta", "copyrighted"),
    ("pelanggaran hak cipta", "copyright infringement"),
    ("royalti", "royalties"),
    ("kekayaan intelektual", "intellectual property"),
    ("seni", "art"),
    ("buku", "books"),
    ("penerbit", "publishers"),
    ("lisensi", "licensing"),
    ("jurnalis", "journalists"),
    ("wartawan", "journalists"),
)


@lru_cache(maxsize=1)
def _glossary() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for id_term, en_term in _PAIRS:
        for term in (id_term, en_term):
            table.setdefault(term.casefold(), {"id": id_term, "en": en_term})
    # The singulars the lexicon lists ("artist", "voice actor") map like the plural's pair.
    for id_term, en_term in _PAIRS:
        if en_term.endswith("s"):
            table.setdefault(en_term[:-1].casefold(), {"id": id_term, "en": en_term})
    return table


@lru_cache(maxsize=1)
def _spelling() -> dict[str, str]:
    """Lexicon terms as written in topics.toml, by casefolded form."""
    try:
        text = resources.files("bot").joinpath("data/topics.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    out: dict[str, str] = {}
    for kind in ("ai", "art"):
        for names in data.get(kind, {}).get("terms", {}).values():
            for name in names:
                if isinstance(name, str):
                    out.setdefault(name.rstrip("*").casefold(), name.rstrip("*"))
    return out


def reason_terms(matched: Iterable[str], lang: str, *, limit: int = 6) -> list[str]:
    """The scorer's ``matched`` tags as plain words in ``lang`` ("id"/"en"), deduplicated;
    a term that is a word of a longer one shown ("AI" beside "AI music") is left out."""
    glossary = _glossary()
    spelling = _spelling()
    words: list[str] = []
    seen: set[str] = set()
    for tag in matched:
        if not tag.startswith(_SHOWN):
            continue
        term = tag.split(":", 1)[1].strip()
        if not term:
            continue
        pair = glossary.get(term.casefold())
        word = pair[lang if lang in pair else "en"] if pair else spelling.get(term.casefold(), term)
        if word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    folded = [f" {w.casefold()} " for w in words]
    out = [
        w
        for w, f in zip(words, folded, strict=True)
        if not any(f in other and f != other for other in folded)
    ]
    return out[:limit]


def reasons_text(matched: Iterable[str], lang: str, *, limit: int = 6) -> str:
    """``reason_terms`` joined for a sentence ("" when there is none to show)."""
    return ", ".join(reason_terms(matched, lang, limit=limit))
