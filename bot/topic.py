"""Relevance of a story to "AI and artists", with the evidence that decided it.

A story is on topic when generative AI and creative people or creative work are *both* central:
an AI term and a creative term must meet in the title or in one sentence, and a single passing
creative word ("... the actress's voice dispute, mentioned in passing") is not enough. The
lexicon, weights and thresholds live in ``config/topics.toml`` (a copy ships as
``bot/data/topics.toml``) so users can tune them without touching code.

Why a hand-written lexicon scorer rather than a classifier library: the filter must run offline,
explain itself term by term to users ("matched: ai:sora, art:seniman"), and work for Indonesian,
for which no small packaged model exists. A few hundred precompiled regexes do that; one
Aho-Corasick pass (bot/termscan.py) first finds the few that can match a story, so only those
run (bench/analyze_bench.py prints the cost per story).

Score. For each side (AI, art) the evidence is the sum over distinct terms of
``weight * (1 + title/lead boost) + repeats``; each unit (title or sentence) holding an AI term
and a central creative term adds co-occurrence credit (title > lead > body). The score is
``sat(ai) * sat(art) * sat(cooc) * penalties`` with ``sat(x) = 1 - exp(-x / scale)``, in [0, 1].
False friends ("state of the art", "seni bela diri") are masked before matching; context rules
demote Indonesian "artis" in gossip copy and penalize fraud, market, NFT and schoolwork contexts.

Subscription keywords (``Subscription.keywords``):

- ``-term`` excludes: a story that mentions it is never relevant (``kw-:term``).
- ``term`` requires: every bare term must appear, else the story is not relevant (``kw:term``).
- ``+term`` widens: a story that mentions it is relevant even below the threshold, provided it
  carries at least some AI or creative-work signal (``kw+:term``). So ``+ghibli`` also brings in
  a Studio Ghibli exhibition, but ``+banjir`` never turns a flood report into a digest item.
"""

from __future__ import annotations

import math
import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.models import TopicResult
from bot.termscan import TermScan, needle_spec

__all__ = ["TopicScorer", "default_topics_path", "parse_keywords", "widened_by"]

_REPO_TOPICS = Path(__file__).resolve().parents[1] / "config" / "topics.toml"

# A light suffix: English plural/possessive and Indonesian enclitics/particles. Indonesian
# prefixes (me-, ber-, di-) are left out on purpose: "bergambar" is not "gambar".
_SUFFIX = r"(?:s|es|'s|’s|-?nya|lah|pun)?"
_SEP = r"[\s\-‐‑–]+"
# Ends where a sentence ends: its end mark, closing quotes or brackets, then the space. The mark
# is part of the match, not a lookbehind: the regex engine can skip ahead to a mark, while a
# lookbehind is tried at every offset (the cuts, the matches' ends, are the same).
_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def default_topics_path() -> Path | None:
    """The repository's ``config/topics.toml`` when running from a checkout, else None (then the
    packaged copy is used)."""
    return _REPO_TOPICS if _REPO_TOPICS.is_file() else None


def _compile_term(term: str, *, case_sensitive: bool = False) -> re.Pattern[str]:
    """Word-bounded, separator-tolerant pattern for one lexicon term (see topics.toml header)."""
    wildcard = term.endswith("*")
    core = term.rstrip("*").strip()
    tokens = [t for t in re.split(r"[\s\-]+", core) if t]
    if not tokens:
        raise ConfigError(f"empty lexicon term: {term!r}")
    body = _SEP.join(re.escape(t) for t in tokens)
    tail = r"\w*" if wildcard else _SUFFIX
    if case_sensitive:
        upper = _SEP.join(re.escape(t.upper()) for t in tokens)
        body = f"(?:{body}|{upper})" if upper != body else body
        return re.compile(rf"(?<!\w)(?:{body}){tail}(?!\w)")
    return re.compile(rf"(?<!\w)(?:{body}){tail}(?!\w)", re.IGNORECASE)


