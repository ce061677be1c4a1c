"""Topic filter: false friends, positives in both languages, explainability, keywords, and
precision/F1 on our own labeled cases and on the shared dev corpus."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.topic_eval import evaluate_topics
from bot.errors import ConfigError
from bot.topic import TopicScorer, parse_keywords

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scorer() -> TopicScorer:
    return TopicScorer.load()


def _direct(scorer: TopicScorer) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run(rec: dict[str, Any]) -> dict[str, Any]:
        r = scorer.score(str(rec["title"]), str(rec["text"]), str(rec["lang"]))
        return {"relevant": r.relevant, "relevance": r.score, "matched": list(r.matched)}

    return run


# ------------------------------------------------------------------ false friends


@pytest.mark.parametrize(
    ("title", "text", "lang", "neg"),
    [
        (
            "Trump Touts 'Art of the Deal' in AI Chip Talks",
            "The president said his AI chip deal with Nvidia came from The Art of the Deal. "
            "Artificial intelligence exports will be taxed.",
            "en",
            "neg:art of the deal",
        ),
        (
            "Clinic Opens State-of-the-Art AI Scanner",
            "The state-of-the-art artificial intelligence scanner reads images in minutes.",
            "en",
            "neg:state-of-the-art",
        ),
        (
            "Atlet Seni Bela Diri Berlatih dengan AI",
            "Para atlet seni bela diri memakai kecerdasan buatan untuk membaca gerakan lawan.",
            "id",
            "neg:seni bela diri",
        ),
    ],
)
def test_false_friend_phrases_are_masked(
    scorer: TopicScorer, title: str, text: str, lang: str, neg: str
) -> None:
    r = scorer.score(title, text, lang)
    assert not r.relevant
    assert neg in r.matched
    assert not any(m in ("art:art", "art:seni") for m in r.matched)


def test_artis_in_gossip_is_celebrity_not_artist(scorer: TopicScorer) -> None:
    r = scorer.score(
        "Artis Sinetron Terjerat Kasus Narkoba, Foto Editan AI Beredar",
        "Seorang artis sinetron ditangkap polisi. Foto editan AI sang artis ikut beredar di media "
        "sosial setelah kasus narkoba itu mencuat.",
        "id",
    )
    assert not r.relevant
    assert "art:artis" not in r.matched
    assert any(m.startswith("neg:gossip") for m in r.matched)


def test_artis_meaning_artists_with_ai_is_kept(scorer: TopicScorer) -> None:
    r = scorer.score(
        "Artis Bocorkan Akses Sora sebagai Protes",
        "Sekelompok artis dan seniman yang menguji Sora membocorkan aksesnya. Mereka menuding "
        "OpenAI memakai seniman tanpa bayaran untuk karya seni promosi.",
        "id",
    )
    assert r.relevant
    assert "ai:sora" in r.matched
    assert "art:seniman" in r.matched


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Deepfake Video Call Tricks Worker Into Paying $25 Million",
            "Fraudsters used a deepfake of the company's finance chief in a video call. Police "
            "said the scam relied on AI-generated faces and voices.",
            "en",
        ),
        (
            "Polisi Bongkar Penipuan Deepfake Catut Gubernur",
            "Pelaku penipuan memakai video deepfake buatan AI yang meniru wajah dan suara "
            "gubernur untuk menawarkan motor murah.",
            "id",
        ),
    ],
)
def test_deepfake_scams_are_not_creative_work(
    scorer: TopicScorer, title: str, text: str, lang: str
) -> None:
    r = scorer.score(title, text, lang)
    assert not r.relevant
    assert "ai:deepfake" in r.matched


def test_nft_sale_without_ai(scorer: TopicScorer) -> None:
    r = scorer.score(
        "Beeple NFT Sells for $69 Million at Christie's",
        "The digital artist's NFT artwork sold in a crypto auction, a record for digital art.",
        "en",
    )
    assert not r.relevant
    assert "art:artist" in r.matched
    assert not any(m.startswith("ai:") for m in r.matched)


def test_disney_stock_report(scorer: TopicScorer) -> None:
    r = scorer.score(
        "Disney Shares Rise as Microsoft AI Spending Lifts Nasdaq",
        "Stocks climbed on Wall Street. Microsoft's AI investment lifted chip shares, and Disney "
        "shares gained after its new film topped the box office. Investors await earnings.",
        "en",
    )
    assert not r.relevant
    assert any(m.startswith("neg:market") for m in r.matched)


def test_ai_word_boundary_and_case(scorer: TopicScorer) -> None:
    r = scorer.score(
        "Ai Pelukis Muda Gelar Pameran Lukisan",
        "Ai, pelukis asal Bandung, memamerkan 30 lukisan. Ia juga aktif di kampanye AIDS.",
        "id",
    )
    assert not r.relevant
    assert not any(m.startswith("ai:") for m in r.matched)


def test_passing_creative_mention_is_not_enough(scorer: TopicScorer) -> None:
    r = scorer.score(
        "OpenAI Rolls Out Advanced Voice Mode",
        "OpenAI made Voice Mode available to all ChatGPT subscribers. The feature has five new "
        "voices. One voice was dropped after actress Scarlett Johansson complained. The rollout "
        "reaches Europe later.",
        "en",
    )
    assert not r.relevant
    assert "art:actress" in r.matched  # seen, but not central


# ------------------------------------------------------------------ positives


@pytest.mark.parametrize(
    ("title", "text", "lang", "must"),
    [
        (
            "Illustrators Sue AI Image Firms Over Training Data",
            "A group of illustrators and artists filed a copyright lawsuit against Midjourney and "
            "Stability AI, saying their artworks were used as training data without consent.",
            "en",
            ("ai:midjourney", "art:illustrator"),
        ),
        (
            "Musisi Protes Lagu Buatan AI yang Meniru Suara Mereka",
            "Sejumlah musisi dan penyanyi memprotes lagu buatan AI yang meniru suara mereka tanpa "
            "izin. Mereka meminta platform musik menurunkan lagu-lagu tersebut.",
            "id",
            ("ai:buatan ai", "art:musisi"),
        ),
        (
            "Seniman-Seniman Bali Tolak Karya Seni AI di Pameran",
            "Seniman-seniman Bali menolak karya seni hasil kecerdasan buatan dipajang dalam "
            "pameran tahunan. Menurut para pelukis, karya AI mengambil gaya mereka tanpa izin.",
            "id",
            ("ai:kecerdasan buatan", "art:seniman"),
        ),
    ],
)
def test_positives_explain_themselves(
    scorer: TopicScorer, title: str, text: str, lang: str, must: tuple[str, ...]
) -> None:
    r = scorer.score(title, text, lang)
    assert r.relevant
    assert 0.0 <= r.score <= 1.0
    for term in must:
        assert term in r.matched


def test_title_weighs_more_than_body(scorer: TopicScorer) -> None:
    body = "The debate continues among many people online."
    in_title = scorer.score("Artists Protest AI Art Generator", body, "en")
    in_body = scorer.score("A Debate Online", "Artists protest an AI art generator. " + body, "en")
    assert in_title.score > in_body.score


# ------------------------------------------------------------------ keywords


def test_parse_keywords() -> None:
    assert parse_keywords(["+ghibli", "-nft", "sora", " ", "+", "-"]) == (
        ["ghibli"],
        ["nft"],
        ["sora"],
    )


def test_keywords_exclude_require_and_widen(scorer: TopicScorer) -> None:
    title = "Artists Leak Sora Access in Protest Against OpenAI"
    text = (
        "A group of artists leaked access to OpenAI's Sora video generator, calling it art washing."
    )
    base = scorer.score(title, text, "en")
    assert base.relevant

    excluded = scorer.score(title, text, "en", keywords=["-openai"])
    assert not excluded.relevant
    assert "kw-:openai" in excluded.matched

    required_missing = scorer.score(title, text, "en", keywords=["midjourney"])
    assert not required_missing.relevant
    required_present = scorer.score(title, text, "en", keywords=["sora"])
    assert required_present.relevant
    assert "kw:sora" in required_present.matched

    exhibition = (
        "Studio Ghibli Exhibition Opens in Jakarta",
        "An exhibition of Studio Ghibli drawings and animation cels opened at the museum.",
    )
    assert not scorer.score(*exhibition, "en").relevant
    widened = scorer.score(*exhibition, "en", keywords=["+ghibli"])
    assert widened.relevant
    assert "kw+:ghibli" in widened.matched
    assert widened.score >= scorer.threshold

    flood = ("Banjir Rendam Jakarta", "Banjir merendam ratusan rumah warga di Jakarta Timur.")
    assert not scorer.score(*flood, "id", keywords=["+banjir"]).relevant


# ------------------------------------------------------------------ config


def test_packaged_copy_matches_config() -> None:
    assert (ROOT / "bot" / "data" / "topics.toml").read_bytes() == (
        ROOT / "config" / "topics.toml"
    ).read_bytes()


def test_bad_lexicon_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        TopicScorer.from_toml("[scoring\nthreshold = ")
    with pytest.raises(ConfigError):
        TopicScorer.from_toml("[scoring]\nthreshold = 0.4\n")  # no [ai]/[art]
    with pytest.raises(ConfigError):
        TopicScorer.load(tmp_path / "missing.toml")


def test_lexicon_edit_changes_behaviour() -> None:
    text = (ROOT / "config" / "topics.toml").read_text(encoding="utf-8")
    strict = TopicScorer.from_toml(text.replace("threshold = 0.4", "threshold = 0.99", 1))
    r = strict.score(
        "Illustrators Sue AI Image Firms",
        "Illustrators sued Midjourney over their artworks used for AI training.",
        "en",
    )
    assert not r.relevant
    assert r.score > 0.4


# ------------------------------------------------------------------ quality on labeled sets


def _own_cases() -> list[dict[str, Any]]:
    with (DATA / "topic_cases.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_own_cases_are_mostly_indonesian() -> None:
    cases = _own_cases()
    assert len(cases) >= 30
    assert sum(c["lang"] == "id" for c in cases) * 2 >= len(cases)


def test_own_cases_precision_per_language(scorer: TopicScorer) -> None:
    counts, errors = evaluate_topics(_own_cases(), _direct(scorer))
    for lang in ("id", "en"):
        assert counts[lang].precision >= 0.95, errors
        assert counts[lang].f1 >= 0.9, errors


@pytest.mark.corpus
def test_dev_corpus_quality_through_analyze(shared_dir: Path) -> None:
    """Same code path as ``warta analyze`` (bot.analyze.analyze_record)."""
    path = shared_dir / "corpora" / "topics" / "dev.jsonl"
    with path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    counts, errors = evaluate_topics(records)
    for lang in ("id", "en"):
        assert counts[lang].precision >= 0.95, errors
        assert counts[lang].f1 >= 0.92, errors


def test_short_teaser_with_creator_and_ai_in_title(scorer: TopicScorer) -> None:
    r = scorer.score("Seniman Protes Sora", "Para seniman memprotes OpenAI soal Sora.", "id")
    assert r.relevant
    assert "art:seniman" in r.matched
