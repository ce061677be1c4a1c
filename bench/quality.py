"""Summary quality and language-id report: ``python -m bench.quality``.

Scores Warta's bullets against human references on ``shared/corpora/summaries/dev.jsonl``
(IndoSum for id, CNN/DailyMail for en) next to LEAD-3, LEAD-2 and sumy's TextRank, all on the
same records in the same run, with Google's ``rouge-score`` (F1 x 100; Porter stemming for
English only). Warta runs through ``bot.analyze.analyze_record``, the code path of
``warta analyze``. Also reports language-id accuracy on the summaries and topics corpora and
prints the seed story's bullets. Prints figures only; exit status 0.

The shared directory is ``../shared`` beside the repository, or ``WARTA_SHARED_DIR``.
Pass ``--file PATH`` to score another JSONL file with the same fields (e.g. a held-out set).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rouge_score import rouge_scorer, tokenizers

from bot.lang.detect import detect_lang
from bot.lang.sentences import split_sentences
from bot.summarize.extractive import summarize_text

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("rouge1", "rouge2", "rougeLsum")

try:  # the same code path as `warta analyze`
    from bot.analyze import analyze_record as _analyze_record
except ImportError:  # pragma: no cover - only before bot.analyze exists
    _analyze_record = None


def shared_dir() -> Path:
    return Path(os.environ.get("WARTA_SHARED_DIR", ROOT.parent / "shared"))


def warta_bullets(record: dict[str, Any]) -> list[str]:
    """Warta's bullets for one corpus record, through the `warta analyze` path when present."""
    if _analyze_record is not None:
        out = _analyze_record(
            {k: record.get(k) for k in ("id", "title", "text", "lang")}, all_bullets=True
        )
        return list(out["bullets"])
    summary = summarize_text(record.get("title") or "", record["text"], record["lang"])
    return list(summary.bullets)


class UnicodeTokenizer(tokenizers.Tokenizer):  # type: ignore[misc]
    """rouge-score's default tokenizer keeps only [a-z0-9]; this keeps every Unicode letter and
    digit (Indonesian names, loanwords with diacritics). Optional Porter stemming as upstream."""

    _WORD = re.compile(r"[^\W_]+")

    def __init__(self, stemmer: Any = None) -> None:
        self._stemmer = stemmer

    def tokenize(self, text: str) -> list[str]:
        tokens = self._WORD.findall(text.lower())
        if self._stemmer is not None:
            tokens = [self._stemmer.stem(t) if len(t) > 3 else t for t in tokens]
        return tokens


def make_scorer(lang: str) -> rouge_scorer.RougeScorer:
    if lang == "en":
        from nltk.stem import porter

        return rouge_scorer.RougeScorer(
            list(METRICS), tokenizer=UnicodeTokenizer(porter.PorterStemmer())
        )
    return rouge_scorer.RougeScorer(list(METRICS), tokenizer=UnicodeTokenizer())


def lead(k: int) -> Callable[[dict[str, Any]], list[str]]:
    def run(record: dict[str, Any]) -> list[str]:
        return split_sentences(record["text"], record["lang"])[:k]

    run.__name__ = f"lead{k}"
    return run


