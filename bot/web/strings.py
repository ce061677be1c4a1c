"""The web pages' chrome in Indonesian and English.

Kept apart from :mod:`bot.lang.strings` (the chat replies) so the two tables change
independently; the digest's own chrome (its title, "also reported by", notes) still comes from
there, so a digest reads the same on a page and in a chat. A test checks both tables have the
same keys and placeholders.
"""

from __future__ import annotations

from typing import Any

from bot.lang.strings import norm_lang

STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "site_name": "Warta",
        "tagline": "Ringkasan berita AI & seniman",
        "skip": "Langsung ke isi",
        "nav_latest": "Terbaru",
        "nav_stats": "Statistik",
        "nav_feed": "Feed Atom",
        "nav_json_feed": "JSON Feed",
        "other_lang": "English",
        "other_lang_label": "Baca dalam bahasa Inggris",
        "search_label": "Cari berita",
        "search_button": "Cari",
        "search_placeholder": "mis. seniman sora",
        "latest_title": "Ringkasan terbaru",
        "archive_title": "Arsip",
        "archive_empty": "Belum ada ringkasan. Ringkasan muncul setelah polling pertama.",
        "permalink": "Tautan tetap",
        "read_more": "Baca di {source}",
        "also": "Juga diberitakan oleh",
        "why": "Alasan",
        "published": "Terbit",
        "story_title": "Berita #{id}",
        "story_source": "Sumber",
        "story_in_digest": "Masuk ringkasan {date}",
        "search_title": "Pencarian",
        "search_results": 'Hasil untuk "{query}"',
        "search_none": 'Tidak ada berita yang cocok dengan "{query}".',
        "search_hint": "Cari di judul dan isi berita tersimpan, dalam dua bahasa.",
        "search_too_long": "Kata pencarian terlalu panjang (paling banyak {max} karakter).",
        "page_prev": "Sebelumnya",
        "page_next": "Berikutnya",
        "page_n": "Halaman {page}",
        "stats_title": "Statistik",
        "stats_intro": (
            "Jumlah berita relevan per minggu, {weeks} minggu terakhir (minggu dimulai Senin, "
            "zona waktu {tz})."
        ),
        "chart_outlet": "Berita per minggu menurut media",
        "chart_theme": "Berita per minggu menurut tema",
        "chart_lang": "Berita per minggu menurut bahasa",
        "chart_alt": "{title}: {total} berita dalam {weeks} minggu; terbanyak {top}.",
        "chart_alt_empty": "{title}: belum ada berita dalam {weeks} minggu terakhir.",
        "chart_table": "Angka di balik grafik",
        "week": "Minggu",
        "total": "Jumlah",
        "other": "lainnya",
        "theme_lawsuits": "gugatan & hak cipta",
        "theme_protests": "protes",
        "theme_labour": "pekerja & serikat",
        "theme_tools": "alat & peluncuran",
        "theme_policy": "kebijakan",
        "theme_other": "lainnya",
        "lang_id": "Indonesia",
        "lang_en": "Inggris",
        "not_found_title": "Tidak ditemukan",
        "not_found": "Halaman yang Anda cari tidak ada.",
        "bad_request_title": "Permintaan tidak valid",
        "footer": "Warta · perangkat lunak sumber terbuka · waktu dalam {tz}",
        "feed_title": "Warta — Ringkasan AI & Seniman (Indonesia)",
        "feed_subtitle": "Ringkasan harian berita AI dan seniman, dengan fakta singkat.",
    },
    "en": {
        "site_name": "Warta",
        "tagline": "AI & artists news digests",
        "skip": "Skip to content",
        "nav_latest": "Latest",
        "nav_stats": "Stats",
        "nav_feed": "Atom feed",
        "nav_json_feed": "JSON Feed",
        "other_lang": "Bahasa Indonesia",
        "other_lang_label": "Read in Indonesian",
        "search_label": "Search stories",
        "search_button": "Search",
        "search_placeholder": "e.g. artists sora",
        "latest_title": "Latest digests",
        "archive_title": "Archive",
        "archive_empty": "No digests yet. Warta shows digests after its first poll.",
        "permalink": "Permalink",
        "read_more": "Read at {source}",
        "also": "Also reported by",
        "why": "Why",
        "published": "Published",
        "story_title": "Story #{id}",
        "story_source": "Source",
        "story_in_digest": "In the digest of {date}",
        "search_title": "Search",
        "search_results": 'Results for "{query}"',
        "search_none": 'No stories match "{query}".',
        "search_hint": "Searches the titles and text of stored stories, in both languages.",
        "search_too_long": "The search is too long (at most {max} characters).",
        "page_prev": "Previous",
        "page_next": "Next",
        "page_n": "Page {page}",
        "stats_title": "Stats",
        "stats_intro": (
            "Relevant stories per week over the last {weeks} weeks (weeks start on Monday, "
            "{tz} time)."
        ),
        "chart_outlet": "Stories per week by outlet",
        "chart_theme": "Stories per week by theme",
        "chart_lang": "Stories per week by language",
        "chart_alt": "{title}: {total} stories in {weeks} weeks; most from {top}.",
        "chart_alt_empty": "{title}: no stories in the last {weeks} weeks yet.",
        "chart_table": "The numbers behind the chart",
        "week": "Week",
        "total": "Total",
        "other": "other",
        "theme_lawsuits": "lawsuits & copyright",
        "theme_protests": "protests",
        "theme_labour": "labour & unions",
        "theme_tools": "tools & launches",
        "theme_policy": "policy",
        "theme_other": "other",
        "lang_id": "Indonesian",
        "lang_en": "English",
        "not_found_title": "Not found",
        "not_found": "There is no page here.",
        "bad_request_title": "Bad request",
        "footer": "Warta · open-source software · times in {tz}",
        "feed_title": "Warta — AI & Artists Digest (English)",
        "feed_subtitle": "Daily digests of news about AI and artists, in quick facts.",
    },
}


def t(key: str, lang: str | None, /, **params: Any) -> str:
    """The page string ``key`` in ``lang``, formatted with ``params``."""
    template = STRINGS[norm_lang(lang)][key]
    return template.format(**params) if params else template
