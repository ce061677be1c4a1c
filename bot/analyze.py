"""The analysis path shared by ingest, ``warta analyze`` and the quality benchmark.

``warta analyze`` contract (kept stable: quality evaluation is built on it): one JSON object per
input line ``{"id", "title", "text", "lang"?}`` gives one output line, in order:
``{"id", "lang", "relevance", "relevant", "matched", "bullets"}``; a bad line gives
``{"id", "error"}`` and the rest go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.lang.detect import detect_lang
from bot.models import Summary, TopicResult
from bot.summarize.extractive import summarize_text
from bot.topic import TopicScorer


@dataclass(frozen=True, slots=True)
class Analysis:
    lang: str
    topic: TopicResult
    summary: Summary


@lru_cache(maxsize=4)
def default_scorer(path: str | None = None) -> TopicScorer:
    from pathlib import Path

    return TopicScorer.load(Path(path) if path else None)


def story_lang(title: str, text: str, declared: str | None = None) -> str:
    """The story's language: a declared id/en wins; otherwise detect (Malay reads as id)."""
    if declared in ("id", "en"):
        return declared
    detected = detect_lang(f"{title}\n{text[:2000]}")
    return "id" if detected == "ms" else detected


def detect_story_lang(text: str) -> str:
    """``story_lang`` for text alone: the ``detect_lang`` callback of ``to_story``."""
    return story_lang("", text)


def analyze(
    title: str,
    text: str,
    *,
    lang: str | None = None,
    keywords: tuple[str, ...] = (),
    scorer: TopicScorer | None = None,
) -> Analysis:
    lang = story_lang(title, text, lang)
    topic = (scorer or default_scorer()).score(title, text, lang, keywords=keywords)
    summary = summarize_text(title, text, lang)
    return Analysis(lang=lang, topic=topic, summary=summary)


def analyze_record(record: dict[str, Any], *, scorer: TopicScorer | None = None) -> dict[str, Any]:
    """One ``warta analyze`` output object for one input object. Raises ValueError on bad input."""
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    rid = record.get("id")
    title = record.get("title") or ""
    text = record.get("text") or ""
    if not isinstance(title, str) or not isinstance(text, str):
        raise ValueError("'title' and 'text' must be strings")
    if not title.strip() and not text.strip():
        raise ValueError("record has neither 'title' nor 'text'")
    declared = record.get("lang")
    result = analyze(
        title, text, lang=declared if isinstance(declared, str) else None, scorer=scorer
    )
    return {
        "id": rid,
        "lang": result.lang,
        "relevance": round(result.topic.score, 4),
        "relevant": result.topic.relevant,
        "matched": list(result.topic.matched),
        "bullets": list(result.summary.bullets),
    }


def analyze_lines(lines: Iterable[str], *, scorer: TopicScorer | None = None) -> Iterator[str]:
    """JSON lines in, JSON lines out, one per non-blank input line, in order."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        rid: Any = None
        try:
            record = json.loads(line)
            if isinstance(record, dict):
                rid = record.get("id")
            out = analyze_record(record, scorer=scorer)
        except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
            out = {"id": rid if rid is not None else f"line {lineno}", "error": str(e)}
        yield json.dumps(out, ensure_ascii=False)
