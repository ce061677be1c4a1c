"""Language identification restricted to Indonesian, Malay and English.

py3langid's model does the work, cut down at first load to these three languages and to the
byte n-grams ASCII text can show (bot/lang/model.py: ~5 MB resident instead of ~86 MB, the same
answers on ASCII text). It tells Indonesian from Malay by character n-grams, which is
shaky on short news text, so a small lexical tie-breaker looks at spelling and word choice that
differ between the two standards when the model is unsure (see ``_ID_MARKERS``/``_MS_MARKERS``).
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.lang.model import CompactIdentifier

LANGS: tuple[str, ...] = ("id", "ms", "en")

# The model is loaded once per process (~20 ms from the shipped cut, ~5 MB kept). ``classify``
# only reads the model arrays, so one instance can serve every thread; the lock guards the lazy
# first load.
_identifier: CompactIdentifier | None = None
_lock = threading.Lock()

# Below this confidence between id and ms, the lexical markers decide when they lean the other
# way. Above it the model is trusted.
_TIE_CONFIDENCE = 0.9

# Words whose form or choice differs between Indonesian and Malay news writing. Shared words
# ("tidak", "sudah", "akan", "daripada", "beliau", "rakyat") are left out: they carry no signal,
# and so are "boleh" and "kerajaan" (Indonesian for "may" and "kingdom").
# "ujar"/"ujarnya" is an Indonesian newsroom reporting verb (Malay writes "berkata").
_ID_MARKERS = frozenset(
    [
        "karena",
        "bisa",
        "saat",
        "setelah",
        "mengatakan",
        "ujar",
        "ujarnya",
        "tersebut",
        "pemerintah",
        "perusahaan",
        "polisi",
        "uang",
        "miliar",
        "kantor",
        "mobil",
        "agustus",
        "desember",
        "juli",
        "kabupaten",
        "provinsi",
        "dpr",
        "nggak",
        "enggak",
        "banget",
        "terkait",
        "sejumlah",
    ]
)
_MS_MARKERS = frozenset(
    [
        "kerana",
        "semasa",
        "berkata",
        "ialah",
        "iaitu",
        "baharu",
        "sahaja",
        "polis",
        "wang",
        "bilion",
        "syarikat",
        "selepas",
        "manakala",
        "mahkamah",
        "akhbar",
        "ogos",
        "disember",
        "julai",
        "pejabat",
        "hospital",
        "parlimen",
    ]
)
_WORD = re.compile(r"[a-z]+")


def _get_identifier() -> CompactIdentifier:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from bot.lang.model import load_compact

                _identifier = load_compact(LANGS)
    return _identifier


def _marker_vote(text: str) -> int:
    """Positive when Indonesian word choices outnumber Malay ones, negative for the reverse."""
    words = _WORD.findall(text.lower())
    # Counted at C level. The sets share no word (tests/test_lang.py), so this is the tally
    # of +1 for each Indonesian marker and -1 for each Malay one.
    return sum(map(_ID_MARKERS.__contains__, words)) - sum(map(_MS_MARKERS.__contains__, words))


def detect_lang_scored(text: str) -> tuple[str, float]:
    """``(lang, confidence)`` with lang in ``LANGS``; empty text is ``("en", 0.0)``."""
    sample = text[:3000]
    if not sample.strip():
        return "en", 0.0
    lang, conf = _get_identifier().classify(sample)
    if lang in ("id", "ms") and conf < _TIE_CONFIDENCE:
        vote = _marker_vote(sample)
        if vote >= 1 and lang == "ms":
            return "id", conf
        if vote <= -1 and lang == "id":
            return "ms", conf
    return lang, conf


def detect_lang(text: str) -> str:
    """The language of ``text``: "id", "ms" or "en" ("en" for empty text)."""
    return detect_lang_scored(text)[0]


def digest_lang(detected: str) -> str:
    """The digest language a detected language goes to.

    Warta composes digests in Indonesian and English only; Malay goes to Indonesian, the closest
    (mutually intelligible) of the two, and anything unknown to English.
    """
    if detected in ("id", "ms"):
        return "id"
    return "en"
