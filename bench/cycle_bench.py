"""One poll cycle as whole processes: `warta poll --once --all` beside a plain poller.

    python -m bench.cycle_bench [--feeds 10000] [--changed 0.3] [--pg URL]

A loopback server in a *separate process* serves ``--feeds`` news feeds (bench.feedgen, 20
items, ETag/Last-Modified, gzip). Every poller here is a whole process, started for one cycle,
and its figures are the kernel's for that process and its children (user+sys CPU from wait4,
which includes the CPU pool's workers; peak RSS of the largest of them; wall time):

1. cold: ``warta poll --once --all`` on a fresh SQLite database (every story a baseline) and
   the plain poller's first cycle (its ETags and entry ids kept in a JSON file): not compared;
2. the server changes ``--changed`` of the feeds (2 new items + 1 edited each), so ~70 %
   answer 304;
3. measured: ``warta poll --once --all`` (SQLite), then the plain poller on the same cycle;
4. with ``--pg URL`` (an empty PostgreSQL database): the same on PostgreSQL with one
   ``warta poll --once`` process, then (after another change) two at once sharing the claims.

The plain poller is what one writes in an afternoon: aiohttp with 50 connections, a
conditional GET per feed, ``feedparser.parse`` of each 200 body, new entry ids counted against
the previous cycle's. It stores and analyzes nothing: it is the floor for fetch + parse.
Issue 8's goal for the measured Warta cycle at 10,000 feeds: <= 15 CPU-s (<= 0.5x the plain
poller), <= 60 s wall, <= 150 MB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.poll_bench import _with_server

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Proc:
    name: str
    cpu_s: float
    wall_s: float
    peak_mib: float
    out: str


def _spawn(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, time.perf_counter()


def _reap(name: str, proc: subprocess.Popen[str], started: float) -> Proc:
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} exited {proc.returncode}:\n{out[-3000:]}")
    return Proc(name, ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss / 1024, out.strip())


def _run(name: str, cmd: list[str], env: dict[str, str]) -> Proc:
    return _reap(name, *_spawn(cmd, env))


def _warta_env(db_url: str, tmp: Path) -> dict[str, str]:
    feeds_file = tmp / "none.toml"
    feeds_file.write_text("", encoding="utf-8")
    return {
        **os.environ,
        "WARTA_DATABASE_URL": db_url,
        "WARTA_FEEDS_FILE": str(feeds_file),
        "WARTA_ALLOW_LOOPBACK": "true",
        "WARTA_FEEDS_ALLOW_PRIVATE": "true",
        # One loopback host serves every feed: the per-host bound would otherwise be the cap.
        "WARTA_FETCH_PER_HOST": "50",
        "WARTA_LOG_LEVEL": "WARNING",
    }


def _add_feeds(db_url: str, base: str, n: int) -> None:
    code = (
        "import asyncio, sys\n"
        "from bot.store import open_store\n"
        "from bot.models import Feed\n"
        "async def main():\n"
        "    s = await open_store(sys.argv[1])\n"
        "    for i in range(int(sys.argv[3])):\n"
        "        await s.add_feed(Feed(url=f'{sys.argv[2]}/news/{i}.xml', is_default=True))\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, db_url, base, str(n)], cwd=ROOT, check=True)


def _make_due(db_url: str) -> None:
    code = (
        "import asyncio, sys\n"
        "from datetime import UTC, datetime\n"
        "from bot.store import open_store\n"
        "async def main():\n"
        "    s = await open_store(sys.argv[1])\n"
        "    feeds = await s.list_feeds()\n"
        "    now = datetime.now(UTC)\n"
        "    for f in feeds:\n"
        "        f.next_check_at = now\n"
        "    await s.save_feeds(feeds)\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, db_url], cwd=ROOT, check=True)


PLAIN = r"""
import asyncio, json, sys
import aiohttp, feedparser

async def main(base, n, state_path):
    try:
        state = json.load(open(state_path))
    except FileNotFoundError:
        state = {}
    gate = asyncio.Semaphore(50)
    counts = {"200": 0, "304": 0, "new": 0, "failed": 0}
    conn = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def one(i):
            url = f"{base}/news/{i}.xml"
            old = state.get(url, {})
            headers = {}
            if old.get("etag"):
                headers["If-None-Match"] = old["etag"]
            if old.get("modified"):
                headers["If-Modified-Since"] = old["modified"]
            async with gate:
                try:
                    async with session.get(url, headers=headers) as r:
                        if r.status == 304:
                            counts["304"] += 1
                            return
                        body = await r.read()
                        etag, modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
                except aiohttp.ClientError:
                    counts["failed"] += 1
                    return
            counts["200"] += 1
            parsed = feedparser.parse(body)
            ids = [e.get("id") or e.get("link") for e in parsed.entries]
            seen = set(old.get("ids", []))
            counts["new"] += sum(1 for x in ids if x not in seen)
            state[url] = {"etag": etag, "modified": modified, "ids": ids}
        await asyncio.gather(*(one(i) for i in range(n)))
    json.dump(state, open(state_path, "w"))
    print(json.dumps(counts))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


