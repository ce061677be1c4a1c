"""Subscribing a Discord channel and slash-command lookups, end to end.

Real: the SQLite store (``App.open`` on a temp dir, migrations included), the feed fetcher,
parser, topic scorer and extractive summarizer polling feeds from a loopback HTTP server through
the real poll job, the real ``CommandCore`` from ``build_core``, the Discord adapter on discord.py's
real ``app_commands`` tree, discord.py's HTTP client and rate-limit handling, and the outbox
(``compose_due`` + ``Sender``).

Stand-ins: Discord itself. No emulator exists, so interactions are INTERACTION_CREATE payload
dicts wrapped the way the gateway dispatch wraps them (see tests/test_discord_adapter.py), and
``discord.http.Route.BASE`` points at tests/peers/discord_rest.py, which answers like REST v10,
validates message bodies against Discord's limits (400/50035 otherwise) and injects a 429 with
``Via``. Time: one fake clock drives the core (``build_core(now=...)``), polling, composing and
sending; the Sender's pacing sleeps advance it instead of sleeping.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import discord
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import CommandCore
from bot.config import Settings
from bot.delivery import Sender, compose_due
from bot.demo import render_sample, sample_feeds
from bot.digest import digest_from_json
from bot.lang.strings import t
from bot.models import ChannelRef, DeliveryState, Feed
from bot.render.discord import render_digest
from bot.runner import build_core, make_poll_job, make_summarizer
from tests import feedserver
from tests.feedserver import FeedServer
from tests.peers import discord_rest
from tests.peers.discord_rest import APP_ID, TOKEN, DiscordREST

feed_server = feedserver.feed_server

GUILD_ID = 444444444444444444
CHANNEL_ID = 555555555555555555
ADMIN_ID = 666666666666666666
MEMBER_ID = 777777777777777777
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_GUILD = 1 << 5
EPHEMERAL = 64
JAKARTA = ZoneInfo("Asia/Jakarta")
# Monday 2 June 2025, 04:30 in Jakarta: the subscription's first 08:00 is the same morning.
START = datetime(2025, 6, 2, 4, 30, tzinfo=JAKARTA)
EIGHT_WIB = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
CHANNEL = ChannelRef("discord", str(CHANNEL_ID))
MESSAGES = r"^/channels/\d+/messages$"
_ids = itertools.count(1_100_000_000_000_000_000)

# Sequences Discord would render as a ping (or a channel/command link) if posted raw.
RAW_MENTION = re.compile(r"@(?:everyone|here)\b|<@[!&]?\d+>|<#\d+>|</[^>\s]+:\d+>")
# A masked link Discord would make clickable: ``[label](url)`` whose ``[`` is not escaped.
RAW_MASKED_LINK = re.compile(r"(?<!\\)\[[^\]\n]*\]\(([^)\s]+)\)")

# Distinct AI-and-artists events written for this test (fictional people and outlets): enough
# of them that a 20-story digest needs several Discord messages, and that the cap bites.
STORIES: list[tuple[str, str]] = [
    (
        "Ilustrator Bandung Gugat Pengembang Midjourney atas 412 Ilustrasi",
        "Ilustrator asal Bandung, Rina Hapsari, menggugat pengembang Midjourney karena 412 "
        "ilustrasinya dipakai sebagai data latih tanpa izin. Kuasa hukumnya meminta karya itu "
        "dihapus dari model.",
    ),
    (
        "Pameran Lukisan Semarang Tolak Tiga Karya Buatan AI",
        "Juri pameran lukisan tahunan di Semarang mendiskualifikasi tiga lukisan yang ternyata "
        "dibuat dengan Stable Diffusion. Kurator Bagus Pratama meminta pelukis menyatakan alat "
        "yang mereka pakai.",
    ),
    (
        "Penyanyi Keroncong Temukan Lagu dengan Suara Tiruan AI di Spotify",
        "Penyanyi keroncong Sekar Ayu menemukan 17 lagu di Spotify yang memakai suara tiruan "
        "dirinya, dibuat dengan kloning suara AI. Label rekamannya meminta lagu-lagu itu "
        "diturunkan.",
    ),
    (
        "Komikus Webtoon Pilih Terbit Mandiri setelah Honor Dipotong karena Gambar AI",
        "Komikus Dimas Wicaksono keluar dari platform webtoon setelah honornya dipotong 40 persen "
        "dengan alasan gambar AI lebih murah. Ia kini menerbitkan komiknya sendiri lewat Patreon.",
    ),
    (
        "Foto Pemenang Lomba di Makassar Ternyata Gambar DALL-E",
        "Fotografer Laras Kinanti mengaku foto pemenang lomba di Makassar adalah gambar AI buatan "
        "DALL-E dan mengembalikan hadiah Rp15 juta. Ia ingin menunjukkan juri foto belum siap "
        "menghadapi seni AI.",
    ),
    (
        "Pengisi Suara Protes Studio Animasi yang Pakai ElevenLabs",
        "Studio animasi di Denpasar memakai ElevenLabs untuk menyuarakan sembilan tokoh film "
        "terbarunya. Asosiasi pengisi suara yang dipimpin Yoga Saputra menuntut kontrak yang "
        "melindungi suara aktor.",
    ),
    (
        "Desainer Grafis Kehilangan Proyek Poster Konser ke Adobe Firefly",
        "Desainer grafis Citra Maharani kehilangan enam proyek poster konser setelah promotor "
        "beralih ke Adobe Firefly. Ia kini membuka kelas tentang batas karya buatan AI untuk "
        "desainer muda.",
    ),
    (
        "Novelis Temukan 23 Bukunya dalam Data Latih Model Bahasa",
        "Novelis Fajar Nugroho mendapati 23 judul novelnya tercantum dalam kumpulan data latih "
        "sebuah model AI generatif. Ikatan penulis mendesak pemerintah mengatur pelatihan AI pada "
        "karya sastra.",
    ),
    (
        "Orkestra Simfoni Jakarta Mainkan Komposisi Hasil AI, Komponis Terbelah",
        "Orkestra Simfoni Jakarta memainkan simfoni yang disusun dengan bantuan AI generatif "
        "dalam konser akhir pekan. Komponis Intan Permata menilai musik itu tidak punya jiwa, "
        "sementara konduktor menyebutnya eksperimen.",
    ),
    (
        "Penari Yogyakarta Buat Koreografi Bersama AI untuk Festival",
        "Kelompok tari kontemporer dari Yogyakarta memakai model AI untuk mengusulkan gerakan "
        "koreografi yang ditampilkan di festival seni. Koreografer Rizky Ramadhan menyebut para "
        "penari tetap memilih dan mengubah setiap gerak.",
    ),
    (
        "Dalang Muda Hidupkan Wayang dengan Animasi Buatan Runway",
        "Dalang muda Galih Santoso memadukan wayang kulit dengan animasi video buatan Runway AI "
        "dalam pertunjukan di Solo. Penonton muda antusias, tetapi sebagian seniman wayang "
        "khawatir pakem ditinggalkan.",
    ),
    (
        "Kampus Seni Rupa Wajibkan Mahasiswa Mencantumkan Penggunaan AI",
        "Institut seni rupa di Bandung mewajibkan mahasiswa mencantumkan setiap penggunaan AI "
        "generatif dalam tugas akhir. Dekan Maya Anggraini mengatakan aturan itu melindungi "
        "penilaian karya seni mahasiswa.",
    ),
    (
        "Fotografer Pernikahan Keluhkan Klien yang Minta Foto Diedit dengan AI",
        "Fotografer pernikahan Putri Lestari di Malang mengeluhkan klien yang meminta wajah tamu "
        "diganti dengan AI. Ia menolak karena hasil suntingan AI merusak dokumentasi yang jujur.",
    ),
    (
        "Band Rock Medan Gugat Aplikasi Musik AI Suno",
        "Band rock asal Medan menggugat Suno karena aplikasi musik AI itu bisa menghasilkan lagu "
        "yang sangat mirip dengan album mereka. Vokalis Arif Hidayat menyebut riff gitar mereka "
        "ditiru nyaris persis.",
    ),
    (
        "Seniman Mural Surabaya Protes Iklan Kota yang Dibuat dengan AI",
        "Pemerintah kota Surabaya memasang baliho bergambar mural buatan AI di 30 titik. Seniman "
        "mural Dewi Kartika menilai anggaran itu semestinya dipakai untuk membayar seniman lokal.",
    ),
    (
        "Penerbit Buku Anak Beri Label pada Ilustrasi Buatan AI",
        "Sebuah penerbit buku anak di Jakarta akan memberi label pada setiap ilustrasi buatan AI "
        "setelah protes dari ilustrator. Editor Hendra Kusuma mengatakan penerbit tetap memesan "
        "gambar dari ilustrator untuk seri baru.",
    ),
    (
        "Aktris Sinetron Temukan Deepfake Dirinya dalam Iklan Obat",
        "Aktris sinetron Ayu Wulandari menemukan video deepfake dirinya dipakai untuk "
        "mengiklankan obat pelangsing. Manajemennya melapor ke polisi dan meminta platform video "
        "menghapus iklan itu.",
    ),
    (
        "Sutradara Film Pendek Menang Festival dengan Adegan Buatan Sora",
        "Film pendek karya sutradara Sari Rahmawati yang memuat adegan buatan Sora memenangi "
        "festival film di Palembang. Sejumlah sineas memprotes karena aturan festival tidak "
        "membahas video AI.",
    ),
    (
        "Kurator Galeri Nasional Susun Pedoman Pameran Seni AI",
        "Galeri Nasional menyusun pedoman untuk pameran seni AI setelah banyak seniman mengirim "
        "karya yang memakai model generatif. Kurator Andi Firmansyah mengatakan pedoman itu "
        "mewajibkan keterbukaan soal data latih.",
    ),
    (
        "Penyair Surakarta Terbitkan Antologi yang Menantang Puisi Buatan AI",
        "Penyair Tari Oktaviani menerbitkan antologi yang menyandingkan puisinya dengan puisi "
        "buatan AI tanpa menyebut mana yang mana. Pembaca diminta menebak, dan 61 persen salah "
        "menebak.",
    ),
    (
        "Guru Seni Ajarkan Siswa Membedakan Lukisan Asli dan Gambar AI",
        "Guru seni rupa Joko Susilo di Magelang membuat pelajaran khusus agar siswa bisa "
        "membedakan lukisan asli dan gambar AI. Siswa belajar melihat goresan kuas, tekstur "
        "kanvas, dan kesalahan khas model generatif.",
    ),
    (
        "Produser Film Animasi Anggarkan Dana Lisensi untuk Data Latih",
        "Produser animasi Reza Mahendra mengumumkan studionya hanya memakai model AI yang dilatih "
        "dengan karya berlisensi. Studio itu menyisihkan dana untuk membayar 85 ilustrator yang "
        "karyanya dipakai sebagai data latih.",
    ),
    (
        "Kolektif Seniman Pontianak Luncurkan Alat Pelindung Karya dari Scraping AI",
        "Kolektif seniman di Pontianak meluncurkan alat yang menambahkan gangguan tak kasatmata "
        "pada gambar agar tidak bisa dipakai melatih model AI. Pengembangnya, Lina Marlina, "
        "terinspirasi dari Glaze dan Nightshade.",
    ),
    (
        "Pelukis Cat Air Temukan Gaya Lukisannya Dijual sebagai Prompt Midjourney",
        "Pelukis cat air Rudi Hermawan menemukan gaya lukisannya dijual sebagai paket prompt "
        "Midjourney di lokapasar. Ia meminta lokapasar menurunkan 120 paket prompt yang memakai "
        "namanya.",
    ),
    # Not about AI and artists: the scorer must leave these out of the digest.
    (
        "Harga Cabai Rawit di Pasar Induk Naik Dua Kali Lipat",
        "Harga cabai rawit di pasar induk naik dari Rp40 ribu menjadi Rp80 ribu per kilogram "
        "karena hujan deras merusak panen di sentra produksi.",
    ),
    (
        "Jalan Tol Baru Dibuka untuk Arus Mudik Akhir Tahun",
        "Kementerian membuka ruas jalan tol baru sepanjang 42 kilometer secara fungsional untuk "
        "mengurai kepadatan arus mudik akhir tahun.",
    ),
]

# Published only in the second poll: untrusted titles and text written to ping, format and
# phish on Discord. Plain text here; the feed carries them XML/HTML-escaped like a real feed.
HOSTILE: list[tuple[str, str]] = [
    (
        "@everyone Seniman Digital Protes Galeri NFT yang Jual Gambar AI Curian",
        "Seniman digital Tomi Hartono mendapati 48 karyanya dijual sebagai NFT setelah diolah "
        "ulang dengan AI generatif. Penggagas petisi menulis @everyone untuk mengajak seniman "
        "lain ikut menandatangani.",
    ),
    (
        "Band Indie <@&123456789012345678> Rilis Album Tanpa AI sebagai Sikap",
        "Band indie asal Bogor merilis album yang seluruhnya direkam tanpa alat musik AI sebagai "
        "sikap terhadap lagu buatan AI. Pesan di kanal penggemar berbunyi <@123456789012345678> "
        "jangan lewatkan konsernya.",
    ),
    (
        "**Eksklusif**: Penyanyi Dangdut Tuntut Aplikasi Kloning Suara AI",
        "Penyanyi dangdut Indah Safitri menuntut aplikasi kloning suara yang menjual model suara "
        "dirinya seharga Rp50 ribu. Pengumuman penjual berbunyi **bold** dan "
        "[klaim hadiah](https://evil.example/phish) untuk menarik pembeli.",
    ),
    (
        "Laporan Khusus: Ratusan Ilustrator, Komikus, Animator, Pelukis, dan Fotografer dari "
        "Tiga Puluh Kota Berkumpul di Jakarta untuk Menyusun __Piagam Seniman__ tentang AI "
        "Generatif, Data Latih, Persetujuan, Kompensasi yang Adil, Label Karya Buatan AI, serta "
        "Perlindungan Gaya dan Suara Pribadi dari Peniruan oleh Model Gambar, Video, dan Musik "
        "<@123456789012345678> @here",
        "Ratusan seniman dari tiga puluh kota menyusun piagam tentang AI generatif dan data latih "
        "di Jakarta. Piagam itu meminta persetujuan, kompensasi, dan label untuk karya buatan AI.",
    ),
]


# --------------------------------------------------------------------------- helpers


@dataclass
class FakeClock:
    """The scheduler's idea of now. ``sleep`` (the Sender's pacing) advances it and then runs
    ``on_sleep`` once, so a fault can be injected between two parts of one digest."""

    now: datetime
    slept: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        hook, self.on_sleep = self.on_sleep, None
        if hook is not None:
            hook()


def rss(title: str, site: str, items: Sequence[tuple[str, str, str, datetime]]) -> bytes:
    """An RSS 2.0 feed; ``items`` are (slug, title, plain text, published)."""
    entries = []
    for slug, item_title, text, published in items:
        body = f"<p>{html.escape(text, quote=False)}</p>"
        entries.append(
            "<item>"
            f"<title>{xml_escape(item_title)}</title>"
            f"<link>{site}{slug}?utm_source=rss</link>"
            f'<guid isPermaLink="false">{slug}</guid>'
            f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description><![CDATA[{body}]]></description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{xml_escape(title)}</title><link>{site}</link>"
        "<description>Berita uji</description><language>id</language>"
        f"{''.join(entries)}</channel></rss>"
    ).encode()


def user(uid: int) -> dict[str, Any]:
    return {"id": str(uid), "username": f"u{uid}", "discriminator": "0", "avatar": None}


def interaction(
    name: str,
    options: Sequence[dict[str, Any]] = (),
    *,
    user_id: int,
    perms: int,
    locale: str = "en-US",
) -> dict[str, Any]:
    """A guild-channel INTERACTION_CREATE (type 2) as Discord sends it."""
    return {
        "id": str(next(_ids)),
        "application_id": str(APP_ID),
        "type": 2,
        "token": f"itoken-{next(_ids)}",
        "version": 1,
        "locale": locale,
        "guild_locale": "id",
        "app_permissions": str(VIEW_CHANNEL | SEND_MESSAGES),
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
        "data": {"id": str(next(_ids)), "name": name, "type": 1, "options": list(options)},
        "guild_id": str(GUILD_ID),
        "guild": {"id": str(GUILD_ID), "locale": "id", "features": []},
        "channel_id": str(CHANNEL_ID),
        "channel": {
            "id": str(CHANNEL_ID),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": "berita-ai",
            "position": 0,
            "nsfw": False,
            "parent_id": None,
            "permission_overwrites": [],
            "flags": 0,
            "permissions": str(perms),
        },
        "member": {
            "user": user(user_id),
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": str(perms),
        },
        "context": 0,
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
    }


def opt(name: str, value: object) -> dict[str, Any]:
    return {"name": name, "type": 3, "value": value}


async def dispatch(adapter: DiscordAdapter, payload: dict[str, Any]) -> None:
    # What discord.py's gateway dispatch does with INTERACTION_CREATE (private, discord.py 2.x).
    inter: discord.Interaction[discord.Client] = discord.Interaction(
        data=payload,  # type: ignore[arg-type]
        state=adapter.client._connection,
    )
    await adapter.tree._call(inter)


def rendered_texts(body: dict[str, Any]) -> Iterator[str]:
    """Every text in a message body that Discord renders with markdown and mentions."""
    if body.get("content"):
        yield body["content"]
    for embed in body.get("embeds") or []:
        for key in ("title", "description"):
            if embed.get(key):
                yield embed[key]
        for f in embed.get("fields") or []:
            yield f.get("name") or ""
            yield f.get("value") or ""


def assert_within_discord_limits(body: dict[str, Any]) -> None:
    assert len(body.get("content") or "") <= 2000
    embeds = body.get("embeds") or []
    assert 1 <= len(embeds) <= 10
    total = 0
    for e in embeds:
        title, desc = e.get("title") or "", e.get("description") or ""
        footer = (e.get("footer") or {}).get("text") or ""
        author = (e.get("author") or {}).get("name") or ""
        fields = e.get("fields") or []
        assert len(title) <= 256
        assert len(desc) <= 4096
        assert len(footer) <= 2048
        assert len(author) <= 256
        assert len(fields) <= 25
        for f in fields:
            assert 1 <= len(f["name"]) <= 256
            assert 1 <= len(f["value"]) <= 1024
        total += len(title) + len(desc) + len(footer) + len(author)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    assert total <= 6000


def assert_cannot_ping_or_phish(body: dict[str, Any]) -> None:
    assert body["allowed_mentions"] == {"parse": []}
    for text in rendered_texts(body):
        assert not RAW_MENTION.search(text), text
        for target in RAW_MASKED_LINK.findall(text):
            assert "evil.example" not in target, text


# --------------------------------------------------------------------------- fixtures

rest = discord_rest.rest  # loopback Discord REST, Route.BASE pointed at it


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(feeds_file=str(tmp_path / "no-feeds.toml"), allow_loopback=True)
    opened = await App.open(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture
async def clock() -> FakeClock:
    return FakeClock(START.astimezone(UTC))


@pytest_asyncio.fixture
async def adapter(app: App, rest: DiscordREST, clock: FakeClock) -> AsyncIterator[DiscordAdapter]:
    adapter = DiscordAdapter(token=TOKEN, guild_id=GUILD_ID)
    core = build_core(app, {"discord": adapter}, make_summarizer(app.settings), now=clock)
    await adapter.start(core, connect_gateway=False)
    assert isinstance(core, CommandCore)
    try:
        yield adapter
    finally:
        await adapter.stop()


# --------------------------------------------------------------------------- the scenario


async def test_subscribe_digest_search_and_permissions_on_discord(
    app: App,
    rest: DiscordREST,
    adapter: DiscordAdapter,
    clock: FakeClock,
    feed_server: FeedServer,
) -> None:
    admin = VIEW_CHANNEL | SEND_MESSAGES | MANAGE_GUILD
    member = VIEW_CHANNEL | SEND_MESSAGES

    # 1. A member with Manage Server subscribes the channel; their client speaks English, the
    #    chosen digest language is Indonesian, so the answer is Indonesian.
    await dispatch(
        adapter,
        interaction(
            "subscribe",
            [opt("lang", "id"), opt("schedule", "daily 08:00")],
            user_id=ADMIN_ID,
            perms=admin,
        ),
    )
    [answer] = rest.interaction_callbacks
    assert answer["type"] == 4
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    reply = answer["data"]["content"]
    assert reply.startswith("Berlangganan!")
    assert "Jadwal:" in reply
    assert "08:00" in reply
    assert "Subscribed" not in reply
    sub = await app.store.get_subscription(CHANNEL)
    assert sub is not None
    assert (sub.lang, sub.schedule, sub.tz, sub.created_by) == (
        "id",
        "daily 08:00",
        "Asia/Jakarta",
        str(ADMIN_ID),
    )
    assert sub.next_run_at == EIGHT_WIB
    fire = EIGHT_WIB

    await dispatch(
        adapter,
        interaction("settings", [opt("changes", "max 20")], user_id=ADMIN_ID, perms=admin),
    )
    assert rest.interaction_callbacks[-1]["data"]["content"].startswith("Tersimpan.")
    sub = await app.store.get_subscription(CHANNEL)
    assert sub is not None
    assert sub.max_stories == 20

    # 2. Feeds on a loopback server, polled by the real poll job: a bundled sample feed (it
    #    carries the Sora story) and a feed of 26 stories (2 off-topic), first seen at 05:00.
    first_poll = fire - timedelta(hours=3)
    sample_path = feed_server.add_bytes(
        "/kabar-kreatif.xml", render_sample(sample_feeds()["kabar-kreatif.xml"], first_poll)
    )
    site = "https://warta-uji.example/berita/"
    baseline = [
        (f"uji-{i:02d}", title, text, first_poll - timedelta(hours=1 + i % 18))
        for i, (title, text) in enumerate(STORIES)
    ]
    wire_path = feed_server.add_bytes("/warta-uji.xml", rss("Warta Uji", site, baseline))
    for path in (sample_path, wire_path):
        await app.store.add_feed(
            Feed(url=feed_server.url(path), lang="id", interval_s=900, next_check_at=first_poll)
        )
    poll = make_poll_job(app)
    # Pacing between parts advances the fake clock instead of sleeping.
    sender = Sender(app.store, {"discord": adapter}, clock=clock, sleep=clock.sleep)

    clock.now = first_poll
    assert await poll(first_poll) == 2
    assert await compose_due(app.store, first_poll) == 0
    assert await sender.drain_once() == 0

    # An hour before 08:00 the hostile stories appear; still nothing is posted.
    clock.now = second_poll = fire - timedelta(hours=1)
    fresh = [
        (f"uji-baru-{i}", title, text, second_poll - timedelta(minutes=10 + i))
        for i, (title, text) in enumerate(HOSTILE)
    ]
    feed_server.set_body(wire_path, rss("Warta Uji", site, fresh + baseline))
    assert await poll(second_poll) == 2
    assert feed_server.stats(sample_path).not_modified == 1
    assert await compose_due(app.store, fire - timedelta(minutes=1)) == 0
    assert await app.store.list_deliveries() == []
    assert str(CHANNEL_ID) not in rest.messages

    # 3. The clock passes 08:00 WIB: one digest is composed (twice asked, once queued).
    after = fire + timedelta(minutes=1)
    assert await compose_due(app.store, after) == 1
    assert await compose_due(app.store, after) == 0
    [delivery] = await app.store.list_deliveries()
    digest = digest_from_json(delivery.payload)
    assert digest.lang == "id"
    window = await app.store.stories_between(fire - timedelta(days=1), fire)
    relevant = [s for s in window if (s.relevance or 0) >= app.scorer.threshold_for("id")]
    assert len(relevant) >= 30
    assert len(digest.entries) == 20  # capped by "max 20"
    expected = render_digest(digest)
    assert len(expected) >= 2

    # 4. Mid-digest, Discord answers 429 with a retry_after longer than discord.py waits
    #    (max_ratelimit_timeout is at least 30 s): the outbox must keep the rest for later.
    clock.now = after
    clock.on_sleep = lambda: rest.inject_429(MESSAGES, retry_after=120.0)
    assert await sender.drain_once() == 0
    assert len(rest.messages[str(CHANNEL_ID)]) == 1
    assert len(rest.requests_to("POST", MESSAGES)) == 2  # the 429 was not retried in-process
    [waiting] = await app.store.list_deliveries()
    assert waiting.state is DeliveryState.PENDING
    assert len(waiting.sent_parts) == 1
    assert waiting.not_before is not None
    assert waiting.not_before >= clock.now + timedelta(seconds=119)

    clock.advance(60)  # still inside retry_after: nothing is claimed, nothing is posted
    assert await sender.drain_once() == 0
    assert len(rest.requests_to("POST", MESSAGES)) == 2

    clock.advance(61)
    assert await sender.drain_once() == 1
    assert await sender.drain_once() == 0
    [done] = await app.store.list_deliveries()
    assert done.state is DeliveryState.SENT
    assert len(done.sent_parts) == len(expected)
    assert len(set(done.sent_parts)) == len(expected)

    posted = rest.messages[str(CHANNEL_ID)]
    # Every part exactly once, in order; the server's validator accepted each on first try
    # (it records only valid bodies, and one POST was the injected 429).
    assert len(posted) == len(expected)
    assert len(rest.requests_to("POST", MESSAGES)) == len(expected) + 1
    assert posted[0]["content"] == expected[0]["content"]
    assert posted[0]["content"] == "**Ringkasan AI & Seniman — 2 Jun 2025**"

    def shown(parts: Sequence[Any]) -> list[tuple[str, str, str]]:
        return [
            (e["title"], e.get("description", ""), e.get("url", ""))
            for part in parts
            for e in part["embeds"]
        ]

    assert shown(posted) == shown(expected)
    urls = [url for _, _, url in shown(posted)]
    assert len(urls) == len(set(urls)) == 20
    assert not any("utm_source" in u for u in urls)
    assert all(s >= 1.0 for s in clock.slept)  # parts to one channel were paced

    for body in posted:
        assert_within_discord_limits(body)
        assert_cannot_ping_or_phish(body)
    everything = "\n".join(text for body in posted for text in rendered_texts(body))
    assert "Cabai" not in everything  # not about AI and artists
    # The hostile text did arrive, neutralized rather than dropped.
    assert "@\u200beveryone Seniman Digital" in everything
    assert "\\<@\u200b&123456789012345678>" in everything
    assert "\\<@\u200b123456789012345678>" in everything
    assert "\\*\\*Eksklusif\\*\\*" in everything
    assert "\\*\\*bold\\*\\*" in everything
    assert "\\[klaim hadiah\\]\\(https://evil.example/phish)" in everything
    [long_title] = [title for title, _, url in shown(posted) if url.endswith("uji-baru-3")]
    assert len(long_title) == 256  # a 366-character feed title, clipped by the renderer
    assert long_title.endswith("…")
    assert "\\_\\_Piagam Seniman\\_\\_" in long_title

    # 5. /search sora: deferred ("thinking"), then a followup listing the Sora story.
    callbacks = len(rest.interaction_callbacks)
    await dispatch(
        adapter, interaction("search", [opt("query", "sora")], user_id=MEMBER_ID, perms=member)
    )
    assert rest.interaction_callbacks[callbacks]["type"] == 5
    [found] = rest.followups
    assert_cannot_ping_or_phish(found)
    assert found["content"] == t("search_header", "id", query="sora")
    listing = "\n".join(e["description"] for e in found["embeds"])
    assert "](https://kabarkreatif.example/teknologi/seniman-bocorkan-akses-sora)" in listing
    assert "Seniman Bocorkan Akses Sora" in listing

    # 6. A member without Manage Server/Manage Channels cannot add a feed; the refusal is in
    #    the channel's language, only they see it, and nothing was fetched or stored.
    feeds_before = sorted(f.url for f in await app.store.list_feeds())
    await dispatch(
        adapter,
        interaction(
            "feeds",
            [opt("action", "add"), opt("url", "https://feeds.example.org/ai-seni.xml")],
            user_id=MEMBER_ID,
            perms=member,
        ),
    )
    refusal = rest.interaction_callbacks[-1]
    assert refusal["type"] == 4
    assert int(refusal["data"]["flags"]) & EPHEMERAL
    assert refusal["data"]["content"] == t("not_admin", "id", command="feeds")
    assert sorted(f.url for f in await app.store.list_feeds()) == feeds_before
    assert len(feeds_before) == 2
