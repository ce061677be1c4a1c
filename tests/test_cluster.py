"""Story clustering: same-event reports fold together, different events stay apart, and the
labeled pair set over the shared dev corpus keeps its measured precision/recall."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.topic_eval import (
    cluster_items_path,
    cluster_pairs_path,
    evaluate_events,
    evaluate_pairs,
    read_jsonl,
)
from bot.cluster import (
    DEFAULT_THRESHOLD,
    ClusterItem,
    cluster,
    concept,
    link_clusters,
    pick_representative,
    similarity,
)
from bot.demo import render_sample, sample_feeds
from bot.feeds.normalize import to_story
from bot.feeds.parse import parse_feed
from bot.models import LangGuess

T0 = datetime(2024, 11, 27, 8, 0, tzinfo=UTC)

SORA_EN = ClusterItem(
    title="Artists Leak OpenAI's Sora Video Tool in Protest",
    text="A group of artists who had early access to OpenAI's Sora leaked it on Hugging Face on "
    "Tuesday, calling themselves Sora PR Puppets. About 600 artists signed their open letter.",
    lang="en",
    source="techcrunch",
    published=T0,
)
SORA_EN2 = ClusterItem(
    title="Sora PR Puppets: Testers Leak Access to OpenAI Video Model",
    text="Early testers of OpenAI's Sora published a front end on Hugging Face that let anyone "
    "make videos for about three hours. The group, Sora PR Puppets, accused OpenAI of art washing.",
    lang="en",
    source="verge",
    published=T0 + timedelta(hours=5),
)
SORA_ID = ClusterItem(
    title="Seniman Bocorkan Akses Sora OpenAI lewat Hugging Face",
    text="Kelompok Sora PR Puppets membocorkan akses ke Sora, model video OpenAI, melalui Hugging "
    "Face pada Selasa. Sekitar 600 seniman menandatangani surat terbuka mereka.",
    lang="id",
    source="idntimes",
    published=T0 + timedelta(hours=9),
)
FLOOD = ClusterItem(
    title="Banjir Rendam Jakarta, 924 Warga Mengungsi",
    text="Banjir merendam 15 kecamatan di Jakarta sejak Minggu. BPBD DKI mencatat 924 warga "
    "mengungsi ke 20 posko.",
    lang="id",
    source="republika",
    published=T0,
)
FLOOD_OTHER = ClusterItem(
    title="Banjir Jakarta Paksa 3.565 Warga Mengungsi",
    text="Banjir kembali merendam Jakarta pada Selasa. BPBD DKI mencatat 3.565 warga mengungsi ke "
    "40 lokasi penampungan.",
    lang="id",
    source="aa",
    published=T0 + timedelta(days=30),
)
SUNO = ClusterItem(
    title="Record Labels Sue AI Music Generators Suno and Udio",
    text="Universal, Sony and Warner sued Suno and Udio, saying the AI music tools were trained "
    "on copyrighted recordings without a licence.",
    lang="en",
    source="reuters",
    published=T0,
)


def test_same_event_folds_across_outlets_and_languages() -> None:
    items = [SORA_EN, FLOOD, SORA_ID, SUNO, SORA_EN2]
    groups = cluster(items)
    assert [0, 2, 4] in groups
    assert [1] in groups
    assert [3] in groups


def test_every_index_once_and_deterministic() -> None:
    items = [SORA_EN, FLOOD, SORA_ID, SUNO, SORA_EN2, FLOOD_OTHER]
    groups = cluster(items)
    assert sorted(i for g in groups for i in g) == list(range(len(items)))
    assert groups == cluster(items)
    assert cluster([]) == []


def test_different_events_of_one_topic_stay_apart() -> None:
    groups = cluster([FLOOD, FLOOD_OTHER, SORA_EN])
    assert [0] in groups
    assert [1] in groups


def test_time_gap_separates_otherwise_similar_reports() -> None:
    late = ClusterItem(
        SORA_EN2.title, SORA_EN2.text, "en", "verge", published=T0 + timedelta(days=20)
    )
    assert similarity(SORA_EN, late) < similarity(SORA_EN, SORA_EN2)
    groups = cluster([SORA_EN, late])
    assert groups == [[0], [1]]


def test_numbered_designators_conflict() -> None:
    crew1 = ClusterItem(
        "SpaceX Launches Crew-1 to the Space Station",
        "NASA astronauts launched on Crew-1 aboard a Falcon 9 from Kennedy Space Center.",
        "en",
        "a",
    )
    crew2 = ClusterItem(
        "SpaceX Launches Crew-2 to the Space Station",
        "NASA astronauts launched on Crew-2 aboard a Falcon 9 from Kennedy Space Center.",
        "en",
        "b",
    )
    crew2_other = ClusterItem(
        "Crew-2 Lifts Off for the Space Station",
        "The Crew-2 astronauts of NASA rode a SpaceX Falcon 9 from Kennedy Space Center.",
        "en",
        "c",
    )
    assert similarity(crew1, crew2) < similarity(crew2_other, crew2)


def test_pick_representative() -> None:
    items = [SORA_EN, SORA_ID, SORA_EN2]
    assert pick_representative(items, [0, 1, 2], relevance=[0.5, 0.9, 0.7]) == 1
    # without relevance: the fuller report wins
    longest = max(range(3), key=lambda i: len(items[i].text))
    assert pick_representative(items, [0, 1, 2]) == longest
    with pytest.raises(ValueError, match="empty"):
        pick_representative(items, [])


def test_pair_file_is_well_formed() -> None:
    with cluster_pairs_path().open(encoding="utf-8") as f:
        pairs = [json.loads(line) for line in f if line.strip()]
    assert len(pairs) >= 40
    assert any(p["same"] for p in pairs)
    assert any(not p["same"] for p in pairs)
    assert all(p["a"] != p["b"] and isinstance(p["same"], bool) for p in pairs)


@pytest.mark.corpus
def test_pair_set_precision_recall(shared_dir: Path) -> None:
    """Measured: P=0.60 R=0.75 on 58 pairs (4 same). Both false merges are one court case at two
    stages (dev records carry no dates; with dates the 72 h gap splits them); the miss is two
    Bulog rice operations reported days apart with little wording in common."""
    path = shared_dir / "corpora" / "topics" / "dev.jsonl"
    with path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    with cluster_pairs_path().open(encoding="utf-8") as f:
        pairs = [json.loads(line) for line in f if line.strip()]
    counts, errors = evaluate_pairs(records, pairs)
    assert counts.precision >= 0.6, errors
    assert counts.recall >= 0.75, errors
    # hard negatives that must never merge: other missions, other floods, other years, other
    # voice-cloning stories, other lawsuits
    assert counts.tn >= 52, errors
    same_case = {"en-newyorkmetropolitan-sheeran-must-face-jury", "en-ciplawyer-artists-new-shot"}
    assert all(e.split()[1] in same_case for e in errors if e.startswith("FP")), errors


# --------------------------------------------------------------------------- own labeled items


def test_item_file_is_well_formed() -> None:
    records = read_jsonl(cluster_items_path())
    assert len({r["id"] for r in records}) == len(records) >= 30
    events = Counter(r["event"] for r in records)
    assert sum(1 for n in events.values() if n >= 2) >= 12
    for event in (e for e, n in events.items() if n >= 2):
        langs = {r["lang"] for r in records if r["event"] == event}
        assert langs <= {"id", "en"}
    assert sum(1 for e in events if len({r["lang"] for r in records if r["event"] == e}) == 2) >= 10


@pytest.mark.parametrize("dated", [True, False])
def test_own_items_pair_precision_recall(dated: bool) -> None:
    """Measured: P=1.00 R=1.00 on 780 pairs (29 same), with and without dates. The items were
    written for this project with hard negatives (two suits against OpenAI, two Sora
    announcements, a Suno suit and a Suno settlement, Crew-1/Crew-2, three voice stories);
    undated, only the text keeps those apart. This is development data: the lexicon grew
    alongside it, so read the corpus and demo figures as the less flattering ones."""
    counts, errors = evaluate_events(read_jsonl(cluster_items_path()), dated=dated)
    assert counts.precision >= 0.9, errors
    assert counts.recall >= 0.9, errors


# --------------------------------------------------------------------------- demo feeds


def _demo_items() -> list[ClusterItem]:
    now = datetime(2025, 1, 10, 12, tzinfo=UTC)
    items: list[ClusterItem] = []
    for name, raw in sorted(sample_feeds().items()):
        url = f"http://127.0.0.1/feeds/{name}"
        parsed = parse_feed(render_sample(raw, now), url=url)
        for entry in parsed.entries:
            story = to_story(
                entry,
                feed_url=url,
                source=name,
                lang_hint=parsed.lang,
                detect_lang=lambda _t, _x, prior: LangGuess(prior or "en", 0.0, "declared"),
            )
            if story is not None:
                items.append(
                    ClusterItem(story.title, story.text[:1500], story.lang, name, story.published)
                )
    return items


def test_demo_feeds_fold_the_sora_leak_and_keep_voice_stories_apart() -> None:
    items = _demo_items()
    by_title = {item.title: i for i, item in enumerate(items)}
    sora = {
        by_title["Artists Leak Access to OpenAI's Sora Video Tool in Protest"],
        by_title["Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI"],
        by_title["Protes Program Uji Coba, Kelompok Seniman Bocorkan Model Video Sora"],
        by_title["Sora Testers Open the Tool to the Public, Then OpenAI Pulls the Plug"],
    }
    assert {items[i].lang for i in sora} == {"id", "en"}
    singer = by_title["Penyanyi Protes Suaranya Ditiru AI untuk Cover Lagu Viral"]
    actors = by_title["Video Game Voice Actors Strike Over AI Protections"]
    groups = cluster(items)
    assert sorted(sora) in groups
    assert not any(singer in g and actors in g for g in groups)
    # no other demo story is folded into anything: they are all different events
    assert all(len(g) == 1 for g in groups if set(g) != sora), groups


# --------------------------------------------------------------------------- parts


@pytest.mark.parametrize(
    ("word", "lang", "expected"),
    [
        ("membocorkan", "id", "leak"),
        ("dibocorkan", "id", "leak"),
        ("leaked", "en", "leak"),
        ("menggugat", "id", "sue"),
        ("gugatannya", "id", "sue"),
        ("sued", "en", "sue"),
        ("seniman", "id", "artist"),
        ("artists", "en", "artist"),
        ("menandatangani", "id", "sign"),
        ("petisi", "id", "petition"),
        ("mogok", "id", "strike"),
        ("ditiru", "id", "clone"),
        ("jam", "id", "hour"),
        ("hours", "en", "hour"),
        ("kucing", "id", None),
    ],
)
def test_concept_maps_both_languages(word: str, lang: str, expected: str | None) -> None:
    assert concept(word, lang) == expected


def _pair(title_a: str, text_a: str, title_b: str, text_b: str) -> float:
    return similarity(
        ClusterItem(title_a, text_a, "id", "x"), ClusterItem(title_b, text_b, "en", "y")
    )


def test_numbers_normalize_across_languages() -> None:
    base = ("Studio Nimbus Dapat Dana", "Studio Nimbus di Bandung mendapat dana US$157 miliar.")
    same = ("Nimbus Studio Raises Money", "Nimbus Studio of Bandung raised $157 billion.")
    other = ("Nimbus Studio Raises Money", "Nimbus Studio of Bandung raised $15 billion.")
    assert _pair(*base, *same) > _pair(*base, *other)
    hours = ("Akses Dibuka", "Akses ke alat Kilnworks dibuka selama tiga jam bagi 3,2 juta orang.")
    same_h = ("Access Opened", "Kilnworks opened access for three hours to 3.2 million people.")
    other_h = ("Access Opened", "Kilnworks opened access for five hours to 32 million people.")
    assert _pair(*hours, *same_h) > _pair(*hours, *other_h)


def test_generic_words_alone_do_not_fold_stories() -> None:
    singer = ClusterItem(
        "Penyanyi Protes Suaranya Ditiru AI",
        "Seorang penyanyi keberatan suaranya ditiru AI dalam video cover yang viral. Ia meminta "
        "perlindungan suara dari AI.",
        "id",
        "a",
    )
    actors = ClusterItem(
        "Voice Actors Strike Over AI",
        "Voice actors went on strike over AI protections for their voices in video games.",
        "en",
        "b",
    )
    assert similarity(singer, actors) < DEFAULT_THRESHOLD / 2
    assert cluster([singer, actors]) == [[0], [1]]


def test_link_rule_average_strong_pair_and_floor() -> None:
    # 0 and 1 are one tight cluster; 2 strongly matches 1 and moderately 0: average link (0.4)
    # stays below the threshold, yet the strong pair with no unrelated pair merges it.
    sim = [[1.0, 0.8, 0.25], [0.8, 1.0, 0.55], [0.25, 0.55, 1.0]]
    assert link_clusters(sim, threshold=0.45, strong=0.5, floor=0.2) == [[0, 1, 2]]
    # the same strong pair, but 2 has nothing in common with 0: no chaining
    sim[0][2] = sim[2][0] = 0.05
    assert link_clusters(sim, threshold=0.45, strong=0.5, floor=0.2) == [[0, 1], [2]]
    # without the strong-pair rule only the average counts
    sim[0][2] = sim[2][0] = 0.25
    assert link_clusters(sim, threshold=0.45, strong=2.0, floor=0.2) == [[0, 1], [2]]
    assert link_clusters([]) == []


# --------------------------------------------------------------------------- blocking index


@pytest.mark.parametrize(("n", "seed"), [(12, 0), (60, 1), (120, 2), (208, 3), (208, 4)])
def test_blocked_clustering_equals_all_pairs_on_generated_sets(n: int, seed: int) -> None:
    """The blocking index skips pairs that share only common terms; on generated windows
    (re-told copies of the labeled items next to other events of the same topic) it groups
    exactly as comparing every pair does, while comparing fewer pairs."""
    from bench.fanout_corpus import generated_stories
    from bot.cluster import _Corpus, _features, candidate_pairs, cluster_all_pairs

    stories = generated_stories(n, seed=seed, end=datetime(2026, 12, 1, tzinfo=UTC))
    items = [ClusterItem(s.title, s.text, s.lang, s.source, s.published) for s in stories]
    expected = cluster_all_pairs(items)
    assert cluster(items) == expected
    assert any(len(group) > 1 for group in expected)
    feats = [_features(i) for i in items]
    if n >= 60:
        assert len(candidate_pairs(feats, _Corpus(feats))) < n * (n - 1) // 2


def test_blocked_clustering_equals_all_pairs_on_labeled_and_demo_items() -> None:
    records = read_jsonl(cluster_items_path())
    items = [
        ClusterItem(
            r["title"],
            r["text"],
            r["lang"],
            r["source"],
            datetime.fromisoformat(r["published"].replace("Z", "+00:00")),
        )
        for r in records
    ]
    from bot.cluster import cluster_all_pairs

    assert cluster(items) == cluster_all_pairs(items)
    demo = _demo_items()
    assert cluster(demo) == cluster_all_pairs(demo)


def test_sparse_linking_equals_dense_on_random_matrices() -> None:
    """link_clusters over a matrix with many zeros: the sparse agglomeration treats an absent
    pair as 0, so the outcome must match a dense reading of the same matrix."""
    import random

    from bot.cluster import _link_sparse

    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(2, 14)
        sim = [[1.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                s = rng.choice([0.0, 0.0, rng.random()])
                sim[i][j] = sim[j][i] = s
        sparse = {(i, j): sim[i][j] for i in range(n) for j in range(i + 1, n) if sim[i][j]}
        dense = _dense_link(sim)
        assert link_clusters(sim) == dense
        assert _link_sparse(n, sparse, threshold=DEFAULT_THRESHOLD, strong=0.5, floor=0.2) == dense


def _dense_link(sim: list[list[float]]) -> list[list[int]]:
    """The pre-blocking agglomeration, kept verbatim as the reference (every pair a link)."""
    import heapq

    from bot.cluster import LINK_FLOOR, STRONG_LINK, _Link, _mergeable

    threshold, strong, floor = DEFAULT_THRESHOLD, STRONG_LINK, LINK_FLOOR
    n = len(sim)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    version = dict.fromkeys(range(n), 0)
    links: dict[int, dict[int, _Link]] = {i: {} for i in range(n)}
    heap: list[tuple[float, int, int, int, int]] = []
    for i in range(n):
        for j in range(i + 1, n):
            s = sim[i][j]
            link = _Link(s, s, s)
            links[i][j] = links[j][i] = link
            if _mergeable(link, 1, threshold, strong, floor):
                heap.append((-s, i, j, 0, 0))
    heapq.heapify(heap)
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if a not in members or b not in members or version[a] != va or version[b] != vb:
            continue
        keep, gone = (a, b) if a < b else (b, a)
        members[keep].extend(members.pop(gone))
        members[keep].sort()
        version[keep] += 1
        gone_links = links.pop(gone)
        del links[keep][gone]
        for k, lg in gone_links.items():
            if k == keep:
                continue
            lk = links[keep][k]
            merged = _Link(lk.total + lg.total, max(lk.high, lg.high), min(lk.low, lg.low))
            links[keep][k] = links[k][keep] = merged
            del links[k][gone]
        size = len(members[keep])
        for k, link in links[keep].items():
            pairs = size * len(members[k])
            if _mergeable(link, pairs, threshold, strong, floor):
                lo, hi = min(keep, k), max(keep, k)
                heapq.heappush(heap, (-link.total / pairs, lo, hi, version[lo], version[hi]))
    return sorted(members.values(), key=lambda m: m[0])


def test_fast_cosine_equals_the_plain_one_on_every_pair() -> None:
    """The corpus cosine (precomputed norms, shared terms only) is the plain cosine, to
    rounding, for same-language and cross-language pairs."""
    from bench.fanout_corpus import generated_stories
    from bot.cluster import _Corpus, _cosine, _features

    stories = generated_stories(80, seed=5, end=datetime(2026, 12, 1, tzinfo=UTC))
    feats = [
        _features(ClusterItem(s.title, s.text, s.lang, s.source, s.published)) for s in stories
    ]
    corpus = _Corpus(feats)
    cross = 0
    for i in range(len(feats)):
        for j in range(i + 1, len(feats)):
            lang_differs = feats[i].lang != feats[j].lang
            cross += lang_differs
            va, vb = corpus.vectors[i], corpus.vectors[j]
            assert corpus.cosine(va, vb, lang_differs) == pytest.approx(
                _cosine(va, vb, lang_differs), rel=1e-12, abs=1e-15
            )
    assert cross > 0
