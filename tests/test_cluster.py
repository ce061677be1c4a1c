"""Story clustering: same-event reports fold together, different events stay apart, and the
labeled pair set over the shared dev corpus keeps its measured precision/recall."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.topic_eval import cluster_pairs_path, evaluate_pairs
from bot.cluster import ClusterItem, cluster, pick_representative, similarity

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
    """Measured: P=0.75 R=0.75 on 48 pairs (4 same). The one false merge is the same court case
    at two stages (dev records carry no dates; with dates the 72 h gap splits them)."""
    path = shared_dir / "corpora" / "topics" / "dev.jsonl"
    with path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    with cluster_pairs_path().open(encoding="utf-8") as f:
        pairs = [json.loads(line) for line in f if line.strip()]
    counts, errors = evaluate_pairs(records, pairs)
    assert counts.precision >= 0.75, errors
    assert counts.recall >= 0.75, errors
    # hard negatives that must never merge: other missions, other floods, other years
    assert counts.tn >= 42, errors
