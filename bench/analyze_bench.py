"""Analysis, language model and CLI start-up: this tree side by side with a baseline, one run.

    python -m bench.analyze_bench [--baseline-rev 18865d5] [--reps 5]
    python -m bench.analyze_bench --baseline PATH        # an unpacked older tree instead
    python -m bench.analyze_bench --only poll --poll-feeds 2000   # + bench.poll_bench, both trees
    python -m bench.analyze_bench --only throughput --copies 10 --reps 3  # the issue's figure

The baseline is the tree at ``--baseline-rev`` (default: the commit before the issue-8 analysis
work), unpacked with ``git archive`` into a temporary directory; both trees run with this
interpreter, each in fresh processes (its own directory first on sys.path). Printed, medians
over ``--reps`` runs:

* ``warta analyze`` on ../shared/corpora/summaries/dev.jsonl: articles/s of the whole process
  (wall and CPU, start-up and lexicon build included) and in-process (analysis only, after one
  warm-up pass);
* ``warta analyze`` on the corpus repeated ``--copies`` times (10: 2,000 lines), the issue's
  figure: articles/s of the whole process (wall, and CPU in brackets), with bullets for every
  story (the default) and with ``--lazy-bullets`` (the poll's rule), and on as many distinct
  articles recombined from the corpus's paragraphs (no article repeats, so per-word memos are
  measured without repeated articles helping), runs of the two trees interleaved (noise from
  other load hits both alike); "n/a" where a tree has no such flag;
* the language model: resident memory it keeps once loaded (RSS growth over the interpreter
  with numpy imported), the peak while loading (ru_maxrss growth), and its load time;
* ``warta health`` and ``warta --help``: wall time of the whole process, and how many modules
  ``import bot.cli`` plus the command pulls in;
* with ``--only poll`` (or ``--poll-feeds``): each tree's own ``bench.poll_bench --full`` (client
  CPU per feed of a poll cycle, 70 % answering 304), its median lines side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpora" / "summaries" / "dev.jsonl"

_IN_PROCESS = """
import json, sys, time
from bot.analyze import analyze_lines
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
list(analyze_lines(lines))  # warm-up: lexicon, model and caches built once per process
t, c = time.perf_counter(), time.process_time()
n = sum(1 for _ in analyze_lines(lines))
print(json.dumps({"n": n, "wall": time.perf_counter() - t, "cpu": time.process_time() - c}))
"""

_LANG_OLD = """
from py3langid.langid import MODEL_FILE, LanguageIdentifier
ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
ident.set_languages(["id", "ms", "en"])
keep = ident
"""
_LANG_NEW = """
from bot.lang.model import load_compact
keep = load_compact(("id", "ms", "en"))
"""
_LANG_PROBE = """
import gc, json, os, resource, time
import numpy
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
gc.collect()
r0, p0, t = rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
{load}
load_s = time.perf_counter() - t
gc.collect()
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - p0) * 1024
print(json.dumps({{"kept": rss() - r0, "peak": peak, "load_s": load_s}}))
"""

_MODULES = """
import sys
from bot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.__stderr__.write("\\nMODULES=%d\\n" % len(sys.modules))
"""


def _run(tree: Path, argv: list[str], stdin: str | None = None) -> tuple[float, float, str, str]:
    """(wall s, child CPU s, stdout, stderr) of one fresh interpreter in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "WARTA_LOG_LEVEL": "WARNING"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *argv],
        cwd=tree,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} in {tree} failed:\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout, proc.stderr


def _unpack(rev: str, into: Path) -> Path:
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def bench_analyze(trees: dict[str, Path], reps: int) -> None:
    n = sum(1 for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip())
    print(f"## warta analyze: {CORPUS.name} of summaries ({n} articles), median of {reps}")
    print(f"{'tree':<9} {'process art/s':>13} {'(CPU art/s)':>11} {'in-process art/s':>16}")
    for name, tree in trees.items():
        walls, cpus, inner = [], [], []
        for _ in range(reps):
            wall, cpu, out, _ = _run(tree, ["-m", "bot", "analyze", str(CORPUS)])
            assert len(out.splitlines()) == n
            walls.append(wall)
            cpus.append(cpu)
            _, _, out, _ = _run(tree, ["-c", _IN_PROCESS, str(CORPUS)])
            inner.append(json.loads(out.splitlines()[-1]))
        print(
            f"{name:<9} {n / statistics.median(walls):>13.0f} {n / statistics.median(cpus):>11.0f}"
            f" {statistics.median(r['n'] / r['cpu'] for r in inner):>16.0f}"
        )
    print("(in-process: CPU time of analyze_lines over the corpus after a warm-up pass)")


