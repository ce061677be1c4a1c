"""The Aho-Corasick prefilter (bot/termscan.py) changes no topic result.

Two references: the scorer as it was before the prefilter (bench/topic_reference.py, kept
verbatim as the old implementation) and the same scorer with its prefilter switched off (every
regex scanned). Stories: our labeled cases, every story of both shared dev corpora, and texts
built from every lexicon term in the spellings the boundary rules care about (suffixes, glued
letters, odd separators, case, end of text)."""

from __future__ import annotations

import copy
import json
import random
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.topic_reference import TopicScorer as ReferenceScorer
from bot.termscan import TermScan, needle_spec
from bot.topic import TopicScorer, default_topics_path

DATA = Path(__file__).parent / "data"
KEYWORDS: tuple[tuple[str, ...], ...] = ((), ("seniman", "+musik", "-nft"))


@pytest.fixture(scope="module")
def scorers() -> tuple[TopicScorer, TopicScorer, ReferenceScorer]:
    """(new, new with every pattern scanned, old implementation) on the same lexicon."""
    fast = TopicScorer.load()
    full = copy.copy(fast)
    full._scan = _ScanEverything(len(fast._scan))  # type: ignore[assignment]
    path = default_topics_path()
    assert path is not None
    old = ReferenceScorer.load(path)
    return fast, full, old


class _ScanEverything:
    def __init__(self, n: int) -> None:
        self._n = n

    def __len__(self) -> int:
        return self._n

    def candidates(self, doc: str, folded: str) -> None:
        return None  # the scorer's "scan every pattern" answer


def _same(
    scorers: tuple[TopicScorer, TopicScorer, ReferenceScorer],
    title: str,
    text: str,
    lang: str,
    keywords: tuple[tuple[str, ...], ...] = KEYWORDS,
    *,
    full_scan: bool = False,
) -> None:
    """``full_scan`` also compares with every regex scanned: slow on long texts (the old
    implementation was itself pinned to it), so only short stories take it."""
    fast, full, old = scorers
    for kw in keywords:
        got = fast.score(title, text, lang, keywords=kw)
        assert got == old.score(title, text, lang, keywords=kw), (title, text)
        if full_scan:
            assert got == full.score(title, text, lang, keywords=kw), (title, text)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def test_own_cases(scorers: tuple[TopicScorer, TopicScorer, ReferenceScorer]) -> None:
    for rec in _records(DATA / "topic_cases.jsonl"):
        _same(scorers, rec["title"], rec["text"], rec["lang"], full_scan=True)


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["topics", "summaries"])
def test_every_shared_dev_story(
    corpus: str,
    shared_dir: Path,
    scorers: tuple[TopicScorer, TopicScorer, ReferenceScorer],
) -> None:
    n = 0
    for rec in _records(shared_dir / "corpora" / corpus / "dev.jsonl"):
        _same(scorers, rec.get("title") or "", rec.get("text") or "", rec.get("lang") or "en")
        n += 1
    assert n >= 70


def _lexicon_terms() -> list[str]:
    path = default_topics_path()
    assert path is not None
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    terms: list[str] = []
    for kind in ("ai", "art"):
        for names in config[kind]["terms"].values():
            terms += names
    terms += config["negation"]["phrases"]
    for rule in config["negation"]["context"]:
        terms += rule["terms"]
    return terms


def _spellings(term: str, rng: random.Random) -> list[str]:
    core = term.rstrip("*")
    seps = ["-", " – ", "  ", "\u2011", "\n"]
    joined = core.replace(" ", rng.choice(seps))
    out = [core, core.upper(), core.lower(), core.title(), joined]
    out += [core + s for s in ("s", "es", "'s", "’s", "nya", "-nya", "lah", "pun", "x", "_", "9")]
    out += ["x" + core, "_" + core, core + "ing", "(" + core + ")", core + "."]
    return out


def test_every_lexicon_term_in_tricky_spellings(
    scorers: tuple[TopicScorer, TopicScorer, ReferenceScorer],
) -> None:
    rng = random.Random(8)
    filler = "Para seniman said the party painting artistic dibuat kartun AIDS Sora"
    for term in _lexicon_terms():
        spellings = _spellings(term, rng)
        # All spellings in one story, one per sentence; then a few alone, so that a match at
        # both ends of the text is tried too.
        text = " ".join(f"{filler} {s} {filler}." for s in spellings)
        _same(scorers, f"{spellings[0]}: AI", text, "id", ((),))
        for spelling in spellings[:2] + spellings[-4:-2]:
            _same(scorers, "", spelling, "en", ((),), full_scan=True)


def test_casefolding_that_changes_length_scans_everything(
    scorers: tuple[TopicScorer, TopicScorer, ReferenceScorer],
) -> None:
    _same(
        scorers,
        "STRASSE der Künstler: AI-Kunst",
        "Straße ﬁlm artist ſora AI İstanbul",
        "en",
        full_scan=True,
    )


def test_scan_is_a_filter_that_can_reject() -> None:
    """The scan really filters: glued letters and inner substrings are no candidates, and a
    multi-word term is anchored at its first word."""
    scan = TermScan([needle_spec("AI"), needle_spec("illustrat*"), needle_spec("text-to-image")])
    doc = "said AIDS illustrators text-to"
    assert scan.candidates(doc, doc.casefold()) == {1: [10]}
    doc = "AI's text – to – image, AI"
    assert scan.candidates(doc, doc.casefold()) == {0: [0, 24], 2: [5]}


def test_anchor_that_is_no_needle_is_found_only_for_its_needle() -> None:
    """An anchor that is no term's needle ("the" of "the author") is not in the automaton;
    it is looked up where its needle occurs, with the same boundary rules."""
    scan = TermScan([needle_spec("the author"), needle_spec("to train*")])
    doc = "The theatre: the author, bathe THE-author; to"
    assert scan.candidates(doc, doc.casefold()) == {0: [0, 13, 31]}
    doc = "the theatre, to"
    assert scan.candidates(doc, doc.casefold()) == {}


def test_terms_next_to_a_masked_false_friend(
    scorers: tuple[TopicScorer, TopicScorer, ReferenceScorer],
) -> None:
    """Masking a false friend turns its letters into spaces, so a term glued to it (here
    "A.I.", which ends in a non-word character) can match in the masked text only."""
    for text in (
        "The A.I.state-of-the-art painting by artists, says the illustrator.",
        "Seniman A.I.seni bela diri dan ilustrator.",
        "A.I.state of the art",
        "Painters and A.I.mixed martial arts and the illustrator, said artists.",
        "A.I.art of the deal",
    ):
        _same(scorers, "Artists and A.I.", text, "en", ((),), full_scan=True)
