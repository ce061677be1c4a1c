"""Client CPU and memory of one poll cycle over many feeds.

    python -m bench.poll_bench --feeds 2000 [--reps 3] [--changed 0.3] [--no-gzip]
    python -m bench.poll_bench --full [--batch 200] [--profile 25]   # full pipeline only
    python -m bench.poll_bench --fetch-only                          # fetching only

A loopback FeedServer runs in a *separate process* (its CPU is not counted). By default both
figures are printed:

* fetch-only: N distinct small RSS feeds (10 items each) with ETag/Last-Modified. The first
  cycle fetches everything (all 200). Each measured cycle first has the server change
  ``--changed`` of the feeds (30 % by default), so ~70 % answer 304 to the conditional GET and
  ~30 % send a new body, which is only sha256-hashed.
* full: the real pipeline, ``bot.feeds.ingest.poll_due`` with the real Fetcher, parser,
  analysis (topic + extractive summary) and a SQLite store, over N realistic news feeds from
  :mod:`bench.feedgen` (20 items, Indonesian/English, 2-4 paragraph HTML descriptions). Each
  run starts on a fresh SQLite database with a cold cycle (all 200, everything is a baseline
  and is analyzed and stored); then, ``--reps`` times, the server changes ``--changed`` of
  the feeds (2 new items prepended, one edited), every feed is made due (``next_check_at =
  now``, as ``warta poll --all`` does) and a measured cycle runs on the same, growing
  database (``--fresh-db``: a fresh database, cold + one measured cycle, per repetition).
  ``poll_due`` is called with ``limit=--batch`` (the app's ``poll_batch``, 200, by default) in
  a loop until no feed is due, as the app does.

Reported per cycle: client CPU (user+sys of this process from getrusage, all threads, so the
SQLite worker threads count) per feed, how much of it ran outside the main thread, wall time,
statuses, stories analyzed/stored, and the peak RSS of this process. Medians are over
``--reps`` repetitions. Project goal: <= 3 ms CPU/feed, peak RSS < 250 MB at 2,000 feeds.

``run_cycle`` is the reusable fetch-only part: pass a ``work`` coroutine to add work per
changed feed (the default only sha256-hashes bodies).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import hashlib
import io
import multiprocessing as mp
import pstats
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from bench.feedgen import ITEMS, news_feed
from bot.analyze import default_scorer
from bot.config import Settings
from bot.errors import FeedError
from bot.feeds import poll_timing as schedule
from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import PollReport, poll_due
from bot.models import Feed, FetchResult
from bot.store import SQLStore, open_store
from bot.topic import TopicScorer

Work = Callable[[str, FetchResult], Awaitable[None]]


# --------------------------------------------------------------------------- client side


@dataclass
class CycleStats:
    statuses: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def feeds(self) -> int:
        return sum(self.statuses.values())


async def hash_body(url: str, result: FetchResult, *, state: dict[str, Feed]) -> None:
    """Default work: remember a sha256 of the body, as ingest does to skip identical bodies."""
    assert result.body is not None
    state[url].body_hash = hashlib.sha256(result.body).hexdigest()


async def run_cycle(
    urls: Sequence[str],
    state: dict[str, Feed],
    work: Work | None = None,
    *,
    fetcher: Fetcher | None = None,
) -> CycleStats:
    """Poll every URL once, conditionally, updating ``state`` (one Feed per URL) with the
    schedule's bookkeeping. ``work(url, result)`` runs for every 200; failures are recorded
    on the feed and never abort the cycle. Measures this process's CPU over the cycle."""
    own = fetcher is None
    f = fetcher if fetcher is not None else Fetcher()
    if own:
        await f.start()
    stats = CycleStats()

    async def one(url: str) -> None:
        feed = state.setdefault(url, Feed(url=url))
        try:
            result = await f.fetch(url, etag=feed.etag, last_modified=feed.last_modified)
            if result.status != 304 and work is not None:
                await work(url, result)
        except FeedError as e:
            schedule.after_failure(feed, datetime.now(UTC), e)
            stats.statuses[type(e).__name__] += 1
            return
        schedule.after_success(feed, datetime.now(UTC), result=result)
        stats.statuses[str(result.status)] += 1

    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(one(u) for u in urls))
    finally:
        stats.cpu_s = time.process_time() - cpu0
        stats.wall_s = time.perf_counter() - wall0
        if own:
            await f.aclose()
    return stats


