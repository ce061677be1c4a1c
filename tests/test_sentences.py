"""Sentence splitting: Indonesian and English abbreviations, numbers, quotes, paragraphs."""

from __future__ import annotations

import pytest

from bot.lang.sentences import paragraph_sentences, split_paragraphs, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Menurut Dr. Budi, S.H. hal itu wajar. Prof. Ir. H. Agus tiba di Jl. Sudirman No. 5.",
            [
                "Menurut Dr. Budi, S.H. hal itu wajar.",
                "Prof. Ir. H. Agus tiba di Jl. Sudirman No. 5.",
            ],
        ),
        (
            "Ia membeli buku, pensil, dll. Selain itu ia juga membeli tas.",
            ["Ia membeli buku, pensil, dll.", "Selain itu ia juga membeli tas."],
        ),
        (
            "Rapat digelar di Kab. Bogor, Kec. Cibinong s.d. Jumat. Hj. Siti hadir.",
            ["Rapat digelar di Kab. Bogor, Kec. Cibinong s.d. Jumat.", "Hj. Siti hadir."],
        ),
        (
            "Lihat hlm. 5 dan tgl. 7 Agustus. Surat a.n. Bpk. Joko dikirim.",
            ["Lihat hlm. 5 dan tgl. 7 Agustus.", "Surat a.n. Bpk. Joko dikirim."],
        ),
    ],
)
def test_indonesian_abbreviations(text: str, expected: list[str]) -> None:
    assert split_sentences(text, "id") == expected


def test_numbers_are_not_boundaries() -> None:
    text = (
        "Harga naik menjadi Rp 1.500.000 per bulan. Jumlahnya 3.565 unit atau naik 1,5 persen. "
        "Saham naik $1.5 miliar pada pukul 10.00 WIB."
    )
    assert split_sentences(text, "id") == [
        "Harga naik menjadi Rp 1.500.000 per bulan.",
        "Jumlahnya 3.565 unit atau naik 1,5 persen.",
        "Saham naik $1.5 miliar pada pukul 10.00 WIB.",
    ]


def test_quote_kept_whole_and_closing_quote_stays() -> None:
    text = (
        "“Kami tidak menentang AI. Yang kami tolak adalah caranya,” tulis mereka. "
        'He said "It is over." Then he left.'
    )
    assert split_sentences(text, "id") == [
        "“Kami tidak menentang AI. Yang kami tolak adalah caranya,” tulis mereka.",
        'He said "It is over."',
        "Then he left.",
    ]


def test_english_abbreviations_initials_and_months() -> None:
    text = (
        "Mr. Smith met J. K. Rowling on Jan. 5 in Washington. "
        "Shares of Apple Inc. rose at 9 a.m. on Monday, e.g. in Tokyo. "
        "The U.S. economy grew in the U.S. The rest is history."
    )
    assert split_sentences(text, "en") == [
        "Mr. Smith met J. K. Rowling on Jan. 5 in Washington.",
        "Shares of Apple Inc. rose at 9 a.m. on Monday, e.g. in Tokyo.",
        "The U.S. economy grew in the U.S.",
        "The rest is history.",
    ]


def test_urls_emails_and_ellipses() -> None:
    text = (
        "Visit https://example.com/a.b or mail a.b@x.co.id now. Then he left... Later he came back!"
    )
    assert split_sentences(text, "en") == [
        "Visit https://example.com/a.b or mail a.b@x.co.id now.",
        "Then he left...",
        "Later he came back!",
    ]


def test_paragraphs_are_hard_breaks_and_wrapped_lines_join() -> None:
    text = (
        "Judul tanpa titik\n\nParagraf dua. Kalimat tiga.\nBaris ini dibungkus\nke baris berikut."
    )
    assert split_sentences(text, "id") == [
        "Judul tanpa titik",
        "Paragraf dua.",
        "Kalimat tiga.",
        "Baris ini dibungkus ke baris berikut.",
    ]
    assert split_paragraphs("a\n\n\nb") == ["a", "b"]


def test_empty_text() -> None:
    assert split_sentences("", "id") == []
    assert split_sentences("   \n\n ", "en") == []


def test_paragraph_sentences_are_split_sentences_of_one_paragraph() -> None:
    # Tabs, no-break and ideographic spaces, runs of spaces: whitespace the regex \s matches.
    text = (
        "Harga naik  10\tpersen.\u00a0 Warga protes di Jl. Sudirman."
        "\u3000Dia bilang\u2003cukup.\n\n"
        "Second  paragraph here. And   another one!\x1fEnd."
    )
    paragraphs = split_paragraphs(text)
    assert len(paragraphs) == 2
    got = [s for p in paragraphs for s in paragraph_sentences(p)]
    assert (
        got
        == split_sentences(text)
        == [
            "Harga naik 10 persen.",
            "Warga protes di Jl. Sudirman.",
            "Dia bilang cukup.",
            "Second paragraph here.",
            "And another one!",
            "End.",
        ]
    )


@pytest.mark.parametrize(
    "paragraph",
    [
        "Harga naik. Warga protes di Jl. Sudirman.",
        " Leading space. Then more.",
        "Trailing space. Then more. ",
        "Double  space. Then more.",
        "No\u00a0break. Then\tmore.",
        "Dotted U.S.A. words. A.B.C.D.E. and e.g. this. Then ok.",
    ],
)
def test_collapsed_paragraph_is_split_as_is(paragraph: str) -> None:
    """``paragraph_sentences`` skips the whitespace collapse only where it changes nothing."""
    from bot.lang.sentences import _split_paragraph

    assert paragraph_sentences(paragraph) == _split_paragraph(" ".join(paragraph.split()))


@pytest.mark.parametrize(
    "paragraph",
    [
        "Harga naik. Warga protes... Lalu “pulang.” Esok (lagi.) [x.] A.B. C",
        'He said "no." Then.. left.’ Ok.» Fin.\t Next . Done.',
        "Tanpa tanda titik sama sekali",
        "",
        ".",
        ". . .",
    ],
)
def test_periods_find_the_boundaries_of_a_text_without_other_marks(paragraph: str) -> None:
    """``_PERIODS`` stands in for ``_BOUNDARY`` where no "!", "?" or "…" occurs."""
    from bot.lang.sentences import _BOUNDARY, _PERIODS

    spans = [m.span() for m in _BOUNDARY.finditer(paragraph)]
    assert [m.span() for m in _PERIODS.finditer(paragraph)] == spans
