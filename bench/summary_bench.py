"""Memory and event-loop stalls of many concurrent /summary of one heavy page.

    python -m bench.summary_bench [--runs 8,24] [--page-mb 7.9] [--wait 20]

A loopback server (in this process) serves one ~7.9 MB HTML page shaped like a heavy news
site: the article, navigation, related links with inline SVG icons, a big inline JSON state
script, inline CSS and base64 images. For each N in ``--runs``, two *child processes* each send
N concurrent ``/summary <url>`` through ``CommandCore.handle`` (real Fetcher, real extraction,
real extractive summarizer, a SQLite store):

* ``limited``: the gate as the app builds it from settings (``summary_fetch_concurrency``,
  ``summary_fetch_total_bytes``, ``fetch_max_bytes``);
* ``baseline``: the same code with the limits disabled (concurrency and byte budget 1000x).

Each child reports its peak RSS (``ru_maxrss``), the RSS before the run (modules imported,
page not yet fetched), the largest event-loop lag seen by a 10 ms ticker, wall time and how
the N replies came out (summary / "busy, try again" / other errors). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import Settings

ARTICLE_TITLE = "Seniman Bocorkan Akses Sora sebagai Protes"
SENTENCES = (
    "Sekelompok seniman yang mendapat akses awal ke Sora, alat video AI milik OpenAI, "
    "membocorkan akses itu lewat Hugging Face sebagai bentuk protes.",
    "Akses dibuka sekitar tiga jam sebelum OpenAI menutupnya pada Selasa sore.",
    "Para seniman menerbitkan surat terbuka dan petisi agar OpenAI membayar seniman atas "
    "karya mereka.",
    "Mereka menilai program akses awal hanya memanfaatkan tenaga kreatif tanpa imbalan.",
    "Ilustrator di Bandung menyebut pesanan dari klien turun hampir separuh tahun ini.",
    "OpenAI mengatakan ratusan seniman telah membantu menguji Sora secara sukarela.",
)


def heavy_page(target_bytes: int) -> bytes:
    """An HTML page of about ``target_bytes`` whose article is a few KB of it."""
    rnd = random.Random(7)
    article = "".join(f"<p>Paragraf {i}: {SENTENCES[i % len(SENTENCES)]}</p>" for i in range(40))
    nav = "<nav>" + "".join(f'<a href="/k/{i}">Kategori {i}</a>' for i in range(200)) + "</nav>"
    icon = (
        "<svg viewBox='0 0 24 24'>"
        + "".join(f"<path d='M{i} {i}L{i + 1} {i + 2}'/>" for i in range(40))
        + "</svg>"
    )
    related = "".join(f'<li><a href="/r/{i}">{icon}Berita terkait {i}</a></li>' for i in range(300))
    state = json.dumps({"props": [{"id": i, "t": "x" * 60} for i in range(20000)]})
    parts = [
        "<html><head><title>Seniman Protes AI</title><style>",
        "body{margin:0}" * 20000,
        "</style></head><body>",
        nav,
        f"<article><h1>{ARTICLE_TITLE}</h1>{article}</article>",
        f"<ul class='related'>{related}</ul>",
        f'<script id="__NEXT_DATA__" type="application/json">{state}</script>',
    ]
    size = sum(map(len, parts)) + len("</body></html>")
    while size < target_bytes:
        n = min(300_000, (target_bytes - size) * 3 // 4)
        img = base64.b64encode(rnd.randbytes(max(n, 3))).decode()
        tag = f'<img alt="foto" src="data:image/jpeg;base64,{img}">'
        parts.append(tag)
        size += len(tag)
    parts.append("</body></html>")
    return "".join(parts).encode()


# --------------------------------------------------------------------------- child: one run


async def _child(url: str, n: int, mode: str, wait_s: float) -> dict[str, Any]:
    from bot.analyze import default_scorer, story_lang
    from bot.commands import CommandCore, Invocation
    from bot.commands.lookups import _extract_article
    from bot.feeds.fetch import Fetcher
    from bot.lang.strings import t
    from bot.limits import FetchGate
    from bot.models import ChannelRef
    from bot.store import open_store
    from bot.summarize.extractive import ExtractiveSummarizer, summarize_text

    settings = Settings()
    scale = 1 if mode == "limited" else 1000
    gate = FetchGate(
        concurrency=settings.summary_fetch_concurrency * scale,
        total_bytes=settings.summary_fetch_total_bytes * scale,
        wait_s=wait_s,
    )
    # Load every lazily loaded model first (trafilatura, the language identifier, the
    # scorer's lexicon): one-time costs that are not what this bench measures.
    _extract_article(b"<html><body><p>warm up the imports</p></body></html>")
    scorer = default_scorer()
    warm = "Seniman memprotes pemakaian karya mereka. Mereka menuntut imbalan yang layak."
    story_lang("Seniman", warm)
    summarize_text("Seniman", warm, "id")
    scorer.score("Seniman", warm, "id")
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite+aiosqlite:///{tmp}/bench.db")
        core = CommandCore(
            store,
            fetcher_factory=lambda: Fetcher(
                allow_private=False,
                allow_loopback=True,
                timeout_s=300,
                max_bytes=settings.fetch_max_bytes,
            ),
            summarizer=ExtractiveSummarizer(),
            scorer=scorer,
            fetch_gate=gate,
            fetch_max_bytes=settings.fetch_max_bytes,
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lag = 0.0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal lag
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                start = loop.time()
                await asyncio.sleep(0.01)
                lag = max(lag, loop.time() - start - 0.01)

        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        replies = await asyncio.gather(
            *(
                core.handle(
                    Invocation("summary", url, ChannelRef("bench", str(i)), f"u{i}", True, "en")
                )
                for i in range(n)
            )
        )
        wall = time.perf_counter() - started
        stop.set()
        await tick
        await store.close()
    busy_text = t("summary_busy", "en")
    outcome = Counter(
        "busy" if r.text == busy_text else "error" if r.error else "summary" for r in replies
    )
    errors = sorted({r.text[:80] for r in replies if r.error and r.text != busy_text})
    return {
        "mode": mode,
        "n": n,
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "max_loop_lag_ms": lag * 1000,
        "wall_s": wall,
        "outcome": dict(outcome),
        "errors": errors,
        "peak_reserved_mb": gate.peak_reserved / 2**20,
    }


# --------------------------------------------------------------------------- parent


async def _serve(page: bytes) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/heavy.html", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/heavy.html"


async def _run_child(url: str, n: int, mode: str, wait_s: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.summary_bench",
        "--child",
        url,
        str(n),
        mode,
        str(wait_s),
        stdout=subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"child {mode} n={n} failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def _main(runs: list[int], page_mb: float, wait_s: float) -> None:
    page = heavy_page(int(page_mb * 1e6))
    settings = Settings()
    runner, url = await _serve(page)
    print(
        f"page {len(page) / 1e6:.2f} MB; limits: {settings.summary_fetch_concurrency} fetches, "
        f"{settings.summary_fetch_total_bytes / 2**20:.0f} MiB together, "
        f"{settings.fetch_max_bytes / 2**20:.0f} MiB per page; baseline: both x1000"
    )
    header = (
        f"{'N':>3} {'mode':<9} {'peak RSS':>9} {'RSS before':>10} {'max lag':>8} "
        f"{'wall':>7} {'reserved':>9}  replies"
    )
    print(header)
    try:
        for n in runs:
            for mode in ("baseline", "limited"):
                r = await _run_child(url, n, mode, wait_s)
                replies = ", ".join(f"{k} {v}" for k, v in sorted(r["outcome"].items()))
                print(
                    f"{n:>3} {mode:<9} {r['peak_rss_mb']:>6.0f} MB {r['rss_before_mb']:>7.0f} MB "
                    f"{r['max_loop_lag_ms']:>5.0f} ms {r['wall_s']:>5.1f} s "
                    f"{r['peak_reserved_mb']:>6.0f} MiB  {replies}"
                )
                for e in r["errors"]:
                    print(f"      error reply: {e}")
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        url, n, mode, wait_s = argv[1], int(argv[2]), argv[3], float(argv[4])
        print(json.dumps(asyncio.run(_child(url, n, mode, wait_s))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="8,24", help="concurrent /summary counts, e.g. 8,24")
    parser.add_argument("--page-mb", type=float, default=7.9)
    parser.add_argument("--wait", type=float, default=20.0, help="the gate's wait before busy")
    args = parser.parse_args(argv)
    runs = [int(x) for x in args.runs.split(",") if x.strip()]
    asyncio.run(_main(runs, args.page_mb, args.wait))


if __name__ == "__main__":
    main()