def recombined(lines: list[str], n: int, seed: int = 8) -> list[str]:
    """``n`` distinct articles made of the corpus's own: each keeps one article's title and
    paragraph count, its paragraphs drawn from random articles in the same language. The
    vocabulary is the corpus's, but no article (and few paragraph sequences) repeats, so
    whatever a process memoizes per word is measured without whole articles coming back."""
    import random

    rnd = random.Random(seed)
    by_lang: dict[str, list[tuple[dict[str, object], list[str]]]] = {}
    for line in lines:
        rec = json.loads(line)
        paragraphs = [p for p in str(rec.get("text") or "").split("\n\n") if p.strip()]
        if paragraphs:
            by_lang.setdefault(str(rec.get("lang")), []).append((rec, paragraphs))
    langs = sorted(by_lang)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        pool = by_lang[rnd.choice(langs)]
        rec, paragraphs = rnd.choice(pool)
        text = "\n\n".join(rnd.choice(rnd.choice(pool)[1]) for _ in paragraphs)
        if text in seen:
            continue
        seen.add(text)
        title, lang = rec.get("title"), rec.get("lang")
        art = {"id": f"r{len(out)}", "title": title, "text": text, "lang": lang}
        out.append(json.dumps(art, ensure_ascii=False))
    return out


def bench_throughput(trees: dict[str, Path], reps: int, copies: int) -> None:
    lines = [ln for ln in CORPUS.read_text(encoding="utf-8").splitlines() if ln.strip()]
    n = len(lines) * copies
    # mode -> (flags, input): the corpus repeated, with and without --lazy-bullets, and as
    # many distinct articles recombined from it (no article seen twice)
    modes = {
        "x{copies}, bullets: all": ([], "copies"),
        "x{copies}, --lazy-bullets": (["--lazy-bullets"], "copies"),
        "recombined, bullets: all": ([], "recombined"),
    }
    modes = {mode.format(copies=copies): how for mode, how in modes.items()}
    print(
        f"\n## warta analyze on {CORPUS.name} x{copies} ({n} articles), and on {n} distinct"
        f" articles recombined from its paragraphs, whole process, median of {reps}"
    )
    print(f"{'tree':<9}" + "".join(f" {mode + ' art/s (CPU)':>36}" for mode in modes))
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {
            "copies": Path(tmp) / f"{CORPUS.stem}-x{copies}.jsonl",
            "recombined": Path(tmp) / f"{CORPUS.stem}-recombined.jsonl",
        }
        inputs["copies"].write_text("\n".join(lines * copies) + "\n", encoding="utf-8")
        inputs["recombined"].write_text("\n".join(recombined(lines, n)) + "\n", encoding="utf-8")
        runs: dict[tuple[str, str], list[tuple[float, float]] | None] = {
            (name, mode): [] for name in trees for mode in modes
        }
        for _ in range(reps):
            for (name, mode), got in runs.items():
                if got is None:
                    continue
                flags, source = modes[mode]
                try:
                    wall, cpu, out, _ = _run(
                        trees[name], ["-m", "bot", "analyze", *flags, str(inputs[source])]
                    )
                except SystemExit:  # the tree has no such flag (argparse exits 2)
                    runs[name, mode] = None
                    continue
                assert len(out.splitlines()) == n
                got.append((wall, cpu))
    for name in trees:
        cells = []
        for mode in modes:
            got = runs[name, mode]
            if not got:
                cells.append(f"{'n/a':>36}")
                continue
            wall = statistics.median(w for w, _ in got)
            cpu = statistics.median(c for _, c in got)
            cells.append(f"{f'{n / wall:.0f} ({n / cpu:.0f})':>36}")
        print(f"{name:<9}" + "".join(f" {cell}" for cell in cells))
    print("(wall: articles / median wall s of the whole process; CPU: / median CPU s)")