def textrank(record: dict[str, Any], count: int = 3) -> list[str]:
    """sumy's TextRank over sentences from our own splitter (sumy's Tokenizer would need NLTK's
    Punkt data, a download). Words are split on letters; no stemming."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.summarizers.text_rank import TextRankSummarizer

    class _Words:
        language = "indonesian" if record["lang"] == "id" else "english"

        def to_words(self, text: str) -> list[str]:
            return re.findall(r"[^\W_]+", text)

        def to_sentences(self, text: str) -> list[str]:
            return split_sentences(text, record["lang"])

    tok = _Words()
    sentences = [Sentence(s, tok) for s in split_sentences(record["text"], record["lang"])]
    if not sentences:
        return []
    doc = ObjectDocumentModel([Paragraph(sentences)])
    summarizer = TextRankSummarizer()
    return [str(s) for s in summarizer(doc, count)]


def score(
    records: Sequence[dict[str, Any]],
    system: Callable[[dict[str, Any]], list[str]],
    scorer: rouge_scorer.RougeScorer,
) -> tuple[dict[str, float], list[list[str]]]:
    totals: dict[str, list[float]] = {m: [] for m in METRICS}
    outputs: list[list[str]] = []
    for record in records:
        pred = system(record)
        outputs.append(pred)
        result = scorer.score("\n".join(record["reference"]), "\n".join(pred))
        for m in METRICS:
            totals[m].append(result[m].fmeasure * 100)
    return {m: statistics.fmean(v) if v else 0.0 for m, v in totals.items()}, outputs


def rouge_report(path: Path) -> str:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    lines = [f"## Summaries: {path.name} (ROUGE F1 x 100, rouge-score)", ""]
    lines.append(
        f"{'lang':4} {'system':9} {'n':>4} {'R-1':>6} {'R-2':>6} {'R-Lsum':>6}"
        f" {'bullets':>7} {'chars':>6}"
    )
    systems: list[tuple[str, Callable[[dict[str, Any]], list[str]]]] = [
        ("warta", warta_bullets),
        ("lead3", lead(3)),
        ("lead2", lead(2)),
        ("textrank", textrank),
    ]
    for lang in ("id", "en"):
        subset = [r for r in records if r["lang"] == lang]
        if not subset:
            continue
        scorer = make_scorer(lang)
        for name, system in systems:
            started = time.perf_counter()
            means, outputs = score(subset, system, scorer)
            elapsed = time.perf_counter() - started
            bullets = [b for out in outputs for b in out]
            mean_count = statistics.fmean(len(o) for o in outputs)
            mean_len = statistics.fmean(len(b) for b in bullets) if bullets else 0.0
            lines.append(
                f"{lang:4} {name:9} {len(subset):>4} {means['rouge1']:6.2f} {means['rouge2']:6.2f}"
                f" {means['rougeLsum']:6.2f} {mean_count:7.2f} {mean_len:6.0f}"
                + (f"   ({elapsed * 1000 / len(subset):.1f} ms/story)" if name == "warta" else "")
            )
    return "\n".join(lines)


def langid_report(shared: Path) -> str:
    lines = ["## Language id (bot.lang.detect on title + text)", ""]
    for name in ("summaries", "topics"):
        path = shared / "corpora" / name / "dev.jsonl"
        if not path.is_file():
            lines.append(f"{name}: missing ({path.name})")
            continue
        confusion: Counter[tuple[str, str]] = Counter()
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            text = f"{record.get('title') or ''}\n{record['text']}"
            confusion[(record["lang"], detect_lang(text))] += 1
        total = sum(confusion.values())
        right = sum(n for (gold, got), n in confusion.items() if gold == got)
        wrong = ", ".join(f"{g}->{p}: {n}" for (g, p), n in sorted(confusion.items()) if g != p)
        lines.append(
            f"{name}: {right}/{total} = {100 * right / max(total, 1):.1f}%"
            f"  confusions: {wrong or 'none'}"
        )
    return "\n".join(lines)


def seed_story(shared: Path) -> tuple[str, str, list[str]]:
    """The seed story's title, its text without the human quick-facts block, and that block."""
    lines = (shared / "examples" / "seed-story-id.txt").read_text(encoding="utf-8").splitlines()
    title, body, human = lines[0], [], []
    in_block = False
    for line in lines[1:]:
        if line.startswith("Buru-buru?"):
            in_block = True
            continue
        if in_block and line.startswith("- "):
            human.append(line[2:])
            continue
        in_block = False
        body.append(line)
    return title, "\n".join(body), human


def seed_report(shared: Path) -> str:
    title, text, human = seed_story(shared)
    summary = summarize_text(title, text, "id")
    lines = ["## Seed story", "", f"headline: {summary.headline}", "warta bullets:"]
    lines += [f"  - {b}" for b in summary.bullets]
    lines.append("human bullets:")
    lines += [f"  - {b}" for b in human]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--file", type=Path, help="JSONL to score instead of the dev set")
    args = parser.parse_args(argv)
    shared = shared_dir()
    path = args.file or shared / "corpora" / "summaries" / "dev.jsonl"
    if not path.is_file():
        print(f"corpus not found: {path}", file=sys.stderr)
        return 0
    print("# Warta summary quality")
    print(f"warta path: {'bot.analyze.analyze_record' if _analyze_record else 'summarize_text'}")
    print()
    print(rouge_report(path))
    print()
    print(langid_report(shared))
    print()
    if (shared / "examples" / "seed-story-id.txt").is_file():
        print(seed_report(shared))
        print()
    # ---- hook: topic relevance and clustering reports (bench/topic_eval.py, another owner) ----
    try:
        from bench.topic_eval import cluster_report, topic_report
    except ImportError:
        print("(topic/cluster report: bench.topic_eval not available)")
    else:
        for report in (topic_report, cluster_report):
            try:
                print(report(shared))
            except Exception as e:  # another module's failure must not hide these figures
                print(f"({report.__name__} failed: {type(e).__name__}: {e})")
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