class _LazyPattern:
    """A lexicon regex, compiled on first use: the scan rules most terms out of most stories,
    and compiling all ~550 up front cost more than analyzing a few hundred stories. The term
    is checked at load all the same (an empty term raises ConfigError there). A race between
    threads only compiles the same pattern twice."""

    __slots__ = ("_case_sensitive", "_re", "_term")

    def __init__(self, term: str, *, case_sensitive: bool = False) -> None:
        if not [t for t in re.split(r"[\s\-]+", term.rstrip("*").strip()) if t]:
            raise ConfigError(f"empty lexicon term: {term!r}")
        self._term = term
        self._case_sensitive = case_sensitive
        self._re: re.Pattern[str] | None = None

    @property
    def re(self) -> re.Pattern[str]:
        if self._re is None:
            self._re = _compile_term(self._term, case_sensitive=self._case_sensitive)
        return self._re


def _matches(
    pattern: _LazyPattern, text: str, at: Mapping[int, list[int]] | None, scan_id: int
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, looking only where the TermScan said a match may start.

    Same matches: every match starts at one of those offsets, and taking the first match at
    each offset past the previous match's end is what finditer does (lookbehinds still see
    the text before the offset). Matches are never empty (every term has a token)."""
    if at is None:
        yield from pattern.re.finditer(text)
        return
    starts = at.get(scan_id)
    if not starts:
        return
    rx = pattern.re
    end = 0
    for pos in starts:
        if pos < end:
            continue
        m = rx.match(text, pos)
        if m is not None:
            end = m.end()
            yield m


def widened_by(topic: TopicResult, title: str, text: str, widen: Sequence[str]) -> bool:
    """Whether some ``+term`` in ``widen`` (bare terms) would make this off-topic story relevant
    for a subscription that has it: the rule of ``score(keywords=...)``, without rescoring.
    ``topic`` is the story's own result (no keywords)."""
    if topic.relevant or not widen:
        return False
    # score() widens only a story with some AI or creative-work signal of its own.
    if not any(m.startswith(("ai:", "art:")) for m in topic.matched):
        return False
    doc = f"{title or ''}\n\n{text or ''}"
    return any(_keyword_pattern(kw).search(doc) for kw in widen)


@lru_cache(maxsize=512)
def _keyword_pattern(term: str) -> re.Pattern[str]:
    return _compile_term(term)