def bench_lang(trees: dict[str, Path], reps: int) -> None:
    print(f"\n## language model (id/ms/en), fresh process each, median of {reps}")
    print(f"{'model':<26} {'kept MB':>8} {'load peak MB':>12} {'load s':>7}")
    cases = [
        ("py3langid full (baseline)", trees["baseline"], _LANG_OLD),
        ("compact (this tree)", trees["this"], _LANG_NEW),
    ]
    for label, tree, load in cases:
        rows = []
        for _ in range(reps):
            _, _, out, _ = _run(tree, ["-c", _LANG_PROBE.format(load=load)])
            rows.append(json.loads(out.splitlines()[-1]))
        kept = statistics.median(r["kept"] for r in rows) / 2**20
        peak = statistics.median(r["peak"] for r in rows) / 2**20
        load_s = statistics.median(r["load_s"] for r in rows)
        print(f"{label:<26} {kept:>8.1f} {peak:>12.1f} {load_s:>7.2f}")
    print("(kept: RSS growth once loaded, after gc; peak: ru_maxrss growth while loading)")


def bench_cli(trees: dict[str, Path], reps: int) -> None:
    print(f"\n## CLI start-up, whole process, median of {reps}")
    print(f"{'tree':<9} {'command':<8} {'wall ms':>8} {'CPU ms':>7} {'modules':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        beat = Path(tmp) / "heartbeat"
        beat.write_text("")
        os.environ["WARTA_HEARTBEAT_FILE"] = str(beat)
        for name, tree in trees.items():
            for command in (["health"], ["--help"]):
                walls, cpus = [], []
                for _ in range(reps):
                    beat.touch()
                    wall, cpu, _, _ = _run(tree, ["-m", "bot", *command])
                    walls.append(wall)
                    cpus.append(cpu)
                _, _, _, err = _run(tree, ["-c", _MODULES, *command])
                modules = int(err.rsplit("MODULES=", 1)[1].split()[0])
                print(
                    f"{name:<9} {command[0]:<8} {1000 * statistics.median(walls):>8.0f}"
                    f" {1000 * statistics.median(cpus):>7.0f} {modules:>8}"
                )


def bench_poll(trees: dict[str, Path], feeds: int, reps: int) -> None:
    print(f"\n## bench.poll_bench --full --feeds {feeds} --reps {reps}, each tree's own")
    for name, tree in trees.items():
        _, cpu, out, err = _run(
            tree,
            ["-m", "bench.poll_bench", "--full", "--feeds", str(feeds), "--reps", str(reps)],
        )
        lines = [ln for ln in out.splitlines() if ln.startswith(("rep ", "med ", "peak RSS"))]
        print(f"{name}: (process CPU {cpu:.1f} s)")
        for line in lines or err.splitlines()[-5:]:
            print(f"  {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline-rev", default="18865d5", help="git revision to compare with")
    ap.add_argument("--baseline", type=Path, help="an unpacked baseline tree instead")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--only", choices=["analyze", "throughput", "lang", "cli", "poll"], action="append"
    )
    ap.add_argument("--copies", type=int, default=10, help="corpus copies for throughput")
    ap.add_argument("--poll-feeds", type=int, default=0, help="also run poll_bench (feeds)")
    args = ap.parse_args()
    if not CORPUS.is_file():
        raise SystemExit(f"corpus missing: {CORPUS}")
    with tempfile.TemporaryDirectory() as tmp:
        base = args.baseline or _unpack(args.baseline_rev, Path(tmp))
        trees = {"baseline": base, "this": ROOT}
        print(f"baseline: {args.baseline or args.baseline_rev}; this: {ROOT.name}; {sys.version}")
        only = set(args.only or ["analyze", "throughput", "lang", "cli"])
        if "analyze" in only:
            bench_analyze(trees, args.reps)
        if "throughput" in only:
            bench_throughput(trees, max(3, args.reps), args.copies)
        if "lang" in only:
            bench_lang(trees, args.reps)
        if "cli" in only:
            bench_cli(trees, args.reps)
        if "poll" in only or args.poll_feeds:
            bench_poll(trees, args.poll_feeds or 2000, min(args.reps, 3))


if __name__ == "__main__":
    main()
