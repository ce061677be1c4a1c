"""Themes for the /stats charts: a small lexicon over a story's title, facts and matched terms.

The topic scorer answers "is this about AI and artists?"; the charts ask a second, coarser
question: "what kind of story is it?". A handful of words per theme, in Indonesian and English,
is enough for a weekly trend line and stays explainable (a reader can see which word put a
story in a bucket), which a trained classifier would not be. Words match whole; a trailing
``*`` marks a stem that also matches its inflections (``gugat*`` -> ``gugatan``; ``menggugat``
is listed apart because Indonesian prefixes change the word's start). Short English words stay
whole on purpose: ``act`` must not match "actor", nor ``bill`` "billion". A story may have
several themes; one with none counts as "other".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.models import Story

THEMES: dict[str, tuple[str, ...]] = {
    "lawsuits": (
        # en
        "lawsuit*", "sue", "sues", "sued", "suing", "court", "judge", "copyright*", "infring*",
        "litigation*", "class action", "settlement*", "plaintiff*", "fair use", "dmca",
        # id
        "gugat*", "menggugat", "digugat", "pengadilan", "hakim", "hak cipta", "pelanggaran*",
        "tuntut*", "menuntut", "somasi", "hukum",
    ),
    "protests": (
        "protest*", "petition*", "boycott*", "open letter", "backlash", "leak*",
        "outcry", "campaign*",
        "protes", "memprotes", "petisi*", "boikot", "surat terbuka", "menolak", "penolakan",
        "unjuk rasa",
        "bocor", "membocorkan", "kecam*", "mengecam",
    ),
    "labour": (
        "union*", "strike*", "guild", "sag-aftra", "wga", "jobs", "layoff*", "worker*",
        "livelihood", "wage", "contract",
        "serikat", "mogok", "pekerja", "pekerjaan", "buruh", "phk", "upah", "penghasilan",
        "mata pencaharian", "kontrak",
    ),
    "tools": (
        "launch*", "release*", "unveil*",
        "new model", "feature*", "update*", "app", "beta", "rolls out",
        "luncur*", "meluncurkan", "diluncurkan", "rilis*", "merilis", "fitur", "aplikasi",
        "versi baru", "memperkenalkan",
    ),
    "policy": (
        "law", "regulat*", "act", "bill", "parliament*", "congress",
        "government*", "ministry*", "polic*", "eu ai act", "senate", "guideline*",
        "undang-undang", "regulasi", "peraturan", "pemerintah", "kementerian*", "kebijakan*",
        "dpr", "kominfo", "komdigi", "pedoman",
    ),
}  # fmt: skip
THEME_ORDER: tuple[str, ...] = (*THEMES, "other")


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(
        re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w)
        for w in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


_PATTERNS = {theme: _pattern(words) for theme, words in THEMES.items()}


def story_themes(story: Story) -> tuple[str, ...]:
    """The themes of ``story`` in :data:`THEME_ORDER`; ``("other",)`` when none applies."""
    terms = " ".join(m.split(":", 1)[-1] for m in story.matched)
    text = " \n ".join((story.title, *story.bullets, terms))
    found = tuple(theme for theme, pattern in _PATTERNS.items() if pattern.search(text))
    return found or ("other",)
