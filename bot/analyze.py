"""The analysis path shared by ingest, ``warta inspect``, ``warta analyze`` and the quality bench.

``warta analyze`` contract (kept stable: quality evaluation is built on it): one JSON object per
input line ``{"id", "title", "text", "lang"?}`` gives one output line, in order:
``{"id", "lang", "relevance", "relevant", "matched", "bullets"}``; a bad line gives
``{"id", "error"}`` and the rest go on. ``text`` may be HTML: it is turned into plain text (and
publisher boilerplate removed) before anything else, as a poll does. ``lang`` is a hint used
only when the text is too short to tell (see :func:`judge_story_lang`). Every story gets its
bullets; ``--lazy-bullets`` (``all_bullets=False``) leaves them empty for a story off the topic,
as a poll does: summarizing costs more than everything else together, and an off-topic story
reaches no chat.

At ingest a story is summarized only when it can reach a chat: relevant to the topic, or
widened into some subscription by one of its ``+keywords`` (``widen``, read from the store once
per poll). The others are stored with no bullets; whoever shows one (a digest, ``/story``)
summarizes it then (:func:`bot.summarize.extractive.summarize_text`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from bot.feeds.boilerplate import strip_boilerplate
from bot.feeds.html import cap_text, html_to_text, one_line
from bot.lang.detect import detect_lang_scored
from bot.lang.stopwords import STOPWORDS
from bot.models import LANGS, LangGuess, Summary, TopicResult
from bot.topic import TopicScorer, widened_by

# Below this many words the detector is not asked to overrule a declaration: on a headline
# alone it mistakes "Bank Indonesia holds rates" and "Samsung Galaxy S26 Ultra" for Indonesian.
MIN_WORDS_TO_DETECT: Final = 8
# From this many words on the text decides whatever the detector's confidence.
WORDS_ALWAYS_DETECT: Final = 30
# Between the two, the detector must be this sure to overrule a declaration. Indonesian and
# Malay share most of the model's probability mass, so an id/ms answer carries less confidence
# for the same certainty against English.
MIN_CONFIDENCE: Final = 0.6
MIN_CONFIDENCE_ID_MS: Final = 0.45
# With no function word on either side, only a detector this sure overrules a declaration.
SURE_WITHOUT_FUNCTION_WORDS: Final = 0.9
_WORD = re.compile(r"[^\W\d_]{2,}")
_SAMPLE_CHARS: Final = 400


def judge_story_lang(title: str, text: str, prior: str | None = None) -> LangGuess:
    """The story's language from its own title and text; ``prior`` (a declared language: the
    operator's hint for the feed, the entry's or the feed's ``<language>``) decides only when
    the text is too short or the detector too unsure to tell. Malay reads as Indonesian.

    Indonesian portals that declare ``<language>en</language>`` on Indonesian stories are why
    the declaration is only a prior. On a short text (a headline, a one-line teaser) the
    detector is swayed by names ("Prabowo visits Kalimantan to inspect Nusantara ..." reads
    as Indonesian to it), so there its answer must also agree with the function words
    ("to", "the" against "di", "yang"), which names never are.
    """
    prior = prior if prior in LANGS else None
    # The title and the lead tell the language; a longer sample costs detector time (linear in
    # its length) on every new story without changing the answer: title + 200 characters is
    # already right on all 274 texts of the dev corpora, 400 leaves a margin.
    sample = f"{title}\n{text[:_SAMPLE_CHARS]}"
    found = _WORD.findall(sample)
    if prior is not None and len(found) < MIN_WORDS_TO_DETECT:
        return LangGuess(prior, 0.0, "declared")
    detected, confidence = detect_lang_scored(sample)
    lang = "id" if detected in ("id", "ms") else "en"
    if len(found) >= WORDS_ALWAYS_DETECT:
        return LangGuess(lang, confidence, "text")
    vote = _function_word_vote(found, lang)
    if vote < 0:
        # The function words say the other language: the detector read the names.
        other = "en" if lang == "id" else "id"
        if prior in (None, other):
            return LangGuess(other, round(1.0 - confidence, 4), "text")
        return LangGuess(prior, confidence, "declared")
    if prior is not None and lang != prior:
        floor = MIN_CONFIDENCE_ID_MS if detected in ("id", "ms") else MIN_CONFIDENCE
        if confidence < floor or (vote == 0 and confidence < SURE_WITHOUT_FUNCTION_WORDS):
            return LangGuess(prior, confidence, "declared")
    return LangGuess(lang, confidence, "text")


def _function_word_vote(words: list[str], lang: str) -> int:
    """Function words of ``lang`` minus those of the other language (id/en) in ``words``."""
    own, other = STOPWORDS[lang], STOPWORDS["en" if lang == "id" else "id"]
    vote = 0
    for word in words:
        low = word.lower()
        if low in own:
            vote += 1
        elif low in other:
            vote -= 1
    return vote


def story_lang(title: str, text: str, declared: str | None = None) -> str:
    """``judge_story_lang``'s language alone."""
    return judge_story_lang(title, text, declared).lang