# --------------------------------------------------------------------------- server side


def make_feed(i: int, version: int) -> bytes:
    """A small RSS document (10 items, ~3 KB) that differs per feed and version."""
    items = []
    for j in range(10):
        n = version * 10 + j
        items.append(
            f"<item><title>Feed {i} story {n}: artists and generative AI</title>"
            f"<link>https://news{i}.example/story/{n}</link>"
            f'<guid isPermaLink="false">feed{i}-story{n}</guid>'
            f"<pubDate>Sun, 01 Mar 2026 {j:02d}:00:00 GMT</pubDate>"
            f"<description>Illustrators in story {n} of feed {i} say an image model was "
            f"trained on their work without consent; the company says it respects opt-outs."
            f"</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {i}</title><link>https://news{i}.example/</link>"
        f"<description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


# The two families of feeds the server can hold: the fetch-only bench's small feeds and the
# full bench's realistic news feeds. Paths are /<family>/<i>.xml.
FAMILIES: dict[str, Callable[[int, int], bytes]] = {"feeds": make_feed, "news": news_feed}


def _serve(n_feeds: int, families: Sequence[str], gzip_encode: bool, conn: Connection) -> None:
    """Server process: serve the feeds until told to stop; mutate on request."""
    from aiohttp import web

    from tests.feedserver import FeedServer

    async def main() -> None:
        async with FeedServer() as srv:
            versions = {fam: [0] * n_feeds for fam in families}
            for fam in families:
                for i in range(n_feeds):
                    srv.add_bytes(f"/{fam}/{i}.xml", FAMILIES[fam](i, 0), gzip_encode=gzip_encode)

            async def mutate(request: web.Request) -> web.StreamResponse:
                fam = request.query.get("family", "feeds")
                fraction = float(request.query["fraction"])
                rng = random.Random(int(request.query["seed"]))
                chosen = rng.sample(range(n_feeds), round(n_feeds * fraction))
                for i in chosen:
                    versions[fam][i] += 1
                    srv.set_body(f"/{fam}/{i}.xml", FAMILIES[fam](i, versions[fam][i]))
                return web.Response(text=str(len(chosen)))

            srv.add_handler("/_admin/mutate", mutate)
            conn.send(srv.port)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # any message means stop

    asyncio.run(main())


# --------------------------------------------------------------------------- fetch-only driver


async def _bench(args: argparse.Namespace, port: int) -> list[tuple[str, CycleStats]]:
    base = f"http://127.0.0.1:{port}"
    urls = [f"{base}/feeds/{i}.xml" for i in range(args.feeds)]
    state: dict[str, Feed] = {}

    async def work(url: str, result: FetchResult) -> None:
        await hash_body(url, result, state=state)

    rows: list[tuple[str, CycleStats]] = []
    # All feeds live on one loopback host here; in production they spread over many hosts, so
    # the per-host bound is lifted to the overall bound to exercise the real concurrency.
    async with Fetcher(concurrency=args.concurrency, per_host=args.per_host) as f:
        rows.append(("cold (all 200)", await run_cycle(urls, state, work, fetcher=f)))
        for rep in range(args.reps):
            admin = await f.fetch(
                f"{base}/_admin/mutate?family=feeds&fraction={args.changed}&seed={rep}"
            )
            assert admin.body is not None
            rows.append((f"measured #{rep + 1}", await run_cycle(urls, state, work, fetcher=f)))
    return rows


def _print_fetch_only(args: argparse.Namespace, rows: list[tuple[str, CycleStats]]) -> float:
    print(
        f"fetch-only: {args.feeds} small feeds (10 items), {args.changed:.0%} changed per "
        f"measured cycle, bodies only hashed"
    )
    print(f"{'cycle':<16} {'CPU ms/feed':>12} {'CPU s':>8} {'wall s':>8}  statuses")
    for name, st in rows:
        per_feed = st.cpu_s * 1000 / max(1, st.feeds)
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(st.statuses.items()))
        print(f"{name:<16} {per_feed:>12.3f} {st.cpu_s:>8.3f} {st.wall_s:>8.3f}  {codes}")
    measured = [st for name, st in rows if name.startswith("measured")]
    med_cpu = statistics.median(st.cpu_s * 1000 / max(1, st.feeds) for st in measured)
    med_wall = statistics.median(st.wall_s for st in measured)
    print(f"{'median measured':<16} {med_cpu:>12.3f} {'':>8} {med_wall:>8.3f}")
    return med_cpu


