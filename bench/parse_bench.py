"""Parsing throughput: plain feedparser 6 vs Warta's parse_feed, in one run on the same bytes.

    python -m bench.parse_bench [--reps 7] [--news-feeds 40] [--no-fixtures]

Two corpora, each measured separately (every contender parses the same bytes):

* news (the headline figure: what Warta polls): generated, deterministic bilingual news feeds,
  half RSS 2.0 (teaser ``<description>`` + ``<content:encoded>``) and half Atom 1.0 (``summary``
  + ``content type="html"``), 20-50 items each, 1-3 KB of article HTML per item (paragraphs,
  links, a figure with caption, lists, entities, an embedded script and iframe), Indonesian or
  English text, RFC 822 / RFC 3339 dates and some Indonesian human dates.
* fixtures: the well-formed documents of feedparser's own test suite
  (../shared/corpora/feedparser-tests/wellformed; override the shared folder with
  WARTA_SHARED_DIR): tiny edge-case documents, most without entries, so Warta hands many of
  them to feedparser (its fallback) and the ratio there mostly measures fallback overhead.

Contenders:
  feedparser        feedparser.parse(bytes), default settings (sanitizes HTML): the baseline
  warta.parse       bot.feeds.parse.parse_feed: fast parser + vetting + feedparser fallback +
                    every field converted and capped; entry text is made on first read
  warta.poll        parse + entry_key + entry_hash of every entry: what a poll does with a
                    changed feed whose entries it already stored (the common case)
  warta.all-text    parse + the plain text of EVERY entry: what `warta inspect` and a first
                    (baseline) poll do; the worst case
  fast-raw          feedparser_rs.parse(bytes) alone with its default sanitizing, no conversion
  fast-raw-nosan    feedparser_rs.parse(bytes, sanitize_html=False), no conversion

Each pass runs every contender once over the whole corpus, interleaved, so background load
hits all of them alike; figures are medians over ``--reps`` passes. Project goal: warta >= 15x
plain feedparser on the news corpus.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import feedparser
import feedparser_rs

from bot.errors import ParseError
from bot.feeds.normalize import entry_hash, entry_key
from bot.feeds.parse import parse_feed

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WARTA_SHARED_DIR", ROOT.parent / "shared"))
FEED_URL = "https://bench.example/feed.xml"

# --------------------------------------------------------------------------- news corpus

_ID = {
    "subj": [
        "Para seniman",
        "Komunitas ilustrator Bandung",
        "Asosiasi musisi Indonesia",
        "Pengisi suara",
        "Sejumlah pelukis muda",
        "Pemerintah",
        "Perusahaan rintisan lokal",
    ],
    "verb": [
        "memprotes penggunaan",
        "menggugat pengembang",
        "menguji coba",
        "meminta aturan baru untuk",
        "mempersoalkan data pelatihan",
        "memamerkan karya dengan",
    ],
    "obj": [
        "model kecerdasan buatan generatif",
        "aplikasi pembuat gambar berbasis AI",
        "suara sintetis",
        "alat video AI",
        "sistem rekomendasi musik",
    ],
    "tail": [
        "di Jakarta pada Senin (12/5/2025).",
        "karena karya mereka dipakai tanpa izin.",
        "sebelum pameran dibuka untuk umum.",
        "menurut keterangan resmi yang diterima redaksi.",
        "dan meminta kompensasi yang adil bagi kreator.",
    ],
    "more": "Baca juga",
    "caption": "Foto: dokumentasi panitia",
}
_EN = {
    "subj": [
        "Artists",
        "A group of illustrators",
        "The musicians' union",
        "Voice actors",
        "Several young painters",
        "Regulators",
        "A local start-up",
    ],
    "verb": [
        "protested the use of",
        "sued the makers of",
        "tested",
        "called for new rules on",
        "questioned the training data behind",
        "exhibited work made with",
    ],
    "obj": [
        "generative AI models",
        "an AI image generator",
        "synthetic voices",
        "an AI video tool",
        "a music recommendation system",
    ],
    "tail": [
        "in London on Monday.",
        "because their work was used without consent.",
        "before the exhibition opened to the public.",
        "according to a statement seen by reporters.",
        "and asked for fair pay for creators.",
    ],
    "more": "Read more",
    "caption": "Photo: organisers",
}
_MONTHS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agt", "Sep", "Okt", "Nov", "Des"]
_NOW = datetime(2025, 5, 12, 10, 0, tzinfo=UTC)


def _sentence(rng: random.Random, words: dict[str, object]) -> str:
    parts = [rng.choice(words[k]) for k in ("subj", "verb", "obj", "tail")]  # type: ignore[arg-type]
    return " ".join(str(p) for p in parts)


def _article_html(rng: random.Random, words: dict[str, object], seed: int, i: int) -> str:
    """1-3 KB of article HTML with what news CMSs put in feeds."""
    target = rng.randint(800, 2600)
    out = [
        f'<figure><img src="https://img.news{seed}.example/{i}.jpg" alt="" width="640"/>'
        f"<figcaption>{words['caption']}</figcaption></figure>"
    ]
    size = len(out[0])
    n = 0
    while size < target:
        n += 1
        if n % 4 == 3:
            items = "".join(f"<li>{_sentence(rng, words)}</li>" for _ in range(3))
            block = f"<ul>{items}</ul>"
        else:
            block = (
                f"<p>{_sentence(rng, words)} <strong>{_sentence(rng, words)}</strong> "
                f'<a href="https://news{seed}.example/tag/{n}">{_sentence(rng, words)}</a>'
                f"&nbsp;&mdash; &ldquo;{_sentence(rng, words)}&rdquo;</p>"
            )
        out.append(block)
        size += len(block)
    out.append(
        '<blockquote class="twitter-tweet"><p>embed</p></blockquote>'
        '<script async src="https://platform.example/widgets.js"></script>'
        f'<p><iframe src="https://video.example/embed/{i}"></iframe></p>'
        f'<p>{words["more"]}: <a href="https://news{seed}.example/related/{i}">&raquo;</a></p>'
    )
    return "".join(out)


def news_feed(seed: int) -> bytes:
    """One realistic news feed: RSS 2.0 for even seeds, Atom 1.0 for odd ones."""
    rng = random.Random(seed)
    words = _ID if seed % 4 < 2 else _EN
    lang = "id" if words is _ID else "en"
    items = rng.randint(20, 50)
    if seed % 2 == 0:
        return _rss(rng, words, lang, seed, items)
    return _atom(rng, words, lang, seed, items)


def _rss(rng: random.Random, words: dict[str, object], lang: str, seed: int, n: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>\n'
        f"<title>Portal Berita {seed}</title><link>https://news{seed}.example/</link>"
        f"<description>Berita terkini</description><language>{lang}</language>\n"
    ]
    for i in range(n):
        when = _NOW - timedelta(minutes=37 * i)
        if lang == "id" and i % 5 == 4:
            month = _MONTHS_ID[when.month - 1]
            date = f"Senin, {when.day} {month} {when.year} {when:%H:%M} WIB"
        else:
            date = format_datetime(when)
        title = escape(_sentence(rng, words)[:100])
        teaser = escape(f"<p>{_sentence(rng, words)}</p>")
        parts.append(
            f"<item><title>{title}</title>"
            f"<link>https://news{seed}.example/read/{i}?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">news{seed}-{i}</guid><pubDate>{date}</pubDate>'
            f"<dc:creator>Redaksi {seed}</dc:creator><category>Teknologi</category>"
            f"<description>{teaser}</description>"
            f"<content:encoded><![CDATA[{_article_html(rng, words, seed, i)}]]></content:encoded>"
            f'<media:thumbnail url="https://img.news{seed}.example/{i}.jpg"/></item>\n'
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode()


def _atom(rng: random.Random, words: dict[str, object], lang: str, seed: int, n: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">\n'
        f'<title>Majalah {seed}</title><link href="https://mag{seed}.example/"/>'
        f"<id>tag:mag{seed}.example,2025:feed</id><updated>{_NOW.isoformat()}</updated>\n"
    ]
    for i in range(n):
        when = _NOW - timedelta(minutes=41 * i)
        parts.append(
            f"<entry><title>{escape(_sentence(rng, words)[:100])}</title>"
            f'<link rel="alternate" href="https://mag{seed}.example/{when:%Y/%m}/story-{i}"/>'
            f"<id>tag:mag{seed}.example,2025:{i}</id>"
            f"<published>{when.isoformat()}</published><updated>{when.isoformat()}</updated>"
            f"<author><name>Penulis {i % 7}</name></author>"
            f"<summary>{escape(_sentence(rng, words))}</summary>"
            f'<content type="html">{escape(_article_html(rng, words, seed, i))}</content>'
            "</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode()


def news_corpus(count: int) -> tuple[list[bytes], str]:
    docs = [news_feed(seed) for seed in range(count)]
    parsed = [feedparser_rs.parse(d, sanitize_html=False) for d in docs]
    entries = sum(len(p.entries) for p in parsed)
    html = [
        len(max((c.value for c in e.content), key=len, default=e.summary or ""))
        for p in parsed
        for e in p.entries
    ]
    size = sum(len(d) for d in docs)
    desc = (
        f"{count} generated news feeds ({count - count // 2} RSS 2.0, {count // 2} Atom 1.0; "
        f"id+en), {entries} entries, article HTML median {statistics.median(html):.0f} B "
        f"(range {min(html)}-{max(html)} B), {size / 1e6:.2f} MB"
    )
    return docs, desc


def fixture_corpus() -> tuple[list[bytes], str]:
    root = SHARED / "corpora" / "feedparser-tests" / "wellformed"
    if not root.is_dir():
        return [], "feedparser fixtures NOT FOUND (set WARTA_SHARED_DIR)"
    files = sorted(root.rglob("*.xml"))
    docs = [p.read_bytes() for p in files]
    size = sum(len(d) for d in docs)
    return docs, f"{len(docs)} feedparser well-formed fixtures, {size / 1e3:.0f} kB"


# --------------------------------------------------------------------------- contenders


def _feedparser(doc: bytes) -> None:
    feedparser.parse(doc)


def _warta_parse(doc: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_feed(doc, url=FEED_URL)


def _warta_poll(doc: bytes) -> None:
    with contextlib.suppress(ParseError):
        for entry in parse_feed(doc, url=FEED_URL).entries:
            entry_key(entry)
            entry_hash(entry)


def _warta_all_text(doc: bytes) -> None:
    with contextlib.suppress(ParseError):
        for entry in parse_feed(doc, url=FEED_URL).entries:
            _ = entry.text


def _fast_raw(doc: bytes) -> None:
    feedparser_rs.parse(doc)


def _fast_raw_nosan(doc: bytes) -> None:
    feedparser_rs.parse(doc, sanitize_html=False)


CONTENDERS: dict[str, Callable[[bytes], None]] = {
    "feedparser": _feedparser,
    "warta.parse": _warta_parse,
    "warta.poll": _warta_poll,
    "warta.all-text": _warta_all_text,
    "fast-raw": _fast_raw,
    "fast-raw-nosan": _fast_raw_nosan,
}


def served_by(docs: list[bytes]) -> Counter[str]:
    """Which parser answered each document in Warta's pipeline (fallbacks cost feedparser time)."""
    counts: Counter[str] = Counter()
    for doc in docs:
        try:
            counts[parse_feed(doc, url=FEED_URL).parser] += 1
        except ParseError:
            counts["refused"] += 1
    return counts


