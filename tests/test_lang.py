"""Language identification restricted to id / ms / en, on short news sentences."""

from __future__ import annotations

import pytest

from bot.lang.detect import detect_lang, digest_lang
from bot.lang.stopwords import stopwords


@pytest.mark.parametrize(
    "text",
    [
        "Polisi sudah menangkap pelaku karena dia bisa kabur saat malam hari.",
        "Presiden Joko Widodo mengatakan pemerintah akan membangun jalan tol baru tahun depan.",
        "Seniman membocorkan akses ke alat video OpenAI sebagai bentuk protes, ujarnya.",
        "Harga beras di pasar tradisional naik Rp 2.000 per kilogram sejak awal Agustus.",
    ],
)
def test_indonesian(text: str) -> None:
    assert detect_lang(text) == "id"


@pytest.mark.parametrize(
    "text",
    [
        "Perdana Menteri berkata kerajaan tidak akan menaikkan harga minyak semasa sesi parlimen.",
        "Syarikat itu berkata ia akan membayar pampasan kepada pekerja selepas mahkamah bersidang.",
        "Polis sedang menyiasat kes itu kerana wang tunai bernilai RM2 juta hilang dari pejabat.",
    ],
)
def test_malay(text: str) -> None:
    assert detect_lang(text) == "ms"


@pytest.mark.parametrize(
    "text",
    [
        "A group of artists leaked access to OpenAI's video tool in protest.",
        "The government said on Monday it would raise fuel prices next month.",
    ],
)
def test_english(text: str) -> None:
    assert detect_lang(text) == "en"


def test_empty_falls_back_to_english() -> None:
    assert detect_lang("") == "en"
    assert detect_lang("   \n") == "en"


def test_digest_lang_maps_malay_to_indonesian() -> None:
    assert digest_lang("ms") == "id"
    assert digest_lang("id") == "id"
    assert digest_lang("en") == "en"


def test_stopwords_per_language() -> None:
    assert "yang" in stopwords("id")
    assert "yang" not in stopwords("en")
    assert "the" in stopwords("en")
    assert "the" not in stopwords("id")
    assert "seniman" not in stopwords("id")
    assert "artist" not in stopwords("en")
    assert stopwords("ms") is stopwords("id")


def test_marker_sets_share_no_word() -> None:
    """``_marker_vote`` counts each set on its own: a word in both would count twice."""
    from bot.lang import detect

    assert detect._ID_MARKERS.isdisjoint(detect._MS_MARKERS)
    assert detect._marker_vote("Polisi karena KERANA polis, wang uang uang.") == 1