def parse_keywords(keywords: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Split subscription keywords into (widen, exclude, require) lists of bare terms."""
    widen: list[str] = []
    exclude: list[str] = []
    require: list[str] = []
    for raw in keywords:
        kw = raw.strip()
        if kw.startswith("+") and kw[1:].strip():
            widen.append(kw[1:].strip())
        elif kw.startswith("-") and kw[1:].strip():
            exclude.append(kw[1:].strip())
        elif kw and kw not in ("+", "-"):
            require.append(kw)
    return widen, exclude, require


@dataclass(frozen=True, slots=True)
class _Term:
    name: str
    kind: str  # "ai" or "art"
    tier: str
    weight: float
    pattern: _LazyPattern
    scan_id: int  # its needle in the TermScan: a story without a candidate occurrence can't match


@dataclass(frozen=True, slots=True)
class _ContextRule:
    name: str
    patterns: tuple[tuple[str, int, _LazyPattern], ...]  # (name, scan id, pattern)
    min_hits: int
    penalty: float
    unless_creators: int
    demote: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Scoring:
    threshold: float
    title_boost: float
    lead_boost: float
    repeat_bonus: float
    repeat_cap: int
    ai_scale: float
    art_scale: float
    cooc_scale: float
    cooc_title: float
    cooc_lead: float
    cooc_body: float
    central_min_weight: float
    min_distinct_art: int
    thin_art_factor: float
    threshold_by_lang: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class _Units:
    """Title and sentences of one story as spans of ``doc``; ``kinds`` is title/lead/body."""

    doc: str
    starts: tuple[int, ...]
    kinds: tuple[str, ...]

    def index(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1


def _split_units(title: str, text: str) -> _Units:
    doc = f"{title}\n\n{text}"
    starts = [0]
    kinds = ["title"]
    offset = len(title) + 2
    para_start = 0
    paragraphs: list[tuple[int, str]] = []
    for sep in _PARAGRAPH.finditer(text):
        paragraphs.append((para_start, text[para_start : sep.start()]))
        para_start = sep.end()
    paragraphs.append((para_start, text[para_start:]))
    p_no = -1
    for para_pos, para in paragraphs:
        if not para.strip():
            continue
        p_no += 1
        base = offset + para_pos
        cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(para)]
        size = len(para.rstrip())  # once, not a copy of the paragraph per sentence
        for s_no, cut in enumerate(cuts):
            if cut >= size:
                continue
            starts.append(base + cut)
            # The lead is the opening paragraph's first three sentences: what editors put first.
            kinds.append("lead" if p_no == 0 and s_no < 3 else "body")
    return _Units(doc=doc, starts=tuple(starts), kinds=tuple(kinds))


def _floats(table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"topics.toml: {key} must be a number, got {value!r}")
    return float(value)


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"topics.toml: {where} must be a list of strings")
    return list(value)


class TopicScorer:
    """Scores stories against the lexicon. Build once (``load``) and reuse: it is immutable and
    safe to share between tasks and threads."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        try:
            self._build(config)
        except (KeyError, TypeError, ValueError, re.error) as e:
            raise ConfigError(f"invalid topic lexicon: {e}") from e

    # ------------------------------------------------------------------ construction

    @classmethod
    def load(cls, path: Path | None = None) -> TopicScorer:
        """Load a lexicon file; ``None`` means the checkout's config/topics.toml, else the copy
        packaged in ``bot/data``. Loading is cached per path, so callers may call this freely.

        Raises ConfigError when the file is missing or invalid.
        """
        resolved = path if path is not None else default_topics_path()
        return _load_cached(str(resolved) if resolved is not None else None)

    @classmethod
    def from_toml(cls, text: str) -> TopicScorer:
        """Build from TOML text (tests, user overrides). Raises ConfigError."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"topics.toml is not valid TOML: {e}") from e
        return cls(data)

    def _build(self, config: Mapping[str, Any]) -> None:
        sc = config.get("scoring", {})
        by_lang = sc.get("threshold_by_lang", {})
        self._scoring = _Scoring(
            threshold=_floats(sc, "threshold", 0.4),
            title_boost=_floats(sc, "title_boost", 1.0),
            lead_boost=_floats(sc, "lead_boost", 0.4),
            repeat_bonus=_floats(sc, "repeat_bonus", 0.15),
            repeat_cap=int(_floats(sc, "repeat_cap", 4)),
            ai_scale=_floats(sc, "ai_scale", 1.0),
            art_scale=_floats(sc, "art_scale", 1.6),
            cooc_scale=_floats(sc, "cooc_scale", 1.6),
            cooc_title=_floats(sc, "cooc_title", 2.0),
            cooc_lead=_floats(sc, "cooc_lead", 1.3),
            cooc_body=_floats(sc, "cooc_body", 1.0),
            central_min_weight=_floats(sc, "central_min_weight", 0.6),
            min_distinct_art=int(_floats(sc, "min_distinct_art", 2)),
            thin_art_factor=_floats(sc, "thin_art_factor", 0.6),
            threshold_by_lang={str(k): _floats(by_lang, k, 0.0) for k in by_lang},
        )
        # Every pattern's needle goes into one TermScan; a pattern refers to it by index. The
        # terms come first, so a term's index in self._terms is its scan id.
        needles: list[str] = []

        def scan_id(term: str) -> int:
            needles.append(term)
            return len(needles) - 1

        terms: list[_Term] = []
        seen: set[tuple[str, str]] = set()
        for kind in ("ai", "art"):
            section = config[kind]
            sensitive = {t.casefold() for t in _str_list(section.get("case_sensitive", []), kind)}
            weights = section["weights"]
            for tier, names in section["terms"].items():
                weight = _floats(weights, tier, 0.0)
                for name in _str_list(names, f"{kind}.terms.{tier}"):
                    key = (kind, name.casefold())
                    if key in seen:
                        continue
                    seen.add(key)
                    pattern = _LazyPattern(name, case_sensitive=name.casefold() in sensitive)
                    terms.append(_Term(name.casefold(), kind, tier, weight, pattern, scan_id(name)))
        self._terms = tuple(terms)

        neg = config.get("negation", {})
        self._false_friends = tuple(
            (p.casefold(), scan_id(p), _LazyPattern(p))
            for p in _str_list(neg.get("phrases", []), "phrases")
        )
        rules: list[_ContextRule] = []
        for rule in neg.get("context", []):
            words = _str_list(rule["terms"], f"negation.context {rule.get('name')}")
            rules.append(
                _ContextRule(
                    name=str(rule["name"]),
                    patterns=tuple((w.casefold(), scan_id(w), _LazyPattern(w)) for w in words),
                    min_hits=int(rule.get("min_hits", 1)),
                    penalty=float(rule.get("penalty", 1.0)),
                    unless_creators=int(rule.get("unless_creators", 10**6)),
                    demote=frozenset(
                        d.casefold() for d in _str_list(rule.get("demote", []), "demote")
                    ),
                )
            )
        self._rules = tuple(rules)
        self._scan = TermScan([needle_spec(n) for n in needles])

    # ------------------------------------------------------------------ scoring

    @property
    def threshold(self) -> float:
        return self._scoring.threshold

    def threshold_for(self, lang: str) -> float:
        return self._scoring.threshold_by_lang.get(lang, self._scoring.threshold)

    def score(
        self, title: str, text: str, lang: str, *, keywords: Sequence[str] = ()
    ) -> TopicResult:
        """Score one story. ``lang`` selects a per-language threshold when one is configured."""
        sc = self._scoring
        units = _split_units(title or "", text or "")
        doc = units.doc
        matched_neg: list[str] = []

        # Most of the few hundred lexicon regexes cannot match a given story; one Aho-Corasick
        # pass over the casefolded text finds those that can, far cheaper than a regex scan
        # each (the patterns start with a lookbehind, so the regex engine cannot skip ahead to
        # a literal). Only when casefolding changes the length (ß, İ, ligatures) would offsets
        # drift; then every pattern is scanned.
        folded = doc.casefold()
        exact = len(folded) == len(doc)
        # pattern id -> offsets where it may match; None: casefolding moved offsets, scan all.
        at = self._scan.candidates(doc, folded) if exact else None

        # Mask false friends with spaces so offsets (and unit boundaries) stay put. The list of
        # characters is made only for a story that has one (most have none).
        chars: list[str] | None = None
        for name, sid, pattern in self._false_friends:
            if at is not None and sid not in at:
                continue
            for m in _matches(pattern, doc, at, sid):
                if chars is None:
                    chars = list(doc)
                chars[m.start() : m.end()] = " " * (m.end() - m.start())
                if f"neg:{name}" not in matched_neg:
                    matched_neg.append(f"neg:{name}")
        masked = doc if chars is None else "".join(chars)
        if matched_neg and at is not None:
            # Masking can put a space where a word character stood, next to a term; the terms
            # run on the masked text, so look for their places there (spaces fold 1:1).
            at = self._scan.candidates(masked, masked.casefold())

        # term -> unit indices where it occurs (with repeats)
        hits: dict[_Term, list[int]] = {}
        # In lexicon order either way: the evidence sums below must add up in the same order.
        terms = (
            self._terms
            if at is None
            else [self._terms[i] for i in sorted(at) if i < len(self._terms)]
        )
        for term in terms:
            found = [
                units.index(m.start()) for m in _matches(term.pattern, masked, at, term.scan_id)
            ]
            if found:
                hits[term] = found

        penalty = 1.0
        demoted: set[str] = set()
        for rule in self._rules:
            fired = [
                n
                for n, sid, p in rule.patterns
                if (at is None or sid in at)
                and next(_matches(p, masked, at, sid), None) is not None
            ]
            if len(fired) < rule.min_hits:
                continue
            if rule.demote:
                gone = {t.name for t in hits if t.name in rule.demote}
                if gone:
                    demoted |= gone
                    matched_neg.append(f"neg:{rule.name}({fired[0]})")
                continue
            creators = {t.name for t in hits if t.tier == "creators" and t.kind == "art"}
            if len(creators) < rule.unless_creators and rule.penalty < 1.0:
                penalty *= rule.penalty
                matched_neg.append(f"neg:{rule.name}({fired[0]})")
        if demoted:
            hits = {t: u for t, u in hits.items() if t.name not in demoted}

        raw = {"ai": 0.0, "art": 0.0}
        ai_units: set[int] = set()
        art_units: set[int] = set()
        central_art = 0
        for term, where in hits.items():
            kinds = {units.kinds[i] for i in where}
            boost = (
                1.0 + sc.title_boost
                if "title" in kinds
                else 1.0 + sc.lead_boost
                if "lead" in kinds
                else 1.0
            )
            repeats = min(len(where) - 1, sc.repeat_cap)
            raw[term.kind] += term.weight * (boost + sc.repeat_bonus * repeats)
            if term.kind == "ai":
                ai_units.update(where)
            elif term.weight >= sc.central_min_weight:
                art_units.update(where)
                central_art += 1

        credit = {"title": sc.cooc_title, "lead": sc.cooc_lead, "body": sc.cooc_body}
        cooc = sum(credit[units.kinds[i]] for i in ai_units & art_units)

        def sat(x: float, scale: float) -> float:
            return 1.0 - math.exp(-x / scale) if scale > 0 else float(x > 0)

        score = (
            sat(raw["ai"], sc.ai_scale)
            * sat(raw["art"], sc.art_scale)
            * sat(cooc, sc.cooc_scale)
            * penalty
        )
        # A creator named next to AI in the headline is central by itself (short teasers).
        title_creator = 0 in ai_units and any(
            t.kind == "art" and t.tier == "creators" and 0 in where for t, where in hits.items()
        )
        if central_art < sc.min_distinct_art and not title_creator:
            score *= sc.thin_art_factor
        threshold = self.threshold_for(lang)
        relevant = score >= threshold

        ordered = sorted(hits, key=lambda t: (t.kind != "ai", -t.weight, t.name))
        matched = [f"{t.kind}:{t.name}" for t in ordered] + matched_neg

        if keywords:
            relevant, score, kw_matched = self._apply_keywords(
                keywords, doc, relevant, score, threshold, has_signal=bool(hits)
            )
            matched += kw_matched
        return TopicResult(score=round(score, 4), relevant=relevant, matched=tuple(matched))

    def judge_stored(
        self,
        *,
        title: str,
        text: str,
        lang: str,
        relevance: float | None,
        matched: Sequence[str],
        keywords: Sequence[str] = (),
    ) -> TopicResult:
        """The judgement :meth:`score` gives, from what ingest stored (score and matched terms)
        instead of re-running the lexicon: composing a digest reads hundreds of stories per
        subscription key and the lexicon pass is the costly part. Only the subscription's
        keywords are matched, against the story's text, as :meth:`score` would."""
        score = relevance or 0.0
        threshold = self.threshold_for(lang)
        relevant = score >= threshold
        out = tuple(matched)
        if keywords:
            doc = f"{title or ''}\n\n{text or ''}"
            has_signal = any(m.startswith(("ai:", "art:")) for m in matched)
            relevant, score, kw_matched = self._apply_keywords(
                keywords, doc, relevant, score, threshold, has_signal=has_signal
            )
            out += tuple(kw_matched)
        return TopicResult(score=round(score, 4), relevant=relevant, matched=out)

    def _apply_keywords(
        self,
        keywords: Sequence[str],
        doc: str,
        relevant: bool,
        score: float,
        threshold: float,
        *,
        has_signal: bool,
    ) -> tuple[bool, float, list[str]]:
        widen, exclude, require = parse_keywords(keywords)
        out: list[str] = []
        excluded = False
        for kw in exclude:
            if _keyword_pattern(kw).search(doc):
                out.append(f"kw-:{kw}")
                excluded = True
        missing = False
        for kw in require:
            if _keyword_pattern(kw).search(doc):
                out.append(f"kw:{kw}")
            else:
                missing = True
        widened = False
        for kw in widen:
            if _keyword_pattern(kw).search(doc):
                out.append(f"kw+:{kw}")
                widened = True
        if widened and has_signal and not relevant:
            relevant, score = True, max(score, threshold)
        if excluded or missing:
            relevant = False
        return relevant, score, out


@lru_cache(maxsize=8)
def _load_cached(path: str | None) -> TopicScorer:
    try:
        if path is None:
            text = resources.files("bot").joinpath("data/topics.toml").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read topic lexicon {path or 'bot/data/topics.toml'}: {e}") from e
    return TopicScorer.from_toml(text)