# --------------------------------------------------------------------------- full-pipeline driver


def _cpu() -> float:
    """User+sys CPU seconds of this whole process (every thread)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class FullCycle:
    """One measured poll cycle of the real pipeline (possibly several poll_due batches)."""

    feeds: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    analyzed: int = 0  # new + edited + baseline: every story that went through analyze()
    new: int = 0
    updated: int = 0
    baseline: int = 0
    batches: int = 0
    cpu_s: float = 0.0
    main_cpu_s: float = 0.0  # main thread only; the rest is mostly aiosqlite's threads
    wall_s: float = 0.0
    stories_in_db: int = 0
    peak_mib: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ms_per_feed(self) -> float:
        return self.cpu_s * 1000 / max(1, self.feeds)

    def add(self, r: PollReport) -> None:
        self.batches += 1
        self.feeds += r.feeds
        self.fetched += r.fetched
        self.not_modified += r.not_modified
        self.failed += r.failed
        self.new += len(r.new_stories)
        self.updated += r.updated_stories
        self.baseline += r.baseline_stories
        self.analyzed += len(r.new_stories) + r.updated_stories + r.baseline_stories
        self.errors.update(r.errors)


async def poll_all_due(
    store: SQLStore,
    fetcher: Fetcher,
    *,
    batch: int,
    concurrency: int,
    scorer: TopicScorer,
    profiler: cProfile.Profile | None = None,
) -> FullCycle:
    """Run ``poll_due`` until no feed is due; measure this process's CPU, wall and RSS."""
    cycle = FullCycle()
    gc.collect()  # garbage left by setup is not this cycle's cost
    cpu0, main0, wall0 = _cpu(), time.thread_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        while True:
            report = await poll_due(
                store,
                fetcher,
                now=datetime.now(UTC),
                limit=batch,
                scorer=scorer,
                concurrency=concurrency,
                show_progress=False,
            )
            if report.feeds == 0:
                break
            cycle.add(report)
    finally:
        if profiler is not None:
            profiler.disable()
    cycle.cpu_s = _cpu() - cpu0
    cycle.main_cpu_s = time.thread_time() - main0
    cycle.wall_s = time.perf_counter() - wall0
    cycle.peak_mib = _peak_mib()
    return cycle


