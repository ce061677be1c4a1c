"""Localized user-facing strings (Indonesian and English).

Every string a user reads — digest chrome, command replies, errors — comes from here, keyed by
a stable name, so both languages stay complete (a test checks the two tables have the same keys
and the same ``{placeholders}``).
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

DEFAULT_LANG = "id"

MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}

STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "digest_title": "Ringkasan AI & Seniman — {date}",
        "digest_empty": "Belum ada berita baru tentang AI dan seniman sejak ringkasan terakhir.",
        "digest_also": "Juga diberitakan: {sources}",
        "digest_section_en": "Berita berbahasa Inggris",
        "digest_section_id": "Berita berbahasa Indonesia",
        "digest_footer": "{count} berita · {window}",
        "digest_why": "Alasan: {terms}",
        # ---- command replies
        "help": (
            "Warta mengirim ringkasan berita AI & seniman (poin-poin singkat) ke obrolan ini.\n"
            "/subscribe [id|en] [jadwal] [+kata -kata] — langganan, mis. "
            "/subscribe id harian 08:00 +midjourney -nft\n"
            "/unsubscribe — berhenti berlangganan\n"
            "/settings — lihat pengaturan; ubah: settings lang en · settings schedule setiap 6j"
            " · settings tz Asia/Makassar · settings keywords +a -b · settings max 5"
            " · settings pause · settings resume\n"
            "/digest — ringkasan 24 jam terakhir sekarang\n"
            "/latest [n] — n berita terbaru (1-20)\n"
            "/search <kata> — cari berita tersimpan\n"
            "/story <id> — fakta singkat satu berita, mis. /story 123\n"
            "/summary <url> — ringkas sebuah artikel web\n"
            "/feeds — daftar sumber; admin: feeds add <url> · feeds remove <url>\n"
            "/status — kondisi bot dan jadwal ringkasan berikutnya\n"
            "Jadwal: harian 08:00 · setiap 6j · mingguan senin 09:00 · langsung"
        ),
        "unknown_command": "Perintah /{command} tidak dikenal. Daftar perintah:",
        "internal_error": "Maaf, terjadi kesalahan. Coba lagi sebentar lagi.",
        "store_error": "Penyimpanan data sedang bermasalah. Coba lagi sebentar lagi.",
        "not_admin": "Hanya admin obrolan ini yang boleh memakai perintah /{command}.",
        "not_admin_target": "Anda harus admin di {target} untuk mengatur langganannya.",
        "target_unsupported": "Mengatur obrolan lain ({target}) tidak didukung di platform ini.",
        "target_not_found": (
            "Obrolan {target} tidak ditemukan. Tambahkan bot sebagai admin di sana, lalu coba lagi."
        ),
        "bad_schedule": (
            'Jadwal "{text}" tidak bisa dibaca. Contoh: harian 08:00 · setiap 6j · '
            "tiap 30 menit · mingguan senin 09:00 · langsung (paling sering setiap 15 menit)."
        ),
        "bad_timezone": (
            'Zona waktu "{tz}" tidak dikenal. Contoh: Asia/Jakarta, Asia/Makassar, WIT.'
        ),
        "bad_lang": 'Bahasa "{value}" tidak didukung. Pilih id atau en, mis. settings lang en.',
        "bad_number": '"{value}" bukan angka {min}-{max}. Contoh: {example}',
        "bad_keywords": (
            'Kata kunci "{value}" tidak valid. Pakai +kata (memperluas), -kata (menyaring) atau '
            "kata (wajib), 2-40 huruf, paling banyak {max}. Contoh: +midjourney -nft"
        ),
        "bad_story_id": '"{value}" bukan nomor berita. Contoh: /story 123',
        "bad_url": '"{value}" bukan alamat web http(s). Contoh: {example}',
        "usage_search": "Tulis kata yang dicari. Contoh: /search seniman sora",
        "usage_story": "Tulis nomor berita. Contoh: /story 123",
        "usage_summary": "Tulis alamat artikel. Contoh: /summary https://contoh.id/berita",
        "usage_settings": (
            'Pengaturan "{value}" tidak dikenal. Contoh: settings lang en · '
            "settings schedule harian 08:00 · settings tz Asia/Makassar · "
            "settings keywords +a -b · settings max 5 · settings pause · settings resume"
        ),
        "usage_feeds": "Contoh: /feeds · feeds add https://contoh.id/rss · feeds remove <url>",
        "not_subscribed": (
            "Obrolan ini belum berlangganan. Mulai dengan /subscribe, mis. "
            "/subscribe id harian 08:00"
        ),
        "subscribed": "Berlangganan! Ringkasan untuk {channel}:",
        "subscription_updated": "Langganan {channel} diperbarui:",
        "unsubscribed": "Langganan {channel} dihentikan. Sampai jumpa!",
        "settings_header": "Pengaturan {channel}:",
        "settings_body": (
            "Bahasa: {lang}\nJadwal: {schedule}\nZona waktu: {tz}\nKata kunci: {keywords}\n"
            "Maks. berita: {max}\nBerikutnya: {next}\nStatus: {state}"
        ),
        "settings_saved": "Tersimpan.",
        "state_active": "aktif",
        "state_paused": "dijeda — {reason}",
        "paused_by_user": "dijeda oleh admin",
        "paused": "Ringkasan untuk {channel} dijeda. Lanjutkan dengan: settings resume",
        "resumed": "Ringkasan untuk {channel} dilanjutkan.",
        "keywords_none": "(tidak ada)",
        "next_instant": "setiap ada berita baru",
        "next_none": "—",
        "lang_name_id": "Indonesia",
        "lang_name_en": "Inggris",
        "digest_now": "Ringkasan {hours} jam terakhir:",
        "latest_header": "{count} berita terbaru:",
        "latest_none": "Belum ada berita tersimpan tentang AI dan seniman.",
        "search_header": 'Hasil pencarian "{query}":',
        "search_none": 'Tidak ada berita yang cocok dengan "{query}".',
        "story_not_found": "Berita #{id} tidak ditemukan.",
        "story_meta": "{source} · {date}",
        "story_why": "Alasan relevan: {terms}",
        "summary_relevant": "Relevan dengan AI & seniman ({terms}).",
        "summary_not_relevant": "Tampaknya tidak membahas AI & seniman.",
        "summary_blocked": (
            "Alamat itu tidak boleh dibuka (alamat lokal/privat atau bukan http/https)."
        ),
        "summary_too_large": "Halaman itu terlalu besar untuk diringkas.",
        "summary_timeout": "Halaman itu terlalu lama merespons. Coba lagi nanti.",
        "summary_http": "Situs itu menjawab dengan kode HTTP {status}.",
        "summary_fetch_failed": "Halaman itu tidak bisa diambil. Periksa alamatnya atau coba lagi.",
        "summary_no_text": "Tidak ada teks artikel yang bisa diringkas di halaman itu.",
        "feeds_header": "{count} sumber berita:",
        "feeds_none": "Belum ada sumber berita.",
        "feed_ok": "normal",
        "feed_failing": "gagal {count}× — {error}",
        "feed_disabled": "nonaktif — {reason}",
        "feeds_readonly": (
            "Daftar sumber diatur lewat berkas konfigurasi dan tidak bisa diubah dari obrolan."
        ),
        "feed_added": "Sumber ditambahkan: {title}",
        "feed_exists": "Sumber itu sudah ada: {url}",
        "feed_removed": "Sumber dihapus: {url}",
        "feed_not_found": "Sumber tidak ditemukan: {url}",
        "feed_unreachable": "Sumber tidak bisa diambil ({url}): {error}",
        "feed_not_a_feed": "Alamat itu bukan feed RSS/Atom: {url}",
        "status_header": "Status Warta",
        "status_body": (
            "Pengambilan terakhir: {last_poll}\nSumber: {feeds} ({failing} "
            "bermasalah, {disabled} nonaktif)"
        ),
        "status_never": "belum pernah",
        "status_problem": "{url}: {reason}",
        "status_sub": "Ringkasan berikutnya untuk obrolan ini: {next}",
        "status_sub_paused": "Ringkasan obrolan ini dijeda: {reason}",
        "status_no_sub": "Obrolan ini belum berlangganan (/subscribe).",
    },
    "en": {
        "digest_title": "AI & Artists Digest — {date}",
        "digest_empty": "No new stories about AI and artists since the last digest.",
        "digest_also": "Also reported by: {sources}",
        "digest_section_en": "Stories in English",
        "digest_section_id": "Stories in Indonesian",
        "digest_footer": "{count} stories · {window}",
        "digest_why": "Why: {terms}",
        # ---- command replies
        "help": (
            "Warta posts digests of AI & artists news (short quick facts) to this chat.\n"
            "/subscribe [id|en] [schedule] [+word -word] — subscribe, e.g. "
            "/subscribe en daily 08:00 +midjourney -nft\n"
            "/unsubscribe — stop the subscription\n"
            "/settings — show settings; change: settings lang id · settings schedule every 6h"
            " · settings tz Asia/Makassar · settings keywords +a -b · settings max 5"
            " · settings pause · settings resume\n"
            "/digest — a digest of the last 24 hours, now\n"
            "/latest [n] — the n newest stories (1-20)\n"
            "/search <words> — search stored stories\n"
            "/story <id> — quick facts of one story, e.g. /story 123\n"
            "/summary <url> — summarize a web article\n"
            "/feeds — list sources; admins: feeds add <url> · feeds remove <url>\n"
            "/status — bot health and this chat's next digest\n"
            "Schedules: daily 08:00 · every 6h · weekly mon 09:00 · instant"
        ),
        "unknown_command": "Unknown command /{command}. Commands:",
        "internal_error": "Sorry, something went wrong. Please try again in a moment.",
        "store_error": "The database is having trouble. Please try again in a moment.",
        "not_admin": "Only admins of this chat can use /{command}.",
        "not_admin_target": "You must be an admin of {target} to manage its subscription.",
        "target_unsupported": "Managing another chat ({target}) is not supported on this platform.",
        "target_not_found": "Chat {target} not found. Add the bot there as an admin, then retry.",
        "bad_schedule": (
            'Cannot read the schedule "{text}". Examples: daily 08:00 · every 6h · '
            "every 30m · weekly mon 09:00 · instant (at most every 15 minutes)."
        ),
        "bad_timezone": 'Unknown time zone "{tz}". Examples: Asia/Jakarta, Europe/Berlin, UTC.',
        "bad_lang": 'Language "{value}" is not supported. Choose id or en, e.g. settings lang en.',
        "bad_number": '"{value}" is not a number from {min} to {max}. Example: {example}',
        "bad_keywords": (
            'Keyword "{value}" is not valid. Use +word (widens), -word (filters out) or '
            "word (required), 2-40 characters, at most {max}. Example: +midjourney -nft"
        ),
        "bad_story_id": '"{value}" is not a story number. Example: /story 123',
        "bad_url": '"{value}" is not an http(s) web address. Example: {example}',
        "usage_search": "Type what to search for. Example: /search artists sora",
        "usage_story": "Type a story number. Example: /story 123",
        "usage_summary": "Type an article address. Example: /summary https://example.com/news",
        "usage_settings": (
            'Unknown setting "{value}". Examples: settings lang en · '
            "settings schedule daily 08:00 · settings tz Asia/Makassar · "
            "settings keywords +a -b · settings max 5 · settings pause · settings resume"
        ),
        "usage_feeds": "Examples: /feeds · feeds add https://example.com/rss · feeds remove <url>",
        "not_subscribed": (
            "This chat is not subscribed yet. Start with /subscribe, e.g. /subscribe en daily 08:00"
        ),
        "subscribed": "Subscribed! Digests for {channel}:",
        "subscription_updated": "Subscription of {channel} updated:",
        "unsubscribed": "Unsubscribed {channel}. Goodbye!",
        "settings_header": "Settings of {channel}:",
        "settings_body": (
            "Language: {lang}\nSchedule: {schedule}\nTime zone: {tz}\nKeywords: {keywords}\n"
            "Max. stories: {max}\nNext: {next}\nState: {state}"
        ),
        "settings_saved": "Saved.",
        "state_active": "active",
        "state_paused": "paused — {reason}",
        "paused_by_user": "paused by an admin",
        "paused": "Digests for {channel} are paused. Resume with: settings resume",
        "resumed": "Digests for {channel} are resumed.",
        "keywords_none": "(none)",
        "next_instant": "whenever a new story arrives",
        "next_none": "—",
        "lang_name_id": "Indonesian",
        "lang_name_en": "English",
        "digest_now": "Digest of the last {hours} hours:",
        "latest_header": "{count} newest stories:",
        "latest_none": "No stored stories about AI and artists yet.",
        "search_header": 'Search results for "{query}":',
        "search_none": 'No stories match "{query}".',
        "story_not_found": "Story #{id} not found.",
        "story_meta": "{source} · {date}",
        "story_why": "Why it is relevant: {terms}",
        "summary_relevant": "Relevant to AI & artists ({terms}).",
        "summary_not_relevant": "This does not seem to be about AI & artists.",
        "summary_blocked": (
            "That address may not be opened (local/private address or not http/https)."
        ),
        "summary_too_large": "That page is too large to summarize.",
        "summary_timeout": "That page took too long to respond. Try again later.",
        "summary_http": "The site answered with HTTP status {status}.",
        "summary_fetch_failed": "That page could not be fetched. Check the address or try again.",
        "summary_no_text": "No article text to summarize was found on that page.",
        "feeds_header": "{count} news sources:",
        "feeds_none": "No news sources yet.",
        "feed_ok": "ok",
        "feed_failing": "failed {count}× — {error}",
        "feed_disabled": "disabled — {reason}",
        "feeds_readonly": (
            "Sources are managed in the configuration file and cannot be changed from chat."
        ),
        "feed_added": "Source added: {title}",
        "feed_exists": "That source already exists: {url}",
        "feed_removed": "Source removed: {url}",
        "feed_not_found": "Source not found: {url}",
        "feed_unreachable": "The source could not be fetched ({url}): {error}",
        "feed_not_a_feed": "That address is not an RSS/Atom feed: {url}",
        "status_header": "Warta status",
        "status_body": (
            "Last poll: {last_poll}\nSources: {feeds} ({failing} failing, {disabled} disabled)"
        ),
        "status_never": "never",
        "status_problem": "{url}: {reason}",
        "status_sub": "Next digest for this chat: {next}",
        "status_sub_paused": "This chat's digests are paused: {reason}",
        "status_no_sub": "This chat is not subscribed (/subscribe).",
    },
}


def norm_lang(lang: str | None) -> str:
    """Map a locale or language tag ("en-US", "id", "ms") to a supported language."""
    if not lang:
        return DEFAULT_LANG
    base = lang.replace("_", "-").split("-")[0].lower()
    if base in STRINGS:
        return base
    # Malay readers understand Indonesian far better than English.
    if base == "ms":
        return "id"
    return "en"


def t(key: str, lang: str | None, /, **params: Any) -> str:
    """The string ``key`` in ``lang`` (English if the key is missing there), formatted."""
    table = STRINGS[norm_lang(lang)]
    template = table.get(key) or STRINGS["en"].get(key) or key
    return template.format(**params) if params else template


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def format_date(when: datetime, lang: str | None) -> str:
    """'24 Nov 2026' / '24 Mei 2026' — day month year in both languages, no locale module
    (the C library's locales are rarely installed in containers)."""
    months = MONTHS[norm_lang(lang)]
    return f"{when.day} {months[when.month - 1]} {when.year}"
