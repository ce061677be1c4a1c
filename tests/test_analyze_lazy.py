"""Only a story that can reach a chat is summarized: relevant, or widened by some
subscription's +keyword. The rest keep no bullets until something shows them."""

from __future__ import annotations

from bot.analyze import analyze, analyze_record
from bot.topic import TopicScorer, widened_by

RELEVANT = (
    "Artists sue Midjourney over AI training on their art",
    "Illustrators filed a copyright lawsuit against Midjourney and Stability AI, saying the"
    " image generators were trained on their artworks without consent. The case seeks damages.",
)
# Some AI signal, not relevant on its own; "+ghibli" widens it.
WIDENABLE = (
    "Studio Ghibli exhibition opens in Jakarta",
    "The exhibition shows sketches by Hayao Miyazaki. Visitors can try an AI guide at the door."
    " The museum said tickets sold out in a day.",
)
OFF_TOPIC = (
    "Banjir rendam Jakarta",
    "Banjir merendam permukiman warga di Jakarta Timur sejak pagi. Warga mengungsi ke masjid.",
)


def test_relevant_story_is_summarized_without_any_keyword() -> None:
    a = analyze(*RELEVANT, lang="en", widen=())
    assert a.topic.relevant
    assert 1 <= len(a.summary.bullets) <= 4


def test_off_topic_story_is_not_summarized_but_keeps_its_score() -> None:
    lazy = analyze(*OFF_TOPIC, lang="id", widen=("ghibli", "musik"))
    eager = analyze(*OFF_TOPIC, lang="id")
    assert lazy.summary.bullets == ()
    assert eager.summary.bullets  # widen=None: the old behaviour, every story summarized
    assert lazy.topic == eager.topic


def test_widening_keyword_makes_a_story_reachable() -> None:
    scorer = TopicScorer.load()
    topic = scorer.score(*WIDENABLE, "en")
    assert not topic.relevant
    # The same rule as scoring with the keyword: both say "widened".
    assert scorer.score(*WIDENABLE, "en", keywords=("+ghibli",)).relevant
    assert widened_by(topic, *WIDENABLE, ["ghibli"])
    assert not widened_by(topic, *WIDENABLE, ["banjir"])
    assert analyze(*WIDENABLE, lang="en", widen=("ghibli",)).summary.bullets
    assert analyze(*WIDENABLE, lang="en", widen=("banjir",)).summary.bullets == ()


def test_widening_needs_some_signal_of_its_own() -> None:
    scorer = TopicScorer.load()
    topic = scorer.score(*OFF_TOPIC, "id")
    assert not scorer.score(*OFF_TOPIC, "id", keywords=("+banjir",)).relevant
    assert not widened_by(topic, *OFF_TOPIC, ["banjir"])


def test_analyze_record_lazy_bullets_only_for_relevant() -> None:
    rec = {"id": 1, "title": OFF_TOPIC[0], "text": OFF_TOPIC[1], "lang": "id"}
    assert analyze_record(rec, all_bullets=False)["bullets"] == []
    assert analyze_record(rec)["bullets"]
    rel = {"id": 2, "title": RELEVANT[0], "text": RELEVANT[1]}
    assert analyze_record(rel, all_bullets=False)["bullets"]
