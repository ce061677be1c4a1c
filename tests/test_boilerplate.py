"""Publisher boilerplate out of article text: what real CMS bodies carry besides the article."""

from __future__ import annotations

import pytest

from bot.feeds.boilerplate import strip_boilerplate
from bot.feeds.html import html_to_text

ARTICLE = "Sekelompok seniman membocorkan akses ke Sora sebagai protes terhadap OpenAI."


@pytest.mark.parametrize(
    "furniture",
    [
        "Baca juga: Lima Pameran Fotografi Akhir Pekan Ini",
        "BACA JUGA : Festival Film Pendek Digelar di Yogyakarta",
        "Baca juga Penulis Muda Raih Penghargaan",
        "Lihat juga: Galeri Foto Pameran",
        "Read more: Photographers Win Case Over Image Scraping",
        "Related: Museums and the machine",
        "Penulis: Rina Kartika | Editor: Dimas Prasetyo",
        "Reporter: Sari Wulandari",
        "Pewarta: Budi",
        "By Mary Lee",
        "By Mary Lee and John Roe, Reuters",
        "Foto: Pameran seni digital di Jakarta.",
        "Photo: An illustrator at work in her studio.",
        "Tags: pameran, fotografi, penulis",
        "[Gambas:Video CNN]",
        "ADVERTISEMENT",
        "SCROLL TO CONTINUE WITH CONTENT",
        "Simak berita dan artikel lainnya di Google News.",
        "Dapatkan update berita pilihan setiap hari.",
        "The post Artists sue over AI appeared first on Arts Wire.",
        "Artikel ini telah tayang di Kabar.example dengan judul Seniman Protes",
        "Copyright © ANTARA 2026",
        "Pilihan Editor: Pameran Lukisan Dibuka",
    ],
)
def test_furniture_lines_go_and_the_article_stays(furniture: str) -> None:
    text = f"{ARTICLE}\n\n{furniture}\n\nMereka menuntut OpenAI membayar seniman."
    assert strip_boilerplate(text) == f"{ARTICLE}\n\nMereka menuntut OpenAI membayar seniman."


def test_inline_credits_and_glued_teasers_go() -> None:
    text = (
        f"{ARTICLE} (Foto: Dok. Istimewa)\n\n"
        "Mereka menulis surat terbuka. Baca juga: Penulis Muda Raih Penghargaan Sastra"
    )
    assert strip_boilerplate(text) == f"{ARTICLE}\n\nMereka menulis surat terbuka."


def test_a_related_list_under_a_bare_label_goes_with_it() -> None:
    html = (
        f"<p>{ARTICLE}</p><div><span>Baca Juga</span><ul><li><a>Lima Pameran Foto</a></li>"
        "<li><a>Penulis Muda Raih Penghargaan</a></li></ul></div>"
        "<p>Mereka menuntut OpenAI membayar seniman.</p>"
    )
    assert strip_boilerplate(html_to_text(html)) == (
        f"{ARTICLE}\n\nMereka menuntut OpenAI membayar seniman."
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "By the end of the year, artists had sued three AI companies.",
        "Oleh karena itu, para seniman menolak kebijakan tersebut.",
        "Related efforts are under way in Europe.",
        "Foto-foto pameran itu beredar luas di media sosial.",
        "Editorial boards at three newspapers criticised the plan.",
        "Penulisnya menolak memberi komentar.",
    ],
)
def test_article_sentences_that_start_like_furniture_stay(sentence: str) -> None:
    text = f"{ARTICLE}\n\n{sentence}"
    assert strip_boilerplate(text) == text


def test_inline_hint_finds_what_its_two_alternatives_find() -> None:
    """The hint is one bracket then the alternatives; it matches as the plain form does."""
    import itertools
    import re

    from bot.feeds import boilerplate

    plain = re.compile(boilerplate._INLINE_OPEN + r"|\[(?:…|\.\.\.)\]", re.IGNORECASE)
    parts = ["(", "[", "]", ")", "foto", "FOTO", "…", "...", "..", " ", "x", "video", "dok"]
    for n in range(1, 4):
        for combo in itertools.product(parts, repeat=n):
            text = "".join(combo)
            spans = [m.span() for m in boilerplate._INLINE_HINT.finditer(text)]
            assert spans == [m.span() for m in plain.finditer(text)], text
