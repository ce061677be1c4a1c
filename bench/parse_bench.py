"""Parsing throughput: plain feedparser vs Warta's parse_feed vs the raw fast parser.

    python -m bench.parse_bench [--reps 5] [--news-feeds 20] [--no-corpus]

Corpus (the same bytes for every contender, one run): the well-formed fixtures of
feedparser's own test suite (../shared/corpora/feedparser-tests/wellformed, tiny edge-case
documents; override the shared folder with WARTA_SHARED_DIR) plus generated realistic news
feeds (50 items each, HTML descriptions with paragraphs, links, images and a script tag,
Indonesian and English text, RFC 822 and Indonesian dates).

Contenders:
  feedparser   feedparser.parse(bytes) with default settings (sanitizes HTML)
  warta        bot.feeds.parse.parse_feed (fast path + feedparser fallback + html_to_text + caps)
  fast-raw     feedparser_rs.parse(bytes) alone, no conversion

Each contender parses the whole corpus ``--reps`` times; the median pass gives docs/s and MB/s.
Project goal: warta >= 15x plain feedparser.
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
from pathlib import Path

import feedparser
import feedparser_rs

from bot.errors import ParseError
from bot.feeds.parse import parse_feed

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WARTA_SHARED_DIR", ROOT.parent / "shared"))

_WORDS_ID = [
    "seniman",
    "kecerdasan",
    "buatan",
    "karya",
    "lukisan",
    "ilustrator",
    "model",
    "gambar",
    "data",
    "pelatihan",
    "hak",
    "cipta",
    "gugatan",
    "pameran",
    "musik",
    "penyanyi",
    "suara",
    "sintetis",
    "aplikasi",
    "pengguna",
    "perusahaan",
    "teknologi",
]
_WORDS_EN = [
    "artists",
    "generative",
    "model",
    "training",
    "data",
    "copyright",
    "lawsuit",
    "illustrators",
    "painting",
    "gallery",
    "music",
    "voice",
    "synthetic",
    "users",
    "company",
    "technology",
    "studio",
    "animation",
    "writers",
    "publishers",
]
_MONTHS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agt", "Sep", "Okt", "Nov", "Des"]


def _sentence(rng: random.Random, words: list[str]) -> str:
    body = " ".join(rng.choice(words) for _ in range(rng.randint(8, 20)))
    return body[0].upper() + body[1:] + "."


def news_feed(seed: int, items: int = 50) -> bytes:
    """A realistic news RSS 2.0 document with HTML descriptions."""
    rng = random.Random(seed)
    words = _WORDS_ID if seed % 2 else _WORDS_EN
    now = datetime(2025, 5, 12, 10, 0, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>Portal Berita {seed}</title><link>https://news{seed}.example/</link>"
        f"<language>{'id' if seed % 2 else 'en'}</language>\n"
    ]
    for i in range(items):
        when = now - timedelta(minutes=37 * i)
        if i % 5 == 4:
            date = f"Senin, {when.day} {_MONTHS_ID[when.month - 1]} {when.year} {when:%H:%M} WIB"
        else:
            date = format_datetime(when)
        paras = "".join(
            f"<p>{_sentence(rng, words)} <a href='https://news{seed}.example/t/{i}'>"
            f"{rng.choice(words)}</a> {_sentence(rng, words)} &amp; {_sentence(rng, words)}</p>"
            for _ in range(rng.randint(2, 5))
        )
        html = (
            f"<img src='https://img.example/{seed}/{i}.jpg' alt='foto'/>{paras}"
            "<script>track()</script><div class='share'>Bagikan &raquo;</div>"
        )
        parts.append(
            f"<item><title>{_sentence(rng, words)[:90]} &amp; lainnya</title>"
            f"<link>https://news{seed}.example/read/{i}?utm_source=rss</link>"
            f'<guid isPermaLink="false">n{seed}-{i}</guid><pubDate>{date}</pubDate>'
            f"<dc:creator>Redaksi</dc:creator>"
            f"<description><![CDATA[{html}]]></description>"
            f'<media:thumbnail url="https://img.example/{seed}/{i}.jpg"/></item>\n'
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode()


def load_corpus(news_feeds: int, use_fixtures: bool) -> tuple[list[bytes], str]:
    docs: list[bytes] = []
    described: list[str] = []
    fixtures = SHARED / "corpora" / "feedparser-tests" / "wellformed"
    if use_fixtures:
        if fixtures.is_dir():
            files = sorted(p for p in fixtures.rglob("*.xml"))
            docs.extend(p.read_bytes() for p in files)
            size = sum(len(d) for d in docs)
            described.append(f"{len(files)} feedparser well-formed fixtures ({size / 1e3:.0f} kB)")
        else:
            described.append("feedparser fixtures NOT FOUND (set WARTA_SHARED_DIR)")
    generated = [news_feed(seed) for seed in range(news_feeds)]
    docs.extend(generated)
    gsize = sum(len(d) for d in generated)
    described.append(
        f"{len(generated)} generated 50-item news feeds with HTML descriptions "
        f"({gsize / 1e6:.2f} MB)"
    )
    return docs, " + ".join(described)


def _feedparser(doc: bytes) -> None:
    feedparser.parse(doc)


def _warta(doc: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_feed(doc, url="https://bench.example/feed.xml")


def served_by(docs: list[bytes]) -> Counter[str]:
    """Which parser answered each document in Warta's pipeline (fallbacks cost feedparser time)."""
    counts: Counter[str] = Counter()
    for doc in docs:
        try:
            counts[parse_feed(doc).parser] += 1
        except ParseError:
            counts["refused"] += 1
    return counts


def _fast_raw(doc: bytes) -> None:
    feedparser_rs.parse(doc)


def measure(fn: Callable[[bytes], None], docs: list[bytes], reps: int) -> float:
    """Median seconds for one pass over ``docs``."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for doc in docs:
            fn(doc)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--news-feeds", type=int, default=20)
    ap.add_argument("--no-corpus", action="store_true", help="generated news feeds only")
    args = ap.parse_args(argv)

    docs, description = load_corpus(args.news_feeds, not args.no_corpus)
    total_mb = sum(len(d) for d in docs) / 1e6
    print(f"corpus: {description}; {len(docs)} documents, {total_mb:.2f} MB")
    print(f"median of {args.reps} passes; warta served by: {dict(served_by(docs))}\n")

    warnings.simplefilter("ignore")  # feedparser warns on some fixtures; not what we measure
    results: dict[str, float] = {}
    for name, fn in (("feedparser", _feedparser), ("warta", _warta), ("fast-raw", _fast_raw)):
        fn(docs[0])  # warm imports and caches
        seconds = measure(fn, docs, args.reps)
        results[name] = seconds
        print(
            f"{name:<11} {seconds:8.3f} s/pass  {len(docs) / seconds:9.0f} docs/s  "
            f"{total_mb / seconds:7.2f} MB/s"
        )
    base = results["feedparser"]
    print()
    print(f"speedup warta    vs feedparser: {base / results['warta']:.1f}x  (goal >= 15x)")
    print(f"speedup fast-raw vs feedparser: {base / results['fast-raw']:.1f}x")


if __name__ == "__main__":
    main()
