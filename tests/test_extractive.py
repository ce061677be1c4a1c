"""The extractive summarizer on the seed story and on articles written for these tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.models import Summary
from bot.summarize.base import Summarizer, get_summarizer
from bot.summarize.extractive import ExtractiveSummarizer, clean_text, shorten, summarize_text

MAX = 220


def seed_story(shared: Path) -> tuple[str, str]:
    """Title and text of the seed story, the human quick-facts block removed from the text."""
    lines = (shared / "examples" / "seed-story-id.txt").read_text(encoding="utf-8").splitlines()
    body: list[str] = []
    in_block = False
    for line in lines[1:]:
        if line.startswith("Buru-buru?"):
            in_block = True
            continue
        if in_block and line.startswith("- "):
            continue
        in_block = False
        body.append(line)
    return lines[0], "\n".join(body)


def check_shape(summary: Summary, text: str) -> None:
    assert 2 <= len(summary.bullets) <= 4
    words = set(re.findall(r"[^\W_]+", text))
    for bullet in summary.bullets:
        assert len(bullet) <= MAX + 1  # the one added "…"
        assert bullet != summary.headline
        last = re.findall(r"[^\W_]+", bullet)[-1]
        assert last in words, f"cut mid-word: {bullet!r}"  # never a truncated word


@pytest.mark.corpus
def test_seed_story_covers_key_facts(shared_dir: Path) -> None:
    title, text = seed_story(shared_dir)
    assert "Fakta-Fakta Singkatnya" not in text
    summary = summarize_text(title, text, "id")
    check_shape(summary, text)
    assert summary.headline == title
    joined = " ".join(summary.bullets).lower()
    # Human bullet 1: the leak of access (via a real token on an open-source AI platform).
    assert "bocor" in joined
    assert "token" in joined or "hugging face" in joined
    # Human bullets 2 and 3 (three hours of free use; the petition/open letter) sit deep in the
    # article; the lead-first extractive method does not reliably reach them, so they are not
    # asserted here (see the quality bench report).
    for bullet in summary.bullets:
        assert "Berikan komentar" not in bullet
        assert "pic.twitter.com" not in bullet
        assert "@koltregaskes" not in bullet


ID_ARTICLE = "\n\n".join(
    [
        (
            "JAKARTA, KOMPAS.com - Kementerian Pariwisata mencatat kunjungan wisatawan "
            "mancanegara ke Bali naik 12 persen pada Juli 2024 menjadi 580.000 orang."
        ),
        "Baca juga: Lima Pantai Tersembunyi di Bali",
        (
            "Kenaikan itu didorong oleh penerbangan langsung baru dari Australia dan India "
            "yang dibuka sejak Mei."
        ),
        (
            "Ia mengatakan, pemerintah menargetkan 7 juta wisatawan asing hingga akhir tahun "
            "dengan anggaran promosi Rp 1,5 triliun."
        ),
        (
            "Menurut Kepala Dinas Pariwisata Bali, Tjok Bagus Pemayun, hotel di Badung dan "
            "Gianyar terisi hampir penuh selama musim liburan."
        ),
        "Advertisement",
        "Berikan komentar Batal",
    ]
)

EN_ARTICLE = "\n\n".join(
    [
        (
            "LONDON (Reuters) - Britain's largest music labels sued an AI start-up on "
            "Tuesday, accusing it of copying thousands of recordings to train a song "
            "generator without permission."
        ),
        "By Jane Doe, CNN",
        (
            "The lawsuit, filed in the High Court, seeks damages of up to £50 million and an "
            "order to delete the training data."
        ),
        "He said, the company had ignored three letters from the labels since January.",
        (
            "The start-up said its model learned general musical patterns and did not store "
            "any recordings."
        ),
        "Read more: How AI is changing the music business",
        "Advertisement",
    ]
)


def test_indonesian_dateline_boilerplate_and_dangling() -> None:
    summary = summarize_text("Kunjungan Wisman ke Bali Naik 12 Persen", ID_ARTICLE, "id")
    check_shape(summary, ID_ARTICLE)
    for bullet in summary.bullets:
        assert not bullet.startswith(("JAKARTA", "KOMPAS")), bullet
        assert "Baca juga" not in bullet
        assert "Advertisement" not in bullet
        assert not bullet.lower().startswith(("ia mengatakan", "dia menambahkan", "menurutnya"))
    assert summary.bullets[0].startswith("Kementerian Pariwisata mencatat")


def test_english_dateline_byline_and_dangling() -> None:
    summary = summarize_text("", EN_ARTICLE, "en")
    check_shape(summary, EN_ARTICLE)
    assert not summary.headline.startswith(("LONDON", "(Reuters)"))
    for bullet in summary.bullets:
        assert "Reuters" not in bullet
        assert "By Jane Doe" not in bullet
        assert "Read more" not in bullet
        assert not bullet.startswith("He said")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jakarta, CNN Indonesia -- Agnez Mo merilis album.", "Agnez Mo merilis album."),
        ("(CNN)Sofia Vergara's ex-fiance spoke.", "Sofia Vergara's ex-fiance spoke."),
        ("London (CNN)The heist was huge.", "The heist was huge."),
        ("Bandung (ANTARA News) - Dinas mengimbau warga.", "Dinas mengimbau warga."),
        ("(ANTARA) - Hujan deras turun.", "Hujan deras turun."),
        ("Merdeka.com - Polisi menangkap dua orang.", "Polisi menangkap dua orang."),
        ("JUARA.NET, TOKYO-Pasangan ganda putra menang.", "Pasangan ganda putra menang."),
        (
            "Joko Widodo (Jokowi) meresmikan jalan tol.",
            "Joko Widodo (Jokowi) meresmikan jalan tol.",
        ),
    ],
)
def test_datelines(text: str, expected: str) -> None:
    assert clean_text(text) == [expected]


def test_tweet_attribution_and_embed_lines_dropped() -> None:
    text = (
        "Banyak pengguna membuat klip.\n"
        "Dibuat dengan Sora (lihat di atas): pic.twitter.com/VlveALuvYS\n"
        "— Kol Tregaskes (@koltregaskes) 26 November 2024\n"
        "Petisi ditandatangani 600 seniman."
    )
    assert clean_text(text) == [
        "Banyak pengguna membuat klip.",
        "Petisi ditandatangani 600 seniman.",
    ]


def test_shorten_cuts_at_clause_never_mid_word_or_quote() -> None:
    long = (
        "Pemerintah provinsi mengumumkan program beasiswa seni untuk tiga ribu pelajar, "
        "yang akan dibuka mulai bulan depan di seluruh kabupaten dan kota, "
        "dengan syarat nilai rapor minimal delapan dan surat rekomendasi "
        "dari sekolah masing-masing."
    )
    cut = shorten(long, 160)
    assert cut is not None
    assert len(cut) <= 161
    assert cut.endswith("kota…")
    quoted = "Dia berkata “" + "kata " * 60 + "akhir.”"
    assert shorten(quoted, 120) is None  # would leave the quotation open


def test_no_title_headline_is_not_a_bullet() -> None:
    text = "Banjir merendam 300 rumah di Bekasi. " * 1 + ID_ARTICLE.split("\n\n", 1)[1]
    summary = summarize_text("", text, "id")
    assert summary.headline == "Banjir merendam 300 rumah di Bekasi."
    assert summary.headline not in summary.bullets


def test_empty_text_gives_empty_summary() -> None:
    summary = summarize_text("Judul saja", "", "id")
    assert summary.headline == "Judul saja"
    assert summary.bullets == ()


async def test_protocol_and_registry() -> None:
    summarizer = get_summarizer("extractive", max_bullets=3)
    assert isinstance(summarizer, Summarizer)
    assert isinstance(summarizer, ExtractiveSummarizer)
    summary = await summarizer.summarize(title="Musik AI digugat", text=EN_ARTICLE, lang="en")
    assert summary.method == "extractive"
    assert 2 <= len(summary.bullets) <= 3
    with pytest.raises(ConfigError):
        get_summarizer("nope")


def test_llm_backend_missing_is_config_error() -> None:
    try:
        import bot.summarize.llm  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError) as info:
            get_summarizer("llm")
        assert isinstance(info.value.__cause__, ImportError)
    else:
        pytest.skip("bot.summarize.llm exists; its own tests cover loading it")