def measure(docs: list[bytes], reps: int) -> dict[str, float]:
    """Median seconds per pass over ``docs`` for every contender, passes interleaved."""
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for fn in CONTENDERS.values():
        fn(docs[0])  # warm imports and caches
    for _ in range(reps):
        for name, fn in CONTENDERS.items():
            start = time.perf_counter()
            for doc in docs:
                fn(doc)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, docs: list[bytes], description: str, reps: int) -> None:
    total_mb = sum(len(d) for d in docs) / 1e6
    print(f"== {title}: {description}")
    print(f"   median of {reps} interleaved passes; warta served by: {dict(served_by(docs))}")
    results = measure(docs, reps)
    base = results["feedparser"]
    for name, seconds in results.items():
        print(
            f"   {name:<15} {seconds * 1e3:9.1f} ms/pass {len(docs) / seconds:9.0f} docs/s "
            f"{total_mb / seconds:7.2f} MB/s   {base / seconds:6.1f}x feedparser"
        )
    print()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--news-feeds", type=int, default=40)
    ap.add_argument("--no-fixtures", action="store_true", help="news corpus only")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # feedparser warns on some fixtures; not what we measure

    docs, description = news_corpus(args.news_feeds)
    report("news corpus (headline; goal: warta >= 15x feedparser)", docs, description, args.reps)
    if not args.no_fixtures:
        fixtures, fdesc = fixture_corpus()
        if fixtures:
            report("feedparser fixtures (mixed, mostly tiny)", fixtures, fdesc, args.reps)
        else:
            print(f"== {fdesc}")


if __name__ == "__main__":
    main()
