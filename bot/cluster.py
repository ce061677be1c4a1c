"""Group reports of the same event from different outlets.

Each story becomes three signals: content words of the title and lead (TF-IDF over the batch,
stopwords of both languages removed), named entities (capitalized tokens in running text,
mixed-case or digit-bearing names like "OpenAI", "Crew-2"), and numbers. Two stories are similar
when these overlap; entities and numbers carry across languages ("Sora", "OpenAI", "924"), which
is what lets an Indonesian and an English report of one event meet. Conflicting evidence pulls
apart: "Crew-1" vs "Crew-2", headline counts that differ (924 vs 3.565 evacuees), or publication
times more than ``max_gap`` apart.

Clustering is average-link agglomerative with a similarity threshold: unlike single-link
(union-find) it does not chain A~B~C into one cluster when A and C have nothing in common.
Deterministic: ties break by index. O(n^2) similarity and roughly O(n^2 log n) merging, fine for
a digest window of a few hundred stories.

Which story represents a cluster: :func:`pick_representative` (highest relevance, then the
longest text, then the earliest index).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.lang.stopwords import stopwords

__all__ = ["DEFAULT_THRESHOLD", "ClusterItem", "cluster", "pick_representative", "similarity"]

DEFAULT_THRESHOLD = 0.38
"""Average-link similarity above which clusters merge; tuned on tests/data/cluster_pairs.jsonl."""

_STOP = stopwords("id") | stopwords("en")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+")
_DESIGNATOR = re.compile(r"^([^\W\d_]+)-?(\d+)$")
_YEAR = re.compile(r"^(19|20)\d\d$")
# Headline words that are capitalized in English title case but are not names.
_GENERIC_CAPS = frozenset({"the", "a", "an", "new", "us", "un"})
# Blend of the three signals; entities weigh most after words because they cross languages.
_W_WORDS, _W_ENTS, _W_NUMS = 0.5, 0.45, 0.05


@dataclass(frozen=True, slots=True)
class ClusterItem:
    """What clustering needs from a story. ``published`` is timezone-aware, or None if unknown."""

    title: str
    text: str
    lang: str
    source: str
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Features:
    words: Counter[str]
    entities: frozenset[str]
    numbers: frozenset[str]
    title_numbers: frozenset[str]
    designators: frozenset[tuple[str, str]]
    published: datetime | None


def _lead(text: str) -> str:
    para = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    sentences = _SENTENCE_END.split(para)
    return " ".join(sentences[:3])


def _norm(token: str) -> str:
    tok = token.lower().replace("’", "'")
    if tok.endswith("'s"):
        tok = tok[:-2]
    return tok


def _number(token: str) -> str | None:
    """Digits of a numeric token ("3.565" -> "3565", "Rp14,5" -> None: mixed tokens are names)."""
    if not any(c.isdigit() for c in token):
        return None
    digits = re.sub(r"[.,]", "", token)
    if not digits.isdigit() or len(digits) < 2:
        return None
    return digits


def _features(item: ClusterItem) -> _Features:
    title = item.title or ""
    text = item.text or ""
    words: Counter[str] = Counter()
    for weight, chunk in ((2, title), (1, _lead(text))):
        for m in _WORD.finditer(chunk):
            tok = _norm(m.group())
            if len(tok) < 3 and not tok.isdigit():
                continue
            if tok in _STOP:
                continue
            words[tok] += weight

    entities: set[str] = set()
    designators: set[tuple[str, str]] = set()
    numbers: set[str] = set()
    # Running text: a capitalized token that does not start a sentence is a name.
    for sentence in _SENTENCE_END.split(text):
        for i, m in enumerate(_WORD.finditer(sentence)):
            raw = m.group()
            _collect_special(raw, entities, designators, numbers)
            if i > 0 and raw[:1].isupper() and _norm(raw) not in _STOP:
                entities.add(_norm(raw))
    title_numbers: set[str] = set()
    for m in _WORD.finditer(title):
        raw = m.group()
        _collect_special(raw, entities, designators, title_numbers)
        # Title case capitalizes everything: only names also seen in the text, or odd-cased
        # tokens ("OpenAI", "NASA"), count as entities from a title.
        norm = _norm(raw)
        odd_case = len(raw) > 1 and raw[1:] != raw[1:].lower()
        if (norm in entities or odd_case) and norm not in _GENERIC_CAPS:
            entities.add(norm)
    numbers |= title_numbers
    return _Features(
        words=words,
        entities=frozenset(e for e in entities if e not in _GENERIC_CAPS and len(e) > 1),
        numbers=frozenset(numbers),
        title_numbers=frozenset(title_numbers),
        designators=frozenset(designators),
        published=item.published,
    )


def _collect_special(
    raw: str, entities: set[str], designators: set[tuple[str, str]], numbers: set[str]
) -> None:
    num = _number(raw)
    if num is not None:
        numbers.add(num)
        return
    d = _DESIGNATOR.match(raw)
    if d and any(c.isdigit() for c in raw):
        designators.add((d.group(1).lower(), d.group(2)))
        entities.add(_norm(raw))


class _Corpus:
    """IDF weights over one batch, so words every story shares ("AI", "Jakarta") weigh little."""

    def __init__(self, feats: Sequence[_Features]) -> None:
        n = len(feats)
        df_words: Counter[str] = Counter()
        df_ents: Counter[str] = Counter()
        for f in feats:
            df_words.update(f.words.keys())
            df_ents.update(f.entities)
        self.idf_w = {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in df_words.items()}
        self.idf_e = {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in df_ents.items()}
        self.vectors = [self._vector(f) for f in feats]

    def _vector(self, f: _Features) -> tuple[dict[str, float], float]:
        vec = {t: (1.0 + math.log(c)) * self.idf_w[t] for t, c in f.words.items()}
        return vec, math.sqrt(sum(v * v for v in vec.values())) or 1.0


def _set_cosine(a: frozenset[str], b: frozenset[str], idf: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    shared = sum(idf.get(t, 1.0) ** 2 for t in a & b)
    na = math.sqrt(sum(idf.get(t, 1.0) ** 2 for t in a))
    nb = math.sqrt(sum(idf.get(t, 1.0) ** 2 for t in b))
    return shared / (na * nb)


def _pair_similarity(
    fa: _Features,
    fb: _Features,
    va: tuple[dict[str, float], float],
    vb: tuple[dict[str, float], float],
    corpus: _Corpus,
    max_gap: timedelta,
) -> float:
    (vec_a, norm_a), (vec_b, norm_b) = va, vb
    small, large = (vec_a, vec_b) if len(vec_a) <= len(vec_b) else (vec_b, vec_a)
    words = sum(w * large[t] for t, w in small.items() if t in large) / (norm_a * norm_b)
    ents = _set_cosine(fa.entities, fb.entities, corpus.idf_e)
    nums_a = frozenset(n for n in fa.numbers if not _YEAR.match(n))
    nums_b = frozenset(n for n in fb.numbers if not _YEAR.match(n))
    nums = len(nums_a & nums_b) / math.sqrt(len(nums_a) * len(nums_b)) if nums_a and nums_b else 0.0
    sim = _W_WORDS * words + _W_ENTS * ents + _W_NUMS * nums

    # Evidence of two different events, each a general rule rather than a list of cases:
    # a numbered thing with another number ("Crew-1"/"Crew-2", "GPT-4"/"GPT-5") ...
    prefixes_a = {p: n for p, n in fa.designators}
    if any(p in prefixes_a and prefixes_a[p] != n for p, n in fb.designators) and not (
        fa.designators & fb.designators
    ):
        sim *= 0.5
    # ... headlines that both lead with a count and share none (924 vs 3.565 evacuees) ...
    ta = frozenset(n for n in fa.title_numbers if not _YEAR.match(n))
    tb = frozenset(n for n in fb.title_numbers if not _YEAR.match(n))
    if ta and tb and not ta & tb:
        sim *= 0.6
    # ... or publication times too far apart to be one news event.
    if (
        fa.published is not None
        and fb.published is not None
        and abs(fa.published - fb.published) > max_gap
    ):
        sim *= 0.3
    return sim


def similarity(a: ClusterItem, b: ClusterItem, *, context: Sequence[ClusterItem] = ()) -> float:
    """Similarity of two stories in [0, 1]; IDF comes from ``context`` (plus the pair)."""
    items = [a, b, *context]
    feats = [_features(i) for i in items]
    corpus = _Corpus(feats)
    return _pair_similarity(
        feats[0], feats[1], corpus.vectors[0], corpus.vectors[1], corpus, timedelta(hours=72)
    )


def cluster(
    items: Sequence[ClusterItem],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_gap: timedelta = timedelta(hours=72),
) -> list[list[int]]:
    """Indices of ``items`` grouped by event. Every index appears exactly once; clusters are
    sorted by their smallest index, members ascending. Deterministic for a given input order."""
    n = len(items)
    if n == 0:
        return []
    feats = [_features(i) for i in items]
    corpus = _Corpus(feats)
    sims: dict[tuple[int, int], float] = {}
    for i in range(n):
        for j in range(i + 1, n):
            s = _pair_similarity(
                feats[i], feats[j], corpus.vectors[i], corpus.vectors[j], corpus, max_gap
            )
            if s > 0.0:
                sims[(i, j)] = s

    # Average-link agglomeration. Clusters are named by their smallest member; `link` holds the
    # summed pairwise similarity between two live clusters, so average = sum / (|A| * |B|).
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    link: dict[int, dict[int, float]] = {i: {} for i in range(n)}
    for (i, j), s in sims.items():
        link[i][j] = s
        link[j][i] = s
    heap: list[tuple[float, int, int]] = [
        (-s, i, j) for (i, j), s in sims.items() if s >= threshold
    ]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in members or b not in members:
            continue
        current = link[a].get(b, 0.0) / (len(members[a]) * len(members[b]))
        if abs(current + neg) > 1e-12:
            continue  # stale entry: the pair's average changed since it was pushed
        keep, gone = (a, b) if a < b else (b, a)
        members[keep].extend(members.pop(gone))
        members[keep].sort()
        gone_links = link.pop(gone)
        gone_links.pop(keep, None)
        link[keep].pop(gone, None)
        for k, s in gone_links.items():
            link[k].pop(gone, None)
            total = link[keep].get(k, 0.0) + s
            link[keep][k] = total
            link[k][keep] = total
        size = len(members[keep])
        for k, total in link[keep].items():
            avg = total / (size * len(members[k]))
            if avg >= threshold:
                heapq.heappush(heap, (-avg, min(keep, k), max(keep, k)))
    return sorted(members.values(), key=lambda m: m[0])


def pick_representative(
    items: Sequence[ClusterItem],
    members: Sequence[int],
    relevance: Sequence[float] | None = None,
) -> int:
    """The member to show for a cluster: highest relevance (when given), then the longest text
    (the fuller report), then the smallest index. The others become "also reported by"."""
    if not members:
        raise ValueError("empty cluster")

    def key(i: int) -> tuple[float, int, int]:
        rel = relevance[i] if relevance is not None else 0.0
        return (-rel, -len(items[i].text or ""), i)

    return min(members, key=key)