def _mutate(base: str, fraction: float, seed: int) -> None:
    url = f"{base}/_admin/mutate?family=news&fraction={fraction}&seed={seed}"
    with urllib.request.urlopen(url, timeout=60) as r:
        r.read()


def _print(rows: list[Proc]) -> None:
    print(f"{'process':<44} {'CPU s':>7} {'wall s':>7} {'peak RSS':>10}  output")
    for r in rows:
        last = r.out.splitlines()[-1] if r.out else ""
        print(f"{r.name:<44} {r.cpu_s:>7.2f} {r.wall_s:>7.2f} {r.peak_mib:>6.1f} MiB  {last[:90]}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=10000)
    p.add_argument("--changed", type=float, default=0.3)
    p.add_argument("--pg", default="", help="an empty PostgreSQL database URL (asyncpg)")
    args = p.parse_args(argv)
    args.gzip = True
    rows: list[Proc] = []

    def run(port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        warta = [sys.executable, "-m", "bot", "poll", "--once"]
        with tempfile.TemporaryDirectory(prefix="warta-cycle-") as tmp_:
            tmp = Path(tmp_)
            sqlite = f"sqlite+aiosqlite:///{tmp / 'w.db'}"
            env = _warta_env(sqlite, tmp)
            plain = [sys.executable, "-c", PLAIN, base, str(args.feeds), str(tmp / "plain.json")]
            _add_feeds(sqlite, base, args.feeds)
            rows.append(_run("cold: warta poll --once --all (SQLite)", [*warta, "--all"], env))
            rows.append(_run("cold: plain aiohttp + feedparser", plain, dict(os.environ)))
            _mutate(base, args.changed, 1)
            rows.append(_run("MEASURED: warta poll --once --all (SQLite)", [*warta, "--all"], env))
            rows.append(_run("MEASURED: plain aiohttp + feedparser", plain, dict(os.environ)))
            if args.pg:
                env = _warta_env(args.pg, tmp)
                _add_feeds(args.pg, base, args.feeds)
                rows.append(
                    _run("cold: warta poll --once --all (PostgreSQL)", [*warta, "--all"], env)
                )
                _mutate(base, args.changed, 2)
                rows.append(_run("PG, 1 worker: warta poll --once --all", [*warta, "--all"], env))
                _mutate(base, args.changed, 3)
                _make_due(args.pg)
                started = time.perf_counter()
                pair = [_spawn(warta, env) for _ in range(2)]
                done = [
                    _reap(f"PG, 2 workers: warta poll --once #{k + 1}", *pr)
                    for k, pr in enumerate(pair)
                ]
                wall = time.perf_counter() - started
                rows.extend(done)
                rows.append(
                    Proc(
                        "PG, 2 workers together",
                        sum(d.cpu_s for d in done),
                        wall,
                        max(d.peak_mib for d in done),
                        " | ".join(d.out.splitlines()[-1] for d in done if d.out),
                    )
                )

    status = _with_server(args, ["news"], run)
    if status:
        return status
    print(
        f"cycle_bench: {args.feeds} feeds (bench.feedgen news, 20 items), {args.changed:.0%} "
        f"changed per measured cycle (+2 new, 1 edited), whole processes, Python "
        f"{sys.version.split()[0]}"
    )
    _print(rows)
    w = next(r for r in rows if r.name.startswith("MEASURED: warta"))
    base_ = next(r for r in rows if r.name.startswith("MEASURED: plain"))
    scale = 10000 / args.feeds
    print(
        f"warta / plain CPU: {w.cpu_s / base_.cpu_s:.2f}x (goal <= 0.5x); "
        f"at 10,000 feeds (linear): ~{w.cpu_s * scale:.1f} CPU-s (goal <= 15), "
        f"~{w.wall_s * scale:.1f} s wall (goal <= 60); peak RSS {w.peak_mib:.1f} MiB (goal <= 150)"
    )
    print(json.dumps({"note": "CPU and RSS from wait4 (process + its reaped children)"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
