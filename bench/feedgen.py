"""Deterministic, realistic-looking news RSS for benchmarks.

    from bench.feedgen import news_feed
    body: bytes = news_feed(feed=17, version=3)

Feed ``i`` at ``version`` ``v`` holds the newest ``ITEMS`` stories. Each version prepends
``NEW_PER_VERSION`` new stories and edits one story that is still in the window (its title gets an
"updated" mark and its text an extra paragraph), so a poll of version ``v+1`` after ``v`` finds
exactly 2 new entries and 1 changed entry, the rest identical byte for byte.

Stories are built from templates with per-story fill-ins (names, places, numbers), so no two
texts are equal and nothing can be served from a cache keyed by text. Languages: about half
the feeds are Indonesian, the others English, and one in ten mixes both per item; about 60 %
declare ``<language>`` (the others make the reader detect it). About one story in eight is
about AI and artists, the rest are AI-but-not-art, art-but-not-AI and general news, in the
2-4 paragraph HTML descriptions (escaped or CDATA, as real feeds vary) that news sites send.

Everything is a pure function of (feed, version): the server process and any checker agree
without sharing state.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

ITEMS = 20
NEW_PER_VERSION = 2
EDIT_POSITION = 5  # which slot of the new window gets edited in each version
_EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
_STEP = timedelta(minutes=37)

# --------------------------------------------------------------------------- vocabulary

_PEOPLE = [
    "Rina Wulandari",
    "Budi Santoso",
    "Dewi Lestari",
    "Agus Prasetyo",
    "Siti Nurhaliza",
    "Maya Hartono",
    "Sarah Collins",
    "James Porter",
    "Aiko Tanaka",
    "Miguel Herrera",
    "Priya Raman",
    "Tom Whitfield",
    "Eka Kurniawan",
    "Laras Ayuningtyas",
]
_CITIES_ID = ["Jakarta", "Bandung", "Yogyakarta", "Surabaya", "Denpasar", "Medan", "Makassar"]
_CITIES_EN = ["London", "New York", "Los Angeles", "Berlin", "Tokyo", "Toronto", "Sydney"]
_AI_COS = ["OpenAI", "Stability AI", "Midjourney", "Google", "Adobe", "Meta", "Runway", "Suno"]
_MODELS = ["Sora", "Stable Diffusion", "Midjourney v7", "Firefly", "Imagen", "Udio", "Veo"]
_ART_JOBS_EN = ["illustrators", "painters", "musicians", "voice actors", "photographers", "writers"]
_ART_JOBS_ID = ["ilustrator", "pelukis", "musisi", "pengisi suara", "fotografer", "penulis"]
_ORGS_ID = ["Kementerian Keuangan", "Bank Indonesia", "DPR", "BMKG", "Pemprov DKI", "KPK", "OJK"]
_ORGS_EN = ["the Treasury", "the central bank", "the city council", "Parliament", "the FDA"]
_TEAMS = ["Persija", "Persib", "Arema", "Bali United", "Arsenal", "Real Madrid", "Lakers"]

_Fill = dict[str, str]


def _fill(rng: random.Random, lang: str) -> _Fill:
    cities = _CITIES_ID if lang == "id" else _CITIES_EN
    return {
        "person": rng.choice(_PEOPLE),
        "person2": rng.choice(_PEOPLE),
        "city": rng.choice(cities),
        "co": rng.choice(_AI_COS),
        "model": rng.choice(_MODELS),
        "job": rng.choice(_ART_JOBS_ID if lang == "id" else _ART_JOBS_EN),
        "org": rng.choice(_ORGS_ID if lang == "id" else _ORGS_EN),
        "team": rng.choice(_TEAMS),
        "team2": rng.choice(_TEAMS),
        "n": str(rng.randint(3, 950)),
        "pct": f"{rng.randint(2, 60)}",
        "money": f"{rng.randint(2, 900)}",
        "year": str(rng.randint(2019, 2026)),
        "day": rng.choice(
            ["Senin", "Selasa", "Rabu", "Kamis", "Jumat"]
            if lang == "id"
            else ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
        ),
    }


# (titles, sentences) per language and kind. Sentences are news-register, 12-30 words.
_T: dict[tuple[str, str], tuple[list[str], list[str]]] = {
    ("en", "ai_art"): (
        [
            "{job} sue {co} over training data used for {model}",
            "Gallery in {city} pulls show after AI-generated works slip in",
            "{co} offers opt-out to {job} as {model} criticism grows",
            "Union of {job} demands consent and pay for AI training",
            "AI-made album tops chart, stirring anger among {job}",
        ],
        [
            "A group of {n} {job} filed a lawsuit on {day} claiming {co} trained {model} on "
            "their work without permission or payment.",
            "{person}, who has worked as an illustrator for {n} years, said her style now "
            "appears in images generated in seconds by {model}.",
            "{co} said in a statement that it respects copyright and offers creators a way to "
            "remove their work from future training sets.",
            "Critics argue that opt-out schemes put the burden on {job}, who rarely know their "
            "portfolios were scraped in the first place.",
            "The case in {city} is one of several that will test how copyright law treats "
            "generative AI models trained on artworks.",
            "Organisers said {pct} percent of submissions this year were flagged as possibly "
            "made with image generators such as {model}.",
            "{person2}, a lawyer advising the {job}, said the outcome could set a precedent for "
            "licensing creative work to AI companies.",
            "Some artists have started adding invisible perturbations to their images so that "
            "AI training on them produces distorted results.",
        ],
    ),
    ("id", "ai_art"): (
        [
            "{job} gugat {co} soal data latih {model}",
            "Pameran di {city} ditarik setelah karya buatan AI lolos kurasi",
            "{co} tawarkan opsi keluar bagi {job} di tengah kritik atas {model}",
            "Asosiasi {job} tuntut izin dan bayaran untuk pelatihan AI",
            "Lagu buatan AI puncaki tangga lagu, {job} protes",
        ],
        [
            "Sebanyak {n} {job} mengajukan gugatan pada {day} karena {co} diduga melatih "
            "{model} dengan karya mereka tanpa izin.",
            "{person}, yang sudah {n} tahun bekerja sebagai ilustrator, mengatakan gaya "
            "gambarnya kini muncul dalam gambar buatan {model}.",
            "Pihak {co} menyatakan perusahaan menghormati hak cipta dan menyediakan cara bagi "
            "kreator untuk mengeluarkan karyanya dari data latih.",
            "Para pengkritik menilai mekanisme opsi keluar membebani {job} yang sering tidak "
            "tahu karyanya telah diambil.",
            "Kasus di {city} ini menjadi salah satu ujian bagaimana hukum hak cipta "
            "memperlakukan kecerdasan buatan generatif.",
            "Panitia menyebut {pct} persen karya yang masuk tahun ini ditandai kemungkinan "
            "dibuat dengan generator gambar seperti {model}.",
            "{person2}, kuasa hukum para {job}, mengatakan putusan perkara ini bisa menjadi "
            "acuan lisensi karya kreatif bagi perusahaan AI.",
        ],
    ),
    ("en", "ai_other"): (
        [
            "{co} unveils new model as race with rivals heats up",
            "Data centres for AI push power demand in {city} to a record",
            "Regulators in {city} open inquiry into {co} chatbot",
        ],
        [
            "{co} said on {day} that its new system answers questions {pct} percent faster "
            "than the version released in {year}.",
            "Analysts expect spending on AI chips to reach {money} billion dollars this year, "
            "driven by cloud providers.",
            "The inquiry will examine how the chatbot handles personal data and whether users "
            "were told their conversations could be used for training.",
            "Energy officials warned that {n} new data centres could strain the grid during "
            "summer peaks.",
            "{person} of {org} said the rules would apply to any system deployed to more than "
            "a million users.",
        ],
    ),
    ("id", "ai_other"): (
        [
            "{co} rilis model baru di tengah persaingan ketat",
            "Pusat data AI dorong kebutuhan listrik di {city}",
            "Pemerintah kaji aturan kecerdasan buatan untuk layanan publik",
        ],
        [
            "{co} pada {day} mengumumkan sistem barunya menjawab pertanyaan {pct} persen lebih "
            "cepat dibanding versi tahun {year}.",
            "Analis memperkirakan belanja cip AI mencapai {money} miliar dolar tahun ini.",
            "Kajian tersebut akan menilai bagaimana chatbot mengelola data pribadi pengguna.",
            "PLN memperkirakan {n} pusat data baru membutuhkan tambahan pasokan listrik.",
            "{person} dari {org} mengatakan aturan itu berlaku bagi sistem dengan lebih dari "
            "satu juta pengguna.",
        ],
    ),
    ("en", "art"): (
        [
            "{city} museum opens retrospective of {person}",
            "Film festival in {city} announces {n} titles in competition",
            "Orchestra cancels tour after funding cut",
        ],
        [
            "The exhibition brings together {n} paintings and drawings, many shown in public "
            "for the first time since {year}.",
            "Curator {person2} said the show traces how the artist's palette changed after "
            "moving to {city}.",
            "Tickets for the opening weekend sold out within hours, the organisers said on {day}.",
            "The festival's budget was cut by {pct} percent, forcing organisers to drop two "
            "side programmes.",
        ],
    ),
    ("id", "art"): (
        [
            "Museum di {city} gelar retrospeksi karya {person}",
            "Festival film {city} umumkan {n} judul kompetisi",
            "Pertunjukan wayang kulit meriahkan malam budaya di {city}",
        ],
        [
            "Pameran itu menghadirkan {n} lukisan dan sketsa, sebagian belum pernah "
            "dipamerkan sejak {year}.",
            "Kurator {person2} mengatakan pameran ini menelusuri perubahan warna dalam karya "
            "sang pelukis setelah pindah ke {city}.",
            "Tiket pembukaan habis terjual dalam hitungan jam, ujar panitia pada hari {day}.",
            "Anggaran festival dipangkas {pct} persen sehingga dua program pendamping batal.",
        ],
    ),
    ("en", "news"): (
        [
            "{org} holds rates steady as inflation eases",
            "Floods cut roads around {city} after days of rain",
            "{team} beat {team2} in late comeback",
            "Council in {city} approves {money} million transit plan",
            "Heatwave warning issued for {city} as temperatures climb",
        ],
        [
            "Officials said on {day} that {n} households had been moved to temporary shelters "
            "as water levels kept rising.",
            "{org} said inflation slowed to {pct} percent, giving policymakers room to wait "
            "before the next move.",
            "{person} scored twice in the final ten minutes to seal the win in front of a "
            "crowd of {n} thousand.",
            "The plan adds {n} kilometres of bus lanes and is expected to be finished by "
            "{year}, according to the city.",
            "Residents were told to avoid travel unless necessary and to check the weather "
            "service for updates.",
            "Opposition members questioned the cost, saying the estimate of {money} million "
            "was likely to rise.",
            "{person2}, a local shop owner, said business had fallen by {pct} percent since "
            "the start of the month.",
        ],
    ),
    ("id", "news"): (
        [
            "{org} pertahankan suku bunga, inflasi melandai",
            "Banjir putus akses jalan di {city} setelah hujan berhari-hari",
            "{team} kalahkan {team2} lewat gol di menit akhir",
            "Pemkot {city} setujui anggaran transportasi Rp {money} miliar",
            "BMKG peringatkan cuaca panas ekstrem di {city}",
        ],
        [
            "Petugas pada {day} menyebut {n} kepala keluarga telah dievakuasi ke tempat "
            "pengungsian sementara.",
            "{org} mencatat inflasi melambat menjadi {pct} persen sehingga ada ruang untuk "
            "menahan suku bunga.",
            "{person} mencetak dua gol dalam sepuluh menit terakhir di hadapan {n} ribu penonton.",
            "Rencana itu menambah {n} kilometer jalur bus dan ditargetkan rampung pada {year}, "
            "kata pejabat setempat.",
            "Warga diminta tidak bepergian jika tidak mendesak dan terus memantau informasi cuaca.",
            "Anggota dewan mempertanyakan biaya sebesar Rp {money} miliar yang dinilai masih "
            "bisa membengkak.",
            "{person2}, pemilik toko di kawasan itu, mengatakan omzetnya turun {pct} persen "
            "sejak awal bulan.",
        ],
    ),
}

_COMMON = {
    "en": [
        "{person} told reporters in {city} that more details would be released next week.",
        "The figures were published on {day} in a report covering the first {n} days of the year.",
        "It was not immediately clear how many people would be affected by the decision.",
        "A spokesperson declined to comment further, citing ongoing discussions with {org}.",
        "The announcement follows months of debate that began in {year}.",
        "Observers said the next few weeks would show whether the approach works in practice.",
    ],
    "id": [
        "{person} kepada wartawan di {city} mengatakan rincian lebih lanjut akan disampaikan "
        "pekan depan.",
        "Data tersebut dirilis pada hari {day} dalam laporan yang mencakup {n} hari pertama "
        "tahun ini.",
        "Belum jelas berapa banyak warga yang akan terdampak oleh keputusan itu.",
        "Juru bicara menolak berkomentar lebih jauh karena pembahasan dengan {org} masih "
        "berlangsung.",
        "Pengumuman ini menyusul perdebatan panjang yang dimulai sejak {year}.",
        "Pengamat menilai beberapa pekan ke depan akan menunjukkan apakah langkah ini efektif.",
    ],
}


def _cap(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


_KINDS = ["ai_art"] * 12 + ["ai_other"] * 12 + ["art"] * 12 + ["news"] * 64  # percent
_UPDATE = {
    "en": ("(updated)", "Update: {org} said on {day} it would review the matter within {n} days."),
    "id": (
        "(diperbarui)",
        "Pembaruan: {org} pada {day} menyatakan akan meninjau perkara ini dalam {n} hari.",
    ),
}


# --------------------------------------------------------------------------- feed shape


def feed_lang(feed: int) -> str:
    """``id``, ``en`` or ``mixed`` (per item), stable per feed."""
    r = random.Random(f"lang:{feed}").random()
    return "mixed" if r < 0.1 else ("id" if r < 0.55 else "en")


def declares_lang(feed: int) -> bool:
    return feed_lang(feed) != "mixed" and random.Random(f"decl:{feed}").random() < 0.6


def _host(feed: int) -> str:
    return f"news{feed}.example"


def _story_lang(feed: int, n: int) -> str:
    lang = feed_lang(feed)
    if lang != "mixed":
        return lang
    return "id" if random.Random(f"mix:{feed}:{n}").random() < 0.5 else "en"


def edited(n: int, version: int) -> bool:
    """Whether story ``n`` has been edited by ``version``. Version k (k >= 1) edits the story
    in slot EDIT_POSITION of its window, i.e. story ``ITEMS + NEW_PER_VERSION * k - 1 -
    EDIT_POSITION``; each story is edited at most once."""
    first = ITEMS + NEW_PER_VERSION - 1 - EDIT_POSITION  # the story version 1 edits
    off = n - first
    return off >= 0 and off % NEW_PER_VERSION == 0 and off // NEW_PER_VERSION + 1 <= version


def _item(feed: int, n: int, version: int) -> str:
    rng = random.Random(f"story:{feed}:{n}")
    lang = _story_lang(feed, n)
    kind = rng.choice(_KINDS)
    titles, sentences = _T[(lang, kind)]
    f = _fill(rng, lang)
    title = rng.choice(titles).format(**f)
    title = _cap(title)
    # Topic sentences first, then generic ones; none repeats within a story.
    pool = rng.sample(sentences, len(sentences)) + rng.sample(_COMMON[lang], len(_COMMON[lang]))
    paras: list[str] = []
    for _ in range(rng.randint(2, 4)):
        picked, pool = pool[: rng.randint(2, 3)], pool[3:]
        if picked:
            paras.append(" ".join(_cap(s.format(**f)) for s in picked))
    # The link comes from the original title: an edit must not change the story's identity.
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:6])
    if edited(n, version):
        mark, extra = _UPDATE[lang]
        title = f"{title} {mark}"
        paras.append(extra.format(**f))
    host = _host(feed)
    link = f"https://{host}/2026/{n % 12 + 1:02d}/{slug}-{n}"
    when = format_datetime(_EPOCH + _STEP * n, usegmt=True)
    html = "".join(
        f"<p>{'<b>' + escape(f['city']) + '</b> &mdash; ' if i == 0 else ''}{escape(p)}</p>"
        for i, p in enumerate(paras)
    )
    if rng.random() < 0.3:
        html += f'<p><img src="https://{host}/img/{n}.jpg" alt="" width="640"></p>'
    html += f'<p><a href="{link}?utm_source=rss">{"Baca" if lang == "id" else "Read"}</a></p>'
    style = rng.random()
    desc = f"<![CDATA[{html}]]>" if style < 0.5 else escape(html, quote=False)
    guid = (
        f'<guid isPermaLink="false">{host}:{n}</guid>'
        if style < 0.7
        else f'<guid isPermaLink="true">{link}</guid>'
    )
    return (
        f"<item><title>{escape(title, quote=False)}</title><link>{link}</link>{guid}"
        f"<pubDate>{when}</pubDate><dc:creator>{escape(f['person2'])}</dc:creator>"
        f"<category>{kind}</category><description>{desc}</description></item>"
    )


def news_feed(feed: int, version: int = 0) -> bytes:
    """The RSS 2.0 document of ``feed`` at ``version`` (newest story first)."""
    top = ITEMS + NEW_PER_VERSION * version  # stories 0 .. top-1 exist
    items = "".join(_item(feed, n, version) for n in range(top - 1, top - 1 - ITEMS, -1))
    lang = feed_lang(feed)
    language = f"<language>{lang}</language>" if declares_lang(feed) else ""
    title = f"{'Berita' if lang == 'id' else 'News'} {feed}"
    newest = format_datetime(_EPOCH + _STEP * (top - 1), usegmt=True)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>https://{_host(feed)}/</link>"
        f"<description>{title} RSS</description>{language}"
        f"<lastBuildDate>{newest}</lastBuildDate>{items}</channel></rss>"
    ).encode()


_DESCRIPTION = re.compile(r"<description>(.*?)</description>", re.DOTALL)


def long_feed(feed: int, items: int = 500, stories_per_item: int = 4) -> bytes:
    """A large feed: ``items`` entries, each with the text of ``stories_per_item`` stories (a
    long article of ~4-6 KB of HTML), as some portals publish full text in their feeds. For
    the loop-lag bench and tests: its parse and analysis take seconds of CPU."""
    parts = []
    for n in range(items):
        first = _item(feed, n * stories_per_item, 0)
        bodies = [first] + [
            _item(feed, n * stories_per_item + k, 0) for k in range(1, stories_per_item)
        ]
        texts = []
        for body in bodies:
            m = _DESCRIPTION.search(body)
            text = m.group(1) if m else ""
            if text.startswith("<![CDATA["):
                text = escape(text[9:-3], quote=False)
            texts.append(text)
        desc = f"<description>{''.join(texts)}</description>"
        span = _DESCRIPTION.search(first)
        assert span is not None
        parts.append(first[: span.start()] + desc + first[span.end() :])
    lang = feed_lang(feed)
    title = f"{'Arsip' if lang == 'id' else 'Archive'} {feed}"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>https://{_host(feed)}/</link>"
        f"<description>{title} RSS</description>{''.join(parts)}</channel></rss>"
    ).encode()
