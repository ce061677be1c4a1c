"""Quality figures for the topic filter and the story clustering.

    python -m bench.topic_eval            # uses ../shared beside the repo, or $WARTA_SHARED_DIR

``topic_report`` goes through ``bot.analyze.analyze_record``, the same path as ``warta analyze``,
so what it measures is what users get. ``cluster_report`` scores ``bot.cluster.cluster`` over
every dev record against the labeled pairs in ``tests/data/cluster_pairs.jsonl``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POSITIVE = "ai_artists"


def shared_dir() -> Path:
    return Path(os.environ.get("WARTA_SHARED_DIR", ROOT.parent / "shared"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self, name: str) -> str:
        return (
            f"{name:<6} P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f}  "
            f"tp={self.tp} fp={self.fp} fn={self.fn} tn={self.tn}"
        )


def _analyzer() -> Callable[[dict[str, Any]], dict[str, Any]]:
    from bot.analyze import analyze_record

    return analyze_record


def evaluate_topics(
    records: Iterable[dict[str, Any]],
    analyze: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> tuple[dict[str, Counts], list[str]]:
    """Per-language confusion counts and one line per misclassified record.

    Records carry ``label`` (corpus style: "ai_artists" is positive) or ``relevant`` (bool).
    """
    run = analyze or _analyzer()
    counts: dict[str, Counts] = {}
    errors: list[str] = []
    for rec in records:
        actual = rec["label"] == POSITIVE if "label" in rec else bool(rec["relevant"])
        out = run(
            {"id": rec["id"], "title": rec["title"], "text": rec["text"], "lang": rec["lang"]}
        )
        predicted = bool(out["relevant"])
        for key in (rec["lang"], "all"):
            counts.setdefault(key, Counts()).add(predicted, actual)
        if predicted != actual:
            kind = "FP" if predicted else "FN"
            label = rec.get("label", "relevant" if actual else "irrelevant")
            errors.append(
                f"{kind} {rec['id']} [{label}] score={out['relevance']:.3f} "
                f"matched={','.join(out['matched'][:14])}"
            )
    return counts, errors


def topic_report(shared: Path, *, extra: Path | None = None) -> str:
    """Per-language P/R/F1, confusion counts and misclassified ids on the dev corpus (and on the
    project's own labeled cases when ``extra`` is given)."""
    lines = []
    sets = [("dev corpus", shared / "corpora" / "topics" / "dev.jsonl")]
    if extra is not None:
        sets.append(("own cases", extra))
    for name, path in sets:
        counts, errors = evaluate_topics(read_jsonl(path))
        lines.append(f"== topic filter: {name} ({path.name})")
        lines += [counts[k].line(k) for k in ("en", "id", "all") if k in counts]
        lines += (
            ["misclassified:"] + [f"  {e}" for e in errors] if errors else ["misclassified: none"]
        )
    return "\n".join(lines)


def cluster_pairs_path() -> Path:
    return ROOT / "tests" / "data" / "cluster_pairs.jsonl"


def evaluate_pairs(
    records: list[dict[str, Any]], pairs: list[dict[str, Any]], *, threshold: float | None = None
) -> tuple[Counts, list[str]]:
    """Pair confusion counts: a pair is predicted "same" when cluster() over all records puts
    both ids in one cluster."""
    from bot.cluster import ClusterItem, cluster

    items = [
        ClusterItem(title=r["title"], text=r["text"], lang=r["lang"], source=r["id"].split("-")[1])
        for r in records
    ]
    groups = cluster(items) if threshold is None else cluster(items, threshold=threshold)
    where = {records[i]["id"]: g for g, members in enumerate(groups) for i in members}
    counts = Counts()
    errors: list[str] = []
    for pair in pairs:
        predicted = where[pair["a"]] == where[pair["b"]]
        counts.add(predicted, bool(pair["same"]))
        if predicted != bool(pair["same"]):
            kind = "FP" if predicted else "FN"
            errors.append(f"{kind} {pair['a']} ~ {pair['b']} ({pair.get('note', '')})")
    return counts, errors


def cluster_items_path() -> Path:
    return ROOT / "tests" / "data" / "cluster_items.jsonl"


def evaluate_events(
    records: list[dict[str, Any]], *, dated: bool = True
) -> tuple[Counts, list[str]]:
    """Pair confusion counts over every pair of ``records`` (each with an ``event`` label):
    "same" when both carry one event. ``dated=False`` withholds the dates, so only the text can
    keep apart the hard negatives (same names, another event)."""
    from datetime import datetime

    from bot.cluster import ClusterItem, cluster

    items = [
        ClusterItem(
            title=r["title"],
            text=r["text"],
            lang=r["lang"],
            source=r["source"],
            published=datetime.fromisoformat(r["published"]) if dated and r["published"] else None,
        )
        for r in records
    ]
    where = {i: g for g, members in enumerate(cluster(items)) for i in members}
    counts = Counts()
    errors: list[str] = []
    for i in range(len(records)):
        for j in range(i + 1, len(records)):
            actual = records[i]["event"] == records[j]["event"]
            predicted = where[i] == where[j]
            counts.add(predicted, actual)
            if predicted != actual:
                kind = "FP" if predicted else "FN"
                errors.append(f"{kind} {records[i]['id']} ~ {records[j]['id']}")
    return counts, errors


def cluster_report(shared: Path) -> str:
    records = read_jsonl(shared / "corpora" / "topics" / "dev.jsonl")
    pairs = read_jsonl(cluster_pairs_path())
    counts, errors = evaluate_pairs(records, pairs)
    lines = [f"== story clustering: {len(pairs)} labeled pairs over {len(records)} dev records"]
    lines.append(counts.line("pairs"))
    lines += ["wrong pairs:"] + [f"  {e}" for e in errors] if errors else ["wrong pairs: none"]
    own = read_jsonl(cluster_items_path())
    events = len({r["event"] for r in own})
    lines.append(f"== story clustering: own items ({len(own)} reports of {events} events)")
    for dated in (True, False):
        counts, errors = evaluate_events(own, dated=dated)
        lines.append(counts.line("dated" if dated else "undated"))
        lines += [f"  {e}" for e in errors]
    return "\n".join(lines)


def main() -> int:
    shared = shared_dir()
    if not shared.is_dir():
        print(f"shared corpora not found at {shared}", file=sys.stderr)
        return 2
    print(topic_report(shared, extra=ROOT / "tests" / "data" / "topic_cases.jsonl"))
    print()
    print(cluster_report(shared))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