def _count_stories(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (n,) = conn.execute("SELECT count(*) FROM stories").fetchone()
    return int(n)


async def _make_all_due(store: SQLStore) -> None:
    """Every feed due now, as ``warta poll --all`` does (outside the measured window)."""
    now = datetime.now(UTC)
    feeds = await store.list_feeds()
    for feed in feeds:
        feed.next_check_at = now
    await store.save_feeds(feeds)


async def full_run(
    base: str,
    args: argparse.Namespace,
    db: Path,
    *,
    scorer: TopicScorer,
    seed: int,
    measured: int,
    profile: bool = False,
) -> tuple[FullCycle, list[FullCycle], cProfile.Profile | None]:
    """On a fresh database: one cold cycle, then ``measured`` sequential measured cycles (each
    after the server changed ``--changed`` of the feeds), then with ``profile`` one more such
    cycle under cProfile (kept out of the figures: the profiler's overhead would skew them)."""
    store = await open_store(f"sqlite+aiosqlite:///{db}")
    profiler: cProfile.Profile | None = None
    cycles: list[FullCycle] = []
    try:
        for i in range(args.feeds):
            await store.add_feed(Feed(url=f"{base}/news/{i}.xml"))
        async with Fetcher(concurrency=args.concurrency, per_host=args.per_host) as f:
            opts = {"batch": args.batch, "concurrency": args.concurrency}
            cold = await poll_all_due(store, f, scorer=scorer, **opts)
            cold.stories_in_db = _count_stories(db)
            for k in range(measured + int(profile)):
                admin = await f.fetch(
                    f"{base}/_admin/mutate?family=news&fraction={args.changed}&seed={seed + k}"
                )
                assert admin.body is not None
                await _make_all_due(store)
                prof = cProfile.Profile() if k == measured else None
                cycle = await poll_all_due(store, f, scorer=scorer, profiler=prof, **opts)
                cycle.stories_in_db = _count_stories(db)
                if prof is None:
                    cycles.append(cycle)
                else:
                    profiler = prof
    finally:
        await store.close()
    return cold, cycles, profiler


FullRows = list[tuple[str, str, FullCycle]]  # (repetition, "cold"/"measured", cycle)


async def _bench_full(
    args: argparse.Namespace, port: int, workdir: Path
) -> tuple[FullRows, cProfile.Profile | None]:
    base = f"http://127.0.0.1:{port}"
    scorer = default_scorer()  # loaded once per process, as the app does; not a cycle cost
    rows: FullRows = []
    if args.fresh_db:
        profiler = None
        for rep in range(args.reps):
            last = rep == args.reps - 1
            cold, cycles, prof = await full_run(
                base,
                args,
                workdir / f"rep{rep}.db",
                scorer=scorer,
                seed=1000 * (rep + 1),
                measured=1,
                profile=bool(args.profile) and last,
            )
            rows += [(str(rep + 1), "cold", cold), (str(rep + 1), "measured", cycles[0])]
            profiler = prof or profiler
        return rows, profiler
    cold, cycles, profiler = await full_run(
        base,
        args,
        workdir / "seq.db",
        scorer=scorer,
        seed=1000,
        measured=args.reps,
        profile=bool(args.profile),
    )
    rows.append(("-", "cold", cold))
    rows += [(str(k + 1), "measured", c) for k, c in enumerate(cycles)]
    return rows, profiler


def _print_full(args: argparse.Namespace, rows: FullRows) -> float:
    how = (
        "fresh SQLite DB per repetition (cold + 1 measured cycle each)"
        if args.fresh_db
        else f"one SQLite DB: 1 cold cycle, then {args.reps} sequential measured cycles"
    )
    print(
        f"full pipeline: {args.feeds} news feeds x {ITEMS} items (bench.feedgen, id/en, HTML), "
        f"{args.changed:.0%} changed per measured cycle (+2 new, 1 edited each); "
        f"poll_due(limit={args.batch}) looped until none due; {how}"
    )
    head = (
        f"{'rep':<3} {'cycle':<9} {'CPU ms/feed':>11} {'CPU s':>7} {'non-main':>8} "
        f"{'wall s':>7} {'200':>5} {'304':>5} {'fail':>4} {'analyzed':>8} {'new':>5} "
        f"{'edited':>6} {'baseline':>8} {'in DB':>6} {'peak RSS':>9}"
    )
    print(head)
    for rep, name, c in rows:
        other = c.cpu_s - c.main_cpu_s
        print(
            f"{rep:<3} {name:<9} {c.ms_per_feed:>11.3f} {c.cpu_s:>7.3f} {other:>8.3f} "
            f"{c.wall_s:>7.3f} {c.fetched:>5} {c.not_modified:>5} {c.failed:>4} "
            f"{c.analyzed:>8} {c.new:>5} {c.updated:>6} {c.baseline:>8} "
            f"{c.stories_in_db:>6} {c.peak_mib:>5.1f} MiB"
        )
        for url, err in sorted(c.errors.items())[:5]:
            print(f"    error: {url}: {err}")
    medians: dict[str, float] = {}
    for name in ("cold", "measured"):
        cycles = [c for _, n, c in rows if n == name]
        medians[name] = statistics.median(c.ms_per_feed for c in cycles)
        med_wall = statistics.median(c.wall_s for c in cycles)
        print(f"{'med':<3} {name:<9} {medians[name]:>11.3f} {'':>7} {'':>8} {med_wall:>7.3f}")
    print(
        "(non-main = CPU s outside the main thread: aiosqlite's SQLite threads; analyzed = "
        "new + edited + baseline stories, each through analyze() once)"
    )
    return medians["measured"]


# Synchronous stages of the pipeline: their cumulative times are meaningful (a coroutine's
# "cumulative" time in cProfile includes every await, so it is wall time, not cost).
# cProfile's clock is wall time (a CPU-time clock costs a syscall per call and inflates Python
# code 3-4x), so the event loop's idle wait and waits on the SQLite threads are left out by
# name below.
WAITS = (
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'acquire' of '_thread.lock' objects>",
)
STAGES: tuple[tuple[str, str, str], ...] = (
    ("parse.py", "parse_feed", "parse (feedparser-rs / feedparser)"),
    ("normalize.py", "to_story", "normalize entries -> stories"),
    ("analyze.py", "analyze", "analysis (lang + topic + summary)"),
    ("topic.py", "score", "  topic scoring"),
    ("extractive.py", "summarize_text", "  extractive summary"),
    ("analyze.py", "story_lang", "  language detection"),
    ("sql.py", "_story_row", "store: build story rows"),
    ("sql.py", "_feed_state", "store: build feed rows"),
    ("poll_timing.py", "after_success", "schedule bookkeeping"),
)


def _owner(filename: str) -> str:
    """Who owns a profiled function: a bot/bench module, a third-party package, the stdlib."""
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    for root in ("bot", "bench"):
        if root in parts:
            return "/".join(parts[parts.index(root) :])
    if filename == "~" or filename.startswith("<"):
        return "builtins (C calls)"
    return "stdlib " + (parts[-2] if parts[-1] == "__init__.py" else parts[-1])


def _print_owners(profiler: cProfile.Profile, top: int) -> None:
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    own: dict[str, float] = {}
    for (filename, _, func), v in raw.items():
        if func in WAITS:
            continue
        owner = _owner(filename)
        own[owner] = own.get(owner, 0.0) + v[2]
    total = sum(own.values())
    waits = sum(v[2] for (_, _, func), v in raw.items() if func in WAITS)
    print(f"--- main thread by owner: own time, share of {total:.3f} s (waits: {waits:.3f} s)")
    for name, t in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{name:<40} {t:>7.3f} s {t / total:>6.1%}")


def _print_profile(profiler: cProfile.Profile, top: int) -> None:
    _print_owners(profiler, top)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    print("--- cProfile of one extra measured cycle (main thread), top by own time; waits in")
    print("    epoll / lock.acquire are idle time, not cost; cProfile inflates Python-heavy rows")
    print(text[text.index("   ncalls") :].rstrip() if "   ncalls" in text else text)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for (_, _, func), v in raw.items() if func not in WAITS)
    print(f"--- stages (cumulative s; main-thread own time without waits {total:.3f} s)")
    for file, func, label in STAGES:
        hits = [v for (f, _, fn), v in raw.items() if f == file and fn == func]
        calls = sum(v[1] for v in hits)
        cum = sum(v[3] for v in hits)
        print(f"{label:<52} {calls:>7} calls {cum:>8.3f} s")


