"""The analysis path shared by ingest, ``warta analyze`` and the quality benchmark.

``warta analyze`` contract (kept stable: quality evaluation is built on it): one JSON object per
input line ``{"id", "title", "text", "lang"?}`` gives one output line, in order:
``{"id", "lang", "relevance", "relevant", "matched", "bullets"}``; a bad line gives
``{"id", "error"}`` and the rest go on. ``bullets`` is empty for a story off the topic unless
``--all-bullets`` (``all_bullets=True``) is given: summarizing cost more than everything else
together, and an off-topic story reaches no chat.

At ingest a story is summarized only when it can reach a chat: relevant to the topic, or
widened into some subscription by one of its ``+keywords`` (``widen``, read from the store once
per poll). The others are stored with no bullets; whoever shows one (a digest, ``/story``)
summarizes it then (:func:`bot.summarize.extractive.summarize_text`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.lang.detect import detect_lang
from bot.models import Summary, TopicResult
from bot.topic import TopicScorer, widened_by


@dataclass(frozen=True, slots=True)
class Analysis:
    lang: str
    topic: TopicResult
    summary: Summary  # bullets empty when the story was not summarized (see ``analyze``)


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
    widen: Sequence[str] | None = None,
) -> Analysis:
    """Language, topic and quick facts of one story.

    ``widen=None`` summarizes every story. Given a list of bare ``+keyword`` terms (every
    subscription's, maybe empty), only a story that can reach a chat is summarized: relevant,
    or widened by one of them; the others get a Summary with no bullets.
    """
    lang = story_lang(title, text, lang)
    topic = (scorer or default_scorer()).score(title, text, lang, keywords=keywords)
    if widen is None or topic.relevant or widened_by(topic, title, text, widen):
        # Imported here: most stories are never summarized, and a `warta analyze` over them
        # should not pay for the summarizer's import.
        from bot.summarize.extractive import summarize_text

        summary = summarize_text(title, text, lang)
    else:
        summary = Summary(headline=title, bullets=(), lang=lang, method="none")
    return Analysis(lang=lang, topic=topic, summary=summary)


def analyze_record(
    record: dict[str, Any], *, scorer: TopicScorer | None = None, all_bullets: bool = False
) -> dict[str, Any]:
    """One ``warta analyze`` output object for one input object. Raises ValueError on bad input.

    Bullets only for a relevant story unless ``all_bullets`` (quality evaluation wants them for
    every story)."""
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
        title,
        text,
        lang=declared if isinstance(declared, str) else None,
        scorer=scorer,
        widen=None if all_bullets else (),
    )
    return {
        "id": rid,
        "lang": result.lang,
        "relevance": round(result.topic.score, 4),
        "relevant": result.topic.relevant,
        "matched": list(result.topic.matched),
        "bullets": list(result.summary.bullets),
    }


def analyze_lines(
    lines: Iterable[str], *, scorer: TopicScorer | None = None, all_bullets: bool = False
) -> Iterator[str]:
    """JSON lines in, JSON lines out, one per non-blank input line, in order."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        rid: Any = None
        try:
            record = json.loads(line)
            if isinstance(record, dict):
                rid = record.get("id")
            out = analyze_record(record, scorer=scorer, all_bullets=all_bullets)
        except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
            out = {"id": rid if rid is not None else f"line {lineno}", "error": str(e)}
        yield json.dumps(out, ensure_ascii=False)