@dataclass(frozen=True, slots=True)
class Analysis:
    lang: str
    topic: TopicResult
    summary: Summary  # bullets empty when the story was not summarized (see ``analyze``)


@lru_cache(maxsize=4)
def default_scorer(path: str | None = None) -> TopicScorer:
    from pathlib import Path

    return TopicScorer.load(Path(path) if path else None)


_ONE_BULLET_MAX: Final = 220


def analyze(
    title: str,
    text: str,
    *,
    lang: str | None = None,
    prior: str | None = None,
    keywords: tuple[str, ...] = (),
    scorer: TopicScorer | None = None,
    widen: Sequence[str] | None = None,
) -> Analysis:
    """Language, topic and quick facts of one story given as plain text.

    ``lang`` is the story's decided language (a poll decided it when normalizing); without it
    the language is judged from the text with ``prior`` as the fallback declaration.
    ``widen=None`` summarizes every story. Given a list of bare ``+keyword`` terms (every
    subscription's, maybe empty), only a story that can reach a chat is summarized: relevant,
    or widened by one of them; the others get a Summary with no bullets.
    """
    if lang not in LANGS:
        lang = judge_story_lang(title, text, prior).lang
    topic = (scorer or default_scorer()).score(title, text, lang, keywords=keywords)
    if widen is None or topic.relevant or widened_by(topic, title, text, widen):
        # Imported here: most stories are never summarized, and a `warta analyze` over them
        # should not pay for the summarizer's import.
        from bot.summarize.extractive import summarize_text

        summary = summarize_text(title, text, lang)
        if not summary.bullets:
            summary = _one_bullet(summary, text)
    else:
        summary = Summary(headline=title, bullets=(), lang=lang, method="none")
    return Analysis(lang=lang, topic=topic, summary=summary)


def _one_bullet(summary: Summary, text: str) -> Summary:
    """A short text (one sentence, or a line without an end mark) is its own quick fact."""
    line = one_line(text)
    if not line or line.casefold() == summary.headline.strip().casefold():
        return summary
    bullet = cap_text(line, _ONE_BULLET_MAX)
    return Summary(
        headline=summary.headline,
        bullets=(bullet,),
        lang=summary.lang,
        method=summary.method,
        translated=summary.translated,
    )


def plain_text(text: str) -> str:
    """Feed or page text (HTML or plain) -> the plain article text a poll stores."""
    return strip_boilerplate(html_to_text(text))


def analyze_record(
    record: dict[str, Any], *, scorer: TopicScorer | None = None, all_bullets: bool = True
) -> dict[str, Any]:
    """One ``warta analyze`` output object for one input object. Raises ValueError on bad input.

    ``all_bullets=False``: bullets only for a story that can reach a chat (the poll's rule)."""
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    rid = record.get("id")
    title = record.get("title") or ""
    text = record.get("text") or ""
    if not isinstance(title, str) or not isinstance(text, str):
        raise ValueError("'title' and 'text' must be strings")
    title = one_line(title)
    text = plain_text(text)
    if not title.strip() and not text.strip():
        raise ValueError("record has neither 'title' nor 'text'")
    declared = record.get("lang")
    result = analyze(
        title,
        text,
        prior=declared if isinstance(declared, str) else None,
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
    lines: Iterable[str], *, scorer: TopicScorer | None = None, all_bullets: bool = True
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