# --------------------------------------------------------------------------- entry point


def _with_server(
    args: argparse.Namespace, families: Sequence[str], run: Callable[[int], None]
) -> int:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(
        target=_serve, args=(args.feeds, list(families), args.gzip, child), daemon=True
    )
    server.start()
    try:
        if not parent.poll(120):
            print("feed server did not start", file=sys.stderr)
            return 1
        run(int(parent.recv()))
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    defaults = Settings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--full", dest="mode", action="store_const", const="full")
    mode.add_argument("--fetch-only", dest="mode", action="store_const", const="fetch")
    p.set_defaults(mode="both")
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--changed", type=float, default=0.3, help="fraction changed per cycle")
    p.add_argument("--concurrency", type=int, default=defaults.fetch_concurrency)
    p.add_argument("--per-host", type=int, default=50)
    p.add_argument(
        "--batch", type=int, default=defaults.poll_batch, help="poll_due limit (full mode)"
    )
    p.add_argument("--profile", type=int, default=0, metavar="TOP", help="cProfile top rows")
    p.add_argument(
        "--fresh-db",
        action="store_true",
        help="full: a fresh DB (cold + 1 measured cycle) per repetition instead of one DB with "
        "sequential measured cycles",
    )
    p.add_argument("--no-gzip", dest="gzip", action="store_false", help="serve identity bodies")
    args = p.parse_args(argv)
    if args.batch <= 0:
        args.batch = args.feeds

    families = {"both": ["feeds", "news"], "fetch": ["feeds"], "full": ["news"]}[args.mode]
    fetch_rows: list[tuple[str, CycleStats]] = []
    fetch_peak = 0.0
    full_rows: FullRows = []
    profiler: cProfile.Profile | None = None

    def run(port: int) -> None:
        nonlocal fetch_rows, fetch_peak, full_rows, profiler
        # Fetch-only first: RSS peaks only grow, so the full figure stays its own.
        if args.mode in ("both", "fetch"):
            fetch_rows = asyncio.run(_bench(args, port))
            fetch_peak = _peak_mib()
        if args.mode in ("both", "full"):
            with tempfile.TemporaryDirectory(prefix="warta-poll-bench-") as tmp:
                full_rows, profiler = asyncio.run(_bench_full(args, port, Path(tmp)))

    status = _with_server(args, families, run)
    if status:
        return status

    print(
        f"poll_bench: {args.feeds} feeds, concurrency {args.concurrency}, per host "
        f"{args.per_host}, gzip {'on' if args.gzip else 'off'}, Python {sys.version.split()[0]}"
    )
    goals = []
    if fetch_rows:
        med = _print_fetch_only(args, fetch_rows)
        print(f"peak RSS after fetch-only (client process): {fetch_peak:.1f} MiB")
        goals.append(("fetch-only", med, fetch_peak))
        print()
    if full_rows:
        med = _print_full(args, full_rows)
        peak = _peak_mib()
        print(f"peak RSS (client process, whole run): {peak:.1f} MiB")
        goals.append(("full", med, peak))
        if profiler is not None:
            print()
            _print_profile(profiler, args.profile)
        print()
    for name, med, peak in goals:
        print(
            f"{name}: median {med:.3f} ms CPU/feed on the {1 - args.changed:.0%}-304 cycle "
            f"(goal <= 3: {'met' if med <= 3.0 else 'NOT met'}); peak RSS {peak:.1f} MiB "
            f"(goal < 250 MB: {'met' if peak < 250 else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
