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
        "digest_web_link": "Lihat ringkasan hari ini di web",
        "stats_caption": (
            "Berita AI & seniman per minggu dari sumber obrolan ini, {weeks} minggu terakhir: "
            "per media, per tema, per bahasa."
        ),
        "digest_also": "Juga diberitakan: {sources}",
        "digest_section_en": "Berita berbahasa Inggris",
        "digest_section_id": "Berita berbahasa Indonesia",
        "digest_footer": "{count} berita · {window}",
        "digest_why": "Alasan: {terms}",
        # ---- command replies
        "help": (
            "Warta mengirim ringkasan berita AI & seniman (poin-poin singkat) ke obrolan ini. "
            "Perintah, masing-masing dengan contoh:\n"
            "/langganan id harian 08:00 +midjourney -nft — langganankan obrolan ini: bahasa "
            "(id, en), jadwal, kata kunci (+kata memperluas, -kata mengecualikan, !kata wajib)\n"
            "/pengaturan — lihat pengaturan obrolan ini\n"
            "/pengaturan jadwal setiap 6j — ubah satu pengaturan (juga: bahasa en · "
            "zona Asia/Makassar · kata +a -b !c · maks 5 · jeda · lanjut)\n"
            "/ringkasan — ringkasan 24 jam terakhir, sekarang\n"
            "/terbaru 5 — 5 berita terbaru (1-20)\n"
            "/cari seniman sora — cari berita tersimpan\n"
            "/berita 12 — fakta singkat satu berita (nomornya ada di /terbaru)\n"
            "/ringkas https://contoh.id/berita — ringkas sebuah artikel web\n"
            "/sumber — sumber berita obrolan ini; admin: sumber tambah <url> · sumber hapus <url>"
            " · sumber ekspor · sumber impor (lampirkan OPML)\n"
            "/status — kondisi bot dan ringkasan berikutnya\n"
            "/statistik 8 — grafik mingguan sumber obrolan ini, 8 minggu terakhir (4-26)\n"
            "/berhenti — hentikan ringkasan di obrolan ini\n"
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
            "!kata (wajib), 2-40 huruf, paling banyak {max}. Contoh: +midjourney -nft !seniman"
        ),
        "bad_keyword_mark": (
            'Kata kunci "{value}" belum bertanda. Tulis +{word} (memperluas), -{word} '
            "(mengecualikan) atau !{word} (wajib)."
        ),
        "bad_args": "{problems}\nContoh: /langganan id harian 08:00 +midjourney -nft !seniman",
        "arg_not": '"{value}" bukan {expected}.',
        "or": " atau ",
        "expect_lang": "bahasa (id, en)",
        "expect_schedule": "jadwal (harian 08:00 · setiap 6j · mingguan senin 09:00 · langsung)",
        "expect_keyword": (
            "kata kunci bertanda (+{word} memperluas, -{word} mengecualikan, !{word} wajib)"
        ),
        "rate_limited": (
            "Pelan-pelan, ya: terlalu banyak perintah. Coba lagi dalam {seconds} detik."
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
        "usage_feeds": (
            "Contoh: /feeds · feeds add https://contoh.id/rss · feeds remove <url> · "
            "feeds export · feeds import (dengan berkas OPML)"
        ),
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
        "url_refused": (
            "Alamat itu tidak bisa dibuka. Warta hanya membuka alamat http/https di internet "
            "publik."
        ),
        "summary_too_large": "Halaman itu terlalu besar untuk diringkas.",
        "summary_timeout": "Halaman itu terlalu lama merespons. Coba lagi nanti.",
        "summary_http": "Situs itu menjawab dengan kode HTTP {status}.",
        "summary_fetch_failed": "Halaman itu tidak bisa diambil. Periksa alamatnya atau coba lagi.",
        "summary_no_text": "Tidak ada teks artikel yang bisa diringkas di halaman itu.",
        "summary_busy": "Sedang banyak permintaan ringkasan. Coba lagi sebentar lagi.",
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
        # ---- sources of a chat, operators, OPML in chat
        "feeds_chat_header": "{count} sumber untuk obrolan ini:",
        "feeds_defaults_header": "{count} sumber bawaan (untuk semua obrolan):",
        "feed_origin_default": "bawaan",
        "feed_origin_added": "ditambahkan obrolan ini",
        "feed_restored": "Sumber bawaan diaktifkan lagi untuk obrolan ini: {title}",
        "feed_switched_off": "Sumber bawaan dimatikan untuk obrolan ini saja: {title}",
        "chat_sources_full": (
            "Obrolan ini sudah menambahkan {max} sumber (batasnya). Hapus satu dulu."
        ),
        "not_operator": "Hanya operator Warta yang boleh memakai /feeds {action}.",
        "default_added": "Sumber bawaan (semua obrolan) ditambahkan: {title}",
        "default_removed": "Bukan sumber bawaan lagi: {title}",
        "feeds_export": "Sumber obrolan ini dalam OPML ({count} sumber).",
        "feeds_export_defaults": "Sumber bawaan dalam OPML ({count} sumber).",
        "feeds_export_hidden": (
            "{hidden} sumber beralamat rahasia hanya ditulis nama dan host-nya."
        ),
        "import_need_file": (
            "Lampirkan berkas OPML: kirim dokumen dengan keterangan /feeds import "
            "(atau balas dokumen itu dengan /feeds import)."
        ),
        "import_too_large": "Berkas OPML terlalu besar (paling besar {max} KB).",
        "import_bad_file": "Berkas itu bukan OPML yang bisa dibaca: {error}",
        "import_header": (
            "Impor OPML: {added} ditambahkan, {existing} sudah ada, {skipped} dilewati."
        ),
        "import_added": "ditambahkan",
        "import_exists": "sudah ada",
        "import_skipped": "dilewati: {reason}",
        "import_reason_too_many": "hanya {max} entri pertama yang dibaca",
        "status_chat_body": (
            "Pengambilan terakhir: {last_poll}\nSumber obrolan ini: {feeds} ({failing} "
            "bermasalah, {disabled} nonaktif)"
        ),
        "status_usage": "{source}: dipakai {chats} obrolan",
    },
    "en": {
        "digest_title": "AI & Artists Digest — {date}",
        "digest_empty": "No new stories about AI and artists since the last digest.",
        "digest_web_link": "View this day's digest on the web",
        "stats_caption": (
            "AI & artists stories per week from this chat's sources, last {weeks} weeks: "
            "by outlet, by theme, by language."
        ),
        "digest_also": "Also reported by: {sources}",
        "digest_section_en": "Stories in English",
        "digest_section_id": "Stories in Indonesian",
        "digest_footer": "{count} stories · {window}",
        "digest_why": "Why: {terms}",
        # ---- command replies
        "help": (
            "Warta posts digests of AI & artists news (short quick facts) to this chat. "
            "Commands, each with an example:\n"
            "/subscribe en daily 08:00 +midjourney -nft — subscribe this chat: language "
            "(id, en), schedule, keywords (+word widens, -word excludes, !word is required)\n"
            "/settings — show this chat's settings\n"
            "/settings schedule every 6h — change one setting (also: lang id · "
            "tz Asia/Makassar · keywords +a -b !c · max 5 · pause · resume)\n"
            "/digest — a digest of the last 24 hours, now\n"
            "/latest 5 — the 5 newest stories (1-20)\n"
            "/search artists sora — search stored stories\n"
            "/story 12 — quick facts of one story (its number is shown by /latest)\n"
            "/summary https://example.com/news — summarize a web article\n"
            "/feeds — this chat's news sources; admins: feeds add <url> · feeds remove <url>"
            " · feeds export · feeds import (attach OPML)\n"
            "/status — bot health and this chat's next digest\n"
            "/stats 8 — weekly charts of this chat's sources, last 8 weeks (4-26)\n"
            "/unsubscribe — stop this chat's digests\n"
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
            "!word (required), 2-40 characters, at most {max}. Example: +midjourney -nft !artist"
        ),
        "bad_keyword_mark": (
            'Keyword "{value}" is not marked. Write +{word} (widens), -{word} (excludes) or '
            "!{word} (required)."
        ),
        "bad_args": "{problems}\nExample: /subscribe en daily 08:00 +midjourney -nft !artist",
        "arg_not": '"{value}" is not {expected}.',
        "or": " or ",
        "expect_lang": "a language (id, en)",
        "expect_schedule": "a schedule (daily 08:00 · every 6h · weekly mon 09:00 · instant)",
        "expect_keyword": (
            "a marked keyword (+{word} widens, -{word} excludes, !{word} is required)"
        ),
        "rate_limited": "Slow down: too many commands. Try again in {seconds} s.",
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
        "usage_feeds": (
            "Examples: /feeds · feeds add https://example.com/rss · feeds remove <url> · "
            "feeds export · feeds import (with an OPML file)"
        ),
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
        "url_refused": (
            "That address cannot be opened. Warta only opens http/https addresses on the public "
            "internet."
        ),
        "summary_too_large": "That page is too large to summarize.",
        "summary_timeout": "That page took too long to respond. Try again later.",
        "summary_http": "The site answered with HTTP status {status}.",
        "summary_fetch_failed": "That page could not be fetched. Check the address or try again.",
        "summary_no_text": "No article text to summarize was found on that page.",
        "summary_busy": "Busy summarizing other pages. Please try again in a moment.",
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
        # ---- sources of a chat, operators, OPML in chat
        "feeds_chat_header": "{count} sources for this chat:",
        "feeds_defaults_header": "{count} default sources (for every chat):",
        "feed_origin_default": "default",
        "feed_origin_added": "added by this chat",
        "feed_restored": "Default source switched back on for this chat: {title}",
        "feed_switched_off": "Default source switched off for this chat only: {title}",
        "chat_sources_full": "This chat already added {max} sources (the limit). Remove one first.",
        "not_operator": "Only Warta's operators may use /feeds {action}.",
        "default_added": "Default source (every chat) added: {title}",
        "default_removed": "No longer a default source: {title}",
        "feeds_export": "This chat's sources as OPML ({count} sources).",
        "feeds_export_defaults": "The default sources as OPML ({count} sources).",
        "feeds_export_hidden": (
            "{hidden} sources with a private address are listed by name and host only."
        ),
        "import_need_file": (
            "Attach an OPML file: send it as a document captioned /feeds import "
            "(or reply to the document with /feeds import)."
        ),
        "import_too_large": "The OPML file is too large (at most {max} KB).",
        "import_bad_file": "That file is not a readable OPML file: {error}",
        "import_header": "OPML import: {added} added, {existing} already there, {skipped} skipped.",
        "import_added": "added",
        "import_exists": "already there",
        "import_skipped": "skipped: {reason}",
        "import_reason_too_many": "only the first {max} entries are read",
        "status_chat_body": (
            "Last poll: {last_poll}\nThis chat's sources: {feeds} ({failing} failing, "
            "{disabled} disabled)"
        ),
        "status_usage": "{source}: used by {chats} chats",
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
